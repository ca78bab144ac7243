-- glassheap.page / page_header / page_items on the native heap, compared with
-- pageinspect on the very same bytes (so nothing here depends on xids or LSNs).
SET client_min_messages = warning;

CREATE TABLE ip_t (a int, b text, c int, d numeric, e bigint)
  WITH (autovacuum_enabled = off);
INSERT INTO ip_t
  SELECT g, repeat('x', g % 130), CASE WHEN g % 3 = 0 THEN NULL ELSE g END,
         g * 1.5, CASE WHEN g % 5 = 0 THEN NULL ELSE g * 1000000000::bigint END
  FROM generate_series(1, 600) g;
UPDATE ip_t SET a = a + 1000 WHERE a % 7 = 0;
DELETE FROM ip_t WHERE a % 11 = 0;
ALTER TABLE ip_t ADD COLUMN f int;          -- old tuples now have fewer attributes
INSERT INTO ip_t VALUES (-1, 'new', NULL, NULL, NULL, 42);
SELECT count(*) FROM ip_t;                   -- sets hint bits once, before comparing

-- pageinspect's raw flag names, lowercased without HEAP_, in pageinspect's order
CREATE FUNCTION ip_flags(im int, im2 int) RETURNS text[] LANGUAGE sql AS $$
  SELECT CASE WHEN im IS NULL THEN NULL ELSE
    ARRAY(SELECT lower(substr(f, 6))
          FROM unnest((heap_tuple_infomask_flags(im, im2)).raw_flags) WITH ORDINALITY u(f, o)
          ORDER BY o) END $$;

-- every column that has a pageinspect counterpart, over all blocks: 0 mismatches
CREATE FUNCTION ip_compare(rel regclass) RETURNS TABLE (blocks bigint, items bigint, mismatches bigint)
LANGUAGE sql AS $$
  WITH blks AS (SELECT b FROM generate_series(0, pg_relation_size(rel) / 8192 - 1) b),
  g AS (SELECT b, x.* FROM blks, glassheap.page_items(rel, b) x),
  p AS (SELECT b, x.* FROM blks, heap_page_items(get_raw_page(rel::text, b::int)) x)
  SELECT (SELECT count(*) FROM blks), count(*),
         count(*) FILTER (WHERE g.lp IS NULL OR p.lp IS NULL
           OR g.lp_flags IS DISTINCT FROM (ARRAY['unused','normal','redirect','dead'])[p.lp_flags + 1]
           OR g.lp_flags_raw IS DISTINCT FROM p.lp_flags
           OR g.lp_off IS DISTINCT FROM p.lp_off OR g.lp_len IS DISTINCT FROM p.lp_len
           OR g.t_infomask IS DISTINCT FROM p.t_infomask OR g.t_infomask2 IS DISTINCT FROM p.t_infomask2
           OR g.info IS NOT NULL
           OR g.xmin IS DISTINCT FROM p.t_xmin OR g.xmax IS DISTINCT FROM p.t_xmax
           OR g.cid::text IS DISTINCT FROM p.t_field3::text OR g.ctid IS DISTINCT FROM p.t_ctid
           OR g.natts IS DISTINCT FROM p.t_infomask2 & 2047 OR g.hoff IS DISTINCT FROM p.t_hoff
           OR g.nulls IS DISTINCT FROM p.t_bits OR g.data IS DISTINCT FROM p.t_data
           OR g.flags IS DISTINCT FROM ip_flags(p.t_infomask, p.t_infomask2)
           OR (g.header->>'t_infomask')::int IS DISTINCT FROM p.t_infomask
           OR (g.header->>'t_infomask2')::int IS DISTINCT FROM p.t_infomask2)
  FROM g FULL JOIN p ON g.b = p.b AND g.lp = p.lp $$;

SELECT blocks, items > 500 AS many_items, mismatches FROM ip_compare('ip_t');

-- the raw page is byte-for-byte pageinspect's
SELECT bool_and(glassheap.page('ip_t', b) = get_raw_page('ip_t', b::int)) AS same_bytes
FROM generate_series(0, pg_relation_size('ip_t') / 8192 - 1) b;

