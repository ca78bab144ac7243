# Long concurrent histories. t/histories.py (Python 3, standard library only; its
# header describes the workload and the checks) runs 8 sessions of randomised
# transactions -- Elle-style list appends (every read returns a whole list) and bank
# transfers with audits -- at READ COMMITTED, REPEATABLE READ and SERIALIZABLE, records
# every operation with its value and each transaction's outcome, and checks the history
# with the tables' final contents for the anomalies each level forbids: G0, G1a
# (aborted read), G1b (intermediate read), G1c, G-single and G-nonadjacent (forbidden
# by snapshot isolation, so at REPEATABLE READ), G2 (write skew, forbidden at
# SERIALIZABLE), lost appends and lost updates, non-repeatable reads, the bank's total.
# The same seed drives the same workload on glassheap tables and on heap twins, one
# level after the other, with autovacuum running often. glassheap must show no anomaly
# its level forbids, and no kind of anomaly heap does not show at the same level
# (heap's random run or its provoked scenarios below). Every count is printed.
#
# The checker must be able to find anomalies: it is fed hand-made histories each with
# a known anomaly and must report exactly that; and two sessions interleaved step by
# step provoke write skew, read skew and a lost update on both access methods, which
# the checker must flag at the levels that allow them (and which must not happen at
# the levels that forbid them).
#
# Each level runs 8 s per access method in scripts/test (about a minute in all);
# GLASSHEAP_LONG=1 (scripts/test --long) runs 600 s each, an hour in all. A run is
# checked in segments of 60 s: the sessions pause between segments and each segment's
# history is checked from the state the tables had when it began (a read older than
# that state is a stale read), which bounds the checker's memory; the tables carry on
# through the whole run. A segment with a forbidden anomaly leaves its history (JSON
# lines) beside the test's logs, history_<am>_<level>.jsonl.<segment>.
# GLASSHEAP_HISTORY_SECONDS sets the time per run, GLASSHEAP_HISTORY_SEED repeats a run.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;

my $long = $ENV{GLASSHEAP_LONG} ? 1 : 0;
my $seconds = $ENV{GLASSHEAP_HISTORY_SECONDS} // ($long ? 600 : 8);
my $seed = $ENV{GLASSHEAP_HISTORY_SEED} // ((time() ^ $$) % 1000000);
my $sessions = 8;
my @levels = qw(rc rr ser);
my %level_name = (rc => 'READ COMMITTED', rr => 'REPEATABLE READ', ser => 'SERIALIZABLE');
note("histories: $seconds s per level and access method, $sessions sessions, seed $seed"
	  . " (GLASSHEAP_HISTORY_SEED=$seed repeats the workload)" . ($long ? ', long mode' : ''));

