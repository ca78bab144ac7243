# TOAST survives crashes. Committed toasted rows (inserted, updated, deleted) are
# replayed with wal_consistency_checking = 'all'; then the server is killed in the middle
# of a TOAST insert, twice: kill -9 of the postmaster and all its processes while a
# transaction is writing a multi-chunk value, and kill -9 of a backend in the middle of
# a COPY of big rows (the postmaster then restarts and recovers). After each crash the
# committed values read back with the same md5 as on a heap twin, the uncommitted rows
# and their chunks are gone, glassheap.verify and amcheck (TOAST table and index) are
# clean, and new toasted writes work. Then: a speculative insertion that loses its race
# deletes the TOAST values it had written (like heap), and a value of 1 GB minus 824
# bytes is stored and read back.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use GlassheapTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = glassheap_node('toast_crash',
	conf => "wal_consistency_checking = 'all'\nautovacuum = off\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION glassheap;
	CREATE EXTENSION amcheck;
	-- n bytes of incompressible text, the same on every call
	CREATE FUNCTION noise(n int, seed int DEFAULT 0) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	  SELECT left(string_agg(md5((i + seed)::text), '' ORDER BY i), n) FROM generate_series(0, n / 32) i $$;
	-- live chunks and values in a table's TOAST table
	CREATE FUNCTION toast_chunks(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
	DECLARE n bigint; v bigint;
	BEGIN
	  EXECUTE format('SELECT count(*), count(DISTINCT chunk_id) FROM %s',
	                 (SELECT reltoastrelid FROM pg_class WHERE oid = rel)::regclass) INTO n, v;
	  RETURN format('%s values in %s chunks', v, n);
	END $$;
	CREATE TABLE g (id int PRIMARY KEY, note text, t text, b bytea) USING glassheap;
	CREATE TABLE h (id int PRIMARY KEY, note text, t text, b bytea) USING heap;
	CHECKPOINT;
});

# Committed work, replayed by both recoveries below.
for my $t ('g', 'h')
{
	$node->safe_psql('postgres', qq{
		INSERT INTO $t SELECT i, 'committed',
		  CASE WHEN i % 2 = 0 THEN repeat(md5(i::text), 1000 * i) ELSE noise(20000 * i, i) END,
		  CASE WHEN i % 3 = 0 THEN decode(noise(10000 * i, -i), 'hex') END
		FROM generate_series(1, 40) i;
		UPDATE $t SET note = 'updated' WHERE id % 3 = 0;
		UPDATE $t SET t = t || 'changed' WHERE id % 4 = 0;
		UPDATE $t SET b = decode(noise(300000, id), 'hex') WHERE id = 5;
		DELETE FROM $t WHERE id % 7 = 0;
		INSERT INTO $t VALUES (2, 'upserted', noise(150000, 2), NULL) ON CONFLICT (id) DO UPDATE SET t = excluded.t, note = excluded.note;
	});
}
my $q = q{SELECT count(*), md5(string_agg(id || ':' || note || ':' || md5(t) || ':' || coalesce(md5(b), '-'), ',' ORDER BY id)) FROM };
my $expect = $node->safe_psql('postgres', $q . 'g');
is($expect, $node->safe_psql('postgres', $q . 'h'), 'glassheap and heap twin agree before the crashes');
my $chunks = $node->safe_psql('postgres', q{SELECT toast_chunks('h')});
is($node->safe_psql('postgres', q{SELECT toast_chunks('g')}), $chunks, 'both TOAST tables hold the same chunks');
my $toast_size_q = q{SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'g'};

