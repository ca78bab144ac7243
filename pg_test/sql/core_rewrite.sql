-- Rewrites and table operations on glassheap, each next to a heap twin doing the same
-- statements: VACUUM FULL and CLUSTER (relation_copy_for_cluster), TRUNCATE, ALTER
-- TABLE ... SET ACCESS METHOD, rewriting ALTER TABLEs, SELECT INTO and materialized
-- views, partitions, parallel sequential scans, TABLESAMPLE at equal TIDs, and ANALYZE.
-- Runs alone in its schedule line: the removed / kept version counts are exact only
-- when no other session holds the xmin horizon back.
\set VERBOSITY terse

-- versions on the table's pages and how many have a frozen xmin (heap or glassheap)
CREATE FUNCTION rw_versions(rel regclass, OUT versions bigint, OUT frozen bigint)
LANGUAGE sql AS $$
  SELECT count(*), count(*) FILTER (WHERE i.flags @> '{xmin_committed,xmin_invalid}')
  FROM generate_series(0, pg_relation_size(rel) / 8192 - 1) b,
       LATERAL glassheap.page_items(rel, b) i
  WHERE i.lp_flags = 'normal' $$;
-- the planner's row estimate for a query
CREATE FUNCTION rw_est(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
  RETURN (j->0->'Plan'->>'Plan Rows')::float8;
END $$;
-- how many parallel workers a query really ran with (EXPLAIN ANALYZE)
CREATE FUNCTION rw_workers(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE l text; n int := 0;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    IF l ~ 'Workers Launched' THEN
      n := n + substring(l FROM 'Workers Launched: (\d+)')::int;
    END IF;
  END LOOP;
  RETURN n;
END $$;
CREATE FUNCTION rw_relfilenode(rel regclass) RETURNS oid LANGUAGE sql AS
  $$ SELECT relfilenode FROM pg_class WHERE oid = rel $$;
CREATE FUNCTION rw_am(rel regclass) RETURNS name LANGUAGE sql AS
  $$ SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = rel $$;

---------------------------------------------------------------------------------------
-- VACUUM FULL: dead versions are gone, the table shrinks as heap's does, every row is
-- frozen, the indexes are rebuilt and valid; VERBOSE reports heap's counts.
SELECT twin_tables('vf', 'a int PRIMARY KEY, b text, c int');
SELECT twin($$INSERT INTO @@vf SELECT g, repeat('v', g % 60), (g * 7919) % 20000 FROM generate_series(1, 20000) g$$);
SELECT twin('CREATE INDEX ON @@vf (c)');
SELECT pg_relation_size('h_vf') AS h_before, pg_relation_size('g_vf') AS g_before \gset
SELECT twin('DELETE FROM @@vf WHERE a % 3 <> 0');
VACUUM (VERBOSE, FULL) h_vf;
VACUUM (VERBOSE, FULL) g_vf;
SELECT twin_query('SELECT * FROM @@vf');
-- both shrink to about a third
SELECT pg_relation_size('h_vf')::float8 / :h_before AS h_ratio,
       pg_relation_size('g_vf')::float8 / :g_before AS g_ratio,
       pg_relation_size('g_vf') < pg_relation_size('h_vf') AS g_smaller;
SELECT (rw_versions('g_vf')).*, (rw_versions('h_vf')).*, (SELECT count(*) FROM g_vf) AS rows;
SELECT * FROM glassheap.verify('g_vf');
SELECT bt_index_check('g_vf_pkey', true), bt_index_check('g_vf_c_idx', true);
-- relfrozenxid moved to the rewrite's horizon, as heap's did
SELECT age(g.relfrozenxid) <= age(h.relfrozenxid) AS g_not_older, age(g.relfrozenxid) < 5 AS young
FROM pg_class g, pg_class h WHERE g.relname = 'g_vf' AND h.relname = 'h_vf';
-- indexes work, updates and inserts go on
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query('SELECT a, c FROM @@vf WHERE a BETWEEN 3000 AND 3100');
SELECT twin_query('SELECT a FROM @@vf WHERE c < 500');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT twin('UPDATE @@vf SET b = $$updated$$ WHERE a % 4 = 0');
SELECT twin($$INSERT INTO @@vf SELECT g, 'new', g FROM generate_series(20001, 20500) g$$);
SELECT twin_query('SELECT * FROM @@vf');
-- the same updates again right before the rewrite: the old versions are removable
SELECT twin('UPDATE @@vf SET c = c + 1 WHERE a % 5 = 0');
VACUUM (VERBOSE, FULL) h_vf;
VACUUM (VERBOSE, FULL) g_vf;
SELECT twin_query('SELECT * FROM @@vf');
SELECT * FROM glassheap.verify('g_vf');
SELECT bt_index_check('g_vf_pkey', true), bt_index_check('g_vf_c_idx', true);
-- an empty table, a table of only dead rows, UNLOGGED and TEMP tables, a dropped column
SELECT twin_tables('vf_empty', 'a int');
VACUUM FULL h_vf_empty, g_vf_empty;
SELECT twin('INSERT INTO @@vf_empty SELECT generate_series(1, 1000)');
SELECT twin('DELETE FROM @@vf_empty');
VACUUM FULL h_vf_empty, g_vf_empty;
SELECT pg_relation_size('g_vf_empty') AS g_size, pg_relation_size('h_vf_empty') AS h_size;
CREATE UNLOGGED TABLE g_vf_unl (a int PRIMARY KEY, b text) USING glassheap;
INSERT INTO g_vf_unl SELECT g, g::text FROM generate_series(1, 3000) g;
DELETE FROM g_vf_unl WHERE a % 2 = 0;
VACUUM FULL g_vf_unl;
SELECT count(*), sum(a), pg_relation_size('g_vf_unl', 'init') AS init_fork FROM g_vf_unl;
SELECT * FROM glassheap.verify('g_vf_unl');
CREATE TEMP TABLE g_vf_tmp (a int, b text) USING glassheap;
INSERT INTO g_vf_tmp SELECT g, g::text FROM generate_series(1, 3000) g;
DELETE FROM g_vf_tmp WHERE a % 2 = 0;
VACUUM FULL g_vf_tmp;
SELECT count(*), sum(a) FROM g_vf_tmp;
SELECT twin_tables('vf_drop', 'a int, b text, c int');
SELECT twin($$INSERT INTO @@vf_drop SELECT g, 'b' || g, g FROM generate_series(1, 500) g$$);
SELECT twin('ALTER TABLE @@vf_drop DROP COLUMN b');
SELECT twin('ALTER TABLE @@vf_drop ADD COLUMN d int DEFAULT 42');
VACUUM FULL h_vf_drop, g_vf_drop;
SELECT twin_query('SELECT * FROM @@vf_drop');
-- rows written before the new column exist are stored with it after the rewrite
SELECT DISTINCT i.natts FROM generate_series(0, pg_relation_size('g_vf_drop') / 8192 - 1) b,
  LATERAL glassheap.page_items('g_vf_drop', b) i;
SELECT * FROM glassheap.verify('g_vf_drop');

---------------------------------------------------------------------------------------
-- CLUSTER: a plain sequential scan returns the rows in index order afterwards, as with
-- heap; both the index-scan and the sort strategy; the index is remembered.
SELECT twin_tables('cl', 'a int PRIMARY KEY, k int UNIQUE, t text');
SELECT twin($$INSERT INTO @@cl SELECT g, (g * 7919) % 5003, 't' || g FROM generate_series(1, 5000) g$$);
SELECT twin('DELETE FROM @@cl WHERE a % 10 = 0');
-- (not VERBOSE: how many of the deleted rows the index scan still finds depends on
-- opportunistic pruning of the pages it visits, which differs between the AMs)
SET enable_sort = off;
CLUSTER h_cl USING h_cl_k_key;
CLUSTER g_cl USING g_cl_k_key;
RESET enable_sort;
SELECT (SELECT array_agg(k) FROM g_cl) = (SELECT array_agg(k ORDER BY k) FROM g_cl) AS g_in_k_order,
       (SELECT array_agg(k) FROM g_cl) = (SELECT array_agg(k) FROM h_cl) AS same_order_as_heap;
SELECT indisclustered FROM pg_index WHERE indexrelid = 'g_cl_k_key'::regclass;
SELECT * FROM glassheap.verify('g_cl');
SELECT bt_index_check('g_cl_pkey', true), bt_index_check('g_cl_k_key', true);
-- the sort strategy, on the remembered index, after updates that scatter the rows
SELECT twin('UPDATE @@cl SET k = -k WHERE a % 7 = 0');
SET enable_indexscan = off;
CLUSTER VERBOSE h_cl;
CLUSTER VERBOSE g_cl;
RESET enable_indexscan;
SELECT (SELECT array_agg(k) FROM g_cl) = (SELECT array_agg(k ORDER BY k) FROM g_cl) AS g_in_k_order,
       (SELECT array_agg(k) FROM g_cl) = (SELECT array_agg(k) FROM h_cl) AS same_order_as_heap;
SELECT twin_query('SELECT * FROM @@cl');
SELECT * FROM glassheap.verify('g_cl');
SELECT bt_index_check('g_cl_pkey', true), bt_index_check('g_cl_k_key', true);
-- CLUSTER inside a transaction that changed the table: its own versions are kept and
-- its command ids still work (the row it deleted stays invisible to it, the updated
-- rows show their new values)
BEGIN;
SELECT twin('UPDATE @@cl SET t = $$mine$$ WHERE a <= 100');
SELECT twin('DELETE FROM @@cl WHERE a BETWEEN 101 AND 110');
SET LOCAL enable_sort = off;
CLUSTER VERBOSE h_cl;
CLUSTER VERBOSE g_cl;
SELECT twin_query('SELECT * FROM @@cl');
SELECT count(*) FILTER (WHERE t = 'mine') AS mine, count(*) FROM g_cl;
SELECT twin('UPDATE @@cl SET t = $$mine2$$ WHERE t = $$mine$$');
SELECT twin_query('SELECT * FROM @@cl');
COMMIT;
SELECT twin_query('SELECT * FROM @@cl');
SELECT * FROM glassheap.verify('g_cl');

---------------------------------------------------------------------------------------
-- Versions an older transaction can still see are kept (RECENTLY_DEAD), frozen only
-- when older than the horizon, and their update chains point at the newer versions'
-- new places. A prepared transaction holds the horizon back in this single session.
SELECT twin_tables('rd', 'a int PRIMARY KEY, b int');
SELECT twin('INSERT INTO @@rd SELECT g, 0 FROM generate_series(1, 2000) g');
CREATE TABLE rw_hold (x int);
BEGIN;
INSERT INTO rw_hold VALUES (1);
PREPARE TRANSACTION 'rw_hold';
SELECT twin('UPDATE @@rd SET b = 1 WHERE a % 100 = 1');
SELECT twin('UPDATE @@rd SET b = 2 WHERE a % 100 = 1');
SELECT twin('UPDATE @@rd SET b = 3 WHERE a % 200 = 1');
SELECT twin('DELETE FROM @@rd WHERE a % 100 = 2');
VACUUM (VERBOSE, FULL) h_rd;
VACUUM (VERBOSE, FULL) g_rd;
SELECT (rw_versions('g_rd')).*, (rw_versions('h_rd')).*;
SELECT * FROM glassheap.verify('g_rd');
-- every forward pointer leads to a version inserted by the old version's updater
WITH v AS (
  SELECT b AS blk, i.lp, i.xmin, i.xmax, i.ctid, i.flags
  FROM generate_series(0, pg_relation_size('g_rd') / 8192 - 1) b,
       LATERAL glassheap.page_items('g_rd', b) i WHERE i.lp_flags = 'normal')
SELECT count(*) AS linked,
       count(*) FILTER (WHERE n.xmin = o.xmax) AS to_its_successor,
       count(*) FILTER (WHERE (o.ctid::text::point)[0] <> o.blk) AS across_pages
FROM v o LEFT JOIN v n ON n.blk = (o.ctid::text::point)[0] AND n.lp = (o.ctid::text::point)[1]
WHERE o.ctid <> format('(%s,%s)', o.blk, o.lp)::tid;
-- the same after CLUSTER in index order and in sort order
SET enable_sort = off;
CLUSTER h_rd USING h_rd_pkey;
CLUSTER g_rd USING g_rd_pkey;
RESET enable_sort;
SELECT (rw_versions('g_rd')).*, (rw_versions('h_rd')).*;
SET enable_indexscan = off;
CLUSTER h_rd;
CLUSTER g_rd;
RESET enable_indexscan;
SELECT (rw_versions('g_rd')).*, (rw_versions('h_rd')).*;
SELECT * FROM glassheap.verify('g_rd');
WITH v AS (
  SELECT b AS blk, i.lp, i.xmin, i.xmax, i.ctid
  FROM generate_series(0, pg_relation_size('g_rd') / 8192 - 1) b,
       LATERAL glassheap.page_items('g_rd', b) i WHERE i.lp_flags = 'normal')
SELECT count(*) AS linked, count(*) FILTER (WHERE n.xmin = o.xmax) AS to_its_successor
FROM v o LEFT JOIN v n ON n.blk = (o.ctid::text::point)[0] AND n.lp = (o.ctid::text::point)[1]
WHERE o.ctid <> format('(%s,%s)', o.blk, o.lp)::tid;
SELECT twin_query('SELECT * FROM @@rd');
COMMIT PREPARED 'rw_hold';
-- once nobody needs them they go, and everything left is frozen
VACUUM (VERBOSE, FULL) h_rd;
VACUUM (VERBOSE, FULL) g_rd;
SELECT (rw_versions('g_rd')).*, (rw_versions('h_rd')).*;
SELECT twin_query('SELECT * FROM @@rd');
SELECT bt_index_check('g_rd_pkey', true);

---------------------------------------------------------------------------------------
-- TRUNCATE (plain, in the creating transaction and rolled back: core_ddl)
-- RESTART IDENTITY, CONTINUE IDENTITY, and foreign keys with CASCADE
SELECT twin_tables('tr_par', 'id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, s serial, v text');
SELECT twin('CREATE TABLE @@tr_child (id int PRIMARY KEY, par int REFERENCES @@tr_par) USING heap');
ALTER TABLE g_tr_child SET ACCESS METHOD glassheap;
SELECT twin($$INSERT INTO @@tr_par (v) SELECT 'p' || g FROM generate_series(1, 50) g$$);
SELECT twin('INSERT INTO @@tr_child SELECT g, g FROM generate_series(1, 50) g');
TRUNCATE g_tr_par;
SELECT twin('TRUNCATE @@tr_par CASCADE');
SELECT (SELECT count(*) FROM g_tr_par) AS par_rows, (SELECT count(*) FROM g_tr_child) AS child_rows;
SELECT twin($$INSERT INTO @@tr_par (v) VALUES ('after')$$);
SELECT twin_query('SELECT id, s, v FROM @@tr_par');
SELECT twin('TRUNCATE @@tr_par RESTART IDENTITY CASCADE');
SELECT twin($$INSERT INTO @@tr_par (v) VALUES ('restarted')$$);
SELECT twin_query('SELECT id, s, v FROM @@tr_par');
SELECT * FROM g_tr_par;
-- RESTART IDENTITY rolled back: the sequence and the rows come back
BEGIN;
SELECT twin('TRUNCATE @@tr_par RESTART IDENTITY CASCADE');
SELECT twin($$INSERT INTO @@tr_par (v) VALUES ('inside')$$);
SELECT * FROM g_tr_par;
ROLLBACK;
SELECT twin($$INSERT INTO @@tr_par (v) VALUES ('after rollback')$$);
SELECT twin_query('SELECT id, s, v FROM @@tr_par');
SELECT * FROM g_tr_par ORDER BY id;
-- TRUNCATE in a subtransaction that is rolled back, of a table created earlier in the
-- transaction (the file switch is undone)
BEGIN;
CREATE TABLE g_tr_sub (a int PRIMARY KEY) USING glassheap;
INSERT INTO g_tr_sub SELECT generate_series(1, 100);
SAVEPOINT s;
TRUNCATE g_tr_sub;
INSERT INTO g_tr_sub VALUES (1000);
ROLLBACK TO SAVEPOINT s;
SELECT count(*), sum(a) FROM g_tr_sub;
COMMIT;
SELECT count(*), sum(a) FROM g_tr_sub;
SELECT bt_index_check('g_tr_sub_pkey', true);

---------------------------------------------------------------------------------------
-- ALTER TABLE ... SET ACCESS METHOD: heap -> glassheap -> heap, rows, indexes and
-- constraints intact at each step
CREATE TABLE sam_par (x int PRIMARY KEY);
INSERT INTO sam_par SELECT generate_series(1, 10);
CREATE TABLE sam (id int PRIMARY KEY, v text NOT NULL, n int CHECK (n >= 0), u int UNIQUE,
                  par int REFERENCES sam_par (x)) USING heap;
INSERT INTO sam SELECT g, 'v' || g, g % 50, g, g % 10 + 1 FROM generate_series(1, 3000) g;
CREATE INDEX sam_v ON sam (v);
CREATE TABLE sam_copy AS SELECT * FROM sam;
ALTER TABLE sam SET ACCESS METHOD glassheap;
SELECT rw_am('sam') AS am, rw_am('sam_v') AS index_am;
SELECT count(*) FROM (SELECT * FROM sam EXCEPT SELECT * FROM sam_copy) d;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM sam WHERE id = 77;
SELECT * FROM sam WHERE id = 77;
SELECT * FROM sam WHERE v = 'v2999';
SELECT id FROM sam WHERE u BETWEEN 10 AND 13 ORDER BY u;
RESET enable_seqscan;
RESET enable_bitmapscan;
INSERT INTO sam VALUES (1, 'dup', 1, 100000, 1);
INSERT INTO sam VALUES (100000, 'dup', 1, 5, 1);
INSERT INTO sam VALUES (100000, 'neg', -1, 100000, 1);
INSERT INTO sam VALUES (100000, NULL, 1, 100000, 1);
INSERT INTO sam VALUES (100000, 'fk', 1, 100000, 99);
DELETE FROM sam_par WHERE x = 3;
UPDATE sam SET v = v || '!' WHERE id % 100 = 0;
SELECT bt_index_check('sam_pkey', true), bt_index_check('sam_v', true), bt_index_check('sam_u_key', true);
SELECT * FROM glassheap.verify('sam');
ALTER TABLE sam SET ACCESS METHOD heap;
SELECT rw_am('sam') AS am;
SELECT count(*), count(*) FILTER (WHERE v LIKE '%!') AS updated FROM sam;
SET enable_seqscan = off;
SELECT * FROM sam WHERE id = 100;
RESET enable_seqscan;
INSERT INTO sam VALUES (1, 'dup', 1, 100000, 1);
SELECT bt_index_check('sam_pkey', true), bt_index_check('sam_v', true), bt_index_check('sam_u_key', true);
-- SET ACCESS METHOD to the method the table already has does not rewrite it
ALTER TABLE sam SET ACCESS METHOD glassheap;
SELECT rw_relfilenode('sam') AS sam_file \gset
ALTER TABLE sam SET ACCESS METHOD glassheap;
SELECT rw_relfilenode('sam') = :sam_file AS same_file;

---------------------------------------------------------------------------------------
-- Rewriting ALTER TABLEs (column type changes: core_ddl): a volatile default rewrites
-- the table (new relfilenode, one value per row), a constant one does not, as heap
SELECT twin_tables('at', 'a int PRIMARY KEY, b text');
SELECT twin($$INSERT INTO @@at SELECT g, 'b' || g FROM generate_series(1, 1000) g$$);
SELECT twin('DELETE FROM @@at WHERE a % 4 = 0');
SELECT rw_relfilenode('h_at') AS h0, rw_relfilenode('g_at') AS g0 \gset
SELECT twin('ALTER TABLE @@at ADD COLUMN c int DEFAULT 7');
SELECT rw_relfilenode('h_at') = :h0 AS h_same_file, rw_relfilenode('g_at') = :g0 AS g_same_file;
SELECT twin('ALTER TABLE @@at ADD COLUMN d float8 DEFAULT random()');
SELECT rw_relfilenode('h_at') = :h0 AS h_same_file, rw_relfilenode('g_at') = :g0 AS g_same_file;
SELECT count(DISTINCT d) = count(*) AS one_value_per_row, count(*) FROM g_at;
SELECT twin_query('SELECT a, b, c FROM @@at');
SELECT twin('ALTER TABLE @@at ADD COLUMN e timestamptz DEFAULT clock_timestamp()');
SELECT rw_relfilenode('g_at') AS g1 \gset
SELECT twin('ALTER TABLE @@at ALTER COLUMN a TYPE bigint, ALTER COLUMN c SET DEFAULT 8');
SELECT rw_relfilenode('g_at') <> :g1 AS g_rewritten;
SELECT twin('INSERT INTO @@at (a, b) VALUES (5000000000, $$big$$)');
SELECT twin_query('SELECT a, b, c FROM @@at');
SET enable_seqscan = off;
SELECT a, b, c FROM g_at WHERE a = 5000000000;
RESET enable_seqscan;
SELECT * FROM glassheap.verify('g_at');
SELECT bt_index_check('g_at_pkey', true);

---------------------------------------------------------------------------------------
-- SELECT INTO with default_table_access_method, CREATE TABLE AS ... WITH NO DATA, and
-- materialized views stored in glassheap, refreshed plainly and CONCURRENTLY
SET default_table_access_method = glassheap;
SELECT g AS a, g % 7 AS k INTO g_si FROM generate_series(1, 1000) g;
RESET default_table_access_method;
SELECT g AS a, g % 7 AS k INTO h_si FROM generate_series(1, 1000) g;
SELECT rw_am('g_si') AS g_am, rw_am('h_si') AS h_am;
SELECT twin_query('SELECT * FROM @@si');
CREATE TABLE g_ctas_nd USING glassheap AS SELECT * FROM g_si WITH NO DATA;
SELECT rw_am('g_ctas_nd') AS am, count(*) FROM g_ctas_nd;
INSERT INTO g_ctas_nd SELECT * FROM g_si WHERE k = 0;
SELECT count(*) FROM g_ctas_nd;
CREATE MATERIALIZED VIEW g_mv USING glassheap AS SELECT k, count(*) AS n, sum(a) AS s FROM g_si GROUP BY k;
CREATE MATERIALIZED VIEW h_mv USING heap AS SELECT k, count(*) AS n, sum(a) AS s FROM h_si GROUP BY k;
SELECT rw_am('g_mv') AS am;
SELECT twin('CREATE UNIQUE INDEX ON @@mv (k)');
SELECT twin('INSERT INTO @@si SELECT g, g % 9 FROM generate_series(1001, 1500) g');
SELECT twin('REFRESH MATERIALIZED VIEW @@mv');
SELECT twin_query('SELECT * FROM @@mv');
SELECT * FROM g_mv ORDER BY k;
SELECT twin('DELETE FROM @@si WHERE k = 8');
SELECT twin('UPDATE @@si SET a = a + 1 WHERE k = 3');
SELECT twin('REFRESH MATERIALIZED VIEW CONCURRENTLY @@mv');
SELECT twin_query('SELECT * FROM @@mv');
SELECT * FROM g_mv ORDER BY k;
SELECT * FROM glassheap.verify('g_mv');
SELECT bt_index_check('g_mv_k_idx', true);
SELECT twin('REFRESH MATERIALIZED VIEW @@mv WITH NO DATA');
SELECT count(*) FROM g_mv;
SELECT twin('REFRESH MATERIALIZED VIEW @@mv');
SELECT twin_query('SELECT * FROM @@mv');

---------------------------------------------------------------------------------------
-- Partitioned tables whose partitions (and default partition) are glassheap: routing,
-- rows moving between partitions on UPDATE, pruning, ATTACH / DETACH, VACUUM FULL of a
-- partition
CREATE TABLE h_pt (id int, k int, v text) PARTITION BY RANGE (k);
CREATE TABLE h_pt1 PARTITION OF h_pt FOR VALUES FROM (0) TO (100) USING heap;
CREATE TABLE h_pt2 PARTITION OF h_pt FOR VALUES FROM (100) TO (200) USING heap;
CREATE TABLE h_ptd PARTITION OF h_pt DEFAULT USING heap;
CREATE TABLE g_pt (id int, k int, v text) PARTITION BY RANGE (k);
CREATE TABLE g_pt1 PARTITION OF g_pt FOR VALUES FROM (0) TO (100) USING glassheap;
CREATE TABLE g_pt2 PARTITION OF g_pt FOR VALUES FROM (100) TO (200) USING glassheap;
CREATE TABLE g_ptd PARTITION OF g_pt DEFAULT USING glassheap;
SELECT twin('CREATE INDEX ON @@pt (id)');
SELECT twin($$INSERT INTO @@pt SELECT g, g % 250, 'v' || g FROM generate_series(1, 3000) g$$);
SELECT tableoid::regclass AS part, rw_am(tableoid) AS am, count(*) FROM g_pt GROUP BY 1 ORDER BY 1;
SELECT twin('UPDATE @@pt SET k = k + 100 WHERE id <= 60');
SELECT twin('UPDATE @@pt SET k = 10 WHERE id BETWEEN 200 AND 209');
SELECT tableoid::regclass AS part, count(*) FROM g_pt GROUP BY 1 ORDER BY 1;
SELECT twin_query('SELECT substr(tableoid::regclass::text, 3) AS part, id, k, v FROM @@pt');
EXPLAIN (COSTS OFF) SELECT * FROM g_pt WHERE k = 150;
EXPLAIN (COSTS OFF) SELECT * FROM g_pt WHERE k = 250;
SELECT count(*) FROM g_pt WHERE k = 150;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query('SELECT id, k FROM @@pt WHERE id BETWEEN 50 AND 75');
RESET enable_seqscan;
RESET enable_bitmapscan;
-- a glassheap table attached as a partition, then a partition detached
SELECT twin('CREATE TABLE @@pt3 (id int, k int, v text) USING heap');
ALTER TABLE g_pt3 SET ACCESS METHOD glassheap;
SELECT twin($$INSERT INTO @@pt3 SELECT g, 300 + g % 50, 'x' FROM generate_series(5001, 5100) g$$);
SELECT twin('ALTER TABLE @@pt ATTACH PARTITION @@pt3 FOR VALUES FROM (300) TO (400)');
SELECT twin('ALTER TABLE @@pt DETACH PARTITION @@pt1');
SELECT twin_query('SELECT substr(tableoid::regclass::text, 3) AS part, id, k, v FROM @@pt');
SELECT twin_query('SELECT id, k, v FROM @@pt1');
SELECT twin('INSERT INTO @@pt VALUES (9999, 350, $$routed$$)');
SELECT tableoid::regclass AS part, id FROM g_pt WHERE id = 9999;
VACUUM FULL g_pt2;
VACUUM FULL h_pt2;
SELECT twin_query('SELECT substr(tableoid::regclass::text, 3) AS part, id, k, v FROM @@pt');
SELECT * FROM glassheap.verify('g_pt2');

---------------------------------------------------------------------------------------
-- Parallel sequential scans: really parallel (workers launched), same results as a
-- serial scan and as the heap twin, with and without a filter
SELECT twin_tables('par', 'a int, b int, c text');
SELECT twin($$INSERT INTO @@par SELECT g, g % 100, repeat('x', g % 30) FROM generate_series(1, 200000) g$$);
SELECT twin('DELETE FROM @@par WHERE a % 11 = 0');
ANALYZE h_par, g_par;
SELECT count(*) AS n, sum(a) AS sa, sum(b) AS sb, max(length(c)) AS mc FROM g_par \gset serial_
SELECT count(*) FILTER (WHERE b < 10) AS n, sum(a) FILTER (WHERE a % 7 = 0) AS s FROM g_par \gset serialf_
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT rw_workers('SELECT count(*), sum(a), sum(b), max(length(c)) FROM g_par') > 0 AS g_parallel,
       rw_workers('SELECT count(*), sum(a), sum(b), max(length(c)) FROM h_par') > 0 AS h_parallel;
SELECT count(*) = :serial_n AND sum(a) = :serial_sa AND sum(b) = :serial_sb
       AND max(length(c)) = :serial_mc AS same_as_serial
FROM g_par;
SELECT twin_query('SELECT count(*), sum(a), sum(b), max(length(c)) FROM @@par');
-- a parallel aggregate with a filter, grouped
SELECT rw_workers('SELECT b, count(*), sum(a) FROM g_par WHERE a % 7 = 0 GROUP BY b') > 0 AS g_parallel;
SELECT count(*) FILTER (WHERE b < 10) = :serialf_n AND sum(a) FILTER (WHERE a % 7 = 0) = :serialf_s
       AS same_as_serial FROM g_par;
SELECT twin_query('SELECT b, count(*), sum(a) FROM @@par WHERE a % 7 = 0 GROUP BY b');
SELECT twin_query('SELECT a FROM @@par WHERE c = repeat($$x$$, 29) AND a < 1000');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

---------------------------------------------------------------------------------------
-- TABLESAMPLE (more in core_sample): with rows wide enough that both tables hold 7 per
-- page, every row has the same TID on glassheap and heap, so SYSTEM and BERNOULLI pick
-- exactly heap's sample for a seed
SELECT twin_tables('ts', 'a int, pad text');
SELECT twin($$INSERT INTO @@ts SELECT g, repeat('p', 1000) FROM generate_series(1, 2000) g$$);
SELECT twin('DELETE FROM @@ts WHERE a % 5 = 0');
SELECT twin_query('SELECT ctid, a FROM @@ts');
SELECT twin_query('SELECT a FROM @@ts TABLESAMPLE BERNOULLI (20) REPEATABLE (7)');
SELECT twin_query('SELECT a FROM @@ts TABLESAMPLE SYSTEM (20) REPEATABLE (7)');
SELECT twin_query('SELECT a FROM @@ts TABLESAMPLE BERNOULLI (3.5) REPEATABLE (123)');
SELECT twin_query('SELECT a FROM @@ts TABLESAMPLE SYSTEM (50) REPEATABLE (0)');
SELECT (SELECT count(*) FROM g_ts TABLESAMPLE SYSTEM (20) REPEATABLE (7))
     = (SELECT count(*) FROM g_ts TABLESAMPLE SYSTEM (20) REPEATABLE (7)) AS repeatable;

---------------------------------------------------------------------------------------
-- ANALYZE: reltuples, column statistics and the planner's estimates of a glassheap table
-- match its heap twin's. 100k rows, 10% deleted; a unique, a uniform, a skewed, a
-- nullable and a text column. ANALYZE reads every page here (fewer pages than sample
-- rows), so reltuples is exact; the per-column numbers come from a random 30000-row
-- sample, so they are compared with tolerances about five standard errors wide:
-- null_frac (p = 0.2: 0.0023) within 0.02, most common frequencies (p = 0.11..0.56:
-- 0.002..0.003) within 0.03, n_distinct within 10%; row estimates within 1% (the row
-- count) to 20% for common values and distinct counts, and within a factor of 1.5 or 2
-- for rare values (one of 900 values may or may not make the MCV list of one sample,
-- moving its estimate by up to ~60%) and histogram ranges.
SELECT twin_tables('an', 'id int, u int, s int, n int, t text');
SELECT twin($$INSERT INTO @@an SELECT g, g % 1000,
  CASE WHEN g % 10 < 5 THEN 1 WHEN g % 10 < 8 THEN 2 WHEN g % 10 = 8 THEN 3 ELSE 10 + g % 997 END,
  nullif(g % 5, 0) * (g % 300), 'x' || (g % 200) FROM generate_series(1, 100000) g$$);
SELECT twin('DELETE FROM @@an WHERE id % 10 = 7');
ANALYZE h_an;
ANALYZE g_an;
SELECT relname, reltuples, abs(reltuples - 90000) <= 900 AS within_1pct
FROM pg_class WHERE relname IN ('h_an', 'g_an') ORDER BY relname;
SELECT g.attname,
       abs(g.null_frac - h.null_frac) < 0.02 AS null_frac_close,
       CASE WHEN g.n_distinct < 0 OR h.n_distinct < 0 THEN g.n_distinct = h.n_distinct
            ELSE abs(g.n_distinct - h.n_distinct) <= 0.1 * h.n_distinct END AS n_distinct_close,
       g.n_distinct < 0 AS unique_like
FROM pg_stats g JOIN pg_stats h ON h.attname = g.attname AND h.tablename = 'h_an'
WHERE g.tablename = 'g_an' ORDER BY 1;
-- the skewed column's most common values are the same, with close frequencies
SELECT (g.most_common_vals::text::int[])[1:3] AS g_mcv, (h.most_common_vals::text::int[])[1:3] AS h_mcv,
       abs(g.most_common_freqs[1] - h.most_common_freqs[1]) < 0.03
       AND abs(g.most_common_freqs[2] - h.most_common_freqs[2]) < 0.03
       AND abs(g.most_common_freqs[3] - h.most_common_freqs[3]) < 0.03 AS freqs_close
FROM pg_stats g, pg_stats h
WHERE g.tablename = 'g_an' AND g.attname = 's' AND h.tablename = 'h_an' AND h.attname = 's';
SELECT q, rw_est(replace(q, '@@', 'g_')) / rw_est(replace(q, '@@', 'h_')) BETWEEN 1 / f AND f AS estimate_close
FROM (VALUES ('SELECT * FROM @@an', 1.01),
             ('SELECT * FROM @@an WHERE s = 1', 1.1),
             ('SELECT * FROM @@an WHERE n IS NULL', 1.1),
             ('SELECT * FROM @@an WHERE s = 3', 1.2),
             ('SELECT DISTINCT u FROM @@an', 1.2),
             ('SELECT * FROM @@an WHERE t = ''x5''', 1.5),
             ('SELECT * FROM @@an WHERE id < 1000', 1.5),
             ('SELECT * FROM @@an WHERE u BETWEEN 100 AND 300 AND s = 2', 1.5),
             ('SELECT * FROM @@an WHERE u = 5', 2),
             ('SELECT * FROM @@an WHERE s = 500', 2)) v(q, f);
-- the same plan shape for a join on both twins
SELECT twin('CREATE INDEX ON @@an (id)');
SELECT twin('ANALYZE @@an');
CREATE FUNCTION rw_plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; out text := '';
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    out := out || regexp_replace(l, '\m[gh]_', '@@', 'g') || E'\n';
  END LOOP;
  RETURN out;
END $$;
SELECT rw_plan('SELECT count(*) FROM g_an a JOIN g_an b ON a.id = b.u WHERE a.s = 3')
     = rw_plan('SELECT count(*) FROM h_an a JOIN h_an b ON a.id = b.u WHERE a.s = 3') AS same_join_plan,
       rw_plan('SELECT * FROM g_an WHERE id BETWEEN 10 AND 20')
     = rw_plan('SELECT * FROM h_an WHERE id BETWEEN 10 AND 20') AS same_range_plan;
