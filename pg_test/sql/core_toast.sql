-- TOAST: values too big for a page are compressed and moved out of line into the
-- table's TOAST table (a heap table), and read back byte for byte. Every statement runs
-- on a heap twin (h_) and a glassheap table (g_): the values read back (md5), their
-- stored sizes (pg_column_size), compression methods, storage kinds (in-line,
-- compressed, TOAST pointer) and the rows of both TOAST tables must agree.

-- noise(n): n bytes of incompressible text (md5 hex digits), the same on every call
CREATE FUNCTION noise(n int, seed int DEFAULT 0) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT left(string_agg(md5((i + seed)::text), '' ORDER BY i), n) FROM generate_series(0, n / 32) i
$$;
-- toast_chunks(rel): what rel's TOAST table holds (live chunks, values, bytes)
CREATE FUNCTION toast_chunks(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t oid; n bigint; v bigint; s bigint;
BEGIN
  SELECT reltoastrelid INTO t FROM pg_class WHERE oid = rel;
  IF t = 0 THEN RETURN 'no TOAST table'; END IF;
  EXECUTE format('SELECT count(*), count(DISTINCT chunk_id), coalesce(sum(length(chunk_data)), 0) FROM %s',
                 t::regclass) INTO n, v, s;
  RETURN format('%s values in %s chunks, %s bytes', v, n, s);
END $$;
-- toast_twin(name): the TOAST tables of h_name and g_name hold the same
CREATE FUNCTION toast_twin(name text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE a text := toast_chunks(('h_' || name)::regclass); b text := toast_chunks(('g_' || name)::regclass);
BEGIN
  IF a = b THEN RETURN 'same: ' || a; END IF;
  RETURN format('DIFFERENT: heap %s; glassheap %s', a, b);
END $$;
-- toast_ids(rel): the value ids in rel's TOAST table
CREATE FUNCTION toast_ids(rel regclass) RETURNS oid[] LANGUAGE plpgsql AS $$
DECLARE r oid[];
BEGIN
  EXECUTE format('SELECT coalesce(array_agg(DISTINCT chunk_id ORDER BY chunk_id), ''{}'') FROM %s',
                 (SELECT reltoastrelid FROM pg_class WHERE oid = rel)::regclass) INTO r;
  RETURN r;
END $$;
-- values_twin(name, cols): md5, stored size and compression of every listed column
CREATE FUNCTION values_twin(name text, cols text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE q text := 'SELECT id'; c text;
BEGIN
  FOR c IN SELECT trim(x) FROM unnest(string_to_array(cols, ',')) x LOOP
    q := q || format(', md5(%1$I::text), pg_column_size(%1$I), pg_column_compression(%1$I)', c);
  END LOOP;
  RETURN twin_query(q || ' FROM @@' || name);
END $$;
-- storage_twin(name): how each stored attribute is kept (glassheap.tuple_values reads
-- heap and glassheap pages alike): plain/short in-line, compressed in-line, external
CREATE FUNCTION storage_twin(name text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN twin_query(format($q$SELECT t.id, v.attname, v.storage
    FROM @@%1$s t, glassheap.tuple_values('@@%1$s', t.ctid) v WHERE NOT v."isnull"$q$, name));
END $$;

-- Which tables get a TOAST table: heap's rule (a column that may be toasted, and a
-- widest possible row over 2032 bytes), and its TOAST table is a heap table.
SELECT twin_tables('tt1', 'a int, b bigint');
SELECT twin_tables('tt2', 'a int, v varchar(100)');
SELECT twin_tables('tt3', 'a int, v varchar(500)');
SELECT twin_tables('tt4', 'a int, v varchar(501)');
SELECT twin_tables('tt5', 'a int, t text');
SELECT twin_tables('tt6', 'a int, c char(3000)');
SELECT twin_tables('tt7', 'a int, p point, arr int[]');
SELECT twin($$ALTER TABLE @@tt2 ADD COLUMN t text$$);  -- ALTER TABLE creates one
SELECT substr(c.relname, 3) AS tbl, a.amname, c.reltoastrelid <> 0 AS has_toast, ta.amname AS toast_am
FROM pg_class c JOIN pg_am a ON a.oid = c.relam
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid LEFT JOIN pg_am ta ON ta.oid = t.relam
WHERE c.relname ~ '^[gh]_tt[0-9]$' ORDER BY 1, 2;

-- Sizes from 2 kB to tens of MB, compressible and incompressible, text, bytea, jsonb
-- and text[] columns.
SELECT twin_tables('v', 'id int PRIMARY KEY, note text, t text, b bytea, j jsonb, arr text[]');
SELECT twin($$INSERT INTO @@v (id, note, t) VALUES
  (1, 'short', 'abc'),
  (2, '2 kB compressible', repeat('a', 2000)),
  (3, '2 kB incompressible', noise(2100)),
  (4, '3 kB compressible', repeat('ab', 1500)),
  (5, '8 kB incompressible', noise(8000)),
  (6, '100 kB compressible', repeat('xyz', 34000)),
  (7, '1 MB incompressible', noise(1000000)),
  (8, '20 MB compressible', repeat('0123456789', 2000000)),
  (9, '16 MB incompressible', noise(16000000))$$);
SELECT twin($$INSERT INTO @@v (id, note, b, j, arr) VALUES
  (10, 'bytea, jsonb, text[]', decode(noise(6000000, 1), 'hex'),
   (SELECT jsonb_agg(jsonb_build_object('k', i, 'v', md5(i::text))) FROM generate_series(1, 50000) i),
   (SELECT array_agg(md5(i::text)) FROM generate_series(1, 100000) i)),
  (11, 'small bytea, jsonb, text[]', '\x0102', '{"a": [1, 2]}', '{x,y}'),
  (12, 'compressible jsonb and text[]', NULL,
   (SELECT jsonb_agg(jsonb_build_object('k', 1, 'v', 'same')) FROM generate_series(1, 50000) i),
   array_fill('same'::text, ARRAY[100000]))$$);
SELECT values_twin('v', 'note, t, b, j, arr');
SELECT storage_twin('v');
SELECT toast_twin('v');
SELECT id, note, octet_length(t) AS len, pg_column_size(t) AS stored, pg_column_compression(t) AS method
FROM g_v WHERE t IS NOT NULL ORDER BY id;
SELECT t.id, v.attname, v.storage FROM g_v t, glassheap.tuple_values('g_v', t.ctid) v
WHERE NOT v."isnull" AND v.attname NOT IN ('id', 'note') ORDER BY 1, 2;
SELECT id, octet_length(b) AS b_len, pg_column_size(b) AS b_stored, pg_column_size(j) AS j_stored,
       jsonb_array_length(j) AS j_len, cardinality(arr) AS arr_len, pg_column_size(arr) AS arr_stored,
       j -> 777 ->> 'v' AS j_777, arr[99999] AS arr_99999
FROM g_v WHERE id IN (10, 12) ORDER BY id;
-- the row with a 16 MB value is a few dozen bytes in the table
SELECT pg_relation_size('g_v') / 8192 AS glassheap_pages, pg_relation_size('h_v') / 8192 AS heap_pages;
-- reading through an index
SET enable_seqscan = off;
SELECT twin_query($$SELECT id, md5(t) FROM @@v WHERE id IN (7, 9)$$);
RESET enable_seqscan;

-- Compression methods: pglz (the default) and lz4, per column and by
-- default_toast_compression.
SELECT twin_tables('c', 'id int, p text, l text COMPRESSION lz4, d text');
SET default_toast_compression = lz4;
SELECT twin($$INSERT INTO @@c VALUES (1, repeat('p', 100000), repeat('l', 100000), repeat('d', 100000))$$);
RESET default_toast_compression;
SELECT twin($$ALTER TABLE @@c ALTER COLUMN p SET COMPRESSION lz4$$);
SELECT twin($$ALTER TABLE @@c ALTER COLUMN l SET COMPRESSION pglz$$);
SELECT twin($$INSERT INTO @@c VALUES (2, repeat('p', 100000), repeat('l', 100000), repeat('d', 100000)),
  (3, repeat(noise(100), 40), repeat(noise(100), 40), noise(4000))$$);
SELECT values_twin('c', 'p, l, d');
SELECT id, pg_column_compression(p) AS p, pg_column_compression(l) AS l, pg_column_compression(d) AS d,
       pg_column_size(p) AS p_size, pg_column_size(l) AS l_size, pg_column_size(d) AS d_size
FROM g_c ORDER BY id;
SELECT toast_twin('c');

-- STORAGE EXTENDED (compress, then move out), EXTERNAL (move out, never compress), MAIN
-- (compress; move out only when the row cannot fit otherwise), PLAIN (never either).
SELECT twin_tables('st', 'id int, ext text, ext2 text, mn text, pl text');
SELECT twin($$ALTER TABLE @@st ALTER COLUMN ext SET STORAGE EXTENDED, ALTER COLUMN ext2 SET STORAGE EXTERNAL,
  ALTER COLUMN mn SET STORAGE MAIN, ALTER COLUMN pl SET STORAGE PLAIN$$);
SELECT twin($$INSERT INTO @@st VALUES
  (1, repeat('e', 10000), repeat('x', 10000), repeat('m', 10000), NULL),
  (2, NULL, NULL, noise(6000), NULL),
  (3, NULL, NULL, noise(9000), NULL),
  (4, NULL, NULL, NULL, noise(7000)),
  (5, NULL, NULL, NULL, repeat('p', 3000)),
  (6, noise(3000), noise(3000), noise(3000), noise(3000)),
  (7, NULL, noise(1500), NULL, noise(1500))$$);
SELECT values_twin('st', 'ext, ext2, mn, pl');
SELECT storage_twin('st');
SELECT toast_twin('st');
SELECT t.id, v.attname, v.storage, octet_length(v.raw) AS stored_bytes FROM g_st t, glassheap.tuple_values('g_st', t.ctid) v
WHERE NOT v."isnull" AND v.attname <> 'id' ORDER BY 1, 2;
-- a row that cannot fit: PLAIN values are never compressed or moved out of line
INSERT INTO h_st VALUES (8, NULL, NULL, NULL, noise(9000));
INSERT INTO g_st VALUES (8, NULL, NULL, NULL, noise(9000));
INSERT INTO g_st VALUES (8, NULL, NULL, NULL, repeat('p', 9000));
UPDATE g_st SET pl = noise(9000) WHERE id = 4;
SELECT twin_query($$SELECT id, md5(pl) FROM @@st$$);

-- UPDATE of another column keeps the TOAST value (same value ids, no new chunks);
-- UPDATE of the toasted column replaces it and deletes the old value's chunks.
SELECT twin_tables('u', 'id int PRIMARY KEY, n int, t text, b bytea');
SELECT twin($$INSERT INTO @@u SELECT i, 0, noise(100000, i), decode(noise(20000, -i), 'hex') FROM generate_series(1, 20) i$$);
SELECT toast_twin('u');
SELECT toast_ids('g_u') AS g_ids_before, toast_ids('h_u') AS h_ids_before \gset
SELECT twin($$UPDATE @@u SET n = n + 1$$);
SELECT twin($$UPDATE @@u SET n = n + 1 WHERE id <= 5$$);
SELECT toast_twin('u');
SELECT toast_ids('g_u') = :'g_ids_before' AS glassheap_same_values, toast_ids('h_u') = :'h_ids_before' AS heap_same_values;
SELECT twin($$UPDATE @@u SET t = t || 'more' WHERE id % 2 = 0$$);
SELECT twin($$UPDATE @@u SET b = NULL WHERE id % 5 = 0$$);
SELECT twin($$UPDATE @@u SET t = 'small now' WHERE id = 3$$);
SELECT twin($$UPDATE @@u SET t = noise(100000, 1000 + id), b = decode(noise(20000, id), 'hex') WHERE id = 7$$);
SELECT values_twin('u', 'n, t, b');
SELECT toast_twin('u');
SELECT count(*) AS kept_values FROM unnest(toast_ids('g_u')) i WHERE i = ANY (:'g_ids_before'::oid[]);
SELECT count(*) AS kept_values FROM unnest(toast_ids('h_u')) i WHERE i = ANY (:'h_ids_before'::oid[]);
-- the same in one transaction, and updating a row several times
BEGIN;
SELECT twin($$UPDATE @@u SET t = noise(3000, id) WHERE id = 1$$);
SELECT twin($$UPDATE @@u SET t = noise(300000, id) WHERE id = 1$$);
SELECT twin($$UPDATE @@u SET n = -1 WHERE id = 1$$);
COMMIT;
SELECT values_twin('u', 'n, t, b');
SELECT toast_twin('u');

-- ROLLBACK: an insert's chunks are dead, an update's and a delete's are back
SELECT toast_chunks('g_u') AS before \gset
BEGIN;
SELECT twin($$INSERT INTO @@u VALUES (100, 0, noise(500000), NULL)$$);
SELECT twin($$UPDATE @@u SET t = repeat('r', 100000) WHERE id = 2$$);
SELECT twin($$DELETE FROM @@u WHERE id = 4$$);
SELECT toast_twin('u');
ROLLBACK;
SELECT toast_chunks('g_u') = :'before' AS same_chunks, toast_twin('u');
SELECT values_twin('u', 'n, t, b');
BEGIN;
SELECT twin($$UPDATE @@u SET t = noise(50000) WHERE id = 6$$);
SAVEPOINT s;
SELECT twin($$UPDATE @@u SET t = noise(60000) WHERE id = 6$$);
SELECT twin($$DELETE FROM @@u WHERE id = 8$$);
ROLLBACK TO s;
COMMIT;
SELECT values_twin('u', 'n, t, b');
SELECT toast_twin('u');

-- DELETE deletes the chunks; VACUUM of the table vacuums its TOAST table, whose pages
-- are then emptied and truncated like heap's.
SELECT twin($$DELETE FROM @@u WHERE id > 10$$);
SELECT toast_twin('u');
SELECT twin($$DELETE FROM @@u$$);
SELECT toast_twin('u');
VACUUM h_u, g_u;
SELECT c.relname, pg_relation_size(c.reltoastrelid) AS toast_bytes, t.reltuples AS toast_reltuples
FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname IN ('h_u', 'g_u') ORDER BY 1;
SELECT twin($$INSERT INTO @@u VALUES (1, 0, noise(100000), NULL)$$);
SELECT values_twin('u', 'n, t, b');
SELECT toast_twin('u');

-- INSERT ... SELECT from a heap table: the values pointing into the heap table's TOAST
-- table are copied into glassheap's own TOAST table, and stay readable when the heap
-- table is gone.
CREATE TABLE src (id int, t text, j jsonb);
INSERT INTO src SELECT i, noise(30000 * i, i), (SELECT jsonb_agg(md5((i * k)::text)) FROM generate_series(1, 2000) k)
FROM generate_series(1, 8) i;
SELECT twin_tables('tis', 'id int, t text, j jsonb');
SELECT twin($$INSERT INTO @@tis SELECT * FROM src$$);
CREATE TABLE sums AS SELECT id, md5(t) AS t, md5(j::text) AS j FROM src;
SELECT toast_chunks('src'), toast_twin('tis');
DROP TABLE src;
SELECT twin_query($$SELECT id, md5(t), md5(j::text), pg_column_size(t), pg_column_size(j) FROM @@tis$$);
SELECT count(*) AS same_as_source FROM g_tis g JOIN sums s USING (id) WHERE md5(g.t) = s.t AND md5(g.j::text) = s.j;
-- and from another glassheap table: its values are copied, not shared
CREATE TABLE g_is2 (id int, t text, j jsonb) USING glassheap;
INSERT INTO g_is2 SELECT * FROM g_tis;
SELECT toast_chunks('g_is2') = toast_chunks('g_tis') AS same_contents,
       cardinality(toast_ids('g_is2')) AS values;
DROP TABLE g_tis;
SELECT count(*) AS same_as_source FROM g_is2 g JOIN sums s USING (id) WHERE md5(g.t) = s.t AND md5(g.j::text) = s.j;

-- COPY (multi-insert) of big rows
SELECT twin_tables('bigcp', 'id int, t text, b bytea');
INSERT INTO h_bigcp SELECT i, CASE WHEN i % 3 = 0 THEN repeat('c', 10000 * i) ELSE noise(5000 * i, i) END,
  decode(noise(4000 * i, -i), 'hex') FROM generate_series(1, 30) i;
COPY h_bigcp TO PROGRAM 'cat > core_toast_copy.data';
TRUNCATE h_bigcp;
COPY h_bigcp FROM 'core_toast_copy.data';
COPY g_bigcp FROM 'core_toast_copy.data';
-- (cat reads the row: a program that exits without reading its input can make the
-- server's write fail with a broken pipe)
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; rm core_toast_copy.data';
SELECT values_twin('bigcp', 't, b');
SELECT storage_twin('bigcp');
SELECT toast_twin('bigcp');
SELECT count(*), sum(octet_length(t)), sum(octet_length(b)) FROM g_bigcp;

-- INSERT ... ON CONFLICT DO UPDATE with big values
SELECT twin_tables('up', 'id int PRIMARY KEY, t text');
SELECT twin($$INSERT INTO @@up VALUES (1, noise(100000, 1)), (2, noise(100000, 2))$$);
SELECT twin($$INSERT INTO @@up VALUES (1, noise(200000, 11)), (3, noise(200000, 3))
  ON CONFLICT (id) DO UPDATE SET t = excluded.t$$);
SELECT twin($$INSERT INTO @@up VALUES (2, noise(300000, 12)) ON CONFLICT (id) DO UPDATE SET t = @@up.t || excluded.t$$);
SELECT twin($$INSERT INTO @@up VALUES (3, noise(10, 13)) ON CONFLICT (id) DO NOTHING$$);
SELECT twin($$INSERT INTO @@up VALUES (4, noise(100000, 4)) ON CONFLICT (id) DO NOTHING$$);
SELECT values_twin('up', 't');
SELECT toast_twin('up');
SELECT id, octet_length(t) FROM g_up ORDER BY id;
-- RETURNING reads the stored (toasted) row back
INSERT INTO g_up VALUES (5, noise(100000, 5)) RETURNING id, md5(t) = md5(noise(100000, 5)) AS same;
UPDATE g_up SET t = t || 'x' WHERE id = 5 RETURNING id, md5(t) = md5(noise(100000, 5) || 'x') AS same;
INSERT INTO g_up VALUES (5, noise(200000, 55)) ON CONFLICT (id) DO UPDATE SET t = excluded.t
RETURNING id, md5(t) = md5(noise(200000, 55)) AS same;
DELETE FROM g_up WHERE id = 5 RETURNING id, md5(t) = md5(noise(200000, 55)) AS same;
-- a table rewrite (ALTER COLUMN TYPE) copies the values into the new TOAST table
SELECT twin($$ALTER TABLE @@up ALTER COLUMN id TYPE bigint$$);
SELECT values_twin('up', 't');
SELECT toast_twin('up');

-- a slice of an EXTERNAL (uncompressed) value is read from the chunks it lies in only
SELECT twin_tables('sl', 'id int, b bytea');
SELECT twin($$ALTER TABLE @@sl ALTER COLUMN b SET STORAGE EXTERNAL$$);
SELECT twin($$INSERT INTO @@sl VALUES (1, decode(noise(2000000), 'hex'))$$);
CREATE FUNCTION toast_blocks(rel text) RETURNS bigint LANGUAGE sql AS $$
  SELECT toast_blks_hit + toast_blks_read FROM pg_statio_all_tables WHERE relname = rel $$;
SELECT pg_stat_force_next_flush();
SELECT toast_blocks('g_sl') AS g_before, toast_blocks('h_sl') AS h_before \gset
SELECT substr(b, 500001, 8) AS g_slice FROM g_sl;
SELECT substr(b, 500001, 8) AS h_slice FROM h_sl;
SELECT pg_stat_force_next_flush();
SELECT toast_blocks('g_sl') - :g_before AS glassheap_toast_blocks, toast_blocks('h_sl') - :h_before AS heap_toast_blocks;
SELECT twin_query($$SELECT substr(b, 999990, 20), md5(b) FROM @@sl$$);

-- toast_tuple_target: rows are shrunk to the reloption's target
SELECT twin_tables('tg', 'id int, a text, b text');
SELECT twin($$ALTER TABLE @@tg SET (toast_tuple_target = 256)$$);
SELECT twin($$INSERT INTO @@tg SELECT i, noise(250 * i, i), repeat('b', 650 * i) FROM generate_series(1, 12) i$$);
SELECT values_twin('tg', 'a, b');
SELECT storage_twin('tg');
SELECT toast_twin('tg');

-- The one difference from heap: the toaster measures glassheap's own tuple, whose header
-- is 8 bytes smaller than heap's. A row whose heap tuple would be just over the
-- 2032-byte threshold (2036 bytes) is 2028 bytes in glassheap, under it, and stays
-- in-line; 8 bytes more and both move the value out of line.
SELECT twin_tables('edge', 'id int, t text');
SELECT twin($$INSERT INTO @@edge VALUES (1, noise(2004)), (2, noise(2012)), (3, noise(2020))$$);
SELECT twin_query($$SELECT id, md5(t) FROM @@edge$$);
SELECT h.id, hv.storage AS heap, gv.storage AS glassheap, pg_column_size(h.t) AS heap_size, pg_column_size(g.t) AS glassheap_size
FROM h_edge h JOIN g_edge g USING (id), glassheap.tuple_values('h_edge', h.ctid) hv, glassheap.tuple_values('g_edge', g.ctid) gv
WHERE hv.attname = 't' AND gv.attname = 't' ORDER BY 1;

-- materialized views are toasted too
CREATE MATERIALIZED VIEW g_toast_mv USING glassheap AS SELECT id, t FROM g_v WHERE id IN (5, 7);
SELECT toast_chunks('g_toast_mv');
SELECT id, md5(t) = (SELECT md5(t) FROM h_v h WHERE h.id = m.id) AS same FROM g_toast_mv m ORDER BY id;
UPDATE g_v SET t = noise(500000, 5) WHERE id = 5;
REFRESH MATERIALIZED VIEW g_toast_mv;
SELECT toast_chunks('g_toast_mv');
SELECT id, md5(t) = (SELECT md5(t) FROM g_v g WHERE g.id = m.id) AS same FROM g_toast_mv m ORDER BY id;

-- the TOAST tables and the glassheap tables are consistent
SELECT c.relname, count(v.*) AS problems FROM pg_class c LEFT JOIN LATERAL glassheap.verify(c.oid) v ON true
WHERE c.relname IN ('g_v', 'g_c', 'g_st', 'g_u', 'g_is2', 'g_bigcp', 'g_up', 'g_tg') GROUP BY 1 ORDER BY 1;
SELECT c.relname, count(v.*) AS problems FROM pg_class c LEFT JOIN LATERAL verify_heapam(c.reltoastrelid, check_toast => false) v ON true
WHERE c.relname IN ('g_v', 'g_c', 'g_st', 'g_u', 'g_is2', 'g_bigcp', 'g_up', 'g_tg') GROUP BY 1 ORDER BY 1;
SELECT c.relname, bt_index_check(i.indexrelid, true) FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid
WHERE c.relname IN ('g_v', 'g_c', 'g_st', 'g_u', 'g_is2', 'g_bigcp', 'g_up', 'g_tg') ORDER BY 1;

-- VACUUM FULL and CLUSTER copy every value into the new table's own TOAST storage, as
-- heap's rewrite does: the same values, stored sizes and compression afterwards, and a
-- new TOAST relfilenode holding the same chunks.
CREATE TABLE g_v_before AS
  SELECT id, md5(t) AS t, md5(b) AS b, md5(j::text) AS j, md5(arr::text) AS arr,
         ARRAY[pg_column_size(t), pg_column_size(b), pg_column_size(j), pg_column_size(arr)] AS sizes,
         pg_column_compression(t) AS tc, toast_chunks('g_v') AS chunks
  FROM g_v;
CREATE FUNCTION g_v_changed() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM g_v_before o FULL JOIN g_v n USING (id)
  WHERE (o.t, o.b, o.j, o.arr, o.sizes, o.tc, o.chunks) IS DISTINCT FROM
        (md5(n.t), md5(n.b), md5(n.j::text), md5(n.arr::text),
         ARRAY[pg_column_size(n.t), pg_column_size(n.b), pg_column_size(n.j), pg_column_size(n.arr)],
         pg_column_compression(n.t), toast_chunks('g_v')) $$;
CREATE FUNCTION g_v_toast_file() RETURNS oid LANGUAGE sql AS $$
  SELECT pg_relation_filenode(reltoastrelid) FROM pg_class WHERE relname = 'g_v' $$;
SELECT g_v_toast_file() AS old_toast \gset
VACUUM FULL g_v;
SELECT g_v_changed() AS changed_rows, g_v_toast_file() <> :old_toast AS new_toast_file;
SELECT g_v_toast_file() AS old_toast \gset
CLUSTER g_v USING g_v_pkey;
SELECT g_v_changed() AS changed_rows, g_v_toast_file() <> :old_toast AS new_toast_file;
SELECT count(*) AS problems FROM glassheap.verify('g_v');
SELECT count(*) AS problems FROM verify_heapam((SELECT reltoastrelid FROM pg_class WHERE relname = 'g_v'));
