-- Every index AM on a glassheap table returns what it returns on the heap twin, with
-- plans forced so each scan kind (index, index-only, bitmap) really runs.
SET client_min_messages = warning;
SELECT twin_tables('ix', 'id int, k int, t text, arr int[], r int4range, p point, doc tsvector');
SELECT twin($$INSERT INTO @@ix SELECT g, g % 50, 'w' || (g % 97), ARRAY[g % 7, g % 11], int4range(g, g + g % 20),
              point(g % 31, g % 17), to_tsvector('simple', 'word' || (g % 13) || ' other' || (g % 5))
              FROM generate_series(1, 3000) g$$);
SELECT twin('UPDATE @@ix SET k = k + 1000 WHERE id % 10 = 0');
SELECT twin('DELETE FROM @@ix WHERE id % 33 = 0');
SELECT twin('CREATE INDEX @@ix_btree ON @@ix (k)');
SELECT twin('CREATE INDEX @@ix_hash ON @@ix USING hash (t)');
SELECT twin('CREATE INDEX @@ix_gist ON @@ix USING gist (r)');
SELECT twin('CREATE INDEX @@ix_spgist ON @@ix USING spgist (p)');
SELECT twin('CREATE INDEX @@ix_gin ON @@ix USING gin (arr)');
SELECT twin('CREATE INDEX @@ix_gin_fts ON @@ix USING gin (doc)');
SELECT twin('CREATE INDEX @@ix_brin ON @@ix USING brin (id) WITH (pages_per_range = 2)');
SELECT twin('CREATE INDEX @@ix_partial ON @@ix (id) WHERE k > 1000');
SELECT twin('CREATE INDEX @@ix_expr ON @@ix (lower(t))');
ANALYZE g_ix; ANALYZE h_ix;

-- plain index scans
SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM g_ix WHERE k = 7;
SELECT twin_query('SELECT id FROM @@ix WHERE k = 7');
SELECT twin_query('SELECT id FROM @@ix WHERE k BETWEEN 1005 AND 1010 ORDER BY k DESC');
SELECT twin_query($$SELECT id FROM @@ix WHERE t = 'w5'$$);
SELECT twin_query($$SELECT id FROM @@ix WHERE r @> 100$$);
SELECT twin_query($$SELECT id FROM @@ix WHERE p <@ box '((0,0),(3,3))'$$);
SELECT twin_query($$SELECT id FROM @@ix WHERE k > 1000 AND id < 500$$);
SELECT twin_query($$SELECT id FROM @@ix WHERE lower(t) = 'w12'$$);
-- a nearest-neighbour order from GiST/SP-GiST
SELECT twin_query($$SELECT id FROM (SELECT id, p <-> point(5,5) AS d FROM @@ix ORDER BY p <-> point(5,5), id LIMIT 20) s$$);

-- bitmap scans (GIN and BRIN only offer these), BitmapAnd/Or
SET enable_indexscan = off; SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) SELECT id FROM g_ix WHERE arr @> ARRAY[3];
SELECT twin_query('SELECT id FROM @@ix WHERE arr @> ARRAY[3]');
-- (written out: twin_query's @@ placeholder is also the text-search match operator)
EXPLAIN (COSTS OFF) SELECT id FROM g_ix WHERE doc @@ to_tsquery('simple', 'word3 & other2');
SELECT (SELECT array_agg(id ORDER BY id) FROM g_ix WHERE doc @@ to_tsquery('simple', 'word3 & other2'))
     = (SELECT array_agg(id ORDER BY id) FROM h_ix WHERE doc @@ to_tsquery('simple', 'word3 & other2')) AS same_fts,
       (SELECT count(*) FROM g_ix WHERE doc @@ to_tsquery('simple', 'word3 & other2')) AS matches;
SELECT twin_query('SELECT id FROM @@ix WHERE id BETWEEN 100 AND 180');
EXPLAIN (COSTS OFF) SELECT id FROM g_ix WHERE k = 3 OR t = 'w9';
SELECT twin_query($$SELECT id FROM @@ix WHERE k = 3 OR t = 'w9'$$);
SELECT twin_query($$SELECT id FROM @@ix WHERE k = 3 AND arr @> ARRAY[2]$$);
EXPLAIN (COSTS OFF) SELECT id FROM g_ix WHERE id BETWEEN 100 AND 180;

-- index-only scans: correct results (glassheap sets no all-visible bits yet, so every
-- row is checked in the table, never answered from the index alone wrongly)
SET enable_bitmapscan = off; SET enable_indexonlyscan = on; SET enable_indexscan = on;
EXPLAIN (COSTS OFF) SELECT k FROM g_ix WHERE k < 10;
SELECT twin_query('SELECT k FROM @@ix WHERE k < 10');
RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_indexonlyscan; RESET enable_indexscan;

-- the indexes agree with the table after all that (amcheck on the btree)
SELECT bt_index_check('g_ix_btree', true);
SELECT bt_index_check('g_ix_partial', true);
