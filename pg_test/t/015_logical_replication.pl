# Logical replication of glassheap tables with pgoutput, as a user sets it up: a
# publisher with glassheap and heap tables, a subscriber with glassheap and heap tables
# (each table in the other access method on one side), initial table sync, then a
# concurrent write load (pgbench: transfers, inserts into a ledger, deletes) during
# which the publisher crashes (immediate stop: no shutdown checkpoint) and restarts.
# The subscriber must end equal to the publisher: no change lost, none applied twice
# (the ledger's primary key would stop the apply worker on a duplicate). Then a
# transaction larger than logical_decoding_work_mem is streamed, and a two-phase
# transaction reaches the subscriber prepared, then committed. Finally pg_recvlogical
# with wal2json prints the same JSON for a glassheap table as for its heap twin.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

# output_plugin_libraries: this server build (Debian's 15.20) lets only the libraries it
# lists be output plugins, by default pgoutput and test_decoding.
my $pub = glassheap_node('publisher', conf => join("\n",
	'wal_level = logical', 'max_replication_slots = 10', 'max_wal_senders = 10',
	'max_prepared_transactions = 10', 'logical_decoding_work_mem = 64kB',
	"output_plugin_libraries = 'pgoutput, test_decoding, wal2json'", ''));
my $sub = glassheap_node('subscriber', conf => join("\n",
	'max_prepared_transactions = 10', 'max_logical_replication_workers = 6', ''));
$pub->start;
$sub->start;

my $schema_pub = q{
	CREATE EXTENSION glassheap;
	CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL, note text) USING glassheap;
	CREATE TABLE ledger (id bigint PRIMARY KEY, acct int, delta int) USING glassheap;
	CREATE TABLE docs (id int PRIMARY KEY, body text) USING glassheap;
	CREATE TABLE heapside (id int PRIMARY KEY, v int) USING heap;
};
# On the subscriber the access methods are mixed: ledger and docs are heap there, and
# the publisher's heap table is glassheap.
my $schema_sub = q{
	CREATE EXTENSION glassheap;
	CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL, note text) USING glassheap;
	CREATE TABLE ledger (id bigint PRIMARY KEY, acct int, delta int) USING heap;
	CREATE TABLE docs (id int PRIMARY KEY, body text) USING heap;
	CREATE TABLE heapside (id int PRIMARY KEY, v int) USING glassheap;
};
$pub->safe_psql('postgres', $schema_pub);
$sub->safe_psql('postgres', $schema_sub);
$pub->safe_psql('postgres', q{
	CREATE SEQUENCE ledger_ids;
	INSERT INTO acct SELECT g, 1000, 'account ' || g FROM generate_series(1, 2000) g;
	INSERT INTO docs SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 50) g;
	INSERT INTO heapside SELECT g, g FROM generate_series(1, 100) g;
	CREATE PUBLICATION pub FOR TABLE acct, ledger, docs, heapside;
});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION '$connstr' PUBLICATION pub WITH (streaming = on, two_phase = on)");
$sub->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')})
  or die 'initial table sync did not finish';
$pub->wait_for_catchup('sub');

# digest(node, table): the table's rows in key order, hashed
sub digest
{
	my ($node, $table) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) || ' rows, ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t.id)), '-') FROM $table t");
}
sub same_tables
{
	my ($what) = @_;
	for my $t (qw(acct ledger docs heapside))
	{
		is(digest($sub, $t), digest($pub, $t), "$what: $t equal on both sides");
	}
}
same_tables('after initial sync');

# The load: transfers between accounts (UPDATEs, some HOT, some moving rows to other
# pages as the note grows), one ledger row per transfer, deletes and re-inserts of
# accounts, updates of a TOASTed document.
my $script = $pub->basedir . '/load.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set a random(1, 2000)
\set b random(1, 2000)
\set d random(1, 50)
BEGIN;
UPDATE acct SET balance = balance - 1 WHERE id = :a;
UPDATE acct SET balance = balance + 1, note = note || '.' WHERE id = :b;
INSERT INTO ledger VALUES (nextval('ledger_ids'), :a, -1), (nextval('ledger_ids'), :b, 1);
DELETE FROM heapside WHERE id = :d;
INSERT INTO heapside VALUES (:d, :a) ON CONFLICT (id) DO UPDATE SET v = excluded.v;
UPDATE docs SET body = body || :a WHERE id = :d AND :a % 10 = 0;
COMMIT;
});
my @pgbench = ('pgbench', '-n', '-c', '4', '-T', '20', '-f', $script,
	'-h', $pub->host, '-p', $pub->port, 'postgres');
