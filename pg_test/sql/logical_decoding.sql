-- Logical decoding of glassheap changes, compared with the heap twin: each scenario runs
-- the same statements on lh (heap) and lg (glassheap), decodes each with test_decoding,
-- and shows glassheap's changes next to whether heap's are the same (table names
-- aside). Runs on a cluster with wal_level = logical (scripts/test, suite "logical").
CREATE EXTENSION glassheap;
SET client_min_messages = warning;

CREATE TEMP TABLE ld_out (am text, n int, line text);

-- ld_take(am): decode what the slot has and append it under `am`, the table names lh/lg
-- (and lh_x/lg_x) replaced by T (T_x).
CREATE FUNCTION ld_take(am text, slot text DEFAULT 'ld', opts text[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($q$
    INSERT INTO ld_out
    SELECT %L, (SELECT coalesce(max(n), 0) FROM ld_out WHERE am = %L) + row_number() OVER (),
           regexp_replace(data, 'public\.l[hg](\M|_)', 'public.T\1', 'g')
    FROM pg_logical_slot_get_changes(%L, NULL, NULL, VARIADIC %L::text[])$q$,
    am, am, slot, ARRAY['include-xids', '0', 'skip-empty-xacts', '1'] || opts);
END $$;

-- ld_compare(): glassheap's lines (long values cut at 100 characters) and whether heap's
-- line at the same position is identical; then forget both.
CREATE FUNCTION ld_compare(OUT n int, OUT glassheap text, OUT same_as_heap bool) RETURNS SETOF record
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
    SELECT coalesce(g.n, h.n), left(g.line, 100), g.line IS NOT DISTINCT FROM h.line
    FROM (SELECT * FROM ld_out WHERE am = 'glassheap') g
    FULL JOIN (SELECT * FROM ld_out WHERE am = 'heap') h ON g.n = h.n
    ORDER BY 1;
  DELETE FROM ld_out;
END $$;

SELECT 'slot' FROM pg_create_logical_replication_slot('ld', 'test_decoding');

-- Tables: a primary key (REPLICA IDENTITY DEFAULT), NULLs, a TOASTable column.
CREATE TABLE lh (id int PRIMARY KEY, v text, n int, big text) USING heap;
CREATE TABLE lg (id int PRIMARY KEY, v text, n int, big text) USING glassheap;

-- 1. INSERT, with NULLs
INSERT INTO lh VALUES (1, 'one', NULL, NULL), (2, 'two', 2, 'x');
SELECT ld_take('heap');
INSERT INTO lg VALUES (1, 'one', NULL, NULL), (2, 'two', 2, 'x');
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 2. UPDATE on the same page (HOT), of the key (old key logged), DELETE
UPDATE lh SET v = 'uno' WHERE id = 1;
UPDATE lh SET id = 20 WHERE id = 2;
DELETE FROM lh WHERE id = 1;
SELECT ld_take('heap');
UPDATE lg SET v = 'uno' WHERE id = 1;
UPDATE lg SET id = 20 WHERE id = 2;
DELETE FROM lg WHERE id = 1;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 3. COPY (multi-insert), several pages, and INSERT ... SELECT
COPY lh (id, v, n) FROM STDIN;
100	copied	1
101	\N	2
102	third	\N
\.
INSERT INTO lh SELECT g, 'gen', g FROM generate_series(1000, 1600) g;
SELECT ld_take('heap');
COPY lg (id, v, n) FROM STDIN;
100	copied	1
101	\N	2
102	third	\N
\.
INSERT INTO lg SELECT g, 'gen', g FROM generate_series(1000, 1600) g;
SELECT ld_take('glassheap');
SELECT count(*) AS changes, bool_and(same_as_heap) AS all_same FROM ld_compare();

-- 4. UPDATE to another page: the row no longer fits where it was
UPDATE lh SET v = repeat('w', 1500) WHERE id BETWEEN 1000 AND 1010;
SELECT ld_take('heap');
UPDATE lg SET v = repeat('w', 1500) WHERE id BETWEEN 1000 AND 1010;
SELECT ld_take('glassheap');
SELECT count(*) AS changes, bool_and(same_as_heap) AS all_same FROM ld_compare();

-- 5. Savepoints, rolled-back work (never emitted), a rolled-back transaction
BEGIN;
INSERT INTO lh VALUES (3, 'kept', 3, NULL);
SAVEPOINT a;
INSERT INTO lh VALUES (4, 'rolled back', 4, NULL);
ROLLBACK TO a;
SAVEPOINT b;
UPDATE lh SET n = 33 WHERE id = 3;
RELEASE b;
COMMIT;
BEGIN;
INSERT INTO lh VALUES (5, 'aborted', 5, NULL);
ROLLBACK;
SELECT ld_take('heap');
BEGIN;
INSERT INTO lg VALUES (3, 'kept', 3, NULL);
SAVEPOINT a;
INSERT INTO lg VALUES (4, 'rolled back', 4, NULL);
ROLLBACK TO a;
SAVEPOINT b;
UPDATE lg SET n = 33 WHERE id = 3;
RELEASE b;
COMMIT;
BEGIN;
INSERT INTO lg VALUES (5, 'aborted', 5, NULL);
ROLLBACK;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 6. INSERT ... ON CONFLICT: speculative insertion confirmed, and the conflict path
INSERT INTO lh VALUES (6, 'new', 6, NULL) ON CONFLICT (id) DO NOTHING;
INSERT INTO lh VALUES (6, 'dup', 6, NULL) ON CONFLICT (id) DO NOTHING;
INSERT INTO lh VALUES (6, 'dup', 6, NULL) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
SELECT ld_take('heap');
INSERT INTO lg VALUES (6, 'new', 6, NULL) ON CONFLICT (id) DO NOTHING;
INSERT INTO lg VALUES (6, 'dup', 6, NULL) ON CONFLICT (id) DO NOTHING;
INSERT INTO lg VALUES (6, 'dup', 6, NULL) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 7. TOAST: a large value in, an update of another column (the value is unchanged and
-- shown as such), an update of the value, a delete
INSERT INTO lh VALUES (7, 'toast', 7, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g));
UPDATE lh SET n = 77 WHERE id = 7;
UPDATE lh SET big = big || 'tail' WHERE id = 7;
DELETE FROM lh WHERE id = 7;
SELECT ld_take('heap');
INSERT INTO lg VALUES (7, 'toast', 7, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g));
UPDATE lg SET n = 77 WHERE id = 7;
UPDATE lg SET big = big || 'tail' WHERE id = 7;
DELETE FROM lg WHERE id = 7;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 8. Replica identities: FULL (with a TOASTed old value), USING INDEX, NOTHING, and
-- DEFAULT without a primary key
ALTER TABLE lh REPLICA IDENTITY FULL;
ALTER TABLE lg REPLICA IDENTITY FULL;
INSERT INTO lh VALUES (8, 'full', 8, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g));
UPDATE lh SET n = 88 WHERE id = 8;
DELETE FROM lh WHERE id = 8;
SELECT ld_take('heap');
INSERT INTO lg VALUES (8, 'full', 8, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g));
UPDATE lg SET n = 88 WHERE id = 8;
DELETE FROM lg WHERE id = 8;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

