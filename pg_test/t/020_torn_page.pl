# Torn pages: a glassheap page half written when the server crashed (its second half,
# bytes 4096..8191, still the contents of the last checkpoint) is restored by recovery
# from the full-page image its first change after the checkpoint logged
# (full_page_writes = on, the default): the table equals its digest and verify() is
# clean. With full_page_writes = off the same tear survives recovery (docs/FORMAT.md,
# "Torn pages"): old versions come back beside their new ones (verify cannot tell), or,
# when the page was pruned before the crash, rows read wrong bytes and verify reports it;
# with data checksums the tear is found by redo and recovery stops.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $digest_q = q{SELECT count(*), sum(v), md5(string_agg(id || ':' || v || ':' || pad, ',' ORDER BY id)) FROM t};

# Writes rows, checkpoints, updates rows whose tuples lie in the second half of block 0,
# crashes, tears block 0 (new first half, checkpoint-time second half), restarts.
# Returns the node (started if recovery succeeded), the digest before the crash, and
# whether the update logged a full-page image of block 0.
sub torn_run
{
	my ($name, $fpw, $hold) = @_;
	# without checksums (PostgreSQL 18 enables them by default): a checksum would find
	# the tear when redo reads the page (docs/FORMAT.md, "Torn pages")
	my $node = glassheap_node($name, conf => "full_page_writes = $fpw\n", no_checksums => 1);
	$node->start;
	$node->safe_psql('postgres', q{
		CREATE EXTENSION glassheap; CREATE EXTENSION pageinspect;
		CREATE TABLE t (id int PRIMARY KEY, v int, pad text) USING glassheap;
		INSERT INTO t SELECT i, 0, 'row ' || i FROM generate_series(1, 2000) i;
		SELECT count(*) FROM t;  -- hint bits set before the checkpoint
		CHECKPOINT;
	});
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('t')});
	my $old = slurp_file($path);    # the file as the checkpoint left it
	my $lsn = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
	# a snapshot older than the update keeps its old versions from being pruned (and the
	# page rearranged) by the reads below before the crash
	my $holder;
	if ($hold)
	{
		$holder = $node->background_psql('postgres');
		$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;');
	}
	# rows 1..10 are the first tuples placed on block 0: at its end, in the second half
	$node->safe_psql('postgres', q{UPDATE t SET v = v + 1, pad = pad || ' updated' WHERE id <= 10});
	my $digest = $node->safe_psql('postgres', $digest_q);
	my $images = $node->safe_psql('postgres', qq{
		SELECT count(*) FROM glassheap.wal_records('$lsn', NULL, 't'), jsonb_array_elements(blocks) b
		WHERE (b->>'blkno')::int = 0 AND (b->>'has_image')::bool});
	my $new = $node->safe_psql('postgres', q{SELECT encode(get_raw_page('t', 0), 'hex')});
	$new = pack('H*', $new);
	my $items = join ' ', map { unpack('V', substr($new, 24 + 4 * ($_ - 1), 4)) & 0x7fff } 1 .. 10;
	my $pruned = (unpack('V', substr($new, 24, 4)) & 0x7fff) == 0;
	cmp_ok((unpack('V', substr($new, 24 + 4 * 9, 4)) & 0x7fff), '>=', 4096, "$name: items 1..10 lie in the second half")
	  if $hold;
	note("$name: block 0 items 1..10 at $items; images of block 0 logged: $images");
	$node->stop('immediate');
	$holder->{run}->finish if $holder && $holder->{run};

	# the torn write: the page's first half reached the disk, its second half did not
	my $torn = substr($new, 0, 4096) . substr($old, 4096, 4096);
	isnt($torn, $new, "$name: the torn page differs from the page the update wrote");
	open my $fh, '+<:raw', $path or die "open $path: $!";
	syswrite($fh, $torn, 8192) == 8192 or die 'write';
	close $fh;
	my $started = $node->start(fail_ok => 1);
	return ($node, $started, $digest, $images, $pruned);
}

my ($node, $started, $digest, $images) = torn_run('torn_fpw', 'on', 1);
cmp_ok($images, '>=', 1, 'full_page_writes = on: the first change of block 0 after the checkpoint logged its image');
ok($started, 'recovery succeeds');
is($node->safe_psql('postgres', $digest_q), $digest, 'the table equals its digest: the page was restored from the image');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('t')}), '0', 'verify is clean');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*), sum(v) FROM t WHERE id <= 10}), '10|10',
	'the index leads to the updated rows only');
