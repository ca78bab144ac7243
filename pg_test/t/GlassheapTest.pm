# Shared helpers for glassheap's TAP tests.
package GlassheapTest;
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';
our @EXPORT = qw(glassheap_node wait_until_up);

# A cluster with glassheap preloaded; extra postgresql.conf lines may be passed.
# no_checksums => 1: without data checksums also where initdb enables them by default
# (PostgreSQL 18), for tests that damage pages on purpose and want glassheap, not the
# checksum check, to find the damage.
# checksums => 1: initdb --data-checksums (every version).
# has_archiving => 1: archive_mode = on, archiving into the node's archive directory.
sub glassheap_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	my @extra = ($opts{no_checksums} && $node->pg_version >= 18) ? ('--no-data-checksums') : ();
	push @extra, '--data-checksums' if $opts{checksums};
	$node->init(
		allows_streaming => $opts{allows_streaming} // 0,
		has_archiving => $opts{has_archiving} // 0,
		extra => \@extra);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'glassheap'\n" . ($opts{conf} // ''));
	return $node;
}

# Waits (up to 3 minutes) until the server accepts queries again after a crash restart.
# poll_query_until can die instead of retrying: while the postmaster reinitializes, psql
# may exit before reading the query from its stdin (IPC::Run: "Broken pipe"; seen with
# PostgreSQL 18's binaries).
sub wait_until_up
{
	my ($node) = @_;
	for (1 .. 180)
	{
		my $up = eval { $node->safe_psql('postgres', 'SELECT NOT pg_is_in_recovery()') };
		return 1 if defined $up && $up eq 't';
		sleep 1;
	}
	return 0;
}

1;
