# glassheap.explain_horizon names every kind of holder of the removal horizon: a backend
# with an open snapshot, a prepared transaction, a replication slot (a standby's
# hot_standby_feedback through its physical slot), and standby feedback without a slot.
# For each: the dead version stays (VACUUM keeps it) while the holder holds it, the row
# for that holder says holds_back and gives a statement that releases it, and once it
# is released VACUUM removes the version. Heap and glassheap twins behave the same.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = glassheap_node('primary', allows_streaming => 1,
	conf => "max_prepared_transactions = 5\nautovacuum = off\n");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE g (id int, v text) USING glassheap;
	CREATE TABLE h (id int, v text) USING heap;
	CREATE TABLE other (a int);
});

my $round = 0;
# Deletes a fresh row in both twins while `hold` keeps the horizon, and checks what
# explain_horizon says and what VACUUM does; then `release` and check again.
sub check_holder
{
	my ($kind, $hold, $release) = @_;
	$round++;
	$primary->safe_psql('postgres',
		"INSERT INTO g VALUES ($round, 'r$round'); INSERT INTO h VALUES ($round, 'r$round');");
	$hold->();
	$primary->safe_psql('postgres', "DELETE FROM g WHERE id = $round; DELETE FROM h WHERE id = $round;");
	for my $t ('g', 'h')
	{
		my $tid = $primary->safe_psql('postgres',
			"SELECT tid FROM glassheap.visibility('$t') WHERE xmax <> '0' ORDER BY tid DESC LIMIT 1");
		$primary->safe_psql('postgres', "VACUUM $t");
		my $kept = $primary->safe_psql('postgres',
			"SELECT count(*) FROM glassheap.all_versions('$t') AS x(id int, dead bool) WHERE id = $round");
		is($kept, '1', "$kind: VACUUM keeps the deleted version of $t");
		my $row = $primary->safe_psql('postgres',
			"SELECT holds_back, release FROM glassheap.explain_horizon('$t', '$tid') WHERE holder = '$kind'");
		like($row, qr/^t\|\S/, "$kind: explain_horizon names the $kind as holding $t\'s version back, with a release");
		my $version = $primary->safe_psql('postgres',
			"SELECT holds_back FROM glassheap.explain_horizon('$t', '$tid') WHERE holder = 'version'");
		is($version, 't', "$kind: the version of $t is not removable yet");
	}
	$release->();
	for my $t ('g', 'h')
	{
		$primary->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM glassheap.explain_horizon('$t') WHERE holder = '$kind' AND holds_back")
		  or die "$kind still holds $t";
		$primary->safe_psql('postgres', "VACUUM $t");
		my $left = $primary->safe_psql('postgres',
			"SELECT count(*) FROM glassheap.all_versions('$t') AS x(id int, dead bool) WHERE id = $round");
		is($left, '0', "$kind released: VACUUM removes the version of $t");
	}
}

# 1. a backend with an open REPEATABLE READ snapshot
my $bg = $primary->background_psql('postgres');
check_holder('backend',
	sub { $bg->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;') },
	sub { $bg->query_safe('COMMIT;') });
$bg->quit;

# 2. a prepared transaction
check_holder('prepared transaction',
	sub { $primary->safe_psql('postgres', q{BEGIN; INSERT INTO other VALUES (1); PREPARE TRANSACTION 'hold';}) },
	sub { $primary->safe_psql('postgres', q{ROLLBACK PREPARED 'hold'}) });

# 3. and 4. a hot standby whose query holds a snapshot, reported by feedback: through
# a physical replication slot (the slot's xmin), then without one (the walsender's xmin)
$primary->backup('bk');
for my $with_slot (1, 0)
{
	my $name = $with_slot ? 'standby_slot' : 'standby_noslot';
	$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('$name')") if $with_slot;
	my $standby = PostgreSQL::Test::Cluster->new($name);
	$standby->init_from_backup($primary, 'bk', has_streaming => 1);
	$standby->append_conf('postgresql.conf',
		"hot_standby_feedback = on\nwal_receiver_status_interval = 1\n"
		  . ($with_slot ? "primary_slot_name = '$name'\n" : ''));
	$standby->start;
	$primary->wait_for_catchup($standby);
	my $reader = $standby->background_psql('postgres');
	my $kind = $with_slot ? 'replication slot' : 'standby feedback';
	check_holder($kind,
		sub {
			$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;');
			# the feedback reaches the primary within a status interval
			$primary->poll_query_until('postgres',
				$with_slot
				  ? "SELECT xmin IS NOT NULL FROM pg_replication_slots WHERE slot_name = '$name'"
				  : "SELECT count(*) > 0 FROM pg_stat_replication WHERE backend_xmin IS NOT NULL")
			  or die "no feedback from $name";
		},
		sub {
			$reader->query_safe('COMMIT;');
			$reader->quit;
			$standby->stop;
			$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('$name')") if $with_slot;
		});
}

done_testing();
