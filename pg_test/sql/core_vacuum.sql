-- VACUUM on glassheap, next to a heap twin: dead versions and their index entries are
-- removed, the space is reused, empty trailing pages are truncated, old xids are frozen
-- and relfrozenxid advances. Runs alone in its schedule line so no other session holds
-- the xmin horizon back.
CREATE FUNCTION lp_census(rel regclass) RETURNS TABLE (state text, n bigint)
LANGUAGE sql AS $$
  SELECT i.lp_flags, count(*)
  FROM generate_series(0, pg_relation_size(rel) / 8192 - 1) b,
       LATERAL glassheap.page_items(rel, b) i
  GROUP BY 1 ORDER BY 1 $$;

SELECT twin_tables('vac', 'a int PRIMARY KEY, b text, c int');
SELECT twin($$INSERT INTO @@vac SELECT g, repeat('v', g % 50), g FROM generate_series(1, 5000) g$$);
SELECT twin('CREATE INDEX ON @@vac (c)');
SELECT twin('DELETE FROM @@vac WHERE a % 3 = 0');
SELECT twin('UPDATE @@vac SET c = -c WHERE a % 5 = 0');
VACUUM h_vac, g_vac;

-- the same rows through every scan kind
SELECT twin_query('SELECT * FROM @@vac');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query('SELECT a, c FROM @@vac WHERE a BETWEEN 100 AND 900');
SELECT twin_query('SELECT a, c FROM @@vac WHERE c < 0');
SET enable_indexscan = off;
SET enable_bitmapscan = on;
SELECT twin_query('SELECT a FROM @@vac WHERE c BETWEEN 10 AND 2000');
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_indexscan;

-- no removed version is left behind: normal line pointers are exactly the live rows,
-- none is dead (their index entries are gone too), the rest are free for reuse
SELECT * FROM lp_census('g_vac');
SELECT count(*) AS live_rows FROM g_vac;
-- the indexes hold one entry per live row, as heap's do (exact counts after VACUUM)
SELECT c.relname, c.reltuples FROM pg_class c
WHERE c.relname IN ('g_vac', 'g_vac_pkey', 'g_vac_c_idx', 'h_vac', 'h_vac_pkey', 'h_vac_c_idx')
ORDER BY 1;
SELECT bt_index_check('g_vac_pkey', true), bt_index_check('g_vac_c_idx', true);
SELECT n_live_tup, n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = 'g_vac';
SELECT * FROM glassheap.verify('g_vac');

-- freed space is reused: as many new rows as were removed fit without growing the table
SELECT pg_relation_size('g_vac') AS g_size_before \gset
SELECT twin($$INSERT INTO @@vac SELECT g, repeat('w', g % 50), g FROM generate_series(5001, 6666) g$$);
SELECT pg_relation_size('g_vac') = :g_size_before AS g_no_growth;
SELECT twin_query('SELECT * FROM @@vac');

-- VACUUM (FREEZE): every version's xmin is frozen, and relfrozenxid moves to the same
-- horizon heap's does
VACUUM (FREEZE) h_vac, g_vac;
SELECT count(*) FILTER (WHERE NOT i.flags @> '{xmin_frozen}') AS unfrozen, count(*) AS versions
FROM generate_series(0, pg_relation_size('g_vac') / 8192 - 1) b, LATERAL glassheap.page_items('g_vac', b) i
WHERE i.lp_flags = 'normal';
SELECT g.relfrozenxid = h.relfrozenxid AS same_relfrozenxid, age(g.relfrozenxid) < 10 AS young
FROM pg_class g, pg_class h WHERE g.relname = 'g_vac' AND h.relname = 'h_vac';
SELECT twin_query('SELECT * FROM @@vac');
-- the teaching functions say so too, for both formats
SELECT twin_query($$SELECT xmin_status, count(*) FROM glassheap.visibility('@@vac') GROUP BY 1$$);

