-- glassheap.trace and glassheap.page_map.
SET client_min_messages = warning;
SELECT twin_tables('tt', 'a int PRIMARY KEY, b text');
SELECT twin($$INSERT INTO @@tt SELECT g, 'v' || g FROM generate_series(1, 10) g$$);

-- the same INSERT on both: glassheap's own record vs heap's, then the index insert
BEGIN;
SELECT resource_manager, record_type, main_data_length, dirtied FROM glassheap.trace($$INSERT INTO g_tt VALUES (11, 'eleven')$$) WHERE mine ORDER BY start_lsn;
SELECT resource_manager, record_type, main_data_length, dirtied FROM glassheap.trace($$INSERT INTO h_tt VALUES (11, 'eleven')$$) WHERE mine ORDER BY start_lsn;
-- glassheap's record is smaller, image bytes aside
SELECT (SELECT record_length - fpi_length FROM glassheap.trace($$INSERT INTO g_tt VALUES (12, 'x')$$) WHERE resource_manager = 'glassheap' AND mine)
     < (SELECT record_length - fpi_length FROM glassheap.trace($$INSERT INTO h_tt VALUES (12, 'x')$$) WHERE resource_manager = 'Heap' AND mine)
     AS glassheap_smaller;
COMMIT;
-- UPDATE and DELETE
BEGIN;
SELECT resource_manager, record_type, dirtied FROM glassheap.trace('UPDATE g_tt SET b = ''u'' WHERE a = 1') WHERE mine ORDER BY start_lsn;
SELECT resource_manager, record_type, dirtied FROM glassheap.trace('UPDATE h_tt SET b = ''u'' WHERE a = 1') WHERE mine ORDER BY start_lsn;
SELECT resource_manager, record_type, (decoded->'block0'->>'offnum')::int > 0 AS has_offnum FROM glassheap.trace('DELETE FROM g_tt WHERE a = 2') WHERE mine;
ROLLBACK;
-- the trace agrees with wal_records over the same range
BEGIN;
CREATE TEMP TABLE tt_trace AS SELECT * FROM glassheap.trace($$INSERT INTO g_tt VALUES (50, 'fifty')$$);
COMMIT;
SELECT count(*) = (SELECT count(*) FROM tt_trace) AND count(*) >= 2 AS all_records_match FROM tt_trace t JOIN glassheap.wal_records((SELECT min(start_lsn) FROM tt_trace),
       (SELECT max(end_lsn) FROM tt_trace)) w USING (start_lsn, end_lsn, resource_manager, record_type, record_length, description);
-- statements that write nothing trace nothing; failures are errors
SELECT count(*) FROM glassheap.trace('SELECT 1');
SELECT * FROM glassheap.trace('INSERT INTO g_tt VALUES (1, ''dup'')');
SELECT * FROM glassheap.trace('not sql');

-- page_map: text and svg
CREATE TABLE tt_map (a int, b text) USING glassheap;
INSERT INTO tt_map SELECT g, repeat('m', 200) FROM generate_series(1, 100) g;
DELETE FROM tt_map WHERE a > 60;
SELECT glassheap.page_map('tt_map');
CREATE TABLE tt_hmap (a int, b text) USING heap WITH (autovacuum_enabled = off);
INSERT INTO tt_hmap SELECT g, repeat('m', 200) FROM generate_series(1, 100) g;
VACUUM (FREEZE) tt_hmap;
SELECT glassheap.page_map('tt_hmap');
-- the svg is a well-formed standalone document with one group per page and a legend
SELECT xml_is_well_formed_document(glassheap.page_map('tt_map', 'svg')) AS well_formed,
       (xpath('count(//*[local-name()="g"]/*[local-name()="title"])', glassheap.page_map('tt_map', 'svg')::xml))[1]::text::int
         = pg_relation_size('tt_map') / 8192 AS one_cell_per_page,
       glassheap.page_map('tt_map', 'svg') LIKE '%legend%' AS has_legend;
SELECT xml_is_well_formed_document(glassheap.page_map('tt_hmap', 'svg')) AS heap_well_formed;
CREATE TABLE "tt <&> map" (a int) USING glassheap;
SELECT xml_is_well_formed_document(glassheap.page_map('"tt <&> map"', 'svg')) AS escaped_name;
SELECT glassheap.page_map('tt_map', 'png');
