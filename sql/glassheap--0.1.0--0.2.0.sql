-- glassheap update script (drafted by scripts/update-script, reviewed by hand)
\echo Use "ALTER EXTENSION glassheap UPDATE" to load this file. \quit
SET search_path = glassheap;

-- requires:
--   glassheap_access_method


CREATE FUNCTION all_versions(rel regclass) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'all_versions' LANGUAGE C STRICT;
COMMENT ON FUNCTION all_versions(regclass) IS
    'every stored version of a heap or glassheap table, visible or not, as rows of the column definition list (like pg_dirtyread)';
REVOKE EXECUTE ON FUNCTION glassheap.all_versions(rel regclass) FROM PUBLIC;


CREATE  FUNCTION "durability"(
	"rel" regclass, /* PgRelation */
	"blkno" bigint /* i64 */
) RETURNS TABLE (
	"in_shared_buffers" bool,  /* bool */
	"dirty" bool,  /* Option < bool > */
	"pins" INT,  /* Option < i32 > */
	"usage_count" INT,  /* Option < i32 > */
	"buffer_flags" TEXT[],  /* :: std :: option :: Option < Vec < String > > */
	"buffer_lsn" pg_lsn,  /* Option < Lsn > */
	"file_lsn" pg_lsn,  /* Lsn */
	"file_matches_buffer" bool,  /* Option < bool > */
	"insert_lsn" pg_lsn,  /* Lsn */
	"write_lsn" pg_lsn,  /* Lsn */
	"flush_lsn" pg_lsn,  /* Lsn */
	"redo_lsn" pg_lsn,  /* Lsn */
	"checkpoint_lsn" pg_lsn,  /* Lsn */
	"durable" bool,  /* bool */
	"verdict" TEXT  /* String */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'durability_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.durability(regclass, bigint) FROM PUBLIC;


-- requires:
--   removal_horizon


CREATE FUNCTION explain_horizon(rel regclass, t tid DEFAULT NULL)
RETURNS TABLE (holder text, who text, state text, since timestamptz, xmin xid,
               holds_back boolean, release text)
LANGUAGE plpgsql AS $fn$
-- xid has no ordering operators: age(x) (how many transactions ago x started) orders
-- them, the larger the older.
DECLARE
  horizon xid := glassheap.removal_horizon(rel);
  v record;
  limit_xid xid;
BEGIN
  IF t IS NOT NULL THEN
    SELECT * INTO v FROM glassheap.visibility(rel) vis WHERE vis.tid = t;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no stored version at % in "%"', t, rel
        USING HINT = 'glassheap.page_items shows the line pointers of a page.';
    END IF;
    limit_xid := v.xmax;
    holder := 'version'; who := t::text;
    IF v.xmax = '0' OR v.xmax_status IN ('invalid', 'aborted') THEN
      state := 'not deleted: no deleter to wait for (a live version is never removed)';
      holds_back := false;
    ELSIF v.xmax_status <> 'committed' THEN
      state := format('deleted by %s, which is %s: it stays until that transaction ends', v.xmax, v.xmax_status);
      holds_back := true;
    ELSIF age(v.xmax) > age(horizon) THEN
      state := format('deleted by %s (committed), older than the removal horizon %s: removable now (VACUUM or pruning will)', v.xmax, horizon);
      holds_back := false;
    ELSE
      state := format('deleted by %s (committed), not older than the removal horizon %s: a snapshot may still see it; what holds the horizon back follows', v.xmax, horizon);
      holds_back := true;
    END IF;
    since := NULL; xmin := v.xmax; release := NULL;
    RETURN NEXT;
  END IF;

  holder := 'removal horizon'; who := rel::text; since := NULL; xmin := horizon;
  state := 'versions deleted by transactions older than this are dead to everyone';
  holds_back := NULL; release := NULL;
  RETURN NEXT;

  -- a holder holds a version back when its xmin is not newer than the deleter; without
  -- a version, when it is not newer than the horizon
  limit_xid := coalesce(nullif(limit_xid, '0'), horizon);

  RETURN QUERY
    SELECT 'backend'::text, format('pid %s (%s, user %s, database %s)', a.pid,
             coalesce(nullif(a.application_name, ''), a.backend_type), a.usename, a.datname),
           coalesce(a.state, '') || coalesce(': ' || left(a.query, 60), ''),
           a.xact_start, coalesce(a.backend_xmin, a.backend_xid),
           age(coalesce(a.backend_xmin, a.backend_xid)) >= age(limit_xid),
           format('end its transaction, or SELECT pg_terminate_backend(%s)', a.pid)
    FROM pg_stat_activity a
    WHERE a.pid <> pg_backend_pid() AND coalesce(a.backend_xmin, a.backend_xid) IS NOT NULL
    ORDER BY age(coalesce(a.backend_xmin, a.backend_xid)) DESC;
  RETURN QUERY
    SELECT 'prepared transaction'::text, format('gid %L (owner %s, database %s)', p.gid, p.owner, p.database),
           'prepared', p.prepared, p.transaction,
           age(p.transaction) >= age(limit_xid),
           format('COMMIT PREPARED %L or ROLLBACK PREPARED %L', p.gid, p.gid)
    FROM pg_prepared_xacts p ORDER BY age(p.transaction) DESC;
  RETURN QUERY
    SELECT 'replication slot'::text, format('%s (%s slot, %s)', s.slot_name, s.slot_type,
             CASE WHEN s.active THEN 'active' ELSE 'inactive' END),
           CASE WHEN s.xmin IS NOT NULL THEN 'xmin' ELSE 'catalog_xmin (catalog tables only)' END,
           NULL::timestamptz, coalesce(s.xmin, s.catalog_xmin),
           s.xmin IS NOT NULL AND age(s.xmin) >= age(limit_xid),
           format('SELECT pg_drop_replication_slot(%L) (or let its consumer catch up)', s.slot_name)
    FROM pg_replication_slots s WHERE coalesce(s.xmin, s.catalog_xmin) IS NOT NULL;
  RETURN QUERY
    SELECT 'standby feedback'::text, format('%s (pid %s)', coalesce(nullif(r.application_name, ''), r.client_addr::text), r.pid),
           r.state, r.backend_start, r.backend_xmin,
           age(r.backend_xmin) >= age(limit_xid),
           'on the standby: end its long queries, or set hot_standby_feedback = off there'
    FROM pg_stat_replication r WHERE r.backend_xmin IS NOT NULL;
END
$fn$;
REVOKE EXECUTE ON FUNCTION glassheap.explain_horizon(rel regclass, t tid) FROM PUBLIC;


-- explain_visibility: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.explain_visibility(regclass, tid)'::regprocedure;
  DROP FUNCTION glassheap.explain_visibility(regclass, tid);
  EXECUTE $create$
CREATE  FUNCTION "explain_visibility"(
	"rel" regclass, /* Option < PgRelation > */
	"t" tid, /* Option < pg_sys :: ItemPointerData > */
	"snapshot" pg_snapshot DEFAULT NULL /* Option < PgSnapshot > */
) RETURNS TABLE (
	"step" INT,  /* i32 */
	"rule" TEXT,  /* String */
	"observed" TEXT,  /* String */
	"outcome" TEXT  /* String */
)
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_visibility_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.explain_visibility(regclass, tid, pg_snapshot) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.explain_visibility(regclass, tid, pg_snapshot) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


CREATE  FUNCTION "last_commit"() RETURNS TABLE (
	"xid" xid,  /* Xid */
	"commit_lsn" pg_lsn,  /* Lsn */
	"commit_end_lsn" pg_lsn,  /* Lsn */
	"synchronous_commit" TEXT,  /* String */
	"flush_lsn_at_commit" pg_lsn,  /* Lsn */
	"flushed_at_commit" bool,  /* bool */
	"flush_lsn" pg_lsn,  /* Lsn */
	"durable" bool,  /* bool */
	"verdict" TEXT  /* String */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'last_commit_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.last_commit() FROM PUBLIC;


-- page_header: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.page_header(bytea)'::regprocedure;
  DROP FUNCTION glassheap.page_header(bytea);
  EXECUTE $create$
CREATE  FUNCTION "page_header"(
	"page" bytea /* & [u8] */
) RETURNS TABLE (
	"lsn" pg_lsn,  /* Lsn */
	"checksum" INT,  /* i32 */
	"flags" TEXT[],  /* Vec < String > */
	"lower" INT,  /* i32 */
	"upper" INT,  /* i32 */
	"special" INT,  /* i32 */
	"pagesize" INT,  /* i32 */
	"version" smallint,  /* i16 */
	"prune_xid" xid,  /* Xid */
	"free_space" INT,  /* i32 */
	"flags_raw" INT,  /* i32 */
	"line_pointers" INT,  /* i32 */
	"valid" bool,  /* bool */
	"problems" TEXT[]  /* Vec < String > */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'page_header_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.page_header(bytea) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.page_header(bytea) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


CREATE  FUNCTION "page_history"(
	"rel" regclass, /* PgRelation */
	"blkno" bigint, /* i64 */
	"start_lsn" pg_lsn, /* Option < Lsn > */
	"end_lsn" pg_lsn DEFAULT NULL /* Option < Lsn > */
) RETURNS TABLE (
	"lsn" pg_lsn,  /* Lsn */
	"end_lsn" pg_lsn,  /* Lsn */
	"xid" xid,  /* Xid */
	"resource_manager" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"block_id" INT,  /* i32 */
	"page_lsn" pg_lsn,  /* Option < Lsn > */
	"page" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"note" TEXT  /* Option < String > */
)
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'page_history_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.page_history(regclass, bigint, pg_lsn, pg_lsn) FROM PUBLIC;


CREATE  FUNCTION "page_html"(
	"rel" regclass, /* PgRelation */
	"blkno" bigint /* i64 */
) RETURNS TEXT /* String */
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'page_html_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.page_html(regclass, bigint) FROM PUBLIC;


-- page_items: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.page_items(bytea, name, bigint)'::regprocedure;
  DROP FUNCTION glassheap.page_items(bytea, name, bigint);
  EXECUTE $create$
CREATE  FUNCTION "page_items"(
	"page" bytea, /* & [u8] */
	"am" name, /* Name */
	"blkno" bigint DEFAULT 0 /* i64 */
) RETURNS TABLE (
	"lp" smallint,  /* i16 */
	"lp_flags" TEXT,  /* String */
	"lp_flags_raw" smallint,  /* i16 */
	"lp_off" smallint,  /* i16 */
	"lp_len" smallint,  /* i16 */
	"xmin" xid,  /* Option < Xid > */
	"xmax" xid,  /* Option < Xid > */
	"cid" bigint,  /* Option < i64 > */
	"ctid" tid,  /* Option < pg_sys :: ItemPointerData > */
	"flags" TEXT[],  /* :: std :: option :: Option < Vec < String > > */
	"t_infomask2" INT,  /* Option < i32 > */
	"t_infomask" INT,  /* Option < i32 > */
	"info" bigint,  /* Option < i64 > */
	"natts" INT,  /* Option < i32 > */
	"hoff" INT,  /* Option < i32 > */
	"nulls" TEXT,  /* Option < String > */
	"data" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"header" jsonb,  /* Option < JsonB > */
	"problem" TEXT  /* Option < String > */
)
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'page_items_bytes_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.page_items(bytea, name, bigint) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.page_items(bytea, name, bigint) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- page_items: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.page_items(regclass, bigint)'::regprocedure;
  DROP FUNCTION glassheap.page_items(regclass, bigint);
  EXECUTE $create$
CREATE  FUNCTION "page_items"(
	"rel" regclass, /* PgRelation */
	"blkno" bigint /* i64 */
) RETURNS TABLE (
	"lp" smallint,  /* i16 */
	"lp_flags" TEXT,  /* String */
	"lp_flags_raw" smallint,  /* i16 */
	"lp_off" smallint,  /* i16 */
	"lp_len" smallint,  /* i16 */
	"xmin" xid,  /* Option < Xid > */
	"xmax" xid,  /* Option < Xid > */
	"cid" bigint,  /* Option < i64 > */
	"ctid" tid,  /* Option < pg_sys :: ItemPointerData > */
	"flags" TEXT[],  /* :: std :: option :: Option < Vec < String > > */
	"t_infomask2" INT,  /* Option < i32 > */
	"t_infomask" INT,  /* Option < i32 > */
	"info" bigint,  /* Option < i64 > */
	"natts" INT,  /* Option < i32 > */
	"hoff" INT,  /* Option < i32 > */
	"nulls" TEXT,  /* Option < String > */
	"data" bytea,  /* :: std :: option :: Option < Vec < u8 > > */
	"header" jsonb,  /* Option < JsonB > */
	"problem" TEXT  /* Option < String > */
)
STRICT 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'page_items_rel_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.page_items(regclass, bigint) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.page_items(regclass, bigint) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


CREATE  FUNCTION "record_html"(
	"lsn" pg_lsn /* Lsn */
) RETURNS TEXT /* String */
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_html_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.record_html(pg_lsn) FROM PUBLIC;


CREATE  FUNCTION "removal_horizon"(
	"rel" regclass /* PgRelation */
) RETURNS xid /* Xid */
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'removal_horizon_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.removal_horizon(regclass) FROM PUBLIC;


CREATE  FUNCTION "row_history"(
	"rel" regclass, /* PgRelation */
	"tid" tid, /* pg_sys :: ItemPointerData */
	"start_lsn" pg_lsn, /* Option < Lsn > */
	"end_lsn" pg_lsn DEFAULT NULL /* Option < Lsn > */
) RETURNS TABLE (
	"lsn" pg_lsn,  /* Lsn */
	"xid" xid,  /* Xid */
	"tid" tid,  /* pg_sys :: ItemPointerData */
	"event" TEXT,  /* String */
	"detail" TEXT,  /* String */
	"next_tid" tid  /* Option < pg_sys :: ItemPointerData > */
)
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'row_history_wrapper';
REVOKE EXECUTE ON FUNCTION glassheap.row_history(regclass, tid, pg_lsn, pg_lsn) FROM PUBLIC;

-- (0.2.0's install script begins by refusing a server of another major version than the
-- library's; an update needs no such check: a library built for another version does not
-- load, and ALTER EXTENSION runs in a server that already loaded it.)

-- stats: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.stats(regclass)'::regprocedure;
  DROP FUNCTION glassheap.stats(regclass);
  EXECUTE $create$
CREATE  FUNCTION "stats"(
	"rel" regclass /* PgRelation */
) RETURNS TABLE (
	"table_len" bigint,  /* i64 */
	"tuple_count" bigint,  /* i64 */
	"tuple_len" bigint,  /* i64 */
	"tuple_percent" double precision,  /* f64 */
	"dead_tuple_count" bigint,  /* i64 */
	"dead_tuple_len" bigint,  /* i64 */
	"dead_tuple_percent" double precision,  /* f64 */
	"free_space" bigint,  /* i64 */
	"free_percent" double precision,  /* f64 */
	"undecodable_count" bigint  /* i64 */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'stats_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.stats(regclass) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.stats(regclass) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- trace: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.trace(TEXT)'::regprocedure;
  DROP FUNCTION glassheap.trace(TEXT);
  EXECUTE $create$
CREATE  FUNCTION "trace"(
	"statement" TEXT /* & str */
) RETURNS TABLE (
	"start_lsn" pg_lsn,  /* Lsn */
	"end_lsn" pg_lsn,  /* Lsn */
	"prev_lsn" pg_lsn,  /* Lsn */
	"xid" xid,  /* Xid */
	"resource_manager" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"record_length" INT,  /* i32 */
	"main_data_length" INT,  /* i32 */
	"fpi_length" INT,  /* i32 */
	"description" TEXT,  /* String */
	"block_ref" TEXT,  /* String */
	"blocks" jsonb,  /* JsonB */
	"decoded" jsonb,  /* JsonB */
	"logical" jsonb,  /* Option < JsonB > */
	"mine" bool,  /* bool */
	"dirtied" TEXT[],  /* Vec < String > */
	"flushed" bool  /* bool */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'trace_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.trace(TEXT) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.trace(TEXT) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- verify: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.verify(regclass)'::regprocedure;
  DROP FUNCTION glassheap.verify(regclass);
  EXECUTE $create$
CREATE  FUNCTION "verify"(
	"rel" regclass /* PgRelation */
) RETURNS TABLE (
	"blkno" bigint,  /* i64 */
	"offnum" INT,  /* Option < i32 > */
	"attnum" INT,  /* Option < i32 > */
	"msg" TEXT  /* String */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'verify_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.verify(regclass) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.verify(regclass) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- version_chain: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.version_chain(regclass, tid)'::regprocedure;
  DROP FUNCTION glassheap.version_chain(regclass, tid);
  EXECUTE $create$
CREATE  FUNCTION "version_chain"(
	"rel" regclass, /* PgRelation */
	"t" tid /* pg_sys :: ItemPointerData */
) RETURNS TABLE (
	"hop" INT,  /* i32 */
	"tid" tid,  /* pg_sys :: ItemPointerData */
	"xmin" xid,  /* Option < Xid > */
	"xmax" xid,  /* Option < Xid > */
	"visible" bool,  /* bool */
	"hot" bool,  /* bool */
	"lp_flags" TEXT,  /* String */
	"problem" TEXT  /* Option < String > */
)
STRICT
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'version_chain_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.version_chain(regclass, tid) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.version_chain(regclass, tid) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- visibility: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.visibility(regclass)'::regprocedure;
  DROP FUNCTION glassheap.visibility(regclass);
  EXECUTE $create$
CREATE  FUNCTION "visibility"(
	"rel" regclass, /* Option < PgRelation > */
	"snapshot" pg_snapshot DEFAULT NULL /* Option < PgSnapshot > */
) RETURNS TABLE (
	"tid" tid,  /* pg_sys :: ItemPointerData */
	"xmin" xid,  /* Xid */
	"xmax" xid,  /* Xid */
	"xmin_status" TEXT,  /* String */
	"xmax_status" TEXT,  /* String */
	"visible" bool,  /* bool */
	"reason" TEXT,  /* String */
	"snapshot_used" TEXT,  /* String */
	"removal_horizon" xid,  /* Xid */
	"xmax_members" TEXT  /* Option < String > */
)
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'visibility_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.visibility(regclass, pg_snapshot) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.visibility(regclass, pg_snapshot) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- wal_records: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.wal_records(pg_lsn, pg_lsn, regclass)'::regprocedure;
  DROP FUNCTION glassheap.wal_records(pg_lsn, pg_lsn, regclass);
  EXECUTE $create$
CREATE  FUNCTION "wal_records"(
	"start_lsn" pg_lsn, /* Option < Lsn > */
	"end_lsn" pg_lsn DEFAULT NULL, /* Option < Lsn > */
	"rel" regclass DEFAULT NULL /* Option < PgRelation > */
) RETURNS TABLE (
	"start_lsn" pg_lsn,  /* Lsn */
	"end_lsn" pg_lsn,  /* Lsn */
	"prev_lsn" pg_lsn,  /* Lsn */
	"xid" xid,  /* Xid */
	"resource_manager" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"record_length" INT,  /* i32 */
	"main_data_length" INT,  /* i32 */
	"fpi_length" INT,  /* i32 */
	"description" TEXT,  /* String */
	"block_ref" TEXT,  /* String */
	"blocks" jsonb,  /* JsonB */
	"decoded" jsonb,  /* JsonB */
	"logical" jsonb  /* Option < JsonB > */
)
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wal_records_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.wal_records(pg_lsn, pg_lsn, regclass) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.wal_records(pg_lsn, pg_lsn, regclass) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;


-- wal_stats: new definition; the privileges granted on the old one are kept
DO $$
DECLARE
  old_acl aclitem[];
  owner oid;
  g record;
BEGIN
  SELECT proacl, proowner INTO old_acl, owner FROM pg_proc WHERE oid = 'glassheap.wal_stats(pg_lsn, pg_lsn)'::regprocedure;
  DROP FUNCTION glassheap.wal_stats(pg_lsn, pg_lsn);
  EXECUTE $create$
CREATE  FUNCTION "wal_stats"(
	"start_lsn" pg_lsn, /* Option < Lsn > */
	"end_lsn" pg_lsn DEFAULT NULL, /* Option < Lsn > */
	"per_relation" bool DEFAULT false /* bool */
) RETURNS TABLE (
	"resource_manager" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"count" bigint,  /* i64 */
	"count_percentage" double precision,  /* f64 */
	"record_size" bigint,  /* i64 */
	"record_size_percentage" double precision,  /* f64 */
	"fpi_size" bigint,  /* i64 */
	"fpi_size_percentage" double precision,  /* f64 */
	"combined_size" bigint,  /* i64 */
	"combined_size_percentage" double precision,  /* f64 */
	"relation" TEXT  /* Option < String > */
)
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wal_stats_wrapper';
$create$;
  REVOKE EXECUTE ON FUNCTION glassheap.wal_stats(pg_lsn, pg_lsn, bool) FROM PUBLIC;
  FOR g IN SELECT * FROM aclexplode(old_acl) WHERE grantee <> owner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION glassheap.wal_stats(pg_lsn, pg_lsn, bool) TO %s%s',
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END $$;

