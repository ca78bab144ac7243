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
