-- Every common type round-trips through glassheap exactly as through heap:
-- fixed and variable width, NULLs in every position, short and long varlena headers,
-- alignment padding, wide rows, and the in-line size limit.
SELECT twin_tables('types', $$
  id int, i2 smallint, i8 bigint, f4 real, f8 float8, n numeric, t text, vc varchar(20),
  c char(5), b bool, d date, ts timestamptz, iv interval, u uuid, j jsonb, arr int[],
  by bytea, ch "char", nm name, o oid, x xml, p point, r int4range$$);

SELECT twin($$INSERT INTO @@types VALUES
  (1, 1, 1, 1.5, 1.25, 1.000001, 'one', 'v', 'c', true, '2020-01-01', '2020-01-01 10:00+00', '1 day', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{1,2,3}', '\x0102', 'a', 'nm', 42, '<x/>', '(1,2)', '[1,5)'),
  (2, -32768, -9223372036854775808, -1e30, -1e300, -123456789012345678901234567890.5, repeat('x', 127), repeat('y', 20), 'z', false, '0001-01-01', '1970-01-01 00:00:00+00', '-3 years', '00000000-0000-0000-0000-000000000000', '[]', '{}', '\x', 'B', '', 0, '<a>b</a>', '(-1,-2)', 'empty'),
  (3, 32767, 9223372036854775807, 'Infinity', 'NaN', 'NaN', repeat('long', 1000), NULL, NULL, NULL, 'infinity', '-infinity', NULL, NULL, 'null', '{NULL,1}', repeat('ab', 2000)::bytea, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, 5, NULL, 5, NULL, 5, NULL, 'five', NULL, true, NULL, '2001-02-03 04:05:06.789+01', NULL, '6ba7b810-9dad-11d1-80b4-00c04fd430c8', NULL, ARRAY[5], NULL, 'f', NULL, 5, NULL, '(5,5)', NULL)$$);

SELECT twin_query($$SELECT * FROM @@types$$);
SELECT twin_query($$SELECT id, length(t), octet_length(by) FROM @@types$$);
-- the 4000-byte value is compressed in-line, by glassheap as by heap
SELECT id, pg_column_size(t) AS heap_size, (SELECT pg_column_size(t) FROM g_types g WHERE g.id = h.id) AS glassheap_size FROM h_types h WHERE id = 3;
SELECT id, i2, i8, n, left(t, 10) AS t, length(t) AS tlen, j, arr, ch FROM g_types ORDER BY id;
-- negative by-value integers must come back sign-extended (compare as datums)
SELECT twin_query($$SELECT id FROM @@types WHERE i2 < 0 AND i8 < 0 AND ch = 'B'$$);

-- 100 columns with NULLs scattered: null bitmaps longer than 8 bytes
DO $$
DECLARE cols text := ''; vals1 text := ''; vals2 text := '';
BEGIN
  FOR i IN 1..100 LOOP
    cols := cols || format('c%s int%s', i, CASE WHEN i < 100 THEN ',' ELSE '' END);
    vals1 := vals1 || CASE WHEN i % 3 = 0 THEN 'NULL' ELSE i::text END || CASE WHEN i < 100 THEN ',' ELSE '' END;
    vals2 := vals2 || CASE WHEN i % 7 = 1 THEN i::text ELSE 'NULL' END || CASE WHEN i < 100 THEN ',' ELSE '' END;
  END LOOP;
  PERFORM twin_tables('wide', cols);
  PERFORM twin(format('INSERT INTO @@wide VALUES (%s), (%s)', vals1, vals2));
END $$;
SELECT twin_query($$SELECT * FROM @@wide$$);
SELECT c1, c3, c8, c99, c100 FROM g_wide ORDER BY c1 NULLS LAST;
-- UPDATEs of a row with more columns than an update's index-column comparison keeps
-- on the stack (32): one changes an indexed column, one only others
SELECT twin('CREATE INDEX @@wide_c50 ON @@wide (c50)');
SELECT twin('UPDATE @@wide SET c50 = 5000, c2 = -2 WHERE c99 IS NULL');
SELECT twin('UPDATE @@wide SET c98 = -98');
SELECT twin_query($$SELECT * FROM @@wide$$);
SELECT twin_query($$SELECT c1, c50, c98 FROM @@wide WHERE c50 = 5000$$);

-- alignment: a 1-byte column followed by doubles, then varlena after NULLs
SELECT twin_tables('align', 'a "char", b float8, c text, d int2, e float8, f text');
SELECT twin($$INSERT INTO @@align VALUES ('x', 1.5, NULL, 2, 2.5, 'tail'), ('y', NULL, 'mid', NULL, 3.5, NULL), (NULL, 9.75, 'c', 7, NULL, 'f')$$);
SELECT twin_query($$SELECT * FROM @@align$$);

-- a row that fits in-line uncompressed (STORAGE PLAIN: never compressed or moved out
-- of line), and one that does not; with the default storage (EXTENDED) the bigger value
-- is compressed
CREATE TABLE g_big (id int, t text) USING glassheap;
ALTER TABLE g_big ALTER COLUMN t SET STORAGE PLAIN;
INSERT INTO g_big VALUES (1, repeat('a', 8120));
SELECT id, length(t), pg_column_size(t) FROM g_big;
INSERT INTO g_big VALUES (2, repeat('a', 9000));
ALTER TABLE g_big ALTER COLUMN t SET STORAGE EXTENDED;
INSERT INTO g_big VALUES (2, repeat('a', 9000));
SELECT id, length(t), pg_column_size(t) FROM g_big ORDER BY id;

-- The data area and null bitmap are byte-for-byte heap's (FORMAT.md): rows of
-- fixed-width by-value columns (formed by glassheap's own code) and mixed rows (formed
-- by heap_fill_tuple), written by single INSERTs, INSERT ... SELECT, COPY (multi-insert)
-- and UPDATE, compared with the heap twin's t_data/t_bits in insertion order.
SELECT twin_tables('fixed', 'id int, c "char", s smallint, b bool, f4 real, i8 bigint, d date, ts timestamptz, f8 float8, o oid');
SELECT twin($$INSERT INTO @@fixed VALUES
  (1, 'a', -2, true, 1.5, -9223372036854775808, '2020-02-29', '2001-02-03 04:05:06+00', -0.0, 4294967295),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, 'z', 32767, false, 'NaN', 7, 'infinity', '-infinity', 1e300, 0)$$);
