-- glassheap.wal_records / wal_stats vs pg_walinspect over the same LSN range.
-- Nothing prints raw LSNs or xids: both sides are compared in SQL.
SET client_min_messages = warning;

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

-- same records, same rmgr and type, same header fields and rm_desc text (pg_walinspect
-- 16+ returns NULL where rm_desc writes nothing, wal_records an empty text)
SELECT count(*) > 30 AS enough_records,
       count(*) FILTER (WHERE g.start_lsn IS NULL OR p.start_lsn IS NULL
         OR g.rmgr IS DISTINCT FROM p.resource_manager OR g.record_type IS DISTINCT FROM p.record_type
         OR g.end_lsn IS DISTINCT FROM p.end_lsn OR g.prev_lsn IS DISTINCT FROM p.prev_lsn
         OR g.xid IS DISTINCT FROM p.xid OR g.record_length IS DISTINCT FROM p.record_length
         OR g.main_data_length IS DISTINCT FROM p.main_data_length
         OR g.fpi_length IS DISTINCT FROM p.fpi_length
         OR g.description IS DISTINCT FROM coalesce(p.description, '')) AS mismatches
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end')) g
FULL JOIN pg_get_wal_records_info((SELECT lsn FROM iw_range WHERE name = 'start'),
                                  (SELECT lsn FROM iw_range WHERE name = 'end')) p
  ON g.start_lsn = p.start_lsn;

-- the record types we expect to have seen (from our own statements)
SELECT rmgr, record_type
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE (rmgr, record_type) IN (('Heap', 'INSERT'), ('Heap', 'HOT_UPDATE'), ('Heap', 'UPDATE'),
  ('Heap', 'DELETE'), ('Heap', 'LOCK'), ('Heap', 'HEAP_CONFIRM'),
  ('Heap2', 'MULTI_INSERT'), ('Transaction', 'COMMIT'), ('Transaction', 'ABORT'),
  ('XLOG', 'SWITCH'), ('Btree', 'INSERT_LEAF'))
GROUP BY 1, 2 ORDER BY 1, 2;

-- every decoded record parsed; other rmgrs say so (lists offenders, expected none)
SELECT DISTINCT rmgr, record_type, decoded ? 'error' AS error,
       rmgr NOT IN ('Heap', 'Heap2', 'Transaction', 'XLOG', 'Btree', 'glassheap') AS other_rmgr
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE decoded ? 'error'
   OR (rmgr NOT IN ('Heap', 'Heap2', 'Transaction', 'XLOG', 'Btree', 'glassheap')
       AND decoded IS DISTINCT FROM '{"undecoded": true}')
   OR (rmgr IN ('Heap', 'Heap2', 'Transaction', 'XLOG', 'Btree', 'glassheap') AND NOT decoded ? 'record_type')
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

-- decoded fields agree with the rmgr's own rm_desc text, in the server version's
-- formats: the decoders read each version's record layouts (crates/format/src/waldecode)
CREATE FUNCTION pg_temp.iw_list(a jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(e, ', ' ORDER BY o), '') FROM jsonb_array_elements_text(a) WITH ORDINALITY AS x(e, o) $$;
-- What each version's rm_desc prints for a record, rebuilt from the decoded fields: a
-- LIKE pattern (% where the text has parts not decoded here, e.g. infobits names),
-- NULL for the record types not checked. Formats: heapdesc.c / nbtdesc.c /
-- xlogdesc.c of the server's version (16 rewrote most of them).
CREATE FUNCTION pg_temp.iw_desc(rmgr text, rt text, d jsonb) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  v int := current_setting('server_version_num')::int / 10000;
  b jsonb := d->'block0';
  hex text := lpad(upper(to_hex((d->>'flags')::int)), 2, '0');