DELETE FROM lh WHERE id >= 100;
SELECT ld_take('heap');
DELETE FROM lg WHERE id >= 100;
SELECT ld_take('glassheap');
SELECT count(*) AS changes, bool_and(same_as_heap) AS all_same FROM ld_compare();
CREATE UNIQUE INDEX lh_v ON lh (v);
CREATE UNIQUE INDEX lg_v ON lg (v);
ALTER TABLE lh ALTER v SET NOT NULL, REPLICA IDENTITY USING INDEX lh_v;
ALTER TABLE lg ALTER v SET NOT NULL, REPLICA IDENTITY USING INDEX lg_v;
UPDATE lh SET n = 1 WHERE id = 3;
UPDATE lh SET v = 'renamed' WHERE id = 3;
DELETE FROM lh WHERE id = 3;
SELECT ld_take('heap');
UPDATE lg SET n = 1 WHERE id = 3;
UPDATE lg SET v = 'renamed' WHERE id = 3;
DELETE FROM lg WHERE id = 3;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

ALTER TABLE lh REPLICA IDENTITY NOTHING;
ALTER TABLE lg REPLICA IDENTITY NOTHING;
UPDATE lh SET id = 60 WHERE id = 6;
DELETE FROM lh WHERE id = 60;
SELECT ld_take('heap');
UPDATE lg SET id = 60 WHERE id = 6;
DELETE FROM lg WHERE id = 60;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

