# Anti-wraparound autovacuum: a glassheap table whose relfrozenxid falls more than
# autovacuum_freeze_max_age behind is vacuumed aggressively by autovacuum even though
# autovacuum is disabled for it, its old xids are frozen and relfrozenxid / relminmxid
# advance -- the same as for its heap twin in the same cluster.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = glassheap_node('wrap', conf => join('', map { "$_\n" }
	'autovacuum = on', 'autovacuum_naptime = 1',
	'autovacuum_freeze_max_age = 100000',    # the smallest PostgreSQL allows
	'vacuum_freeze_min_age = 0', 'autovacuum_vacuum_cost_delay = 0',
	'log_autovacuum_min_duration = 0'));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION glassheap; CREATE EXTENSION amcheck');
for my $am (qw(glassheap heap))
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE w_$am (id int PRIMARY KEY, v int) USING $am WITH (autovacuum_enabled = off);
		INSERT INTO w_$am SELECT g, g FROM generate_series(1, 5000) g;
		UPDATE w_$am SET v = -v WHERE id % 10 = 0;
		SELECT id FROM w_$am WHERE id % 7 = 0 FOR SHARE;
	});
}
my $before = $node->safe_psql('postgres',
	q{SELECT string_agg(relname || '=' || relfrozenxid, ' ' ORDER BY relname) FROM pg_class WHERE relname IN ('w_glassheap', 'w_heap')});

# Use up 120,000 xids quickly: one subtransaction per xid, in one transaction.
$node->safe_psql('postgres', q{
	CREATE TABLE burn (i int);
	DO $$ BEGIN
	  FOR i IN 1 .. 120000 LOOP
	    BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN others THEN NULL; END;
	  END LOOP;
	END $$;
});
# (the relfrozenxid it had before the burn: autovacuum may already have advanced it by
# the time this runs -- it starts as soon as the burning transaction commits)
my ($g_frozen) = $before =~ /w_glassheap=(\d+)/;
ok($node->safe_psql('postgres', qq{SELECT age('$g_frozen'::xid) > 100000}) eq 't',
	'the glassheap table is older than autovacuum_freeze_max_age');

for my $am (qw(glassheap heap))
{
	ok($node->poll_query_until('postgres',
			qq{SELECT age(relfrozenxid) < 50000 FROM pg_class WHERE relname = 'w_$am'}),
		"anti-wraparound autovacuum advanced relfrozenxid of the $am table");
}
like(slurp_file($node->logfile),
	qr/automatic aggressive vacuum to prevent wraparound of table "postgres\.public\.w_glassheap"/,
	'autovacuum says it vacuumed the glassheap table to prevent wraparound');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM glassheap.visibility('w_glassheap') WHERE xmin_status <> 'frozen'}),
	'0', 'every glassheap version is frozen');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('w_glassheap')}), '0', 'verify is clean');
$node->safe_psql('postgres', q{SELECT bt_index_check('w_glassheap_pkey', true)});
pass('the primary key matches the table');
is($node->safe_psql('postgres', q{SELECT count(*), sum(v) FROM w_glassheap}),
	$node->safe_psql('postgres', q{SELECT count(*), sum(v) FROM w_heap}), 'same rows as the heap twin');
note("relfrozenxid before: $before");
$node->stop;
done_testing();
