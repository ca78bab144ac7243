# A damaged page never takes the server down. Each round damages one page of a
# glassheap table at random (line pointers, tuple headers, the page header, the special
# space, the page LSN, or stray bytes; planted while the server is stopped; the LSN is
# never put between the last checkpoint's redo point and the WAL's end, where no access
# method survives it: TAP 031), then reads and writes the
# table every way: sequential, index, bitmap and TID scans, UPDATE, DELETE, INSERT, row
# locks, VACUUM and VACUUM (FREEZE), and the toolkit's page_items and verify. Statements
# may fail with an ERROR (that is the point: pagecheck.rs refuses a change the damage
# would break before any critical section); the assertion is that nothing PANICs, no
# backend crashes and no statement hangs. Each group of rounds ends with an immediate stop, so the next start
# replays what the statements logged (redo over damaged pages).
#
# GLASSHEAP_FUZZ_ROUNDS (default 100; 10,000 with GLASSHEAP_LONG=1, scripts/test --long)
# rounds, GLASSHEAP_FUZZ_SEED to repeat a run, GLASSHEAP_FUZZ_KINDS=lsn,bytes to try some kinds of damage only.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $rounds = $ENV{GLASSHEAP_FUZZ_ROUNDS} // ($ENV{GLASSHEAP_LONG} ? 10000 : 100);
my $seed = $ENV{GLASSHEAP_FUZZ_SEED} // (time() ^ $$);
srand($seed);
note("fuzz: $rounds rounds, seed $seed (GLASSHEAP_FUZZ_SEED=$seed repeats them)");

my $per_start = 5;    # tables damaged per server stop
# Without data checksums (PostgreSQL 18's initdb enables them): the damage must reach
# glassheap's own checks, not the checksum check in front of them.
my $node = glassheap_node('page_fuzz', no_checksums => 1, conf => "autovacuum = off\nrestart_after_crash = off\nstatement_timeout = '120s'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap');

# First the case that used to PANIC about one round in ten: a nearly full page with
# removable dead rows, one line pointer's length damaged. A plain count(*) prunes it on
# access, and PageRepairFragmentation, inside pruning's critical section, found the
# item lengths adding up to more than the page ("PANIC: corrupted item lengths"). Now
# pruning checks the page first: an ERROR naming the relation, block and damage, with
# SQLSTATE XX001 (data_corrupted), and the page stays as it was.
$node->safe_psql('postgres', q{
	CREATE TABLE issue (id int, s text) USING glassheap;
	INSERT INTO issue SELECT g, 'abcdefgh' FROM generate_series(1, 220) g;
	DELETE FROM issue WHERE id <= 20;
	CHECKPOINT;
});
my $ipath = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('issue')});
$node->stop;
{
	open(my $fh, '+<:raw', $ipath) or die "open $ipath: $!";
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "short read";
	my $at = 24 + 4 * 29;    # line pointer 30
	my $w = unpack('V', substr($page, $at, 4));
	substr($page, $at, 4) = pack('V', ($w & 0x1ffff) | (0x7fff << 17));
	sysseek($fh, 0, 0);
	syswrite($fh, $page, 8192) == 8192 or die "short write";
	close($fh);
}
$node->start;
my $before = $node->safe_psql('postgres', q{SELECT md5(glassheap.page('issue', 0))});
for my $sql ('SELECT count(*) FROM issue', 'VACUUM issue')
{
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($rc, 0, "$sql on the damaged page fails");
	like($err,
		qr/ERROR:  XX001: glassheap: block 0 of relation "issue" is damaged: line pointer 30: item at offset \d+ with length 32767 lies outside the tuple space/,
		"$sql: an ERROR (data_corrupted) naming the relation, the block and the damage");
	is($node->safe_psql('postgres', q{SELECT md5(glassheap.page('issue', 0))}), $before,
		"$sql: the page is left as it was");
}
unlike(slurp_file($node->logfile), qr/PANIC/, 'no PANIC');
$node->safe_psql('postgres', 'DROP TABLE issue');