CREATE TABLE lh_nokey (a int, b text) USING heap;
CREATE TABLE lg_nokey (a int, b text) USING glassheap;
INSERT INTO lh_nokey VALUES (1, 'x');
UPDATE lh_nokey SET b = 'y';
DELETE FROM lh_nokey;
SELECT ld_take('heap');
INSERT INTO lg_nokey VALUES (1, 'x');
UPDATE lg_nokey SET b = 'y';
DELETE FROM lg_nokey;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 9. TRUNCATE (a heap record whatever the access method)
TRUNCATE lh;
SELECT ld_take('heap');
TRUNCATE lg;
SELECT ld_take('glassheap');
SELECT * FROM ld_compare();

-- 10. Two-phase: a slot that decodes at PREPARE, then COMMIT PREPARED / ROLLBACK PREPARED
SELECT 'slot' FROM pg_create_logical_replication_slot('ld2', 'test_decoding', false, true);
BEGIN;
INSERT INTO lh VALUES (9, 'prepared', 9, NULL);
PREPARE TRANSACTION 'p1';
SELECT ld_take('heap', 'ld2');
COMMIT PREPARED 'p1';
BEGIN;
INSERT INTO lh VALUES (10, 'undone', 10, NULL);
PREPARE TRANSACTION 'p2';
ROLLBACK PREPARED 'p2';
SELECT ld_take('heap', 'ld2');
BEGIN;
INSERT INTO lg VALUES (9, 'prepared', 9, NULL);
PREPARE TRANSACTION 'p1';
SELECT ld_take('glassheap', 'ld2');
COMMIT PREPARED 'p1';
BEGIN;
INSERT INTO lg VALUES (10, 'undone', 10, NULL);
PREPARE TRANSACTION 'p2';
ROLLBACK PREPARED 'p2';
SELECT ld_take('glassheap', 'ld2');
SELECT * FROM ld_compare();
SELECT 'dropped' FROM pg_drop_replication_slot('ld2');
SELECT count(*) >= 0 AS drained FROM pg_logical_slot_get_changes('ld', NULL, NULL);

-- 11. A transaction larger than logical_decoding_work_mem: spilled to disk by a plain
-- slot, streamed in blocks when the plugin streams
SET logical_decoding_work_mem = '64kB';
INSERT INTO lh SELECT g, 'big' || g, g, NULL FROM generate_series(2000, 4000) g;
SELECT ld_take('heap');
SELECT 'reset' FROM pg_stat_reset_replication_slot('ld');
INSERT INTO lg SELECT g, 'big' || g, g, NULL FROM generate_series(2000, 4000) g;
SELECT ld_take('glassheap');
SELECT count(*) AS changes, bool_and(same_as_heap) AS all_same FROM ld_compare();
SELECT pg_stat_force_next_flush();
SELECT slot_name, spill_txns > 0 AS glassheap_spilled FROM pg_stat_replication_slots WHERE slot_name = 'ld';

DELETE FROM lh WHERE id >= 2000;
SELECT ld_take('heap', 'ld', '{stream-changes,1}');
DELETE FROM lg WHERE id >= 2000;
SELECT ld_take('glassheap', 'ld', '{stream-changes,1}');
SELECT count(*) AS lines, bool_and(same_as_heap) AS all_same,
       count(*) FILTER (WHERE glassheap ~ '^opening a streamed block') > 1 AS streamed_in_blocks
FROM ld_compare();
RESET logical_decoding_work_mem;

-- 12. pg_replication_slot_advance fast-forwards over glassheap changes
INSERT INTO lg VALUES (11, 'skipped', 11, NULL);
SELECT 'advanced' FROM pg_replication_slot_advance('ld', pg_current_wal_lsn());
INSERT INTO lg VALUES (12, 'after', 12, NULL);
SELECT ld_take('glassheap');
SELECT n, glassheap FROM ld_compare();