BEGIN
  IF rmgr = 'Heap' AND rt IN ('INSERT', 'INSERT+INIT') THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %s flags 0x%s' ELSE 'off: %s, flags: 0x%s' END, d->>'offnum', hex);
  ELSIF rmgr = 'Heap' AND rt = 'DELETE' THEN
    RETURN CASE WHEN v < 16 THEN format('off %s flags 0x%s %%', d->>'offnum', hex)
      ELSE format('xmax: %s, off: %s, infobits: [%%], flags: 0x%s', d->>'xmax', d->>'offnum', hex) END;
  ELSIF rmgr = 'Heap' AND rt IN ('UPDATE', 'HOT_UPDATE', 'UPDATE+INIT', 'HOT_UPDATE+INIT') THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %2$s xmax %1$s flags 0x%3$s %%; new off %5$s xmax %4$s'
      ELSE 'old_xmax: %s, old_off: %s, old_infobits: [%%], flags: 0x%s, new_xmax: %s, new_off: %s' END,
      d->>'old_xmax', d->>'old_offnum', hex, d->>'new_xmax', d->>'new_offnum');
  ELSIF rmgr = 'Heap' AND rt = 'LOCK' THEN
    RETURN CASE WHEN v < 16 THEN format('off %s: xid %s: flags 0x%s %%', d->>'offnum', d->>'locking_xid', hex)
      ELSE format('xmax: %s, off: %s, infobits: [%%], flags: 0x%s', d->>'xmax', d->>'offnum', hex) END;
  ELSIF rmgr = 'Heap' AND rt IN ('HEAP_CONFIRM', 'INPLACE') THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %s' WHEN rt = 'INPLACE' AND v >= 18 THEN 'off: %s%%' ELSE 'off: %s' END, d->>'offnum');
  ELSIF rmgr = 'Heap2' AND rt IN ('MULTI_INSERT', 'MULTI_INSERT+INIT') THEN
    RETURN CASE WHEN v < 16 THEN format('%s tuples flags 0x%s', d->>'ntuples', hex)
      ELSE format('ntuples: %s, flags: 0x%s', d->>'ntuples', hex)
        || CASE WHEN b ? 'tuples' AND d ? 'offsets' THEN ', offsets: [' || pg_temp.iw_list(d->'offsets') || ']' ELSE '' END END;
  ELSIF rmgr = 'Heap2' AND rt = 'VISIBLE' THEN
    RETURN CASE WHEN v < 16 THEN format('cutoff xid %s flags 0x%s', d->>'cutoff_xid', hex)
      ELSE format('snapshotConflictHorizon: %s, flags: 0x%s', d->>'snapshot_conflict_horizon', hex) END;
  ELSIF rmgr = 'Heap2' AND rt = 'PRUNE' THEN
    RETURN CASE WHEN v < 16 THEN format('latestRemovedXid %s nredirected %s ndead %s', d->>'latest_removed_xid', d->>'nredirected', d->>'ndead')
      ELSE format('snapshotConflictHorizon: %s, nredirected: %s, ndead: %s%%', d->>'snapshot_conflict_horizon', d->>'nredirected', d->>'ndead') END;
  ELSIF rmgr = 'Heap2' AND rt = 'VACUUM' THEN
    RETURN format(CASE WHEN v < 16 THEN 'nunused %s' ELSE 'nunused: %s%%' END, d->>'nunused');
  ELSIF rmgr = 'Heap2' AND rt = 'FREEZE_PAGE' THEN
    RETURN CASE WHEN v < 16 THEN format('cutoff xid %s ntuples %s', d->>'cutoff_xid', d->>'ntuples')
      ELSE format('snapshotConflictHorizon: %s, nplans: %s%%', d->>'snapshot_conflict_horizon', d->>'nplans') END;
  ELSIF rmgr = 'Heap2' AND rt LIKE 'PRUNE\_%' THEN
    -- 17+: everything, the freeze plans and their offsets included
    RETURN coalesce('snapshotConflictHorizon: ' || (d->>'snapshot_conflict_horizon'), '')
      || ', isCatalogRel: ' || CASE WHEN d->'flag_names' ? 'XLHP_IS_CATALOG_REL' THEN 'T' ELSE 'F' END
      || CASE WHEN NOT b ? 'nplans' THEN '' ELSE
           format(', nplans: %s, nredirected: %s, ndead: %s, nunused: %s', b->>'nplans', b->>'nredirected', b->>'ndead', b->>'nunused')
           || CASE WHEN (b->>'nplans')::int = 0 THEN '' ELSE ', plans: [' ||
                (SELECT string_agg(format('{ xmax: %s, infomask: %s, infomask2: %s, ntuples: %s, offsets: [%s] }',
                   p->>'xmax', p->>'t_infomask', p->>'t_infomask2', p->>'ntuples', pg_temp.iw_list(p->'offsets')), ', ' ORDER BY o)
                 FROM jsonb_array_elements(b->'plans') WITH ORDINALITY AS x(p, o)) || ']' END
           || CASE WHEN (b->>'nredirected')::int = 0 THEN '' ELSE ', redirected: [' ||
                (SELECT string_agg((r->>0) || '->' || (r->>1), ', ' ORDER BY o)
                 FROM jsonb_array_elements(b->'redirected') WITH ORDINALITY AS x(r, o)) || ']' END
           || CASE WHEN (b->>'ndead')::int = 0 THEN '' ELSE ', dead: [' || pg_temp.iw_list(b->'dead') || ']' END
           || CASE WHEN (b->>'nunused')::int = 0 THEN '' ELSE ', unused: [' || pg_temp.iw_list(b->'unused') || ']' END
         END;
  ELSIF rmgr = 'Btree' AND rt LIKE 'INSERT\_%' THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %s' ELSE 'off: %s' END, d->>'offnum');
  ELSIF rmgr = 'Btree' AND rt IN ('SPLIT_L', 'SPLIT_R') THEN
    RETURN format(CASE WHEN v < 16 THEN 'level %s, firstrightoff %s, newitemoff %s, postingoff %s'
      ELSE 'level: %s, firstrightoff: %s, newitemoff: %s, postingoff: %s' END,
      d->>'level', d->>'firstrightoff', d->>'newitemoff', d->>'postingoff');
  ELSIF rmgr = 'Btree' AND rt = 'NEWROOT' THEN
    RETURN format(CASE WHEN v < 16 THEN 'lev %s' ELSE 'level: %s' END, d->>'level');
  ELSIF rmgr = 'Btree' AND rt = 'DEDUP' THEN
    RETURN format(CASE WHEN v < 16 THEN 'nintervals %s' ELSE 'nintervals: %s' END, d->>'nintervals');
  ELSIF rmgr = 'Btree' AND rt IN ('VACUUM', 'DELETE') THEN
    RETURN CASE WHEN v < 16 THEN
        CASE WHEN rt = 'DELETE' THEN format('latestRemovedXid %s; ', d->>'latest_removed_xid') ELSE '' END
        || format('ndeleted %s; nupdated %s', d->>'ndeleted', d->>'nupdated')
      ELSE
        CASE WHEN rt = 'DELETE' THEN format('snapshotConflictHorizon: %s, ', d->>'snapshot_conflict_horizon') ELSE '' END
        || format('ndeleted: %s, nupdated: %s', d->>'ndeleted', d->>'nupdated')
        || CASE WHEN rt = 'DELETE' AND v >= 18 THEN format(', isCatalogRel: %s', CASE WHEN (d->>'is_catalog_rel')::bool THEN 'T' ELSE 'F' END)
                WHEN rt = 'DELETE' THEN '%' ELSE '' END
        || CASE WHEN b ? 'deleted' THEN ', deleted: [' || pg_temp.iw_list(b->'deleted') || '], updated: [%]' ELSE '' END
      END;
  ELSIF rmgr = 'XLOG' AND rt IN ('CHECKPOINT_ONLINE', 'CHECKPOINT_SHUTDOWN') THEN
    RETURN format('redo %s; tli %s; prev tli %s; fpw %s; ', d->>'redo', d->>'this_time_line_id', d->>'prev_time_line_id', d->>'full_page_writes')
      || CASE WHEN v >= 17 THEN format('wal_level %s; ', d->>'wal_level_name') ELSE '' END
      || format('xid %s; oid %s; multi %s; offset %s; oldest xid %s in DB %s; oldest multi %s in DB %s; oldest/newest commit timestamp xid: %s/%s; oldest running xid %s; %s',
           d->>'next_xid_text', d->>'next_oid', d->>'next_multi', d->>'next_multi_offset', d->>'oldest_xid', d->>'oldest_xid_db',
           d->>'oldest_multi', d->>'oldest_multi_db', d->>'oldest_commit_ts_xid', d->>'newest_commit_ts_xid', d->>'oldest_active_xid',
           CASE rt WHEN 'CHECKPOINT_ONLINE' THEN 'online' ELSE 'shutdown' END);
  ELSIF rmgr = 'XLOG' AND rt = 'CHECKPOINT_REDO' THEN
    RETURN format('wal_level %s', d->>'wal_level_name');
  ELSIF rmgr = 'XLOG' AND rt = 'NEXTOID' THEN
    RETURN d->>'next_oid';
  END IF;
  RETURN NULL;
