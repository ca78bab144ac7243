# pg_dump and pg_restore round trips of a database of glassheap tables: many column
# types with NULLs, an identity column and a bigserial, primary, unique, check and
# foreign keys, expression indexes, a partitioned table with glassheap partitions, a
# table with a dropped column, an empty table, a materialized view stored in glassheap,
# and one heap table -- with dead and updated row versions at dump time.
#
# pg_dump records each table's access method ("SET default_table_access_method" ahead of
# the table whenever it changes), so every table must come back with the access method
# it had: checked for a custom-format dump restored with pg_restore -j 2, a plain-format
# dump restored with psql, and a parallel directory-format dump (its workers read the
# tables under the leader's exported snapshot), all taken while another transaction
# holds uncommitted changes. The rows must be identical (an md5 of every table's rows),
# as must the constraints, indexes and sequence positions; glassheap.verify and amcheck
# (heapallindexed) must find the restored tables and btree indexes consistent. Finally
# the same dump restored with --no-table-access-method into a heap database gives the
# same rows: the data moves between the two formats unchanged.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('dump');
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub client
{
	my @cmd = (@_, '-h', $node->host, '-p', $node->port);
	note('running: ' . join(' ', @cmd));
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION glassheap;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE customers (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL, email varchar(100) UNIQUE, born date, score numeric(10, 2), active bool,
  tags text[], prefs jsonb, avatar bytea, mood mood, ip inet, uid uuid, created timestamptz,
  span interval, ratio float8, small smallint, big bigint, p pair, pts posint, code char(3),
  at_time time, r int4range, CHECK (score IS NULL OR score >= 0)) USING glassheap;
CREATE INDEX customers_lower_name ON customers (lower(name));
CREATE TABLE orders (
  id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers ON DELETE CASCADE,
  placed date, total numeric, note text) USING glassheap;
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE events (id int, at date NOT NULL, payload text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') USING glassheap;
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') USING glassheap;
CREATE TABLE events_rest PARTITION OF events DEFAULT USING glassheap;
CREATE TABLE dropped_col (a int, b text, c int) USING glassheap;
ALTER TABLE dropped_col DROP COLUMN b;
CREATE TABLE empty_gh (a int PRIMARY KEY, b text) USING glassheap;
CREATE TABLE plain_heap (id int PRIMARY KEY, v text) USING heap;
CREATE MATERIALIZED VIEW order_totals USING glassheap AS
  SELECT customer_id, count(*) AS n, sum(total) AS total FROM orders GROUP BY customer_id;
CREATE UNIQUE INDEX order_totals_customer ON order_totals (customer_id);

INSERT INTO customers (name, email, born, score, active, tags, prefs, avatar, mood, ip, uid, created, span, ratio,
                       small, big, p, pts, code, at_time, r)
SELECT 'name ' || g,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'user' || g || '@example.com' END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE DATE '1950-01-01' + g * 3 END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE round((g * 1.37)::numeric % 1000, 2) END,
       CASE g % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END,
       CASE WHEN g % 6 = 0 THEN NULL ELSE ARRAY['t' || g % 10, NULL, 'x"y,z'] END,
       CASE WHEN g % 8 = 0 THEN NULL ELSE jsonb_build_object('g', g, 'nested', jsonb_build_array(g, 'a', null)) END,
       CASE WHEN g % 9 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
       (ARRAY['sad', 'ok', 'happy', NULL])[g % 4 + 1]::mood,
       CASE WHEN g % 10 = 0 THEN NULL ELSE ('10.' || g % 256 || '.' || (g / 256) % 256 || '.1/24')::inet END,
       CASE WHEN g % 11 = 0 THEN NULL ELSE md5('u' || g)::uuid END,
       TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '37 minutes',
       CASE WHEN g % 12 = 0 THEN NULL ELSE make_interval(days => g % 40, secs => g % 3600) END,
       CASE g % 13 WHEN 0 THEN NULL WHEN 1 THEN 'NaN' WHEN 2 THEN '-Infinity' ELSE g / 7.0 END,
       (g % 30000)::smallint, g::bigint * 1000000007,
       CASE WHEN g % 14 = 0 THEN NULL ELSE ROW(g, 'p' || g)::pair END,
       CASE WHEN g % 15 = 0 THEN NULL ELSE g END,
       CASE WHEN g % 16 = 0 THEN NULL ELSE lpad((g % 1000)::text, 3, '0') END,
       TIME '00:00' + g * INTERVAL '1 second',
       CASE WHEN g % 17 = 0 THEN NULL ELSE int4range(g, g + g % 50) END
FROM generate_series(1, 3000) g;
-- a 1.5 kB row and a 200 kB value (TOAST: compressed and moved out of line)
INSERT INTO customers (name, prefs) VALUES ('long', jsonb_build_object('text', repeat('abcdefghij', 150)));
INSERT INTO customers (name, prefs) VALUES ('toasted', jsonb_build_object('text', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 6000) g)));
INSERT INTO orders (customer_id, placed, total, note)
SELECT 1 + (g * 7) % 3000, DATE '2023-01-01' + g % 700, (g % 997) * 1.01,
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || repeat('n', g % 200) END
FROM generate_series(1, 12000) g;
INSERT INTO events SELECT g, DATE '2022-06-01' + g % 1000, CASE WHEN g % 2 = 0 THEN 'e' || g END
FROM generate_series(1, 4000) g;
INSERT INTO dropped_col SELECT g, g * 2 FROM generate_series(1, 500) g;
INSERT INTO plain_heap SELECT g, 'h' || g FROM generate_series(1, 100) g;
-- dead and updated versions (and rows moved between partitions) at dump time
UPDATE customers SET score = coalesce(score, 0) + 1 WHERE id % 10 = 0;
DELETE FROM customers WHERE id % 97 = 0;
UPDATE orders SET note = 'updated' WHERE id % 13 = 0;
UPDATE events SET at = at + 400 WHERE id % 50 = 0;
REFRESH MATERIALIZED VIEW order_totals;
});

