# VACUUM's options on glassheap behave as on a heap twin (same rows, same statements,
# same VACUUM, compared report against report): PARALLEL (indexes vacuumed by parallel
# workers through PostgreSQL's vacuumparallel.c, "launched N parallel vacuum workers for
# index vacuuming (planned: N)" as for heap; none with PARALLEL 0, one index or
# INDEX_CLEANUP off; heap's WARNING for a temporary table), INDEX_CLEANUP (on, off, and
# auto's bypass of index vacuuming when few items are dead), TRUNCATE, PROCESS_TOAST,
# SKIP_LOCKED, FREEZE and DISABLE_PAGE_SKIPPING.
#
# From the VERBOSE reports the test compares what both formats count the same way: the
# parallel workers launched, index scans, tuples removed / remaining / dead but not yet
# removable, each index's pages (in total, newly deleted, currently deleted, reusable),
# dead item identifiers left by a bypass, the TOAST tables vacuumed and the WARNINGs.
# Page counts cannot be equal: glassheap's 16-byte tuple header fits more rows on a
# page than heap's 24 bytes (a table here has fewer glassheap pages than heap pages),
# so for pages the test compares what they mean (pages removed by truncation or not,
# every page scanned or none) and the visibility map's all-frozen state.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('vacopts', conf => "autovacuum = off\nmax_worker_processes = 8\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap; CREATE EXTENSION pg_visibility');

# Session settings for every VACUUM: two workers at most, and indexes of any size may
# take part (vacuumparallel.c leaves out those under min_parallel_index_scan_size).
my $settings = "SET max_parallel_maintenance_workers = 2; SET min_parallel_index_scan_size = 0;\n";

# Twins h_<name> (heap) and g_<name> (glassheap) with the same rows and indexes.
sub twins
{
	my ($name, %o) = @_;
	my $rows = $o{rows} // 30000;
	my $nidx = $o{indexes} // 3;
	my $temp = $o{temp} ? 'TEMP' : '';
	my $sql = '';
	for my $am ('heap', 'glassheap')
	{
		my $t = substr($am, 0, 1) . "_$name";
		$sql .= qq{
			CREATE $temp TABLE $t (id int PRIMARY KEY, a int, b int, c text) USING $am WITH (autovacuum_enabled = off);
			INSERT INTO $t SELECT i, i % 1000, i % 77, md5(i::text) FROM generate_series(1, $rows) i;
		};
		$sql .= "CREATE INDEX ${t}_a ON $t (a);\n" if $nidx >= 2;
		$sql .= "CREATE INDEX ${t}_c ON $t (c);\n" if $nidx >= 3;
		$sql .= "$o{dirty};\n" =~ s/\@\@/$t/gr if $o{dirty};
	}
	return $sql;
}

# The facts both formats report the same way, from one VACUUM's messages on table $t.
sub facts
{
	my ($err, $t) = @_;
	my %f;
	$err =~ s/\b[hg]_/\@\@_/g;
	(my $u = $t) =~ s/^[hg]_/\@\@_/;
	my @msgs = split /^psql:<stdin>:\d+: /m, $err;
	$f{launched} = join('; ', $err =~ /(launched \d+ parallel vacuum workers? for index \w+ \(planned: \d+\))/g);
	$f{warnings} = join('; ', map { /WARNING:  ([^\n]*)/ ? $1 : () } @msgs);
	$f{toast_vacuumed} = scalar(grep { /INFO:  vacuuming "[^"]*\.pg_toast\./ } @msgs);
	my ($m) = grep { /finished vacuuming "[^"]*\.$u": / } @msgs;
	return \%f unless defined $m;
	($f{index_scans}) = $m =~ /index scans: (\d+)/;
	my ($removed, $remain, $scanned) = $m =~ /pages: (\d+) removed, (\d+) remain, (\d+) scanned/;
	$f{pages_truncated} = $removed > 0 ? 'yes' : 'no';
	$f{pages_scanned} = $scanned == 0 ? 'none' : $scanned == $remain ? 'all' : 'some';
	@f{qw(tuples_removed tuples_remain tuples_dead)} =
	  $m =~ /tuples: (\d+) removed, (\d+) remain, (\d+) are dead but not yet removable/;
	($f{bypassed_items}) = $m =~ /index scan bypassed: \d+ pages from table \([\d.]+% of total\) have (\d+) dead item identifiers/;
	$f{bypassed_items} //= 'none';
	$f{indexes} = join('; ', $m =~ /(index "[^"]+": pages: \d+ in total, \d+ newly deleted, \d+ currently deleted, \d+ reusable)/g);
	return \%f;
}

