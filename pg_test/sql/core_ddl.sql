-- Table lifecycle: default access method, CREATE TABLE AS, ALTER TABLE without rewrite
-- (added columns with defaults, dropped columns), TRUNCATE, UNLOGGED and TEMP tables.
SET default_table_access_method = glassheap;
CREATE TABLE d1 (a int, b text);
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'd1';
RESET default_table_access_method;

CREATE TABLE d2 USING glassheap AS SELECT g AS a, g::text AS b FROM generate_series(1, 100) g;
SELECT count(*), sum(a) FROM d2;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'd2';

-- ADD COLUMN with a constant default does not rewrite: old rows show the default
SELECT twin_tables('alt', 'a int, b text');
SELECT twin($$INSERT INTO @@alt SELECT g, 'b' || g FROM generate_series(1, 50) g$$);
SELECT twin($$ALTER TABLE @@alt ADD COLUMN c int DEFAULT 7$$);
SELECT twin($$ALTER TABLE @@alt ADD COLUMN d text$$);
SELECT twin($$INSERT INTO @@alt VALUES (51, 'new', 8, 'dd')$$);
SELECT twin_query($$SELECT * FROM @@alt$$);
SELECT * FROM g_alt WHERE a IN (1, 51) ORDER BY a;
SELECT twin($$ALTER TABLE @@alt DROP COLUMN b$$);
SELECT twin($$UPDATE @@alt SET c = c + 1 WHERE a % 2 = 0$$);
SELECT twin_query($$SELECT * FROM @@alt$$);
-- a column type change rewrites the table through the access method
SELECT twin($$ALTER TABLE @@alt ALTER COLUMN c TYPE bigint$$);
SELECT twin_query($$SELECT * FROM @@alt$$);
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 'g_alt';

-- TRUNCATE, including inside the transaction that created the table, and rollback
SELECT twin($$TRUNCATE @@alt$$);
SELECT count(*) FROM g_alt;
BEGIN;
CREATE TABLE d3 (a int) USING glassheap;
INSERT INTO d3 VALUES (1), (2);
TRUNCATE d3;
INSERT INTO d3 VALUES (3);
SELECT * FROM d3;
COMMIT;
SELECT * FROM d3;
INSERT INTO d2 SELECT 1000, 'x';
BEGIN;
TRUNCATE d2;
SELECT count(*) FROM d2;
ROLLBACK;
SELECT count(*) FROM d2;

-- UNLOGGED tables get an init fork; TEMP tables live in local buffers
CREATE UNLOGGED TABLE du (a int) USING glassheap;
INSERT INTO du SELECT generate_series(1, 10);
SELECT count(*) FROM du;
SELECT pg_relation_size('du', 'init') AS init_fork_size, pg_relation_size('du') > 0 AS has_main;
CREATE TEMP TABLE dt (a int, b text) USING glassheap;
INSERT INTO dt SELECT g, g::text FROM generate_series(1, 500) g;
UPDATE dt SET b = 'u' WHERE a % 2 = 0;
DELETE FROM dt WHERE a % 5 = 0;
SELECT count(*), count(*) FILTER (WHERE b = 'u') FROM dt;

-- indexes on a glassheap table (more in the index suites)
CREATE TABLE di (id int PRIMARY KEY, v text) USING glassheap;
INSERT INTO di SELECT g, 'v' || g FROM generate_series(1, 1000) g;
INSERT INTO di VALUES (5, 'dup');
SET enable_seqscan = off;
SELECT * FROM di WHERE id = 500;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM di WHERE id = 500;
SELECT * FROM di WHERE id = 500;
UPDATE di SET v = 'changed' WHERE id = 500;
SELECT * FROM di WHERE id = 500;
DELETE FROM di WHERE id = 500;
SELECT * FROM di WHERE id = 500;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT bt_index_check('di_pkey', true);

-- ANALYZE samples rows (row counts close to the truth)
ANALYZE di;
SELECT reltuples BETWEEN 950 AND 1050 AS reltuples_ok, relpages > 0 AS has_pages FROM pg_class WHERE relname = 'di';
SELECT count(*) > 0 AS has_stats FROM pg_stats WHERE tablename = 'di';

-- ALTER TABLE ... SET TABLESPACE copies the files (relation_copy_data)
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE gh_ts LOCATION '';
ALTER TABLE d2 SET TABLESPACE gh_ts;
SELECT count(*), sum(a) FROM d2;
UPDATE d2 SET b = 'moved' WHERE a = 1;
SELECT b FROM d2 WHERE a = 1;
ALTER TABLE d2 SET TABLESPACE pg_default;
SELECT count(*), sum(a) FROM d2;
DROP TABLESPACE gh_ts;
