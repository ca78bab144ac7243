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
\echo '-- Why a dead version stays: another session (dblink) takes a REPEATABLE READ snapshot,'
\echo '-- then we insert and delete carol. VACUUM must keep her deleted version while that'
\echo '-- snapshot may still see it; explain_horizon names what holds it and how to release it.'
INSERT INTO g VALUES (3, 'carol');
SELECT dblink_connect('holder', :'other_session') AS holder_connected;
SELECT dblink_exec('holder', 'BEGIN ISOLATION LEVEL REPEATABLE READ') AS holder_began;
SELECT * FROM dblink('holder', 'SELECT count(*) FROM g') AS t(rows_the_holder_sees bigint);
DELETE FROM g WHERE id = 3 RETURNING ctid AS carol_tid \gset
VACUUM g;
SELECT tid, xmin_status, xmax_status FROM glassheap.visibility('g') WHERE tid = :'carol_tid';
SELECT holder, state, holds_back, release
FROM glassheap.explain_horizon('g', :'carol_tid');
SELECT dblink_exec('holder', 'COMMIT') AS holder_ended;
SELECT dblink_disconnect('holder') AS holder_gone;
VACUUM g;
\echo '-- Released: this VACUUM removed her (her line pointer is no longer a version).'
SELECT count(*) AS carol_versions_left FROM glassheap.visibility('g') WHERE tid = :'carol_tid';

\echo
\echo '-- The page''s history, rebuilt from WAL: every record that touched block 0 of g since'
\echo '-- before the first INSERT, replayed on the page with the code redo runs; each row is the'
\echo '-- page after that record (its live and dead versions and line pointers).'
SELECT h.lsn, h.xid, h.record_type,
       (SELECT count(*) FROM glassheap.page_items(h.page, 'glassheap') WHERE lp_flags = 'normal') AS stored_versions,
       (SELECT count(*) FROM glassheap.page_items(h.page, 'glassheap') WHERE lp_flags IN ('dead', 'redirect')) AS dead_or_redirect,
       (SELECT count(*) FROM glassheap.page_items(h.page, 'glassheap') WHERE lp_flags = 'unused') AS unused,
       coalesce(h.note, '') AS note
FROM glassheap.page_history('g', 0, :'before_insert') h
ORDER BY h.lsn;
\echo '-- The last rebuilt page is the page on disk (checked by the regression and TAP suites).'

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

\echo
\echo '== Following one INSERT until it is durable =='
\echo '-- (This throwaway cluster runs with fsync = off to be quick: PostgreSQL moves its'
\echo '-- WAL flush position exactly as usual and only skips the fsync() calls. On a real'
\echo '-- server, flushed means on disk.)'
\echo '-- synchronous_commit = on, the default. trace() runs the INSERT inside our'
\echo '-- transaction and returns the WAL record it wrote; flushed says whether the WAL was'
\echo '-- flushed past that record when the INSERT returned.'
SET synchronous_commit = on;
CREATE TEMP TABLE carol_wal (start_lsn pg_lsn, end_lsn pg_lsn, resource_manager text,
                             record_type text, dirtied text[], flushed bool);
BEGIN;
INSERT INTO carol_wal
  SELECT start_lsn, end_lsn, resource_manager, record_type, dirtied, flushed
  FROM glassheap.trace('INSERT INTO g VALUES (3, ''carol'')') WHERE mine;
SELECT * FROM carol_wal;
SELECT bool_and(flushed) AS trace_flushed FROM carol_wal \gset
\if :trace_flushed
\echo '-- The WAL writer happened to flush it already: an INSERT itself never waits for'
\echo '-- the disk, background flushing got there first.'
\else
\echo '-- Not flushed: an INSERT writes its record into the WAL buffers and returns; nothing'
\echo '-- waits for the disk yet.'
\endif
\echo '-- The block in shared buffers beside the data file''s copy. (trace() flushed the WAL'
\echo '-- itself to read the record back, so the flush position is already past it: the'
\echo '-- change would survive a crash, but as a change of a transaction that never'
\echo '-- committed, so the row would stay invisible.)'
\set QUIET on
\x on
\set QUIET off
SELECT dirty, buffer_lsn, file_lsn, file_matches_buffer, insert_lsn, write_lsn, flush_lsn,
       redo_lsn, durable, verdict