# Everything that must hold after a crash.
sub check_after_crash
{
	my ($what) = @_;
	is($node->safe_psql('postgres', $q . 'g'), $expect, "$what: committed values read back intact (md5)");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM g WHERE note NOT IN ('committed', 'updated', 'upserted')}),
		'0', "$what: uncommitted rows are absent");
	is($node->safe_psql('postgres', q{SELECT toast_chunks('g')}), $chunks,
		"$what: the TOAST table holds only the committed values' chunks (as the heap twin's)");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('g')}), '0', "$what: glassheap.verify is clean");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM verify_heapam((SELECT reltoastrelid FROM pg_class WHERE relname = 'g'))}),
		'0', "$what: verify_heapam on the TOAST table is clean");
	$node->safe_psql('postgres', q{
		SELECT bt_index_check(i.indexrelid, true) FROM pg_index i
		JOIN pg_class c ON i.indrelid IN (c.oid, c.reltoastrelid) WHERE c.relname = 'g'});
	pass("$what: amcheck (heapallindexed) is clean on the TOAST index and the primary key");
}

# 1. kill -9 of the postmaster and every process of the cluster, while a transaction
# that has already written a 2 MB value is writing 1 MB values one after another.
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_safe(q{BEGIN; INSERT INTO g VALUES (1001, 'uncommitted', noise(2000000, 1001), NULL);});
my $size0 = $node->safe_psql('postgres', $toast_size_q);
$bg->query_until(qr/started/, q{
	\echo started
	INSERT INTO g SELECT 2000 + i, 'in progress', noise(1000000, i), decode(noise(200000, i), 'hex') FROM generate_series(1, 300) i;
});
$node->poll_query_until('postgres', qq{SELECT ($toast_size_q) > $size0 + 16 * 1024 * 1024})
	or die 'the insert wrote no TOAST chunks';
my $pm = $node->{_pid};
my @children = grep { /\d/ } split /\s+/, `ps -o pid= --ppid $pm`;
$node->kill9;
kill 'KILL', @children;
for my $pid ($pm, @children)
{
	usleep(100_000) while kill(0, $pid);
}
eval { $bg->quit };
ok(scalar(@children) > 3, 'killed the postmaster and its ' . scalar(@children) . ' processes mid-insert');
$node->start;
check_after_crash('after kill -9 of the cluster');

# 2. kill -9 of the backend running a COPY of 1 MB rows; the postmaster restarts and
# recovers on its own.
my $data = $node->basedir . '/big_rows.tsv';
open my $fh, '>', $data or die "cannot write $data";
open my $rnd, '<:raw', '/dev/urandom' or die 'no /dev/urandom';
for my $i (1 .. 150)
{
	read($rnd, my $buf, 500_000) == 500_000 or die 'short read';
	print $fh 3000 + $i, "\tcopied\t" . unpack('H*', $buf) . "\t\\N\n";    # 1 MB of hex digits
}
close $rnd;
close $fh;
chmod 0644, $data;
my $size1 = $node->safe_psql('postgres', $toast_size_q);
my $copy = $node->background_psql('postgres', on_error_stop => 0);
$copy->query_until(qr/started/, qq{
	\\echo started
	COPY g (id, note, t, b) FROM '$data';
});
$node->poll_query_until('postgres', qq{SELECT ($toast_size_q) > $size1 + 16 * 1024 * 1024})
	or die 'the COPY wrote no TOAST chunks';
my $copy_pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'COPY g %'});
ok($copy_pid =~ /^\d+$/, 'the COPY is running');
kill 'KILL', $copy_pid;
eval { $copy->quit };
wait_until_up($node)
	or die 'the server did not come back after the crash';
check_after_crash('after kill -9 of the COPY backend');

# New toasted writes work, and both crashes' WAL was consistent.
for my $t ('g', 'h')
{
	$node->safe_psql('postgres', qq{
		INSERT INTO $t VALUES (5000, 'committed', noise(700000, 5000), decode(noise(100000, 5000), 'hex'));
		UPDATE $t SET t = repeat('after', 100000) WHERE id = 1;
		DELETE FROM $t WHERE id = 3;
		COPY $t FROM '$data' WHERE id <= 3005;
	});
}
is($node->safe_psql('postgres', $q . 'g'), $node->safe_psql('postgres', $q . 'h'), 'new toasted writes read back like the heap twin\'s');
is($node->safe_psql('postgres', q{SELECT toast_chunks('g')}), $node->safe_psql('postgres', q{SELECT toast_chunks('h')}),
	'and their chunks match the heap twin\'s');
