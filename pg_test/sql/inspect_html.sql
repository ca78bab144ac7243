-- glassheap.page_html and glassheap.record_html: standalone HTML documents. The browser
-- test (pg_test/t/027_page_html.pl) hovers them in headless Chromium; this checks the
-- documents' structure against page_items and wal_records, for heap and glassheap.
SET client_min_messages = warning;
SELECT twin_tables('ht', 'id int, v text');
SELECT twin('INSERT INTO @@ht SELECT g, repeat(''x'', g) FROM generate_series(1, 40) g');
SELECT twin('UPDATE @@ht SET v = ''updated'' WHERE id % 5 = 0');
SELECT twin('DELETE FROM @@ht WHERE id % 7 = 0');

CREATE FUNCTION ht_count(doc text, needle text) RETURNS int LANGUAGE sql AS $$
  SELECT (length(doc) - length(replace(doc, needle, ''))) / length(needle) $$;

-- one drawn line pointer and one table row per line pointer, one tuple per normal one
SELECT r AS rel,
       left(h, 15) AS doctype,
       ht_count(h, 'class="lp ') = (SELECT count(*) FROM glassheap.page_items(r, 0)) AS one_rect_per_lp,
       ht_count(h, '<tr id="row-') = (SELECT count(*) FROM glassheap.page_items(r, 0)) AS one_row_per_lp,
       ht_count(h, 'id="tuple-') = (SELECT count(*) FROM glassheap.page_items(r, 0) WHERE lp_flags = 'normal') AS one_tuple_per_normal_lp,
       h LIKE '%<g class="free" id="free">%' AS has_free_space,
       h LIKE '%id="special"%' AS has_special,
       ht_count(h, 'https:') + ht_count(h, 'src=') + ht_count(h, 'url(') AS external_refs,
       h LIKE '%</html>' || E'\n' AS complete
FROM (VALUES ('h_ht'::regclass), ('g_ht')) v(r), glassheap.page_html(r, 0) h;

-- every line pointer's xmin is in the embedded data, as page_items says
SELECT r AS rel, bool_and(strpos(h, format('[["lp","%s"],["lp_flags","%s"],["lp_off","%s"],["lp_len","%s"],["xmin","%s"]',
                                           i.lp, i.lp_flags, i.lp_off, i.lp_len, coalesce(i.xmin::text, ''))) > 0) AS items_match
FROM (VALUES ('h_ht'::regclass), ('g_ht')) v(r), glassheap.page_html(r, 0) h, glassheap.page_items(r, 0) i
GROUP BY r ORDER BY r::text;

-- names from the catalog are escaped
CREATE TABLE "ht<b>&'" (a int) USING glassheap;
INSERT INTO "ht<b>&'" VALUES (1);
SELECT strpos(h, '<title>public.ht&lt;b&gt;&amp;&#39;, block 0 (glassheap page)</title>') > 0 AS escaped,
       strpos(h, 'ht<b>') = 0 AS no_raw_name
FROM glassheap.page_html('"ht<b>&''"', 0) h;

-- a record: every field listed, the bytes adding up to record_length
SELECT w.resource_manager, w.record_type,
       left(h, 15) AS doctype,
       strpos(h, '<td>header</td><td>xl_tot_len</td>') > 0 AS has_header,
       strpos(h, format('<tr data-field="record_length"><th>record_length</th><td class="mono">%s</td></tr>', w.record_length)) > 0 AS length_row,
       strpos(h, format('<tr><th>total (record_length)</th><th>%s</th></tr>', w.record_length)) > 0 AS total_row,
       strpos(h, 'id="problems"') = 0 AS decoded_whole,
       strpos(h, '<td>block 0 header</td><td>relfilenode (spc/db/rel)</td>') > 0 AS has_block_ref
FROM (SELECT * FROM glassheap.trace('INSERT INTO g_ht VALUES (100, ''r'')') WHERE mine AND resource_manager = 'glassheap'
         UNION ALL
         SELECT * FROM glassheap.trace('INSERT INTO h_ht VALUES (100, ''r'')') WHERE mine AND resource_manager = 'Heap') w,
LATERAL glassheap.record_html(w.start_lsn) h;

-- bad input: a clear error, never a crash
SELECT glassheap.page_html('h_ht', 3);
SELECT glassheap.page_html('g_ht', -1);
SELECT glassheap.page_html(NULL, 0) IS NULL AS null_in_null_out;
CREATE INDEX ht_idx ON g_ht (id);
SELECT glassheap.page_html('ht_idx', 0);
SELECT glassheap.record_html(NULL) IS NULL AS null_in_null_out;
DO $$
BEGIN
  PERFORM glassheap.record_html('FFFFFFFF/0');
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE WARNING 'record_html(FFFFFFFF/0): %', SQLERRM;   -- (its DETAIL names the flush LSN)
END $$;
DO $$
DECLARE l pg_lsn;
BEGIN
  SELECT start_lsn INTO l FROM glassheap.trace('INSERT INTO g_ht VALUES (101, ''r'')') WHERE mine LIMIT 1;
  PERFORM glassheap.record_html(l + 1);
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE WARNING 'record_html(start + 1): %', regexp_replace(SQLERRM, '[0-9A-F]+/[0-9A-F]+', 'X/Y');
END $$;