# The case a fuzz run found hanging: an xmax this cluster never assigned (a damaged
# header). TransactionIdIsInProgress calls any xid past the latest completed one running,
# so locking, updating or deleting the row waited for it forever (XactLockTableWait's
# loop ends only when the xid stops running). Now: an ERROR (data_corrupted) naming the
# xid and the next one, under a statement_timeout that would turn a wait into a failure.
$node->safe_psql('postgres', q{
	CREATE TABLE unassigned (id int, v int) USING glassheap;
	INSERT INTO unassigned VALUES (1, 1);
	CHECKPOINT;
});
my $upath = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('unassigned')});
my $future = $node->safe_psql('postgres', q{SELECT txid_current()}) + 1000;
$node->stop;
{
	open(my $fh, '+<:raw', $upath) or die "open $upath: $!";
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "short read";
	my $off = unpack('V', substr($page, 24, 4)) & 0x7fff;    # line pointer 1's item
	substr($page, $off + 4, 4) = pack('V', $future);          # xmax
	my $info = unpack('V', substr($page, $off + 12, 4));
	# xmax_mode 0 (an update), no xmax hints (bits 25, 26), not a MultiXact (bit 27)
	$info &= ~((7 << 20) | (7 << 25));
	substr($page, $off + 12, 4) = pack('V', $info);
	sysseek($fh, 0, 0);
	syswrite($fh, $page, 8192) == 8192 or die "short write";
	close($fh);
}
$node->start;
for my $sql ('SELECT * FROM unassigned FOR UPDATE', 'SELECT * FROM unassigned FOR KEY SHARE',
	'UPDATE unassigned SET v = 2', 'DELETE FROM unassigned',
	q{SELECT * FROM glassheap.visibility('unassigned')})
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"SET statement_timeout = '30s';\n\\set VERBOSITY verbose\n$sql");
	like($err,
		qr/ERROR:  XX001: glassheap: a row's xmin or xmax $future is not a transaction id this cluster has assigned \(the next is \d+\): the row is damaged/,
		"$sql on a row whose xmax was never assigned: an ERROR (data_corrupted), not a wait");
}
$node->safe_psql('postgres', 'DROP TABLE unassigned');

my %errors;           # error message class => count
my %damage_kinds;     # damage kind => rounds
my %examples;         # messages classified as other
my $statements = 0;
my $done = 0;

# A table of a few pages with HOT chains, redirects, dead and unused line pointers.
sub make_table
{
	my ($name) = @_;
	$node->safe_psql('postgres', qq{
		DROP TABLE IF EXISTS $name;
		CREATE TABLE $name (id int, v int, s text) USING glassheap;
		INSERT INTO $name SELECT g, g, repeat(chr(97 + g % 26), g % 40) FROM generate_series(1, 1200) g;
		CREATE INDEX ${name}_id ON $name (id);
		UPDATE $name SET v = v + 1 WHERE id % 5 = 0;
		UPDATE $name SET v = v + 1 WHERE id % 10 = 0;
		UPDATE $name SET id = id + 10000 WHERE id % 17 = 0;
		DELETE FROM $name WHERE id % 13 = 0;
		VACUUM $name;
		UPDATE $name SET v = v + 1 WHERE id % 7 = 0;
		DELETE FROM $name WHERE id % 11 = 0;
	});
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', qq{SELECT pg_relation_filepath('$name')});
	my $blocks = $node->safe_psql('postgres', qq{SELECT pg_relation_size('$name') / 8192});
	return ($path, $blocks);
}

sub rnd { int(rand($_[0])) }

# The kinds of damage (GLASSHEAP_FUZZ_KINDS=a,b to try some only).
my @kinds = qw(lp_random lp_len lp_off lp_flags tuple_header page_header special bytes lsn);
@kinds = split(/,/, $ENV{GLASSHEAP_FUZZ_KINDS}) if $ENV{GLASSHEAP_FUZZ_KINDS};