END $f$;

SELECT count(*) > 200 AS checked, count(DISTINCT (rmgr, record_type)) >= 10 AS kinds,
       count(*) FILTER (WHERE description NOT LIKE pattern
                        OR (rmgr IN ('Heap', 'Heap2', 'Btree', 'XLOG') AND decoded->>'record_type' <> record_type)) AS mismatches
FROM (SELECT *, pg_temp.iw_desc(rmgr, record_type, decoded) AS pattern
      FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                                 (SELECT lsn FROM iw_range WHERE name = 'end'))) x
WHERE pattern IS NOT NULL;

-- VACUUM's prune record (for the rolled-back row at least, removable whatever the
-- horizon) was among them: PRUNE on 15 and 16, PRUNE_VACUUM_SCAN from 17. Its FREEZE_PAGE
-- / VISIBLE records are checked above when VACUUM (FREEZE) could write them (a
-- concurrent test's prepared transaction may hold the horizon back).
SELECT count(*) > 0 AS prune_checked
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE rmgr = 'Heap2' AND record_type IN ('PRUNE', 'PRUNE_VACUUM_SCAN')
  AND pg_temp.iw_desc(rmgr, record_type, decoded) IS NOT NULL;

-- the transaction time of every commit
SELECT count(*) > 0 AS commits, bool_and(decoded ? 'xact_time') AS xact_time
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE rmgr = 'Transaction' AND record_type = 'COMMIT';

-- a commit with a subtransaction lists it
SELECT count(*) AS commits_with_subxacts
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'start'),
                           (SELECT lsn FROM iw_range WHERE name = 'end'))
