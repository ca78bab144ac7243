# pg_upgrade of a cluster with glassheap tables from PostgreSQL 16 to 18, with --copy and
# with --link. The old cluster holds glassheap tables with indexes, TOAST values, dead
# and frozen versions, visibility-map bits, a HOT chain, a redirect left by pruning and an
# UNLOGGED table; a digest of every row is taken before. After the upgrade every table
# equals its digest, glassheap.verify() is clean, the visibility map still says what the
# pages are, and the new cluster writes, VACUUMs and recovers from a crash.
#
# Runs in the PostgreSQL 18 TAP suite when scripts/test has built glassheap for 16 as
# well (scripts/test --pg 16 --pg 18, as CI does): GLASSHEAP_UPGRADE_FROM names 16's
# installation. Otherwise it says why it cannot run and runs nothing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_prefix = $ENV{GLASSHEAP_UPGRADE_FROM};
plan skip_all => 'needs glassheap built for PostgreSQL 16 too (scripts/test --pg 16 --pg 18)'
  unless $old_prefix && -x "$old_prefix/bin/pg_upgrade";
my $new_bin = `pg_config --bindir`;
chomp $new_bin;

# The old cluster: PostgreSQL 16 (no data checksums, like the new one below).
sub old_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name, install_path => $old_prefix);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'glassheap'\nautovacuum = off\n");
	return $node;
}

my @tables = qw(acct docs hotrow gone frozen);
sub digests
{
	my ($node) = @_;
	return join("\n", map {
		$node->safe_psql('postgres',
			"SELECT '$_ ' || count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-') FROM $_ t")
	} @tables);
}

sub fill
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION glassheap;
		CREATE TABLE acct (id int PRIMARY KEY, balance int, note text) USING glassheap;
		CREATE INDEX acct_balance ON acct (balance);
		INSERT INTO acct SELECT g, g % 1000, 'account ' || g FROM generate_series(1, 20000) g;
		-- TOAST: values moved out of line into the (heap) TOAST table
		CREATE TABLE docs (id int PRIMARY KEY, body text) USING glassheap;
		INSERT INTO docs SELECT g, string_agg(md5(g::text || i::text), '') FROM generate_series(1, 20) g,
		  generate_series(1, 400) i GROUP BY g;
		-- a HOT chain: updates of a non-indexed column on one page
		CREATE TABLE hotrow (id int PRIMARY KEY, n int) USING glassheap;
		INSERT INTO hotrow VALUES (1, 0);
		UPDATE hotrow SET n = n + 1; UPDATE hotrow SET n = n + 1; UPDATE hotrow SET n = n + 1;
		-- dead versions VACUUM has not seen, and a table VACUUMed: redirects, all-visible
		CREATE TABLE gone (id int, v text) USING glassheap;
		INSERT INTO gone SELECT g, 'v' || g FROM generate_series(1, 5000) g;
		DELETE FROM gone WHERE id % 2 = 0;
		UPDATE acct SET note = note || '!' WHERE id % 10 = 0;
		VACUUM acct;
		-- frozen versions and all-frozen pages
		CREATE TABLE frozen (id int, v text) USING glassheap;
		INSERT INTO frozen SELECT g, 'f' || g FROM generate_series(1, 3000) g;
		VACUUM (FREEZE) frozen;
		-- an UNLOGGED table: pg_upgrade keeps its contents (a clean shutdown)
		CREATE UNLOGGED TABLE scratch (id int) USING glassheap;
		INSERT INTO scratch SELECT generate_series(1, 100);
		CHECKPOINT;
	});
}

for my $mode ('--copy', '--link')
{
	my $old = old_node("old$mode");
	$old->start;
	fill($old);
	my $before = digests($old);
	my $pages_before = $old->safe_psql('postgres', q{SELECT pg_relation_size('frozen') / 8192});
	my $unlogged_before = $old->safe_psql('postgres', 'SELECT count(*) FROM scratch');
	$old->stop;

	# The new cluster: PostgreSQL 18, initdb without data checksums to match the old one.
	my $new = glassheap_node("new$mode", no_checksums => 1, conf => "autovacuum = off\n");
	my $workdir = $new->basedir . '/upgrade';
	mkdir $workdir;
	my @cmd = ("$new_bin/pg_upgrade", $mode,
		'-b', $old->config_data('--bindir'), '-B', $new_bin,
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-p', $old->port, '-P', $new->port, '-U', 'postgres', '--no-sync');
	my ($stdout, $stderr) = ('', '');
	my $ok = IPC::Run::run(\@cmd, '>', \$stdout, '2>', \$stderr, init => sub { chdir $workdir });
	ok($ok, "pg_upgrade $mode from 16 to 18 succeeded") or diag("$stdout\n$stderr");
	next unless $ok;

	$new->start;
	is($new->safe_psql('postgres', 'SELECT current_setting(\'server_version_num\')::int / 10000'), '18',
		"$mode: the new cluster runs PostgreSQL 18");
	is(digests($new), $before, "$mode: every table equals its digest from before the upgrade");
	is($new->safe_psql('postgres', 'SELECT count(*) FROM scratch'), $unlogged_before,
		"$mode: the UNLOGGED table kept its rows");
	for my $t (@tables)
	{
		is($new->safe_psql('postgres', "SELECT count(*) FROM glassheap.verify('$t')"), '0',
			"$mode: verify finds nothing wrong in $t");
	}
	# pg_visibility reads the map pg_upgrade carried over: the frozen table's pages are
	# still all-frozen, and the map agrees with the pages.
	$new->safe_psql('postgres', 'CREATE EXTENSION pg_visibility');
	is($new->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE all_frozen) || '/' || count(*) FROM pg_visibility_map('frozen')}),
		"$pages_before/$pages_before", "$mode: the visibility map still has every page of frozen all-frozen");
	is($new->safe_psql('postgres', q{SET enable_seqscan = off; SELECT n FROM hotrow WHERE id = 1}), '3',
		"$mode: an index scan follows the HOT chain");
	# The new cluster writes, VACUUMs and recovers from a crash.
	$new->safe_psql('postgres', q{
		INSERT INTO acct SELECT g, 7, 'new' FROM generate_series(30001, 31000) g;
		UPDATE acct SET balance = balance + 1 WHERE id <= 2000;
		DELETE FROM gone;
		VACUUM acct; VACUUM gone;
	});
	my $after_writes = digests($new);
	$new->stop('immediate');
	$new->start;
	is(digests($new), $after_writes, "$mode: writes after the upgrade survive a crash");
	is($new->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('acct')}), '0',
		"$mode: verify is clean after recovery");
	my $q = 'SELECT count(*) || \' \' || sum(id) FROM acct WHERE balance BETWEEN 5 AND 9';
	is($new->safe_psql('postgres', "SET enable_seqscan = off; SET enable_bitmapscan = off; $q"),
		$new->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $q"),
		"$mode: after recovery an index scan finds what a sequential scan finds");
	$new->stop;
}
done_testing();