my ($out, $err) = ('', '');
my $load = IPC::Run::start(\@pgbench, '>', \$out, '2>', \$err);
sleep 6;
# Mid-stream: the publisher goes down without a shutdown checkpoint and comes back
# through crash recovery; the subscription reconnects and resumes from its slot.
$pub->stop('immediate');
$load->finish;
note("pgbench (interrupted by the crash): $err");
$pub->start;
my $load2 = IPC::Run::start(\@pgbench, '>', \$out, '2>', \$err);
$load2->finish;
is($? >> 8, 0, 'load after the restart ran without errors') or diag($err);
my ($ledger_rows) = $pub->safe_psql('postgres', 'SELECT count(*) FROM ledger');
ok($ledger_rows > 100, "the load committed transfers ($ledger_rows ledger rows)");
$pub->wait_for_catchup('sub');
same_tables('after the load and the publisher crash');
is($sub->safe_psql('postgres', 'SELECT sum(balance) FROM acct'), '2000000',
	'the money adds up on the subscriber');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM ledger'), $ledger_rows,
	'every ledger row arrived once');

# A transaction bigger than logical_decoding_work_mem (64kB) is streamed in blocks.
$pub->safe_psql('postgres', q{
	INSERT INTO ledger SELECT nextval('ledger_ids'), g % 2000 + 1, 0 FROM generate_series(1, 20000) g;
	UPDATE acct SET note = 'bulk ' || id WHERE id <= 1000;
});
$pub->wait_for_catchup('sub');
ok($pub->safe_psql('postgres',
	q{SELECT stream_txns > 0 FROM pg_stat_replication_slots WHERE slot_name = 'sub'}) eq 't',
	'the big transaction was streamed');
same_tables('after a streamed transaction');

# Two-phase: the subscriber prepares what the publisher prepared, and commits it when
# the publisher does.
$sub->poll_query_until('postgres', q{SELECT subtwophasestate = 'e' FROM pg_subscription WHERE subname = 'sub'})
  or die 'two-phase was not enabled';
$pub->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO acct VALUES (5000, 0, 'prepared');
	UPDATE docs SET body = 'short now' WHERE id = 1;
	PREPARE TRANSACTION 'gx';
});
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'pg_gid_%'}), '1',
	'the subscriber holds the transaction prepared');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM acct WHERE id = 5000'), '0',
	'not visible before COMMIT PREPARED');
$pub->safe_psql('postgres', q{COMMIT PREPARED 'gx'});
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', 'SELECT note FROM acct WHERE id = 5000'), 'prepared',
	'visible after COMMIT PREPARED');
same_tables('after a two-phase transaction');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM glassheap.verify(\'acct\')'), '0',
	'glassheap.verify finds nothing wrong on the subscriber');

# wal2json through pg_recvlogical: glassheap's JSON equals heap's (table names aside).
SKIP:
{
	my $libdir = `pg_config --pkglibdir`;
	chomp $libdir;
	# scripts/setup installs Debian's postgresql-15-wal2json; without it (a machine set
	# up by hand) this check cannot run, and says so.
	skip "wal2json is not installed ($libdir/wal2json.so)", 1 unless -f "$libdir/wal2json.so";
	$pub->safe_psql('postgres', q{
		CREATE TABLE jh (id int PRIMARY KEY, v text, n numeric) USING heap;
		CREATE TABLE jg (id int PRIMARY KEY, v text, n numeric) USING glassheap;
		SELECT pg_create_logical_replication_slot('json', 'wal2json');
	});
	for my $t ('jh', 'jg')
	{
		$pub->safe_psql('postgres', qq{
			INSERT INTO $t VALUES (1, 'one', 1.5), (2, NULL, NULL);
			UPDATE $t SET v = 'uno' WHERE id = 1;
			UPDATE $t SET id = 3 WHERE id = 2;
			DELETE FROM $t WHERE id = 1;
		});
	}
	my $endpos = $pub->lsn('insert');
	my $json = $pub->pg_recvlogical_upto('postgres', 'json', $endpos, $PostgreSQL::Test::Utils::timeout_default,
		'include-xids' => '0', 'format-version' => '2', 'include-timestamp' => '0');
	my (@heap, @glass);
	for my $line (split /\n/, $json)
	{
		next unless $line =~ /"table":"j([hg])"/;
		my $am = $1;
		(my $norm = $line) =~ s/"table":"j[hg]"/"table":"T"/;
		push @{ $am eq 'h' ? \@heap : \@glass }, $norm;
	}
	ok(@glass >= 5 && join("\n", @glass) eq join("\n", @heap),
		'wal2json shows the same changes for glassheap as for heap (' . scalar(@glass) . ' lines)')
	  or diag("heap:\n" . join("\n", @heap) . "\nglassheap:\n" . join("\n", @glass));
}

$sub->stop;
$pub->stop;
done_testing();
