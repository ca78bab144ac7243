# UNLOGGED glassheap tables come back empty after a crash (their init fork is copied
# over the main fork) while logged ones keep their rows. Logical decoding sees changes
# of logged glassheap tables, none of unlogged ones, and decodes changes written before
# a crash after recovery.
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
$node->safe_psql('postgres', 'INSERT INTO l VALUES (1001); INSERT INTO u VALUES (2)');
$node->safe_psql('postgres', 'UPDATE l SET a = 1002 WHERE a = 1001');
# Decoded after a crash: the changes come from WAL written before it.
$node->stop('immediate');
$node->start;
my $changes = $node->safe_psql('postgres',
	q{SELECT string_agg(data, E'\n') FROM pg_logical_slot_get_changes('s', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')});
is($changes, join("\n",
	'BEGIN', 'table public.hh: INSERT: a[integer]:1', 'COMMIT',
	'BEGIN', 'table public.l: INSERT: a[integer]:1001', 'COMMIT',
	'BEGIN', 'table public.l: UPDATE: a[integer]:1002', 'COMMIT'),
	'heap and glassheap changes decode after a crash; the unlogged table writes none');
# A slot sees only its own database's changes.
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{CREATE EXTENSION glassheap; CREATE TABLE o (a int) USING glassheap; INSERT INTO o VALUES (7)});
$node->safe_psql('postgres', 'INSERT INTO l VALUES (1003)');
is($node->safe_psql('postgres',
	q{SELECT string_agg(data, E'\n') FROM pg_logical_slot_get_changes('s', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')}),
	join("\n", 'BEGIN', 'table public.l: INSERT: a[integer]:1003', 'COMMIT'),
	"another database's glassheap changes are not decoded by this database's slot");
$node->safe_psql('other', q{SELECT pg_create_logical_replication_slot('o', 'test_decoding')});
$node->safe_psql('other', 'INSERT INTO o VALUES (8)');
is($node->safe_psql('other',
	q{SELECT string_agg(data, E'\n') FROM pg_logical_slot_get_changes('o', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1')}),
	join("\n", 'BEGIN', 'table public.o: INSERT: a[integer]:8', 'COMMIT'),
	"that database's own slot decodes them");
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server keeps running');
$node->stop;
done_testing();
