-- HOT: updates that change no indexed column add no index entries; the new version
-- joins a same-page chain that readers walk from the index entry's root. Compared with
-- a heap twin (heap's HOT) statement by statement. Runs alone in its schedule line:
-- pruning results depend on no other session holding the xmin horizon back.
SET client_min_messages = warning;
CREATE FUNCTION hot_stats(rel regclass) RETURNS text LANGUAGE sql AS $$
  SELECT format('upd=%s hot=%s', pg_stat_get_tuples_updated(rel) + pg_stat_get_xact_tuples_updated(rel),
                pg_stat_get_tuples_hot_updated(rel) + pg_stat_get_xact_tuples_hot_updated(rel)) $$;
-- line pointer kinds of block 0, as both toolkits name them
CREATE FUNCTION g_lps(rel regclass) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(lp_flags || '=' || n, ' ' ORDER BY lp_flags) FROM (
    SELECT lp_flags, count(*) n FROM glassheap.page_items(rel, 0) GROUP BY 1) s $$;
CREATE FUNCTION h_lps(rel regclass) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(k || '=' || n, ' ' ORDER BY k) FROM (
    SELECT (ARRAY['unused','normal','redirect','dead'])[lp_flags + 1] k, count(*) n
    FROM heap_page_items(get_raw_page(rel::text, 0)) GROUP BY 1) s $$;

SELECT twin_tables('hot', 'k int PRIMARY KEY, v int, note text');
SELECT twin('ALTER TABLE @@hot SET (autovacuum_enabled = off)');
SELECT twin('CREATE INDEX ON @@hot (v)');
SELECT twin($$INSERT INTO @@hot SELECT g, g, 'n' || g FROM generate_series(1, 60) g$$);

-- a non-indexed column: HOT on both; an indexed one (v, or the key): not HOT on both
SELECT twin($$UPDATE @@hot SET note = note || '+' WHERE k <= 20$$);
SELECT twin('UPDATE @@hot SET v = v + 100 WHERE k BETWEEN 21 AND 25');
SELECT twin('UPDATE @@hot SET k = k + 1000 WHERE k = 60');
SELECT twin($$UPDATE @@hot SET note = 'again' WHERE k <= 5$$);
SELECT hot_stats('h_hot') AS heap, hot_stats('g_hot') AS glassheap;

-- index entries: one per row plus one per non-HOT update, as on heap
SELECT (SELECT count(*) FROM bt_page_items('h_hot_pkey', 1)) AS heap_pkey,
       (SELECT count(*) FROM bt_page_items('g_hot_pkey', 1)) AS glassheap_pkey,
       (SELECT count(*) FROM bt_page_items('h_hot_v_idx', 1)) AS heap_v,
       (SELECT count(*) FROM bt_page_items('g_hot_v_idx', 1)) AS glassheap_v;

-- every scan kind reaches the newest version through the chain
SELECT twin_query('SELECT * FROM @@hot');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query('SELECT * FROM @@hot WHERE k <= 30');
SELECT twin_query('SELECT k, v FROM @@hot WHERE v BETWEEN 1 AND 200');
SET enable_indexscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) SELECT * FROM g_hot WHERE k <= 30;
SELECT twin_query('SELECT * FROM @@hot WHERE k <= 30');
RESET enable_indexscan;

-- an older snapshot in the same transaction walks the chain to the version it sees
SET enable_bitmapscan = off;
BEGIN;
DECLARE hc CURSOR FOR SELECT k, note FROM h_hot WHERE k BETWEEN 3 AND 7 ORDER BY k;
DECLARE gc CURSOR FOR SELECT k, note FROM g_hot WHERE k BETWEEN 3 AND 7 ORDER BY k;
UPDATE h_hot SET note = 'later' WHERE k BETWEEN 3 AND 7;
UPDATE g_hot SET note = 'later' WHERE k BETWEEN 3 AND 7;
FETCH ALL hc;
FETCH ALL gc;
SELECT k, note FROM g_hot WHERE k BETWEEN 3 AND 7 ORDER BY k;
COMMIT;

-- uniqueness is still checked through the chain; ON CONFLICT finds the newest version
INSERT INTO h_hot VALUES (1, 0, 'dup');
INSERT INTO g_hot VALUES (1, 0, 'dup');
INSERT INTO g_hot VALUES (2, 0, 'x') ON CONFLICT (k) DO UPDATE SET note = 'upserted';
INSERT INTO h_hot VALUES (2, 0, 'x') ON CONFLICT (k) DO UPDATE SET note = 'upserted';
SELECT twin_query('SELECT * FROM @@hot WHERE k = 2');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- VACUUM: chain roots become redirects, removed heap-only versions unused line
-- pointers, non-HOT old versions dead then unused -- the same census as heap's
VACUUM h_hot, g_hot;
SELECT h_lps('h_hot') AS heap, g_lps('g_hot') AS glassheap;
SELECT * FROM glassheap.verify('g_hot');
SELECT bt_index_check('g_hot_pkey', true), bt_index_check('g_hot_v_idx', true);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query('SELECT * FROM @@hot WHERE k <= 30');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- opportunistic pruning: a nearly full page whose chains died is pruned by the next read
SELECT twin_tables('hotp', 'k int PRIMARY KEY, pad text');
SELECT twin('ALTER TABLE @@hotp SET (autovacuum_enabled = off)');
SELECT twin($$INSERT INTO @@hotp SELECT g, repeat('p', 40) FROM generate_series(1, 100) g$$);
SELECT twin($$UPDATE @@hotp SET pad = repeat('q', 40) WHERE k <= 40$$);
SELECT twin($$UPDATE @@hotp SET pad = repeat('r', 40) WHERE k <= 40$$);
SELECT twin($$UPDATE @@hotp SET pad = repeat('s', 40) WHERE k <= 40$$);
SELECT hot_stats('h_hotp') AS heap, hot_stats('g_hotp') AS glassheap;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM g_hotp WHERE k <= 100;
SELECT count(*) FROM h_hotp WHERE k <= 100;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- Both pruned HOT chains to redirects. The numbers differ: glassheap's 16-byte header
-- fits more versions on the page, so more of the updates stayed HOT.
SELECT h_lps('h_hotp') AS heap, g_lps('g_hotp') AS glassheap;
SELECT twin_query('SELECT * FROM @@hotp');

