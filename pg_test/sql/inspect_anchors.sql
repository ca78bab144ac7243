-- Anchor conventions: a column of a glassheap function that has a counterpart in the
-- contrib function a user already knows (pg_walinspect, amcheck, pageinspect,
-- pgstattuple) carries that column's name and type -- and, where glassheap keeps a
-- friendlier type (text flags), the raw number sits beside it. Read from the catalogs,
-- so a renamed or retyped column fails here. (The values are compared in inspect_wal,
-- inspect_page, inspect_stats, and below for block_ref.)
SET client_min_messages = warning;

-- the result columns of a function, in order: position, name, type
CREATE FUNCTION pg_temp.out_cols(f regprocedure) RETURNS TABLE (pos int, name text, type regtype)
LANGUAGE sql AS $$
  SELECT (row_number() OVER (ORDER BY o.n))::int, o.name, o.t::regtype
  FROM pg_proc p, unnest(p.proallargtypes, p.proargmodes, p.proargnames) WITH ORDINALITY o(t, m, name, n)
  WHERE p.oid = f AND o.m IN ('o', 't') $$;

-- every column of the contrib function: does glassheap's function have it, at the same
-- position, with the same type?
CREATE FUNCTION pg_temp.anchor(contrib regprocedure, mine regprocedure)
RETURNS TABLE (contrib_column text, contrib_type regtype, in_glassheap boolean,
               same_type boolean, same_position boolean)
LANGUAGE sql AS $$
  SELECT c.name, c.type, g.name IS NOT NULL, g.type = c.type, g.pos = c.pos
  FROM pg_temp.out_cols(contrib) c LEFT JOIN pg_temp.out_cols(mine) g ON g.name = c.name
  ORDER BY c.pos $$;

-- pg_get_wal_records_info: all eleven columns, in its order, then glassheap's own
-- (blocks, decoded, logical); trace() begins with the same eleven
SELECT * FROM pg_temp.anchor('pg_get_wal_records_info(pg_lsn, pg_lsn)',
                             'glassheap.wal_records(pg_lsn, pg_lsn, regclass)');
SELECT count(*) AS columns, bool_and(in_glassheap AND same_type AND same_position) AS trace_matches
FROM pg_temp.anchor('pg_get_wal_records_info(pg_lsn, pg_lsn)', 'glassheap.trace(text)');
SELECT name, type FROM pg_temp.out_cols('glassheap.wal_records(pg_lsn, pg_lsn, regclass)') WHERE pos > 11;

-- pg_get_wal_stats: its "resource_manager/record_type" is two columns here
-- (resource_manager, record_type; inspect_wal joins on their concatenation), so the
-- positions shift by one; the counters carry its names and types
SELECT contrib_column, contrib_type, in_glassheap, same_type
FROM pg_temp.anchor('pg_get_wal_stats(pg_lsn, pg_lsn, boolean)',
                    'glassheap.wal_stats(pg_lsn, pg_lsn, boolean)');
SELECT pos, name, type FROM pg_temp.out_cols('glassheap.wal_stats(pg_lsn, pg_lsn, boolean)') WHERE pos <= 2;

-- amcheck's verify_heapam: blkno, offnum, attnum, msg
SELECT * FROM pg_temp.anchor('verify_heapam(regclass, boolean, boolean, text, bigint, bigint)',
                             'glassheap.verify(regclass)');

-- pgstattuple: every column but the last (glassheap adds undecodable_count)
SELECT * FROM pg_temp.anchor('pgstattuple(regclass)', 'glassheap.stats(regclass)');

-- pageinspect's heap_page_items: lp, lp_off, lp_len and the raw infomasks share name and
-- type; lp_flags is a name here ('normal', ...) with the number in lp_flags_raw; the tuple
-- header fields drop pageinspect's t_ prefix (xmin, xmax, ctid, hoff; cid for t_field3,
-- nulls for t_bits, data for t_data), documented in docs/INSPECT.md
SELECT contrib_column, contrib_type, in_glassheap, same_type
FROM pg_temp.anchor('heap_page_items(bytea)', 'glassheap.page_items(regclass, bigint)');
SELECT g.name, g.type, b.type AS bytes_variant_type
FROM pg_temp.out_cols('glassheap.page_items(regclass, bigint)') g
FULL JOIN pg_temp.out_cols('glassheap.page_items(bytea, name, bigint)') b USING (pos)
WHERE g.name IN ('lp_flags', 'lp_flags_raw', 't_infomask2', 't_infomask', 'info', 'flags')
   OR g.name IS DISTINCT FROM b.name OR g.type IS DISTINCT FROM b.type
