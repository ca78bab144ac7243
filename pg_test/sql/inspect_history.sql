-- glassheap.page_history / row_history: a block's pages and a row's versions rebuilt
-- from WAL. The page rebuilt at the last record must equal the page on disk (after a
-- CHECKPOINT), compared on everything WAL carries (line pointers, tuple bytes, xmin,
-- xmax, forward links; hint bits and command ids are not logged).
SELECT twin_tables('hist', 'id int PRIMARY KEY, v text');
ALTER TABLE g_hist SET (autovacuum_enabled = false);
ALTER TABLE h_hist SET (autovacuum_enabled = false);
CHECKPOINT;
-- a physical slot keeps the WAL this test reads: the CHECKPOINT below may otherwise
-- remove the segment hist_start lies in, when the workload crosses a segment boundary
SELECT slot_name FROM pg_create_physical_replication_slot('inspect_history', true);
SELECT pg_current_wal_insert_lsn() AS hist_start \gset
-- a mixed workload: inserts, HOT updates, deletes, row locks, a rolled-back insert,
-- pruning and VACUUM (with freezing), then more changes on the vacuumed page
SELECT twin('INSERT INTO @@hist SELECT g, ''v'' || g FROM generate_series(1, 60) g');
SELECT twin('UPDATE @@hist SET v = v || ''x'' WHERE id % 3 = 0');
SELECT twin('UPDATE @@hist SET v = v || ''y'' WHERE id % 6 = 0');
SELECT twin('DELETE FROM @@hist WHERE id % 5 = 0');
BEGIN;
SELECT twin_query('SELECT count(*) FROM (SELECT * FROM @@hist WHERE id < 10 FOR SHARE) s');
COMMIT;
BEGIN;
SELECT twin('INSERT INTO @@hist VALUES (100, ''rolled back'')');
ROLLBACK;
VACUUM (FREEZE) g_hist;
VACUUM (FREEZE) h_hist;
SELECT twin('UPDATE @@hist SET v = ''after vacuum'' WHERE id = 7');
SELECT twin('INSERT INTO @@hist VALUES (61, ''late'')');
CHECKPOINT;

CREATE TEMP TABLE g_steps AS
  SELECT * FROM glassheap.page_history('g_hist', 0, :'hist_start');
-- every record that touched block 0, each with the page after it
SELECT count(*) > 10 AS many_records,
       count(*) FILTER (WHERE page IS NULL) AS not_rebuilt,
       count(DISTINCT record_type) >= 6 AS several_kinds
FROM g_steps;
SELECT DISTINCT resource_manager, record_type FROM g_steps
WHERE resource_manager = 'glassheap' ORDER BY 2;
-- page LSNs follow the records
SELECT bool_and(page_lsn = end_lsn) AS page_lsn_is_record_end FROM g_steps;
-- the last rebuilt page equals the page on disk
WITH last AS (SELECT page FROM g_steps ORDER BY lsn DESC LIMIT 1),
rebuilt AS (SELECT lp, lp_flags, lp_off, lp_len, xmin, xmax, data
            FROM last, glassheap.page_items(last.page, 'glassheap')),
disk AS (SELECT lp, lp_flags, lp_off, lp_len, xmin, xmax, data
         FROM glassheap.page_items('g_hist', 0))
SELECT (SELECT count(*) FROM disk) AS items,
       (SELECT count(*) FROM (SELECT * FROM rebuilt EXCEPT SELECT * FROM disk) d) AS only_rebuilt,
       (SELECT count(*) FROM (SELECT * FROM disk EXCEPT SELECT * FROM rebuilt) d) AS only_on_disk;
-- the first record's page (the INSERT that initialised the block) holds one row
SELECT (SELECT count(*) FROM glassheap.page_items(page, 'glassheap')) AS items_after_first
FROM g_steps ORDER BY lsn LIMIT 1;

-- a row's history: row 6 was updated twice (HOT updates: new versions on the same page),
-- its latest version locked FOR SHARE, the old versions pruned and the survivor frozen by
-- VACUUM (FREEZE); row 5 was deleted, then pruned and vacuumed
SELECT event, tid, next_tid
FROM glassheap.row_history('g_hist', '(0,6)', :'hist_start');
SELECT event, tid, next_tid
FROM glassheap.row_history('g_hist', '(0,5)', :'hist_start');

