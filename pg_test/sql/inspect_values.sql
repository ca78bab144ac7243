-- glassheap.tuple_values: every attribute of the stored tuple at a TID.
SET client_min_messages = warning;

CREATE TABLE iv_t (
  id int, i2 smallint, i8 bigint, b bool, ch "char", f4 real, f8 double precision,
  n numeric, short text, squeezed text, long text, arr text[], d date,
  ts timestamp, u uuid, by bytea, j jsonb, gone int, nm name, c8 char(8)
) WITH (autovacuum_enabled = off);
ALTER TABLE iv_t ALTER COLUMN long SET STORAGE EXTERNAL;   -- out of line, uncompressed
INSERT INTO iv_t VALUES
  (1, -2, -9000000000, true, 'z', 1.5, -2.25, 12345.678901234567890, 'hi',
   repeat('abc', 2000),                                        -- compressed inline
   (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100) g),
   ARRAY['a', NULL, 'c d'], '2024-02-29', '2024-02-29 12:34:56.789',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\xdeadbeef', '{"k": [1, 2, {"x": null}]}',
   7, 'some_name', 'abc'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, 32767, 1, false, '\', 'NaN', '-Infinity', -0.5, '', '', 'x', '{}', 'infinity',
   '-infinity', '00000000-0000-0000-0000-000000000000', '\x', '[]', -1, '', '');
ALTER TABLE iv_t DROP COLUMN gone;
ALTER TABLE iv_t ADD COLUMN added int DEFAULT 42;          -- a "missing" attribute
ALTER TABLE iv_t ADD COLUMN added_null text;               -- missing, no default
INSERT INTO iv_t (id, short, added) VALUES (4, 'after', 43);
DELETE FROM iv_t WHERE id = 3;                             -- still shown: any visibility

SELECT attnum, attname, type, "isnull", dropped, storage, length(raw) AS rawlen,
       CASE WHEN length(value) > 60 THEN md5(value) ELSE value END AS value
FROM glassheap.tuple_values('iv_t', '(0,1)') ORDER BY attnum;

-- every non-dropped value is the column's output function result (visible rows)
SELECT count(*) AS compared, count(*) FILTER (WHERE v.value IS DISTINCT FROM x.value
         OR v."isnull" IS DISTINCT FROM (x.value IS NULL)) AS mismatches
FROM iv_t t, glassheap.tuple_values('iv_t', t.ctid) v,
LATERAL (SELECT CASE v.attname
    WHEN 'id' THEN CASE WHEN t.id IS NOT NULL THEN format('%s', t.id) END
    WHEN 'i2' THEN CASE WHEN t.i2 IS NOT NULL THEN format('%s', t.i2) END
    WHEN 'i8' THEN CASE WHEN t.i8 IS NOT NULL THEN format('%s', t.i8) END
    WHEN 'b' THEN CASE WHEN t.b IS NOT NULL THEN format('%s', t.b) END
    WHEN 'ch' THEN CASE WHEN t.ch IS NOT NULL THEN format('%s', t.ch) END
    WHEN 'f4' THEN CASE WHEN t.f4 IS NOT NULL THEN format('%s', t.f4) END
    WHEN 'f8' THEN CASE WHEN t.f8 IS NOT NULL THEN format('%s', t.f8) END
    WHEN 'n' THEN CASE WHEN t.n IS NOT NULL THEN format('%s', t.n) END
    WHEN 'short' THEN CASE WHEN t.short IS NOT NULL THEN format('%s', t.short) END
    WHEN 'squeezed' THEN CASE WHEN t.squeezed IS NOT NULL THEN format('%s', t.squeezed) END
    WHEN 'long' THEN CASE WHEN t.long IS NOT NULL THEN format('%s', t.long) END
    WHEN 'arr' THEN CASE WHEN t.arr IS NOT NULL THEN format('%s', t.arr) END
    WHEN 'd' THEN CASE WHEN t.d IS NOT NULL THEN format('%s', t.d) END
    WHEN 'ts' THEN CASE WHEN t.ts IS NOT NULL THEN format('%s', t.ts) END
    WHEN 'u' THEN CASE WHEN t.u IS NOT NULL THEN format('%s', t.u) END
    WHEN 'by' THEN CASE WHEN t.by IS NOT NULL THEN format('%s', t.by) END
    WHEN 'j' THEN CASE WHEN t.j IS NOT NULL THEN format('%s', t.j) END
    WHEN 'nm' THEN CASE WHEN t.nm IS NOT NULL THEN format('%s', t.nm) END
    WHEN 'added' THEN CASE WHEN t.added IS NOT NULL THEN format('%s', t.added) END
    WHEN 'added_null' THEN CASE WHEN t.added_null IS NOT NULL THEN format('%s', t.added_null) END
    WHEN 'c8' THEN CASE WHEN t.c8 IS NOT NULL THEN format('%s', t.c8) END
  END) x(value)