WHERE rmgr = 'Transaction' AND decoded ? 'subxacts'
  AND jsonb_array_length(decoded->'subxacts') = 1 AND xid::text::bigint > 0;

-- wal_stats == pg_get_wal_stats(..., per_record => true)
SELECT count(*) > 5 AS enough_types, sum(g.count) = sum(p.count) AS same_total,
       count(*) FILTER (WHERE g.rmgr IS NULL OR p.count IS NULL OR g.count <> p.count
         OR g.record_size <> p.record_size OR g.fpi_size <> p.fpi_size
         OR g.combined_size <> p.combined_size
         OR abs(g.count_percent - p.count_percentage) > 1e-9
         OR abs(g.record_size_percent - p.record_size_percentage) > 1e-9
         OR abs(g.fpi_size_percent - p.fpi_size_percentage) > 1e-9
         OR abs(g.combined_size_percent - p.combined_size_percentage) > 1e-9) AS mismatches
FROM glassheap.wal_stats((SELECT lsn FROM iw_range WHERE name = 'start'),
                         (SELECT lsn FROM iw_range WHERE name = 'end')) g
FULL JOIN (SELECT * FROM pg_get_wal_stats((SELECT lsn FROM iw_range WHERE name = 'start'),
                                          (SELECT lsn FROM iw_range WHERE name = 'end'), true)
           WHERE count > 0) p
  ON g.rmgr || '/' || g.record_type = p."resource_manager/record_type";

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

SELECT rmgr, record_type, count(*) > 0 AS seen
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend'), 'iwg_t')
WHERE rmgr <> 'Btree'
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
WHERE rmgr = 'glassheap';

-- one INSERT decoded in full (xid-free fields)
SELECT (decoded->'block0') - 'offnum' AS block0
FROM glassheap.wal_records((SELECT lsn FROM iw_range WHERE name = 'gstart'),
                           (SELECT lsn FROM iw_range WHERE name = 'gend'), 'iwg_t')
WHERE rmgr = 'glassheap' AND record_type = 'INSERT' LIMIT 1;

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
SELECT rmgr, record_type, logical FROM glassheap.trace('INSERT INTO iw_lh VALUES (1)')
WHERE rmgr IN ('Heap', 'Btree');
SELECT rmgr, record_type, logical FROM glassheap.trace('INSERT INTO iw_lg VALUES (1)')
WHERE rmgr IN ('glassheap', 'Btree');

-- wal_stats per relation: each record counted under the relation of its first block
-- reference, named with its role (index of, TOAST of); the same totals as per type
CREATE TABLE iw_rel (id int PRIMARY KEY, big text) USING glassheap;
INSERT INTO iw_range VALUES ('rel_start', pg_current_wal_insert_lsn());
INSERT INTO iw_rel SELECT g, CASE WHEN g = 1 THEN (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i) END
FROM generate_series(1, 10) g;
UPDATE iw_rel SET big = 'small' WHERE id = 2;
INSERT INTO iw_range VALUES ('rel_end', pg_current_wal_insert_lsn());
SELECT regexp_replace(relation, '\d+', 'N', 'g') AS relation, rmgr, record_type, count
FROM glassheap.wal_stats((SELECT lsn FROM iw_range WHERE name = 'rel_start'),
                         (SELECT lsn FROM iw_range WHERE name = 'rel_end'), per_relation => true)
WHERE relation ~ 'iw_rel' ORDER BY 1, 2, 3;
SELECT (SELECT sum(count) FROM glassheap.wal_stats(r.s, r.e, per_relation => true)) =
       (SELECT sum(count) FROM glassheap.wal_stats(r.s, r.e)) AS same_total,
       (SELECT count(*) FROM glassheap.wal_stats(r.s, r.e) WHERE relation IS NOT NULL) AS relation_without_per_relation
FROM (SELECT (SELECT lsn FROM iw_range WHERE name = 'rel_start') s, (SELECT lsn FROM iw_range WHERE name = 'rel_end') e) r;