# Damages one block of the file; returns (kind, block).
sub damage
{
	my ($file, $blocks) = @_;
	my $blk = rnd($blocks);
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	sysseek($fh, $blk * 8192, 0);
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "short read";
	my $lower = unpack('v', substr($page, 12, 2));
	my $nlp = $lower > 24 ? int(($lower - 24) / 4) : 1;
	my $kind = $kinds[rnd(scalar @kinds)];
	my $lp_at = 24 + 4 * rnd($nlp);
	my $w = unpack('V', substr($page, $lp_at, 4));
	if ($kind eq 'lp_random')
	{
		substr($page, $lp_at, 4) = pack('V', rnd(2**32));
	}
	elsif ($kind eq 'lp_len')
	{
		substr($page, $lp_at, 4) = pack('V', ($w & 0x1ffff) | (rnd(0x8000) << 17));
	}
	elsif ($kind eq 'lp_off')
	{
		substr($page, $lp_at, 4) = pack('V', ($w & ~0x7fff) | rnd(0x8000));
	}
	elsif ($kind eq 'lp_flags')
	{
		substr($page, $lp_at, 4) = pack('V', ($w & ~(3 << 15)) | (rnd(4) << 15));
	}
	elsif ($kind eq 'tuple_header')
	{
		my $off = $w & 0x7fff;
		# past the end, or a line pointer without storage (offset 0: the page header,
		# pd_lsn included): the last bytes before the special space instead
		$off = 8184 - 16 if $off + 16 > 8184 || $off < 24;
		substr($page, $off + rnd(16), 1) = chr(rnd(256)) for 1 .. 1 + rnd(4);
	}
	elsif ($kind eq 'page_header')
	{
		# pd_flags, pd_lower, pd_upper, pd_special or pd_prune_xid
		my $at = (10, 12, 14, 16, 20)[rnd(5)];
		substr($page, $at, 2) = pack('v', rnd(2) ? rnd(0x10000) : rnd(8192));
	}
	elsif ($kind eq 'lsn')
	{
		# pd_lsn moved out of the recovery window: far past the end of any WAL this run
		# writes (the page then takes no full-page image when changed, and redo skips
		# its records), or back to an older position. Not into the window between the
		# checkpoint's redo point and the WAL's end: there redo skips some of the page's
		# records and replays later ones on a page that misses them, and recovery stops
		# at a PANIC for heap as for glassheap (TAP 031 shows both).
		my ($hi, $lo) = unpack('VV', substr($page, 0, 8));
		if (rnd(2))
		{
			$hi += 1 + rnd(255);
		}
		else
		{
			my $older = int(rand($hi * 2**32 + $lo));
			($hi, $lo) = (int($older / 2**32), $older % 2**32);
		}
		substr($page, 0, 8) = pack('VV', $hi, $lo);
	}
	elsif ($kind eq 'special')
	{
		substr($page, 8184 + rnd(8), 1) = chr(rnd(256));
	}
	else
	{
		# anywhere but pd_lsn (the 'lsn' kind above says why)
		substr($page, 8 + rnd(8184), 1) = chr(rnd(256)) for 1 .. 1 + rnd(16);
	}
	sysseek($fh, $blk * 8192, 0);
	syswrite($fh, $page, 8192) == 8192 or die "short write";
	close($fh);
	return ($kind, $blk);
}

sub classify
{
	my ($msg) = @_;
	return 'damaged page (refused before the change)' if $msg =~ /is damaged:/;
	return 'corrupt tuple' if $msg =~ /is corrupt/;
	return 'invalid page header' if $msg =~ /invalid page in block/;
	return 'not a glassheap page' if $msg =~ /not a glassheap page/;
	return 'page format version' if $msg =~ /reads page format version/;
	return 'line pointer holds no tuple' if $msg =~ /does not hold a tuple/;
	return 'transaction status' if $msg =~ /could not access status of transaction|xid \d+ .*(future|wraparound)|not a transaction id this cluster has assigned|MultiXact/i;
	return 'hang (statement timeout)' if $msg =~ /statement timeout/;
	return 'other';
}

# Every way of reading and writing the table, on the damaged block where it matters.
sub exercise
{
	my ($t, $blk) = @_;
	my $tids = join(',', map { "'($blk,$_)'" } 1 .. 8);
	my @sql = (
		"SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT count(*), sum(length(s)) FROM $t; RESET ALL",
		"SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT sum(v) FROM $t WHERE id BETWEEN 1 AND 20000; RESET ALL",
		"SET enable_seqscan = off; SET enable_indexscan = off; SELECT sum(v) FROM $t WHERE id BETWEEN 1 AND 20000; RESET ALL",
		"SELECT id, v, s FROM $t WHERE ctid = ANY (ARRAY[$tids]::tid[])",
		"SELECT count(*) FROM $t WHERE ctid >= '($blk,0)' AND ctid < '(" . ($blk + 1) . ",0)'",
		"SELECT id FROM $t WHERE ctid = ANY (ARRAY[$tids]::tid[]) FOR UPDATE",
		"SELECT id FROM $t WHERE ctid = ANY (ARRAY[$tids]::tid[]) FOR KEY SHARE",
		"UPDATE $t SET v = v + 1 WHERE ctid = ANY (ARRAY[$tids]::tid[])",
		"UPDATE $t SET s = s || 'x' WHERE ctid = ANY (ARRAY[$tids]::tid[])",
		"UPDATE $t SET id = id + 1 WHERE ctid = ANY (ARRAY[$tids]::tid[])",
		"UPDATE $t SET v = v + 1 WHERE id % 3 = 0",
		"DELETE FROM $t WHERE ctid = '($blk,2)'",
		"DELETE FROM $t WHERE id % 19 = 0",
		"INSERT INTO $t SELECT g, g, 'new' FROM generate_series(1, 300) g",
		"SELECT count(*) FROM glassheap.page_items('$t', $blk)",
		"SELECT count(*) FROM glassheap.verify('$t')",
		"VACUUM $t",
		"VACUUM (FREEZE) $t",
		"INSERT INTO $t SELECT g, g, 'after vacuum' FROM generate_series(1, 300) g",
		"SELECT count(*) FROM $t",
	);
	for my $sql (@sql)
	{
		$statements++;
		my ($rc, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 1);
		next if $rc == 0;
		if ($err =~ /ERROR:  (.*)/)
		{
			my $class = classify($1);
			$errors{$class}++;
			$examples{$1} = 1 if $class eq 'other';
		}
		else
		{
			# not an ERROR: the connection went away (the log check below says why)
			$errors{'no ERROR (connection lost)'}++;
			return 0;
		}
	}
	return 1;
}

