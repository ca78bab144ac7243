-- INSERT, UPDATE, DELETE, RETURNING, subtransactions and rollbacks give heap's results.
SELECT twin_tables('acct', 'id int, owner text, balance numeric, note text');
SELECT twin($$INSERT INTO @@acct SELECT g, 'owner' || (g % 10), g * 10, NULL FROM generate_series(1, 2000) g$$);
SELECT twin_query($$SELECT * FROM @@acct$$);

SELECT twin($$UPDATE @@acct SET balance = balance + 1 WHERE id % 3 = 0$$);
SELECT twin($$UPDATE @@acct SET note = repeat('n', id % 300) WHERE id % 5 = 0$$);
SELECT twin($$DELETE FROM @@acct WHERE id % 7 = 0$$);
SELECT twin_query($$SELECT * FROM @@acct$$);
SELECT twin_query($$SELECT owner, count(*), sum(balance) FROM @@acct GROUP BY owner$$);

-- RETURNING sees the stored row
UPDATE g_acct SET balance = -1 WHERE id = 1 RETURNING id, owner, balance;
DELETE FROM g_acct WHERE id = 2 RETURNING *;
INSERT INTO g_acct VALUES (9999, 'new', 0, 'x') RETURNING *;
UPDATE h_acct SET balance = -1 WHERE id = 1;
DELETE FROM h_acct WHERE id = 2;
INSERT INTO h_acct VALUES (9999, 'new', 0, 'x');

-- a row updated many times in one statement sequence
DO $$ BEGIN FOR i IN 1..50 LOOP PERFORM twin('UPDATE @@acct SET balance = balance + 1 WHERE id = 3'); END LOOP; END $$;
SELECT twin_query($$SELECT * FROM @@acct WHERE id = 3$$);

-- rollback and savepoints
BEGIN;
SELECT twin($$DELETE FROM @@acct WHERE id < 100$$);
SELECT twin($$UPDATE @@acct SET balance = 0$$);
ROLLBACK;
SELECT twin_query($$SELECT * FROM @@acct$$);

BEGIN;
SELECT twin($$INSERT INTO @@acct VALUES (10001, 'sp', 1, 'a')$$);
SAVEPOINT s1;
SELECT twin($$UPDATE @@acct SET balance = 100 WHERE id = 10001$$);
SELECT twin($$DELETE FROM @@acct WHERE id = 4$$);
SAVEPOINT s2;
SELECT twin($$UPDATE @@acct SET balance = 200 WHERE id = 10001$$);
ROLLBACK TO s2;
SELECT twin($$UPDATE @@acct SET note = 'after s2' WHERE id = 10001$$);
ROLLBACK TO s1;
SELECT twin($$UPDATE @@acct SET note = 'after s1' WHERE id = 10001$$);
RELEASE s1;
SELECT twin_query($$SELECT * FROM @@acct WHERE id IN (4, 10001)$$);
COMMIT;
SELECT id, balance, note FROM g_acct WHERE id IN (4, 10001) ORDER BY id;

-- an error inside a subtransaction leaves no trace
BEGIN;
SAVEPOINT a;
INSERT INTO g_acct VALUES (20000, 'err', 1, NULL);
SELECT 1/0;
ROLLBACK TO a;
SELECT count(*) FROM g_acct WHERE id = 20000;
COMMIT;

-- the same row inserted, updated and deleted in one transaction (combo command ids)
BEGIN;
SELECT twin($$INSERT INTO @@acct VALUES (30000, 'combo', 1, NULL)$$);
SELECT twin($$UPDATE @@acct SET balance = 2 WHERE id = 30000$$);
SELECT twin($$UPDATE @@acct SET balance = 3 WHERE id = 30000$$);
SELECT twin_query($$SELECT * FROM @@acct WHERE id = 30000$$);
SELECT twin($$DELETE FROM @@acct WHERE id = 30000$$);
SELECT twin_query($$SELECT * FROM @@acct WHERE id = 30000$$);
COMMIT;

-- system columns: xmin/xmax behave like heap's
CREATE TABLE g_sys (a int) USING glassheap;
INSERT INTO g_sys VALUES (1);
SELECT xmin::text::bigint > 2 AS has_xmin, xmax = '0'::xid AS xmax_zero, cmin = '0'::cid AS cmin_zero FROM g_sys;
BEGIN;
UPDATE g_sys SET a = 2;
SELECT a, xmin = pg_current_xact_id()::xid AS inserted_by_me FROM g_sys;
COMMIT;
BEGIN;
SELECT a FROM g_sys FOR UPDATE;
SELECT count(*) FROM g_sys WHERE xmax = pg_current_xact_id()::xid;
COMMIT;

-- TID scans and TID range scans
SELECT twin_tables('tids', 'a int');
SELECT twin($$INSERT INTO @@tids SELECT generate_series(1, 1000)$$);
SELECT a FROM g_tids WHERE ctid = '(0,5)';
SELECT a FROM g_tids WHERE ctid = '(1000,1)';
SELECT a FROM g_tids WHERE ctid = '(0,0)';
EXPLAIN (COSTS OFF) SELECT count(*) FROM g_tids WHERE ctid >= '(1,0)' AND ctid < '(2,0)';
SELECT count(*), min(a), max(a) FROM g_tids WHERE ctid >= '(1,0)' AND ctid < '(2,0)';
SELECT count(*) FROM g_tids WHERE ctid > '(3,100)';
SELECT count(*) FROM g_tids WHERE ctid < '(0,1)';
-- 291 rows per page (heap fits 226 here)
SELECT max((ctid::text::point)[1]) AS last_offset_page0 FROM g_tids WHERE (ctid::text::point)[0] = 0;
SELECT max((ctid::text::point)[1]) AS last_offset_page0 FROM h_tids WHERE (ctid::text::point)[0] = 0;
-- currtid: the latest version of an updated row
-- (a prepared transaction holds the xmin horizon so that no read prunes the old
-- version away before currtid2 follows its chain, on either twin)
BEGIN;
SELECT pg_current_xact_id() IS NOT NULL AS holds_xid;
PREPARE TRANSACTION 'core_dml_hold';
SELECT twin($$UPDATE @@tids SET a = -a WHERE a = 10$$);
SELECT a FROM g_tids WHERE ctid = currtid2('g_tids', '(0,10)');
SELECT a FROM h_tids WHERE ctid = currtid2('h_tids', '(0,10)');
ROLLBACK PREPARED 'core_dml_hold';

-- joins, aggregates and sorts over both twins agree
SELECT twin_query($$SELECT a.id, b.a FROM @@acct a JOIN @@tids b ON a.id = b.a WHERE a.id < 100$$);
SELECT twin_query($$SELECT owner, string_agg(id::text, ',' ORDER BY id) FROM @@acct WHERE id < 60 GROUP BY owner$$);
