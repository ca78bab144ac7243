-- glassheap.wal_records' decoded fields vs the server's own rm_desc text, for the
-- PostgreSQL records (Heap, Heap2, Btree, XLOG) of a mixed workload: the decoders read
-- the server version's record layouts (crates/format/src/waldecode), and the function
-- below rebuilds what that version's rm_desc prints from them. Needs no contrib module.
SET client_min_messages = warning;

-- a physical slot keeps the WAL this test reads: its CHECKPOINT would otherwise remove
-- the segments before its redo point
SELECT slot_name FROM pg_create_physical_replication_slot('inspect_waldesc', true);
CREATE TABLE wd_range (name text PRIMARY KEY, lsn pg_lsn);
CREATE TABLE wd_t (k int PRIMARY KEY, v text, n int) WITH (autovacuum_enabled = off, fillfactor = 80);
CREATE TABLE wd_big (a int, b text) WITH (autovacuum_enabled = off);
CREATE INDEX wd_big_a ON wd_big (a);
INSERT INTO wd_range VALUES ('start', pg_current_wal_insert_lsn());
INSERT INTO wd_t SELECT g, 'v' || g, g FROM generate_series(1, 200) g;
UPDATE wd_t SET n = n + 1 WHERE k = 1;                 -- HOT
UPDATE wd_t SET k = k + 1000 WHERE k = 2;              -- non-HOT
DELETE FROM wd_t WHERE k = 3;
SELECT k FROM wd_t WHERE k = 4 FOR UPDATE;             -- row lock
INSERT INTO wd_t VALUES (5, 'dup', 0) ON CONFLICT (k) DO UPDATE SET n = -1;
INSERT INTO wd_t VALUES (300, 'spec', 0) ON CONFLICT DO NOTHING;
BEGIN; INSERT INTO wd_t VALUES (302, 'gone', 1); ROLLBACK;
COPY wd_t FROM stdin;
400	copied	1
401	copied	2
\.
-- btree splits, index entries removed by VACUUM, heap pruning and freezing
INSERT INTO wd_big SELECT g, repeat('b', 40) FROM generate_series(1, 3000) g;
DELETE FROM wd_big WHERE a % 3 = 0;
UPDATE wd_big SET b = 'u' WHERE a % 7 = 0;
VACUUM wd_big;
VACUUM (FREEZE) wd_t;
CHECKPOINT;
INSERT INTO wd_range VALUES ('end', pg_current_wal_insert_lsn());

