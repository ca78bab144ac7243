# glassheap.verify finds corruption planted in a table's file while the server is
# stopped, and the inspection functions keep working on the damaged page: each kind of
# damage is written into its own tuple so every problem can be named.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('verify', no_checksums => 1);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE c (a int, b int) USING glassheap;
	INSERT INTO c SELECT g, g FROM generate_series(1, 10) g;
	UPDATE c SET b = -b WHERE a = 9;              -- lp 9 gets a version pointer to lp 11
	CREATE TABLE healthy (a int, b text) USING glassheap;
	INSERT INTO healthy SELECT g, 'x' FROM generate_series(1, 1000) g;
	CHECKPOINT;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM glassheap.verify(\'c\')'), '0', 'no problems before the damage');
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('c')});
$node->stop;

open(my $fh, '+<:raw', $path) or die "open $path: $!";
my $page;
sysread($fh, $page, 8192) == 8192 or die "short read";

# line pointer n (1-based): lp_off in bits 0..14, lp_flags 15..16, lp_len 17..31
sub lp { my $w = unpack('V', substr($page, 24 + 4 * ($_[0] - 1), 4)); return ($w & 0x7fff, $w >> 17); }
sub set_u32 { substr($page, $_[0], 4) = pack('V', $_[1]); }

my ($off1) = lp(1);
set_u32($off1, 0x7ffffff0);                                   # lp 1: xmin far in the future
my ($off2) = lp(2);
set_u32(24 + 4, $off2 | (1 << 15) | (7000 << 17));            # lp 2: length runs past the page
my ($off3) = lp(3);
my $info3 = unpack('V', substr($page, $off3 + 12, 4));
set_u32($off3 + 12, ($info3 & ~0x1ff) | 250);                 # lp 3: version pointer to lp 250
my ($off4) = lp(4);
my $info4 = unpack('V', substr($page, $off4 + 12, 4));
set_u32($off4 + 12, $info4 | (1 << (23 + 2)) | (1 << (23 + 3)));   # lp 4: xmax committed and invalid
substr($page, 8184, 2) = pack('v', 0xdead);                  # the page's glassheap magic

sysseek($fh, 0, 0);
syswrite($fh, $page, 8192) == 8192 or die "short write";
close($fh);

$node->start;
my $found = $node->safe_psql('postgres',
	q{SELECT coalesce(offnum::text, 'page') || ': ' || msg FROM glassheap.verify('c') ORDER BY offnum NULLS FIRST, msg});
note($found);
like($found, qr/^page: special space does not carry the glassheap magic/m, 'damaged special space found');
like($found, qr/^1: xmin 2147483632 equals or exceeds next valid transaction id/m, 'future xmin found');
like($found, qr/^2: item at offset \d+ length 7000 lies outside the tuple area/m, 'line pointer past the page found');
like($found, qr/^3: version pointer \(0,250\)/m, 'dangling version pointer found');
like($found, qr/^4: xmax is marked both committed and invalid/m, 'contradictory hint bits found');
unlike($found, qr/^(5|6|7|8|9|10|11):/m, 'undamaged tuples are not reported');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('healthy')}), '0', 'other tables stay clean');

# the damaged page can still be inspected: raw bytes, header, and item rows (which
# refuse the page outright only because its magic is gone)
is($node->safe_psql('postgres', q{SELECT length(glassheap.page('c', 0))}), '8192', 'damaged page readable');
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT count(*) FROM glassheap.page_items('c', 0)});
like($err, qr/not a glassheap page/, 'page_items names the damage instead of decoding garbage');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.page_items(glassheap.page('c', 0), 'heap')}), '11',
	'the same bytes still decode as line pointers');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still running');

$node->stop;
done_testing();