my $log = slurp_file($node->logfile);
unlike($log, qr/inconsistent page/, 'no inconsistent page found by wal_consistency_checking during redo');
like($log, qr/terminated by signal 9/, 'the postmaster saw the backend killed');
is(scalar(() = $log =~ /redo done/g), 2, 'both recoveries replayed WAL');

# A speculative insertion that loses its race deletes its TOAST value (heap: the
# super-deletion calls heap_toast_delete). The unique index's expression makes the
# inserter wait after its speculative heap insertion, before its index insertion, while
# another session inserts and commits the same key.
$node->safe_psql('postgres', q{
	CREATE FUNCTION pause_key(k int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
	DECLARE calls int := coalesce(nullif(current_setting('toast_test.calls', true), ''), '0')::int;
	BEGIN
	  IF current_setting('toast_test.pause', true) = 'on' THEN
	    -- call 1: the ON CONFLICT pre-check; call 2: the index insertion
	    IF calls = 1 THEN
	      PERFORM pg_advisory_lock(4242);
	      PERFORM pg_advisory_unlock(4242);
	    END IF;
	    PERFORM set_config('toast_test.calls', (calls + 1)::text, false);
	  END IF;
	  RETURN k;
	END $$;
});
for my $t ('gs', 'hs')
{
	my $am = $t eq 'gs' ? 'glassheap' : 'heap';
	$node->safe_psql('postgres', qq{CREATE TABLE $t (k int, t text) USING $am; CREATE UNIQUE INDEX ON $t (pause_key(k));});
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('SELECT pg_advisory_lock(4242)');
	my $loser = $node->background_psql('postgres', on_error_stop => 0);
	$loser->query_until(qr/sent/, qq{
		SET toast_test.pause = on;
		SET toast_test.calls = 0;
		\\echo sent
		INSERT INTO $t VALUES (1, noise(500000, 7)) ON CONFLICT DO NOTHING;
	});
	$node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted})
		or die 'the speculative inserter did not wait';
	$node->safe_psql('postgres', qq{INSERT INTO $t VALUES (1, 'winner')});
	$holder->query_safe('SELECT pg_advisory_unlock(4242)');
	$loser->quit;
	$holder->quit;
	is($node->safe_psql('postgres', qq{SELECT k, t FROM $t}), '1|winner', "$am: the committed row won the race");
	is($node->safe_psql('postgres', qq{SELECT count(*) FROM glassheap.page_items('$t', 0)}), '2',
		"$am: the loser's speculative insertion is on the page, super-deleted");
	is($node->safe_psql('postgres', qq{SELECT toast_chunks('$t')}), '0 values in 0 chunks',
		"$am: the loser's TOAST value was deleted with its speculative insertion");
}

# A value of 1 GB minus 824 bytes (random, so incompressible: 537,000 chunks), without
# consistency checking for this session (it would log a page image per chunk).
$node->safe_psql('postgres', q{
	SET wal_consistency_checking = '';
	CREATE TABLE gbig (id int, b bytea, sum text) USING glassheap;
	INSERT INTO gbig SELECT 1, v, md5(v) FROM (SELECT pg_read_binary_file('/dev/urandom', 0, 1073741000) AS v) x;
});
is($node->safe_psql('postgres', q{SELECT octet_length(b), pg_column_size(b), md5(b) = sum FROM gbig}),
	'1073741000|1073741000|t', 'a value of 1 GB minus 824 bytes reads back with the same md5');
is($node->safe_psql('postgres', q{SELECT count(*) FROM glassheap.verify('gbig')}), '0', 'verify is clean');

$node->stop;
done_testing();
