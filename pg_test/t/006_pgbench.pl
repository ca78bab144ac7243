# A real client: pgbench initialises its tables in a database whose default table
# access method is glassheap, then runs TPC-B with 8 clients for 60 seconds (the
# issue's duration; GLASSHEAP_PGBENCH_SECONDS shortens it for local runs, never when
# CI is set) and a select-only run. Afterwards the money adds up (every balance sum
# equals the history's deltas, one history row per transaction), glassheap.verify finds
# nothing wrong with the tables, and amcheck finds the btree indexes consistent with
# the tables (heapallindexed, rootdescend, parent check). A heap twin database gets the
# same initialisation, a fixed number of transactions and the same checks.
#
# pgbench runs with -n: it would VACUUM its tables otherwise, which glassheap does not
# support yet. Autovacuum keeps its default (on), as for a real user.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $seconds = $ENV{CI} ? 60 : ($ENV{GLASSHEAP_PGBENCH_SECONDS} // 60);
my $select_seconds = $seconds >= 60 ? 15 : ($seconds > 5 ? int($seconds / 4) + 1 : 2);

my $node = glassheap_node('pgbench', conf => "max_connections = 40\n");
$node->start;

# run a client program against $node: returns (exit status, stdout, stderr)
sub client
{
	my @cmd = (@_, '-h', $node->host, '-p', $node->port);
	note('running: ' . join(' ', @cmd));
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# pgbench run: checks exit status, failures and that work was done; returns the
# number of transactions processed
sub bench
{
	my ($db, $label, @opts) = @_;
	my ($rc, $out, $err) = client('pgbench', '-n', @opts, $db);
	is($rc, 0, "$label: pgbench exits with status 0") or diag("stdout:\n$out\nstderr:\n$err");
	my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
	ok(defined $processed && $processed > 0, "$label: transactions were processed")
	  or diag("stdout:\n$out\nstderr:\n$err");
	if ($out =~ /number of failed transactions: (\d+)/)
	{
		is($1, 0, "$label: no failed transactions");
	}
	unlike($err, qr/\b(ERROR|FATAL|PANIC)\b/, "$label: no server errors reported to the clients");
	my ($tps) = $out =~ /tps = ([\d.]+)/;
	note("$label: " . ($processed // '?') . ' transactions, ' . ($tps // '?') . ' tps');
	return $processed // 0;
}

# the invariants of pgbench's TPC-B after a run of $processed transactions
sub check_money
{
	my ($db, $label, $processed) = @_;
	my $sums = $node->safe_psql($db, q{
		SELECT (SELECT sum(abalance) FROM pgbench_accounts),
		       (SELECT sum(bbalance) FROM pgbench_branches),
		       (SELECT sum(tbalance) FROM pgbench_tellers),
		       (SELECT sum(delta) FROM pgbench_history)});
	my @s = split /\|/, $sums;
	ok(@s == 4 && $s[0] eq $s[1] && $s[1] eq $s[2] && $s[2] eq $s[3],
		"$label: sum(abalance) = sum(bbalance) = sum(tbalance) = sum(delta) ($sums)");
	is($node->safe_psql($db, 'SELECT count(*) FROM pgbench_history'), $processed,
		"$label: one history row per processed transaction");
	is($node->safe_psql($db, q{SELECT count(*), count(DISTINCT aid), min(aid), max(aid) FROM pgbench_accounts}),
		'200000|200000|1|200000', "$label: every account exactly once");
	is($node->safe_psql($db, q{SET enable_seqscan = off; SELECT count(*) FROM pgbench_accounts WHERE aid > 0}),
		'200000', "$label: the primary key index finds every account");
}

# amcheck on every btree index in schema public: heapallindexed checks that each
# live row of the table (read through the table AM) has its index entry
sub check_indexes
{
	my ($db, $label) = @_;
	my ($rc, $out, $err) = client('pg_amcheck', '-U', 'postgres', '-d', $db, '--install-missing',
		'--heapallindexed', '--rootdescend', '--parent-check', '-i', 'public.*', '-v');
	is($rc, 0, "$label: pg_amcheck exits with status 0") or diag("stdout:\n$out\nstderr:\n$err");
	is($out, '', "$label: pg_amcheck reports nothing");
	my $checked = () = $err =~ /checking btree index "[^"]*\.public\.pgbench_\w+_pkey"/g;
	is($checked, 3, "$label: pg_amcheck checked the three primary key indexes");
	# the whole database too (catalogs are heap tables; their indexes)
	($rc, $out, $err) = client('pg_amcheck', '-U', 'postgres', '-d', $db, '--heapallindexed');
	is($rc . $out, '0', "$label: pg_amcheck of the whole database is clean") or diag("$out\n$err");
}

# --- glassheap database -------------------------------------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE gh');
$node->safe_psql('gh', 'CREATE EXTENSION glassheap');
$node->safe_psql('postgres', 'ALTER DATABASE gh SET default_table_access_method = glassheap');

my ($rc, $out, $err) = client('pgbench', '-i', '-s', '2', '-n', 'gh');
is($rc, 0, 'pgbench -i -s 2 -n succeeds on glassheap') or diag("stdout:\n$out\nstderr:\n$err");
like($err, qr/done in/, 'pgbench -i finished');

is( $node->safe_psql(
		'gh', q{
	SELECT string_agg(c.relname || ':' || a.amname, ' ' ORDER BY c.relname)
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	WHERE c.relname LIKE 'pgbench\_%' AND c.relkind = 'r'}),
	'pgbench_accounts:glassheap pgbench_branches:glassheap pgbench_history:glassheap pgbench_tellers:glassheap',
	'all four pgbench tables use glassheap');
is( $node->safe_psql(
		'gh', q{
	SELECT string_agg(conrelid::regclass || ':' || conname || ':' || ia.amname, ' ' ORDER BY conname)
	FROM pg_constraint k JOIN pg_class i ON i.oid = k.conindid JOIN pg_am ia ON ia.oid = i.relam
	WHERE contype = 'p' AND conrelid::regclass::text LIKE 'pgbench\_%'}),
	'pgbench_accounts:pgbench_accounts_pkey:btree pgbench_branches:pgbench_branches_pkey:btree '
	  . 'pgbench_tellers:pgbench_tellers_pkey:btree',
	'the primary keys exist (btree)');
is($node->safe_psql('gh', 'SELECT count(*) FROM pgbench_accounts'), '200000', 'scale 2: 200000 accounts');

note("TPC-B for $seconds s, select-only for $select_seconds s");
my $processed = bench('gh', 'glassheap TPC-B', '-c', '8', '-j', '2', '-T', $seconds);
check_money('gh', 'glassheap', $processed);
bench('gh', 'glassheap select-only', '-S', '-c', '8', '-j', '2', '-T', $select_seconds);
check_money('gh', 'glassheap after select-only', $processed);

# --- heap twin: the same initialisation, a fixed number of transactions -------------
$node->safe_psql('postgres', 'CREATE DATABASE twin');
($rc, $out, $err) = client('pgbench', '-i', '-s', '2', '-n', 'twin');
is($rc, 0, 'pgbench -i on the heap twin') or diag($err);
is($node->safe_psql('twin', q{SELECT count(*) FROM pg_class c WHERE relname LIKE 'pgbench\_%' AND relkind = 'r' AND relam = (SELECT oid FROM pg_am WHERE amname = 'heap')}),
	'4', 'the twin uses heap');
my $twin_processed = bench('twin', 'heap TPC-B', '-c', '8', '-j', '2', '-t', '250');
is($twin_processed, 2000, 'heap twin: 8 clients x 250 transactions');
check_money('twin', 'heap twin', $twin_processed);
check_indexes('twin', 'heap twin');

# and the same fixed run on glassheap, on top of the timed one
my $before = $node->safe_psql('gh', 'SELECT count(*) FROM pgbench_history');
my $fixed = bench('gh', 'glassheap fixed TPC-B', '-c', '8', '-j', '2', '-t', '250');
is($fixed, 2000, 'glassheap: 8 clients x 250 transactions');
check_money('gh', 'glassheap after fixed run', $before + $fixed);

# after all runs: the tables and their indexes
is( $node->safe_psql(
		'gh', q{
	SELECT count(*) FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']) t,
	     glassheap.verify(t::regclass)}),
	'0', 'glassheap.verify finds no problem in the pgbench tables');
check_indexes('gh', 'glassheap');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal|server process .* was terminated/,
	'no crash or assertion failure in the server log');

$node->stop;
done_testing();
