-- glassheap.visibility / explain_visibility / version_chain on heap and glassheap
-- twins: the visible TIDs are exactly what SELECT ctid returns under the same snapshot,
-- the explanation ends in the same verdict, and both formats tell the same story.
SET client_min_messages = warning;
SELECT twin_tables('tm', 'a int, b text');
SELECT twin($$INSERT INTO @@tm SELECT g, 'v' || g FROM generate_series(1, 20) g$$);
SELECT twin('UPDATE @@tm SET b = b || ''!'' WHERE a <= 3');
SELECT twin('UPDATE @@tm SET b = b || ''?'' WHERE a = 1');
SELECT twin('DELETE FROM @@tm WHERE a IN (4, 5)');
BEGIN; SELECT twin($$INSERT INTO @@tm VALUES (100, 'aborted')$$); ROLLBACK;
BEGIN; SAVEPOINT s; SELECT twin('DELETE FROM @@tm WHERE a = 6'); ROLLBACK TO s;
SELECT twin('UPDATE @@tm SET b = ''sub'' WHERE a = 7'); COMMIT;
SELECT twin('SELECT a FROM @@tm WHERE a = 8 FOR UPDATE');

-- the invariant, each in one statement (one snapshot)
SELECT (SELECT array_agg(tid ORDER BY tid) FROM glassheap.visibility('g_tm') WHERE visible)
       = (SELECT array_agg(ctid ORDER BY ctid) FROM g_tm) AS glassheap_visible_are_ctids;
SELECT (SELECT array_agg(tid ORDER BY tid) FROM glassheap.visibility('h_tm') WHERE visible)
       = (SELECT array_agg(ctid ORDER BY ctid) FROM h_tm) AS heap_visible_are_ctids;

-- the same statuses and verdicts in both formats
SELECT twin_query('SELECT xmin_status, xmax_status, visible, count(*) FROM glassheap.visibility(''@@tm'') GROUP BY 1, 2, 3');
SELECT xmin_status, xmax_status, visible, count(*) FROM glassheap.visibility('g_tm') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- every explanation ends in the verdict visibility() reports
SELECT r AS rel, count(*) AS versions,
       count(*) FILTER (WHERE (SELECT outcome FROM glassheap.explain_visibility(r, v.tid) ORDER BY step DESC LIMIT 1)
                        IS DISTINCT FROM CASE WHEN v.visible THEN 'visible' ELSE 'invisible' END) AS disagreements
FROM unnest(ARRAY['g_tm', 'h_tm']::regclass[]) r, glassheap.visibility(r) v GROUP BY r ORDER BY r::text;

-- inside a writing transaction: current-transaction statuses and command ids
BEGIN;
SELECT twin($$INSERT INTO @@tm VALUES (200, 'mine')$$);
SELECT twin('UPDATE @@tm SET b = ''mine too'' WHERE a = 9');
SELECT (SELECT array_agg(tid ORDER BY tid) FROM glassheap.visibility('g_tm') WHERE visible)
       = (SELECT array_agg(ctid ORDER BY ctid) FROM g_tm) AS glassheap_ok,
       (SELECT array_agg(tid ORDER BY tid) FROM glassheap.visibility('h_tm') WHERE visible)
       = (SELECT array_agg(ctid ORDER BY ctid) FROM h_tm) AS heap_ok;
SELECT twin_query($$SELECT xmin_status, xmax_status, visible FROM glassheap.visibility('@@tm')
                    WHERE 'current transaction' IN (xmin_status, xmax_status)$$);
SELECT rule, outcome FROM glassheap.explain_visibility('g_tm', (SELECT ctid FROM g_tm WHERE a = 200)) ORDER BY step;
SELECT rule, outcome FROM glassheap.explain_visibility('h_tm', (SELECT ctid FROM h_tm WHERE a = 200)) ORDER BY step;
COMMIT;

-- a row's history, oldest to newest: same xids pattern in both, and both mark HOT versions
SELECT hop, visible, hot, lp_flags, xmax = '0' AS newest FROM glassheap.version_chain('g_tm', '(0,1)') ORDER BY hop;
SELECT hop, visible, hot, lp_flags, xmax = '0' AS newest FROM glassheap.version_chain('h_tm', '(0,1)') ORDER BY hop;
-- starting from the middle or the end finds the same chain
SELECT count(*) AS hops, min(hop) AS first, bool_and(tid IS NOT NULL) AS tids
FROM glassheap.version_chain('g_tm', (SELECT ctid FROM g_tm WHERE a = 1));
-- consecutive versions: each one's xmin is the previous one's xmax
SELECT bool_and(c.xmin = p.xmax) AS linked
FROM glassheap.version_chain('g_tm', '(0,1)') c JOIN glassheap.version_chain('g_tm', '(0,1)') p ON c.hop = p.hop + 1;
-- heap after VACUUM: the chain starts at a redirect line pointer
VACUUM h_tm;
SELECT hop, lp_flags, hot, visible FROM glassheap.version_chain('h_tm', '(0,1)') ORDER BY hop;
-- glassheap after VACUUM: the same redirect, followed the same way
VACUUM g_tm;
SELECT hop, lp_flags, hot, visible FROM glassheap.version_chain('g_tm', '(0,1)') ORDER BY hop;
-- a dead line pointer (VACUUM without index cleanup) is reported at once, as one row
SELECT twin_tables('tmdl', 'a int PRIMARY KEY, b text');
SELECT twin($$INSERT INTO @@tmdl SELECT g, 'x' FROM generate_series(1, 5) g$$);
SELECT twin($$DELETE FROM @@tmdl WHERE a = 2$$);
VACUUM (INDEX_CLEANUP off) h_tmdl;
VACUUM (INDEX_CLEANUP off) g_tmdl;
SELECT 'g' AS t, hop, tid, xmin, xmax, visible, hot, lp_flags, problem FROM glassheap.version_chain('g_tmdl', '(0,2)')
UNION ALL
SELECT 'h', hop, tid, xmin, xmax, visible, hot, lp_flags, problem FROM glassheap.version_chain('h_tmdl', '(0,2)') ORDER BY t;
SELECT * FROM glassheap.version_chain('g_tmdl', '(0,9)');

