# A bounded soak: a glassheap table updated in full 20 times, with deletes and inserts,
# while autovacuum runs on its own. Autovacuum must find the table (dead-tuple counts
# reach the statistics), keep its size within 2.5x of the freshly loaded size, keep
# age(relfrozenxid) bounded, and leave the table and its index consistent.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('soak', conf => join('', map { "$_\n" }
	'autovacuum = on', 'autovacuum_naptime = 1', 'autovacuum_vacuum_threshold = 50',
	'autovacuum_vacuum_scale_factor = 0.05', 'autovacuum_vacuum_cost_delay = 0',
	'log_autovacuum_min_duration = 0'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap; CREATE EXTENSION amcheck');
# freeze on every autovacuum, so relfrozenxid must keep up with the workload
$node->safe_psql('postgres', q{
	CREATE TABLE s (id int PRIMARY KEY, n int, pad text) USING glassheap
		WITH (autovacuum_freeze_min_age = 0, autovacuum_freeze_table_age = 0);
	INSERT INTO s SELECT i, 0, repeat('s', 40) FROM generate_series(1, 20000) i;
});
my $loaded = $node->safe_psql('postgres', q{SELECT pg_relation_size('s')});
my $max = 0;
for my $round (1 .. 20)
{
	my $avc = $node->safe_psql('postgres', q{SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = 's'});
	$node->safe_psql('postgres', q{UPDATE s SET n = n + 1});
	$node->safe_psql('postgres', q{DELETE FROM s WHERE id % 100 = 0; INSERT INTO s SELECT i, (SELECT max(n) FROM s), repeat('s', 40) FROM generate_series(100, 20000, 100) i});
	my $size = $node->safe_psql('postgres', q{SELECT pg_relation_size('s')});
	$max = $size if $size > $max;
	# Let autovacuum (not a manual VACUUM) get its turn before the next round: on a busy
	# machine a fixed sleep let heap twins of this table reach 3x as well.
	$node->poll_query_until('postgres',
		qq{SELECT autovacuum_count > $avc FROM pg_stat_user_tables WHERE relname = 's'})
	  or die "autovacuum did not run after round $round";
}
$node->poll_query_until('postgres', q{SELECT autovacuum_count > 3 FROM pg_stat_user_tables WHERE relname = 's'})
	or die 'autovacuum never ran on the glassheap table';
pass('autovacuum vacuums the glassheap table');
cmp_ok($max, '<=', 2.5 * $loaded, "size stays within 2.5x of the loaded size (max $max, loaded $loaded bytes)");
is($node->safe_psql('postgres', q{SELECT count(*), min(n), max(n) FROM s}), '20000|20|20', 'every row updated 20 times');
# wait for an autovacuum after the last round, then the horizon must be recent
$node->poll_query_until('postgres', q{SELECT n_dead_tup = 0 FROM pg_stat_user_tables WHERE relname = 's'})
	or die 'autovacuum did not catch up';
my $age = $node->safe_psql('postgres', q{SELECT age(relfrozenxid) FROM pg_class WHERE relname = 's'});
cmp_ok($age, '<', 100, "age(relfrozenxid) stays bounded ($age after ~60 write transactions)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('s')}), '0', 'verify is clean');
$node->safe_psql('postgres', q{SELECT bt_index_check('s_pkey', true)});
pass('the primary key matches the table');
like(slurp_file($node->logfile), qr/automatic (?:aggressive )?vacuum (?:to prevent wraparound )?of table "postgres\.public\.s"/, 'autovacuum logs what it did, as heap words it');
$node->stop;
done_testing();