# glassheap's facts from the last compare_vacuum
my $last_g;

# Runs "VACUUM ($opts) <table>" (VERBOSE added) on both twins after $pre (in the same
# session: temporary tables), compares the facts, and returns them (heap's).
sub compare_vacuum
{
	my ($what, $name, $opts, %o) = @_;
	my %facts;
	for my $p ('h', 'g')
	{
		my $t = "${p}_$name";
		my $pre = ($o{pre} // '') =~ s/\@\@/$t/gr;
		my ($rc, $out, $err) = $node->psql('postgres', "$settings$pre\nVACUUM ($opts, VERBOSE) $t;");
		$facts{$p} = facts($err, $t);
		if ($o{show}) { note("$p: $err"); }
	}
	for my $k (sort keys %{ $facts{h} })
	{
		next if grep { $_ eq $k } @{ $o{not_compared} // [] };
		is($facts{g}{$k}, $facts{h}{$k}, "$what: $k as heap's" . ($k eq 'launched' || $k eq 'warnings' ? " ($facts{h}{$k})" : ''));
	}
	$last_g = $facts{g};
	return $facts{h};
}

# The rows and index lookups of both twins agree.
sub same_rows
{
	my ($what, $name) = @_;
	my $q = "SELECT count(*), sum(a), md5(string_agg(c, ',' ORDER BY id)) FROM \@\@";
	is($node->safe_psql('postgres', $q =~ s/\@\@/g_$name/r), $node->safe_psql('postgres', $q =~ s/\@\@/h_$name/r),
		"$what: same rows");
	my $iq = "SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM \@\@ WHERE a BETWEEN 100 AND 300";
	is($node->safe_psql('postgres', $iq =~ s/\@\@/g_$name/r), $node->safe_psql('postgres', $iq =~ s/\@\@/h_$name/r),
		"$what: same index scan");
}

# LP_DEAD items left in the table (the toolkit reads both formats).
sub dead_items
{
	my ($t) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT count(*) FROM generate_series(0, pg_relation_size('$t') / 8192 - 1) b,
		  glassheap.page_items('$t', b) WHERE lp_flags = 'dead'});
}

# PARALLEL 2: both launch the same workers for index vacuuming
$node->safe_psql('postgres', twins('par', dirty => 'DELETE FROM @@ WHERE id % 3 = 0'));
my $f = compare_vacuum('PARALLEL 2', 'par', 'PARALLEL 2');
like($f->{launched}, qr/^launched 2 parallel vacuum workers for index vacuuming \(planned: 2\)/,
	'PARALLEL 2: heap launched 2 workers');
same_rows('PARALLEL 2', 'par');
is(dead_items('g_par'), '0', 'PARALLEL 2: no dead items left in glassheap');

# plain VACUUM chooses parallel workers itself (as many as indexes beyond the leader's)
$node->safe_psql('postgres', 'DELETE FROM h_par WHERE id % 5 = 1; DELETE FROM g_par WHERE id % 5 = 1');
$f = compare_vacuum('plain VACUUM', 'par', 'INDEX_CLEANUP on');
like($f->{launched}, qr/^launched 2 parallel vacuum workers/, 'plain VACUUM: heap launched workers');
same_rows('plain VACUUM', 'par');

# PARALLEL 0: none
$node->safe_psql('postgres', 'DELETE FROM h_par WHERE id % 7 = 2; DELETE FROM g_par WHERE id % 7 = 2');
$f = compare_vacuum('PARALLEL 0', 'par', 'PARALLEL 0');
is($f->{launched}, '', 'PARALLEL 0: no workers');
same_rows('PARALLEL 0', 'par');

