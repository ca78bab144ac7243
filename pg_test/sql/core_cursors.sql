-- Cursors: forward, backward, scroll, and what a cursor sees of later commands in the
-- same transaction (command ids, including combo command ids).
SELECT twin_tables('cur', 'a int, b text');
SELECT twin($$INSERT INTO @@cur SELECT g, 'row ' || g FROM generate_series(1, 600) g$$);

BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT a FROM g_cur;
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH ABSOLUTE 300 FROM c;
FETCH RELATIVE -5 FROM c;
FETCH LAST FROM c;
FETCH NEXT FROM c;
FETCH PRIOR FROM c;
FETCH FIRST FROM c;
FETCH BACKWARD 1 FROM c;
MOVE FORWARD ALL IN c;
FETCH BACKWARD 3 FROM c;
CLOSE c;
COMMIT;

-- a full backward scan returns exactly the forward rows in reverse order
DO $$
DECLARE c refcursor; v int; fwd int[] := '{}'; bwd int[] := '{}';
BEGIN
  OPEN c SCROLL FOR SELECT a FROM g_cur;
  LOOP FETCH NEXT FROM c INTO v; EXIT WHEN NOT FOUND; fwd := fwd || v; END LOOP;
  LOOP FETCH PRIOR FROM c INTO v; EXIT WHEN NOT FOUND; bwd := v || bwd; END LOOP;
  RAISE NOTICE 'forward % rows, backward % rows, reverse order matches: %', cardinality(fwd), cardinality(bwd), fwd = bwd;
  CLOSE c;
END $$;

-- cursor stability: rows inserted/updated/deleted after the cursor opened are not seen
BEGIN;
DECLARE s CURSOR FOR SELECT a, b FROM g_cur WHERE a <= 5;
INSERT INTO g_cur VALUES (0, 'inserted after open');
UPDATE g_cur SET b = 'updated after open' WHERE a = 2;
DELETE FROM g_cur WHERE a = 3;
FETCH ALL FROM s;
SELECT a, b FROM g_cur WHERE a <= 5 ORDER BY a;
ROLLBACK;

-- PostgreSQL's combocid regression scenario on a glassheap table
CREATE TABLE combocidtest (foobar int) USING glassheap;
BEGIN;
INSERT INTO combocidtest VALUES (1);
INSERT INTO combocidtest VALUES (2);
SELECT ctid, cmin, * FROM combocidtest;
SAVEPOINT s1;
UPDATE combocidtest SET foobar = foobar + 10;
SELECT ctid, * FROM combocidtest;
ROLLBACK TO s1;
SELECT ctid, * FROM combocidtest;
COMMIT;
SELECT ctid, * FROM combocidtest;

BEGIN;
INSERT INTO combocidtest VALUES (333);
DECLARE c CURSOR FOR SELECT ctid, * FROM combocidtest;
DELETE FROM combocidtest;
FETCH ALL FROM c;
ROLLBACK;
SELECT ctid, * FROM combocidtest;

BEGIN;
INSERT INTO combocidtest VALUES (444);
DECLARE c CURSOR FOR SELECT ctid, * FROM combocidtest;
SAVEPOINT s1;
UPDATE combocidtest SET foobar = foobar + 10;
FETCH ALL FROM c;
ROLLBACK TO s1;
SELECT ctid, * FROM combocidtest;
COMMIT;
SELECT ctid, * FROM combocidtest;

-- a big transaction whose updates move rows to other pages (command ids kept in
-- backend memory) still sees its own history correctly through a cursor
CREATE TABLE g_move (a int, pad text) USING glassheap;
INSERT INTO g_move SELECT g, repeat('p', 20) FROM generate_series(1, 3000) g;
BEGIN;
DECLARE m CURSOR FOR SELECT count(*), sum(a) FROM g_move;
UPDATE g_move SET a = a + 1, pad = repeat('q', 40);
FETCH ALL FROM m;
SELECT count(*), sum(a) FROM g_move;
UPDATE g_move SET a = a + 1;
SELECT count(*), sum(a) FROM g_move;
SET LOCAL max_parallel_workers_per_gather = 4;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
-- no parallel plan for a table whose command ids live in this backend only
EXPLAIN (COSTS OFF) SELECT count(*) FROM g_move;
SELECT count(*), sum(a) FROM g_move;
COMMIT;
SELECT count(*), sum(a) FROM g_move;
-- control: outside that transaction the same settings do give a parallel plan
BEGIN;
SET LOCAL max_parallel_workers_per_gather = 4;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM g_move;
SELECT count(*), sum(a) FROM g_move;
COMMIT;
