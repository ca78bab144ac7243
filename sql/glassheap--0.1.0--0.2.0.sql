-- glassheap update script (drafted by scripts/update-script, reviewed by hand)
\echo Use "ALTER EXTENSION glassheap UPDATE" to load this file. \quit
SET search_path = glassheap;

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
	"start_lsn" pg_lsn, /* Lsn */
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

