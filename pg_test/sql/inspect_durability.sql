-- glassheap.durability: a block in shared buffers beside the same block in the data
-- file, the WAL positions and a verdict; glassheap.last_commit: the session's last
-- commit record. Heap and glassheap twins get the same answers. Alone in its group:
-- another test's CHECKPOINT would clean the pages under it.
SET client_min_messages = warning;
SELECT twin_tables('du', 'id int, v text');
SELECT twin('INSERT INTO @@du SELECT g, ''v'' || g FROM generate_series(1, 10) g');
SELECT count(*) FROM h_du UNION ALL SELECT count(*) FROM g_du;   -- hint bits set now

CREATE FUNCTION du_show(rel regclass) RETURNS TABLE (
    am text, in_shared_buffers bool, dirty bool, file_matches_buffer bool,
    buffer_newer bool, durable bool, verdict_starts text, lsns_ordered bool)
LANGUAGE sql AS $$
  SELECT (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = rel),
         d.in_shared_buffers, d.dirty, d.file_matches_buffer,
         d.buffer_lsn > d.file_lsn, d.durable, split_part(d.verdict, ':', 1),
         d.flush_lsn <= d.write_lsn AND d.write_lsn <= d.insert_lsn
           AND d.redo_lsn <= d.checkpoint_lsn AND d.checkpoint_lsn <= d.flush_lsn
  FROM glassheap.durability(rel, 0) d $$;

-- After a CHECKPOINT the data file holds exactly the page shared buffers hold.
CHECKPOINT;
SELECT * FROM du_show('h_du') UNION ALL SELECT * FROM du_show('g_du');
SELECT d.buffer_lsn = (glassheap.page_header(glassheap.page(r, 0))).lsn AS buffer_lsn_is_the_pages,
       d.redo_lsn = (pg_control_checkpoint()).redo_lsn AS redo_from_control_file,
       d.verdict LIKE 'clean: the data file holds the same page (LSN ' || d.buffer_lsn || ') as shared buffers, and its WAL is flushed to %' AS verdict
FROM (VALUES ('h_du'::regclass), ('g_du')) v(r), glassheap.durability(r, 0) d;

-- An UPDATE dirties the page: the buffer is newer than the file; its WAL is flushed
-- (synchronous commit), so a crash now rebuilds the page from WAL.
SELECT twin('UPDATE @@du SET v = ''u'' WHERE id = 1');
SELECT * FROM du_show('h_du') UNION ALL SELECT * FROM du_show('g_du');
SELECT d.verdict LIKE 'dirty, and durable: the page''s last change (LSN ' || d.buffer_lsn
         || ') is in WAL flushed to %; the data file still holds the older page (the page at LSN '
         || d.file_lsn || '): a crash now rebuilds it from WAL, replaying from the last checkpoint''s redo point '
         || d.redo_lsn AS verdict
FROM (VALUES ('h_du'::regclass), ('g_du')) v(r), glassheap.durability(r, 0) d;

-- The commit that made the UPDATE durable: a Transaction COMMIT record, flushed before
-- COMMIT returned, by the transaction that wrote the new version.
UPDATE g_du SET v = 'sync' WHERE id = 3;
SELECT synchronous_commit, flushed_at_commit, durable, commit_lsn < commit_end_lsn AS ordered,
       xid = (SELECT xmin FROM g_du WHERE id = 3) AS same_xid,
       verdict LIKE 'committed and durable: its commit record (' || commit_lsn || '..' || commit_end_lsn || ') was flushed %' AS verdict
FROM glassheap.last_commit();
SELECT resource_manager, record_type FROM glassheap.wal_records(
    (SELECT commit_lsn FROM glassheap.last_commit()), (SELECT commit_end_lsn FROM glassheap.last_commit()));
-- a read-only transaction writes no commit record: last_commit still names the UPDATE's
SELECT xid = (SELECT xmin FROM g_du WHERE id = 3) AS same_xid FROM glassheap.last_commit();

-- trace() runs its statement inside the caller's transaction: its records, and whether
-- their WAL was flushed when the statement returned (the WAL writer may have flushed
-- them, so only that the column is there); the COMMIT record comes after trace()
-- returns, and last_commit shows it.
BEGIN;
SELECT resource_manager, record_type, flushed IS NOT NULL AS has_flushed
FROM glassheap.trace('INSERT INTO g_du VALUES (50, ''t'')') WHERE mine;
COMMIT;
SELECT xid = (SELECT xmin FROM g_du WHERE id = 50) AS same_xid, flushed_at_commit FROM glassheap.last_commit();

