# Errors as heap reports them, whatever the server's environment: with RUST_BACKTRACE=1
# in the server's environment (where pgrx's re-raised ERRORs carry a Rust backtrace in
# their DETAIL), every ERROR PostgreSQL raises while glassheap runs reaches the client
# exactly as the heap twin's: the complete report psql prints with VERBOSITY verbose
# and SHOW_CONTEXT always (SQLSTATE, message, DETAIL, HINT, CONTEXT, the schema, table,
# column, data type and constraint names, and LOCATION: the PostgreSQL function, file
# and line that raised it) is compared line for line, table names normalised. Cases:
# index expressions and predicates (CREATE INDEX, CREATE INDEX CONCURRENTLY, INSERT,
# UPDATE), VACUUM FULL and CLUSTER rebuilding an index whose function fails,
# constraints (CHECK, NOT NULL, unique, foreign key, domain), an index entry too large
# for btree (out-of-line TOAST values) and a serialization failure (a PREPAREd
# transaction makes the conflict deterministic in one session). src/pg/error.rs.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('errors', conf => "autovacuum = off\nmax_prepared_transactions = 5\n");
# pg_ctl passes the test's environment to the server
$ENV{RUST_BACKTRACE} = '1';
$node->start;
delete $ENV{RUST_BACKTRACE};

# the backends have RUST_BACKTRACE=1 (else this test would prove nothing): a program a
# backend starts inherits its environment
is($node->safe_psql('postgres', q{
	CREATE TEMP TABLE env (v text);
	COPY env FROM PROGRAM 'printenv RUST_BACKTRACE';
	SELECT v FROM env}), '1', 'the server runs with RUST_BACKTRACE=1');

# Both twins: h_* USING heap, g_* USING glassheap; @@ stands for the prefix.
my $setup = q{
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
};
my $twin_setup = q{
	CREATE TABLE @@e (id int PRIMARY KEY, a int, b text) USING @AM@;
	INSERT INTO @@e SELECT i, i % 7, md5(i::text) FROM generate_series(1, 300) i;
	SET errtest.d = 1;
	CREATE INDEX @@e_sql ON @@e (div_sql(a));
	CREATE TABLE @@c (id int PRIMARY KEY, n int NOT NULL, v int CONSTRAINT v_pos CHECK (v > 0),
	                  u int UNIQUE, d small_int) USING @AM@;
	INSERT INTO @@c SELECT i, i, i, i FROM generate_series(1, 50) i;
	CREATE TABLE @@fk (id int PRIMARY KEY, c int REFERENCES @@c (id)) USING @AM@;
	INSERT INTO @@fk VALUES (1, 1);
	CREATE TABLE @@t (id int PRIMARY KEY, big text) USING @AM@;
	ALTER TABLE @@t ALTER COLUMN big SET STORAGE EXTERNAL;
	INSERT INTO @@t SELECT i, (SELECT string_agg(md5(i::text || j::text), '') FROM generate_series(1, 200) j)
	  FROM generate_series(1, 3) i;
	CREATE INDEX @@t_small ON @@t (big) WHERE id > 100;
	CREATE TABLE @@doc (name text PRIMARY KEY, on_call bool) USING @AM@;
	INSERT INTO @@doc VALUES ('alice', true), ('bob', true);
};
$node->safe_psql('postgres', "CREATE EXTENSION glassheap; $setup");
for my $am ('heap', 'glassheap')
{
	my $p = substr($am, 0, 1) . '_';
	(my $sql = $twin_setup) =~ s/\@\@/$p/g;
	$sql =~ s/\@AM\@/$am/g;
	$node->safe_psql('postgres', $sql);
}

