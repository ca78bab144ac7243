-- Run by scripts/demo as the superuser postgres on a throwaway cluster with glassheap
-- preloaded. Everything it shows comes from the glassheap.* inspection toolkit
-- (docs/INSPECT.md), which reads heap and glassheap tables alike.
\pset footer off
\echo
\echo '== glassheap demo: what happens when you write a row =='
\echo
CREATE EXTENSION glassheap;

\echo '-- Two twins: the same table on the native heap (h) and on glassheap (g).'
CREATE TABLE h (id int, name text) USING heap;
CREATE TABLE g (id int, name text) USING glassheap;

SELECT pg_current_wal_insert_lsn() AS before_insert \gset
BEGIN;
INSERT INTO h VALUES (1, 'alice'), (2, 'bob');
INSERT INTO g VALUES (1, 'alice'), (2, 'bob');

\echo
\echo '-- Before COMMIT: the rows are on the page already, stamped with our xid; to this'
\echo '-- transaction they are its own (current transaction), to everyone else invisible.'
SELECT 'heap' AS am, tid, xmin, xmin_status, visible, reason FROM glassheap.visibility('h')
UNION ALL
SELECT 'glassheap', tid, xmin, xmin_status, visible, reason FROM glassheap.visibility('g')
ORDER BY am DESC, tid;
COMMIT;
\echo '-- COMMIT wrote one commit record and did not touch the page: the headers are as'
\echo '-- before (no xmin_committed yet); the commit log alone says the rows are committed.'
SELECT 'heap' AS am, lp, xmin, flags FROM glassheap.page_items('h', 0)
UNION ALL
SELECT 'glassheap', lp, xmin, flags FROM glassheap.page_items('g', 0)
ORDER BY am DESC, lp;

\echo
\echo '-- The rows as the page holds them (glassheap.page_items). Same data bytes;'
\echo '-- the tuple header is 23 bytes (24 aligned) on heap, 16 on glassheap.'
SELECT 'heap' AS am, lp, lp_off, lp_len, xmin, xmax, ctid, hoff, data
FROM glassheap.page_items('h', 0)
UNION ALL
SELECT 'glassheap', lp, lp_off, lp_len, xmin, xmax, ctid, hoff, data
FROM glassheap.page_items('g', 0)
ORDER BY am DESC, lp;

\echo
\echo '-- The WAL each INSERT wrote (glassheap.wal_records filtered by table): heap''s'
\echo '-- records for h, glassheap''s own resource manager (id 199) for g.'
SELECT 'h' AS rel, resource_manager, record_type, record_length, description
FROM glassheap.wal_records(:'before_insert', NULL, 'h')
UNION ALL
SELECT 'g', resource_manager, record_type, record_length, description
FROM glassheap.wal_records(:'before_insert', NULL, 'g');

\echo
\echo '-- Hint bits: nobody has looked at the rows yet, so their headers do not say'
\echo '-- that the inserting transaction committed ...'
SELECT 'heap' AS am, lp, flags FROM glassheap.page_items('h', 0)
UNION ALL
SELECT 'glassheap', lp, flags FROM glassheap.page_items('g', 0)
ORDER BY am DESC, lp;

\echo '-- ... the first read checks the commit log and records the answer (xmin_committed).'
SELECT count(*) AS rows_read FROM h;
SELECT count(*) AS rows_read FROM g;
SELECT 'heap' AS am, lp, flags FROM glassheap.page_items('h', 0)
UNION ALL
SELECT 'glassheap', lp, flags FROM glassheap.page_items('g', 0)
ORDER BY am DESC, lp;

\echo
\echo '-- An UPDATE writes a new version. The old one gets an xmax and a pointer to the'
\echo '-- new one (ctid): heap stores a 6-byte ctid in every tuple, glassheap a 9-bit'
\echo '-- offset in its header only once the row is updated (ctid shown = own TID otherwise).'
SELECT pg_current_wal_insert_lsn() AS before_update \gset
UPDATE h SET name = 'alice2' WHERE id = 1;
UPDATE g SET name = 'alice2' WHERE id = 1;
SELECT 'heap' AS am, lp, xmin, xmax, ctid, flags
FROM glassheap.page_items('h', 0)
UNION ALL
SELECT 'glassheap', lp, xmin, xmax, ctid, flags
FROM glassheap.page_items('g', 0)
ORDER BY am DESC, lp;
SELECT 'h' AS rel, resource_manager, record_type, record_length, description
FROM glassheap.wal_records(:'before_update', NULL, 'h')
UNION ALL
SELECT 'g', resource_manager, record_type, record_length, description
FROM glassheap.wal_records(:'before_update', NULL, 'g');