-- CREATE INDEX over HOT chains indexes each chain's root with the newest values
SELECT twin('CREATE INDEX ON @@hot (note)');
SELECT bt_index_check('g_hot_note_idx', true);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query($$SELECT k FROM @@hot WHERE note = 'later'$$);
RESET enable_seqscan;
RESET enable_bitmapscan;

-- A HOT chain the index cannot describe for older snapshots (our own HOT update is
-- not committed yet): the new index is marked indcheckxmin, as on heap
SELECT twin_tables('hotb', 'k int PRIMARY KEY, v int, w int');
SELECT twin('INSERT INTO @@hotb SELECT g, g, g FROM generate_series(1, 10) g');
BEGIN;
SELECT twin('UPDATE @@hotb SET w = -w WHERE k = 3');
SELECT twin('CREATE INDEX @@hotb_w ON @@hotb (w)');
SELECT indexrelid::regclass, indcheckxmin FROM pg_index
WHERE indexrelid IN ('h_hotb_w'::regclass, 'g_hotb_w'::regclass) ORDER BY 1;
COMMIT;
SELECT bt_index_check('g_hotb_w', true);

-- the WAL says which updates were HOT (heap: HOT_UPDATE vs UPDATE records)
CREATE TABLE hot_wal (name text PRIMARY KEY, lsn pg_lsn);
INSERT INTO hot_wal VALUES ('start', pg_current_wal_insert_lsn());
SELECT twin('UPDATE @@hotb SET v = -v WHERE k = 5');
SELECT twin('UPDATE @@hotb SET w = 0 WHERE k = 5');
INSERT INTO hot_wal VALUES ('end', pg_current_wal_insert_lsn());
SELECT resource_manager, record_type, decoded -> 'block0' ->> 'heap_only' AS heap_only
FROM glassheap.wal_records((SELECT lsn FROM hot_wal WHERE name = 'start'),
                           (SELECT lsn FROM hot_wal WHERE name = 'end'))
WHERE record_type LIKE '%UPDATE%' ORDER BY start_lsn;

-- REINDEX CONCURRENTLY rebuilds over HOT chains and validates (table_index_validate_scan)
REINDEX TABLE CONCURRENTLY h_hot;
REINDEX TABLE CONCURRENTLY g_hot;
SELECT bt_index_check(i::regclass, true) FROM unnest(ARRAY['g_hot_pkey', 'g_hot_v_idx', 'g_hot_note_idx']) i;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT twin_query('SELECT * FROM @@hot WHERE k > 0');
SELECT twin_query($$SELECT k FROM @@hot WHERE note = 'later'$$);
RESET enable_seqscan;
RESET enable_bitmapscan;

-- row counters of the current transaction (pg_stat_xact_user_tables), which glassheap
-- adds to in place while the counters of the current subtransaction level exist and
-- through pgstat's own functions when a (sub)transaction starts counting: the same
-- figures as the heap twin's across savepoints, a rolled-back one included
SELECT twin_tables('cnt', 'k int PRIMARY KEY, v int, note text');
BEGIN;
SELECT twin($$INSERT INTO @@cnt SELECT g, g, 'n' FROM generate_series(1, 10) g$$);
SELECT twin($$UPDATE @@cnt SET note = 'x' WHERE k <= 3$$);
SAVEPOINT a;
SELECT twin('INSERT INTO @@cnt VALUES (11, 11), (13, 13)');
SELECT twin('UPDATE @@cnt SET v = v + 100 WHERE k <= 4');
ROLLBACK TO a;
SELECT twin($$UPDATE @@cnt SET note = 'y' WHERE k <= 2$$);
SAVEPOINT b;
SELECT twin('DELETE FROM @@cnt WHERE k = 9');
SELECT twin('INSERT INTO @@cnt VALUES (12, 12)');
RELEASE b;
SELECT twin('DELETE FROM @@cnt WHERE k = 8');
SELECT substr(relname, 1, 1) AS am, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd
FROM pg_stat_xact_user_tables WHERE relname IN ('h_cnt', 'g_cnt') ORDER BY 1;
COMMIT;
-- and what the transaction left behind: the rows of the rolled-back savepoint are dead
-- tuples, not live ones, only if each level kept its own counters
SELECT pg_stat_force_next_flush();
SELECT substr(relname, 1, 1) AS am, n_live_tup, n_dead_tup
FROM pg_stat_user_tables WHERE relname IN ('h_cnt', 'g_cnt') ORDER BY 1;
