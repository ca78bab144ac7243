# A streaming hot standby replays a mixed glassheap workload; the primary runs with
# wal_consistency_checking = 'all', so the standby compares every replayed glassheap
# page with the primary's image. The standby must read exactly what the primary reads.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = glassheap_node('primary', allows_streaming => 1, conf => "wal_consistency_checking = 'all'\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION glassheap');
# consistency checking logs a page image with every record: keep all WAL for the standby
$primary->safe_psql('postgres', q{SELECT pg_create_physical_replication_slot('standby')});
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby'\n");
$standby->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION pg_walinspect; CREATE EXTENSION pg_visibility');
# a slot that never advances keeps the workload's WAL around for pg_walinspect below
my $start_lsn = $primary->safe_psql('postgres',
	q{SELECT lsn FROM pg_create_physical_replication_slot('hold_wal', true)});
$primary->safe_psql('postgres', q{
	CREATE TABLE g (id int PRIMARY KEY, k int, v text) USING glassheap;
	CREATE INDEX ON g (k);
	INSERT INTO g SELECT i, i % 100, 'v' || i FROM generate_series(1, 5000) i;
	COPY g FROM PROGRAM 'seq 5001 9000 | sed "s/.*/&\t1\tcopy/"';
	UPDATE g SET v = v || '-same-page' WHERE id % 10 = 0;
	UPDATE g SET v = repeat('m', 900) WHERE id % 97 = 0;
	UPDATE g SET k = k + 1 WHERE id < 300;
	DELETE FROM g WHERE id % 13 = 0;
	INSERT INTO g VALUES (1, 0, 'x') ON CONFLICT (id) DO UPDATE SET v = 'upserted';
	INSERT INTO g VALUES (20000, 0, 'new') ON CONFLICT (id) DO NOTHING;
	CREATE UNLOGGED TABLE gu (a int) USING glassheap;
	INSERT INTO gu VALUES (1);
	CREATE TABLE gs (id int PRIMARY KEY, n int, pad text) USING glassheap WITH (fillfactor = 50);
	INSERT INTO gs SELECT i, 0, repeat('s', i % 90) FROM generate_series(1, 2000) i;
	UPDATE gs SET n = n + 1;
	UPDATE gs SET n = n - 3, pad = pad || 'x' WHERE id % 2 = 0;
});
# Row locks of several kinds, including a MultiXact of two lockers.
my $l1 = $primary->background_psql('postgres');
my $l2 = $primary->background_psql('postgres');
$l1->query_safe('BEGIN; SELECT id FROM g WHERE id BETWEEN 1 AND 20 FOR SHARE;');
$l2->query_safe('BEGIN; SELECT id FROM g WHERE id BETWEEN 10 AND 30 FOR KEY SHARE;');
$l1->query_safe('COMMIT;');
$l2->query_safe('COMMIT;');
$l1->quit;
$l2->quit;
# A transaction that updates, then rolls back; and one still open at catch-up time.
$primary->safe_psql('postgres', q{BEGIN; UPDATE g SET v = 'rolled back' WHERE id < 100; ROLLBACK;});
# VACUUM prunes (PRUNE), frees line pointers after index cleanup (VACUUM) and, with
# FREEZE, freezes xmins and drops the finished lockers' xmax (FREEZE); the freed space
# is then reused by new rows, whose inserts the standby must place identically.
$primary->safe_psql('postgres', 'VACUUM g');
$primary->safe_psql('postgres', 'VACUUM (FREEZE) g');
$primary->safe_psql('postgres', q{INSERT INTO g SELECT i, i % 100, 'reuse' || i FROM generate_series(10001, 10500) i});
my $open = $primary->background_psql('postgres');
$open->query_safe(q{BEGIN; INSERT INTO g VALUES (-1, 0, 'in progress'); UPDATE g SET v = 'in progress' WHERE id = 2;});

$primary->wait_for_catchup($standby);

my $q = q{SELECT count(*), sum(id), sum(k), md5(string_agg(v, ',' ORDER BY id)) FROM g};
my $on_primary = $primary->safe_psql('postgres', $q);
is($standby->safe_psql('postgres', $q), $on_primary, 'standby reads what the primary reads');
my $qs = q{SELECT count(*), sum(n), md5(string_agg(id || ':' || n || ':' || pad, ',' ORDER BY id)) FROM gs};
is($standby->safe_psql('postgres', $qs), $primary->safe_psql('postgres', $qs),
	'rows rebuilt from prefix/suffix-compressed UPDATE records match the primary');
is($standby->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM g WHERE k = 5}),
	$primary->safe_psql('postgres', q{SET enable_seqscan = off; SELECT count(*) FROM g WHERE k = 5}),
	'index scans agree on the standby');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM g WHERE v = 'in progress'}), '0',
	'the standby does not see in-progress work');
my ($ret, $out, $err) = $standby->psql('postgres', 'SELECT * FROM gu');
isnt($ret, 0, 'unlogged glassheap tables cannot be read on a standby');

$open->query_safe('COMMIT;');
$open->quit;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT v FROM g WHERE id IN (-1, 2) ORDER BY id}), "in progress\nin progress",
	'committed work arrives on the standby');

