-- glassheap.explain_horizon: why a dead version cannot be removed yet. A prepared
-- transaction that began before a DELETE holds the removal horizon back; the deleted
-- version stays (VACUUM keeps it) until the prepared transaction ends. Same on a heap
-- twin. (Runs alone: other tests' snapshots would hold the horizon too.)
SELECT twin_tables('hz', 'id int, v text');
SELECT twin('INSERT INTO @@hz SELECT g, ''v'' || g FROM generate_series(1, 5) g');
CREATE TABLE hz_other (a int) USING glassheap;
BEGIN;
INSERT INTO hz_other VALUES (1);
PREPARE TRANSACTION 'hz_hold';
SELECT twin('DELETE FROM @@hz WHERE id = 1');
VACUUM h_hz;
VACUUM g_hz;

-- the version is deleted but not removable; the prepared transaction is what holds it
SELECT am, holder, regexp_replace(state, '\d+', 'N', 'g') AS state, holds_back,
       regexp_replace(coalesce(release, ''), '\d+', 'N', 'g') AS release
FROM (SELECT 'heap' AS am, * FROM glassheap.explain_horizon('h_hz', '(0,1)')
      UNION ALL
      SELECT 'glassheap', * FROM glassheap.explain_horizon('g_hz', '(0,1)')) e
WHERE holder <> 'backend' ORDER BY am DESC, holder = 'version' DESC, holder;
SELECT twin_query('SELECT count(*) FROM glassheap.page_items(''@@hz'', 0) WHERE lp = 1 AND lp_flags = ''normal''');

ROLLBACK PREPARED 'hz_hold';
-- nothing holds it any more: removable, and VACUUM removes it
SELECT holder, regexp_replace(state, '\d+', 'N', 'g') AS state, holds_back
FROM glassheap.explain_horizon('g_hz', '(0,1)') WHERE holder = 'version';
VACUUM h_hz;
VACUUM g_hz;
SELECT lp_flags FROM glassheap.page_items('g_hz', 0) WHERE lp = 1;
SELECT twin_query('SELECT lp_flags FROM glassheap.page_items(''@@hz'', 0) WHERE lp = 1');

-- bad input
\set VERBOSITY terse
SELECT * FROM glassheap.explain_horizon('g_hz', '(0,99)');
SELECT * FROM glassheap.explain_horizon('pg_tables');
\set VERBOSITY default
