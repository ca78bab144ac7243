# A real client: pgbench initialises its tables in a database whose default table
# access method is glassheap, then runs TPC-B with 8 clients for 60 seconds (the
# issue's duration; GLASSHEAP_PGBENCH_SECONDS shortens it for local runs, never when
# CI is set) and a select-only run. Then custom scripts from 8 clients: upserts of a
# few hot keys, a SKIP LOCKED job queue, TPC-B under SERIALIZABLE with pgbench
# retrying serialization failures, and 16 clients updating 40 rows of one page (the
# relation grows all the time, the workload that found a buffer-lock deadlock when an
# update extended the relation). Afterwards the money adds up (every balance sum
# equals the history's deltas, one history row per transaction), no upsert or job is
# lost or doubled, glassheap.verify finds nothing wrong with the tables, and amcheck
# finds the btree indexes consistent with the tables (heapallindexed, rootdescend,
# parent check). A heap twin database gets the same initialisation, a fixed number of
# transactions, the same workloads and the same checks.
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

# run a client program against $node: returns (exit status, stdout, stderr). A client
# still running after $limit seconds means the server hangs (say, backends waiting for
# each other's buffer locks, which no deadlock detector sees): show what the backends
# wait for, stop the server and stop this test file.
my $limit = $seconds + 240;
sub client
{
	my @cmd = (@_, '-h', $node->host, '-p', $node->port);
	note('running: ' . join(' ', @cmd));
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout($limit));
		1;
	};
	if (!$ok)
	{
		my $waits = $node->safe_psql('postgres', q{
			SELECT string_agg(pid || ' ' || coalesce(wait_event_type || ':' || wait_event, '-') || ' ' || left(query, 60), E'\n')
			FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()});
		fail("$cmd[0] finished within $limit s");
		diag("$@\nbackends:\n$waits");
		$node->stop('immediate');
		die "$cmd[0] hung\n";
	}
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
	my ($retried) = $out =~ /number of transactions retried: (\d+)/;
	note("$label: " . ($processed // '?') . ' transactions, ' . ($tps // '?') . ' tps'
		  . (defined $retried ? ", $retried retried" : ''));
	return $processed // 0;
}

# the invariants of pgbench's TPC-B after $processed transactions; with -T, pgbench
# may stop a client after its COMMIT reached the server but before the reply was
# counted, so up to $slack (one per client) more history rows are allowed
sub check_money
{
	my ($db, $label, $processed, $slack) = @_;
	$slack //= 0;
	my $sums = $node->safe_psql($db, q{
		SELECT (SELECT sum(abalance) FROM pgbench_accounts),
		       (SELECT sum(bbalance) FROM pgbench_branches),
		       (SELECT sum(tbalance) FROM pgbench_tellers),
		       (SELECT sum(delta) FROM pgbench_history)});
	my @s = split /\|/, $sums;
	ok(@s == 4 && $s[0] eq $s[1] && $s[1] eq $s[2] && $s[2] eq $s[3],
		"$label: sum(abalance) = sum(bbalance) = sum(tbalance) = sum(delta) ($sums)");
	my $history = $node->safe_psql($db, 'SELECT count(*) FROM pgbench_history');
	ok($history >= $processed && $history <= $processed + $slack,
		"$label: one history row per processed transaction ($history rows, $processed transactions)");
	return $history;
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
	my $checked = () = $err =~ /checking btree index "[^"]*\.public\./g;
	my $btrees = $node->safe_psql($db, q{
		SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'i'
		AND relam = (SELECT oid FROM pg_am WHERE amname = 'btree')});
	ok($btrees == 7 && $checked == $btrees, "$label: pg_amcheck checked all $btrees btree indexes ($checked)");
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
my $history = check_money('gh', 'glassheap', $processed, 8);
bench('gh', 'glassheap select-only', '-S', '-c', '8', '-j', '2', '-T', $select_seconds);
check_money('gh', 'glassheap after select-only', $history);