-- empty pages at the end are truncated away
SELECT pg_relation_size('g_vac') AS g_size_before \gset
SELECT twin('DELETE FROM @@vac WHERE a > 1000');
VACUUM h_vac, g_vac;
SELECT pg_relation_size('g_vac') < :g_size_before AS g_truncated,
       pg_relation_size('g_vac') / 8192 AS g_pages, pg_relation_size('h_vac') / 8192 AS h_pages;
SELECT twin_query('SELECT * FROM @@vac');
SELECT * FROM glassheap.verify('g_vac');

-- without indexes, one pass frees everything; a fully deleted table shrinks to nothing
SELECT twin_tables('vac_noidx', 'a int, b int');
SELECT twin('INSERT INTO @@vac_noidx SELECT g, g FROM generate_series(1, 3000) g');
SELECT twin('DELETE FROM @@vac_noidx');
VACUUM h_vac_noidx, g_vac_noidx;
SELECT pg_relation_size('g_vac_noidx') AS g_size, pg_relation_size('h_vac_noidx') AS h_size;

-- INDEX_CLEANUP off: versions are removed but their line pointers stay LP_DEAD (their
-- index entries still point there), as with heap; a later VACUUM frees them
SELECT twin_tables('vac_ic', 'a int PRIMARY KEY, b int');
SELECT twin('INSERT INTO @@vac_ic SELECT g, g FROM generate_series(1, 2000) g');
SELECT twin('DELETE FROM @@vac_ic WHERE a % 2 = 0');
VACUUM (INDEX_CLEANUP off) h_vac_ic, g_vac_ic;
SELECT * FROM lp_census('g_vac_ic');
SELECT count(*) FILTER (WHERE lp_flags = 3) AS heap_dead
FROM generate_series(0, pg_relation_size('h_vac_ic') / 8192 - 1) b,
     LATERAL heap_page_items(get_raw_page('h_vac_ic', b::int)) i;
SET enable_seqscan = off;
SELECT twin_query('SELECT * FROM @@vac_ic WHERE a BETWEEN 1 AND 500');
RESET enable_seqscan;
VACUUM h_vac_ic, g_vac_ic;
SELECT * FROM lp_census('g_vac_ic');

-- VERBOSE reports what was done (xids and WAL volume go in the DETAIL)
CREATE TABLE g_vac_verbose (a int PRIMARY KEY, b int) USING glassheap;
INSERT INTO g_vac_verbose SELECT g, g FROM generate_series(1, 1000) g;
DELETE FROM g_vac_verbose WHERE a <= 400;
\set VERBOSITY terse
VACUUM (VERBOSE) g_vac_verbose;
\set VERBOSITY default

-- what VACUUM wrote to WAL: glassheap's own PRUNE / VACUUM / FREEZE records
CREATE TABLE g_vac_wal (a int PRIMARY KEY, b int) USING glassheap;
INSERT INTO g_vac_wal SELECT g, g FROM generate_series(1, 1000) g;
DELETE FROM g_vac_wal WHERE a % 2 = 0;
SELECT pg_current_wal_insert_lsn() AS wal_before \gset
VACUUM (FREEZE) g_vac_wal;
SELECT pg_current_wal_insert_lsn() AS wal_after \gset
CREATE TABLE g_vac_wal_flush ();  -- its commit flushes the WAL pg_walinspect reads
SELECT record_type, count(*) FROM pg_get_wal_records_info(:'wal_before', :'wal_after')
WHERE resource_manager = 'glassheap' GROUP BY 1 ORDER BY 1;
SELECT DISTINCT record_type,
       regexp_replace(description, '(latest_removed_xid|cutoff_xid) [0-9]+', '\1 N') AS description
FROM pg_get_wal_records_info(:'wal_before', :'wal_after')
WHERE resource_manager = 'glassheap' ORDER BY 1, 2;
-- glassheap.wal_records decodes the same records
SELECT record_type, jsonb_object_keys(decoded -> 'block0') AS field
FROM glassheap.wal_records(:'wal_before', :'wal_after')
WHERE resource_manager = 'glassheap' AND decoded ? 'block0' AND NOT decoded -> 'block0' ? 'fpi'
GROUP BY 1, 2 ORDER BY 1, 2;

