-- glassheap.stats vs pgstattuple on quiet tables (no VACUUM, no page ever full
-- enough to be pruned by a scan, so both see the same dead tuples).
SET client_min_messages = warning;

-- two wide rows per page: pages stay far from full, so scans never prune them
CREATE TABLE is_t (id int, pad text) WITH (autovacuum_enabled = off);
ALTER TABLE is_t ALTER COLUMN pad SET STORAGE PLAIN;
INSERT INTO is_t SELECT g, repeat(chr(65 + g % 26), 3000) FROM generate_series(1, 40) g;
DELETE FROM is_t WHERE id % 3 = 0;
UPDATE is_t SET id = id + 1000 WHERE id % 5 = 0;
BEGIN; INSERT INTO is_t VALUES (-1, 'aborted'); ROLLBACK;

-- small rows, one partly filled page, plus deleted rows
CREATE TABLE is_small (a int, b text) WITH (autovacuum_enabled = off);
INSERT INTO is_small SELECT g, 'row ' || g FROM generate_series(1, 100) g;
DELETE FROM is_small WHERE a > 60;

CREATE TABLE is_empty (a int);

CREATE FUNCTION is_compare(rel regclass) RETURNS TABLE (same boolean, tuple_count bigint, dead_tuple_count bigint)
LANGUAGE plpgsql AS $$
DECLARE p record; g record;
BEGIN
  SELECT * INTO p FROM pgstattuple(rel);      -- first: if anything were pruned, it is now
  SELECT * INTO g FROM glassheap.stats(rel);
  RETURN QUERY SELECT
    g.table_len = p.table_len AND g.tuple_count = p.tuple_count AND g.tuple_len = p.tuple_len
    AND g.tuple_percent = p.tuple_percent AND g.dead_tuple_count = p.dead_tuple_count
    AND g.dead_tuple_len = p.dead_tuple_len AND g.dead_tuple_percent = p.dead_tuple_percent
    AND g.free_space = p.free_space AND g.free_percent = p.free_percent,
    g.tuple_count, g.dead_tuple_count;
END $$;

SELECT * FROM is_compare('is_t');
SELECT * FROM is_compare('is_small');
SELECT * FROM is_compare('is_empty');
SELECT * FROM glassheap.stats('is_empty');

-- the same after more changes
UPDATE is_small SET b = b || '!' WHERE a <= 10;
SELECT * FROM is_compare('is_small');

-- errors
CREATE VIEW is_view AS SELECT 1 AS one;
CREATE INDEX is_idx ON is_small (a);
CREATE SEQUENCE is_seq;
SELECT * FROM glassheap.stats('is_view');
SELECT * FROM glassheap.stats('is_idx');
SELECT * FROM glassheap.stats('is_seq');

-- glassheap: the same counts as the heap twin (tuples are smaller, so lengths differ)
SELECT twin_tables('is', 'a int, b text');
-- A prepared transaction holding an xid keeps every version deleted after it "recently
-- dead" (pgstattuple counts those as dead) and every page's pd_prune_xid unremovable, so
-- no read prunes either twin before the counts are compared, whatever the other sessions
-- of the parallel group do. (Without it the twins, whose pages fill differently, were
-- pruned on access at different moments whenever no other session held the horizon.)
BEGIN;
SELECT pg_current_xact_id() IS NOT NULL AS holds_xid;
PREPARE TRANSACTION 'inspect_stats_hold';
SELECT twin($$INSERT INTO @@is SELECT g, 'row ' || g FROM generate_series(1, 1000) g$$);
SELECT twin('DELETE FROM @@is WHERE a % 7 = 0');
SELECT twin('UPDATE @@is SET b = b || ''!'' WHERE a % 5 = 0');
BEGIN; SELECT twin($$INSERT INTO @@is VALUES (-1, 'aborted')$$); ROLLBACK;
-- dead: 142 deleted, 172 old versions of updated rows, 1 aborted insert
SELECT h.dead_tuple_count AS heap_dead,
       g.tuple_count = h.tuple_count AS same_live, g.dead_tuple_count = h.dead_tuple_count AS same_dead,
       g.tuple_count = (SELECT count(*) FROM g_is) AS live_is_count,
       g.table_len = pg_relation_size('g_is') AS len_is_size,
       g.table_len < h.table_len AS smaller,
       g.tuple_len < h.tuple_len AS shorter_tuples,
       g.tuple_len = (SELECT sum(lp_len) FROM generate_series(0, pg_relation_size('g_is') / 8192 - 1) blk,
                        glassheap.page_items('g_is', blk) x, g_is t WHERE t.ctid = format('(%s,%s)', blk, x.lp)::tid)
         AS tuple_len_is_sum_of_live_lp_len
FROM glassheap.stats('g_is') g, pgstattuple('h_is') h;
-- pgstattuple's free space rule on glassheap pages too: PageGetHeapFreeSpace (the
-- page_header's free_space on these pages) up to PostgreSQL 17, upper - lower from 18
SELECT g.free_space = (SELECT sum(CASE WHEN current_setting('server_version_num')::int < 180000
                                       THEN free_space ELSE upper - lower END)
                       FROM generate_series(0, pg_relation_size('g_is') / 8192 - 1) b,
                         glassheap.page_header(glassheap.page('g_is', b))) AS free_space_is_sum
FROM glassheap.stats('g_is') g;
ROLLBACK PREPARED 'inspect_stats_hold';
