-- Pages damaged by hand, for heap twins and glassheap tables: a page image from
-- glassheap.page is modified with overlay() and written (with a valid checksum when
-- the cluster has data checksums) as the only block of an empty
-- table created beforehand (lo_export over its file; the table was never read, so no
-- buffer holds an older copy). Then page_items, verify, stats, page_map and
-- version_chain must name the damage instead of counting or following it.
SET client_min_messages = warning;
CREATE FUNCTION put_page(rel regclass, img bytea) RETURNS void LANGUAGE plpgsql AS $$
DECLARE lo oid; c int;
BEGIN
  -- with data checksums (PostgreSQL 18's initdb default) the damaged page gets its
  -- correct checksum (pageinspect's page_checksum; pd_checksum is the little-endian
  -- uint16 at byte 8), so that glassheap's checks, not the buffer manager's checksum
  -- verification, meet the damage
  IF current_setting('data_checksums') = 'on' THEN
    c := page_checksum(img, 0) & 65535;
    img := set_byte(set_byte(img, 8, c & 255), 9, c >> 8);
  END IF;
  lo := lo_from_bytea(0, img);
  PERFORM lo_export(lo, current_setting('data_directory') || '/' || pg_relation_filepath(rel));
  PERFORM lo_unlink(lo);
END $$;
-- line pointers 1..n overwritten with LP_NORMAL, offset 8100 (not MAXALIGNed), length 40
CREATE FUNCTION smash_lps(img bytea, n int) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    img := overlay(img PLACING '\xa49f5000'::bytea FROM 25 + 4 * (i - 1) FOR 4);
  END LOOP;
  RETURN img;
END $$;
-- the item of line pointer lp: its offset in the page (0-based)
CREATE FUNCTION item_off(img bytea, am name, lp int) RETURNS int LANGUAGE sql AS $$
  SELECT lp_off FROM glassheap.page_items(img, am) WHERE page_items.lp = item_off.lp $$;

-- the damaged copies exist (empty) before any of the xids they will hold
SELECT twin_tables('dmg_rows', 'a int, b text');
SELECT twin_tables('dmg_loop', 'a int, b text');
SELECT twin_tables('dmg_orphan', 'a int, b text');
SELECT twin_tables('src', 'a int, b text');
SELECT twin($$INSERT INTO @@src SELECT g, 'row ' || g FROM generate_series(1, 40) g$$);

-- 20 of 40 line pointers overwritten: 20 rows remain, 20 items cannot be decoded
SELECT put_page('h_dmg_rows', smash_lps(glassheap.page('h_src', 0), 20));
SELECT put_page('g_dmg_rows', smash_lps(glassheap.page('g_src', 0), 20));
SELECT 'h' AS t, count(*) FILTER (WHERE problem IS NOT NULL) AS problems, count(*) AS items
FROM glassheap.page_items('h_dmg_rows', 0)
UNION ALL
SELECT 'g', count(*) FILTER (WHERE problem IS NOT NULL), count(*) FROM glassheap.page_items('g_dmg_rows', 0);
SELECT 'h' AS t, tuple_count, dead_tuple_count, undecodable_count FROM glassheap.stats('h_dmg_rows')
UNION ALL
SELECT 'g', tuple_count, dead_tuple_count, undecodable_count FROM glassheap.stats('g_dmg_rows');
SELECT glassheap.page_map('h_dmg_rows');
SELECT glassheap.page_map('g_dmg_rows');
SELECT glassheap.page_map('g_dmg_rows', 'svg') LIKE '%20 items on 1 pages (marked X) could not be decoded%' AS svg_warns;
-- healthy tables: nothing undecodable
SELECT undecodable_count FROM glassheap.stats('g_src');
SELECT count(*) AS problems FROM glassheap.verify('g_dmg_rows') WHERE msg LIKE '%lies outside%';

-- an update chain that loops: (0,1) -> (0,2) -> (0,3) -> (0,1). Row 1 is HOT-updated
-- twice; then (0,3) gets (0,2)'s xmax/pointer words, with xmax = (0,1)'s xmin and its
-- pointer aimed at (0,1).
SELECT twin_tables('dmghot', 'a int, b text');
SELECT twin($$INSERT INTO @@dmghot VALUES (1, 'a')$$);
SELECT twin($$UPDATE @@dmghot SET b = 'b'$$);
SELECT twin($$UPDATE @@dmghot SET b = 'c'$$);
-- glassheap: 16-byte header xmin(4) xmax(4) aux(4) info(4); info's low 9 bits = next offset
CREATE TABLE loop_imgs AS
SELECT 'g' AS t, img, item_off(img, 'glassheap', 1) AS o1, item_off(img, 'glassheap', 2) AS o2,
       item_off(img, 'glassheap', 3) AS o3
FROM (SELECT glassheap.page('g_dmghot', 0) AS img) s
UNION ALL
SELECT 'h', img, item_off(img, 'heap', 1), item_off(img, 'heap', 2), item_off(img, 'heap', 3)
FROM (SELECT glassheap.page('h_dmghot', 0) AS img) s;
SELECT put_page('g_dmg_loop',
  (SELECT overlay(overlay(overlay(img
     PLACING substring(img FROM o2 + 5 FOR 12) FROM o3 + 5 FOR 12)      -- xmax, aux, info of (0,2)
     PLACING substring(img FROM o1 + 1 FOR 4) FROM o3 + 5 FOR 4)        -- xmax = xmin of (0,1)
     PLACING '\x01'::bytea FROM o3 + 13 FOR 1)                          -- next offset 3 -> 1
   FROM loop_imgs WHERE t = 'g'));
-- heap: t_xmin(4) t_xmax(4) t_cid(4) t_ctid(6) t_infomask2(2) t_infomask(2)
SELECT put_page('h_dmg_loop',
  (SELECT overlay(overlay(overlay(img
     PLACING substring(img FROM o2 + 5 FOR 18) FROM o3 + 5 FOR 18)      -- xmax .. infomask of (0,2)
     PLACING substring(img FROM o1 + 1 FOR 4) FROM o3 + 5 FOR 4)        -- xmax = xmin of (0,1)
     PLACING '\x0100'::bytea FROM o3 + 17 FOR 2)                        -- t_ctid offset 3 -> 1
   FROM loop_imgs WHERE t = 'h'));
SELECT lp, ctid, xmax <> '0' AS has_xmax FROM glassheap.page_items('g_dmg_loop', 0) ORDER BY lp;
SELECT lp, t_ctid, t_xmax <> '0' AS has_xmax FROM heap_page_items(get_raw_page('h_dmg_loop', 0)) ORDER BY lp;
SELECT * FROM glassheap.verify('g_dmg_loop');
SELECT hop, tid, hot, lp_flags, problem FROM glassheap.version_chain('g_dmg_loop', '(0,2)') ORDER BY hop;
SELECT hop, tid, hot, lp_flags, problem FROM glassheap.version_chain('h_dmg_loop', '(0,2)') ORDER BY hop;
-- heap-only versions that no chain root leads to: (0,1)'s pointer to (0,2) cleared
SELECT put_page('g_dmg_orphan', (SELECT overlay(img PLACING '\x00'::bytea FROM o1 + 13 FOR 1) FROM loop_imgs WHERE t = 'g'));
SELECT put_page('h_dmg_orphan', (SELECT overlay(img PLACING '\x0100'::bytea FROM o1 + 17 FOR 2) FROM loop_imgs WHERE t = 'h'));
SELECT * FROM glassheap.verify('g_dmg_orphan');
SELECT hop, tid, hot, lp_flags, problem FROM glassheap.version_chain('g_dmg_orphan', '(0,3)') ORDER BY hop;
SELECT hop, tid, hot, lp_flags, problem FROM glassheap.version_chain('h_dmg_orphan', '(0,3)') ORDER BY hop;
-- the healthy originals: no problem, no loop
SELECT count(*) AS problems FROM glassheap.verify('g_dmghot');
SELECT hop, tid, hot, lp_flags, problem FROM glassheap.version_chain('g_dmghot', '(0,3)') ORDER BY hop;

-- page images: block numbers stop at 4294967294; more than 291 line pointers is damage
SELECT count(*) FROM glassheap.page_items(glassheap.page('h_src', 0), 'heap', 4294967294);
SELECT count(*) FROM glassheap.page_items(glassheap.page('h_src', 0), 'heap', 4294967295);
-- pd_lower = pd_upper = 8184: 2040 line pointers
SELECT count(*) FROM glassheap.page_items(overlay(glassheap.page('h_src', 0) PLACING '\xf81ff81f'::bytea FROM 13 FOR 4), 'heap');

DROP TABLE h_dmg_rows, g_dmg_rows, h_dmg_loop, g_dmg_loop, h_dmg_orphan, g_dmg_orphan, h_src, g_src, h_dmghot, g_dmghot, loop_imgs;
DROP FUNCTION put_page(regclass, bytea), smash_lps(bytea, int), item_off(bytea, name, int);
