# A Rust panic inside a critical section PANICs the server. The panic is injected
# (glassheap.fault_injection, a setting of the fault-injection build scripts/test
# installs) after a page change and before its WAL record: the state a bug there would
# leave. Unwinding out of the section would turn the panic into an ordinary ERROR and
# leave the page changed without its WAL record; instead CritSection's drop PANICs
# (src/pg/crit.rs). For each critical section that changes a glassheap page: the server
# log shows the PANIC and the panic's message, the server restarts and recovers, and
# the tables hold exactly what was committed, with glassheap.verify() clean.
#
# Not reached here: super_delete (cancelling a speculative insertion that lost a race
# needs a concurrent inserter between the pre-check and the index insertion, which a
# test cannot time without a wait point).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('crit_panic', conf => "autovacuum = off\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE t (id int PRIMARY KEY, v int) USING glassheap;
	INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;
	-- w's page is full: an update of it moves the new version to another page
	CREATE TABLE w (id int PRIMARY KEY, pad text) USING glassheap;
	INSERT INTO w SELECT g, repeat('x', 1000) FROM generate_series(1, 7) g;
	DELETE FROM t WHERE id BETWEEN 50 AND 60;
});

is($node->safe_psql('postgres', q{SHOW glassheap.fault_injection}), 'none', 'the setting exists, off by default');
my ($rc, $out, $err) = $node->psql('postgres',
	q{CREATE ROLE nobody LOGIN; SET ROLE nobody; SET glassheap.fault_injection = 'insert'});
like($err, qr/permission denied to set parameter "glassheap.fault_injection"/, 'only a superuser may set it');

sub state
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM t),
		       (SELECT md5(string_agg(id || ':' || pad, ',' ORDER BY id)) FROM w)});
}

# kind => the statement that enters that critical section
my @rounds = (
	[ insert       => q{INSERT INTO t VALUES (1001, 1)} ],
	[ multi_insert => q{COPY t (id) FROM PROGRAM 'seq 2001 2300'} ],
	[ confirm      => q{INSERT INTO t VALUES (3001, 1) ON CONFLICT DO NOTHING} ],
	[ delete       => q{DELETE FROM t WHERE id = 5} ],
	[ update       => q{UPDATE t SET v = v + 1 WHERE id = 7} ],
	[ update_lock  => q{UPDATE w SET pad = repeat('y', 1000) WHERE id = 3} ],
	[ lock         => q{SELECT id FROM t WHERE id = 8 FOR UPDATE} ],
	[ prune        => q{VACUUM t} ],
	[ vacuum       => q{VACUUM t} ],
	[ freeze       => q{VACUUM (FREEZE) t} ],
	[ visible      => q{VACUUM w} ],
);

my $name_of = sub { my $k = shift; $k =~ s/(^|_)(\w)/\U$2/g; $k };
for my $r (@rounds)
{
	my ($kind, $sql) = @$r;
	my $before = state();
	my $log_at = -s $node->logfile;
	my ($rc, $out, $err) = $node->psql('postgres', "SET glassheap.fault_injection = '$kind'; $sql");
	isnt($rc, 0, "$kind: the statement does not complete");
	my $panic = $name_of->($kind);
	# The postmaster may not have seen the PANICking backend die yet when the first
	# query after it runs: wait for crash recovery to finish (the log says so), then
	# for the server to answer.
	$node->wait_for_log(qr/all server processes terminated; reinitializing(?s:.*)database system is ready to accept connections/, $log_at);
	ok($node->poll_query_until('postgres', 'SELECT true'), "$kind: the server is back");
	my $log = substr(slurp_file($node->logfile), $log_at);
	like($log,
		qr/PANIC:  glassheap: Rust panic in a critical section: glassheap fault injection: $panic critical section at src\/\S+\.rs:\d+/,
		"$kind: the server log shows the PANIC with the panic's message and place");
	like($log, qr/all server processes terminated; reinitializing/, "$kind: the server restarted");
	like($log, qr/redo (done|starts)|database system was not properly shut down/, "$kind: crash recovery ran");
	unlike($log, qr/ERROR:  glassheap fault injection/, "$kind: the panic did not become an ERROR");
	is(state(), $before, "$kind: the tables hold what was committed");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('t')}) +
	   $node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('w')}),
		0, "$kind: glassheap.verify() reports nothing");
}

# After all that, the statements themselves work (the faults were the only problem).
$node->safe_psql('postgres', $_->[1]) for grep { $_->[0] ne 'lock' } @rounds;
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE id IN (1001, 3001, 5)}), '2',
	'without the fault the same statements commit');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('t')}), '0', 'and verify stays clean');
$node->stop;
done_testing();