FROM glassheap.durability('g', 0);
\set QUIET on
\x off
\set QUIET off
COMMIT;
\echo '-- COMMIT wrote a commit record and, with synchronous_commit = on, waited until the'
\echo '-- WAL was flushed past its end before returning (glassheap.last_commit):'
\set QUIET on
\x on
\set QUIET off
SELECT xid, commit_lsn, commit_end_lsn, synchronous_commit, flush_lsn_at_commit,
       flushed_at_commit, durable, verdict
FROM glassheap.last_commit();
\set QUIET on
\x off
\set QUIET off
SELECT resource_manager, record_type, record_length, description
FROM glassheap.wal_records((SELECT commit_lsn FROM glassheap.last_commit()),
                           (SELECT commit_end_lsn FROM glassheap.last_commit()));
\echo '-- The page is still only in shared buffers, dirty and newer than the data file.'
SELECT file_lsn = '0/0' AS file_zeroed FROM glassheap.durability('g', 0) \gset
\if :file_zeroed
\echo '-- (No checkpoint has run since the table was created: the file still holds the zeroed'
\echo '-- block written when the table grew, file_lsn 0/0.)'
\endif
\echo '-- That is fine: the change is in flushed WAL, so a crash would rebuild the page by'
\echo '-- replaying from the last checkpoint''s redo point.'
\set QUIET on
\x on
\set QUIET off
SELECT dirty, buffer_lsn, file_lsn, file_matches_buffer, flush_lsn, redo_lsn, durable, verdict
FROM glassheap.durability('g', 0);
\set QUIET on
\x off
\set QUIET off

\echo
\echo '-- synchronous_commit = off: COMMIT returns without waiting for the flush; the WAL'
\echo '-- writer flushes a little later (within 3 x wal_writer_delay, 200 ms by default).'
SET synchronous_commit = off;
BEGIN;
INSERT INTO g VALUES (4, 'dave');
COMMIT;
\set QUIET on
\x on
\set QUIET off
SELECT xid, commit_lsn, commit_end_lsn, synchronous_commit, flush_lsn_at_commit,
       flushed_at_commit, durable, verdict
FROM glassheap.last_commit();
\set QUIET on
\x off
\set QUIET off
SELECT flushed_at_commit AS async_flushed_at_commit FROM glassheap.last_commit() \gset
\if :async_flushed_at_commit
\echo '-- This time the WAL had already been flushed past the commit record when COMMIT'
\echo '-- returned (something else flushed it first); that is luck, not a promise.'
\else
\echo '-- COMMIT returned while the WAL was flushed only to flush_lsn_at_commit, before the'
\echo '-- commit record: had the server crashed at that moment, this committed transaction'
\echo '-- would have been lost (the data stays consistent; the last commits just vanish).'
\endif
\echo '-- A second later (last_commit again: flushed_at_commit is the state when COMMIT'
\echo '-- returned, durable the flush position now):'
SELECT 1 AS seconds_waited FROM pg_sleep(1);
SELECT synchronous_commit, flushed_at_commit, durable, commit_end_lsn, flush_lsn
FROM glassheap.last_commit();
SELECT durable AS async_durable_now FROM glassheap.last_commit() \gset
\if :async_durable_now
\echo '-- Flushed by now (the WAL writer does it within 3 x wal_writer_delay, if nothing'
\echo '-- else flushed first): the transaction is durable, later than COMMIT said it was done.'
\else
\echo '-- Still not flushed a second later: the WAL writer has not caught up yet.'
\endif
RESET synchronous_commit;

\echo
\echo '-- CHECKPOINT writes every dirty buffer to its data file and moves the redo point'
\echo '-- (where crash recovery starts replaying) to where the WAL was when it began: the'
\echo '-- data file now holds the very page shared buffers hold, and its last change lies'
\echo '-- before the new redo point, so a crash would not need this page''s WAL.'
CHECKPOINT;
\set QUIET on
\x on
\set QUIET off
SELECT dirty, buffer_lsn, file_lsn, file_matches_buffer, flush_lsn, redo_lsn, durable, verdict
FROM glassheap.durability('g', 0);
\set QUIET on
\x off
\set QUIET off