# --- concurrency workloads with custom scripts, run on glassheap and on the heap twin --
my $scripts = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$scripts/upsert.sql", q{
\set k random(1, 200)
INSERT INTO counters VALUES (:k, 1) ON CONFLICT (k) DO UPDATE SET n = counters.n + 1;
});
PostgreSQL::Test::Utils::append_to_file("$scripts/hot.sql", q{
\set id random(1, 40)
UPDATE hot SET v = v + 1 WHERE id = :id;
});
PostgreSQL::Test::Utils::append_to_file("$scripts/analyze.sql", q{
ANALYZE hot;
INSERT INTO analyzes DEFAULT VALUES;
});
PostgreSQL::Test::Utils::append_to_file("$scripts/queue.sql", q{
BEGIN;
WITH job AS (SELECT id FROM jobs WHERE done_by IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE jobs SET done_by = :client_id, done_count = done_count + 1 FROM job WHERE jobs.id = job.id;
COMMIT;
});

sub workloads
{
	my ($db, $label) = @_;
	$node->safe_psql($db, q{
		CREATE TABLE counters (k int PRIMARY KEY, n int NOT NULL);
		CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL, pad text);
		INSERT INTO hot SELECT g, 0, repeat('x', 200) FROM generate_series(1, 40) g;
		CREATE TABLE analyzes (at timestamptz DEFAULT now());
		CREATE TABLE jobs (id int PRIMARY KEY, done_by int, done_count int NOT NULL DEFAULT 0);
		CREATE INDEX jobs_todo ON jobs (id) WHERE done_by IS NULL;
		INSERT INTO jobs (id) SELECT generate_series(1, 10000);
		ANALYZE jobs;
	});

	# concurrent upserts of 200 keys: no duplicate key, no lost increment
	bench($db, "$label upsert", '-c', '8', '-j', '2', '-t', '1000', '-f', "$scripts/upsert.sql");
	is($node->safe_psql($db, 'SELECT count(*) = count(DISTINCT k), count(*) <= 200, sum(n) FROM counters'),
		't|t|8000', "$label upsert: every key once, all 8000 increments counted");

	# 16 clients updating 40 rows on one page: every few updates the new versions need a
	# new page, often found as the relation's last page while another updater is still
	# extending the relation; occasional ANALYZEs reset the cached target page. Updaters
	# lock the old and the new page lower block first, or they deadlock on buffer locks.
	my ($rc, $out, $err) = client('pgbench', '-n', '-c', '16', '-j', '2', '-t', '2500',
		'-f', "$scripts/hot.sql\@50", '-f', "$scripts/analyze.sql\@1", $db);
	is($rc, 0, "$label hot rows: pgbench exits with status 0") or diag("stdout:\n$out\nstderr:\n$err");
	like($out, qr/number of transactions actually processed: 40000\/40000/, "$label hot rows: 40000 transactions");
	is( $node->safe_psql($db, 'SELECT count(*), sum(v) + (SELECT count(*) FROM analyzes), sum(v) > 30000 FROM hot'),
		'40|40000|t', "$label hot rows: every update counted once");

	# a job queue: each transaction claims one job with SKIP LOCKED; no job is done twice
	# and every client did exactly its 1000 jobs
	bench($db, "$label queue", '-c', '8', '-j', '2', '-t', '1000', '-f', "$scripts/queue.sql");
	is( $node->safe_psql(
			$db, q{
		SELECT count(*) FILTER (WHERE done_by IS NOT NULL), max(done_count),
		       (SELECT string_agg(n::text, ',') FROM (SELECT count(*) AS n FROM jobs WHERE done_by IS NOT NULL
		                                              GROUP BY done_by ORDER BY done_by) c)
		FROM jobs}),
		'8000|1|1000,1000,1000,1000,1000,1000,1000,1000',
		"$label queue: 8000 jobs done once each, 1000 per client");
	is($node->safe_psql($db, q{SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM jobs WHERE done_by IS NULL}),
		'2000', "$label queue: the partial index finds exactly the 2000 jobs left");

	# TPC-B under SERIALIZABLE: serialization failures are retried by pgbench, none is
	# left over, and the balances still add up
	my $before = $node->safe_psql($db, 'SELECT count(*) FROM pgbench_history');
	{
		local $ENV{PGOPTIONS} = '-c default_transaction_isolation=serializable';
		my $done = bench($db, "$label serializable TPC-B", '-c', '8', '-j', '2', '-t', '250', '--max-tries=1000');
		is($done, 2000, "$label serializable TPC-B: 8 clients x 250 transactions");
	}
	check_money($db, "$label after serializable TPC-B", $before + 2000);
}
workloads('gh', 'glassheap');
is($node->safe_psql('gh', q{SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
	WHERE relname IN ('counters', 'jobs') AND relam = (SELECT oid FROM pg_am WHERE amname = 'glassheap')}),
	'counters jobs', 'the workload tables use glassheap');

# --- heap twin: the same initialisation, a fixed number of transactions -------------
$node->safe_psql('postgres', 'CREATE DATABASE twin');
($rc, $out, $err) = client('pgbench', '-i', '-s', '2', '-n', 'twin');
is($rc, 0, 'pgbench -i on the heap twin') or diag($err);
is($node->safe_psql('twin', q{SELECT count(*) FROM pg_class c WHERE relname LIKE 'pgbench\_%' AND relkind = 'r' AND relam = (SELECT oid FROM pg_am WHERE amname = 'heap')}),
	'4', 'the twin uses heap');
my $twin_processed = bench('twin', 'heap TPC-B', '-c', '8', '-j', '2', '-t', '250');
is($twin_processed, 2000, 'heap twin: 8 clients x 250 transactions');
check_money('twin', 'heap twin', $twin_processed);
workloads('twin', 'heap twin');
check_indexes('twin', 'heap twin');

# and the same fixed run on glassheap, on top of the timed one
my $before = $node->safe_psql('gh', 'SELECT count(*) FROM pgbench_history');
my $fixed = bench('gh', 'glassheap fixed TPC-B', '-c', '8', '-j', '2', '-t', '250');
is($fixed, 2000, 'glassheap: 8 clients x 250 transactions');
check_money('gh', 'glassheap after fixed run', $before + $fixed);

# after all runs: the tables and their indexes
is( $node->safe_psql(
		'gh', q{
	SELECT count(*) FILTER (WHERE c.relname LIKE 'pgbench\_%'), count(v.*) FROM pg_class c
	LEFT JOIN LATERAL glassheap.verify(c.oid) v ON true
	WHERE c.relnamespace = 'public'::regnamespace AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'glassheap')}),
	'4|0', 'glassheap.verify finds no problem in the pgbench and workload tables');
check_indexes('gh', 'glassheap');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal|server process .* was terminated/,
	'no crash or assertion failure in the server log');

$node->stop;
done_testing();
