-- glassheap writes its own WAL records (resource manager "glassheap"), never heap's, for
-- its relations; pg_walinspect names them through glassheap's rm_identify/rm_desc.
CREATE TABLE g_w (id int, t text) USING glassheap;
CREATE TABLE w_lsn (name text, lsn pg_lsn);
INSERT INTO w_lsn VALUES ('start', pg_current_wal_insert_lsn());
INSERT INTO g_w VALUES (1, 'a'), (2, 'b');
COPY g_w FROM PROGRAM 'seq 3 400 | sed "s/.*/&\tcopy/"';
UPDATE g_w SET t = 'updated' WHERE id = 1;
UPDATE g_w SET t = repeat('z', 2000) WHERE id BETWEEN 3 AND 10;
DELETE FROM g_w WHERE id = 2;
BEGIN; SELECT id FROM g_w WHERE id = 1 FOR UPDATE; COMMIT;
INSERT INTO w_lsn VALUES ('end', pg_current_wal_insert_lsn());

-- which record types touched g_w's relfilenode, by resource manager (a PRUNE may come
-- too when a read finds a full page, unless another session's snapshot holds the
-- horizon back; core_vacuum checks pruning where nothing runs beside it)
SELECT resource_manager, record_type, count(*) > 0 AS seen
FROM pg_get_wal_records_info((SELECT lsn FROM w_lsn WHERE name = 'start'), (SELECT lsn FROM w_lsn WHERE name = 'end'))
WHERE block_ref LIKE '%' || pg_relation_filenode('g_w') || '%' AND record_type <> 'PRUNE'
GROUP BY 1, 2 ORDER BY 1, 2;
-- no heap or heap2 record ever references a glassheap relation
SELECT count(*) AS heap_records_on_glassheap
FROM pg_get_wal_records_info((SELECT lsn FROM w_lsn WHERE name = 'start'), (SELECT lsn FROM w_lsn WHERE name = 'end'))
WHERE resource_manager IN ('Heap', 'Heap2') AND block_ref LIKE '%/' || pg_relation_filenode('g_w') || ' %';
-- descriptions come from glassheap's rm_desc
SELECT record_type, description ~ '^(off|ntuples|old off|new off)' AS described
FROM pg_get_wal_records_info((SELECT lsn FROM w_lsn WHERE name = 'start'), (SELECT lsn FROM w_lsn WHERE name = 'end'))
WHERE resource_manager = 'glassheap' AND record_type <> 'PRUNE'
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT "resource_manager/record_type", count > 0 AS counted FROM pg_get_wal_stats((SELECT lsn FROM w_lsn WHERE name = 'start'), (SELECT lsn FROM w_lsn WHERE name = 'end')) WHERE "resource_manager/record_type" = 'glassheap';

-- a single narrow-row insert record is smaller than heap's (without the page images
-- that wal_consistency_checking would add to both)
SET wal_consistency_checking = '';
CREATE TABLE h_n (a int, b int) USING heap;
CREATE TABLE g_n (a int, b int) USING glassheap;
INSERT INTO h_n VALUES (0, 0);
INSERT INTO g_n VALUES (0, 0);
INSERT INTO w_lsn VALUES ('n1', pg_current_wal_insert_lsn());
INSERT INTO h_n VALUES (1, 2);
INSERT INTO g_n VALUES (1, 2);
INSERT INTO w_lsn VALUES ('n2', pg_current_wal_insert_lsn());
SELECT resource_manager, record_type, record_length
FROM pg_get_wal_records_info((SELECT lsn FROM w_lsn WHERE name = 'n1'), (SELECT lsn FROM w_lsn WHERE name = 'n2'))
WHERE resource_manager IN ('Heap', 'glassheap') AND fpi_length = 0
  AND (block_ref LIKE '%/' || pg_relation_filenode('h_n') || ' %' OR block_ref LIKE '%/' || pg_relation_filenode('g_n') || ' %')
ORDER BY 1;
RESET wal_consistency_checking;

