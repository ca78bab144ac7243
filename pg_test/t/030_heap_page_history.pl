# glassheap.page_history on a native heap table: its blocks rebuilt from heap's own WAL
# records (crates/format/src/heapreplay.rs) must equal the real pages. A mixed workload
# (inserts, HOT updates logged with prefix/suffix compression, non-HOT updates that move
# rows to other pages, deletes, row locks including a MultiXact, a rolled-back insert,
# COPY's multi-inserts, INSERT ON CONFLICT, on-access pruning, VACUUM, VACUUM (FREEZE))
# runs in phases, starting right after a CHECKPOINT so each block's history starts from
# a full-page image. After every phase each block's bytes are saved (pageinspect's get_raw_page)
# with the WAL insert position; at the end each block is rebuilt up to each saved
# position and compared byte for byte, masked as wal_consistency_checking masks a heap
# page (heap_mask with bufmask.c's helpers, mirrored in heap_mask below), and once more
# against the pages written to disk by a final CHECKPOINT. Runs on every version
# scripts/test runs TAP on (15 and 18 in CI; 18 has data checksums on, so hint bits log
# full-page images that restart the rebuild).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('heap_history');
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap; CREATE EXTENSION pageinspect;
	CREATE TABLE h (id int PRIMARY KEY, k int, v text) WITH (autovacuum_enabled = false);
	CHECKPOINT;});
my $start = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');

my $long = "'abcdefghijklmnopqrstuvwxyz0123456789'";
my @phases = (
	[ 'inserts', qq{INSERT INTO h SELECT g, g % 10, repeat($long, 2) || g FROM generate_series(1, 150) g} ],
	# HOT updates: the new value shares a long prefix and suffix with the old
	[ 'HOT updates', qq{UPDATE h SET v = substr(v, 1, 30) || 'HOT' || substr(v, 31) WHERE id % 3 = 0} ],
	# non-HOT (the key changes; the page is full, so some move to other pages)
	[ 'key updates and deletes', q{UPDATE h SET id = id + 1000 WHERE id % 7 = 0;
		DELETE FROM h WHERE id % 5 = 0} ],
	[ 'row locks', q{BEGIN;
		SELECT count(*) FROM (SELECT * FROM h WHERE id < 10 FOR SHARE) s;
		SELECT count(*) FROM (SELECT * FROM h WHERE id BETWEEN 10 AND 14 FOR UPDATE) s;
		SELECT count(*) FROM (SELECT * FROM h WHERE id BETWEEN 15 AND 19 FOR KEY SHARE) s;
		COMMIT;
		BEGIN;
		SELECT count(*) FROM (SELECT * FROM h WHERE id = 22 FOR SHARE) s;
		SAVEPOINT a;
		UPDATE h SET v = 'a MultiXact updater' WHERE id = 22;
		COMMIT;} ],
	[ 'rolled back insert and COPY', "BEGIN; INSERT INTO h VALUES (5000, 0, 'rolled back'); ROLLBACK;\n"
		. "COPY h FROM STDIN;\n" . join('', map { "$_\t1\tcopied $_\n" } 3001 .. 3040) . "\\.\n" ],
	# speculative insertions (a token in t_ctid until HEAP_CONFIRM) and a conflict that
	# locks, then updates
	[ 'INSERT ON CONFLICT', q{INSERT INTO h VALUES (4001, 1, 'upsert'), (4002, 2, 'upsert'), (1, 1, 'conflict')
		ON CONFLICT (id) DO UPDATE SET v = excluded.v} ],
	[ 'VACUUM', 'VACUUM h' ],
	[ 'updates after VACUUM', q{UPDATE h SET v = v || 'after' WHERE id % 4 = 1;
		DELETE FROM h WHERE id % 11 = 0} ],
	[ 'VACUUM (FREEZE)', 'VACUUM (FREEZE) h' ],
	# repeated updates on full pages: heap_page_prune_opt prunes on access
	[ 'on-access pruning', join("\n", map { "UPDATE h SET v = v || '$_' WHERE id % 2 = 0; SELECT count(*) FROM h;" } 1 .. 4) ],
	[ 'more deletes and VACUUM', q{DELETE FROM h WHERE id % 13 = 0; VACUUM h} ],
);