\echo
\echo '-- pgstattuple''s numbers for both (glassheap.stats): the old versions are dead.'
SELECT 'heap' AS am, table_len, tuple_count, tuple_len, dead_tuple_count, dead_tuple_len, free_space
FROM glassheap.stats('h')
UNION ALL
SELECT 'glassheap', table_len, tuple_count, tuple_len, dead_tuple_count, dead_tuple_len, free_space
FROM glassheap.stats('g');

\echo
\echo '== Why is a version visible? (the teaching functions, docs/WALKTHROUGH.md) =='
\echo '-- glassheap.visibility judges every stored version for this statement''s snapshot:'
\echo '-- the visible TIDs are exactly the ctids a SELECT returns.'
SELECT 'heap' AS am, tid, xmin, xmax, xmin_status, xmax_status, visible, reason
FROM glassheap.visibility('h')
UNION ALL
SELECT 'glassheap', tid, xmin, xmax, xmin_status, xmax_status, visible, reason
FROM glassheap.visibility('g')
ORDER BY am DESC, tid;

\echo
\echo '-- The history of row 1, oldest to newest (glassheap.version_chain). Both mark the'
\echo '-- HOT version: the update changed no indexed column, so it added no index entry.'
SELECT 'heap' AS am, * FROM glassheap.version_chain('h', '(0,1)')
UNION ALL
SELECT 'glassheap', * FROM glassheap.version_chain('g', '(0,1)')
ORDER BY am DESC, hop;

\echo
\echo '-- What exactly does a DELETE write? glassheap.trace runs it in this transaction'
\echo '-- and returns its WAL records and the blocks they changed.'
BEGIN;
SELECT 'h' AS rel, resource_manager, record_type, record_length, dirtied, description
FROM glassheap.trace('DELETE FROM h WHERE id = 2') WHERE mine
UNION ALL
SELECT 'g', resource_manager, record_type, record_length, dirtied, description
FROM glassheap.trace('DELETE FROM g WHERE id = 2') WHERE mine;
COMMIT;

\echo
\echo '-- A REPEATABLE READ snapshot meets a concurrent update: another session (dblink)'
\echo '-- renames alice and commits after our snapshot was taken.'
CREATE EXTENSION dblink;
SELECT format('host=%s port=%s dbname=%s user=postgres',
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port'), current_database()) AS other_session \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT id, name FROM g ORDER BY id;
SELECT dblink_exec(:'other_session', 'UPDATE g SET name = ''alice3'' WHERE id = 1') AS other_session_did;
SELECT id, name FROM g ORDER BY id;
SELECT tid, xmin, xmax, xmin_status, xmax_status, visible FROM glassheap.visibility('g') ORDER BY tid;
\echo '-- Why can we not see the committed new version? Step by step:'
SELECT * FROM glassheap.explain_visibility('g',
  (SELECT tid FROM glassheap.visibility('g') WHERE NOT visible AND xmin_status = 'committed' AND xmax_status = 'invalid'));
COMMIT;

\echo
\echo '-- VACUUM cleaning up, on both tables. Page maps before:'
SELECT glassheap.page_map('h');
SELECT glassheap.page_map('g');
VACUUM h;
VACUUM g;
\echo '-- ... and after: dead versions removed, the pages all-visible; a HOT chain root whose'
\echo '-- first versions were removed becomes a redirect, freed slots become unused.'
SELECT glassheap.page_map('h');
SELECT glassheap.page_map('g');
SELECT 'heap' AS am, lp, lp_flags, lp_off, lp_len, xmin, xmax, ctid FROM glassheap.page_items('h', 0)
UNION ALL
SELECT 'glassheap', lp, lp_flags, lp_off, lp_len, xmin, xmax, ctid FROM glassheap.page_items('g', 0)
ORDER BY am DESC, lp;

\echo
\echo '-- A narrow (int, int) table: glassheap fits 291 rows per page, heap 226.'
CREATE TABLE hn (a int, b int) USING heap;
CREATE TABLE gn (a int, b int) USING glassheap;
INSERT INTO hn SELECT i, i FROM generate_series(1, 100000) i;
INSERT INTO gn SELECT i, i FROM generate_series(1, 100000) i;
SELECT 'heap' AS am, pg_size_pretty(table_len) AS size, table_len / 8192 AS pages,
       (SELECT count(*) FROM glassheap.page_items('hn', 0)) AS rows_in_block_0,
       tuple_len / tuple_count AS bytes_per_row
FROM glassheap.stats('hn')
UNION ALL
SELECT 'glassheap', pg_size_pretty(table_len), table_len / 8192,
       (SELECT count(*) FROM glassheap.page_items('gn', 0)),
       tuple_len / tuple_count
FROM glassheap.stats('gn');
