# UNLOGGED glassheap tables come back empty after a crash (their init fork is copied
# over the main fork) while logged ones keep their rows. Logical decoding refuses
# glassheap changes with a clear error instead of silently skipping them.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('unlogged', conf => "wal_level = logical\nmax_replication_slots = 4\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE UNLOGGED TABLE u (a int) USING glassheap;
	CREATE TABLE l (a int) USING glassheap;
	INSERT INTO u SELECT generate_series(1, 1000);
	INSERT INTO l SELECT generate_series(1, 1000);
	CHECKPOINT;
	INSERT INTO u SELECT generate_series(1, 10);
});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'unlogged table is empty after a crash');
is($node->safe_psql('postgres', 'SELECT count(*) FROM l'), '1000', 'logged table kept its rows');
$node->safe_psql('postgres', 'INSERT INTO u VALUES (1)');
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '1', 'unlogged table usable again');

$node->safe_psql('postgres', q{SELECT pg_create_logical_replication_slot('s', 'test_decoding')});
$node->safe_psql('postgres', q{CREATE TABLE hh (a int) USING heap; INSERT INTO hh VALUES (1)});
my $changes = $node->safe_psql('postgres', q{SELECT count(*) FROM pg_logical_slot_get_changes('s', NULL, NULL)});
ok($changes > 0, 'heap changes decode');
$node->safe_psql('postgres', 'INSERT INTO l VALUES (1)');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM pg_logical_slot_get_changes('s', NULL, NULL)});
isnt($ret, 0, 'decoding glassheap changes fails');
like($err, qr/logical decoding of glassheap tables is not supported/, 'with an error that says why');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server keeps running');
$node->stop;
done_testing();
