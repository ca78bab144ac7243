-- wal_records / wal_stats edge cases and what trace cannot run.
SET client_min_messages = warning;
CREATE TABLE wf (a int, b text) USING glassheap;
-- NULL arguments are named
SELECT * FROM glassheap.wal_records(NULL);
SELECT * FROM glassheap.wal_stats(NULL);
-- right after a write, before anything flushed it: the records are there
BEGIN;
SELECT pg_current_wal_insert_lsn() AS before_insert \gset
INSERT INTO wf VALUES (1, 'one');
SELECT resource_manager, record_type FROM glassheap.wal_records(:'before_insert', NULL, 'wf');
COMMIT;
-- WAL that is gone (segment 0 never exists): one message, with DETAIL
\set VERBOSITY terse
SELECT * FROM glassheap.wal_records('0/10');
\set VERBOSITY default
-- a start in the unused rest of a segment after pg_switch_wal: the next record is found,
-- the first one of the next segment (after its 40-byte long page header)
INSERT INTO wf VALUES (2, 'two');
SELECT pg_switch_wal() AS switched \gset
INSERT INTO wf VALUES (3, 'three');
SELECT (min(start_lsn) - '0/0'::pg_lsn) % pg_size_bytes(current_setting('wal_segment_size')) AS offset_in_segment,
       min(start_lsn) > :'switched'::pg_lsn AS after_switch
FROM glassheap.wal_records(:'switched');
SELECT count(*) > 0 AS found FROM glassheap.wal_stats(:'switched');
-- reading a long range honours statement_timeout (the reading loop, which trace shares,
-- checks for interrupts at every record)
SELECT pg_current_wal_insert_lsn() AS before_load \gset
INSERT INTO wf SELECT g, repeat('x', 20) FROM generate_series(1, 200000) g;
SET statement_timeout = '100ms';
SELECT count(*) FROM glassheap.wal_records(:'before_load');
RESET statement_timeout;

-- trace refuses what it cannot run inside the caller's transaction, before running it
SELECT * FROM glassheap.trace('COMMIT');
SELECT * FROM glassheap.trace('INSERT INTO wf VALUES (-4, ''x''); ROLLBACK');
BEGIN;
SELECT * FROM glassheap.trace('SAVEPOINT s');
ROLLBACK;
SELECT * FROM glassheap.trace('PREPARE TRANSACTION ''x''');
SELECT * FROM glassheap.trace('BEGIN');
SELECT * FROM glassheap.trace('COPY wf FROM STDIN');
SELECT * FROM glassheap.trace('COPY wf TO STDOUT');
SELECT count(*) AS inserted FROM wf WHERE a = -4;
-- COPY to a file is fine
-- (trace() returns every record in its window, other sessions' too: this file runs in a
-- parallel group, so only this transaction's own records are counted)
SELECT count(*) FROM glassheap.trace(format('COPY (SELECT 1) TO %L', current_setting('data_directory') || '/glassheap_trace_copy.txt')) WHERE mine;
-- a SET inside trace() persists after it (documented)
SELECT count(*) FROM glassheap.trace('SET work_mem = ''7MB''') WHERE mine;
SHOW work_mem;
RESET work_mem;
DROP TABLE wf;