# a dead-items store smaller than the dead items: several rounds of parallel index
# vacuuming (heap's minimum maintenance_work_mem holds 174762 TIDs: 1 MB)
$node->safe_psql('postgres', twins('big', rows => 400000, dirty => 'DELETE FROM @@ WHERE id % 2 = 0'));
# (the number of rounds, and so of "launched" lines, is not compared: glassheap keeps 8
# bytes a dead item, heap 6 on 15/16 and a TidStore measured in bytes on 17+, so the same
# memory holds different numbers of items; what the rounds remove together is the same)
$f = compare_vacuum('PARALLEL 2 in several rounds', 'big', 'PARALLEL 2',
	pre => 'SET maintenance_work_mem = 1024;', not_compared => ['index_scans', 'launched']);
cmp_ok($last_g->{index_scans}, '>', 1, "glassheap: several rounds of index vacuuming ($last_g->{index_scans})");
my @rounds = split /; /, $last_g->{launched};
is(scalar(grep { /^launched 2 parallel vacuum workers for index vacuuming \(planned: 2\)$/ } @rounds),
	$last_g->{index_scans}, 'glassheap: 2 workers launched for each round');
same_rows('PARALLEL 2 in several rounds', 'big');

# one index only: vacuumed by the leader, no warning
$node->safe_psql('postgres', twins('one', indexes => 1, dirty => 'DELETE FROM @@ WHERE id % 3 = 0'));
$f = compare_vacuum('PARALLEL 2, one index', 'one', 'PARALLEL 2');
is($f->{launched} . $f->{warnings}, '', 'one index: no workers, no warning');

# INDEX_CLEANUP off: no workers, no index scan, the dead items stay
$node->safe_psql('postgres', twins('off', dirty => 'DELETE FROM @@ WHERE id % 3 = 0'));
$f = compare_vacuum('PARALLEL 2, INDEX_CLEANUP off', 'off', 'PARALLEL 2, INDEX_CLEANUP off');
is($f->{launched}, '', 'INDEX_CLEANUP off: no workers');
is(dead_items('g_off'), dead_items('h_off'), 'INDEX_CLEANUP off: as many dead items left as heap');
same_rows('INDEX_CLEANUP off', 'off');

# temporary table: heap's WARNING (same session for creating and vacuuming)
my %tempw;
for my $p ('h', 'g')
{
	my $am = $p eq 'h' ? 'heap' : 'glassheap';
	my ($rc, $out, $err) = $node->psql('postgres', qq{$settings
		CREATE TEMP TABLE ${p}_tmp (id int PRIMARY KEY, a int) USING $am;
		CREATE INDEX ON ${p}_tmp (a);
		INSERT INTO ${p}_tmp SELECT i, i FROM generate_series(1, 1000) i;
		DELETE FROM ${p}_tmp WHERE id % 2 = 0;
		VACUUM (PARALLEL 2) ${p}_tmp;});
	($tempw{$p} = $err) =~ s/\b${p}_tmp/\@\@_tmp/g;
}
like($tempw{h}, qr/WARNING:  disabling parallel option of vacuum on "\@\@_tmp" --- cannot vacuum temporary tables in parallel/,
	'temporary table: heap warns');
is($tempw{g}, $tempw{h}, 'temporary table: the same WARNING');

# INDEX_CLEANUP auto: few dead items (under 2% of the pages): index vacuuming bypassed
$node->safe_psql('postgres', twins('auto', indexes => 2, dirty => 'DELETE FROM @@ WHERE id IN (10, 20, 30)'));
$f = compare_vacuum('INDEX_CLEANUP auto, few dead', 'auto', 'INDEX_CLEANUP auto');
is($f->{index_scans} . '/' . $f->{bypassed_items}, '0/3', 'INDEX_CLEANUP auto: heap bypassed index vacuuming');
is(dead_items('g_auto'), dead_items('h_auto'), 'bypass: the same dead items left');
$f = compare_vacuum('INDEX_CLEANUP on after a bypass', 'auto', 'INDEX_CLEANUP on');
is($f->{index_scans}, '1', 'INDEX_CLEANUP on: an index scan');
is(dead_items('g_auto'), '0', 'INDEX_CLEANUP on: no dead items left');
same_rows('INDEX_CLEANUP', 'auto');