WHERE NOT v.dropped;
SELECT md5(value) = md5(long) AS toasted_value_matches, length(value)
FROM iv_t t, glassheap.tuple_values('iv_t', t.ctid) v WHERE t.id = 1 AND v.attname = 'long';

-- the NULL row, the deleted row, and the row inserted after the ALTERs
SELECT attname, "isnull", storage, value FROM glassheap.tuple_values('iv_t', '(0,2)')
WHERE attnum IN (1, 2, 11, 18, 20, 21) ORDER BY attnum;
SELECT attname, "isnull", storage, value FROM glassheap.tuple_values('iv_t', '(0,3)')
WHERE attnum IN (1, 2, 5, 8, 13, 20, 21) ORDER BY attnum;
SELECT attname, "isnull", storage, value FROM glassheap.tuple_values('iv_t', '(0,4)')
WHERE attnum IN (1, 9, 18, 20, 21) ORDER BY attnum;

-- raw bytes of by-value attributes, sign extension of small integers
SELECT attname, raw, value FROM glassheap.tuple_values('iv_t', '(0,1)')
WHERE attname IN ('id', 'i2', 'i8', 'b', 'ch') ORDER BY attnum;

-- a varlena alignment case: short varlenas are not aligned, 4-byte ones are
CREATE TABLE iv_align (a "char", b text, c int8, d text) WITH (autovacuum_enabled = off);
INSERT INTO iv_align VALUES ('a', 'x', 1, repeat('y', 200)), ('b', repeat('z', 130), 2, 'w');
SELECT attname, "offset", storage, length(raw) AS rawlen, left(value, 10) AS value
FROM glassheap.tuple_values('iv_align', '(0,1)') ORDER BY attnum;
SELECT attname, "offset", storage, length(raw) AS rawlen, left(value, 10) AS value
FROM glassheap.tuple_values('iv_align', '(0,2)') ORDER BY attnum;

-- errors
SELECT * FROM glassheap.tuple_values('iv_t', '(0,0)');
SELECT * FROM glassheap.tuple_values('iv_t', '(0,99)');
SELECT * FROM glassheap.tuple_values('iv_t', '(7,1)');
CREATE VIEW iv_view AS SELECT 1 AS one;
CREATE INDEX iv_idx ON iv_t (id);
SELECT * FROM glassheap.tuple_values('iv_view', '(0,1)');
SELECT * FROM glassheap.tuple_values('iv_idx', '(0,1)');

-- glassheap twin: same statements, same values attribute by attribute (the external
-- value is copied into glassheap's own TOAST table; compressed inline values stay)
CREATE TABLE ivg_t (LIKE iv_t) USING glassheap;
INSERT INTO ivg_t SELECT * FROM iv_t ORDER BY id;
SELECT attnum, attname, type, "isnull", dropped, storage, length(raw) AS rawlen,
       CASE WHEN length(value) > 60 THEN md5(value) ELSE value END AS value, "offset"
FROM glassheap.tuple_values('ivg_t', '(0,1)') ORDER BY attnum;
SELECT count(*) AS compared,
       count(*) FILTER (WHERE h.value IS DISTINCT FROM g.value OR h."isnull" IS DISTINCT FROM g."isnull"
                         OR h.type IS DISTINCT FROM g.type) AS mismatches
FROM iv_t ht JOIN ivg_t gt USING (id),
     glassheap.tuple_values('iv_t', ht.ctid) h JOIN glassheap.tuple_values('ivg_t', gt.ctid) g USING (attname)
WHERE NOT h.dropped;
-- a deleted glassheap row is still shown
DELETE FROM ivg_t WHERE id = 2;
SELECT attname, "isnull", value FROM glassheap.tuple_values('ivg_t', '(0,2)') WHERE attnum <= 2;
-- raw bytes equal heap's for the same value
SELECT bool_and(h.raw IS NOT DISTINCT FROM g.raw) AS same_raw
FROM glassheap.tuple_values('iv_t', '(0,1)') h JOIN glassheap.tuple_values('ivg_t', '(0,1)') g USING (attname)
WHERE h.storage NOT IN ('external', 'missing');  -- glassheap's row was inserted after the ADD COLUMNs
SELECT * FROM glassheap.tuple_values('ivg_t', '(0,50)');
SELECT * FROM glassheap.tuple_values('ivg_t', '(3,1)');
