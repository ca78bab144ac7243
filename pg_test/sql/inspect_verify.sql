-- glassheap.verify: no rows on healthy tables after every kind of change; clear errors
-- for relations it cannot check. (Planted corruption is found in TAP t/005, which
-- writes damaged page images with the server stopped.)
SET client_min_messages = warning;
CREATE TABLE ivf_g (k int PRIMARY KEY, v text, n int) USING glassheap;
INSERT INTO ivf_g SELECT g, repeat('v', g % 50), g FROM generate_series(1, 3000) g;
UPDATE ivf_g SET n = -n WHERE k % 3 = 0;
UPDATE ivf_g SET v = repeat('w', 300) WHERE k % 17 = 0;     -- moves to other pages
DELETE FROM ivf_g WHERE k % 5 = 0;
SELECT count(*) FROM (SELECT k FROM ivf_g WHERE k % 11 = 1 FOR SHARE) s;  -- lockers
BEGIN; UPDATE ivf_g SET n = 0 WHERE k < 100; ROLLBACK;      -- aborted updates
BEGIN; SAVEPOINT a; DELETE FROM ivf_g WHERE k BETWEEN 200 AND 220; ROLLBACK TO a; COMMIT;
INSERT INTO ivf_g VALUES (1, 'x', 1) ON CONFLICT (k) DO UPDATE SET n = 99;
SELECT count(*) AS problems FROM glassheap.verify('ivf_g');
SELECT pg_relation_size('ivf_g') / 8192 > 5 AS several_pages;

CREATE TABLE ivf_empty (a int) USING glassheap;
SELECT count(*) AS problems FROM glassheap.verify('ivf_empty');

-- what it refuses
CREATE TABLE ivf_heap (a int) USING heap;
CREATE VIEW ivf_view AS SELECT 1 AS one;
SELECT * FROM glassheap.verify('ivf_heap');
SELECT * FROM glassheap.verify('ivf_view');
SELECT * FROM glassheap.verify('ivf_g_pkey');
