-- The inspection functions are superuser-only unless granted, like contrib's.
SET client_min_messages = warning;
CREATE ROLE regress_inspect_user;
GRANT USAGE ON SCHEMA glassheap TO regress_inspect_user;
CREATE TABLE ipr_t (a int);
INSERT INTO ipr_t VALUES (1);
GRANT SELECT ON ipr_t TO regress_inspect_user;
SET ROLE regress_inspect_user;
SELECT length(glassheap.page('ipr_t', 0));
SELECT * FROM glassheap.page_header('\x00');
SELECT * FROM glassheap.page_items('ipr_t', 0);
SELECT * FROM glassheap.page_items('\x00'::bytea, 'heap');
SELECT * FROM glassheap.tuple_values('ipr_t', '(0,1)');
SELECT * FROM glassheap.stats('ipr_t');
SELECT * FROM glassheap.wal_records('0/1000000');
SELECT * FROM glassheap.wal_stats('0/1000000');
SELECT * FROM glassheap.verify('ipr_t');
RESET ROLE;
-- grantable like contrib's functions
GRANT EXECUTE ON FUNCTION glassheap.page(regclass, bigint, text) TO regress_inspect_user;
GRANT EXECUTE ON FUNCTION glassheap.tuple_values(regclass, tid) TO regress_inspect_user;
SET ROLE regress_inspect_user;
SELECT length(glassheap.page('ipr_t', 0)) AS page_len;
SELECT attname, value FROM glassheap.tuple_values('ipr_t', '(0,1)');
RESET ROLE;
-- EXECUTE alone does not show a table's rows: SELECT on the table is needed too
REVOKE SELECT ON ipr_t FROM regress_inspect_user;
SET ROLE regress_inspect_user;
SELECT attname, value FROM glassheap.tuple_values('ipr_t', '(0,1)');
SELECT length(glassheap.page('ipr_t', 0)) AS page_len;
RESET ROLE;
REVOKE ALL ON FUNCTION glassheap.page(regclass, bigint, text) FROM regress_inspect_user;
REVOKE ALL ON FUNCTION glassheap.tuple_values(regclass, tid) FROM regress_inspect_user;
REVOKE ALL ON ipr_t FROM regress_inspect_user;
REVOKE USAGE ON SCHEMA glassheap FROM regress_inspect_user;
DROP ROLE regress_inspect_user;
-- every function in the schema except the access method handler is closed to PUBLIC
SELECT p.proname FROM pg_proc p
WHERE p.pronamespace = 'glassheap'::regnamespace
  AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
ORDER BY 1;