-- a same-page update logs only the bytes of the row that changed: the prefix and suffix
-- it shares with the old version are rebuilt from the page at redo, as heap's
-- HOT_UPDATE does (the first update may carry a page image after a checkpoint; the
-- second is measured)
SET wal_consistency_checking = '';
CREATE TABLE h_upd (id int, bid int, n int, pad char(84)) USING heap;
CREATE TABLE g_upd (id int, bid int, n int, pad char(84)) USING glassheap;
INSERT INTO h_upd VALUES (1, 1, 0, 'p');
INSERT INTO g_upd VALUES (1, 1, 0, 'p');
UPDATE h_upd SET n = n + 1;
UPDATE g_upd SET n = n + 1;
INSERT INTO w_lsn VALUES ('u1', pg_current_wal_insert_lsn());
UPDATE h_upd SET n = n - 7;
UPDATE g_upd SET n = n - 7;
INSERT INTO w_lsn VALUES ('u2', pg_current_wal_insert_lsn());
SELECT resource_manager, record_type, record_length,
       CASE WHEN resource_manager = 'glassheap' THEN regexp_replace(description, 'xmax [0-9]+', 'xmax N') END AS description
FROM pg_get_wal_records_info((SELECT lsn FROM w_lsn WHERE name = 'u1'), (SELECT lsn FROM w_lsn WHERE name = 'u2'))
WHERE resource_manager IN ('Heap', 'glassheap') AND fpi_length = 0
  AND (block_ref LIKE '%/' || pg_relation_filenode('h_upd') || ' %' OR block_ref LIKE '%/' || pg_relation_filenode('g_upd') || ' %')
ORDER BY 1;
-- the toolkit's decoding shows the full and the logged length
SELECT r.decoded->'block0'->'prefix_len' AS prefix_len, r.decoded->'block0'->'suffix_len' AS suffix_len,
       r.decoded->'block0'->'body' AS body
FROM glassheap.wal_records((SELECT lsn FROM w_lsn WHERE name = 'u1'), (SELECT lsn FROM w_lsn WHERE name = 'u2'), 'g_upd') r
WHERE r.record_type = 'UPDATE';
SELECT * FROM g_upd;
RESET wal_consistency_checking;

-- a row lock taken by the transaction that writes the record does not log its xmax:
-- the record's xid is it (glassheap's LOCK 47 bytes; heap's, which logs it, 54); the
-- toolkit's decoding reads it back from the record's xid
SET wal_consistency_checking = '';
CREATE TABLE h_lk (a int) USING heap;
CREATE TABLE g_lk (a int) USING glassheap;
INSERT INTO h_lk VALUES (1);
INSERT INTO g_lk VALUES (1);
INSERT INTO w_lsn VALUES ('l1', pg_current_wal_insert_lsn());
BEGIN;
SELECT * FROM h_lk FOR UPDATE;
SELECT * FROM g_lk FOR UPDATE;
COMMIT;
INSERT INTO w_lsn VALUES ('l2', pg_current_wal_insert_lsn());
SELECT resource_manager, record_type, record_length,
       CASE WHEN resource_manager = 'glassheap' THEN regexp_replace(description, 'xmax [0-9]+', 'xmax N') END AS description
FROM pg_get_wal_records_info((SELECT lsn FROM w_lsn WHERE name = 'l1'), (SELECT lsn FROM w_lsn WHERE name = 'l2'))
WHERE resource_manager IN ('Heap', 'glassheap') AND fpi_length = 0
  AND (block_ref LIKE '%/' || pg_relation_filenode('h_lk') || ' %' OR block_ref LIKE '%/' || pg_relation_filenode('g_lk') || ' %')
ORDER BY 1;
SELECT (r.decoded->'block0'->'xmax'->>'xmax')::bigint = r.xid::text::bigint AS xmax_is_record_xid,
       r.decoded->'block0'->'xmax'->>'mode' AS mode
FROM glassheap.wal_records((SELECT lsn FROM w_lsn WHERE name = 'l1'), (SELECT lsn FROM w_lsn WHERE name = 'l2'), 'g_lk') r
WHERE r.record_type = 'LOCK';
RESET wal_consistency_checking;