-- decoded fields agree with the rmgr's own rm_desc text, in the server version's
-- formats: the decoders read each version's record layouts (crates/format/src/waldecode)
CREATE FUNCTION pg_temp.iw_list(a jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg(e, ', ' ORDER BY o), '') FROM jsonb_array_elements_text(a) WITH ORDINALITY AS x(e, o) $$;
-- heapdesc.c's (16+) freeze plans and redirections
CREATE FUNCTION pg_temp.iw_plans(a jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT string_agg(format('{ xmax: %s, infomask: %s, infomask2: %s, ntuples: %s, offsets: [%s] }',
     p->>'xmax', p->>'t_infomask', p->>'t_infomask2', p->>'ntuples', pg_temp.iw_list(p->'offsets')), ', ' ORDER BY o)
   FROM jsonb_array_elements(a) WITH ORDINALITY AS x(p, o) $$;
CREATE FUNCTION pg_temp.iw_pairs(a jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT coalesce(string_agg((r->>0) || '->' || (r->>1), ', ' ORDER BY o), '')
   FROM jsonb_array_elements(a) WITH ORDINALITY AS x(r, o) $$;
-- What each version's rm_desc prints for a record, rebuilt from the decoded fields: a
-- LIKE pattern (% where the text has parts not decoded here, e.g. infobits names),
-- NULL for the record types not checked. Formats: heapdesc.c / nbtdesc.c /
-- xlogdesc.c of the server's version (16 rewrote most of them).
CREATE FUNCTION pg_temp.iw_desc(resource_manager text, rt text, d jsonb) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  v int := current_setting('server_version_num')::int / 10000;
  b jsonb := d->'block0';
  hex text := lpad(upper(to_hex((d->>'flags')::int)), 2, '0');
BEGIN
  IF resource_manager = 'Heap' AND rt IN ('INSERT', 'INSERT+INIT') THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %s flags 0x%s' ELSE 'off: %s, flags: 0x%s' END, d->>'offnum', hex);
  ELSIF resource_manager = 'Heap' AND rt = 'DELETE' THEN
    RETURN CASE WHEN v < 16 THEN format('off %s flags 0x%s %%', d->>'offnum', hex)
      ELSE format('xmax: %s, off: %s, infobits: [%%], flags: 0x%s', d->>'xmax', d->>'offnum', hex) END;
  ELSIF resource_manager = 'Heap' AND rt IN ('UPDATE', 'HOT_UPDATE', 'UPDATE+INIT', 'HOT_UPDATE+INIT') THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %2$s xmax %1$s flags 0x%3$s %%; new off %5$s xmax %4$s'
      ELSE 'old_xmax: %s, old_off: %s, old_infobits: [%%], flags: 0x%s, new_xmax: %s, new_off: %s' END,
      d->>'old_xmax', d->>'old_offnum', hex, d->>'new_xmax', d->>'new_offnum');
  ELSIF resource_manager = 'Heap' AND rt = 'LOCK' THEN
    RETURN CASE WHEN v < 16 THEN format('off %s: xid %s: flags 0x%s %%', d->>'offnum', d->>'locking_xid', hex)
      ELSE format('xmax: %s, off: %s, infobits: [%%], flags: 0x%s', d->>'xmax', d->>'offnum', hex) END;
  ELSIF resource_manager = 'Heap' AND rt IN ('HEAP_CONFIRM', 'INPLACE') THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %s' WHEN rt = 'INPLACE' AND v >= 18 THEN 'off: %s%%' ELSE 'off: %s' END, d->>'offnum');
  ELSIF resource_manager = 'Heap2' AND rt IN ('MULTI_INSERT', 'MULTI_INSERT+INIT') THEN
    RETURN CASE WHEN v < 16 THEN format('%s tuples flags 0x%s', d->>'ntuples', hex)
      ELSE format('ntuples: %s, flags: 0x%s', d->>'ntuples', hex)
        || CASE WHEN b ? 'tuples' AND d ? 'offsets' THEN ', offsets: [' || pg_temp.iw_list(d->'offsets') || ']' ELSE '' END END;
  ELSIF resource_manager = 'Heap2' AND rt = 'VISIBLE' THEN
    RETURN CASE WHEN v < 16 THEN format('cutoff xid %s flags 0x%s', d->>'cutoff_xid', hex)
      ELSE format('snapshotConflictHorizon: %s, flags: 0x%s', d->>'snapshot_conflict_horizon', hex) END;
  ELSIF resource_manager = 'Heap2' AND rt = 'PRUNE' THEN
    RETURN CASE WHEN v < 16 THEN format('latestRemovedXid %s nredirected %s ndead %s', d->>'latest_removed_xid', d->>'nredirected', d->>'ndead')
      ELSE format('snapshotConflictHorizon: %s, nredirected: %s, ndead: %s', d->>'snapshot_conflict_horizon', d->>'nredirected', d->>'ndead')
        || CASE WHEN b ? 'unused' THEN format(', nunused: %s, redirected: [%s], dead: [%s], unused: [%s]', b->>'nunused',
             pg_temp.iw_pairs(b->'redirected'), pg_temp.iw_list(b->'dead'), pg_temp.iw_list(b->'unused')) ELSE '' END END;
  ELSIF resource_manager = 'Heap2' AND rt = 'VACUUM' THEN
    RETURN CASE WHEN v < 16 THEN format('nunused %s', d->>'nunused')
      ELSE format('nunused: %s', d->>'nunused')
        || CASE WHEN b ? 'unused' THEN format(', unused: [%s]', pg_temp.iw_list(b->'unused')) ELSE '' END END;
  ELSIF resource_manager = 'Heap2' AND rt = 'FREEZE_PAGE' THEN
    RETURN CASE WHEN v < 16 THEN format('cutoff xid %s ntuples %s', d->>'cutoff_xid', d->>'ntuples')
      ELSE format('snapshotConflictHorizon: %s, nplans: %s', d->>'snapshot_conflict_horizon', d->>'nplans')
        || CASE WHEN b ? 'plans' THEN format(', plans: [%s]', pg_temp.iw_plans(b->'plans')) ELSE '' END END;
  ELSIF resource_manager = 'Heap2' AND rt LIKE 'PRUNE\_%' THEN
    -- 17+: everything, the freeze plans and their offsets included (16's PRUNE,
    -- VACUUM and FREEZE_PAGE above likewise)
    RETURN coalesce('snapshotConflictHorizon: ' || (d->>'snapshot_conflict_horizon'), '')
      || ', isCatalogRel: ' || CASE WHEN d->'flag_names' ? 'XLHP_IS_CATALOG_REL' THEN 'T' ELSE 'F' END
      || CASE WHEN NOT b ? 'nplans' THEN '' ELSE
           format(', nplans: %s, nredirected: %s, ndead: %s, nunused: %s', b->>'nplans', b->>'nredirected', b->>'ndead', b->>'nunused')
           || CASE WHEN (b->>'nplans')::int = 0 THEN '' ELSE ', plans: [' || pg_temp.iw_plans(b->'plans') || ']' END
           || CASE WHEN (b->>'nredirected')::int = 0 THEN '' ELSE ', redirected: [' || pg_temp.iw_pairs(b->'redirected') || ']' END
           || CASE WHEN (b->>'ndead')::int = 0 THEN '' ELSE ', dead: [' || pg_temp.iw_list(b->'dead') || ']' END
           || CASE WHEN (b->>'nunused')::int = 0 THEN '' ELSE ', unused: [' || pg_temp.iw_list(b->'unused') || ']' END
         END;
  ELSIF resource_manager = 'Btree' AND rt LIKE 'INSERT\_%' THEN
    RETURN format(CASE WHEN v < 16 THEN 'off %s' ELSE 'off: %s' END, d->>'offnum');
  ELSIF resource_manager = 'Btree' AND rt IN ('SPLIT_L', 'SPLIT_R') THEN
    RETURN format(CASE WHEN v < 16 THEN 'level %s, firstrightoff %s, newitemoff %s, postingoff %s'
      ELSE 'level: %s, firstrightoff: %s, newitemoff: %s, postingoff: %s' END,
      d->>'level', d->>'firstrightoff', d->>'newitemoff', d->>'postingoff');
  ELSIF resource_manager = 'Btree' AND rt = 'NEWROOT' THEN
    RETURN format(CASE WHEN v < 16 THEN 'lev %s' ELSE 'level: %s' END, d->>'level');
  ELSIF resource_manager = 'Btree' AND rt = 'DEDUP' THEN
    RETURN format(CASE WHEN v < 16 THEN 'nintervals %s' ELSE 'nintervals: %s' END, d->>'nintervals');
  ELSIF resource_manager = 'Btree' AND rt IN ('VACUUM', 'DELETE') THEN
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
  ELSIF resource_manager = 'XLOG' AND rt IN ('CHECKPOINT_ONLINE', 'CHECKPOINT_SHUTDOWN') THEN
    RETURN format('redo %s; tli %s; prev tli %s; fpw %s; ', d->>'redo', d->>'this_time_line_id', d->>'prev_time_line_id', d->>'full_page_writes')
      || CASE WHEN v >= 17 THEN format('wal_level %s; ', d->>'wal_level_name') ELSE '' END
      || format('xid %s; oid %s; multi %s; offset %s; oldest xid %s in DB %s; oldest multi %s in DB %s; oldest/newest commit timestamp xid: %s/%s; oldest running xid %s; %s',
           d->>'next_xid_text', d->>'next_oid', d->>'next_multi', d->>'next_multi_offset', d->>'oldest_xid', d->>'oldest_xid_db',
           d->>'oldest_multi', d->>'oldest_multi_db', d->>'oldest_commit_ts_xid', d->>'newest_commit_ts_xid', d->>'oldest_active_xid',
           CASE rt WHEN 'CHECKPOINT_ONLINE' THEN 'online' ELSE 'shutdown' END);
  ELSIF resource_manager = 'XLOG' AND rt = 'CHECKPOINT_REDO' THEN
    RETURN format('wal_level %s', d->>'wal_level_name');
  ELSIF resource_manager = 'XLOG' AND rt = 'NEXTOID' THEN
    RETURN d->>'next_oid';
  END IF;
  RETURN NULL;
END $f$;

SELECT count(*) > 200 AS checked, count(DISTINCT (resource_manager, record_type)) >= 10 AS kinds,
       count(*) FILTER (WHERE description NOT LIKE pattern
                        OR (resource_manager IN ('Heap', 'Heap2', 'Btree', 'XLOG') AND decoded->>'record_type' <> record_type)) AS mismatches
FROM (SELECT *, pg_temp.iw_desc(resource_manager, record_type, decoded) AS pattern
      FROM glassheap.wal_records((SELECT lsn FROM wd_range WHERE name = 'start'),
                                 (SELECT lsn FROM wd_range WHERE name = 'end'))) x
WHERE pattern IS NOT NULL;


-- the record kinds checked include what VACUUM wrote (this test runs alone: nothing holds
-- the removal horizon back): prune and freeze records (15 and 16: PRUNE, FREEZE_PAGE; 17+:
-- PRUNE_VACUUM_SCAN, with freeze plans), VISIBLE, btree VACUUM; and splits, checkpoints
SELECT count(*) FILTER (WHERE resource_manager = 'Heap2' AND record_type IN ('PRUNE', 'PRUNE_VACUUM_SCAN')) > 0 AS prune_checked,
       count(*) FILTER (WHERE resource_manager = 'Heap2' AND (record_type = 'FREEZE_PAGE'
                        OR (decoded->'block0'->>'nplans')::int > 0)) > 0 AS freeze_checked,
       count(*) FILTER (WHERE resource_manager = 'Heap2' AND record_type = 'VISIBLE') > 0 AS visible_checked,
       count(*) FILTER (WHERE resource_manager = 'Btree' AND record_type = 'VACUUM') > 0 AS btree_vacuum_checked,
       count(*) FILTER (WHERE resource_manager = 'Btree' AND record_type IN ('SPLIT_L', 'SPLIT_R')) > 0 AS split_checked,
       count(*) FILTER (WHERE resource_manager = 'XLOG' AND record_type LIKE 'CHECKPOINT%') > 0 AS checkpoint_checked
FROM glassheap.wal_records((SELECT lsn FROM wd_range WHERE name = 'start'),
                           (SELECT lsn FROM wd_range WHERE name = 'end'))
WHERE pg_temp.iw_desc(resource_manager, record_type, decoded) IS NOT NULL;

-- offenders, if any (expected none)
SELECT resource_manager, record_type, description, decoded
FROM (SELECT *, pg_temp.iw_desc(resource_manager, record_type, decoded) AS pattern
      FROM glassheap.wal_records((SELECT lsn FROM wd_range WHERE name = 'start'),
                                 (SELECT lsn FROM wd_range WHERE name = 'end'))) x
WHERE pattern IS NOT NULL AND description NOT LIKE pattern
LIMIT 5;

SELECT pg_drop_replication_slot('inspect_waldesc');