# phase => [lsn, {block => raw page}]
my @snapshots;
for my $p (@phases)
{
	my ($name, $sql) = @$p;
	$node->safe_psql('postgres', $sql);
	my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	my %pages = map { split /\|/ } split /\n/, $node->safe_psql('postgres', q{
		SELECT b, encode(get_raw_page('h', b::int), 'hex')
		FROM generate_series(0, pg_relation_size('h') / 8192 - 1) b});
	push @snapshots, [ $name, $lsn, \%pages ];
}
$node->safe_psql('postgres', 'CHECKPOINT');
my $nblocks = $node->safe_psql('postgres', q{SELECT pg_relation_size('h') / 8192});
cmp_ok($nblocks, '>=', 3, "the workload spans $nblocks blocks");

# heap_mask (heapam.c) with mask_page_lsn_and_checksum, mask_page_hint_bits and
# mask_unused_space (bufmask.c): MASK_MARKER is 0, as here.
sub heap_mask
{
	my ($p, $blk) = @_;
	substr($p, 0, 10) = "\0" x 10;    # pd_lsn, pd_checksum
	my $flags = unpack('v', substr($p, 10, 2));
	# PD_HAS_FREE_LINES, PD_PAGE_FULL (hints); PD_ALL_VISIBLE (redo sets it only while
	# the page LSN allows)
	substr($p, 10, 2) = pack('v', $flags & ~0x0007 & 0xFFFF);
	substr($p, 20, 4) = "\0" x 4;     # pd_prune_xid
	my ($lower, $upper) = unpack('v v', substr($p, 12, 4));
	substr($p, $lower, $upper - $lower) = "\0" x ($upper - $lower) if $lower < $upper;
	for my $i (1 .. ($lower - 24) / 4)
	{
		my $w = unpack('V', substr($p, 24 + 4 * ($i - 1), 4));
		my ($off, $fl, $len) = ($w & 0x7FFF, ($w >> 15) & 3, $w >> 17);
		next if $off + $len > 8192;
		if ($fl == 1 && $len >= 23)
		{
			my $im = unpack('v', substr($p, $off + 20, 2));
			# HEAP_XACT_MASK unless xmin is frozen, then the xmax hint bits
			$im &= (($im & 0x0300) == 0x0300) ? ~0x0C00 : ~0xFFF0;
			substr($p, $off + 20, 2) = pack('v', $im & 0xFFFF);
			substr($p, $off + 8, 4) = "\0" x 4;    # t_cid: redo writes FirstCommandId
			# a speculative insertion's token (SpecTokenOffsetNumber)
			substr($p, $off + 12, 6) = pack('vvv', $blk >> 16, $blk & 0xFFFF, $i)
			  if unpack('v', substr($p, $off + 16, 2)) == 0xFFFE;
		}
		if ($len > 0)
		{
			my $pad = (($len + 7) & ~7) - $len;
			substr($p, $off + $len, $pad) = "\0" x $pad if $off + $len + $pad <= 8192;
		}
	}
	return $p;
}

sub first_difference
{
	my ($a, $b) = @_;
	for my $i (0 .. length($a) - 1)
	{
		return $i if substr($a, $i, 1) ne substr($b, $i, 1);
	}
	return -1;
}

# the last rebuilt page of block $b among the records ending by $lsn, and its note
sub rebuilt
{
	my ($b, $lsn) = @_;
	my $r = $node->safe_psql('postgres', qq{
		SELECT coalesce(encode(page, 'hex'), ''), coalesce(note, '')
		FROM glassheap.page_history('h', $b, '$start', '$lsn') ORDER BY lsn DESC LIMIT 1});
	return split /\|/, $r, 2;
}