my @tables = qw(customers orders events events_2023 events_2024 events_rest dropped_col empty_gh plain_heap order_totals);

# relation -> access method for every table and materialized view in public
sub ams
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(c.relname || ':' || coalesce(a.amname, '-'), ' ' ORDER BY c.relname)
		FROM pg_class c LEFT JOIN pg_am a ON a.oid = c.relam
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm')});
}

# row count and md5 of all rows, per table
sub fingerprint
{
	my ($db) = @_;
	return $node->safe_psql($db, join("\nUNION ALL ",
		map { "SELECT '$_', count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM $_ x" } @tables)
		# UNION ALL promises no order (on 18 the branches came back in another order)
		. "\nORDER BY 1");
}

# constraints, indexes and sequence positions
sub schema_facts
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid <> 0
		UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL SELECT attrelid::regclass || '.' || attname || ' identity ' || attidentity::text
		FROM pg_attribute WHERE attrelid = 'customers'::regclass AND attidentity <> ''
		UNION ALL SELECT 'customers seq ' || last_value || ' ' || is_called FROM customers_id_seq
		UNION ALL SELECT 'orders seq ' || last_value || ' ' || is_called FROM orders_id_seq
		ORDER BY 1});
}

# glassheap.verify on every glassheap relation, amcheck on every btree index
sub check_storage
{
	my ($db, $label) = @_;
	is( $node->safe_psql(
			$db, q{
		SELECT count(*) FROM pg_class c, glassheap.verify(c.oid)
		WHERE c.relnamespace = 'public'::regnamespace AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'glassheap')}),
		'0', "$label: glassheap.verify finds no problem");
	my ($rc, $out, $err) = client('pg_amcheck', '-d', $db, '--install-missing', '--heapallindexed',
		'--rootdescend', '--parent-check', '-i', 'public.*', '-v');
	is($rc . $out, '0', "$label: pg_amcheck of the btree indexes is clean") or diag("$out\n$err");
	my $checked = () = $err =~ /checking btree index/g;
	my $btrees = $node->safe_psql($db, q{
		SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'i'
		AND relam = (SELECT oid FROM pg_am WHERE amname = 'btree')});
	ok($btrees >= 11 && $checked == $btrees, "$label: pg_amcheck checked all $btrees btree indexes ($checked)");
}

my $src_ams = ams('src');
is($src_ams,
	'customers:glassheap dropped_col:glassheap empty_gh:glassheap events:- events_2023:glassheap '
	  . 'events_2024:glassheap events_rest:glassheap order_totals:glassheap orders:glassheap plain_heap:heap',
	'source: the tables use glassheap (one heap table)');
my $src_rows = fingerprint('src');
note("source rows:\n$src_rows");
like($src_rows, qr/^customers\|2972\|[0-9a-f]{32}$/m, 'source: the fingerprint covers the rows');
my $src_schema = schema_facts('src');
check_storage('src', 'source');

# A transaction left open during all the dumps: its insert, update and delete must not
# show up in any of them (the expected rows above were read without them, too).
my $open = $node->background_psql('src');
$open->query_safe(q{BEGIN; INSERT INTO customers (id, name) OVERRIDING SYSTEM VALUE VALUES (999999, 'uncommitted');
	UPDATE orders SET total = -1 WHERE id < 100; DELETE FROM events WHERE id < 50;});

