\pset footer off
\echo
\echo '== glassheap demo: what happens when you write a row =='
\echo
CREATE EXTENSION glassheap;
CREATE EXTENSION pageinspect;
CREATE EXTENSION pg_walinspect;

\echo '-- Two twins: the same table on the native heap and on glassheap.'
CREATE TABLE h (id int, name text) USING heap;
CREATE TABLE g (id int, name text) USING glassheap;
CREATE TABLE marks (step text, lsn pg_lsn);

INSERT INTO marks VALUES ('before insert', pg_current_wal_insert_lsn());
INSERT INTO h VALUES (1, 'alice'), (2, 'bob');
INSERT INTO g VALUES (1, 'alice'), (2, 'bob');
INSERT INTO marks VALUES ('after insert', pg_current_wal_insert_lsn());

\echo '-- The rows, with their system columns (xmin = inserting transaction).'
SELECT ctid, xmin, xmax, * FROM g ORDER BY id;

\echo '-- Both are standard PostgreSQL pages: pageinspect reads their headers.'
\echo '-- glassheap keeps an 8-byte special area (magic + version) at offset 8184.'
SELECT 'heap' AS am, lower, upper, special, pagesize FROM page_header(get_raw_page('h', 0))
UNION ALL
SELECT 'glassheap', lower, upper, special, pagesize FROM page_header(get_raw_page('g', 0));

\echo '-- Tuple sizes: heap needs a 23-byte header (24 aligned), glassheap 16 bytes.'
SELECT 'heap' AS am, lp, lp_len FROM heap_page_items(get_raw_page('h', 0))
UNION ALL
SELECT 'glassheap', lp, lp_len FROM heap_page_items(get_raw_page('g', 0)) ORDER BY am, lp;

\echo '-- The WAL each INSERT wrote: heap records for h, glassheap''s own resource manager for g.'
SELECT resource_manager AS rmgr, record_type, record_length, description
FROM pg_get_wal_records_info((SELECT lsn FROM marks WHERE step = 'before insert'),
                             (SELECT lsn FROM marks WHERE step = 'after insert'))
WHERE resource_manager IN ('Heap', 'glassheap');

\echo '-- An UPDATE writes a new version; the old one keeps its data and gets an xmax.'
INSERT INTO marks VALUES ('before update', pg_current_wal_insert_lsn());
UPDATE g SET name = 'alice2' WHERE id = 1;
INSERT INTO marks VALUES ('after update', pg_current_wal_insert_lsn());
SELECT ctid, xmin, xmax, * FROM g ORDER BY id;
SELECT resource_manager AS rmgr, record_type, record_length, description
FROM pg_get_wal_records_info((SELECT lsn FROM marks WHERE step = 'before update'),
                             (SELECT lsn FROM marks WHERE step = 'after update'))
WHERE resource_manager = 'glassheap';

\echo '-- A narrow table: glassheap fits 291 rows per page, heap 226.'
CREATE TABLE hn (a int, b int) USING heap;
CREATE TABLE gn (a int, b int) USING glassheap;
INSERT INTO hn SELECT g, g FROM generate_series(1, 100000) g;
INSERT INTO gn SELECT g, g FROM generate_series(1, 100000) g;
SELECT pg_size_pretty(pg_relation_size('hn')) AS heap_size, pg_size_pretty(pg_relation_size('gn')) AS glassheap_size,
       round(pg_relation_size('gn')::numeric / pg_relation_size('hn'), 3) AS ratio;
