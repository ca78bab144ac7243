-- Errors as heap reports them: an ERROR PostgreSQL raises while glassheap runs (an
-- index expression or predicate in CREATE INDEX, VACUUM FULL, CLUSTER, CREATE INDEX
-- CONCURRENTLY; constraints; TOAST; the index AM's own checks) reaches the client with
-- the message, DETAIL, HINT, CONTEXT and SQLSTATE the heap twin's gives, and the same
-- schema, table, column, data type and constraint names (src/pg/error.rs).
--
-- Each statement runs on the heap twin (h_) and then on the glassheap twin (g_), as the
-- client sees it (psql with SHOW_CONTEXT always, then the SQLSTATE); twin_error() then
-- compares every field of the two errors as PL/pgSQL's GET STACKED DIAGNOSTICS sees them
-- (table names normalised to @@). The client path with LOCATION and with RUST_BACKTRACE
-- set in the server's environment is TAP test 023.
\set SHOW_CONTEXT always
\set VERBOSITY default

CREATE FUNCTION twin_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text[] := '{}';
  p text;
  st text; msg text; det text; hin text; ctx text;
  sch text; tab text; col text; con text; typ text;
BEGIN
  FOREACH p IN ARRAY ARRAY['h_', 'g_'] LOOP
    BEGIN
      EXECUTE replace(stmt, '@@', p);
      r := r || 'no error'::text;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
        det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT,
        sch = SCHEMA_NAME, tab = TABLE_NAME, col = COLUMN_NAME,
        con = CONSTRAINT_NAME, typ = PG_DATATYPE_NAME;
      r := r || regexp_replace(format(E'%s: %s\nDETAIL: %s\nHINT: %s\nCONTEXT: %s\nschema=%s table=%s column=%s constraint=%s datatype=%s',
                                      st, msg, det, hin, ctx, sch, tab, col, con, typ), '\m' || p, '@@', 'g');
    END;
  END LOOP;
  IF r[1] = r[2] THEN
    RETURN E'same:\n' || r[1];
  END IF;
  RETURN E'DIFFERENT:\nheap: ' || r[1] || E'\nglassheap: ' || r[2];
END $$;

-- Functions that fail on some values: SQL (not inlined: it has a SET clause) and PL/pgSQL
-- (with DETAIL, HINT and its own SQLSTATE); divisor from a setting, so that an index can
-- be built first and its rebuild fail later.
CREATE FUNCTION div_sql(int) RETURNS int LANGUAGE sql IMMUTABLE SET search_path = public
  AS 'SELECT $1 / current_setting(''errtest.d'')::int';
CREATE FUNCTION div_plpgsql(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF current_setting('errtest.d')::int = 0 THEN
    RAISE EXCEPTION 'refusing % (divisor 0)', $1
      USING ERRCODE = 'data_exception', DETAIL = 'the divisor comes from errtest.d',
            HINT = 'SET errtest.d to anything but 0';
  END IF;
  RETURN $1 / current_setting('errtest.d')::int;
END $$;
CREATE DOMAIN small_int AS int CHECK (VALUE < 40);

SELECT twin_tables('erre', 'id int PRIMARY KEY, a int, b text');
SELECT twin('INSERT INTO @@erre SELECT i, i % 7, md5(i::text) FROM generate_series(1, 300) i');

-- CREATE INDEX: an index expression fails in glassheap's index build scan
SET errtest.d = 0;
CREATE INDEX ON h_erre (div_sql(a));
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX ON g_erre (div_sql(a));
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX ON h_erre (div_plpgsql(a));
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX ON g_erre (div_plpgsql(a));
\echo :LAST_ERROR_SQLSTATE
SELECT twin_error('CREATE INDEX ON @@erre (div_sql(a))');
SELECT twin_error('CREATE INDEX ON @@erre (div_plpgsql(a))');
SELECT twin_error('CREATE INDEX ON @@erre ((a / 0))');
-- a domain's CHECK in an index expression: schema, data type and constraint names
SELECT twin_error('CREATE INDEX ON @@erre ((id::small_int))');
-- a partial index's predicate fails
SELECT twin_error('CREATE INDEX ON @@erre (a) WHERE div_plpgsql(a) > 0');
-- CREATE UNIQUE INDEX over duplicates
SELECT twin_error('CREATE UNIQUE INDEX ON @@erre (a)');
-- CREATE INDEX CONCURRENTLY cannot run in a function: the client path only
CREATE INDEX CONCURRENTLY h_erre_cic ON h_erre (div_plpgsql(a));
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX CONCURRENTLY g_erre_cic ON g_erre (div_plpgsql(a));
\echo :LAST_ERROR_SQLSTATE
DROP INDEX h_erre_cic, g_erre_cic;

-- VACUUM FULL and CLUSTER rebuild an expression index whose function now fails
SET errtest.d = 1;
SELECT twin('CREATE INDEX @@erre_sql ON @@erre (div_sql(a))');
SELECT twin('CREATE INDEX @@erre_plpgsql ON @@erre (div_plpgsql(a))');
SET errtest.d = 0;
VACUUM FULL h_erre;
\echo :LAST_ERROR_SQLSTATE
VACUUM FULL g_erre;
\echo :LAST_ERROR_SQLSTATE
CLUSTER h_erre USING h_erre_pkey;
\echo :LAST_ERROR_SQLSTATE
CLUSTER g_erre USING g_erre_pkey;
\echo :LAST_ERROR_SQLSTATE
SELECT twin_error('CLUSTER @@erre USING @@erre_pkey');
-- CLUSTER ordered by the failing expression: the sort evaluates it
SELECT twin_error('CLUSTER @@erre USING @@erre_sql');
-- INSERT and UPDATE evaluate the index expression for the new version
SELECT twin_error('INSERT INTO @@erre VALUES (1000, 1, ''x'')');
SELECT twin_error('UPDATE @@erre SET a = a + 1 WHERE id = 5');
SET errtest.d = 1;
SELECT twin('DROP INDEX @@erre_sql');
SELECT twin('DROP INDEX @@erre_plpgsql');

-- constraints: CHECK, NOT NULL, unique, foreign key (row and ALTER TABLE validation)
SELECT twin_tables('errc', 'id int PRIMARY KEY, n int NOT NULL, v int CONSTRAINT v_pos CHECK (v > 0), u int UNIQUE, d small_int');
SELECT twin('INSERT INTO @@errc SELECT i, i, i, i FROM generate_series(1, 50) i');
SELECT twin_tables('errfk', 'id int PRIMARY KEY, c int');
SELECT twin('ALTER TABLE @@errfk ADD CONSTRAINT fk_c FOREIGN KEY (c) REFERENCES @@errc (id)');
SELECT twin('INSERT INTO @@errfk VALUES (1, 1)');
INSERT INTO h_errc VALUES (100, 1, -1, 100);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO g_errc VALUES (100, 1, -1, 100);
\echo :LAST_ERROR_SQLSTATE
SELECT twin_error('INSERT INTO @@errc VALUES (100, 1, -1, 100)');
SELECT twin_error('INSERT INTO @@errc VALUES (100, NULL, 1, 100)');
SELECT twin_error('UPDATE @@errc SET n = NULL WHERE id = 3');
SELECT twin_error('INSERT INTO @@errc VALUES (3, 1, 1, 100)');
SELECT twin_error('UPDATE @@errc SET u = 7 WHERE id = 8');
SELECT twin_error('INSERT INTO @@errc VALUES (101, 1, 1, 101, 500)');
SELECT twin_error('INSERT INTO @@errc VALUES (102, 1, 1, 7) ON CONFLICT (u) DO UPDATE SET v = -5');
SELECT twin_error('COPY @@errc FROM PROGRAM ''printf "200\t1\t1\t200\t1\n201\t1\t0\t201\t1\n"''');
SELECT twin_error('INSERT INTO @@errfk VALUES (2, 999)');
SELECT twin_error('DELETE FROM @@errc WHERE id = 1');
SELECT twin_error('UPDATE @@errc SET id = 1000 WHERE id = 1');
SELECT twin('INSERT INTO @@errfk VALUES (3, NULL)');
SELECT twin('ALTER TABLE @@errfk DROP CONSTRAINT fk_c');
SELECT twin('INSERT INTO @@errfk VALUES (4, 4444)');
SELECT twin_error('ALTER TABLE @@errfk ADD CONSTRAINT fk_c FOREIGN KEY (c) REFERENCES @@errc (id)');
SELECT twin_error('ALTER TABLE @@errc ADD CONSTRAINT v_small CHECK (v < 40)');
SELECT twin_error('ALTER TABLE @@errc ALTER COLUMN d SET NOT NULL');
SELECT twin('INSERT INTO @@errc VALUES (60, 1, 1, 60)');
SELECT twin_error('ALTER TABLE @@errc ADD CONSTRAINT @@n_excl EXCLUDE USING btree (n WITH =)');
SELECT twin_error('ALTER TABLE @@errc ALTER COLUMN v TYPE small_int');

-- TOAST: values stored out of line (and not compressible) read back inside glassheap's
-- callbacks: an index entry too large for btree (in CREATE INDEX, in INSERT), an
-- expression over the detoasted value that fails
SELECT twin_tables('errt', 'id int PRIMARY KEY, big text');
SELECT twin('ALTER TABLE @@errt ALTER COLUMN big SET STORAGE EXTERNAL');
SELECT twin('INSERT INTO @@errt SELECT i, (SELECT string_agg(md5(i::text || j::text), '''') FROM generate_series(1, 200) j) FROM generate_series(1, 3) i');
SELECT twin_query('SELECT id, length(big), pg_column_size(big) FROM @@errt');
SELECT twin_error('CREATE INDEX ON @@errt (big)');
SELECT twin_error('CREATE INDEX ON @@errt ((left(big, 40)::int))');
SELECT twin_error('CREATE INDEX ON @@errt ((length(big)::small_int))');
SELECT twin('CREATE INDEX @@errt_prefix ON @@errt (left(big, 10))');
SELECT twin_error('CREATE INDEX ON @@errt (big) WHERE id > 2');
SELECT twin_error('CREATE UNIQUE INDEX ON @@errt (length(big))');
SELECT twin('CREATE INDEX @@errt_small ON @@errt (big) WHERE id > 100');
SELECT twin_error('INSERT INTO @@errt SELECT 200, big FROM @@errt WHERE id = 1');
SELECT twin_error('UPDATE @@errt SET id = 101 WHERE id = 2');
SELECT twin('DROP INDEX @@errt_small');
SET errtest.d = 1;
SELECT twin('CREATE INDEX @@errt_len ON @@errt (div_sql(length(big) + id))');
SET errtest.d = 0;
SELECT twin_error('CLUSTER @@errt USING @@errt_len');
SELECT twin_error('CLUSTER @@errt USING @@errt_pkey');
VACUUM FULL h_errt;
\echo :LAST_ERROR_SQLSTATE
VACUUM FULL g_errt;
\echo :LAST_ERROR_SQLSTATE
SET errtest.d = 1;
SELECT twin_query('SELECT id, md5(big) FROM @@errt');

-- glassheap's own allocations on its per-row and per-scan paths (src/pg/mem.rs, made
-- without pgrx's guard) report a memory context out of memory as palloc does: ERROR
-- 53200 "out of memory", the request's size and the context in DETAIL; the statement
-- fails, the session and the server go on. Test builds simulate the failure
-- (glassheap.fault_injection = 'out_of_memory').
CREATE TABLE g_oom (a int, b int) USING glassheap;
INSERT INTO g_oom VALUES (1, 1);
SET glassheap.fault_injection = 'out_of_memory';
\set VERBOSITY terse
INSERT INTO g_oom VALUES (2, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM g_oom;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
DO $$
DECLARE det text;
BEGIN
  INSERT INTO g_oom VALUES (2, 2);
EXCEPTION WHEN out_of_memory THEN
  GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'out of memory, detail as palloc''s: %',
    det ~ '^Failed on request of size \d+ in memory context ".+"\.$';
END $$;
RESET glassheap.fault_injection;
INSERT INTO g_oom VALUES (3, 3);
SELECT * FROM g_oom ORDER BY a;
DROP TABLE g_oom;

DROP TABLE h_errfk, g_errfk, h_errc, g_errc, h_erre, g_erre, h_errt, g_errt;
DROP FUNCTION twin_error(text), div_sql(int), div_plpgsql(int);
DROP DOMAIN small_int;