-- page_header vs pageinspect's page_header
SELECT bool_and(g.lsn = p.lsn AND g.checksum = (p.checksum::int & 65535)
       AND g.flags_raw = p.flags AND g.lower = p.lower AND g.upper = p.upper
       AND g.special = p.special AND g.pagesize = p.pagesize AND g.version = p.version
       AND g.prune_xid = p.prune_xid
       -- PageGetFreeSpace: the hole minus the line pointer a new tuple needs
       AND g.free_space = greatest(p.upper - p.lower - 4, 0)
       AND g.line_pointers = (p.lower - 24) / 4 AND g.valid AND g.problems = '{}') AS headers_match
FROM generate_series(0, pg_relation_size('ip_t') / 8192 - 1) b,
     glassheap.page_header(glassheap.page('ip_t', b)) g,
     page_header(get_raw_page('ip_t', b::int)) p;

-- named flags
SELECT flags, flags_raw FROM glassheap.page_header(
  set_byte(glassheap.page('ip_t', 0), 10, 7));

-- HOT chains, redirects, dead and unused line pointers after VACUUM
CREATE TABLE ip_hot (k int PRIMARY KEY, v int) WITH (autovacuum_enabled = off, fillfactor = 50);
INSERT INTO ip_hot SELECT g, 0 FROM generate_series(1, 50) g;
UPDATE ip_hot SET v = v + 1 WHERE k <= 20;
UPDATE ip_hot SET v = v + 1 WHERE k <= 10;
DELETE FROM ip_hot WHERE k > 40;
VACUUM ip_hot;
SELECT count(*) FROM ip_hot;
SELECT blocks, items >= 50 AS many_items, mismatches FROM ip_compare('ip_hot');

-- synthetic line pointers on a copy of a real page: redirect, dead, unused, pointing
-- past the page, misaligned, too short, and a tuple whose t_hoff is garbage
CREATE FUNCTION ip_set_lp(p bytea, lp int, off int, flags int, len int) RETURNS bytea
LANGUAGE sql AS $$
  SELECT set_byte(set_byte(set_byte(set_byte(p,
    20 + 4 * lp, w & 255), 21 + 4 * lp, (w >> 8) & 255),
    22 + 4 * lp, (w >> 16) & 255), 23 + 4 * lp, (w >> 24) & 255)
  FROM (SELECT off | (flags << 15) | (len << 17) AS w) s $$;
CREATE TABLE ip_pages AS
  SELECT 'synthetic'::text AS name, ip_set_lp(ip_set_lp(ip_set_lp(ip_set_lp(ip_set_lp(ip_set_lp(
           set_byte(p, lp1_off + 22, 7),             -- lp 1: t_hoff 7
           2, 1, 2, 0),                              -- lp 2: redirect to 1
           3, 0, 3, 0),                              -- lp 3: dead
           4, 0, 0, 0),                              -- lp 4: unused
           5, 8176, 1, 100),                         -- lp 5: past the end of the page
           6, lp1_off + 1, 1, 40),                   -- lp 6: misaligned
           7, lp1_off, 1, 10) AS p                   -- lp 7: shorter than a tuple header
  FROM (SELECT glassheap.page('ip_t', 0) AS p,
               (SELECT lp_off FROM heap_page_items(get_raw_page('ip_t', 0)) WHERE lp = 1) AS lp1_off) s;

SELECT count(*) AS mismatches
FROM glassheap.page_items((SELECT p FROM ip_pages), 'heap') g
FULL JOIN heap_page_items((SELECT p FROM ip_pages)) p ON g.lp = p.lp
WHERE g.lp IS NULL OR p.lp IS NULL
   OR g.lp_flags IS DISTINCT FROM (ARRAY['unused','normal','redirect','dead'])[p.lp_flags + 1]
   OR g.lp_flags_raw IS DISTINCT FROM p.lp_flags
   OR g.lp_off IS DISTINCT FROM p.lp_off OR g.lp_len IS DISTINCT FROM p.lp_len
   OR g.xmin IS DISTINCT FROM p.t_xmin OR g.xmax IS DISTINCT FROM p.t_xmax
   OR g.ctid IS DISTINCT FROM p.t_ctid;

SELECT lp, lp_flags, lp_len, xmin IS NOT NULL AS has_header, hoff,
       data IS NOT NULL AS has_data, regexp_replace(problem, '\d{3,}', 'N', 'g') AS problem
FROM glassheap.page_items((SELECT p FROM ip_pages), 'heap') WHERE lp <= 7 ORDER BY lp;