# name => statements (psql script; the last one fails)
my @cases = (
	[ 'index expression (CREATE INDEX)', 'CREATE INDEX ON @@e ((a / 0));' ],
	[ 'SQL function in an index expression (CREATE INDEX)', 'SET errtest.d = 0; CREATE INDEX ON @@e (div_sql(a));' ],
	[ 'PL/pgSQL function in an index expression (CREATE INDEX)', 'SET errtest.d = 0; CREATE INDEX ON @@e (div_plpgsql(a));' ],
	[ 'partial index predicate (CREATE INDEX)', 'SET errtest.d = 0; CREATE INDEX ON @@e (a) WHERE div_plpgsql(a) > 0;' ],
	[ 'domain in an index expression (CREATE INDEX)', 'CREATE INDEX ON @@e ((id::small_int));' ],
	[ 'CREATE UNIQUE INDEX over duplicates', 'CREATE UNIQUE INDEX ON @@e (a);' ],
	[ 'CREATE INDEX CONCURRENTLY', 'SET errtest.d = 0; CREATE INDEX CONCURRENTLY ON @@e (div_plpgsql(a));' ],
	[ 'VACUUM FULL', 'SET errtest.d = 0; VACUUM FULL @@e;' ],
	[ 'CLUSTER', 'SET errtest.d = 0; CLUSTER @@e USING @@e_pkey;' ],
	[ 'CLUSTER on the failing expression', 'SET errtest.d = 0; CLUSTER @@e USING @@e_sql;' ],
	[ 'INSERT (index expression)', q{SET errtest.d = 0; INSERT INTO @@e VALUES (1000, 1, 'x');} ],
	[ 'UPDATE (index expression)', 'SET errtest.d = 0; UPDATE @@e SET a = a + 1 WHERE id = 5;' ],
	[ 'CHECK', 'INSERT INTO @@c VALUES (100, 1, -1, 100);' ],
	[ 'NOT NULL', 'UPDATE @@c SET n = NULL WHERE id = 3;' ],
	[ 'unique', 'UPDATE @@c SET u = 7 WHERE id = 8;' ],
	[ 'domain', 'INSERT INTO @@c VALUES (101, 1, 1, 101, 500);' ],
	[ 'foreign key', 'DELETE FROM @@c WHERE id = 1;' ],
	[ 'ALTER TABLE validation', 'ALTER TABLE @@c ADD CONSTRAINT v_small CHECK (v < 40);' ],
	[ 'TOAST: index entry too large (CREATE INDEX)', 'CREATE INDEX ON @@t (big);' ],
	[ 'TOAST: index entry too large (INSERT)', 'INSERT INTO @@t SELECT 200, big FROM @@t WHERE id = 1;' ],
	[ 'serialization failure',
		q{BEGIN ISOLATION LEVEL SERIALIZABLE;
		  SELECT count(*) FROM @@doc WHERE on_call;
		  UPDATE @@doc SET on_call = false WHERE name = 'alice';
		  PREPARE TRANSACTION '@@p';
		  BEGIN ISOLATION LEVEL SERIALIZABLE;
		  SELECT count(*) FROM @@doc WHERE on_call;
		  UPDATE @@doc SET on_call = false WHERE name = 'bob';} ],
);

# The complete report psql prints for the script run on one twin, table names
# normalised to @@.
sub report
{
	my ($prefix, $script) = @_;
	$script =~ s/\@\@/$prefix/g;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n\\set SHOW_CONTEXT always\n$script",
		stdout => \$stdout, stderr => \$stderr);
	$stderr =~ s/\b$prefix/\@\@/g;
	return $stderr;
}

my $compared = 0;
for my $case (@cases)
{
	my ($name, $script) = @$case;
	my $heap = report('h_', $script);
	my $glass = report('g_', $script);
	like($heap, qr/ERROR:  [0-9A-Z]{5}: .*\nLOCATION:  /s, "$name: heap reports an ERROR with its SQLSTATE and location");
	is($glass, $heap, "$name: glassheap's report is heap's");
	unlike($glass, qr/backtrace|\.rs:\d|rust_begin|pgrx/i, "$name: no Rust backtrace");
	$compared++;
}
$node->safe_psql('postgres', q{ROLLBACK PREPARED 'h_p'; ROLLBACK PREPARED 'g_p'});
note("compared $compared error reports (RUST_BACKTRACE=1)");

# Errors caught below a glassheap callback (an EXCEPTION block in an index expression's
# function) stay caught; the statement succeeds on both twins.
$node->safe_psql('postgres', q{
	CREATE FUNCTION safe_div(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN RETURN 100 / $1; EXCEPTION WHEN division_by_zero THEN RETURN -1; END $$;
	CREATE INDEX h_e_safe ON h_e (safe_div(a));
	CREATE INDEX g_e_safe ON g_e (safe_div(a));
});
is($node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT count(*) FROM g_e WHERE safe_div(a) = -1'),
	$node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT count(*) FROM h_e WHERE safe_div(a) = -1'),
	'an error caught inside an index expression is not raised');

$node->stop;
done_testing();