ORDER BY g.pos;

-- pageinspect's page_header: flags is text[] here with the number in flags_raw;
-- checksum stays int: glassheap shows the unsigned 16-bit value pd_checksum holds, which
-- pageinspect's smallint prints negative from 32768 on
SELECT * FROM pg_temp.anchor('page_header(bytea)', 'glassheap.page_header(bytea)');

-- block_ref: the same text as pg_get_wal_records_info's for the same records
-- (XLogRecGetBlockRefInfo of the server's version), with full-page images too
CREATE TABLE ia_range (name text PRIMARY KEY, lsn pg_lsn);
SELECT slot_name FROM pg_create_physical_replication_slot('inspect_anchors', true);
CREATE TABLE ia_h (k int PRIMARY KEY, v text) WITH (autovacuum_enabled = off);
CREATE TABLE ia_g (k int PRIMARY KEY, v text) USING glassheap;
CHECKPOINT;                          -- the next change of each page logs its image
INSERT INTO ia_range VALUES ('start', pg_current_wal_insert_lsn());
INSERT INTO ia_h SELECT g, 'v' || g FROM generate_series(1, 50) g;
INSERT INTO ia_g SELECT g, 'v' || g FROM generate_series(1, 50) g;
CHECKPOINT;
UPDATE ia_h SET v = v || '!' WHERE k <= 5;
UPDATE ia_g SET v = v || '!' WHERE k <= 5;
DELETE FROM ia_g WHERE k = 7;
INSERT INTO ia_range VALUES ('end', pg_current_wal_flush_lsn());
SELECT count(*) > 20 AS records,
       count(*) FILTER (WHERE g.block_ref LIKE '%FPW%') > 0 AS with_images,
       count(*) FILTER (WHERE g.resource_manager = 'glassheap' AND g.block_ref <> '') > 0 AS glassheap_blocks,
       count(*) FILTER (WHERE g.start_lsn IS NULL OR p.start_lsn IS NULL
         OR g.resource_manager IS DISTINCT FROM p.resource_manager
         OR g.record_type IS DISTINCT FROM p.record_type
         OR g.block_ref IS DISTINCT FROM coalesce(p.block_ref, '')) AS mismatches
FROM glassheap.wal_records((SELECT lsn FROM ia_range WHERE name = 'start'),
                           (SELECT lsn FROM ia_range WHERE name = 'end')) g
FULL JOIN pg_get_wal_records_info((SELECT lsn FROM ia_range WHERE name = 'start'),
                                  (SELECT lsn FROM ia_range WHERE name = 'end')) p
  ON g.start_lsn = p.start_lsn;
-- a record without block references (a commit) has an empty block_ref, as its
-- description is empty when rm_desc writes nothing
SELECT DISTINCT block_ref = '' AS empty_block_ref
FROM glassheap.wal_records((SELECT lsn FROM ia_range WHERE name = 'start'),
                           (SELECT lsn FROM ia_range WHERE name = 'end'))
WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT';
-- trace() fills block_ref the same way
CREATE TEMP TABLE ia_trace AS
  SELECT * FROM glassheap.trace('INSERT INTO ia_g VALUES (100, ''t'')') WHERE mine;
SELECT t.resource_manager, t.record_type, t.block_ref LIKE 'blkref #0: rel %' AS has_block_ref,
       t.block_ref = p.block_ref AS same_as_walinspect
FROM ia_trace t
JOIN pg_get_wal_records_info((SELECT min(start_lsn) FROM ia_trace), (SELECT max(end_lsn) FROM ia_trace)) p
  USING (start_lsn)
ORDER BY start_lsn;

SELECT pg_drop_replication_slot('inspect_anchors');
DROP TABLE ia_range, ia_h, ia_g, ia_trace;
