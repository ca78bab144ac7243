# Point-in-time recovery from a base backup and archived WAL: a write load of
# transactions, each changing glassheap rows and recording a ledger row (its txid and
# clock_timestamp()) in the same transaction, is recovered to a named restore point,
# to a transaction id and to a time. Each copy's glassheap tables equal the primary's
# digests taken at that point, its ledger ends with exactly the transactions committed
# by then, and verify() is clean.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('pitr', has_archiving => 1, allows_streaming => 1);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE acct (id int PRIMARY KEY, k int, bal int, pad text) USING glassheap;
	CREATE INDEX ON acct (k);
	CREATE TABLE ledger (n int PRIMARY KEY, xid bigint, ts timestamptz) USING glassheap;
	INSERT INTO acct SELECT i, i % 20, 0, 'a' || i FROM generate_series(1, 2000) i;
});
$node->backup('bk');

my $digest_q = q{SELECT (SELECT count(*) || ':' || sum(bal) || ':' || md5(string_agg(id || ',' || k || ',' || bal || ',' || pad, ';' ORDER BY id)) FROM acct)
	|| ' ' || (SELECT count(*) || ':' || coalesce(max(n), 0) FROM ledger)};

my $n = 0;
# $count transactions, each with its ledger row.
sub load
{
	my ($count) = @_;
	my $sql = '';
	for (1 .. $count)
	{
		$n++;
		$sql .= qq{BEGIN;
			UPDATE acct SET bal = bal + $n, pad = pad || '.' WHERE k = $n % 20;
			INSERT INTO acct VALUES (10000 + $n, $n % 20, $n, 'new $n');
			DELETE FROM acct WHERE id = $n * 7;
			INSERT INTO ledger VALUES ($n, txid_current(), clock_timestamp());
			COMMIT;
		};
	}
	$node->safe_psql('postgres', $sql);
}

load(25);
my $d_name = $node->safe_psql('postgres', $digest_q);
my $n_name = $n;
$node->safe_psql('postgres', q{SELECT pg_create_restore_point('rp')});
load(25);
my $n_xid = $n;
my $target_xid = $node->safe_psql('postgres', "SELECT xid FROM ledger WHERE n = $n");
my $d_xid = $node->safe_psql('postgres', $digest_q);
load(25);
my $n_time = $n;
my $target_time = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
my $d_time = $node->safe_psql('postgres', $digest_q);
$node->safe_psql('postgres', 'SELECT pg_sleep(0.01)');
load(25);
$node->safe_psql('postgres', 'VACUUM acct');
load(5);
my $d_end = $node->safe_psql('postgres', $digest_q);
isnt($d_end, $d_time, 'the load went on after the last target');

# archive everything up to here
my $walfile = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres', "SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver")
  or die 'timed out waiting for the archiver';

my @targets = (
	[ 'rp_name', "recovery_target_name = 'rp'", $d_name, $n_name ],
	[ 'rp_xid', "recovery_target_xid = '$target_xid'", $d_xid, $n_xid ],
	[ 'rp_time', "recovery_target_time = '$target_time'", $d_time, $n_time ],);
for my $t (@targets)
{
	my ($name, $conf, $digest, $last) = @$t;
	my $copy = PostgreSQL::Test::Cluster->new($name);
	$copy->init_from_backup($node, 'bk', has_restoring => 1);
	# the copies must not archive into the primary's archive (a new timeline's history
	# file there would send the next copy down that timeline)
	$copy->append_conf('postgresql.conf', "$conf\nrecovery_target_action = 'promote'\narchive_mode = off\n");
	$copy->start;
	$copy->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die "$name: not promoted";
	is($copy->safe_psql('postgres', $digest_q), $digest, "$name: glassheap tables equal the primary's at the target");
	is($copy->safe_psql('postgres', 'SELECT count(*) || \':\' || max(n) FROM ledger'), "$last:$last",
		"$name: the ledger holds exactly transactions 1..$last");
	is($copy->safe_psql('postgres', q{SELECT (SELECT count(*) FROM glassheap.verify('acct')) + (SELECT count(*) FROM glassheap.verify('ledger'))}),
		'0', "$name: verify is clean");
	is($copy->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM acct WHERE k = 3}),
		$copy->safe_psql('postgres', q{SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM acct WHERE k = 3}),
		"$name: index and sequential scans agree");
	my $rows = $copy->safe_psql('postgres', 'SELECT count(*) FROM acct');
	$copy->safe_psql('postgres', q{INSERT INTO acct VALUES (-1, 0, 0, 'after promote'); UPDATE acct SET bal = 1 WHERE id = 1});
	is($copy->safe_psql('postgres', q{SELECT count(*) FROM acct WHERE id IN (-1, 1) AND bal IN (0, 1)}), '2', "$name: writable after promotion");
	like(slurp_file($copy->logfile), qr/recovery stopping/, "$name: recovery stopped at the target");
	note("$name: recovered to transaction $last of $n; acct rows compared: $rows, ledger rows: $last");
	$copy->stop;
}
note("transactions: $n; points recovered: " . scalar(@targets));
$node->stop;
done_testing();