my $node = glassheap_node('histories', conf => join('', map { "$_\n" }
	'autovacuum_naptime = 1', 'autovacuum_vacuum_threshold = 20',
	'autovacuum_vacuum_scale_factor = 0.01', 'autovacuum_analyze_threshold = 20',
	'autovacuum_vacuum_cost_delay = 0', 'deadlock_timeout = 100ms',
	# not every statement (the test cluster's default): the long run makes millions
	'log_statement = none', 'log_min_error_statement = fatal'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap');
my $user = $node->safe_psql('postgres', 'SELECT current_user');
my $script = "$FindBin::RealBin/histories.py";
my $json = JSON::PP->new->canonical;

# runs histories.py; returns its stdout (dies after $limit seconds)
sub histories
{
	my ($limit, @args) = @_;
	my @cmd = ('python3', $script, @args);
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout($limit));
	my $rc = $? >> 8;
	diag("histories.py @args: exit status $rc\n$err") if $rc != 0 || $err ne '';
	return ($rc, $out);
}

sub result
{
	my ($out) = @_;
	my ($line) = $out =~ /^RESULT (.*)$/m;
	return defined $line ? $json->decode($line) : undef;
}

sub nonzero
{
	my ($r) = @_;
	return join(', ', map { "$_ $r->{anomalies}{$_}" } grep { $r->{anomalies}{$_} } sort keys %{ $r->{anomalies} }) || 'none';
}

# --- the checker finds known anomalies ---------------------------------------------
my ($rc, $out) = histories(120, 'self-test');
is($rc, 0, 'the checker\'s self-test passes');
my $selftests = 0;
for my $line ($out =~ /^SELFTEST (.*)$/mg)
{
	my $t = $json->decode($line);
	$selftests++;
	ok($t->{ok}, "self-test '$t->{name}' at $t->{level}: reports [@{$t->{got}}], expected [@{$t->{expected}}]"
		  . (@{ $t->{forbidden} } ? " (forbidden at $t->{level}: @{$t->{forbidden}})" : ''));
}
cmp_ok($selftests, '>=', 20, "$selftests hand-made histories checked");

# --- provoked anomalies, on both access methods ---------------------------------------
# scenario => level => [anomaly kinds the checker must report, outcomes of sessions 1 and 2]
my %scenarios = (
	'write-skew' => {
		rc => ['G2', 'commit commit'],
		rr => ['G2', 'commit commit'],
		ser => ['', 'commit 40001'],
	},
	'read-skew' => {
		rc => ['G-nonadjacent G-single G2', 'commit commit'],
		rr => ['', 'commit commit'],
		ser => ['', 'commit commit'],
	},
	'lost-update' => {
		rc => ['bank-total lost-update', 'commit commit'],
		rr => ['', '40001 commit'],
		ser => ['', '40001 commit'],
	},
);
my %heap_shows;    # level => kind => 1 (what heap shows: scenarios and random runs)
for my $am (qw(glassheap heap))
{
	for my $sc (sort keys %scenarios)
	{
		for my $level (@levels)
		{
			my ($want, $outcomes) = @{ $scenarios{$sc}{$level} };
			my ($src, $sout) = histories(120, 'scenario', '--host', $node->host, '--port', $node->port,
				'--user', $user, '--am', $am, '--level', $level, '--prefix', "s_$am", $sc);
			my $r = result($sout);
			if (!defined $r)
			{
				fail("$am $sc at $level: a result");
				next;
			}
			my $got = join(' ', grep { $r->{anomalies}{$_} } sort keys %{ $r->{anomalies} });
			my $oc = join(' ', map { $r->{outcomes}{$_} } sort keys %{ $r->{outcomes} });
			is("$got / $oc", "$want / $outcomes",
				"$am: $sc at $level_name{$level}: anomalies [$got], sessions end $oc");
			if ($am eq 'heap')
			{
				$heap_shows{$level}{$_} = 1 for split ' ', $got;
			}
		}
	}
}

# --- randomised histories -----------------------------------------------------------
my %res;    # am => level => result
for my $level (@levels)
{
	for my $am (qw(glassheap heap))
	{
		my $hist = "$PostgreSQL::Test::Utils::log_path/history_${am}_$level.jsonl";
		my ($rrc, $rout) = histories($seconds + 900, 'run', '--host', $node->host, '--port', $node->port,
			'--user', $user, '--am', $am, '--level', $level, '--prefix', "h_${am}_$level",
			'--seconds', $seconds, '--sessions', $sessions, '--seed', $seed, '--history', $hist);
		my $r = result($rout);
		if (!defined $r)
		{
			fail("$am at $level: a result");
			next;
		}
		$res{$am}{$level} = $r;
		my $label = "$am at $level_name{$level}";
		note(sprintf('%s: %d segment(s), %d transactions (%d committed, aborted %s; %.1f committed/s), operations: %d reads, '
				  . '%d appends, %d bank reads, %d bank writes; %d keys (longest list %d); edges ww %d wr %d rw %d; '
				  . '%d components with cycles (largest %d)',
				$label, $r->{segments}, $r->{txns}, $r->{committed},
				join(' ', map { "$_ $r->{aborted}{$_}" } sort keys %{ $r->{aborted} }) || 'none', $r->{tps},
				@{ $r->{ops} }{qw(read append bank_read bank_write)}, $r->{keys}, $r->{max_list},
				map({ $r->{edges}{$_} // 0 } qw(ww wr rw)), $r->{cycle_components}, $r->{largest_component}));
		note("$label: anomalies: " . nonzero($r));
		for my $kind (sort keys %{ $r->{examples} })
		{
			note("$label: $kind e.g. $_") for @{ $r->{examples}{$kind} };
		}
		is_deeply($r->{session_failures}, [], "$label: every session ran to the end");
		cmp_ok($r->{committed}, '>=', 50, "$label: at least 50 transactions committed ($r->{committed})");
		is(join(' ', @{ $r->{forbidden} }), '', "$label: no anomaly the level forbids");
		# (the search for G-single gives up after 300 rw edges of one component; it must
		# decide every component where G-single is forbidden)
		is($r->{g_single_undecided}, 0, "$label: every component decided for G-single") if $level ne 'rc';
		if ($am eq 'heap')
		{
			$heap_shows{$level}{$_} = 1 for grep { $r->{anomalies}{$_} } keys %{ $r->{anomalies} };
		}
		else
		{
			is( $node->safe_psql('postgres',
					"SELECT (SELECT count(*) FROM glassheap.verify('h_${am}_${level}_lists')) + (SELECT count(*) FROM glassheap.verify('h_${am}_${level}_bank'))"),
				'0', "$label: verify is clean on both tables");
		}
	}
}

# glassheap shows nothing heap does not show at the same level
note('anomalies per kind (glassheap / heap):');
for my $level (@levels)
{
	my ($g, $h) = ($res{glassheap}{$level}, $res{heap}{$level});
	next unless $g && $h;
	note(sprintf('  %-16s %s', $level_name{$level},
			join(', ', map { "$_ $g->{anomalies}{$_}/$h->{anomalies}{$_}" } grep { $g->{anomalies}{$_} || $h->{anomalies}{$_} }
				  sort keys %{ $g->{anomalies} }) || 'none'));
	my @extra = grep { $g->{anomalies}{$_} && !$heap_shows{$level}{$_} } sort keys %{ $g->{anomalies} };
	is("@extra", '', "at $level_name{$level}, glassheap shows no kind of anomaly heap does not show ("
		  . (join(' ', sort keys %{ $heap_shows{$level} }) || 'none') . ')');
}

my $autovacuums = $node->safe_psql('postgres', q{
	SELECT coalesce(sum(autovacuum_count), 0) FROM pg_stat_user_tables c JOIN pg_class r ON r.oid = c.relid
	WHERE r.relam = (SELECT oid FROM pg_am WHERE amname = 'glassheap')});
note("autovacuum runs on the glassheap tables: $autovacuums");
# the log of a long run is large: read it line by line
my @crashes;
open(my $logfh, '<', $node->logfile) or die "open log: $!";
while (my $line = <$logfh>)
{
	push @crashes, $line if $line =~ /PANIC|TRAP:|terminated by signal|server process .* was terminated/ && @crashes < 5;
}
close($logfh);
is(join('', @crashes), '', 'no crash or assertion failure in the server log');
$node->stop;
done_testing();
