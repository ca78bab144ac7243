# ALTER EXTENSION glassheap UPDATE from the released 0.1.0: a database gets 0.1.0's SQL
# exactly as released (sql/glassheap--0.1.0.sql), glassheap tables with indexes, TOAST
# and dead versions, and a role granted one of the toolkit's functions; then the update
# runs. Afterwards the extension's objects (every function's signature, result, ACL and
# C symbol; the access method; comments) equal those of a fresh CREATE EXTENSION in
# another database, the role's grant still works, and the tables read, write, VACUUM and
# verify as before.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('update');
$node->start;

my $versions = $node->safe_psql('postgres',
	q{SELECT string_agg(version, ' ' ORDER BY version) FROM pg_available_extension_versions WHERE name = 'glassheap'});
like($versions, qr/\b0\.1\.0\b/, "0.1.0's install script is available ($versions)");
my $default = $node->safe_psql('postgres', q{SELECT default_version FROM pg_available_extensions WHERE name = 'glassheap'});

$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap VERSION '0.1.0';
	CREATE TABLE acct (id int PRIMARY KEY, balance int, note text) USING glassheap;
	CREATE INDEX acct_balance ON acct (balance);
	INSERT INTO acct SELECT g, g * 10, CASE WHEN g % 100 = 0 THEN repeat(md5(g::text), 300) END
	FROM generate_series(1, 5000) g;
	UPDATE acct SET balance = balance + 1 WHERE id % 3 = 0;
	DELETE FROM acct WHERE id % 7 = 0;
	CREATE ROLE inspector LOGIN;
	GRANT USAGE ON SCHEMA glassheap TO inspector;
	GRANT EXECUTE ON FUNCTION glassheap.page_items(regclass, bigint) TO inspector;
	GRANT EXECUTE ON FUNCTION glassheap.visibility(regclass) TO inspector;
	GRANT SELECT ON acct TO inspector;
});
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'glassheap'}),
	'0.1.0', 'installed as 0.1.0');
my $digest = q{SELECT count(*) || ' ' || md5(string_agg(a::text, ',' ORDER BY id)) FROM acct a};
my $before = $node->safe_psql('postgres', $digest);

$node->safe_psql('postgres', 'ALTER EXTENSION glassheap UPDATE');
is($node->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'glassheap'}),
	$default, "updated to the default version $default");

# The extension's members, described: what must be identical to a fresh install.
my $members = q{
	SELECT string_agg(what, E'\n' ORDER BY what) FROM (
	  SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
	         || CASE WHEN d.classid = 'pg_proc'::regclass THEN
	              ' returns ' || pg_get_function_result(d.objid)
	              || ' acl ' || coalesce((SELECT proacl::text FROM pg_proc WHERE oid = d.objid), 'default')
	              || ' symbol ' || (SELECT prosrc || ' ' || coalesce(probin, '') FROM pg_proc WHERE oid = d.objid)
	              || ' ' || (SELECT provolatile::text || proisstrict::text || proparallel::text FROM pg_proc WHERE oid = d.objid)
	            ELSE '' END
	         || coalesce(' comment ' || obj_description(d.objid, d.classid::regclass::text), '') AS what
	  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
	  WHERE e.extname = 'glassheap' AND d.deptype = 'e') m
};
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION glassheap');
my $updated = $node->safe_psql('postgres', $members);
my $fresh = $node->safe_psql('fresh', $members);
# The grant made by the user is the one intended difference.
(my $updated_wo_grant = $updated) =~ s/,inspector=X\/postgres//g;
is($updated_wo_grant, $fresh, 'the updated extension has exactly the objects of a fresh install')
  or diag("updated:\n$updated\n\nfresh:\n$fresh");
like($updated, qr/page_items\(regclass,bigint\).*inspector=X\/postgres/,
	"the role's grant on a toolkit function survived");
like($updated, qr/visibility\(regclass,pg_snapshot\).*inspector=X\/postgres/,
	"the grant on a function whose arguments changed moved to its new definition");

is($node->safe_psql('postgres', $digest), $before, 'the table reads the same after the update');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 FROM glassheap.page_items('acct', 0)}, extra_params => ['-U', 'inspector']),
	't', 'the granted role can still call page_items');
$node->safe_psql('postgres', q{
	INSERT INTO acct VALUES (100000, 1, 'after the update');
	UPDATE acct SET balance = 0 WHERE id = 1;
	VACUUM acct;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('acct')}), '0', 'verify finds nothing wrong');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM acct WHERE balance = 0}), '1',
	'index scans work after the update');
# Every function of the updated extension runs (on a glassheap table where it takes one).
my $calls = $node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  SELECT * FROM glassheap.page_header(glassheap.page('acct', 0))) a, (
	  SELECT count(*) FROM glassheap.wal_records(pg_current_wal_insert_lsn() - 100000, NULL, 'acct')) b, (
	  SELECT count(*) FROM glassheap.trace('INSERT INTO acct VALUES (100001, 2, NULL)') WHERE logical IS NOT NULL) c});
is($calls, '1', 'toolkit functions whose signatures changed run after the update');
$node->stop;
done_testing();