my ($rows) = split /\|/, $digest;
note("full_page_writes = on: $rows rows compared, digest equal");
$node->stop;

# full_page_writes = off: no image; redo finds block 0's LSN (in the new first half) at
# or past the UPDATE record and skips it, so the old versions in the checkpoint-time
# second half keep no xmax: they are visible again, beside their new versions.
($node, $started, $digest, $images) = torn_run('torn_nofpw', 'off', 1);
is($images, '0', 'full_page_writes = off: no image of block 0 was logged');
ok($started, 'recovery does not notice the torn page');
my $after = $node->safe_psql('postgres', $digest_q);
isnt($after, $digest, 'the table does NOT equal its digest');
is($node->safe_psql('postgres', q{SELECT count(*) FROM t}), 2010, 'the 10 updated rows are there twice');
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE id <= 10 AND v = 0}), '10',
	'their old versions (v = 0) are visible again');
my $verify = $node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('t')});
note("full_page_writes = off: digest before $digest, after $after; verify problems: $verify");
is($verify, '0', 'verify finds nothing: every tuple on the torn page is well formed, the damage is silent');
$node->stop;

# full_page_writes = off, and nothing holds the old versions back: the reads after the
# update prune block 0 (PRUNE rearranges the tuples), so the torn page's new first half
# (line pointers, header) describes tuples that its old second half holds at other
# offsets. Redo skips both records (page LSN); verify reports the damage, and reads of
# the page return wrong rows or errors, never a crash.
my $pruned;
($node, $started, $digest, $images, $pruned) = torn_run('torn_nofpw_pruned', 'off', 0);
ok($started, 'pruned page: recovery does not notice the torn page');
SKIP:
{
	skip 'block 0 was not pruned before the crash', 2 unless $pruned;
	my $problems = $node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('t')});
	cmp_ok($problems, '>', 0, 'pruned page: verify reports the damage');
	my ($ret, $out, $err) = $node->psql('postgres', $digest_q);
	note("pruned torn page: verify problems: $problems; digest before $digest, after: [$out] $err");
	isnt($out, $digest, 'pruned page: the table does not equal its digest');
	note($node->safe_psql('postgres', q{SELECT blkno, offnum, attnum, msg FROM glassheap.verify('t') LIMIT 3}));
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'pruned page: the server is still up after reading the page');
$node->stop;

# full_page_writes = off with data checksums: the updated block 0 reaches the disk with
# its checksum (evicted from 16 shared buffers by an index scan of another table), then
# its second half is torn back. Redo reads the page, the checksum fails, recovery stops.
$node = glassheap_node('torn_nofpw_checksums', checksums => 1,
	conf => "full_page_writes = off\nshared_buffers = 128kB\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE t (id int PRIMARY KEY, v int, pad text) USING glassheap;
	INSERT INTO t SELECT i, 0, 'row ' || i FROM generate_series(1, 2000) i;
	CREATE TABLE filler (id int PRIMARY KEY, pad text);
	INSERT INTO filler SELECT i, repeat('f', 200) FROM generate_series(1, 5000) i;
	SELECT count(*) FROM t;
	CHECKPOINT;
});
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('t')});
my $old = substr(slurp_file($path), 0, 8192);
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;');
$node->safe_psql('postgres', q{UPDATE t SET v = v + 1, pad = pad || ' updated' WHERE id <= 10});
$node->safe_psql('postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT sum(length(pad)) FROM filler WHERE id > 0});
my $written = substr(slurp_file($path), 0, 8192);
isnt($written, $old, 'checksums: the updated block 0 was written to the data file before the crash');
$node->stop('immediate');
$holder->{run}->finish if $holder->{run};
open my $fh, '+<:raw', $path or die "open $path: $!";
sysseek($fh, 4096, 0);
syswrite($fh, substr($old, 4096, 4096), 4096) == 4096 or die 'write';
close $fh;
ok(!$node->start(fail_ok => 1), 'checksums: recovery fails on the torn page');
my $log = slurp_file($node->logfile);
like($log, qr/page verification failed, calculated checksum \d+ but expected \d+/, 'checksums: the checksum of block 0 fails');
like($log, qr/FATAL:  invalid page in block 0 of relation "?base\/\d+\/\d+"?\n[^\n]*CONTEXT:  WAL redo at [0-9A-F\/]+ for glassheap\//,
	'checksums: redo of a glassheap record stops with FATAL invalid page in block 0');
note(join "\n", grep { /invalid page|verification failed|WAL redo/ } split /\n/, $log);
done_testing();
