#!/usr/bin/env python3
"""glassheap vs heap benchmark driver, run by scripts/bench (which builds the extension
and starts the cluster); also renders a result file: bench.py render FILE.

Every figure is a ratio glassheap/heap measured in the same run on the same cluster:
each workload runs REPS times per access method, the order of the two alternating from
one repetition to the next, a CHECKPOINT before every measured step; the ratio is
median(glassheap) / median(heap). Standard library only.

Times are taken here with time.perf_counter() (clock_gettime(CLOCK_MONOTONIC)) around one
statement sent to a psql process that stays connected, so connection start-up is not
counted; WAL bytes are pg_current_wal_insert_lsn() deltas; sizes are pg_relation_size()
of the main fork; TPS is what pgbench reports (without initial connection time).
"""
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

AMS = ("heap", "glassheap")

# Sizes per mode. The full run is what the issue specifies; --quick is for checking that
# everything works (the ratios come out similar, the absolute numbers are smaller).
SIZES = {
    "full": dict(rows=1_000_000, insert_tx=20_000, clients=4, scale=10,
                 select_s=60, tpcb_s=60, update_rows=1_000_000, updates=5, scan_runs=5,
                 ooc_buffers="128MB", ooc_rows=15_000_000, ooc_scale=40, ooc_select_s=60,
                 sustained_scale=10, sustained_s=600),
    "quick": dict(rows=200_000, insert_tx=20_000, clients=4, scale=2,
                  select_s=10, tpcb_s=15, update_rows=200_000, updates=5, scan_runs=5,
                  ooc_buffers="32MB", ooc_rows=3_800_000, ooc_scale=10, ooc_select_s=15,
                  sustained_scale=2, sustained_s=60),
}

# out_of_cache and sustained restart the cluster with other settings (and back), as
# logical does with wal_level.
WORKLOADS = ("load_narrow", "load_wide", "copy_narrow", "insert_tps", "scans", "pgbench",
             "update_vacuum", "update_indexed", "delete_vacuum", "vacuum_instructions",
             "transaction_instructions", "logical", "out_of_cache", "sustained")

# Workloads whose measurement lasts about a second get more repetitions (this factor
# times --reps): on a shared 2-core machine one second is easily disturbed.
REP_FACTOR = {"insert_tps": 3}
# Workloads run once: a sustained run lasts 10 minutes per access method; instructions
# counted by callgrind are deterministic.
FIXED_REPS = {"sustained": 1, "vacuum_instructions": 1, "transaction_instructions": 1}

ERROR_RE = re.compile(r"^(?:psql:\S*: )?(ERROR|FATAL|PANIC):\s+(.*)$")


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class SqlError(Exception):
    pass


class Session:
    """One psql process kept open. run() sends a statement followed by an \\echo of a
    marker and returns when the marker comes back; psql flushes its output after every
    command, and errors arrive on the same pipe (stderr is merged into stdout)."""

    def __init__(self, cfg, db):
        self.cfg = cfg
        self.db = db
        self.n = 0
        self.p = subprocess.Popen(
            [cfg["psql"], "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0",
             "-h", cfg["host"], "-p", str(cfg["port"]), "-U", "postgres", "-d", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))
        self.value("SELECT 1")  # connected before anything is timed

    def run(self, sql):
        """Returns (seconds, output lines, error message or None)."""
        self.n += 1
        marker = f"__glassheap_bench_{os.getpid()}_{self.n}__"
        sql = sql.strip()
        if not sql.endswith(";"):
            sql += ";"
        t0 = time.perf_counter()
        self.p.stdin.write(f"{sql}\n\\echo {marker}\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise SqlError(f"psql exited while running: {sql[:200]}\n{''.join(lines)}")
            if line.rstrip("\n") == marker:
                break
            lines.append(line.rstrip("\n"))
        elapsed = time.perf_counter() - t0
        error = None
        for line in lines:
            m = ERROR_RE.match(line)
            if m:
                error = m.group(2)
                break
        return elapsed, lines, error

    def exec(self, sql):
        elapsed, lines, error = self.run(sql)
        if error:
            raise SqlError(f"{error}\n  in: {sql.strip()[:300]}")
        return elapsed

    def value(self, sql):
        _, lines, error = self.run(sql)
        if error:
            raise SqlError(f"{error}\n  in: {sql.strip()[:300]}")
        return lines[-1] if lines else None

    def timed(self, sql):
        """Seconds for sql; raises SqlError when it fails."""
        return self.exec(sql)

    def lsn(self):
        return self.value("SELECT pg_current_wal_insert_lsn()")

    def wal_since(self, lsn):
        return int(self.value(f"SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '{lsn}')"))

    def checkpoint(self):
        self.exec("CHECKPOINT")

    def size(self, table):
        return int(self.value(f"SELECT pg_relation_size('{table}')"))

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()


def run_cmd(cmd, env=None, check=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=dict(os.environ, **(env or {})))
    if check and r.returncode != 0:
        raise SqlError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}")
    return r


def first_line(msg):
    return str(msg).strip().splitlines()[0] if str(msg).strip() else str(msg)