# The visibility map is WAL-logged (VISIBLE sets bits, every write's record clears
# them): the standby's map equals the primary's, and index-only scans agree.
my $vmq = q{SELECT all_visible, all_frozen, count(*) FROM pg_visibility_map('g') GROUP BY 1, 2 ORDER BY 1, 2};
is($standby->safe_psql('postgres', $vmq), $primary->safe_psql('postgres', $vmq), 'standby visibility map equals the primary\'s');
my $ios = q{SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(id), sum(id) FROM g WHERE id > 0};
is($standby->safe_psql('postgres', $ios), $primary->safe_psql('postgres', $ios), 'index-only scans agree on the standby');
$primary->safe_psql('postgres', 'VACUUM g');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $vmq), $primary->safe_psql('postgres', $vmq), 'and again after another VACUUM');

my $checked = $primary->safe_psql('postgres', qq{
	SELECT string_agg(DISTINCT record_type, ',' ORDER BY record_type)
	FROM pg_get_wal_records_info('$start_lsn', pg_current_wal_flush_lsn())
	WHERE resource_manager = 'glassheap' AND block_ref LIKE '%for WAL verification%'});
is($checked, 'CONFIRM,DELETE,FREEZE,INSERT,LOCK,MULTI_INSERT,PRUNE,UPDATE,VACUUM,VISIBLE',
	'every glassheap record type was logged with a verification image for the standby');
# Same-page updates logged with only their changed bytes (prefix/suffix from the old
# version): the standby rebuilt those rows from its own copy of the page, and
# wal_consistency_checking compared the result with the primary's image.
my $compressed = $primary->safe_psql('postgres', qq{
	SELECT count(*) FROM pg_get_wal_records_info('$start_lsn', pg_current_wal_flush_lsn())
	WHERE resource_manager = 'glassheap' AND record_type = 'UPDATE'
	  AND description LIKE '%from the old version%' AND block_ref LIKE '%for WAL verification%'});
cmp_ok($compressed, '>=', 100, 'compressed same-page UPDATE records were replayed and verified on the standby');
$primary->safe_psql('postgres', q{SELECT pg_drop_replication_slot('hold_wal')});
ok($standby->safe_psql('postgres', 'SELECT 1') eq '1', 'standby still running after replay');
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page/, 'no inconsistent page during replay with wal_consistency_checking');
unlike($log, qr/PANIC|FATAL:.*startup/, 'startup process did not fail');

# Promotion: the standby becomes writable and keeps working on glassheap tables.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
$standby->safe_psql('postgres', q{UPDATE g SET v = 'after promote' WHERE id = 3; INSERT INTO g VALUES (30000, 1, 'promoted')});
is($standby->safe_psql('postgres', q{SELECT v FROM g WHERE id IN (3, 30000) ORDER BY id}), "after promote\npromoted",
	'writes work after promotion');

# TOAST: toasted inserts (INSERT and COPY), updates that keep or replace the values,
# deletes and an upsert on the primary; a new standby replays them (the glassheap
# records and the heap records of the TOAST table, both checked page by page) and reads
# the same values and the same chunks.
$primary->backup('bk_toast');
my $standby_toast = PostgreSQL::Test::Cluster->new('standby_toast');
$standby_toast->init_from_backup($primary, 'bk_toast', has_streaming => 1);
$standby_toast->start;
$primary->safe_psql('postgres', q{
	CREATE TABLE gt (id int PRIMARY KEY, t text, b bytea) USING glassheap;
	INSERT INTO gt SELECT i, repeat(md5(i::text), 300 * i),
	  decode((SELECT string_agg(md5((i * k)::text), '') FROM generate_series(1, 200 * i) k), 'hex')
	FROM generate_series(1, 30) i;
	COPY gt (id, t) FROM PROGRAM 'for i in $(seq 101 110); do printf "%s\t%s\n" $i $(head -c 100000 /dev/zero | tr "\\0" "$((i % 10))"); done';
	UPDATE gt SET t = t || 'changed' WHERE id % 2 = 0;
	UPDATE gt SET id = id + 1000 WHERE id % 3 = 0;
	UPDATE gt SET b = NULL WHERE id % 5 = 1;
	DELETE FROM gt WHERE id % 7 = 0;
	INSERT INTO gt VALUES (1, repeat('upsert', 100000), NULL) ON CONFLICT (id) DO UPDATE SET t = excluded.t;
	BEGIN; UPDATE gt SET t = 'rolled back' WHERE id < 10; DELETE FROM gt WHERE id > 100; ROLLBACK;
});
$primary->wait_for_catchup($standby_toast);
my $tq = q{SELECT count(*), md5(string_agg(id || ':' || md5(t) || ':' || coalesce(md5(b), '-'), ',' ORDER BY id)),
	sum(pg_column_size(t)), sum(pg_column_size(b)) FROM gt};
is($standby_toast->safe_psql('postgres', $tq), $primary->safe_psql('postgres', $tq), 'TOAST: the standby reads the same values');
my $chunks = q{SELECT count(*), count(DISTINCT chunk_id), sum(length(chunk_data)) FROM pg_toast.pg_toast_} .
	$primary->safe_psql('postgres', q{SELECT 'gt'::regclass::oid});
is($standby_toast->safe_psql('postgres', $chunks), $primary->safe_psql('postgres', $chunks),
	'TOAST: the standby\'s TOAST table holds the same chunks');
unlike(slurp_file($standby_toast->logfile), qr/inconsistent page|PANIC/, 'TOAST: no inconsistent page during replay');
$standby_toast->stop;

$standby->stop;
$primary->stop;
done_testing();