# --- custom format, parallel pg_restore --------------------------------------------------
my ($rc, $out, $err) = client('pg_dump', '-Fc', '-f', "$tmp/src.dump", 'src');
is($rc, 0, 'pg_dump -Fc succeeds') or diag($err);
$node->safe_psql('postgres', 'CREATE DATABASE restored TEMPLATE template0');
($rc, $out, $err) = client('pg_restore', '-j', '2', '--exit-on-error', '-d', 'restored', "$tmp/src.dump");
is($rc, 0, 'pg_restore -j 2 succeeds') or diag($err);
is($err, '', 'pg_restore prints no warnings or errors');
is(ams('restored'), $src_ams, 'custom format: every table keeps its access method');
is(fingerprint('restored'), $src_rows, 'custom format: the rows are identical');
is(schema_facts('restored'), $src_schema, 'custom format: constraints, indexes and sequences are identical');
check_storage('restored', 'custom format');

# --- plain format restored with psql ------------------------------------------------------
($rc, $out, $err) = client('pg_dump', '-Fp', '-f', "$tmp/src.sql", 'src');
is($rc, 0, 'pg_dump -Fp succeeds') or diag($err);
my $sql = slurp_file("$tmp/src.sql");
my $gh_sets = () = $sql =~ /^SET default_table_access_method = glassheap;$/mg;
my $heap_sets = () = $sql =~ /^SET default_table_access_method = heap;$/mg;
ok($gh_sets >= 1 && $heap_sets >= 1, "the plain dump sets default_table_access_method (glassheap $gh_sets, heap $heap_sets)");
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain TEMPLATE template0');
($rc, $out, $err) = client('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'restored_plain', '-f', "$tmp/src.sql");
is($rc, 0, 'psql restores the plain dump') or diag($err);
is($err, '', 'psql prints no warnings or errors');
is(ams('restored_plain'), $src_ams, 'plain format: every table keeps its access method');
is(fingerprint('restored_plain'), $src_rows, 'plain format: the rows are identical');
is(schema_facts('restored_plain'), $src_schema, 'plain format: constraints, indexes and sequences are identical');
check_storage('restored_plain', 'plain format');

# --- directory format, parallel pg_dump (workers share the leader's snapshot) ---------
($rc, $out, $err) = client('pg_dump', '-Fd', '-j', '2', '-f', "$tmp/src.dir", 'src');
is($rc, 0, 'pg_dump -Fd -j 2 succeeds') or diag($err);
$node->safe_psql('postgres', 'CREATE DATABASE restored_dir TEMPLATE template0');
($rc, $out, $err) = client('pg_restore', '-j', '2', '--exit-on-error', '-d', 'restored_dir', "$tmp/src.dir");
is($rc, 0, 'pg_restore -j 2 of the directory dump succeeds') or diag($err);
is(ams('restored_dir'), $src_ams, 'directory format: every table keeps its access method');
is(fingerprint('restored_dir'), $src_rows, 'directory format: the rows are identical');
is(schema_facts('restored_dir'), $src_schema, 'directory format: constraints, indexes and sequences are identical');

# --- the same dump into heap tables ------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE as_heap TEMPLATE template0');
($rc, $out, $err) = client('pg_restore', '--no-table-access-method', '--exit-on-error', '-d', 'as_heap', "$tmp/src.dump");
is($rc, 0, 'pg_restore --no-table-access-method succeeds') or diag($err);
is($node->safe_psql('as_heap', q{
	SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm')
	AND relam <> (SELECT oid FROM pg_am WHERE amname = 'heap')}), '0', 'without access methods every table is heap');
is(fingerprint('as_heap'), $src_rows, 'glassheap rows restored into heap tables are identical');

$open->query_safe('ROLLBACK');
$open->quit;

# --- restored tables keep working ---------------------------------------------------------
for my $db ('src', 'restored', 'restored_plain')
{
	$node->safe_psql($db, q{
		INSERT INTO customers (name) VALUES ('after restore');
		INSERT INTO orders (customer_id, total) SELECT id, 1 FROM customers WHERE name = 'after restore';
		UPDATE orders SET total = total + 1 WHERE customer_id = 1;
		DELETE FROM customers WHERE id = 2;
		INSERT INTO events VALUES (99999, '2024-02-29', 'leap');
		REFRESH MATERIALIZED VIEW order_totals;
	});
}
is(fingerprint('restored'), fingerprint('src'), 'the same writes give the same rows in the source and the restored database');
is(fingerprint('restored_plain'), fingerprint('src'), '... and in the plain-format restore');
is($node->safe_psql('restored', q{SELECT id FROM customers WHERE name = 'after restore'}),
	$node->safe_psql('src', q{SELECT id FROM customers WHERE name = 'after restore'}),
	'the identity column continues where the source left off');
check_storage('restored', 'custom format after writes');

$node->stop;
done_testing();
