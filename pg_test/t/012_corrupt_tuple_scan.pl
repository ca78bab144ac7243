# A scan that deforms a corrupt tuple raises a clear ERROR naming the tuple, and the
# backend goes on: deforming (src/am/slot.rs, deform_range) checks every length against
# the stored tuple and returns the damage as an error, which the getsomeattrs callback
# raises through its pgrx guard; a wild read or a panic escaping into PostgreSQL would
# crash the backend instead. The damage is planted while the server is stopped.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('corrupt_scan', no_checksums => 1);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE TABLE d (a int, b text) USING glassheap;
	INSERT INTO d VALUES (1, 'one'), (2, 'two'), (3, 'three');
	CREATE TABLE f (a int, b bigint) USING glassheap;
	INSERT INTO f VALUES (1, 10), (2, 20), (3, 30);
	CREATE TABLE n (a int, b bigint, c text) USING glassheap;
	INSERT INTO n VALUES (1, 10, NULL), (2, 20, NULL), (3, 30, NULL);
	CHECKPOINT;
});
my $relid = $node->safe_psql('postgres', q{SELECT 'd'::regclass::oid});
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('d')});
my $frelid = $node->safe_psql('postgres', q{SELECT 'f'::regclass::oid});
my $fpath = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('f')});
my $nrelid = $node->safe_psql('postgres', q{SELECT 'n'::regclass::oid});
my $npath = $node->data_dir . '/' . $node->safe_psql('postgres', q{SELECT pg_relation_filepath('n')});
$node->stop;

# line pointer N: lp_off in bits 0..14, lp_flags 15..16, lp_len 17..31. Tuple 2 is
# shortened to the 16-byte header plus column a: in d, column b's varlena header now
# lies past the end of the tuple; in f (all by-value columns, read by the deform's fast
# loop), column b's eight bytes do. In n the rows have a null bitmap (c is null), so the
# data starts at offset 24: tuple 2 keeps column a only (28 bytes), tuple 3 keeps not
# even the whole bitmap-padded header (20 bytes).
sub shorten_tuple
{
	my ($file, $lp, $len) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	my $page;
	sysread($fh, $page, 8192) == 8192 or die "short read";
	my $at = 24 + 4 * ($lp - 1);
	my $w = unpack('V', substr($page, $at, 4));
	substr($page, $at, 4) = pack('V', ($w & 0x1ffff) | ($len << 17));
	sysseek($fh, 0, 0);
	syswrite($fh, $page, 8192) == 8192 or die "short write";
	close($fh);
}
sub shorten_second_tuple { shorten_tuple($_[0], 2, 20) }
shorten_second_tuple($path);
shorten_second_tuple($fpath);
shorten_tuple($npath, 2, 28);
shorten_tuple($npath, 3, 20);
$node->start;

my ($rc, $out, $err) = $node->psql('postgres', q{SELECT a, b FROM d ORDER BY a});
isnt($rc, 0, 'deforming the damaged tuple fails');
like($err, qr/ERROR:  glassheap tuple \(0,2\) of relation $relid is corrupt: attribute 2: has an invalid varlena header/,
	'the error names the tuple, the relation and the attribute');

# Columns before the damage, and no column at all, still read.
is($node->safe_psql('postgres', q{SELECT string_agg(a::text, ',' ORDER BY a) FROM d}), '1,2,3', 'column a still reads');
is($node->safe_psql('postgres', q{SELECT count(*) FROM d}), '3', 'count(*) deforms nothing');

# The fast loop for leading by-value columns stops at a field past the end and leaves
# the report to the general loop.
($rc, $out, $err) = $node->psql('postgres', q{SELECT a, b FROM f ORDER BY a});
isnt($rc, 0, 'deforming the damaged all-by-value tuple fails');
like($err, qr/ERROR:  glassheap tuple \(0,2\) of relation $frelid is corrupt: attribute 2: starts past the end of the tuple/,
	'the error names the tuple, the relation and the by-value attribute');
is($node->safe_psql('postgres', q{SELECT string_agg(a::text, ',' ORDER BY a) FROM f}), '1,2,3',
	'its column a still reads');
is($node->safe_psql('postgres', q{SELECT sum(b) FROM f WHERE a <> 2}), '40', 'the undamaged rows read in full');

# Rows with nulls take the same fast loop up to their first null: it stops at the
# damaged field, or does not start on a tuple too short for its own null bitmap, and
# the general loop reports either.
($rc, $out, $err) = $node->psql('postgres', q{SELECT a, b FROM n WHERE ctid = '(0,2)'});
isnt($rc, 0, 'deforming the damaged tuple with a null bitmap fails');
like($err, qr/ERROR:  glassheap tuple \(0,2\) of relation $nrelid is corrupt: attribute 2: starts past the end of the tuple/,
	'the error names the by-value attribute past the end');
($rc, $out, $err) = $node->psql('postgres', q{SELECT a FROM n WHERE ctid = '(0,3)'});
isnt($rc, 0, 'deforming a tuple shorter than its header and null bitmap fails');
like($err, qr/ERROR:  glassheap tuple \(0,3\) of relation $nrelid is corrupt: header longer than tuple/,
	'the error names the tuple and the relation');
is($node->safe_psql('postgres', q{SELECT a, b, c IS NULL FROM n WHERE ctid = '(0,1)'}), '1|10|t',
	'the undamaged row with a null reads in full');

# The same backend goes on after the error, twice (the scan's pins and the slot are
# cleaned up by the abort, not leaked into the next statement).
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT b FROM d WHERE a = 2; SELECT pg_backend_pid() = pg_backend_pid(); SELECT b FROM d WHERE a = 3; SELECT b FROM d; SELECT 42},
	on_error_stop => 0);
is($out, "t\nthree\n42", 'the session survives both errors and keeps answering');
is(scalar(() = $err =~ /is corrupt/g), 2, 'each damaged read raised its own ERROR');

is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still running');
ok(slurp_file($node->logfile) !~ /terminated by signal|was terminated/, 'no backend crashed');
$node->stop;
done_testing();
