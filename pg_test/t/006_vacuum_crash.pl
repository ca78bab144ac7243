# A crash in the middle of VACUUM loses nothing: the server is killed while a slowed
# VACUUM is between its first pass (pruning, freezing) and its last page, recovery
# replays the PRUNE/FREEZE/VACUUM records it had written (with wal_consistency_checking
# comparing every page), the table and its indexes agree, and a second VACUUM finishes
# the job and lets new rows reuse the space.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('vacuum_crash', conf => "wal_consistency_checking = 'all'\nautovacuum = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap; CREATE EXTENSION amcheck; CREATE EXTENSION pg_walinspect');
$node->safe_psql('postgres', q{
	CREATE TABLE g (id int PRIMARY KEY, k int, pad text) USING glassheap;
	CREATE INDEX g_k ON g (k);
	CREATE TABLE h (id int PRIMARY KEY, k int, pad text) USING heap;
	CREATE INDEX h_k ON h (k);
	INSERT INTO g SELECT i, i % 1000, repeat('p', i % 60) FROM generate_series(1, 60000) i;
	INSERT INTO h SELECT * FROM g;
	DELETE FROM g WHERE id % 2 = 0;
	DELETE FROM h WHERE id % 2 = 0;
	UPDATE g SET k = -k WHERE id % 5 = 0;
	UPDATE h SET k = -k WHERE id % 5 = 0;
	CHECKPOINT;
});
my $q = 'SELECT count(*), sum(id), sum(k), sum(length(pad)) FROM g';
my $expect = $node->safe_psql('postgres', $q);
my $start_lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');

# A VACUUM slowed down by cost-based delay, killed part-way through.
my $vac = $node->background_psql('postgres', on_error_stop => 0);
$vac->query_until(qr/started/, q{
	SET vacuum_cost_delay = 20;
	SET vacuum_cost_limit = 20;
	\echo started
	VACUUM (FREEZE) g;
});
# wait until it has written some of its own records, but not all of them
$node->poll_query_until('postgres', qq{
	SELECT count(*) > 5 FROM pg_get_wal_records_info('$start_lsn', pg_current_wal_flush_lsn())
	WHERE resource_manager = 'glassheap' AND record_type IN ('PRUNE', 'FREEZE')})
	or die 'VACUUM wrote no records';
my $pages = $node->safe_psql('postgres', q{SELECT pg_relation_size('g') / 8192});
my $written = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM pg_get_wal_records_info('$start_lsn', pg_current_wal_flush_lsn())
	WHERE resource_manager = 'glassheap' AND record_type = 'PRUNE'});
cmp_ok($written, '<', $pages, "killed mid-VACUUM ($written of $pages pages pruned)");
$node->stop('immediate');
eval { $vac->quit };

$node->start;
is($node->safe_psql('postgres', $q), $expect, 'same rows after crash recovery');
is($node->safe_psql('postgres', 'SELECT count(*) FROM glassheap.verify(\'g\')'), '0', 'verify finds nothing wrong');
$node->safe_psql('postgres', q{SELECT bt_index_check('g_pkey', true), bt_index_check('g_k', true)});
pass('btree indexes match the table (amcheck heapallindexed)');
is($node->safe_psql('postgres', 'SET enable_seqscan = off; SELECT count(*), sum(k) FROM g WHERE k < 0'),
	$node->safe_psql('postgres', 'SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT count(*), sum(k) FROM g WHERE k < 0'),
	'index scan and sequential scan agree');

# A second VACUUM completes; the table is frozen and its space reusable: as many new
# rows as were deleted grow it no more than they grow the heap twin.
$node->safe_psql('postgres', 'VACUUM (FREEZE) g, h');
is($node->safe_psql('postgres', $q), $expect, 'same rows after the second VACUUM');
my $pages_q = q{SELECT pg_relation_size('g') / 8192, pg_relation_size('h') / 8192};
my ($g0, $h0) = split /\|/, $node->safe_psql('postgres', $pages_q);
$node->safe_psql('postgres', q{
	INSERT INTO g SELECT i, 0, repeat('n', i % 60) FROM generate_series(100002, 160000, 2) i;
	INSERT INTO h SELECT i, 0, repeat('n', i % 60) FROM generate_series(100002, 160000, 2) i});
my ($g1, $h1) = split /\|/, $node->safe_psql('postgres', $pages_q);
cmp_ok($g1 - $g0, '<=', $h1 - $h0, "new rows reuse the freed space (glassheap grew $g0 -> $g1 pages, heap $h0 -> $h1)");
cmp_ok($g1 - $g0, '<', $g0 / 50, 'growth is under 2% of the table');
ok($node->safe_psql('postgres', q{SELECT age(relfrozenxid) < 100 FROM pg_class WHERE relname = 'g'}) eq 't',
	'relfrozenxid advanced');

# And once more through recovery, now with the reused space.
$expect = $node->safe_psql('postgres', $q);
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $q), $expect, 'same rows after a second crash');
my $log = slurp_file($node->logfile);
unlike($log, qr/inconsistent page/, 'no inconsistent page during replay');
unlike($log, qr/PANIC/, 'no PANIC');
$node->stop;
done_testing();