-- 12b. Origin filtering: changes written under a replication origin (as a subscriber's
-- apply worker writes them) are left out by a plugin that wants only local changes
SELECT 'origin' FROM pg_replication_origin_create('upstream');
SELECT 'session' FROM pg_replication_origin_session_setup('upstream');
INSERT INTO lh VALUES (14, 'from upstream', 14, NULL);
SELECT 'reset' FROM pg_replication_origin_session_reset();
INSERT INTO lh VALUES (15, 'local', 15, NULL);
SELECT ld_take('heap', 'ld', '{only-local,1}');
SELECT 'session' FROM pg_replication_origin_session_setup('upstream');
INSERT INTO lg VALUES (14, 'from upstream', 14, NULL);
SELECT 'reset' FROM pg_replication_origin_session_reset();
INSERT INTO lg VALUES (15, 'local', 15, NULL);
SELECT ld_take('glassheap', 'ld', '{only-local,1}');
SELECT * FROM ld_compare();
SELECT 'dropped' FROM pg_replication_origin_drop('upstream');

-- 13. WAL at wal_level = logical: a glassheap INSERT carries its 1-byte logical part as
-- main data; UNLOGGED and TEMP tables write no WAL and decode to nothing
CREATE EXTENSION pg_walinspect;
SELECT pg_current_wal_insert_lsn() AS before \gset
INSERT INTO lg VALUES (13, 'inspected', 13, NULL);
SELECT resource_manager, record_type, main_data_length
FROM pg_get_wal_records_info(:'before', pg_current_wal_insert_lsn())
WHERE resource_manager = 'glassheap';
SELECT ld_take('glassheap');
SELECT n, glassheap FROM ld_compare();
CREATE UNLOGGED TABLE lu (a int) USING glassheap;
CREATE TEMP TABLE lt (a int) USING glassheap;
INSERT INTO lu VALUES (1);
INSERT INTO lt VALUES (1);
SELECT ld_take('glassheap');
SELECT count(*) AS changes FROM ld_compare();

-- 14. The toolkit's logical view: glassheap.trace() shows next to each record the change
-- a subscriber receives (column values with the table's descriptor); heap's and
-- glassheap's are the same
CREATE TABLE th (id int PRIMARY KEY, v text, big text) USING heap;
CREATE TABLE tg (id int PRIMARY KEY, v text, big text) USING glassheap;
CREATE TEMP TABLE views AS
  SELECT 'heap' AS am, start_lsn, record_type, logical
  FROM glassheap.trace($$INSERT INTO th VALUES (1, 'a', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g)); UPDATE th SET id = 2; UPDATE th SET v = NULL; DELETE FROM th$$)
  WHERE logical IS NOT NULL AND logical->>'relation' = 'public.th'
  UNION ALL
  SELECT 'glassheap', start_lsn, record_type, logical
  FROM glassheap.trace($$INSERT INTO tg VALUES (1, 'a', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g)); UPDATE tg SET id = 2; UPDATE tg SET v = NULL; DELETE FROM tg$$)
  WHERE logical IS NOT NULL AND logical->>'relation' = 'public.tg';
SELECT record_type, logical->'changes' AS changes FROM views WHERE am = 'glassheap' ORDER BY start_lsn;
SELECT (SELECT array_agg(logical->'changes' ORDER BY start_lsn) FROM views WHERE am = 'heap') =
       (SELECT array_agg(logical->'changes' ORDER BY start_lsn) FROM views WHERE am = 'glassheap') AS same_as_heap;
SELECT ld_take('glassheap');
DELETE FROM ld_out;

SELECT 'dropped' FROM pg_drop_replication_slot('ld');

-- 15. A record that cannot be decoded is refused with an ERROR naming its LSN, never
-- skipped: test builds write one on request (fault injection: a logical part with
-- unknown flag bits); the slot then stops at it
SELECT 'slot' FROM pg_create_logical_replication_slot('bad', 'test_decoding');
SELECT pg_current_wal_insert_lsn() AS bad_before \gset
SET glassheap.fault_injection = 'bad_logical_part';
INSERT INTO lg VALUES (16, 'undecodable', 16, NULL);
RESET glassheap.fault_injection;
SELECT set_config('ld.bad_before', :'bad_before', false) IS NOT NULL AS remembered;
DO $$
BEGIN
  PERFORM pg_logical_slot_get_changes('bad', NULL, NULL);
  RAISE WARNING 'decoded without an error';
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'refused (%): %; the LSN named is the INSERT''s: %', SQLSTATE,
    regexp_replace(SQLERRM, '[0-9A-F]+/[0-9A-F]+', 'X/Y'),
    substring(SQLERRM from '([0-9A-F]+/[0-9A-F]+)')::pg_lsn >= current_setting('ld.bad_before')::pg_lsn;
END $$;
SELECT 'dropped' FROM pg_drop_replication_slot('bad');
