# A damaged page LSN, heap and glassheap side by side: what write-ahead logging can and
# cannot survive.
#
# Redo trusts a page's LSN: a record is replayed only on a page older than it, and a
# change takes a full-page image only of a page not changed since the checkpoint's redo
# point. A page whose LSN was damaged to a value between that redo point and the end of
# the WAL written afterwards therefore takes no image when next changed, and at recovery
# the records up to the damaged LSN are skipped on it while the later ones are replayed
# on a page that misses them: recovery stops with a PANIC at the first record that no
# longer fits. Neither access method can tell such an LSN from a real one (a page
# written by the background writer after the checkpoint has one), so both stop; this is
# why TAP 014's fuzzing leaves the LSN inside that window alone. Data checksums (initdb's
# default from PostgreSQL 18) catch the damage when the page is read, before anything
# is written from it: the statement fails, recovery completes.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

# Writes `lsn` into pd_lsn of block 0 of the file at `path` (server stopped).
sub set_page_lsn
{
	my ($path, $lsn) = @_;
	open(my $fh, '+<:raw', $path) or die "open $path: $!";
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "short read";
	substr($page, 0, 8) = pack('VV', int($lsn / 2**32), $lsn % 2**32);
	sysseek($fh, 0, 0);
	syswrite($fh, $page, 8192) == 8192 or die "short write";
	close($fh);
}

# The redo point of the last checkpoint of a stopped node.
sub redo_point
{
	my ($node) = @_;
	my $out = `pg_controldata -D @{[$node->data_dir]}`;
	$out =~ m{Latest checkpoint's REDO location:\s+([0-9A-F]+)/([0-9A-F]+)} or die "no REDO location in:\n$out";
	return hex($1) * 2**32 + hex($2);
}

# Thirty inserts into block 0 (about 2 kB of WAL), then updates and deletes of them. The
# damaged LSN is put 800 bytes past the redo point, among the inserts' records: the
# server writes less than that between the shutdown checkpoint and the first of them.
my $workload = q{
	INSERT INTO t SELECT g, g FROM generate_series(1000, 1029) g;
	UPDATE t SET v = v + 1 WHERE id >= 1000;
	DELETE FROM t WHERE id >= 1015;
};
my $past_redo = 800;

# 1. An LSN inside the recovery window: both access methods' recovery stops at a PANIC.
for my $am ('heap', 'glassheap')
{
	my $node = glassheap_node("window_$am", no_checksums => 1,
		conf => "autovacuum = off\nrestart_after_crash = off\n");
	$node->start;
	$node->safe_psql('postgres', qq{
		CREATE EXTENSION glassheap;
		CREATE TABLE t (id int, v int) USING $am;
		INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;
	});
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('t')});
	$node->stop;
	# the workload's first records lie before it, the later ones after it
	set_page_lsn($path, redo_point($node) + $past_redo);
	$node->start;
	$node->safe_psql('postgres', $workload);
	$node->stop('immediate');
	ok(!$node->start(fail_ok => 1), "$am: recovery does not complete");
	my $log = slurp_file($node->logfile);
	my ($panic) = $log =~ /^.*PANIC:  (.*)$/m;
	ok(defined $panic, "$am: redo PANICs at the first record the page no longer fits")
	  and note("$am: PANIC:  $panic");
	like($log, qr/startup process \(PID \d+\) was terminated by signal 6/, "$am: in the startup process");
}

# 2. The same damage with data checksums: found when the page is read, nothing is
# written from it, and recovery completes.
my $node = glassheap_node('checksums', checksums => 1,
	conf => "autovacuum = off\nrestart_after_crash = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap');
my %path;
for my $am ('heap', 'glassheap')
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE t_$am (id int, v int) USING $am;
		INSERT INTO t_$am SELECT g, g FROM generate_series(1, 50) g;
	});
	$path{$am} = $node->data_dir . '/' . $node->safe_psql('postgres', qq{SELECT pg_relation_filepath('t_$am')});
}
$node->stop;
my $redo = redo_point($node);
set_page_lsn($path{$_}, $redo + $past_redo) for keys %path;
$node->start;
for my $am ('heap', 'glassheap')
{
	(my $sql = $workload) =~ s/\bt\b/t_$am/g;
	my ($rc, $out, $err) = $node->psql('postgres', $sql);
	isnt($rc, 0, "$am with checksums: the workload fails");
	like($err, qr/ERROR:  invalid page in block 0 of relation/, "$am with checksums: at the page's checksum");
}
$node->stop('immediate');
ok($node->start(fail_ok => 1), 'with checksums: recovery completes');
unlike(slurp_file($node->logfile), qr/PANIC/, 'with checksums: no PANIC');
$node->stop;
done_testing();