SELECT twin($$INSERT INTO @@fixed SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE chr(65 + g % 26)::"char" END,
  (g % 300)::smallint, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END, g / 7.0, CASE WHEN g % 4 = 1 THEN NULL ELSE g::bigint * 1000003 END,
  date '2000-01-01' + g, timestamptz '2000-01-01 00:00+00' + g * interval '1 hour', CASE WHEN g % 6 = 2 THEN NULL ELSE g * 0.25 END, g
  FROM generate_series(4, 700) g$$);
SELECT twin($$COPY @@fixed FROM PROGRAM 'seq 701 1500 | awk ''{ printf "%d\t%s\t%d\t%s\t%s\t%s\t2021-01-01\t2021-01-01 00:00+00\t%s\t%d\n", $1, ($1 % 4 ? "q" : "\\N"), $1 % 100, ($1 % 2 ? "t" : "\\N"), $1 / 3, $1 * 7, ($1 % 9 ? $1 : "\\N"), $1 }'''$$);
SELECT twin($$UPDATE @@fixed SET i8 = coalesce(i8, 0) + 1, c = NULL WHERE id % 97 = 0$$);
CREATE FUNCTION data_areas(rel regclass, heap bool) RETURNS TABLE (n bigint, nulls text, data bytea)
LANGUAGE sql AS $$
  SELECT row_number() OVER (ORDER BY b, lp), nulls, data FROM (
    SELECT b, i.lp, i.nulls, i.data FROM generate_series(0, pg_relation_size(rel) / 8192 - 1) b,
      LATERAL glassheap.page_items(rel, b) i WHERE NOT heap AND i.lp_flags = 'normal'
    UNION ALL
    SELECT b, p.lp, p.t_bits, p.t_data FROM generate_series(0, pg_relation_size(rel) / 8192 - 1) b,
      LATERAL heap_page_items(get_raw_page(rel::text, b::int)) p WHERE heap AND p.lp_flags = 1) x $$;