-- a snapshot passed in: in a REPEATABLE READ transaction, its own pg_current_snapshot()
-- gives the verdicts of the statement's snapshot; the output shows the snapshot used
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM g_tm;
SELECT r, (SELECT array_agg(tid ORDER BY tid) FROM glassheap.visibility(r, pg_current_snapshot()) WHERE visible)
        = (SELECT array_agg(tid ORDER BY tid) FROM glassheap.visibility(r) WHERE visible) AS same,
       (SELECT bool_and(snapshot_used = pg_current_snapshot()::text) FROM glassheap.visibility(r)) AS shows_snapshot,
       (SELECT bool_and(removal_horizon::text::bigint <= pg_snapshot_xmin(pg_current_snapshot())::text::bigint) FROM glassheap.visibility(r)) AS horizon_not_after_xmin
FROM unnest(ARRAY['g_tm', 'h_tm']::regclass[]) r ORDER BY r::text;
SELECT rule, outcome FROM glassheap.explain_visibility('g_tm', (SELECT ctid FROM g_tm WHERE a = 3), pg_current_snapshot()) ORDER BY step DESC LIMIT 1;
COMMIT;
-- the caller's own changes under a passed snapshot: command id FirstCommandId, as if in
-- progress (its insert invisible, its delete not yet in effect)
BEGIN;
SELECT twin($$INSERT INTO @@tm VALUES (500, 'mine')$$);
SELECT twin($$DELETE FROM @@tm WHERE a = 3$$);
SELECT 'g' AS t, v.xmin_status, v.xmax_status, v.visible FROM glassheap.visibility('g_tm', pg_current_snapshot()) v
WHERE v.xmin_status = 'current transaction' OR v.xmax_status = 'current transaction'
UNION ALL
SELECT 'h', v.xmin_status, v.xmax_status, v.visible FROM glassheap.visibility('h_tm', pg_current_snapshot()) v
WHERE v.xmin_status = 'current transaction' OR v.xmax_status = 'current transaction' ORDER BY 1, 2, 3;
ROLLBACK;
-- a MultiXact xmax shows its members: a share lock, then an update in a subtransaction
BEGIN;
SELECT a FROM g_tm WHERE a = 10 FOR SHARE;
SELECT a FROM h_tm WHERE a = 10 FOR SHARE;
SAVEPOINT s;
SELECT twin($$UPDATE @@tm SET b = 'multi' WHERE a = 10$$);
SELECT 'g' AS t, regexp_replace(xmax_members, '[0-9]+', 'N', 'g') AS members FROM glassheap.visibility('g_tm') WHERE xmax_members IS NOT NULL
UNION ALL
SELECT 'h', regexp_replace(xmax_members, '[0-9]+', 'N', 'g') FROM glassheap.visibility('h_tm') WHERE xmax_members IS NOT NULL ORDER BY 1;
SELECT rule, regexp_replace(observed, '[0-9]+', 'N', 'g') AS observed, outcome
FROM glassheap.explain_visibility('g_tm', (SELECT tid FROM glassheap.visibility('g_tm') WHERE xmax_members IS NOT NULL))
WHERE rule = 'xmax is a MultiXact';
ROLLBACK;
-- snapshots that cannot be judged with (xids of 3 or more digits shown as N)
CREATE FUNCTION tm_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN regexp_replace(SQLERRM, '[0-9]{3,}', 'N', 'g');
END $$;
SELECT tm_err($$SELECT * FROM glassheap.visibility('g_tm', '3:3:')$$);
SELECT tm_err($$SELECT * FROM glassheap.visibility('h_tm', '3:3:')$$);
SELECT tm_err($$SELECT * FROM glassheap.explain_visibility('g_tm', '(0,1)', '4000000000:4000000001:')$$);
DROP FUNCTION tm_err(text);
-- NULL arguments are named (the functions are not STRICT: snapshot may be NULL)
SELECT count(*) FROM glassheap.visibility('g_tm', NULL);
SELECT * FROM glassheap.visibility(NULL);
SELECT * FROM glassheap.explain_visibility('g_tm', NULL);

-- errors
SELECT * FROM glassheap.explain_visibility('g_tm', '(0,999)');
SELECT * FROM glassheap.explain_visibility('g_tm', '(5,1)');
SELECT * FROM glassheap.version_chain('g_tm', '(0,0)');
CREATE VIEW tm_view AS SELECT 1 AS one;
SELECT * FROM glassheap.visibility('tm_view');
