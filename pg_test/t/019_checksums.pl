# With data checksums (initdb --data-checksums) glassheap behaves like heap: a mixed
# workload, VACUUM and crash recovery keep every row; hint bits set on a page for the
# first time after a checkpoint are WAL-logged as a full-page image (FPI_FOR_HINT) as
# for a heap twin; a byte flipped in block 0 of the data file is reported on read as
# the same checksum failure as for the heap twin, and with ignore_checksum_failure = on
# both read on (warning), returning the same damaged value.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('cksum', checksums => 1);
$node->start;
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'on', 'the cluster has data checksums');
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap; CREATE EXTENSION pg_walinspect');

my %digest_q;
for my $t ('g', 'h')
{
	my $am = $t eq 'g' ? 'glassheap' : 'heap';
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int PRIMARY KEY, k int, pad text) USING $am;
		CREATE INDEX ON $t (k);
		INSERT INTO $t SELECT i, i % 50, 'p' || i FROM generate_series(1, 4000) i;
		UPDATE $t SET k = k + 1, pad = pad || 'u' WHERE id % 3 = 0;
		DELETE FROM $t WHERE id % 7 = 0;
		VACUUM $t;
		UPDATE $t SET pad = repeat('v', 300) WHERE id % 40 = 0;
		DELETE FROM $t WHERE id > 3900;
	});
	$digest_q{$t} = qq{SELECT count(*), sum(k), md5(string_agg(id || ':' || k || ':' || pad, ',' ORDER BY id)) FROM $t};
}
my $before = $node->safe_psql('postgres', $digest_q{g});
is($before, $node->safe_psql('postgres', $digest_q{h}), 'glassheap and heap twin agree');
my ($rows) = split /\|/, $before;

# Crash and recovery with checksums: every page written by redo carries a valid checksum.
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $digest_q{g}), $before, 'glassheap table unchanged by crash recovery');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM g WHERE k = 7}),
	$node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM h WHERE k = 7}),
	'index scans agree after recovery');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('g')}), '0', 'verify is clean after recovery');
$node->safe_psql('postgres', 'VACUUM g; VACUUM h; CHECKPOINT');
$node->stop;
$node->start;
is($node->safe_psql('postgres', $digest_q{g}), $before, 'every page read back after a clean restart passes its checksum');

# Hint bits after a checkpoint: the first hint on a clean page logs a full-page image.
my %fpi;
for my $t ('g2', 'h2')
{
	my $am = $t eq 'g2' ? 'glassheap' : 'heap';
	$node->safe_psql('postgres', qq{CREATE TABLE $t (id int, pad text) USING $am;
		INSERT INTO $t SELECT i, 'x' || i FROM generate_series(1, 100) i;});
	$node->safe_psql('postgres', 'CHECKPOINT');
	my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	$node->safe_psql('postgres', "SELECT count(*) FROM $t");    # sets xmin-committed hints
	$node->safe_psql('postgres', 'CREATE TABLE flush_' . $t . ' ()');    # a commit flushes the WAL
	my $node_rel = $node->safe_psql('postgres', "SELECT pg_relation_filenode('$t')");
	$fpi{$t} = $node->safe_psql('postgres', qq{
		SELECT count(*), sum(fpi_length) > 0 FROM pg_get_wal_records_info('$lsn', pg_current_wal_flush_lsn())
		WHERE record_type = 'FPI_FOR_HINT' AND block_ref ~ '/$node_rel\\M.*blk 0\\M'});
	note("$t: FPI_FOR_HINT records after the SELECT: $fpi{$t}");
}
is($fpi{g2}, '1|t', 'glassheap: the hint bits set by the first read after CHECKPOINT wrote one FPI_FOR_HINT with an image');
is($fpi{g2}, $fpi{h2}, 'as for the heap twin');

# A byte flipped in a tuple of block 0 (server stopped): the last byte of item 1, the
# final character of row 1's pad ('p1' becomes 'pZ'), in both tables.
my %path;
for my $t ('g', 'h')
{
	$path{$t} = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$t')");
}
my $id1 = $node->safe_psql('postgres', q{SELECT pad FROM g WHERE id = 1});
$node->stop;
for my $t ('g', 'h')
{
	open my $fh, '+<:raw', $path{$t} or die "open $path{$t}: $!";
	my $page;
	sysread($fh, $page, 8192) == 8192 or die 'short read';
	my $lp = unpack('V', substr($page, 24, 4));
	my ($off, $len) = ($lp & 0x7fff, ($lp >> 17) & 0x7fff);
	my $pos = $off + $len - 1;
	note(sprintf('%s: item 1 at %d, length %d; byte %d %s -> Z', $t, $off, $len, $pos, substr($page, $pos, 1)));
	sysseek($fh, $pos, 0);
	syswrite($fh, 'Z', 1) == 1 or die 'write';
	close $fh;
}
$node->start;
my %read;
for my $t ('g', 'h')
{
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT pad FROM $t WHERE id = 1 AND pad IS NOT NULL");
	my $rel = $path{$t} =~ s{.*/(base/)}{$1}r;
	isnt($ret, 0, "$t: reading the damaged page fails");
	# PostgreSQL 18 logs the checksum line on the server only; the client gets the ERROR
	like($node->pg_version >= 18 ? slurp_file($node->logfile) : $err,
		qr/(WARNING|LOG):  page verification failed, calculated checksum \d+ but expected \d+/,
		"$t: page verification failed message");
	like($err, qr/ERROR:  invalid page in block 0 of relation "?\Q$rel\E/, "$t: invalid page in block 0 of relation $rel");
	$read{$t} = $err =~ s/\d+/N/gr =~ s/"[gh]"/REL/gr =~ s{base/N/N}{PATH}gr;
	note("$t: $err");

	($ret, $out, $err) = $node->psql('postgres',
		"SET ignore_checksum_failure = on; SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT pad FROM $t WHERE id = 1");
	is($ret, 0, "$t: with ignore_checksum_failure the read proceeds");
	like($err, qr/WARNING:  (page verification failed|ignoring checksum failure in block 0)/, "$t: with a warning");
	is($out, 'pZ', "$t: and returns the damaged value (was $id1)");
	note("$t with ignore_checksum_failure: [$out] $err");
}
is($read{g}, $read{h}, 'glassheap reports the checksum failure exactly as heap does');
is($node->safe_psql('postgres', q{SET ignore_checksum_failure = on; SELECT count(*) FROM g}), $rows,
	'glassheap: a full scan with ignore_checksum_failure reads every row');
is($node->safe_psql('postgres', q{SET ignore_checksum_failure = on; SELECT count(*) FROM glassheap.verify('g')}), '0',
	'verify finds no structural damage (only a text byte changed)');
note("rows compared: $rows per table; FPI_FOR_HINT: glassheap $fpi{g2}, heap $fpi{h2}");

$node->stop;
done_testing();