# every record that touched a block is replayed: no step without a page
my %kinds;
for my $b (0 .. $nblocks - 1)
{
	my $r = $node->safe_psql('postgres', qq{
		SELECT count(*), count(*) FILTER (WHERE page IS NULL),
		       string_agg(DISTINCT note, '; ') FILTER (WHERE page IS NULL)
		FROM glassheap.page_history('h', $b, '$start')});
	my ($n, $missing, $why) = split /\|/, $r;
	is($missing, 0, "block $b: each of its $n records rebuilt a page") or diag($why);
	$kinds{$_} = 1 for split /\n/, $node->safe_psql('postgres', qq{
		SELECT DISTINCT resource_manager || '/' || record_type
		FROM glassheap.page_history('h', $b, '$start')});
}
note('record kinds replayed: ' . join(', ', sort keys %kinds));
my $v18 = $node->pg_version >= 17;
for my $kind ('Heap/INSERT', 'Heap/HOT_UPDATE', 'Heap/UPDATE', 'Heap/DELETE', 'Heap/LOCK',
	'Heap/HEAP_CONFIRM',
	'Heap2/MULTI_INSERT', 'Heap2/VISIBLE',
	$v18 ? ('Heap2/PRUNE_ON_ACCESS', 'Heap2/PRUNE_VACUUM_SCAN', 'Heap2/PRUNE_VACUUM_CLEANUP')
	     : ('Heap2/PRUNE', 'Heap2/VACUUM', 'Heap2/FREEZE_PAGE'))
{
	ok((grep { index($_, $kind) == 0 } keys %kinds), "the workload logged $kind");
}

# the HOT updates were logged with prefix and suffix compression (heap_xlog_update then
# takes those bytes from the old version on the page)
my $compressed = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM glassheap.wal_records('$start', NULL, 'h')
	WHERE record_type = 'HOT_UPDATE' AND decoded->'block0' ? 'prefixlen'
	  AND decoded->'block0' ? 'suffixlen'});
cmp_ok($compressed, '>', 0, "$compressed HOT updates logged with prefix and suffix compression");

# each phase's pages, rebuilt
my ($compared, $same) = (0, 0);
for my $s (@snapshots)
{
	my ($name, $lsn, $pages) = @$s;
	for my $b (sort { $a <=> $b } keys %$pages)
	{
		my ($hex, $note) = rebuilt($b, $lsn);
		next if $hex eq '' && $note eq '';    # no record touched the block yet
		$compared++;
		my $want = heap_mask(pack('H*', $pages->{$b}), $b);
		my $got = heap_mask(pack('H*', $hex), $b);
		if ($want eq $got)
		{
			$same++;
		}
		else
		{
			fail("after $name, block $b rebuilt equals the page");
			diag("note: $note; first difference at byte " . first_difference($want, $got));
		}
	}
}
cmp_ok($compared, '>=', 2 * scalar(@phases), "$compared pages compared after the phases");
is($same, $compared, 'every rebuilt page equals the page it was, masked as heap_mask masks');

# and the end: the pages on disk after the CHECKPOINT
my $end = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('h')});
$node->stop;
open my $fh, '<:raw', $path or die "$path: $!";
my $file = do { local $/; <$fh> };
close $fh;
$node->start;
for my $b (0 .. $nblocks - 1)
{
	my ($hex, $note) = rebuilt($b, $end);
	my $disk = heap_mask(substr($file, 8192 * $b, 8192), $b);
	my $got = heap_mask(pack('H*', $hex), $b);
	ok($disk eq $got, "block $b on disk equals its rebuilt page")
	  or diag("note: $note; first difference at byte " . first_difference($disk, $got));
}

$node->stop;
done_testing();
