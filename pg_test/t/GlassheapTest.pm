# Shared helpers for glassheap's TAP tests.
package GlassheapTest;
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';
our @EXPORT = qw(glassheap_node);

# A cluster with glassheap preloaded; extra postgresql.conf lines may be passed.
sub glassheap_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => $opts{allows_streaming} // 0);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'glassheap'\n" . ($opts{conf} // ''));
	return $node;
}

1;