-- synchronous_commit = off: COMMIT returns before its WAL is flushed. Whether the WAL
-- writer has flushed it by the time we look is timing, so the test checks that every
-- answer agrees with the LSNs reported beside it.
SET synchronous_commit = off;
SELECT twin('UPDATE @@du SET v = ''async'' WHERE id = 2');
SELECT synchronous_commit,
       flushed_at_commit = (flush_lsn_at_commit >= commit_end_lsn) AS flushed_agrees,
       durable = (flush_lsn >= commit_end_lsn) AS durable_agrees,
       CASE WHEN flushed_at_commit THEN verdict LIKE 'committed and durable%'
            WHEN durable THEN verdict LIKE 'committed, not durable when COMMIT returned: the WAL was flushed only to ' || flush_lsn_at_commit || '%'
            ELSE verdict LIKE 'committed, not yet durable: its commit record ends at ' || commit_end_lsn || ' but the WAL is flushed only to %'
       END AS verdict_agrees
FROM glassheap.last_commit();
SELECT d.dirty, d.durable = (d.buffer_lsn <= d.flush_lsn) AS durable_agrees,
       CASE WHEN d.buffer_lsn <= d.flush_lsn THEN d.verdict LIKE 'dirty, and durable%'
            WHEN d.buffer_lsn <= d.write_lsn THEN d.verdict LIKE 'not yet durable: the page''s last change (LSN ' || d.buffer_lsn || ') is written to the WAL file%'
            ELSE d.verdict LIKE 'not yet durable: the page''s last change (LSN ' || d.buffer_lsn || ') is only in the WAL buffers%synchronous_commit = off%'
       END AS verdict_agrees
FROM (VALUES ('h_du'::regclass), ('g_du')) v(r), glassheap.durability(r, 0) d;
RESET synchronous_commit;
-- A CHECKPOINT flushes the WAL: the asynchronous commit is durable now.
CHECKPOINT;
SELECT synchronous_commit, durable, flush_lsn >= commit_end_lsn AS flushed FROM glassheap.last_commit();

-- Not in shared buffers: VACUUM FULL writes the new relfilenode's pages to the file
-- past the buffer pool, and nothing has read them since.
VACUUM FULL h_du;
VACUUM FULL g_du;
CHECKPOINT;
SELECT am, in_shared_buffers, dirty, file_matches_buffer, durable, verdict_starts FROM du_show('h_du')
UNION ALL SELECT am, in_shared_buffers, dirty, file_matches_buffer, durable, verdict_starts FROM du_show('g_du');

-- A pin: an open cursor's sequential scan holds its current page pinned.
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM h_du;
FETCH 1 FROM c;
SELECT in_shared_buffers, pins FROM glassheap.durability('h_du', 0);
COMMIT;
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM g_du;
FETCH 1 FROM c;
SELECT in_shared_buffers, pins FROM glassheap.durability('g_du', 0);
COMMIT;
SELECT pins FROM glassheap.durability('g_du', 0);

-- An unlogged table writes no WAL: not crash-safe whatever the file holds.
CREATE UNLOGGED TABLE du_unlogged (a int) USING glassheap;
INSERT INTO du_unlogged VALUES (1);
SELECT in_shared_buffers, dirty, durable, verdict LIKE 'not crash-safe: an unlogged table writes no WAL%' AS verdict
FROM glassheap.durability('du_unlogged', 0);

-- Bad input: a clear error, never a crash.
SELECT * FROM glassheap.durability('h_du', 5);
SELECT * FROM glassheap.durability('g_du', -1);
SELECT * FROM glassheap.durability(NULL, 0);
SELECT * FROM glassheap.durability('g_du', NULL);
CREATE INDEX du_idx ON g_du (id);
SELECT * FROM glassheap.durability('du_idx', 0);
CREATE VIEW du_view AS SELECT 1;
SELECT * FROM glassheap.durability('du_view', 0);
CREATE TEMP TABLE du_temp (a int) USING glassheap;
INSERT INTO du_temp VALUES (1);
SELECT * FROM glassheap.durability('du_temp', 0);
