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
	"rmgr" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"record_length" INT,  /* i32 */
	"main_data_length" INT,  /* i32 */
	"fpi_length" INT,  /* i32 */
	"blocks" jsonb,  /* JsonB */
	"description" TEXT,  /* String */
	"decoded" jsonb,  /* JsonB */
	"logical" jsonb,  /* Option < JsonB > */
	"mine" bool,  /* bool */
	"dirtied" TEXT[]  /* Vec < String > */
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
	"rmgr" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"record_length" INT,  /* i32 */
	"main_data_length" INT,  /* i32 */
	"fpi_length" INT,  /* i32 */
	"blocks" jsonb,  /* JsonB */
	"description" TEXT,  /* String */
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
	"rmgr" TEXT,  /* String */
	"record_type" TEXT,  /* String */
	"count" bigint,  /* i64 */
	"count_percent" double precision,  /* f64 */
	"record_size" bigint,  /* i64 */
	"record_size_percent" double precision,  /* f64 */
	"fpi_size" bigint,  /* i64 */
	"fpi_size_percent" double precision,  /* f64 */
	"combined_size" bigint,  /* i64 */
	"combined_size_percent" double precision,  /* f64 */
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