# TRUNCATE: the empty end of the table is cut off, or not
$node->safe_psql('postgres', twins('trunc', indexes => 1, dirty => 'DELETE FROM @@ WHERE id > 10000'));
$f = compare_vacuum('TRUNCATE off', 'trunc', 'TRUNCATE off');
is($f->{pages_truncated}, 'no', 'TRUNCATE off: no pages removed');
$f = compare_vacuum('TRUNCATE on', 'trunc', 'TRUNCATE on');
is($f->{pages_truncated}, 'yes', 'TRUNCATE on: pages removed');
same_rows('TRUNCATE', 'trunc');

# PROCESS_TOAST: the TOAST table (heap in both cases) is vacuumed with the table, or not
$node->safe_psql('postgres', twins('toast', indexes => 1, rows => 100) . q{
	UPDATE h_toast SET c = (SELECT string_agg(md5(id::text || j::text), '') FROM generate_series(1, 200) j) WHERE id <= 20;
	UPDATE g_toast SET c = (SELECT string_agg(md5(id::text || j::text), '') FROM generate_series(1, 200) j) WHERE id <= 20;
	DELETE FROM h_toast WHERE id <= 10; DELETE FROM g_toast WHERE id <= 10;});
$f = compare_vacuum('PROCESS_TOAST false', 'toast', 'PROCESS_TOAST false');
is($f->{toast_vacuumed}, 0, 'PROCESS_TOAST false: TOAST table not vacuumed');
$f = compare_vacuum('PROCESS_TOAST true', 'toast', 'PROCESS_TOAST true');
is($f->{toast_vacuumed}, 1, 'PROCESS_TOAST true: TOAST table vacuumed');

# SKIP_LOCKED: a table locked by another session is skipped with heap's WARNING
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE h_one, g_one IN ACCESS EXCLUSIVE MODE;');
$f = compare_vacuum('SKIP_LOCKED', 'one', 'SKIP_LOCKED');
like($f->{warnings}, qr/skipping vacuum of "\@\@_one" --- lock not available/, 'SKIP_LOCKED: heap skips with a WARNING');
$locker->query_safe('COMMIT;');
$locker->quit;

# FREEZE: every page all-frozen, relfrozenxid advanced to the same xid for both
$node->safe_psql('postgres', twins('frz', indexes => 2));
$f = compare_vacuum('FREEZE', 'frz', 'FREEZE');
my $frozen_q = q{SELECT all_frozen = pg_relation_size('@@') / 8192 FROM pg_visibility_map_summary('@@')};
is($node->safe_psql('postgres', $frozen_q =~ s/\@\@/g_frz/gr), 't', 'FREEZE: every glassheap page all-frozen');
is($node->safe_psql('postgres', $frozen_q =~ s/\@\@/h_frz/gr), 't', 'FREEZE: every heap page all-frozen');
is($node->safe_psql('postgres', q{SELECT relfrozenxid FROM pg_class WHERE relname = 'g_frz'}),
	$node->safe_psql('postgres', q{SELECT relfrozenxid FROM pg_class WHERE relname = 'h_frz'}),
	'FREEZE: the same relfrozenxid');

# DISABLE_PAGE_SKIPPING: all-frozen pages are skipped, or every page is read
$f = compare_vacuum('all-frozen pages skipped', 'frz', 'INDEX_CLEANUP on');
is($f->{pages_scanned}, 'some', 'all-frozen pages skipped, the last page scanned');
$f = compare_vacuum('DISABLE_PAGE_SKIPPING', 'frz', 'DISABLE_PAGE_SKIPPING');
is($f->{pages_scanned}, 'all', 'DISABLE_PAGE_SKIPPING: every page scanned');
same_rows('FREEZE', 'frz');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_class c, LATERAL glassheap.verify(c.oid::regclass)
	WHERE c.relam = (SELECT oid FROM pg_am WHERE amname = 'glassheap') AND c.relpersistence = 'p'}),
	'0', 'verify is clean on every glassheap table');

$node->stop;
done_testing();
