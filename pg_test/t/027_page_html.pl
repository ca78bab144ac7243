# glassheap.page_html and glassheap.record_html in a real browser: headless Chromium
# (Debian's chromium and chromium-driver, driven by python3-selenium; scripts/setup
# installs them) loads each document, and t/page_html_browser.py checks that it renders
# without script errors, that the drawing has one element per line pointer, and that
# hovering line pointer N shows N's fields as glassheap.page_items returns them (xmin,
# xmax, ctid, flags), for a heap table and its glassheap twin; a record's document
# highlights a field's bytes on hover. Skipped, saying why, only when Chromium,
# chromedriver or selenium is missing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
my @missing;
push @missing, 'chromium (/usr/bin/chromium)' unless -x '/usr/bin/chromium';
push @missing, 'chromedriver (/usr/bin/chromedriver, Debian chromium-driver)' unless -x '/usr/bin/chromedriver';
push @missing, "selenium for $python (Debian python3-selenium)"
  unless system($python, '-c', 'import selenium') == 0;
plan skip_all => 'headless browser test: missing ' . join(', ', @missing) . '; run scripts/setup'
  if @missing;

my $node = glassheap_node('html');
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap');
for my $am ('heap', 'glassheap')
{
	my $t = substr($am, 0, 1) . '_html';
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int, v text) USING $am;
		INSERT INTO $t SELECT g, repeat('x', g) FROM generate_series(1, 30) g;
		UPDATE $t SET v = 'updated' WHERE id % 4 = 0;
		DELETE FROM $t WHERE id % 9 = 0;
		SELECT count(*) FROM $t;});
}
# prune the heap page (a redirect and dead line pointers to draw too)
$node->safe_psql('postgres', 'VACUUM h_html; VACUUM g_html');
$node->safe_psql('postgres', q{UPDATE h_html SET v = 'again' WHERE id = 1; UPDATE g_html SET v = 'again' WHERE id = 1});

my $dir = PostgreSQL::Test::Utils::tempdir;
local $ENV{HOME} = $dir;    # chromium's profile and crash dumps
sub browser_checks
{
	my ($what, @args) = @_;
	my $out = `$python $FindBin::RealBin/page_html_browser.py @args 2>&1`;
	my $n = 0;
	for my $line (split /\n/, $out)
	{
		next unless $line =~ /^CHECK ([01]) (.*)$/;
		ok($1, "$what: $2");
		$n++;
	}
	ok($n > 0, "$what: the browser script ran") or diag($out);
}

for my $rel ('h_html', 'g_html')
{
	my $html = $node->safe_psql('postgres', "SELECT glassheap.page_html('$rel', 0)");
	my $kinds = $node->safe_psql('postgres',
		"SELECT string_agg(DISTINCT lp_flags, ',' ORDER BY lp_flags) FROM glassheap.page_items('$rel', 0)");
	note("$rel: line pointer kinds $kinds");
	PostgreSQL::Test::Utils::append_to_file("$dir/$rel.html", $html);
	my $items = $node->safe_psql('postgres', qq{
		COPY (SELECT lp, lp_flags, coalesce(xmin::text, ''), coalesce(xmax::text, ''), coalesce(ctid::text, '')
		      FROM glassheap.page_items('$rel', 0) ORDER BY lp) TO STDOUT});
	PostgreSQL::Test::Utils::append_to_file("$dir/$rel.tsv", "$items\n");
	browser_checks("page_html($rel)", 'page', "$dir/$rel.html", "$dir/$rel.tsv");
}

my $lsn = $node->safe_psql('postgres', q{
	SELECT start_lsn FROM glassheap.trace('INSERT INTO g_html VALUES (100, ''r'')') WHERE resource_manager = 'glassheap' AND mine});
my $rec = $node->safe_psql('postgres', "SELECT glassheap.record_html('$lsn')");
PostgreSQL::Test::Utils::append_to_file("$dir/record.html", $rec);
browser_checks('record_html(glassheap INSERT)', 'record', "$dir/record.html");

$node->stop;
done_testing();