SELECT count(*) AS rows, count(*) FILTER (WHERE h.nulls IS DISTINCT FROM g.nulls OR h.data IS DISTINCT FROM g.data) AS mismatches
FROM data_areas('h_fixed', true) h FULL JOIN data_areas('g_fixed', false) g USING (n);
-- the same for mixed rows (varlena, numeric, by-reference fixed width)
SELECT twin($$INSERT INTO @@types SELECT id + 100, i2, i8, f4, f8, n, t, vc, c, b, d, ts, iv, u, j, arr, by, ch, nm, o, x, p, r FROM @@types$$);
SELECT count(*) AS rows, count(*) FILTER (WHERE h.nulls IS DISTINCT FROM g.nulls OR h.data IS DISTINCT FROM g.data) AS mismatches
FROM data_areas('h_types', true) h FULL JOIN data_areas('g_types', false) g USING (n);
SELECT twin_query($$SELECT * FROM @@fixed$$);

-- Deforming in steps: a qual reads the first columns, the projection later ones, so
-- the slot is deformed twice per row and the second call resumes where the first
-- stopped. Leading by-value columns of every width (int2, int8 after padding, "char",
-- bool, float8) are read by the fast loop for rows without nulls, which hands over to
-- the general loop at the first varlena (g); rows with a null take the general loop
-- from the start. Twin compared, including negative values (sign extension).
SELECT twin_tables('steps', 'a smallint, b bigint, c "char", d int, e bool, f float8, g text, h int, i bigint');
SELECT twin($$INSERT INTO @@steps SELECT i, -i * 1000000007::bigint, chr(65 + i % 26)::"char", -i, i % 2 = 0, i / 3.0,
  CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('t', i % 40) END, i * 7, CASE WHEN i % 4 = 0 THEN NULL ELSE -i END
  FROM generate_series(1, 300) i$$);
SELECT twin_query($$SELECT a, b FROM @@steps WHERE a % 3 = 1$$);
SELECT twin_query($$SELECT i, h, g, f, e FROM @@steps WHERE b < -5000000000 AND d % 2 = 0$$);
SELECT twin_query($$SELECT * FROM @@steps WHERE c > 'M'$$);
SELECT twin_query($$SELECT sum(h), sum(i), count(g) FROM @@steps WHERE e$$);
-- Rows with nulls take the fast loop too, up to their first null: cached offsets
-- hold until then (heap's rule), and the null hands over to the general loop. Nulls
-- at every position of a by-value prefix (a row with a, b, c and d all null among
-- them), read in steps by quals and projections, twin compared.
SELECT twin_tables('nsteps', 'a int, b bigint, c smallint, d int, e text, f int');
SELECT twin($$INSERT INTO @@nsteps SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE i END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE -i * 3000000019::bigint END, CASE WHEN i % 3 = 0 THEN NULL ELSE (i % 1000)::smallint END,
  CASE WHEN i % 2 = 0 THEN NULL ELSE -i END, CASE WHEN i % 11 = 0 THEN NULL ELSE repeat('x', i % 9) END, i
  FROM generate_series(1, 420) i$$);
SELECT twin_query($$SELECT a FROM @@nsteps WHERE a % 3 = 1$$);
SELECT twin_query($$SELECT a, b, c, d FROM @@nsteps WHERE b IS NULL OR b < -600000000000$$);
SELECT twin_query($$SELECT * FROM @@nsteps WHERE c > 10 OR d IS NULL$$);
SELECT twin_query($$SELECT sum(d), count(c), sum(f), count(*) FILTER (WHERE a IS NULL AND b IS NULL AND c IS NULL AND d IS NULL) FROM @@nsteps WHERE f > 0$$);
