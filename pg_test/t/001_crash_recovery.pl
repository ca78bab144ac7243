# Every acknowledged commit survives kill -9 of the postmaster; uncommitted work
# (plain, in subtransactions, and prepared-then-rolled-back) is invisible after
# recovery. Redo runs with wal_consistency_checking = 'all', so every glassheap record
# replayed is also compared page by page with the primary's image.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('crash', conf => "wal_consistency_checking = 'all'\nmax_prepared_transactions = 5\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap');
$node->safe_psql('postgres', q{
	CREATE TABLE g (id int PRIMARY KEY, bal int, pad text) USING glassheap;
	CREATE TABLE h (id int PRIMARY KEY, bal int, pad text) USING heap;
	CHECKPOINT;
});

# Committed work of every kind, applied to the glassheap table and its heap twin.
for my $t ('g', 'h')
{
	$node->safe_psql('postgres', qq{
		INSERT INTO $t SELECT i, i, 'p' || i FROM generate_series(1, 3000) i;
		COPY $t FROM PROGRAM 'seq 3001 6000 | sed "s/.*/&\t&\tcopied/"';
		UPDATE $t SET bal = bal + 1 WHERE id % 3 = 0;
		UPDATE $t SET pad = repeat('w', 500) WHERE id % 50 = 0;
		DELETE FROM $t WHERE id % 7 = 0;
		BEGIN; SELECT id FROM $t WHERE id < 10 FOR SHARE; COMMIT;
		BEGIN; SAVEPOINT a; UPDATE $t SET bal = -1 WHERE id = 1; ROLLBACK TO a; UPDATE $t SET bal = 1000 WHERE id = 2; COMMIT;
		INSERT INTO $t VALUES (7000, 1, 'conflict') ON CONFLICT (id) DO NOTHING;
		INSERT INTO $t VALUES (1, 1, 'upsert') ON CONFLICT (id) DO UPDATE SET pad = 'upserted';
	});
}
# A prepared transaction that will be rolled back after the crash.
$node->safe_psql('postgres', q{BEGIN; UPDATE g SET bal = -2 WHERE id = 3; INSERT INTO g VALUES (-5, 0, 'prepared'); PREPARE TRANSACTION 'p1';});

my $expect = $node->safe_psql('postgres', 'SELECT count(*), sum(id), sum(bal), sum(length(pad)) FROM g');
is($expect, $node->safe_psql('postgres', 'SELECT count(*), sum(id), sum(bal), sum(length(pad)) FROM h'),
	'glassheap and heap twin agree before the crash');

# Uncommitted work in progress at the moment of the crash.
my $bg = $node->background_psql('postgres');
$bg->query_safe(q{BEGIN; INSERT INTO g SELECT -i, 0, 'uncommitted' FROM generate_series(10, 500) i; UPDATE g SET bal = 0 WHERE id BETWEEN 100 AND 200; DELETE FROM g WHERE id BETWEEN 300 AND 400;});
$bg->query_safe(q{SAVEPOINT s; INSERT INTO g VALUES (-9999, 0, 'sub');});

$node->stop('immediate');
$bg->{run}->finish if $bg->{run};
$node->start;

is($node->safe_psql('postgres', q{SELECT count(*) FROM g WHERE pad IN ('uncommitted', 'sub') OR bal = 0}), '0',
	'uncommitted rows are invisible after recovery');
$node->safe_psql('postgres', q{ROLLBACK PREPARED 'p1'});
is($node->safe_psql('postgres', 'SELECT count(*), sum(id), sum(bal), sum(length(pad)) FROM g'), $expect,
	'every committed change survived the crash');
is($node->safe_psql('postgres', q{SELECT bal, pad FROM g WHERE id IN (1, 2, 3) ORDER BY id}),
	"1|upserted\n1000|p2\n4|p3", 'subtransaction, upsert and prepared-transaction outcomes are right');

# The table keeps working after recovery (indexes included).
$node->safe_psql('postgres', q{UPDATE g SET bal = bal + 1 WHERE id = 5; INSERT INTO g VALUES (8000, 1, 'after')});
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT id, bal FROM g WHERE id IN (5, 8000) ORDER BY id}),
	"5|6\n8000|1", 'writes and index scans work after recovery');

my $log = slurp_file($node->logfile);
unlike($log, qr/inconsistent page/, 'no inconsistent page found by wal_consistency_checking during redo');
like($log, qr/redo done/, 'recovery replayed WAL');

$node->stop;
done_testing();
