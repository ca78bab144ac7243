-- glassheap.wal_records / wal_stats vs pg_walinspect over the same LSN range.
-- Nothing prints raw LSNs or xids: both sides are compared in SQL.
SET client_min_messages = warning;
-- a physical slot keeps the WAL this test reads (a checkpoint meanwhile, timed or another
-- test's, would remove the segments before its redo point)
SELECT slot_name FROM pg_create_physical_replication_slot('inspect_wal', true);

-- fillfactor leaves room on page 0, so the HOT update below is HOT whatever else runs
CREATE TABLE iw_t (k int PRIMARY KEY, v text, n int) WITH (autovacuum_enabled = off, fillfactor = 80);
CREATE TABLE iw_range (name text PRIMARY KEY, lsn pg_lsn);
INSERT INTO iw_range VALUES ('start', pg_current_wal_insert_lsn());

INSERT INTO iw_t SELECT g, 'v' || g, g FROM generate_series(1, 200) g;
UPDATE iw_t SET n = n + 1 WHERE k = 1;                 -- HOT
UPDATE iw_t SET k = k + 1000 WHERE k = 2;              -- non-HOT, key change
DELETE FROM iw_t WHERE k = 3;
SELECT k FROM iw_t WHERE k = 4 FOR UPDATE;             -- row lock
INSERT INTO iw_t VALUES (5, 'dup', 0) ON CONFLICT (k) DO UPDATE SET n = -1;
INSERT INTO iw_t VALUES (300, 'spec', 0) ON CONFLICT DO NOTHING;   -- speculative insert
BEGIN;
SAVEPOINT s1;
INSERT INTO iw_t VALUES (301, 'sub', 1);
RELEASE s1;
COMMIT;                                                -- commit with subxacts
BEGIN; INSERT INTO iw_t VALUES (302, 'gone', 1); ROLLBACK;   -- abort record
COPY iw_t FROM stdin;
400	copied	1
401	copied	2
\.
CREATE TABLE iw_trunc (a int);
TRUNCATE iw_trunc;
VACUUM (FREEZE) iw_t;
SELECT pg_switch_wal() IS NOT NULL AS switched;
INSERT INTO iw_t VALUES (500, 'after switch', 0);
INSERT INTO iw_range VALUES ('end', pg_current_wal_flush_lsn());

-- same records, same resource_manager and type, same header fields, rm_desc text and
-- block_ref text (pg_walinspect 16+ returns NULL where rm_desc writes nothing or there is
-- no block reference, wal_records an empty text)
SELECT count(*) > 30 AS enough_records,
       count(*) FILTER (WHERE g.start_lsn IS NULL OR p.start_lsn IS NULL
         OR g.resource_manager IS DISTINCT FROM p.resource_manager OR g.record_type IS DISTINCT FROM p.record_type
         OR g.end_lsn IS DISTINCT FROM p.end_lsn OR g.prev_lsn IS DISTINCT FROM p.prev_lsn
         OR g.xid IS DISTINCT FROM p.xid OR g.record_length IS DISTINCT FROM p.record_length
         OR g.main_data_length IS DISTINCT FROM p.main_data_length
         OR g.fpi_length IS DISTINCT FROM p.fpi_length
         OR g.description IS DISTINCT FROM coalesce(p.description, '')
         OR g.block_ref IS DISTINCT FROM coalesce(p.block_ref, '')) AS mismatches,
       count(*) FILTER (WHERE g.block_ref LIKE 'blkref #0: rel %') > 30 AS with_block_refs,
       count(*) FILTER (WHERE g.block_ref LIKE '%FPW%') > 0 AS with_images
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end')) g
FULL JOIN pg_get_wal_records_info((SELECT lsn FROM iw_range WHERE name = 'start'),
                                  (SELECT lsn FROM iw_range WHERE name = 'end')) p
  ON g.start_lsn = p.start_lsn;

-- the record types we expect to have seen (from our own statements)
SELECT resource_manager, record_type
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE (resource_manager, record_type) IN (('Heap', 'INSERT'), ('Heap', 'HOT_UPDATE'), ('Heap', 'UPDATE'),
  ('Heap', 'DELETE'), ('Heap', 'LOCK'), ('Heap', 'HEAP_CONFIRM'),
  ('Heap2', 'MULTI_INSERT'), ('Transaction', 'COMMIT'), ('Transaction', 'ABORT'),
  ('XLOG', 'SWITCH'), ('Btree', 'INSERT_LEAF'))
GROUP BY 1, 2 ORDER BY 1, 2;

-- every decoded record parsed; other rmgrs say so (lists offenders, expected none)
SELECT DISTINCT resource_manager, record_type, decoded ? 'error' AS error,
       resource_manager NOT IN ('Heap', 'Heap2', 'Transaction', 'XLOG', 'Btree', 'glassheap') AS other_rmgr
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE decoded ? 'error'
   OR (resource_manager NOT IN ('Heap', 'Heap2', 'Transaction', 'XLOG', 'Btree', 'glassheap')
       AND decoded IS DISTINCT FROM '{"undecoded": true}')
   OR (resource_manager IN ('Heap', 'Heap2', 'Transaction', 'XLOG', 'Btree', 'glassheap') AND NOT decoded ? 'record_type')
   OR NOT (jsonb_array_length(blocks) = 0 OR blocks -> 0 ? 'relfilenode');

-- rel filter: exactly the records with a block reference to iw_t's relfilenode
WITH node AS (
  SELECT format('rel %s/%s/%s', CASE WHEN reltablespace = 0 THEN
                  (SELECT oid FROM pg_tablespace WHERE spcname = 'pg_default') ELSE reltablespace END,
                (SELECT oid FROM pg_database WHERE datname = current_database()),
                pg_relation_filenode('iw_t')) AS tag
  FROM pg_class WHERE oid = 'iw_t'::regclass)
SELECT filtered > 200 AS enough, filtered = walinspect_with_block_ref AS same_count FROM (
SELECT (SELECT count(*) FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'), 'iw_t')) AS filtered,
       (SELECT count(*) FROM pg_get_wal_records_info((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end')), node
        WHERE block_ref ~ (tag || '( |,|$)')) AS walinspect_with_block_ref) c;

-- (the decoded fields vs each version's rm_desc text: inspect_waldesc, which needs no
-- contrib module and runs on 16 too)
-- the transaction time of every commit
SELECT count(*) > 0 AS commits, bool_and(decoded ? 'xact_time') AS xact_time
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT';

-- a commit with a subtransaction lists it
SELECT count(*) AS commits_with_subxacts
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE resource_manager = 'Transaction' AND decoded ? 'subxacts'
  AND jsonb_array_length(decoded->'subxacts') = 1 AND xid::text::bigint > 0;

-- wal_stats == pg_get_wal_stats(..., per_record => true)
SELECT count(*) > 5 AS enough_types, sum(g.count) = sum(p.count) AS same_total,
       count(*) FILTER (WHERE g.resource_manager IS NULL OR p.count IS NULL OR g.count <> p.count
         OR g.record_size <> p.record_size OR g.fpi_size <> p.fpi_size
         OR g.combined_size <> p.combined_size
         OR abs(g.count_percentage - p.count_percentage) > 1e-9
         OR abs(g.record_size_percentage - p.record_size_percentage) > 1e-9
         OR abs(g.fpi_size_percentage - p.fpi_size_percentage) > 1e-9
         OR abs(g.combined_size_percentage - p.combined_size_percentage) > 1e-9) AS mismatches
FROM glassheap.wal_stats((SELECT lsn FROM iw_range WHERE name = 'start'),
                         (SELECT lsn FROM iw_range WHERE name = 'end')) g
FULL JOIN (SELECT * FROM pg_get_wal_stats((SELECT lsn FROM iw_range WHERE name = 'start'),
                                          (SELECT lsn FROM iw_range WHERE name = 'end'), true)
           WHERE count > 0) p
  ON g.resource_manager || '/' || g.record_type = p."resource_manager/record_type";

-- default end LSN: up to the last flushed record
SELECT count(*) > 0 AS till_now
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'));


-- glassheap: its records go through the rmgr named glassheap; no Heap/Heap2 record
-- ever names a glassheap relation
CREATE TABLE iwg_t (k int PRIMARY KEY, v text, n int) USING glassheap;
INSERT INTO iw_range VALUES ('gstart', pg_current_wal_insert_lsn());
INSERT INTO iwg_t SELECT g, 'v' || g, g FROM generate_series(1, 50) g;
UPDATE iwg_t SET n = n + 1 WHERE k = 1;
DELETE FROM iwg_t WHERE k = 3;
SELECT k FROM iwg_t WHERE k = 4 FOR UPDATE;
INSERT INTO iwg_t VALUES (300, 'spec', 0) ON CONFLICT DO NOTHING;
COPY iwg_t FROM stdin;
400	copied	1
401	copied	2
\.
INSERT INTO iw_range VALUES ('gend', pg_current_wal_flush_lsn());

SELECT resource_manager, record_type, count(*) > 0 AS seen
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend'), 'iwg_t')
WHERE resource_manager <> 'Btree'
GROUP BY 1, 2 ORDER BY 1, 2;

-- the rel filter and pg_walinspect agree on glassheap records too
WITH node AS (
  SELECT format('rel %s/%s/%s', (SELECT oid FROM pg_tablespace WHERE spcname = 'pg_default'),
                (SELECT oid FROM pg_database WHERE datname = current_database()),
                pg_relation_filenode('iwg_t')) AS tag)
SELECT g.n AS filtered, g.n = p.n AS same_count FROM
  (SELECT count(*) AS n FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend'), 'iwg_t')) g,
  (SELECT count(*) AS n FROM pg_get_wal_records_info((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend')), node
   WHERE block_ref ~ (tag || '( |,|$)') AND resource_manager = 'glassheap') p;

-- decoded glassheap records: typed, no errors, offsets as in the rm_desc text
SELECT count(*) AS records, count(*) FILTER (WHERE decoded ? 'error') AS decode_errors,
       count(*) FILTER (WHERE decoded->>'record_type' IS DISTINCT FROM record_type) AS type_mismatches,
       count(*) FILTER (WHERE record_type = 'INSERT'
                        AND description NOT LIKE format('off %s %%', decoded->'block0'->>'offnum')) AS insert_offnum_mismatches
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend'))
WHERE resource_manager = 'glassheap';

-- one INSERT decoded in full (xid-free fields)
SELECT (decoded->'block0') - 'offnum' AS block0
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend'), 'iwg_t')
WHERE resource_manager = 'glassheap' AND record_type = 'INSERT' LIMIT 1;

-- errors (terse: the details name LSNs)
\set VERBOSITY terse
SELECT * FROM glassheap.wal_records('FFFFFFFF/0');
SELECT * FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'), 'FFFFFFFF/0');
SELECT * FROM glassheap.wal_stats('FFFFFFFF/0');
SELECT * FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'end'),
                                    (SELECT lsn FROM iw_range WHERE name = 'start'));
SELECT * FROM glassheap.wal_records('0/10');
CREATE VIEW iw_view AS SELECT 1 AS one;
SELECT * FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'), NULL, 'iw_view');
\set VERBOSITY default

-- The logical view at wal_level = replica: logical decoding would make nothing of a row
-- change, on either access method (the relation is not logically logged); records that
-- change no row have none
CREATE TABLE iw_lh (id int PRIMARY KEY) USING heap;
CREATE TABLE iw_lg (id int PRIMARY KEY) USING glassheap;
SELECT resource_manager, record_type, logical FROM glassheap.trace('INSERT INTO iw_lh VALUES (1)')
WHERE resource_manager IN ('Heap', 'Btree') AND mine;
SELECT resource_manager, record_type, logical FROM glassheap.trace('INSERT INTO iw_lg VALUES (1)')
WHERE resource_manager IN ('glassheap', 'Btree') AND mine;

-- wal_stats per relation: each record counted under the relation of its first block
-- reference, named with its role (index of, TOAST of); the same totals as per type
CREATE TABLE iw_rel (id int PRIMARY KEY, big text) USING glassheap;
INSERT INTO iw_range VALUES ('rel_start', pg_current_wal_insert_lsn());
INSERT INTO iw_rel SELECT g, CASE WHEN g = 1 THEN (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i) END
FROM generate_series(1, 10) g;
UPDATE iw_rel SET big = 'small' WHERE id = 2;
INSERT INTO iw_range VALUES ('rel_end', pg_current_wal_insert_lsn());
SELECT regexp_replace(relation, '\d+', 'N', 'g') AS relation, resource_manager, record_type, count
FROM glassheap.wal_stats((SELECT lsn FROM iw_range WHERE name = 'rel_start'),
                         (SELECT lsn FROM iw_range WHERE name = 'rel_end'), per_relation => true)
WHERE relation ~ 'iw_rel' ORDER BY 1, 2, 3;
SELECT (SELECT sum(count) FROM glassheap.wal_stats(r.s, r.e, per_relation => true)) =
       (SELECT sum(count) FROM glassheap.wal_stats(r.s, r.e)) AS same_total,
       (SELECT count(*) FROM glassheap.wal_stats(r.s, r.e) WHERE relation IS NOT NULL) AS relation_without_per_relation
FROM (SELECT (SELECT lsn FROM iw_range WHERE name = 'rel_start') s, (SELECT lsn FROM iw_range WHERE name = 'rel_end') e) r;

SELECT pg_drop_replication_slot('inspect_wal');