-- the visibility map means what heap's means: VACUUM marks pages whose every version is
-- visible to everyone, index-only scans then skip the table, and any write clears the
-- page's bits (a row lock clears only all-frozen)
SELECT twin_tables('vm', 'a int PRIMARY KEY, b int');
SELECT twin('INSERT INTO @@vm SELECT g, g FROM generate_series(1, 3000) g');
CREATE FUNCTION vm_summary(rel regclass) RETURNS text LANGUAGE sql AS $$
  SELECT format('%s pages: %s all-visible, %s all-frozen', count(*),
                count(*) FILTER (WHERE all_visible), count(*) FILTER (WHERE all_frozen))
  FROM pg_visibility_map(rel) $$;
SELECT vm_summary('g_vm') AS g, vm_summary('h_vm') AS h;
VACUUM h_vm, g_vm;
SELECT vm_summary('g_vm') AS g, vm_summary('h_vm') AS h;
SELECT relname, relallvisible = relpages AS all_pages_visible FROM pg_class WHERE relname IN ('g_vm', 'h_vm') ORDER BY 1;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(a) FROM g_vm WHERE a <= 2000;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(a) FROM h_vm WHERE a <= 2000;
SELECT twin('DELETE FROM @@vm WHERE a = 1500');
SELECT vm_summary('g_vm') AS g, vm_summary('h_vm') AS h;
SELECT twin_query('SELECT count(a), sum(a) FROM @@vm WHERE a <= 2000');
RESET enable_seqscan;
RESET enable_bitmapscan;
VACUUM (FREEZE) h_vm, g_vm;
SELECT vm_summary('g_vm') AS g, vm_summary('h_vm') AS h;
SELECT twin('SELECT * FROM @@vm WHERE a = 10 FOR SHARE');
SELECT vm_summary('g_vm') AS g, vm_summary('h_vm') AS h;
SELECT twin('INSERT INTO @@vm VALUES (1500, 0)');
SELECT vm_summary('g_vm') AS g, vm_summary('h_vm') AS h;
-- a second VACUUM skips pages the visibility map says need nothing only in runs of 32
-- or more and never the last page, as heap's (SKIP_PAGES_THRESHOLD): on this 11-page
-- table it reads every page (TAP test 024 compares the skipping with heap's on larger
-- tables)
\set VERBOSITY terse
VACUUM (VERBOSE) g_vm;
\set VERBOSITY default
SELECT vm_summary('g_vm') AS g;

-- temporary tables (local buffers, no WAL) and VACUUM ANALYZE
CREATE TEMP TABLE g_vac_temp (a int PRIMARY KEY, b int) USING glassheap;
INSERT INTO g_vac_temp SELECT g, g FROM generate_series(1, 2000) g;
DELETE FROM g_vac_temp WHERE a > 500;
VACUUM ANALYZE g_vac_temp;
SELECT relpages, reltuples FROM pg_class WHERE relname = 'g_vac_temp';
SELECT count(*), sum(a) FROM g_vac_temp;

-- VACUUM (PARALLEL n): indexes smaller than min_parallel_index_scan_size are vacuumed by
-- the leader, without a WARNING, as heap's (TAP test 024 compares the parallel workers
-- launched with heap's)
CREATE TABLE g_vac_par (a int PRIMARY KEY, b int) USING glassheap;
CREATE INDEX g_vac_par_b ON g_vac_par (b);
INSERT INTO g_vac_par SELECT g, g FROM generate_series(1, 1000) g;
DELETE FROM g_vac_par WHERE a % 2 = 0;
VACUUM (PARALLEL 2) g_vac_par;
VACUUM (PARALLEL 0) g_vac_par;
SELECT count(*), sum(a) FROM g_vac_par;