my $crashed = 0;
while ($done < $rounds && !$crashed)
{
	my $n = $rounds - $done < $per_start ? $rounds - $done : $per_start;
	my @tables;
	for my $i (1 .. $n)
	{
		my ($path, $blocks) = make_table("f$i");
		push @tables, [ "f$i", $path, $blocks ];
	}
	$node->safe_psql('postgres', 'CHECKPOINT');
	$node->stop('fast');
	for my $t (@tables)
	{
		my ($kind, $blk) = damage($t->[1], $t->[2]);
		$damage_kinds{$kind}++;
		push @$t, $blk, $kind;
	}
	# what this group damaged, said if the group ends in a crash
	my $group = join(', ', map { "$_->[0] block $_->[3] ($_->[4])" } @tables);
	if (!$node->start(fail_ok => 1))
	{
		$errors{'server did not start (after a clean stop)'}++;
		$crashed = "the start after damaging $group";
		last;
	}
	for my $t (@tables)
	{
		$done++;
		if (!exercise($t->[0], $t->[3]))
		{
			$crashed = "exercising $t->[0] (damaged: $group)";
			last;
		}
	}
	# redo over the damaged pages at the next start
	$node->stop('immediate');
	if (!$node->start(fail_ok => 1))
	{
		$errors{'server did not start (recovery failed)'}++;
		$crashed = "recovery after exercising $group";
	}
}

my $log = slurp_file($node->logfile);
my @panics = $log =~ /^.*PANIC:.*$/mg;
my @signals = $log =~ /^.*terminated by signal.*$/mg;
note("fuzz: $done rounds, $statements statements; damage: "
	  . join(', ', map { "$_ $damage_kinds{$_}" } sort keys %damage_kinds));
note("fuzz: errors by kind: "
	  . (join(', ', map { "$_: $errors{$_}" } sort keys %errors) || 'none'));
note("fuzz: other error: $_") for (sort keys %examples)[0 .. (keys %examples < 5 ? keys(%examples) - 1 : 4)];
note("fuzz: $_") for @panics[0 .. ($#panics < 4 ? $#panics : 4)];
note("fuzz: $_") for @signals[0 .. ($#signals < 4 ? $#signals : 4)];
if ($crashed || @panics || @signals)
{
	# what a failing run needs to be repeated and read, in the test's output
	diag("fuzz: failed with seed $seed (GLASSHEAP_FUZZ_SEED=$seed repeats it)");
	diag("fuzz: stopped at $crashed") if $crashed;
	diag("fuzz: $_") for @panics[0 .. ($#panics < 4 ? $#panics : 4)];
	if (@panics && $log =~ /((?:^.*\n){0,12}^.*PANIC:.*\n(?:^.*\n){0,3})/m)
	{
		diag("fuzz: log> $_") for split /\n/, $1;
	}
}
is($done, $rounds, "all $rounds rounds ran");
is(scalar(@panics), 0, 'no PANIC');
is(scalar(@signals), 0, 'no backend terminated by a signal');
ok(!$errors{'no ERROR (connection lost)'}, 'every failed statement failed with an ERROR');
ok(!$errors{'hang (statement timeout)'}, 'no statement ran into the two-minute statement_timeout');
ok(!$crashed, 'the server kept running and restarting');
$node->stop;
done_testing();