class Bench:
    def __init__(self, cfg):
        self.cfg = cfg
        self.mode = cfg["mode"]
        self.z = SIZES[self.mode]
        self.reps = cfg["reps"]
        self.samples = {}  # (workload key, metric key) -> {am: [values], am_error: msg}
        self.meta = {}  # (workload key, metric key) -> dict(label, metric, unit, target)
        self.order = []  # row order of the report
        self.loads = []
        self.current = None
        self.cur_reps = self.reps
        self.db = Session(cfg, "bench")

    # -- recording -------------------------------------------------------------------
    def define(self, key, metric, label, metric_label, unit, target=None, note=None):
        k = (key, metric)
        if k not in self.meta:
            self.meta[k] = dict(workload=label, metric=metric_label, unit=unit,
                                target=target, note=note, wl=self.current, reps=self.cur_reps)
            self.order.append(k)
            self.samples[k] = {am: [] for am in AMS}
            self.samples[k]["errors"] = {}

    def record(self, key, metric, am, value):
        self.samples[(key, metric)][am].append(value)

    def record_error(self, key, metric, am, msg):
        self.samples[(key, metric)]["errors"].setdefault(am, first_line(msg))

    def rep_orders(self):
        for rep in range(self.cur_reps):
            yield rep, (AMS if rep % 2 == 0 else AMS[::-1])

    def keys_of(self, wl):
        return [k for k in self.order if self.meta[k]["wl"] == wl]

    def repeat(self, measure):
        """measure(am) for every repetition, heap first in even ones. An access method
        whose measurement fails gets the error on every row of the workload and is not
        measured again; the other one goes on."""
        failed = set()
        for rep, order in self.rep_orders():
            for am in order:
                if am in failed:
                    continue
                try:
                    measure(am)
                except (SqlError, subprocess.SubprocessError, OSError) as e:
                    log(f"{self.current} on {am} failed: {e}")
                    failed.add(am)
                    for k in self.keys_of(self.current):
                        self.record_error(*k, am, e)
                    self.reconnect()

    def reconnect(self):
        self.db.close()
        self.db = Session(self.cfg, "bench")

    def note_load(self, what):
        with open("/proc/loadavg") as f:
            self.loads.append(dict(at=what, time=now_iso(), loadavg=f.read().split()[:3]))

    # -- workloads ----------------------------------------------------------------------
    # Each w_* defines its rows, then repeat()s one measurement per access method. The
    # session is self.db (re-read in every measurement: repeat() reconnects after errors).

    def w_load_narrow(self):
        n = self.z["rows"]
        label = f"load {count(n)} narrow rows `(a int, b int)` (INSERT ... SELECT)"
        self.define("load_narrow", "size", label, "table size", "bytes", ("<=", 0.80))
        self.define("load_narrow", "time", label, "time", "s")
        self.define("load_narrow", "wal", label, "WAL bytes", "bytes")

        def measure(am):
            s = self.db
            s.exec(f"DROP TABLE IF EXISTS b_narrow; CREATE TABLE b_narrow (a int, b int) USING {am}")
            s.checkpoint()
            lsn = s.lsn()
            t = s.timed(f"INSERT INTO b_narrow SELECT i, i FROM generate_series(1, {n}) i")
            self.record("load_narrow", "wal", am, s.wal_since(lsn))
            self.record("load_narrow", "time", am, t)
            self.record("load_narrow", "size", am, s.size("b_narrow"))

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_narrow")

    def w_load_wide(self):
        n = self.z["rows"]
        label = (f"load {count(n)} wide rows `(id int, s text, ts timestamptz, n numeric)`, "
                 "s 64 chars (INSERT ... SELECT)")
        self.define("load_wide", "size", label, "table size", "bytes", ("<=", 0.95))
        self.define("load_wide", "time", label, "time", "s")
        self.define("load_wide", "wal", label, "WAL bytes", "bytes")

        def measure(am):
            s = self.db
            s.exec("DROP TABLE IF EXISTS b_wide; "
                   f"CREATE TABLE b_wide (id int, s text, ts timestamptz, n numeric) USING {am}")
            s.checkpoint()
            lsn = s.lsn()
            t = s.timed(
                "INSERT INTO b_wide SELECT i, md5(i::text) || md5((-i)::text), "
                "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', "
                f"round(i * 1.37, 2) FROM generate_series(1, {n}) i")
            self.record("load_wide", "wal", am, s.wal_since(lsn))
            self.record("load_wide", "time", am, t)
            self.record("load_wide", "size", am, s.size("b_wide"))

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_wide")

    def w_copy_narrow(self):
        n = self.z["rows"]
        label = f"COPY {count(n)} narrow rows `(a int, b int)` from a file"
        self.define("copy_narrow", "time", label, "time", "s", ("<=", 0.90))
        self.define("copy_narrow", "wal", label, "WAL bytes", "bytes", ("<=", 0.80))
        self.define("copy_narrow", "size", label, "table size", "bytes")
        path = os.path.join(self.cfg["scratch"], "narrow.copy")
        self.db.exec(f"COPY (SELECT i, i FROM generate_series(1, {n}) i) TO '{path}'")
        self.db.exec(f"SELECT length(pg_read_binary_file('{path}'))")  # into the OS cache

        def measure(am):
            s = self.db
            s.exec(f"DROP TABLE IF EXISTS b_copy; CREATE TABLE b_copy (a int, b int) USING {am}")
            s.checkpoint()
            lsn = s.lsn()
            t = s.timed(f"COPY b_copy FROM '{path}'")
            self.record("copy_narrow", "wal", am, s.wal_since(lsn))
            self.record("copy_narrow", "time", am, t)
            self.record("copy_narrow", "size", am, s.size("b_copy"))

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_copy")

    def pgbench(self, db, args):
        cfg = self.cfg
        cmd = [cfg["pgbench"], "-h", cfg["host"], "-p", str(cfg["port"]), "-U", "postgres"] + args + [db]
        out = run_cmd(cmd).stdout
        m = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
        if not m:
            raise SqlError(f"no tps in pgbench output:\n{out[-2000:]}")
        failed = re.search(r"^number of failed transactions: ([0-9]+)", out, re.M)
        if failed and int(failed.group(1)) != 0:
            raise SqlError(f"pgbench reported failed transactions:\n{out[-2000:]}")
        done = re.search(r"^number of transactions actually processed: ([0-9]+)", out, re.M)
        return float(m.group(1)), int(done.group(1)) if done else None

    def w_insert_tps(self):
        tx, clients = self.z["insert_tx"], self.z["clients"]
        label = (f"{count(tx)} single-row INSERT transactions into `(a int, b int)` "
                 f"(pgbench custom script, {clients} clients)")
        note = (f"{self.cur_reps} repetitions (one takes about a second); WAL bytes include "
                "each transaction's commit record")
        self.define("insert_tps", "tps", label, "TPS", "tps", (">=", 1.00), note=note)
        self.define("insert_tps", "wal_row", label, "WAL bytes per row", "bytes/row", ("<=", 0.90), note=note)
        script = os.path.join(self.cfg["scratch"], "insert.sql")
        with open(script, "w") as f:
            f.write("\\set a random(1, 1000000000)\nINSERT INTO b_ins VALUES (:a, :a);\n")
        os.chmod(script, 0o644)

        def measure(am):
            s = self.db
            s.exec(f"DROP TABLE IF EXISTS b_ins; CREATE TABLE b_ins (a int, b int) USING {am}")
            s.checkpoint()
            lsn = s.lsn()
            tps, _ = self.pgbench("bench", ["-n", "-f", script, "-c", str(clients),
                                            "-j", str(min(clients, 2)), "-t", str(tx // clients)])
            wal = s.wal_since(lsn)
            rows = int(s.value("SELECT count(*) FROM b_ins"))
            if rows != tx // clients * clients:
                raise SqlError(f"expected {tx} rows in b_ins, found {rows}")
            self.record("insert_tps", "tps", am, tps)
            self.record("insert_tps", "wal_row", am, wal / rows)

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_ins")

    def w_scans(self):
        n, runs = self.z["rows"], self.z["scan_runs"]
        queries = {
            "scan_count": ("select count(*)", "SELECT count(*) FROM {t}"),
            "scan_sum": ("filtered sum()", "SELECT sum(b) FROM {t} WHERE a % 7 = 3"),
        }
        for key, (name, sql) in queries.items():
            self.define(key, "time", f"`{name}` over {count(n)} rows `(a int, b int)`, cached "
                        f"(`{sql.format(t='t')}`)", "time", "s", ("<=", 1.00),
                        note=f"median of {runs} runs per repetition, after 3 warm-up runs")
        ready = set()

        def measure(am):
            s = self.db
            t = f"b_scan_{am}"
            if am not in ready:
                # loaded and warmed the same way for both: every query three times (the
                # first pass sets hint bits), then a checkpoint writes the hinted pages
                s.exec(f"DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (a int, b int) USING {am}; "
                       f"INSERT INTO {t} SELECT i, i FROM generate_series(1, {n}) i")
                for _, sql in queries.values():
                    for _ in range(3):
                        s.exec(sql.format(t=t))
                s.checkpoint()
                ready.add(am)
            for key, (_, sql) in queries.items():
                ts = [s.timed(sql.format(t=t)) for _ in range(runs)]
                self.record(key, "time", am, statistics.median(ts))

        self.repeat(measure)
        for am in AMS:
            self.db.exec(f"DROP TABLE IF EXISTS b_scan_{am}")

    def pgbench_init(self, am, scale=None):
        db = f"pgb_{am}"
        s = self.db
        s.exec(f"DROP DATABASE IF EXISTS {db}")
        s.exec(f"CREATE DATABASE {db}")
        d = Session(self.cfg, db)
        try:
            d.exec("CREATE EXTENSION glassheap; CREATE EXTENSION pg_prewarm")
        finally:
            d.close()
        s.exec(f"ALTER DATABASE {db} SET default_table_access_method = {am}")
        # -n: no VACUUM after loading, for both AMs: a 60 s run starts from the state the
        # load left (the same choice since the first run, so results stay comparable)
        run_cmd([self.cfg["pgbench"], "-h", self.cfg["host"], "-p", str(self.cfg["port"]), "-U", "postgres",
                 "-i", "-n", "-q", "-s", str(scale or self.z["scale"]), db])
        d = Session(self.cfg, db)
        try:
            got = d.value("SELECT string_agg(c.relname || '=' || a.amname, ',' ORDER BY c.relname) "
                          "FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                          "WHERE c.relname LIKE 'pgbench\\_%' AND c.relkind = 'r'")
            want = ",".join(f"pgbench_{t}={am}" for t in ("accounts", "branches", "history", "tellers"))
            if got != want:
                raise SqlError(f"pgbench tables in {db} use {got}, expected {want}")
            # warmed the same way for both: a sequential pass over every table (sets hint
            # bits), then every table and index into shared buffers
            d.exec("SELECT count(*) FROM pgbench_accounts; SELECT count(*) FROM pgbench_branches; "
                   "SELECT count(*) FROM pgbench_tellers")
            d.exec("SELECT pg_prewarm(c.oid) FROM pg_class c "
                   "WHERE c.relname LIKE 'pgbench\\_%' AND c.relkind IN ('r', 'i')")
        finally:
            d.close()
        return db

    def w_pgbench(self):
        z = self.z
        c, j = str(z["clients"]), str(min(z["clients"], 2))
        sel = f"pgbench -S (index point lookups), scale {z['scale']}, {c} clients, {z['select_s']} s"
        tpcb = f"pgbench TPC-B, scale {z['scale']}, {c} clients, {z['tpcb_s']} s"
        note = ("`pgbench -i -n` and runs with `-n` (no VACUUM) for both AMs; a fresh database per "
                "repetition, warmed by a sequential pass over each table and pg_prewarm of tables and "
                "indexes")
        self.define("pgbench_select", "tps", sel, "TPS", "tps", (">=", 0.95), note=note)
        self.define("pgbench_tpcb", "tps", tpcb, "TPS", "tps", (">=", 1.00), note=note)
        self.define("pgbench_tpcb", "wal_tx", tpcb, "WAL bytes per transaction", "bytes/tx")
        self.define("pgbench_tpcb", "size", tpcb, "pgbench_accounts size after the run", "bytes")

        def measure(am):
            s = self.db
            db = self.pgbench_init(am)
            s.checkpoint()
            tps, _ = self.pgbench(db, ["-n", "-S", "-c", c, "-j", j, "-T", str(z["select_s"])])
            self.record("pgbench_select", "tps", am, tps)
            s.checkpoint()
            lsn = s.lsn()
            tps, done = self.pgbench(db, ["-n", "-c", c, "-j", j, "-T", str(z["tpcb_s"])])
            wal = s.wal_since(lsn)
            self.record("pgbench_tpcb", "tps", am, tps)
            self.record("pgbench_tpcb", "wal_tx", am, wal / done)
            d = Session(self.cfg, db)
            try:
                self.record("pgbench_tpcb", "size", am, d.size("pgbench_accounts"))
            finally:
                d.close()
            s.exec(f"DROP DATABASE {db}")

        self.repeat(measure)

    def w_update_vacuum(self):
        n, k = self.z["update_rows"], self.z["updates"]
        label = (f"{k} full-table updates of a non-indexed column, then VACUUM "
                 f"(`(id int primary key, n int)`, {count(n)} rows)")
        note = (f"time = the {k} UPDATE statements (one transaction each) + `VACUUM`; size = "
                "pg_relation_size after VACUUM; a value reads `error: ...` if the VACUUM failed")
        self.define("update_vacuum", "time", label, "time (updates + VACUUM)", "s", ("<=", 1.00), note=note)
        self.define("update_vacuum", "size", label, "final size", "bytes", ("<=", 1.00))
        self.define("update_vacuum", "t_upd", label, f"time of the {k} updates", "s")
        self.define("update_vacuum", "t_vac", label, "time of VACUUM", "s", ("<=", 0.85))
        self.define("update_vacuum", "wal_upd", label, f"WAL bytes of the {k} updates", "bytes")
        self.define("update_vacuum", "size_upd", label, "size before VACUUM", "bytes")

        def measure(am):
            s = self.db
            s.exec(f"DROP TABLE IF EXISTS b_upd; CREATE TABLE b_upd (id int PRIMARY KEY, n int) USING {am}; "
                   f"INSERT INTO b_upd SELECT i, 0 FROM generate_series(1, {n}) i")
            s.checkpoint()
            lsn = s.lsn()
            t_upd = 0.0
            for _ in range(k):
                t_upd += s.timed("UPDATE b_upd SET n = n + 1")
            self.record("update_vacuum", "wal_upd", am, s.wal_since(lsn))
            self.record("update_vacuum", "t_upd", am, t_upd)
            self.record("update_vacuum", "size_upd", am, s.size("b_upd"))
            t_vac, _, err = s.run("VACUUM b_upd")
            if err:
                # a failed VACUUM is reported in the rows, never replaced by a number
                for m in ("time", "size", "t_vac"):
                    self.record_error("update_vacuum", m, am, f"VACUUM: {err}")
                return
            self.record("update_vacuum", "t_vac", am, t_vac)
            self.record("update_vacuum", "time", am, t_upd + t_vac)
            self.record("update_vacuum", "size", am, s.size("b_upd"))

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_upd")

    def w_vacuum_instructions(self):
        # The update_vacuum row's VACUUM, its instructions counted by callgrind in a
        # single-user backend (scripts/vacuum-instructions, which makes its own cluster
        # of the same settings): the deterministic judge beside the timed row.
        n, k = self.z["update_rows"], self.z["updates"]
        label = (f"VACUUM after {k} full-table updates (`(id int primary key, n int)`, "
                 f"{count(n)} rows), counted")
        note = ("callgrind instructions of `VACUUM` alone (from ExecVacuum on) in a single-user "
                "backend, by scripts/vacuum-instructions; deterministic, so one repetition")
        self.define("vacuum_instructions", "instr", label, "instructions", "instructions",
                    ("<=", 0.85), note=note)
        counts = self.counting_script("vacuum-instructions", ["--rows", str(n)],
                                      "vacuum_instructions", ["instr"])
        if counts is not None:
            for am in AMS:
                self.record("vacuum_instructions", "instr", am, counts[am])

    def counting_script(self, name, args, workload, metrics):
        """Runs `scripts/NAME --json OUT ARGS` (a callgrind counting script that makes its
        own cluster) and returns the counts it wrote; None after recording its failure
        for each of the workload's metrics."""
        out = os.path.join(self.cfg["outdir"], f"{name}.json")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
        env = dict(os.environ, GLASSHEAP_SKIP_SETUP="1", GLASSHEAP_PG=str(self.cfg["pg"]))
        try:
            os.remove(out)
        except FileNotFoundError:
            pass
        r = run_cmd(["bash", script, "--json", out] + args, env=env, check=False)
        if r.returncode != 0 or not os.path.exists(out):
            msg = r.stdout.strip().splitlines()
            for metric in metrics:
                for am in AMS:
                    self.record_error(workload, metric, am,
                                      f"scripts/{name} failed: {msg[-1] if msg else r.returncode}")
            return None
        with open(out) as f:
            return json.load(f)

    def w_transaction_instructions(self):
        # Instructions per TPC-B and per single-row INSERT transaction, counted by
        # callgrind in a single-user backend (scripts/transaction-instructions, which makes
        # its own cluster of the same settings and a pgbench database of scale 10 per
        # access method): the deterministic judge beside the timed pgbench and insert_tps
        # rows. The aged TPC-B state (after 160,000 transactions) only in a full run.
        aged = self.mode != "quick"
        note = ("callgrind, single-user backend, (4,000 - 1,000 transactions) / 3,000, by "
                "scripts/transaction-instructions; deterministic, so one repetition")
        rows = [("fresh.tpcb", "tpcb_fresh", "pgbench TPC-B, scale 10, fresh tables, counted")]
        if aged:
            rows.append(("aged.tpcb", "tpcb_aged",
                         "pgbench TPC-B, scale 10, after 160,000 transactions, counted"))
        rows.append(("fresh.insert", "insert",
                     "single-row INSERT transactions into `(a int, b int)`, counted"))
        for _, metric, label in rows:
            self.define("transaction_instructions", metric, label, "instructions per transaction",
                        "instructions", ("<=", 0.95), note=note)
        counts = self.counting_script("transaction-instructions", [] if aged else ["--fresh"],
                                      "transaction_instructions", [m for _, m, _ in rows])
        if counts is not None:
            for run, metric, _ in rows:
                for am in AMS:
                    self.record("transaction_instructions", metric, am, counts[run][am])

    def restart_with(self, **settings):
        """ALTER SYSTEM SET each setting (None: RESET it) and restart the cluster (as its
        owner); checks that the server runs with them."""
        for name, value in settings.items():
            self.db.exec(f"ALTER SYSTEM RESET {name}" if value is None else f"ALTER SYSTEM SET {name} = '{value}'")
        self.db.close()
        cmd = [os.path.join(self.cfg["pg_bin"], "pg_ctl"), "-D", os.path.join(self.cfg["scratch"], "data"),
               "-l", os.path.join(self.cfg["scratch"], "server.log"), "-w", "restart"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        run_cmd(cmd)
        self.db = Session(self.cfg, "bench")
        for name, value in settings.items():
            if value is not None:
                got = self.db.value(f"SELECT current_setting('{name}')")
                if got != value:
                    raise SqlError(f"{name} is {got} after the restart, not {value}")

    def w_update_indexed(self):
        n = self.z["update_rows"]
        label = (f"UPDATE of an indexed column (no HOT), `(id int primary key, k int, n int)` with an "
                 f"index on k, {count(n)} rows, one statement")
        note = "`UPDATE t SET k = k + 1`: every row gets a new version and an entry in both indexes"
        self.define("update_indexed", "time", label, "time", "s", ("<=", 1.00), note=note)
        self.define("update_indexed", "wal", label, "WAL bytes", "bytes", ("<=", 0.95))
        self.define("update_indexed", "size", label, "table size after", "bytes")

        def measure(am):
            s = self.db
            s.exec(f"DROP TABLE IF EXISTS b_updi; CREATE TABLE b_updi (id int PRIMARY KEY, k int, n int) USING {am}; "
                   f"INSERT INTO b_updi SELECT i, i, 0 FROM generate_series(1, {n}) i; "
                   "CREATE INDEX b_updi_k ON b_updi (k); VACUUM (FREEZE) b_updi")
            s.checkpoint()
            lsn = s.lsn()
            t = s.timed("UPDATE b_updi SET k = k + 1")
            self.record("update_indexed", "wal", am, s.wal_since(lsn))
            self.record("update_indexed", "time", am, t)
            self.record("update_indexed", "size", am, s.size("b_updi"))

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_updi")

    def w_delete_vacuum(self):
        n = self.z["update_rows"]
        label = (f"DELETE of half the rows, then VACUUM (`(id int primary key, n int)`, {count(n)} rows)")
        note = "time = `DELETE FROM t WHERE id % 2 = 0` + `VACUUM t` (every page keeps live rows: no truncation)"
        self.define("delete_vacuum", "time", label, "time (DELETE + VACUUM)", "s", ("<=", 0.90), note=note)
        self.define("delete_vacuum", "t_del", label, "time of the DELETE", "s")
        self.define("delete_vacuum", "t_vac", label, "time of VACUUM", "s")
        self.define("delete_vacuum", "wal", label, "WAL bytes (DELETE + VACUUM)", "bytes")

        def measure(am):
            s = self.db
            s.exec(f"DROP TABLE IF EXISTS b_del; CREATE TABLE b_del (id int PRIMARY KEY, n int) USING {am}; "
                   f"INSERT INTO b_del SELECT i, 0 FROM generate_series(1, {n}) i; VACUUM (FREEZE) b_del")
            s.checkpoint()
            lsn = s.lsn()
            t_del = s.timed("DELETE FROM b_del WHERE id % 2 = 0")
            t_vac, _, err = s.run("VACUUM b_del")
            if err:
                for m in ("time", "t_vac", "wal"):
                    self.record_error("delete_vacuum", m, am, f"VACUUM: {err}")
                return
            self.record("delete_vacuum", "wal", am, s.wal_since(lsn))
            self.record("delete_vacuum", "t_del", am, t_del)
            self.record("delete_vacuum", "t_vac", am, t_vac)
            self.record("delete_vacuum", "time", am, t_del + t_vac)

        self.repeat(measure)
        self.db.exec("DROP TABLE IF EXISTS b_del")

    def w_logical(self):
        """TPC-B at wal_level = logical (the last workload: the cluster is restarted at that
        level, then back): WAL per transaction, and how fast a test_decoding slot turns the
        run's WAL into changes."""
        z = self.z
        c, j = str(z["clients"]), str(min(z["clients"], 2))
        secs = max(10, z["tpcb_s"] // 2)
        label = f"pgbench TPC-B at wal_level = logical, scale {z['scale']}, {c} clients, {secs} s"
        note = ("the cluster restarted with wal_level = logical for this workload only; a test_decoding "
                "slot created before each run decodes it afterwards with pg_logical_slot_get_changes "
                "(changes = output lines: BEGIN, one per row change, COMMIT), timed in one statement")
        self.define("logical_tpcb", "wal_tx", label, "WAL bytes per transaction", "bytes/tx", ("<=", 1.00), note=note)
        self.define("logical_tpcb", "decode", label, "decoding throughput (changes/s)", "changes/s", (">=", 1.00))
        self.define("logical_tpcb", "tps", label, "TPS", "tps")
        self.restart_with(wal_level="logical")

        def measure(am):
            s = self.db
            db = self.pgbench_init(am)
            d = Session(self.cfg, db)
            try:
                d.exec(f"SELECT pg_create_logical_replication_slot('bench_{am}', 'test_decoding')")
                s.checkpoint()
                lsn = s.lsn()
                tps, done = self.pgbench(db, ["-n", "-c", c, "-j", j, "-T", str(secs)])
                wal = s.wal_since(lsn)
                self.record("logical_tpcb", "tps", am, tps)
                self.record("logical_tpcb", "wal_tx", am, wal / done)
                secs_decode, lines, err = d.run(
                    "SELECT count(*) FROM pg_logical_slot_get_changes("
                    f"'bench_{am}', NULL, NULL, 'include-xids', '0')")
                if err:
                    raise SqlError(err)
                self.record("logical_tpcb", "decode", am, int(lines[-1]) / secs_decode)
            finally:
                d.close()
            s.exec(f"SELECT pg_drop_replication_slot('bench_{am}')")
            s.exec(f"DROP DATABASE {db}")

        try:
            self.repeat(measure)
        finally:
            self.restart_with(wal_level=None)

    def w_out_of_cache(self):
        """shared_buffers small (the cluster restarted for this workload only): a narrow
        table and pgbench's accounts table about 4 times larger than shared buffers (heap's
        size; glassheap's tables are smaller, which is the point). The OS cache is not
        dropped (not required, and it would need root on the host)."""
        z = self.z
        sb, n = z["ooc_buffers"], z["ooc_rows"]
        c, j = str(z["clients"]), str(min(z["clients"], 2))
        scan = (f"out of cache: `select count(*)` over {count(n)} rows `(a int, b int)` "
                f"(heap's table about 4x shared_buffers = {sb})")
        sel = (f"out of cache: pgbench -S, scale {z['ooc_scale']} (heap's accounts about 4x "
               f"shared_buffers = {sb}), {c} clients, {z['ooc_select_s']} s")
        self.define("ooc_scan", "time", scan, "time", "s", ("<=", 0.85),
                    note="median of 3 runs per repetition after one warm-up run")
        self.define("ooc_scan", "size", scan, "table size", "bytes")
        self.define("ooc_select", "tps", sel, "TPS", "tps", (">=", 1.10),
                    note="pgbench -i -n; warmed by one sequential pass over accounts (hint bits)")
        self.define("ooc_select", "size", sel, "pgbench_accounts + its primary key", "bytes")
        self.restart_with(shared_buffers=sb)
        ready, sizes = set(), {}

        def measure(am):
            s = self.db
            t = f"b_ooc_{am}"
            if am not in ready:
                s.exec(f"DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (a int, b int) USING {am}; "
                       f"INSERT INTO {t} SELECT i, i FROM generate_series(1, {n}) i")
                s.exec(f"SELECT count(*) FROM {t}")  # hint bits
                s.checkpoint()
                ready.add(am)
            ts = [s.timed(f"SELECT count(*) FROM {t}") for _ in range(3)]
            self.record("ooc_scan", "time", am, statistics.median(ts))
            self.record("ooc_scan", "size", am, s.size(t))
            db = f"pgb_ooc_{am}"
            if db not in ready:
                # pgbench -S only reads: one database per access method for every repetition
                s.exec(f"DROP DATABASE IF EXISTS {db}")
                s.exec(f"CREATE DATABASE {db}")
                s.exec(f"ALTER DATABASE {db} SET default_table_access_method = {am}")
                d = Session(self.cfg, db)
                try:
                    d.exec("CREATE EXTENSION glassheap")
                finally:
                    d.close()
                run_cmd([self.cfg["pgbench"], "-h", self.cfg["host"], "-p", str(self.cfg["port"]),
                         "-U", "postgres", "-i", "-n", "-q", "-s", str(z["ooc_scale"]), db])
                d = Session(self.cfg, db)
                try:
                    d.exec("SELECT count(*) FROM pgbench_accounts")
                    sizes[am] = int(d.value("SELECT pg_relation_size('pgbench_accounts') + "
                                            "pg_relation_size('pgbench_accounts_pkey')"))
                finally:
                    d.close()
                s.checkpoint()
                ready.add(db)
            tps, _ = self.pgbench(db, ["-n", "-S", "-c", c, "-j", j, "-T", str(z["ooc_select_s"])])
            self.record("ooc_select", "tps", am, tps)
            self.record("ooc_select", "size", am, sizes[am])

        try:
            self.repeat(measure)
            for am in AMS:
                self.db.exec(f"DROP TABLE IF EXISTS b_ooc_{am}; DROP DATABASE IF EXISTS pgb_ooc_{am}")
        finally:
            self.restart_with(shared_buffers=None)

    def w_sustained(self):
        """TPC-B for minutes with autovacuum on at its defaults (the cluster restarted for
        this workload only): throughput, and how large the four tables and their indexes
        end up (bloat) when autovacuum, not the benchmark, cleans up."""
        z = self.z
        c, j = str(z["clients"]), str(min(z["clients"], 2))
        secs = z["sustained_s"]
        label = (f"sustained pgbench TPC-B, {secs // 60} min, autovacuum on (defaults), "
                 f"scale {z['sustained_scale']}, {c} clients")
        note = (f"one repetition ({secs} s per access method); size = pg_total_relation_size "
                "(table, indexes, TOAST) of the four pgbench tables at the end")
        self.define("sustained", "size", label, "total size of the four tables and their indexes at the end",
                    "bytes", ("<=", 0.85), note=note)
        self.define("sustained", "tps", label, "TPS", "tps", (">=", 1.05))
        self.define("sustained", "size_start", label, "total size at the start", "bytes")
        self.define("sustained", "autovacuums", label, "autovacuum runs on the four tables", "runs")
        self.restart_with(autovacuum="on")

        def measure(am):
            s = self.db
            db = self.pgbench_init(am, scale=z["sustained_scale"])
            total = ("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                     "WHERE c.relname IN ('pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', "
                     "'pgbench_history')")
            d = Session(self.cfg, db)
            try:
                self.record("sustained", "size_start", am, int(d.value(total)))
            finally:
                d.close()
            s.checkpoint()
            tps, _ = self.pgbench(db, ["-n", "-c", c, "-j", j, "-T", str(secs)])
            d = Session(self.cfg, db)
            try:
                self.record("sustained", "tps", am, tps)
                self.record("sustained", "size", am, int(d.value(total)))
                self.record("sustained", "autovacuums", am, int(d.value(
                    "SELECT sum(autovacuum_count) FROM pg_stat_user_tables WHERE relname LIKE 'pgbench\\_%'")))
            finally:
                d.close()
            s.exec(f"DROP DATABASE {db}")

        try:
            self.repeat(measure)
        finally:
            self.restart_with(autovacuum=None)

    # -- driver -------------------------------------------------------------------------
    def run(self, only):
        for w in WORKLOADS:
            if only and w not in only:
                continue
            self.current = w
            self.cur_reps = FIXED_REPS.get(w, self.reps * REP_FACTOR.get(w, 1))
            log(f"{w}: {self.cur_reps} repetitions ({self.mode})")
            self.note_load(f"before {w}")
            t0 = time.perf_counter()
            try:
                getattr(self, f"w_{w}")()
            except (SqlError, subprocess.SubprocessError, OSError) as e:
                # set-up or clean-up outside a measurement failed: rows still lacking
                # samples get the error, the rest of the run goes on
                log(f"{w} failed: {e}")
                for k in self.keys_of(w):
                    for am in AMS:
                        if len(self.samples[k][am]) < self.meta[k]["reps"]:
                            self.record_error(*k, am, e)
                self.reconnect()
            log(f"{w}: done in {time.perf_counter() - t0:.0f} s")
        self.note_load("end")

    def results(self):
        rows = []
        for k in self.order:
            meta, smp = self.meta[k], self.samples[k]
            row = dict(id=f"{k[0]}.{k[1]}", workload=meta["workload"], metric=meta["metric"],
                       unit=meta["unit"], note=meta["note"], repetitions=meta["reps"],
                       target=(dict(op=meta["target"][0], value=meta["target"][1]) if meta["target"] else None),
                       samples={am: smp[am] for am in AMS}, errors=smp["errors"] or None)
            med = {}
            for am in AMS:
                if smp["errors"].get(am) or len(smp[am]) < meta["reps"]:
                    med[am] = None
                else:
                    med[am] = statistics.median(smp[am])
            row["heap"], row["glassheap"] = med["heap"], med["glassheap"]
            # glassheap/heap within each repetition (the two runs of a repetition are
            # adjacent in time): their spread shows how much the machine's load moved it
            h, g = smp["heap"], smp["glassheap"]
            row["ratios_per_repetition"] = (
                [gi / hi for hi, gi in zip(h, g)] if len(h) == len(g) and h and all(h) else None)
            row["ratio"] = (med["glassheap"] / med["heap"]) if med["heap"] and med["glassheap"] is not None else None
            if row["target"] is None:
                row["met"] = None
            elif row["ratio"] is None:
                row["met"] = False
            else:
                op, v = meta["target"]
                row["met"] = row["ratio"] <= v if op == "<=" else row["ratio"] >= v
            rows.append(row)
        return rows


def count(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def machine_info(cfg):
    info = dict(nproc=os.cpu_count(), kernel=platform.release(), arch=platform.machine())
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+) kB", f.read()).group(1))
        info["ram"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        if m:
            info["cpu"] = m.group(1).strip()
    except OSError:
        pass
    info["postgres"] = run_cmd([os.path.join(cfg["pg_bin"], "postgres"), "--version"]).stdout.strip()
    return info


# -- report ---------------------------------------------------------------------------
def fmt_value(v, unit):
    if v is None:
        return "—"
    if unit == "bytes":
        if v >= 1024 * 1024:
            return f"{v / 1024 / 1024:.2f} MiB"
        if v >= 1024:
            return f"{v / 1024:.1f} kiB"
        return f"{v:.0f} B"
    if unit == "s":
        return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "tps":
        return f"{v:.0f}"
    if unit in ("bytes/row", "bytes/tx"):
        return f"{v:.1f} B"
    if unit == "instructions":
        return f"{v / 1e6:,.1f} M" if v >= 1e7 else f"{v:,.0f}"
    return f"{v:g}"


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def cell(row, am):
    err = (row.get("errors") or {}).get(am)
    if err:
        return md_escape(f"error: {err}")
    return fmt_value(row[am], row["unit"])


def render(res):
    """The markdown report, made from the JSON result alone."""
    out = []
    m = res["machine"]
    out.append(f"# glassheap vs heap ({res['mode']} run)")
    out.append("")
    out.append(f"- started {res['started']}, finished {res['finished']} ({res['duration_s'] / 60:.1f} min), "
               f"{res['repetitions']} repetitions per workload (more where a row's note says so), "
               "the order of the two AMs alternated, medians")
    out.append(f"- {m['postgres']}; glassheap {res['glassheap_commit']}")
    out.append(f"- machine: {m.get('nproc')} CPUs ({m.get('cpu', '?')}), {m.get('ram', '?')} RAM, "
               f"Linux {m.get('kernel')} {m.get('arch')}")
    loads = ", ".join(f"{x['at']}: {' '.join(x['loadavg'])}" for x in res.get("loadavg", []))
    out.append(f"- load average (1/5/15 min) {loads}")
    out.append("- settings: " + ", ".join(f"{k}={v}" for k, v in res["settings"].items()))
    out.append("")
    out.append("| workload | metric | heap | glassheap | ratio | target | met |")
    out.append("|---|---|---|---|---|---|---|")
    for r in res["results"]:
        if not r["target"]:
            continue
        ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "—"
        target = f"{r['target']['op']} {r['target']['value']:.2f}"
        out.append(f"| {md_escape(r['workload'])} | {md_escape(r['metric'])} | {cell(r, 'heap')} | "
                   f"{cell(r, 'glassheap')} | {ratio} | {target} | {'yes' if r['met'] else 'no'} |")
    extra = [r for r in res["results"] if not r["target"]]
    if extra:
        out.append("")
        out.append("Other measurements of the same runs (no target):")
        out.append("")
        out.append("| workload | metric | heap | glassheap | ratio |")
        out.append("|---|---|---|---|---|")
        for r in extra:
            ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "—"
            out.append(f"| {md_escape(r['workload'])} | {md_escape(r['metric'])} | {cell(r, 'heap')} | "
                       f"{cell(r, 'glassheap')} | {ratio} |")
    spread = [r for r in res["results"] if r["target"] and r.get("ratios_per_repetition")
              and max(r["ratios_per_repetition"]) - min(r["ratios_per_repetition"]) > 0.005]
    if spread:
        out.append("")
        out.append("Per-repetition ratios of the rows above that vary from run to run (glassheap/heap "
                   "of the same repetition, whose two runs are adjacent in time; a wide range means "
                   "the machine's load moved the figure more than the access method did):")
        out.append("")
        out.append("| workload | metric | ratios, in repetition order | median |")
        out.append("|---|---|---|---|")
        for r in spread:
            rs = r["ratios_per_repetition"]
            out.append(f"| {md_escape(r['workload'])} | {md_escape(r['metric'])} | "
                       f"{' '.join(f'{x:.2f}' for x in rs)} | {statistics.median(rs):.3f} |")
    notes = {}
    for r in res["results"]:
        if r.get("note"):
            notes.setdefault(r["workload"], r["note"])
    if notes:
        out.append("")
        out.append("Notes:")
        out.append("")
        for w, n in notes.items():
            out.append(f"- {w}: {n}")
    met = [r for r in res["results"] if r["target"]]
    out.append("")
    out.append(f"{sum(1 for r in met if r['met'])} of {len(met)} targets met.")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "render":
        with open(sys.argv[2]) as f:
            sys.stdout.write(render(json.load(f)))
        return 0
    cfg = json.loads(os.environ["GLASSHEAP_BENCH_CONFIG"])
    cfg["psql"] = shutil.which("psql", path=cfg["pg_bin"]) or os.path.join(cfg["pg_bin"], "psql")
    cfg["pgbench"] = os.path.join(cfg["pg_bin"], "pgbench")
    only = set(cfg["only"].split(",")) if cfg.get("only") else None
    if only and not only <= set(WORKLOADS):
        log(f"unknown workload(s): {', '.join(sorted(only - set(WORKLOADS)))}; known: {', '.join(WORKLOADS)}")
        return 2
    started, t0 = now_iso(), time.time()
    b = Bench(cfg)
    b.run(only)
    res = dict(mode=cfg["mode"], started=started, finished=now_iso(), duration_s=round(time.time() - t0, 1),
               repetitions=cfg["reps"], only=sorted(only) if only else None,
               glassheap_commit=cfg["commit"], machine=machine_info(cfg), settings=cfg["settings"],
               sizes=SIZES[cfg["mode"]], loadavg=b.loads, results=b.results())
    b.db.close()
    os.makedirs(cfg["outdir"], exist_ok=True)
    jpath = os.path.join(cfg["outdir"], "latest.json")
    with open(jpath, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    with open(jpath) as f:  # the table is made from the file just written
        md = render(json.load(f))
    with open(os.path.join(cfg["outdir"], "latest.md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
