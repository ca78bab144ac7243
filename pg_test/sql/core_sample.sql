-- TABLESAMPLE SYSTEM and BERNOULLI on glassheap: sampling only ever returns visible
-- rows, REPEATABLE gives the same sample again, 0% and 100% are exact, and the sample
-- size is in proportion. (Which rows are picked depends on TIDs, and glassheap packs more
-- rows per page than heap, so the samples themselves differ from a heap twin's.)
SET client_min_messages = warning;
SELECT twin_tables('sm', 'a int, pad text');
SELECT twin($$INSERT INTO @@sm SELECT g, repeat('p', 40) FROM generate_series(1, 4000) g$$);
SELECT twin('DELETE FROM @@sm WHERE a % 4 = 0');
BEGIN; SELECT twin($$INSERT INTO @@sm SELECT g, 'aborted' FROM generate_series(5000, 5100) g$$); ROLLBACK;

SELECT twin_query('SELECT count(*) FROM @@sm TABLESAMPLE SYSTEM (100)');
SELECT twin_query('SELECT count(*) FROM @@sm TABLESAMPLE BERNOULLI (100)');
SELECT twin_query('SELECT count(*) FROM @@sm TABLESAMPLE SYSTEM (0)');
SELECT twin_query('SELECT count(*) FROM @@sm TABLESAMPLE BERNOULLI (0)');
-- never a deleted or aborted row
SELECT count(*) FILTER (WHERE a % 4 = 0 OR a >= 5000) AS invisible_rows_sampled
FROM g_sm TABLESAMPLE BERNOULLI (60) REPEATABLE (7);
-- REPEATABLE: the same seed gives the same sample, another seed another one
SELECT (SELECT array_agg(a ORDER BY a) FROM g_sm TABLESAMPLE BERNOULLI (30) REPEATABLE (42))
     = (SELECT array_agg(a ORDER BY a) FROM g_sm TABLESAMPLE BERNOULLI (30) REPEATABLE (42)) AS bernoulli_repeatable,
       (SELECT array_agg(a ORDER BY a) FROM g_sm TABLESAMPLE SYSTEM (30) REPEATABLE (42))
     = (SELECT array_agg(a ORDER BY a) FROM g_sm TABLESAMPLE SYSTEM (30) REPEATABLE (42)) AS system_repeatable,
       (SELECT array_agg(a ORDER BY a) FROM g_sm TABLESAMPLE BERNOULLI (30) REPEATABLE (42))
     <> (SELECT array_agg(a ORDER BY a) FROM g_sm TABLESAMPLE BERNOULLI (30) REPEATABLE (43)) AS seeds_differ;
-- in proportion: 3000 live rows, 30% sample (fixed seeds keep this stable)
SELECT count(*) BETWEEN 700 AND 1100 AS bernoulli_about_30pct FROM g_sm TABLESAMPLE BERNOULLI (30) REPEATABLE (1);
SELECT count(*) BETWEEN 500 AND 1300 AS system_about_30pct FROM g_sm TABLESAMPLE SYSTEM (30) REPEATABLE (1);
-- SYSTEM takes whole pages: every sampled page is returned complete
SELECT bool_and(n = full_n) AS whole_pages FROM (
  SELECT (ctid::text::point)[0] AS blk, count(*) AS n FROM g_sm TABLESAMPLE SYSTEM (30) REPEATABLE (3) GROUP BY 1) s
  JOIN (SELECT (ctid::text::point)[0] AS blk, count(*) AS full_n FROM g_sm GROUP BY 1) f USING (blk);
-- own uncommitted rows are sampled too
BEGIN;
INSERT INTO g_sm SELECT g, 'mine' FROM generate_series(9000, 9099) g;
SELECT count(*) FROM g_sm TABLESAMPLE BERNOULLI (100) WHERE pad = 'mine';
ROLLBACK;
-- in a cursor, scanned backwards and rescanned
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT a FROM g_sm TABLESAMPLE SYSTEM (50) REPEATABLE (5);
MOVE FORWARD ALL IN c;
MOVE BACKWARD 10 IN c;
FETCH ABSOLUTE 1 FROM c;
COMMIT;
SELECT a FROM g_sm TABLESAMPLE SYSTEM (50) REPEATABLE (5) LIMIT 1;
