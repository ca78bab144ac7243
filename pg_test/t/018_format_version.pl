# A page in a glassheap page format version this build does not read (as a future
# release would write it) is refused, never misread: every path that reads or changes a
# page -- sequential, index and TID scans, UPDATE, DELETE, VACUUM, verify -- reports the
# relation, the block and both format versions, and the server keeps running. The page
# is marked by changing the version byte of its special space (docs/FORMAT.md), with the
# server stopped.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('format_version', no_checksums => 1, conf => "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE fv (id int PRIMARY KEY, v text) USING glassheap;
	INSERT INTO fv SELECT g, 'row ' || g FROM generate_series(1, 100) g;
	CREATE TABLE ok (id int) USING glassheap;
	INSERT INTO ok VALUES (1);
	CHECKPOINT;
});
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('fv')});
$node->stop;

# block 0, special space at 8184: magic (2 bytes), then the version byte
open(my $fh, '+<', $file) or die "open $file: $!";
binmode $fh;
sysseek($fh, 8184 + 2, 0) or die;
sysread($fh, my $was, 1);
is(ord($was), 1, 'the page was written in format version 1');
sysseek($fh, 8184 + 2, 0) or die;
syswrite($fh, chr(2), 1) == 1 or die;
close $fh;
$node->start;

my $want = qr/block 0 of relation "fv" is in page format version 2, but this build of glassheap reads page format version 1 only/;
for my $case (
	[ 'a sequential scan', 'SELECT count(*) FROM fv' ],
	[ 'an index scan', 'SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT v FROM fv WHERE id = 5' ],
	[ 'a bitmap scan', 'SET enable_seqscan = off; SET enable_indexscan = off; SELECT v FROM fv WHERE id = 5' ],
	[ 'a TID scan', q{SELECT v FROM fv WHERE ctid = '(0,5)'} ],
	[ 'an UPDATE', 'UPDATE fv SET v = $$x$$ WHERE id = 5' ],
	[ 'a DELETE', 'DELETE FROM fv WHERE id = 5' ],
	[ 'VACUUM', 'VACUUM fv' ])
{
	my ($ret, $out, $err) = $node->psql('postgres', $case->[1]);
	isnt($ret, 0, "$case->[0] fails");
	like($err, $want, "$case->[0] names the relation, the block and both versions");
}
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM fv');
like($err, qr/DETAIL:.*This is glassheap \d+\.\d+\.\d+/, 'the detail names the release');
like($node->safe_psql('postgres', q{SELECT string_agg(msg, '; ') FROM glassheap.verify('fv')}),
	qr/page format version 2, but this build of glassheap reads page format version 1 only/,
	'verify reports the page format version');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ok'), '1', 'other tables read as before');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server keeps running');
$node->stop;
done_testing();
