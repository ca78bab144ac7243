# Failover and pg_rewind: a streaming standby of a primary with wal_log_hints = on is
# promoted while the old primary keeps writing glassheap rows (diverging); pg_rewind
# (reading glassheap's own WAL records to find the changed blocks) turns the old
# primary back into a copy of the new one, which then follows it as a standby: after
# catch-up its glassheap tables equal the new primary's, the diverged rows are gone,
# and verify() is clean on both.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = glassheap_node('old_primary', allows_streaming => 1, conf => "wal_log_hints = on\nwal_keep_size = 320MB\n");
$old->start;
$old->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE acct (id int PRIMARY KEY, k int, bal int, pad text) USING glassheap;
	CREATE INDEX ON acct (k);
	CREATE TABLE events (id bigserial PRIMARY KEY, src text, payload text) USING glassheap;
	INSERT INTO acct SELECT i, i % 20, 0, 'a' || i FROM generate_series(1, 3000) i;
});
$old->backup('bk');
my $new = PostgreSQL::Test::Cluster->new('new_primary');
$new->init_from_backup($old, 'bk', has_streaming => 1);
$new->start;

my $txns = 0;
# $count transactions on $node, tagged $src
sub load
{
	my ($node, $src, $count) = @_;
	my $sql = '';
	for my $i (1 .. $count)
	{
		$txns++;
		$sql .= qq{BEGIN;
			UPDATE acct SET bal = bal + $i, pad = pad || '$src' WHERE k = $i % 20;
			INSERT INTO acct VALUES (100000 * length('$src') + $txns, $i % 20, $i, '$src');
			DELETE FROM acct WHERE id = $txns * 11;
			INSERT INTO events (src, payload) VALUES ('$src', repeat('e', $i * 10));
			COMMIT;
		};
	}
	$node->safe_psql('postgres', $sql);
}

load($old, 'common', 30);
$old->safe_psql('postgres', 'VACUUM acct');
$old->wait_for_catchup($new);

$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'not promoted';
# both sides write after the split; the old primary's writes are the divergence
load($old, 'diverged', 20);
$old->safe_psql('postgres', 'VACUUM acct; CHECKPOINT');
load($new, 'newtl', 20);
$new->safe_psql('postgres', 'CHECKPOINT');    # pg_rewind reads the new timeline from the control file
$old->stop;

# pg_rewind overwrites postgresql.conf with the source's (its port): keep the target's
my $conf = $old->data_dir . '/postgresql.conf';
my $keep = PostgreSQL::Test::Utils::tempdir() . '/old_primary.conf';    # outside the data directory
copy($conf, $keep) or die "copy: $!";
command_ok(
	[ 'pg_rewind', '--target-pgdata=' . $old->data_dir, '--source-server=' . $new->connstr('postgres') ],
	'pg_rewind of the old primary from the new one');
copy($keep, $conf) or die "copy: $!";
$old->enable_streaming($new);
$old->start;

load($new, 'aftr', 10);
$new->wait_for_catchup($old);
my $q = q{SELECT (SELECT count(*) || ':' || sum(bal) || ':' || md5(string_agg(id || ',' || k || ',' || bal || ',' || pad, ';' ORDER BY id)) FROM acct)
	|| ' ' || (SELECT count(*) || ':' || md5(string_agg(id || src || payload, ',' ORDER BY id)) FROM events)};
my $on_new = $new->safe_psql('postgres', $q);
is($old->safe_psql('postgres', $q), $on_new, 'the rewound old primary reads what the new primary reads');
is($old->safe_psql('postgres', q{SELECT count(*) FROM acct WHERE pad LIKE '%diverged%'}), '0', 'the diverged writes are gone');
is($old->safe_psql('postgres', q{SELECT count(*) FROM events WHERE src = 'diverged'}), '0', 'the diverged events are gone');
is($old->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM acct WHERE k = 5}),
	$new->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM acct WHERE k = 5}),
	'index scans agree');
for my $node ($new, $old)
{
	is($node->safe_psql('postgres', q{SELECT (SELECT count(*) FROM glassheap.verify('acct')) + (SELECT count(*) FROM glassheap.verify('events'))}),
		'0', $node->name . ': verify is clean');
}
unlike(slurp_file($old->logfile), qr/PANIC|inconsistent page/, 'replay on the rewound node did not fail');
my ($rows) = split /:/, $on_new;
note("rows compared: $rows in acct; transactions: $txns (20 of them diverged and were rewound)");

$old->stop;
$new->stop;
done_testing();
