-- The demo's second part, on a second throwaway cluster with wal_level = logical: the
-- same change seen as WAL bytes and as a subscriber receives it, for heap and glassheap.
\pset footer off
\echo
\echo '== part 2: the same change as WAL and as a subscriber receives it (wal_level = logical) =='
\echo
CREATE EXTENSION glassheap;
CREATE TABLE h (id int PRIMARY KEY, name text) USING heap;
CREATE TABLE g (id int PRIMARY KEY, name text) USING glassheap;
\echo '-- A logical replication slot with the test_decoding output plugin; from now on every'
\echo '-- committed change of this database is decoded from the WAL.'
SELECT slot_name FROM pg_create_logical_replication_slot('demo', 'test_decoding');

\echo
\echo '-- One UPDATE that changes the primary key, traced on each table: the record, the'
\echo '-- bytes it logged (main data: glassheap logical part / heap xl_heap_update + old key),'
\echo '-- and the logical view: what decoding makes of it.'
INSERT INTO h VALUES (1, 'alice');
INSERT INTO g VALUES (1, 'alice');
SELECT 'heap' AS am, resource_manager, record_type, record_length, main_data_length, logical->'changes' AS logical
FROM glassheap.trace('UPDATE h SET id = 10 WHERE id = 1') WHERE logical IS NOT NULL
UNION ALL
SELECT 'glassheap', resource_manager, record_type, record_length, main_data_length, logical->'changes'
FROM glassheap.trace('UPDATE g SET id = 10 WHERE id = 1') WHERE logical IS NOT NULL;

\echo
\echo '-- What the slot hands to a subscriber: both tables, in commit order, the same lines.'
SELECT data FROM pg_logical_slot_get_changes('demo', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');

\echo
\echo '-- An UPDATE that keeps the key logs no old key: a subscriber finds the row by the new'
\echo '-- key, which is unchanged. A rolled-back transaction sends nothing.'
UPDATE g SET name = 'alicia' WHERE id = 10;
BEGIN; DELETE FROM g; ROLLBACK;
SELECT data FROM pg_logical_slot_get_changes('demo', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');
SELECT pg_drop_replication_slot('demo');