-- header jsonb carries every raw field
SELECT array(SELECT jsonb_object_keys(header) ORDER BY 1) AS header_keys
FROM glassheap.page_items('ip_t', 0) WHERE lp = 1;

-- bad input: clear errors, never a crash
SELECT * FROM glassheap.page_header('\x00');
SELECT * FROM glassheap.page_header(decode(repeat('00', 8191), 'hex'));
SELECT valid, problems FROM glassheap.page_header(decode(repeat('ff', 8192), 'hex'));
SELECT valid, lower, upper FROM glassheap.page_header(decode(repeat('00', 8192), 'hex'));
SELECT count(*) FROM glassheap.page_items(decode(repeat('00', 8192), 'hex'), 'heap');
SELECT * FROM glassheap.page_items(decode(repeat('ff', 8192), 'hex'), 'heap');
SELECT * FROM glassheap.page_items(substr(glassheap.page('ip_t', 0), 1, 4000), 'heap');
SELECT * FROM glassheap.page_items('\x00'::bytea, 'heap');
SELECT * FROM glassheap.page_items(glassheap.page('ip_t', 0), 'btree');
SELECT glassheap.page('ip_t', -1);
SELECT glassheap.page('ip_t', 100000);
SELECT length(glassheap.page('ip_t', 0, 'fsm')) AS fsm_page;
SELECT glassheap.page('ip_t', 0, 'init');
SELECT glassheap.page('ip_t', 0, 'nosuchfork');
CREATE VIEW ip_view AS SELECT 1 AS one;
CREATE SEQUENCE ip_seq;
SELECT glassheap.page('ip_view', 0);
SELECT length(glassheap.page('ip_seq', 0)) AS seq_page, length(glassheap.page('ip_hot_pkey', 0)) AS index_page;
SELECT * FROM glassheap.page_items('ip_view', 0);
SELECT * FROM glassheap.page_items('ip_seq', 0);
SELECT * FROM glassheap.page_items('ip_hot_pkey', 0);
SELECT * FROM glassheap.page_items('ip_t', 100000);
-- vm and fsm forks exist after VACUUM and are readable
SELECT length(glassheap.page('ip_hot', 0, 'vm')) AS vm_page;

-------------------------------------------------------------------------------
-- glassheap pages: same page header and line pointers as any PostgreSQL page
-- (pageinspect reads them), glassheap's own 16-byte tuple headers, and tuple
-- data bytes identical to heap's for the same rows.
-------------------------------------------------------------------------------
SELECT twin_tables('ip', 'a int, b text, c int, d numeric');
-- A prepared transaction holding an xid keeps every old version "recently dead", so
-- reads do not prune them (on either twin) while this section looks at them.
BEGIN;
SELECT pg_current_xact_id() IS NOT NULL AS holds_xid;
PREPARE TRANSACTION 'inspect_page_hold';
SELECT twin($$INSERT INTO @@ip SELECT g, repeat('y', g % 40), CASE WHEN g % 4 = 0 THEN NULL ELSE g END, g / 3.0
              FROM generate_series(1, 120) g$$);
SELECT twin('UPDATE @@ip SET c = -c WHERE a % 10 = 0');
SELECT twin('DELETE FROM @@ip WHERE a % 12 = 0');
SELECT twin('SELECT count(*) FROM @@ip');        -- sets hint bits on both

-- raw bytes and header through the buffer manager equal pageinspect's
SELECT glassheap.page('g_ip', 0) = get_raw_page('g_ip', 0) AS same_bytes;
SELECT g.lsn = p.lsn AND g.lower = p.lower AND g.upper = p.upper AND g.special = p.special
       AND g.pagesize = p.pagesize AND g.version = p.version AND g.valid AS headers_match,
       g.special AS special_at
FROM glassheap.page_header(glassheap.page('g_ip', 0)) g, page_header(get_raw_page('g_ip', 0)) p;

-- line pointers agree with pageinspect's view of the same page
SELECT count(*) AS items,
       count(*) FILTER (WHERE g.lp IS DISTINCT FROM p.lp OR g.lp_off IS DISTINCT FROM p.lp_off
                         OR g.lp_len IS DISTINCT FROM p.lp_len) AS lp_mismatches
FROM glassheap.page_items('g_ip', 0) g FULL JOIN heap_page_items(get_raw_page('g_ip', 0)) p ON g.lp = p.lp;