-- heap: its own records are replayed too (heap's redo, crates/decode/src/heapreplay.rs):
-- every record that touched block 0 rebuilt a page (PostgreSQL 17 and later log pruning,
-- vacuuming and freezing as PRUNE_VACUUM_SCAN/CLEANUP: inspect_history_1.out)
CREATE TEMP TABLE h_steps AS
  SELECT * FROM glassheap.page_history('h_hist', 0, :'hist_start');
SELECT count(*) > 10 AS many_records,
       count(*) FILTER (WHERE page IS NULL) AS not_rebuilt
FROM h_steps;
SELECT DISTINCT resource_manager, record_type FROM h_steps
WHERE resource_manager LIKE 'Heap%' ORDER BY 1, 2;
-- the last rebuilt page equals the page on disk, as pageinspect reads both (t_infomask
-- without the hint bits HEAP_XACT_MASK covers, which heap sets without WAL; the
-- command id is not logged)
WITH last AS (SELECT page FROM h_steps ORDER BY lsn DESC LIMIT 1),
rebuilt AS (SELECT lp, lp_flags, lp_off, lp_len, t_xmin, t_xmax, t_ctid, t_infomask2,
                   t_infomask & 15 AS im, t_hoff, t_data
            FROM last, heap_page_items(last.page)),
disk AS (SELECT lp, lp_flags, lp_off, lp_len, t_xmin, t_xmax, t_ctid, t_infomask2,
                t_infomask & 15 AS im, t_hoff, t_data
         FROM heap_page_items(get_raw_page('h_hist', 0)))
SELECT (SELECT count(*) FROM disk) AS items,
       (SELECT count(*) FROM (SELECT * FROM rebuilt EXCEPT SELECT * FROM disk) d) AS only_rebuilt,
       (SELECT count(*) FROM (SELECT * FROM disk EXCEPT SELECT * FROM rebuilt) d) AS only_on_disk;
-- and the page header (pageinspect's page_header; flags without the hint flags)
WITH last AS (SELECT page FROM h_steps ORDER BY lsn DESC LIMIT 1)
SELECT (SELECT (lower, upper, special, pagesize, version) FROM page_header(last.page))
     = (SELECT (lower, upper, special, pagesize, version)
        FROM page_header(get_raw_page('h_hist', 0))) AS same_header
FROM last;

-- the same rows' histories on the heap twin: the same events at the same tids (xids
-- in the details vary from run to run)
SELECT event, tid, next_tid,
       regexp_replace(detail, '(by|xmax|horizon) [0-9]+', '\1 N') AS detail
FROM glassheap.row_history('h_hist', '(0,6)', :'hist_start');
SELECT event, tid, next_tid,
       regexp_replace(detail, '(by|xmax|horizon) [0-9]+', '\1 N') AS detail
FROM glassheap.row_history('h_hist', '(0,5)', :'hist_start');
-- row_history against pageinspect: the last event at each line pointer of block 0 (the
-- histories of rows 1-61 cover them all; a version an update created counts as an
-- event at its tid) is what the page shows: a redirect to where the line pointer
-- points, a dead or unused line pointer, a live version (frozen if its last event was)
WITH hist AS MATERIALIZED (
  SELECT h.* FROM generate_series(1, 61) g,
       LATERAL glassheap.row_history('h_hist', format('(0,%s)', g)::tid, :'hist_start') h),
ev AS (
  SELECT DISTINCT ON (tid) tid, event, detail
  FROM (SELECT lsn, tid, event, detail FROM hist
        UNION ALL
        SELECT lsn, next_tid, 'created by an update', detail FROM hist
        WHERE next_tid IS NOT NULL) e
  ORDER BY tid, lsn DESC, event = 'created by an update'),
lp AS (SELECT format('(0,%s)', lp)::tid AS tid, lp_flags, lp_off, t_infomask
       FROM heap_page_items(get_raw_page('h_hist', 0)))
SELECT lp.lp_flags, ev.event, count(*) AS line_pointers,
       bool_and(CASE lp.lp_flags
                  WHEN 2 THEN ev.detail LIKE format('%%redirected to (0,%s)%%', lp.lp_off)
                  WHEN 3 THEN ev.detail LIKE '%LP_DEAD%'
                  WHEN 0 THEN ev.event IN ('vacuumed', 'pruned')
                  ELSE ev.event NOT IN ('pruned', 'vacuumed')
                       AND (ev.event <> 'frozen' OR t_infomask & 768 = 768)
                END) AS agrees
FROM lp LEFT JOIN ev USING (tid)
GROUP BY 1, 2 ORDER BY 1, 2;

-- bad input
SELECT * FROM glassheap.page_history('g_hist', -1, :'hist_start');
SELECT * FROM glassheap.page_history('g_hist', 0, NULL);
\set VERBOSITY terse
SELECT * FROM glassheap.page_history('g_hist', 0, pg_current_wal_insert_lsn() + 1000000);
\set VERBOSITY default
SELECT * FROM glassheap.row_history('pg_class_oid_index', '(0,1)', :'hist_start');
SELECT * FROM glassheap.page_history('g_hist', 99, :'hist_start');
SELECT pg_drop_replication_slot('inspect_history');
