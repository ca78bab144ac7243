# glassheap's WAL resource manager must exist before recovery runs, so the library only
# works from shared_preload_libraries; otherwise CREATE EXTENSION fails and says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->start;
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION glassheap');
isnt($ret, 0, 'CREATE EXTENSION fails without preloading');
like($err, qr/shared_preload_libraries/, 'the error names shared_preload_libraries');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server keeps running');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'glassheap'}), '0',
	'nothing was created');

# With the library preloaded it works, and the rmgr is announced in the log.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'glassheap'");
$node->restart;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap');
is($node->safe_psql('postgres', q{SELECT amname FROM pg_am WHERE amname = 'glassheap'}), 'glassheap',
	'access method exists once preloaded');
like(slurp_file($node->logfile), qr/registered custom resource manager "glassheap" with ID 199/,
	'custom resource manager registered with id 199');
$node->stop;
done_testing();