-- a glassheap tuple has no t_infomask/t_infomask2: its flags word is `info` (the
-- header's info field), and lp_flags_raw is the line pointer's lp_flags number
SELECT count(*) > 0 AS items,
       bool_and(info = (header->>'info')::bigint AND t_infomask IS NULL AND t_infomask2 IS NULL
                AND lp_flags_raw = 1 AND lp_flags = 'normal') AS raw_columns_right
FROM glassheap.page_items('g_ip', 0) WHERE header IS NOT NULL;

-- 16-byte headers: hoff is 16 without nulls, 16 + bitmap rounded up to 8 with them
SELECT DISTINCT (nulls IS NOT NULL) AS has_nulls, hoff, natts FROM glassheap.page_items('g_ip', 0)
ORDER BY 1;

-- the tuple data area is heap's byte for byte: match rows on their first column
SELECT count(*) AS rows_compared, count(*) FILTER (WHERE g.data IS DISTINCT FROM h.data
                                                  OR g.nulls IS DISTINCT FROM h.nulls) AS data_mismatches
FROM (SELECT x.data, x.nulls, t.a FROM g_ip t, glassheap.page_items('g_ip', (t.ctid::text::point)[0]::bigint) x
      WHERE x.lp = (t.ctid::text::point)[1]) g
JOIN (SELECT x.data, x.nulls, t.a FROM h_ip t, glassheap.page_items('h_ip', (t.ctid::text::point)[0]::bigint) x
      WHERE x.lp = (t.ctid::text::point)[1]) h USING (a);

-- version pointers: an updated row points at its successor, which the table returns
SELECT count(*) AS updated_versions,
       bool_and(x.ctid <> format('(0,%s)', x.lp)::tid) AS point_elsewhere,
       bool_and(x.xmax <> '0') AS have_xmax,
       bool_and(x.flags @> '{xmax_no_key_update}') AS no_key_update
FROM glassheap.page_items('g_ip', 0) x
WHERE x.ctid <> format('(0,%s)', x.lp)::tid;
SELECT count(*) AS successors_found
FROM glassheap.page_items('g_ip', 0) x JOIN g_ip t ON t.ctid = x.ctid
WHERE x.ctid <> format('(0,%s)', x.lp)::tid;

-- flags and the header json of one live row, one deleted row and one with nulls
SELECT flags, header - 'xmin' - 'xmax' - 'info' AS header
FROM glassheap.page_items('g_ip', 0) WHERE lp IN (1, 4, 12) ORDER BY lp;

-- the page image as glassheap, from bytes: same rows as from the relation
SELECT (SELECT array_agg(x ORDER BY lp) FROM glassheap.page_items('g_ip', 0) x)::text =
       (SELECT array_agg(x ORDER BY lp) FROM glassheap.page_items(glassheap.page('g_ip', 0), 'glassheap') x)::text
       AS same_rows;

-- a heap page read as glassheap is refused (its special space lacks glassheap's
-- magic); a glassheap page read as heap decodes into rows without crashing
SELECT count(*) FROM glassheap.page_items(glassheap.page('h_ip', 0), 'glassheap');
SELECT count(*) > 0 AS rows FROM glassheap.page_items(glassheap.page('g_ip', 0), 'heap');

-- garbage: random and truncated bytes give rows or a clear error
SELECT count(*) >= 0 AS survived FROM generate_series(1, 30) s,
  LATERAL glassheap.page_items(
    overlay(glassheap.page('g_ip', 0) PLACING decode(md5(s::text) || md5((s * 7)::text), 'hex')
            FROM 24 + (s * 263) % 8000), 'glassheap');
SELECT count(*) >= 0 AS survived FROM generate_series(1, 30) s,
  LATERAL glassheap.page_items(
    overlay(glassheap.page('h_ip', 0) PLACING decode(md5(s::text) || md5((s * 7)::text), 'hex')
            FROM 24 + (s * 263) % 8000), 'heap');
SELECT * FROM glassheap.page_items(substr(glassheap.page('g_ip', 0), 1, 5000), 'glassheap');
SELECT lp, lp_flags, lp_off, lp_len, cid, ctid, flags, natts, hoff, nulls, data, header - 'xmin' - 'xmax' AS header, problem
FROM glassheap.page_items('g_ip', 1);
SELECT * FROM glassheap.page_items(glassheap.page('g_ip', 0), 'nosuchsam');
-- release the horizon held since the glassheap page section
ROLLBACK PREPARED 'inspect_page_hold';
