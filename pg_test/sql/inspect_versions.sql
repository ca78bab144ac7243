-- glassheap.all_versions: every stored version as a typed row, for heap and glassheap.
-- On heap it must give what pg_dirtyread gives (the reference); on a glassheap twin the
-- same versions (user columns, dead flags), in the same order.
CREATE EXTENSION pg_dirtyread;
SELECT twin_tables('av', 'id int, v text, n numeric');
ALTER TABLE h_av SET (autovacuum_enabled = false);
ALTER TABLE g_av SET (autovacuum_enabled = false);
SELECT twin('INSERT INTO @@av VALUES (1, ''insert'', 1.5), (2, ''delete'', NULL), (3, ''update'', 3), (4, NULL, 4)');
SELECT twin('DELETE FROM @@av WHERE id = 2');
SELECT twin('UPDATE @@av SET v = ''updated'' WHERE id = 3');
BEGIN;
SELECT twin('INSERT INTO @@av VALUES (5, ''rolled back'', 5)');
ROLLBACK;
-- a dropped column stays readable as dropped_N
SELECT twin('ALTER TABLE @@av DROP COLUMN n');
SELECT twin('INSERT INTO @@av VALUES (6, ''after drop'')');

-- hint bits set by a read of each twin, so the dead flags below do not change while
-- this test looks at them (it runs alone: no other snapshot holds the horizon back)
SELECT twin_query('SELECT count(*) FROM @@av');

-- heap: all_versions equals pg_dirtyread, system columns included
SELECT (SELECT array_agg(t ORDER BY ctid) FROM pg_dirtyread('h_av')
          AS t(ctid tid, xmin xid, xmax xid, cmin cid, cmax cid, dead bool, id int, v text, dropped_3 numeric)) =
       (SELECT array_agg(t ORDER BY ctid) FROM glassheap.all_versions('h_av')
          AS t(ctid tid, xmin xid, xmax xid, cmin cid, cmax cid, dead bool, id int, v text, dropped_3 numeric))
       AS heap_equals_pg_dirtyread;
-- glassheap: the same versions as the heap twin (stored order, values, dead flags)
SELECT id, v, dropped_3, dead, xmax <> '0' AS deleted_or_updated
FROM glassheap.all_versions('g_av') AS t(id int, v text, dropped_3 numeric, dead bool, xmax xid);
SELECT twin_query('SELECT id, v, dropped_3, dead FROM glassheap.all_versions(''@@av'') AS t(id int, v text, dropped_3 numeric, dead bool)');
-- columns in any order, a subset, tableoid
SELECT v, id, tableoid::regclass FROM glassheap.all_versions('g_av') AS t(v text, id int, tableoid oid) WHERE id = 1;

-- after VACUUM the versions it could remove are gone, as for heap (how many depends on
-- the snapshots of the tests running beside this one)
VACUUM h_av;
VACUUM g_av;
SELECT twin_query('SELECT id, v FROM glassheap.all_versions(''@@av'') AS t(id int, v text)') LIKE 'same (%' AS same_as_heap;
SELECT count(*) BETWEEN 4 AND 7 AS at_most_all_versions FROM glassheap.all_versions('g_av') AS t(id int);

-- errors
\set VERBOSITY terse
SELECT * FROM glassheap.all_versions('g_av');
SELECT * FROM glassheap.all_versions('g_av') AS t(nope int);
SELECT * FROM glassheap.all_versions('g_av') AS t(id text);
SELECT * FROM glassheap.all_versions('g_av') AS t(dropped_1 int);
SELECT * FROM glassheap.all_versions('g_av') AS t(dropped_3 int);
SELECT * FROM glassheap.all_versions('g_av') AS t(xmin int);
SELECT * FROM glassheap.all_versions('pg_tables') AS t(tablename name);
CREATE INDEX g_av_id ON g_av (id);
SELECT * FROM glassheap.all_versions('g_av_id') AS t(id int);
\set VERBOSITY default
DROP EXTENSION pg_dirtyread;
