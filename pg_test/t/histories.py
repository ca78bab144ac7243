#!/usr/bin/env python3
"""Long concurrent histories: a randomised multi-session workload and its checker.

Used by t/028_histories.pl. Python 3, standard library only: it speaks PostgreSQL's
frontend/backend protocol (simple queries, trust authentication) over the server's Unix
socket itself, so each session is a real connection whose every statement, result and
error it sees and records.

Workload (`run`): S sessions, each for a number of seconds, run transactions at one
isolation level (READ COMMITTED, REPEATABLE READ or SERIALIZABLE) against two tables of
one access method:
  - list-append (Elle-style): `lists(k bigint PRIMARY KEY, v bigint[])`. A transaction
    does 1-4 operations, each a read of a key (the whole list) or an append of a value
    unique in the whole history (INSERT ... ON CONFLICT DO UPDATE SET v = v || x);
    sometimes it reads several keys in one statement. Keys rotate: each session moves
    through a window of 5 keys, one key further every 10 transactions.
  - bank: `bank(id int PRIMARY KEY, balance bigint, ver bigint, tag bigint)`, 10 accounts
    of 100. A transfer reads both accounts (balance, ver, tag) and, if the source has the
    money, writes balance, ver + 1 and its own id as tag to both, computed by the client
    (read-modify-write: a lost update is possible where the level allows one). An audit
    reads every account, one statement each.
Every operation is recorded (kind, key, the value read or written), with the
transaction's outcome (committed, or aborted with its SQLSTATE). A transaction's
choices come from a random generator seeded with (seed, segment, session), so the same
seed gives every access method the same sequence of transactions in each session.
A run is made of segments (--segment-seconds, 60 by default): the sessions stop at the
end of each, its history is checked from the state the tables had when it began, and
the next segment carries on with the same tables and new keys. This bounds the memory
an hour's history would need.

Checker (`check`, also run at the end of `run` on the recorded history plus the tables'
final contents):
  - version order: the final list of each key orders its appends (every committed append
    must be in it exactly once: else lost-append / duplicate; no aborted or unknown value:
    G1a / garbage); every committed read must be a prefix of it (incompatible-order) and
    no shorter than the list was when the segment began (stale-read; likewise an
    account's version);
  - G1a (aborted read): a committed read sees a value an aborted transaction wrote;
    G1b (intermediate read): it sees a transaction's append that was not that
    transaction's last one to the key; internal: a transaction's read does not end with
    its own appends; non-repeatable: at RR/SERIALIZABLE, a second read of a key differs
    from the first (plus own appends);
  - bank: a read returns exactly what the committed writer (tag) wrote (else G1a or
    garbage); two committed writes of the same version of an account are a lost update;
    an audit whose balances do not add up to the total, or a final total that differs,
    is bank-total;
  - the direct serialization graph (Adya) over committed transactions: ww (version order),
    wr (the version read) and rw (the next version after the one read) edges, from the
    list orders and the bank accounts' version numbers. Per strongly connected component:
    G0 (a cycle of ww edges), G1c (of ww and wr edges, at least one wr), G-single (exactly
    one rw edge), G-nonadjacent (rw edges, never two in a row: impossible under snapshot
    isolation, so forbidden at REPEATABLE READ), G2 (any cycle with an rw edge: write
    skew; forbidden at SERIALIZABLE). Counts are of components showing the kind.
What each level forbids is in FORBIDDEN below. Unexpected errors (anything but
serialization failures 40001 and deadlocks 40P01) are counted as `unexpected-error`,
forbidden everywhere.

`scenario NAME`: two sessions interleaved step by step to provoke one anomaly a weaker
level allows (write skew, read skew, lost update); checked the same way.
`self-test`: hand-made histories each with a known anomaly; the checker must report
exactly the expected kinds.

Output: lines `RESULT <json>` (run, scenario) and `SELFTEST <json>` (self-test).
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter, defaultdict

LEVELS = {'rc': 'READ COMMITTED', 'rr': 'REPEATABLE READ', 'ser': 'SERIALIZABLE'}
ALLOWED_ERRORS = {'40001', '40P01'}   # serialization failure, deadlock detected

KINDS = ['G0', 'G1a', 'G1b', 'G1c', 'G-single', 'G-nonadjacent', 'G2', 'lost-append',
         'lost-update', 'duplicate', 'garbage', 'incompatible-order', 'stale-read', 'internal',
         'non-repeatable', 'bank-total', 'unexpected-error']
_RC = {'G0', 'G1a', 'G1b', 'G1c', 'lost-append', 'duplicate', 'garbage',
       'incompatible-order', 'stale-read', 'internal', 'unexpected-error'}
_RR = _RC | {'G-single', 'G-nonadjacent', 'lost-update', 'non-repeatable', 'bank-total'}
FORBIDDEN = {'rc': _RC, 'rr': _RR, 'ser': _RR | {'G2'}}

N_ACCOUNTS = 10
INITIAL_BALANCE = 100
KEY_WINDOW = 5
KEY_PERIOD = 10


# --- a minimal PostgreSQL client --------------------------------------------------------

class PgError(Exception):
    pass


class Conn:
    def __init__(self, host, port, db, user):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.path.join(host, '.s.PGSQL.%d' % port))
        self.rf = self.sock.makefile('rb')
        body = b''
        for k, v in (('user', user), ('database', db), ('application_name', 'histories')):
            body += k.encode() + b'\0' + v.encode() + b'\0'
        body += b'\0'
        self.sock.sendall(struct.pack('!ii', len(body) + 8, 196608) + body)
        while True:
            t, data = self._recv()
            if t == b'R':
                code = struct.unpack('!i', data[:4])[0]
                if code != 0:
                    raise PgError('authentication method %d not supported (trust only)' % code)
            elif t == b'E':
                raise PgError(str(self._fields(data)))
            elif t == b'Z':
                return

    def _recv(self):
        hdr = self.rf.read(5)
        if len(hdr) < 5:
            raise ConnectionError('server closed the connection')
        n = struct.unpack('!i', hdr[1:])[0]
        data = self.rf.read(n - 4)
        if len(data) < n - 4:
            raise ConnectionError('server closed the connection')
        return hdr[:1], data

    @staticmethod
    def _fields(data):
        f = {}
        for part in data.split(b'\0'):
            if part:
                f[chr(part[0])] = part[1:].decode(errors='replace')
        return f

    def query(self, sql):
        """One statement: (rows as lists of text or None, command tag, error fields or None)."""
        b = sql.encode() + b'\0'
        self.sock.sendall(b'Q' + struct.pack('!i', len(b) + 4) + b)
        rows, tag, err = [], None, None
        while True:
            t, data = self._recv()
            if t == b'D':
                n = struct.unpack('!h', data[:2])[0]
                pos, row = 2, []
                for _ in range(n):
                    ln = struct.unpack('!i', data[pos:pos + 4])[0]
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(data[pos:pos + ln].decode())
                        pos += ln
                rows.append(row)
            elif t == b'C':
                tag = data[:-1].decode()
            elif t == b'E':
                err = self._fields(data)
            elif t == b'Z':
                return rows, tag, err

    def must(self, sql):
        rows, tag, err = self.query(sql)
        if err:
            raise PgError('%s: %s (%s)' % (sql[:80], err.get('M'), err.get('C')))
        return rows

    def close(self):
        try:
            self.sock.sendall(b'X' + struct.pack('!i', 4))
            self.sock.close()
        except OSError:
            pass


def parse_list(text):
    """bigint[] in text form ('{1,2}'), or NULL (no row): a list of ints."""
    if text is None or text == '{}':
        return []
    return [int(x) for x in text[1:-1].split(',')]


# --- transactions ------------------------------------------------------------------------

class Txn:
    """One transaction on a connection; records every operation and the outcome."""

    def __init__(self, conn, tid, level, lists, bank, kind):
        self.c, self.lists, self.bank = conn, lists, bank
        self.rec = {'id': tid, 'lvl': level, 'kind': kind, 'ops': [], 'ok': None, 'err': None}
        self.failed = False
        self.nappend = 0
        self.bank_seen = {}

    def _q(self, sql):
        if self.failed:
            return None
        rows, tag, err = self.c.query(sql)
        if err:
            self.failed = True
            self.rec['ok'] = False
            self.rec['err'] = err.get('C')
            self.rec['msg'] = err.get('M')
            self.c.query('ROLLBACK')
            return None
        return rows, tag

    def begin(self):
        self.rec['t0'] = time.time()
        self._q('BEGIN ISOLATION LEVEL ' + LEVELS[self.rec['lvl']])

    def read(self, k):
        r = self._q('SELECT v FROM %s WHERE k = %d' % (self.lists, k))
        if r is not None:
            self.rec['ops'].append(['r', k, r[0][0][0] if r[0] else None])

    def read_many(self, keys):
        r = self._q('SELECT k, v FROM %s WHERE k = ANY(ARRAY[%s]::bigint[])'
                    % (self.lists, ','.join(map(str, keys))))
        if r is not None:
            got = {int(k): v for k, v in r[0]}
            for k in keys:
                self.rec['ops'].append(['r', k, got.get(k)])

    def append(self, k):
        x = self.rec['id'] * 8 + self.nappend
        self.nappend += 1
        if self.failed:
            return
        # recorded before it runs: an attempted write (aborted with the transaction if it fails)
        self.rec['ops'].append(['a', k, x])
        r = self._q('INSERT INTO %s AS t (k, v) VALUES (%d, ARRAY[%d]::bigint[]) '
                    'ON CONFLICT (k) DO UPDATE SET v = t.v || %d::bigint' % (self.lists, k, x, x))
        if r is not None and r[1] != 'INSERT 0 1':
            raise PgError('append of %d to key %d: %s' % (x, k, r[1]))

    def bank_read(self, a):
        r = self._q('SELECT balance, ver, tag FROM %s WHERE id = %d' % (self.bank, a))
        if r is None:
            return None
        if len(r[0]) != 1:
            raise PgError('bank account %d: %d rows' % (a, len(r[0])))
        bal, ver, tag = (int(x) for x in r[0][0])
        self.rec['ops'].append(['br', a, bal, ver, tag])
        self.bank_seen[a] = (bal, ver)
        return bal

    def bank_write(self, a, delta):
        """balance := balance read + delta, ver := ver read + 1, tag := this transaction."""
        if self.failed:
            return
        bal, ver = self.bank_seen[a]
        nbal, nver = bal + delta, ver + 1
        self.rec['ops'].append(['bw', a, nbal, nver])
        r = self._q('UPDATE %s SET balance = %d, ver = %d, tag = %d WHERE id = %d'
                    % (self.bank, nbal, nver, self.rec['id'], a))
        if r is not None and r[1] != 'UPDATE 1':
            raise PgError('bank write of account %d: %s' % (a, r[1]))

    def commit(self):
        if not self.failed:
            r = self._q('COMMIT')
            if r is not None:
                if r[1] == 'COMMIT':
                    self.rec['ok'] = True
                else:
                    self.rec['ok'] = False
                    self.rec['err'] = 'commit: ' + str(r[1])
        self.rec['t1'] = time.time()
        return self.rec


def random_txn(rng, conn, tid, i, level, lists, bank, key_base=0):
    """The i-th transaction of a session; its choices depend only on rng, i and key_base."""
    p = rng.random()
    if p < 0.25:
        a, b = rng.sample(range(1, N_ACCOUNTS + 1), 2)
        amt = rng.randint(1, 20)
        t = Txn(conn, tid, level, lists, bank, 'transfer')
        t.begin()
        bal = t.bank_read(a)
        t.bank_read(b)
        if bal is not None and bal >= amt:
            t.bank_write(a, -amt)
            t.bank_write(b, amt)
        return t.commit()
    if p < 0.30:
        t = Txn(conn, tid, level, lists, bank, 'audit')
        t.begin()
        for a in range(1, N_ACCOUNTS + 1):
            t.bank_read(a)
        return t.commit()
    base = key_base + i // KEY_PERIOD
    n = rng.randint(1, 4)
    plan = []
    for _ in range(n):
        q = rng.random()
        if q < 0.45:
            plan.append(('r', base + rng.randrange(KEY_WINDOW)))
        elif q < 0.55:
            plan.append(('R', rng.sample(range(base, base + KEY_WINDOW), 3)))
        else:
            plan.append(('a', base + rng.randrange(KEY_WINDOW)))
    t = Txn(conn, tid, level, lists, bank, 'list')
    t.begin()
    for f, k in plan:
        if f == 'r':
            t.read(k)
        elif f == 'R':
            t.read_many(k)
        else:
            t.append(k)
    return t.commit()


def setup_tables(conn, am, lists, bank):
    conn.must('DROP TABLE IF EXISTS %s, %s' % (lists, bank))
    conn.must('CREATE TABLE %s (k bigint PRIMARY KEY, v bigint[] NOT NULL) USING %s' % (lists, am))
    conn.must('CREATE TABLE %s (id int PRIMARY KEY, balance bigint NOT NULL, ver bigint NOT NULL, '
              'tag bigint NOT NULL) USING %s' % (bank, am))
    conn.must('INSERT INTO %s SELECT g, %d, 0, 0 FROM generate_series(1, %d) g'
              % (bank, INITIAL_BALANCE, N_ACCOUNTS))


def final_state(conn, lists, bank):
    fl = {int(k): parse_list(v) for k, v in conn.must('SELECT k, v FROM %s' % lists)}
    fb = {int(r[0]): tuple(int(x) for x in r[1:]) for r in conn.must('SELECT id, balance, ver, tag FROM %s' % bank)}
    return fl, fb


# --- the checker -------------------------------------------------------------------------

def tarjan(nodes, succ):
    """Strongly connected components (iterative): a dict node -> component number."""
    index, low, comp = {}, {}, {}
    stack, on = [], set()
    counter = 0
    ncomp = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                elif w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp[w] = ncomp
                    if w == v:
                        break
                ncomp += 1
    return comp


WW, WR, RW = 1, 2, 4
EDGE_NAMES = {WW: 'ww', WR: 'wr', RW: 'rw'}


def bfs_path(src, dst, nodes, succ_mask, mask):
    """A path src -> dst over edges having a bit of mask, inside nodes: list of nodes or None."""
    prev = {src: None}
    q = [src]
    for v in q:
        if v == dst:
            path = []
            while v is not None:
                path.append(v)
                v = prev[v]
            return path[::-1]
        for w, m in succ_mask.get(v, {}).items():
            if m & mask and w in nodes and w not in prev:
                prev[w] = v
                q.append(w)
    return None


def describe_cycle(cycle, edges):
    """'T1 -ww-> T2 -rw-> T1' for a cycle given as [T1, T2, ..., T1]."""
    out = [str(cycle[0])]
    for u, v in zip(cycle, cycle[1:]):
        m = edges[u][v]
        out.append('-%s-> %s' % ('/'.join(n for b, n in EDGE_NAMES.items() if m & b), v))
    return ' '.join(out)


def check(history, final_lists, final_bank, level, initial_lists=None, initial_bank=None,
          n_accounts=N_ACCOUNTS, max_examples=3):
    """Checks a history: the tables held initial_lists / initial_bank (a quiescent state,
    written by "transaction 0") when it began and final_lists / final_bank when it ended."""
    initial_lists = initial_lists or {}
    if initial_bank is None:
        initial_bank = {a: (INITIAL_BALANCE, 0, 0) for a in range(1, n_accounts + 1)}
    found = Counter()
    examples = defaultdict(list)

    def flag(kind, what, n=1):
        found[kind] += n
        if len(examples[kind]) < max_examples:
            examples[kind].append(what)

    txns = {t['id']: t for t in history}
    committed = {tid for tid, t in txns.items() if t['ok']}
    aborted = {tid for tid, t in txns.items() if not t['ok']}
    for t in history:
        if not t['ok'] and t['err'] not in ALLOWED_ERRORS:
            flag('unexpected-error', 'txn %d: %s %s' % (t['id'], t['err'], t.get('msg')))

    # --- list-append: writers, version order, reads
    writer = {x: 0 for lst in initial_lists.values() for x in lst}   # value -> txn
    appends = defaultdict(list)   # (txn, key) -> its values in order
    for t in history:
        for op in t['ops']:
            if op[0] == 'a':
                writer[op[2]] = t['id']
                appends[(t['id'], op[1])].append(op[2])
    edges = defaultdict(dict)

    def edge(u, v, m):
        if u != v and u in committed and v in committed:
            edges[u][v] = edges[u].get(v, 0) | m

    final_pos = {}
    for k, lst in final_lists.items():
        seen = set()
        for x in lst:
            if x in seen:
                flag('duplicate', 'key %d: value %d twice in the final list' % (k, x))
            seen.add(x)
            w = writer.get(x)
            if w is None:
                flag('garbage', 'key %d: final list has %d, never written' % (k, x))
            elif w in aborted:
                flag('G1a', 'key %d: final list has %d from aborted txn %d (%s)' % (k, x, w, txns[w]['err']))
        final_pos[k] = seen
        clean = [x for x in lst if writer.get(x) in committed]
        for a, b in zip(clean, clean[1:]):
            edge(writer[a], writer[b], WW)
    for (tid, k), xs in appends.items():
        if tid in committed:
            for x in xs:
                if x not in final_pos.get(k, ()):
                    flag('lost-append', 'key %d: committed append %d of txn %d missing' % (k, x, tid))

    reads = 0
    for t in history:
        if not t['ok']:
            continue
        tid = t['id']
        own = defaultdict(list)       # key -> own appends so far
        last_read = {}                # key -> (list, own appends count then)
        for op in t['ops']:
            if op[0] == 'a':
                own[op[1]].append(op[2])
                continue
            if op[0] != 'r':
                continue
            reads += 1
            k = op[1]
            lst = parse_list(op[2])
            if len(set(lst)) != len(lst):
                flag('duplicate', 'txn %d read key %d with a duplicate: %s' % (tid, k, op[2]))
            bad = False
            for x in lst:
                w = writer.get(x)
                if w is None:
                    flag('garbage', 'txn %d read key %d: %d never written' % (tid, k, x))
                    bad = True
                elif w in aborted:
                    flag('G1a', 'txn %d read key %d: %d from aborted txn %d (%s)' % (tid, k, x, w, txns[w]['err']))
                    bad = True
            fl = final_lists.get(k, [])
            if not bad and lst != fl[:len(lst)]:
                flag('incompatible-order', 'txn %d read key %d: %s, not a prefix of the final %s'
                     % (tid, k, op[2], fl[:len(lst) + 3]))
                bad = True
            if not bad and len(lst) < len(initial_lists.get(k, ())):
                flag('stale-read', 'txn %d read key %d: %s, older than the state before the history began'
                     % (tid, k, op[2]))
                bad = True
            mine = own.get(k, [])
            if mine and lst[-len(mine):] != mine:
                flag('internal', 'txn %d read key %d: %s, without its own appends %s' % (tid, k, op[2], mine))
                bad = True
            if k in last_read and level != 'rc':
                prev, nmine = last_read[k]
                if lst != prev + mine[nmine:]:
                    flag('non-repeatable', 'txn %d read key %d twice: %s then %s (own appends %s)'
                         % (tid, k, prev, lst, mine[nmine:]))
            last_read[k] = (lst, len(mine))
            if lst and not mine:
                w = writer.get(lst[-1])
                if w and w != tid:
                    mine_w = appends[(w, k)]
                    if lst[-1] != mine_w[-1]:
                        flag('G1b', 'txn %d read key %d ending in %d, an intermediate append of txn %d (%s)'
                             % (tid, k, lst[-1], w, mine_w))
                        bad = True
            if bad or mine:
                continue
            # edges of an external read (before any own append to the key)
            if lst:
                edge(writer[lst[-1]], tid, WR)
            nxt = next((x for x in fl[len(lst):] if writer.get(x) in committed), None)
            if nxt is not None:
                edge(tid, writer[nxt], RW)

    # --- bank
    total = sum(b[0] for b in initial_bank.values())
    bwrites = defaultdict(dict)   # account -> txn -> (balance, ver), committed and aborted
    for t in history:
        for op in t['ops']:
            if op[0] == 'bw':
                bwrites[op[1]][t['id']] = (op[2], op[3])
    chain = {}
    for a in range(1, n_accounts + 1):
        vers = defaultdict(list)
        for tid, (bal, ver) in bwrites[a].items():
            if tid in committed:
                vers[ver].append(tid)
        for ver, ts in sorted(vers.items()):
            if len(ts) > 1:
                flag('lost-update', 'account %d: version %d written by committed txns %s' % (a, ver, ts),
                     len(ts) - 1)
        n = len(vers)
        ibal, iver, itag = initial_bank[a]
        if n and sorted(vers) != list(range(iver + 1, iver + n + 1)):
            flag('incompatible-order', 'account %d: committed versions %s after version %d'
                 % (a, sorted(vers), iver))
        elif all(len(ts) == 1 for ts in vers.values()):
            chain[a] = {iver: 0}
            chain[a].update({v: ts[0] for v, ts in vers.items()})
            for v in range(iver + 1, iver + n):
                edge(chain[a][v], chain[a][v + 1], WW)
        fb = final_bank.get(a)
        if fb is None:
            flag('lost-update', 'account %d is gone' % a)
            continue
        fbal, fver, ftag = fb
        if (fver, ftag) == (iver, itag):
            if fbal != ibal:
                flag('garbage', 'account %d: final %s, the initial version but not the initial row' % (a, fb))
            if n:
                flag('lost-update', 'account %d: final row is the initial one after %d committed writes' % (a, n))
        elif ftag in aborted:
            flag('G1a', 'account %d: final row written by aborted txn %d' % (a, ftag))
        elif ftag not in committed or bwrites[a].get(ftag) != (fbal, fver):
            flag('garbage', 'account %d: final %s not what txn %d wrote' % (a, fb, ftag))
        elif a in chain and fver != iver + n:
            flag('lost-update', 'account %d: final version %d, %d committed after %d' % (a, fver, n, iver))
    if sum(b[0] for b in final_bank.values()) != total:
        flag('bank-total', 'final total %d, not %d' % (sum(b[0] for b in final_bank.values()), total))
    for t in history:
        if not t['ok']:
            continue
        tid = t['id']
        wrote = set()
        got = {}
        for op in t['ops']:
            if op[0] == 'bw':
                wrote.add(op[1])
                continue
            if op[0] != 'br':
                continue
            reads += 1
            _, a, bal, ver, tag = op
            got[a] = bal
            ibal, iver, itag = initial_bank[a]
            if (ver, tag) == (iver, itag):
                ok = bal == ibal
            elif ver < iver:
                flag('stale-read', 'txn %d read account %d version %d, older than the initial %d' % (tid, a, ver, iver))
                continue
            elif tag in aborted:
                flag('G1a', 'txn %d read account %d written by aborted txn %d' % (tid, a, tag))
                continue
            else:
                ok = tag in committed and bwrites[a].get(tag) == (bal, ver)
            if not ok:
                flag('garbage', 'txn %d read account %d = %s, not what txn %d wrote' % (tid, a, (bal, ver), tag))
                continue
            if a in wrote or a not in chain:
                continue
            edge(chain[a][ver], tid, WR)
            if ver + 1 in chain[a]:
                edge(tid, chain[a][ver + 1], RW)
        if t['kind'] == 'audit' and len(got) == n_accounts and sum(got.values()) != total:
            flag('bank-total', 'audit txn %d: balances add up to %d, not %d' % (tid, sum(got.values()), total))

    # --- cycles
    nodes = sorted(committed)
    comp = tarjan(nodes, lambda v: edges.get(v, {}).keys())
    members = defaultdict(list)
    for v, c in comp.items():
        members[c].append(v)
    sccs = [set(m) for m in members.values() if len(m) > 1]
    largest = max((len(s) for s in sccs), default=0)
    undecided = 0
    for s in sccs:
        inner = {u: {v: m for v, m in edges.get(u, {}).items() if v in s} for u in s}

        def sub_sccs(mask):
            c = tarjan(sorted(s), lambda v: [w for w, m in inner[v].items() if m & mask])
            return c
        # G0: ww only
        c0 = sub_sccs(WW)
        for u in s:
            hit = next((v for v, m in inner[u].items() if m & WW and c0[u] == c0[v]), None)
            if hit is not None:
                cyc = bfs_path(hit, u, s, inner, WW)
                flag('G0', describe_cycle([u] + cyc, edges))
                break
        # G1c: ww and wr, at least one wr
        c1 = sub_sccs(WW | WR)
        for u in s:
            hit = next((v for v, m in inner[u].items() if m & WR and c1[u] == c1[v]), None)
            if hit is not None:
                cyc = bfs_path(hit, u, s, inner, WW | WR)
                flag('G1c', describe_cycle([u] + cyc, edges))
                break
        # G2: any rw edge inside the component lies on a cycle
        rws = [(u, v) for u in s for v, m in inner[u].items() if m & RW]
        if rws:
            u, v = rws[0]
            flag('G2', describe_cycle([u] + bfs_path(v, u, s, inner, WW | WR | RW), edges))
        # G-single: rw u -> v, then v reaches u over ww/wr edges
        tried = 0
        for u, v in rws:
            if tried >= 300:
                undecided += 1
                break
            tried += 1
            p = bfs_path(v, u, s, inner, WW | WR)
            if p is not None:
                flag('G-single', describe_cycle([u] + p, edges))
                break
        # G-nonadjacent: a cycle with rw edges, no two consecutive (product graph: state 1
        # means "arrived over an rw edge", from which no rw edge may leave)
        if rws:
            def psucc(node):
                v, st = node
                out = []
                for w, m in inner[v].items():
                    if m & (WW | WR):
                        out.append((w, 0))
                    if m & RW and st == 0:
                        out.append((w, 1))
                return out
            pc = tarjan([(v, st) for v in sorted(s) for st in (0, 1)], psucc)
            for u, v in rws:
                if pc[(u, 0)] == pc[(v, 1)]:
                    flag('G-nonadjacent', 'a cycle through %d -rw-> %d in a component of %d txns' % (u, v, len(s)))
                    break

    ops = Counter(op[0] for t in history for op in t['ops'])
    errors = Counter(t['err'] for t in history if not t['ok'])
    nedges = Counter()
    for u, vs in edges.items():
        for v, m in vs.items():
            for b, name in EDGE_NAMES.items():
                if m & b:
                    nedges[name] += 1
    anomalies = {k: found.get(k, 0) for k in KINDS}
    return {
        'level': level,
        'txns': len(history),
        'committed': len(committed),
        'aborted': dict(errors),
        'ops': {'read': ops['r'], 'append': ops['a'], 'bank_read': ops['br'], 'bank_write': ops['bw']},
        'reads_checked': reads,
        'keys': len(final_lists),
        'max_list': max((len(v) for v in final_lists.values()), default=0),
        'edges': dict(nedges),
        'cycle_components': len(sccs),
        'largest_component': largest,
        'g_single_undecided': undecided,
        'anomalies': anomalies,
        'forbidden': sorted(k for k, n in anomalies.items() if n and k in FORBIDDEN[level]),
        'examples': {k: v for k, v in examples.items()},
    }


# --- commands ------------------------------------------------------------------------------

def add_results(tot, r):
    """Sums the results of consecutive segments of one run."""
    if not tot:
        return dict(r, segments=1)
    tot['segments'] += 1
    for k in ('txns', 'committed', 'reads_checked', 'keys', 'cycle_components', 'g_single_undecided'):
        tot[k] += r[k]
    for k in ('max_list', 'largest_component'):
        tot[k] = max(tot[k], r[k])
    for k in ('aborted', 'ops', 'edges', 'anomalies'):
        for kk, v in r[k].items():
            tot[k][kk] = tot[k].get(kk, 0) + v
    tot['forbidden'] = sorted(set(tot['forbidden']) | set(r['forbidden']))
    for k, v in r['examples'].items():
        tot['examples'].setdefault(k, [])
        tot['examples'][k] = (tot['examples'][k] + v)[:3]
    return tot


def cmd_run(args):
    """Runs the workload in segments of at most --segment-seconds: the sessions stop
    between segments, each segment's history is checked against the state the tables had
    when it began (so memory stays bounded over an hour), the tables carry on."""
    lists, bank = args.prefix + '_lists', args.prefix + '_bank'
    conn = Conn(args.host, args.port, args.db, args.user)
    setup_tables(conn, args.am, lists, bank)
    nseg = max(1, int(-(-args.seconds // args.segment_seconds)))
    seg_seconds = args.seconds / nseg
    total = None
    failures = []
    elapsed = 0.0
    for seg in range(nseg):
        il, ib = final_state(conn, lists, bank)
        key_base = max(il, default=-1) + 1
        history = []
        lock = threading.Lock()
        start = time.time()
        deadline = time.monotonic() + seg_seconds

        def session(sid):
            try:
                rng = random.Random((args.seed * 1000 + seg) * 1000 + sid)
                c = Conn(args.host, args.port, args.db, args.user)
                c.must("SET statement_timeout = '300s'")
                mine = []
                i = 0
                while time.monotonic() < deadline:
                    i += 1
                    mine.append(random_txn(rng, c, (seg * 1000 + sid) * 1000000 + i, i, args.level,
                                           lists, bank, key_base))
                c.close()
                with lock:
                    history.extend(mine)
            except Exception as e:     # a lost connection or a protocol surprise: the run fails
                with lock:
                    failures.append('segment %d session %d: %r' % (seg, sid, e))

        threads = [threading.Thread(target=session, args=(s,)) for s in range(1, args.sessions + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed += time.time() - start
        fl, fb = final_state(conn, lists, bank)
        res = check(history, fl, fb, args.level, il, ib)
        if res['forbidden'] and args.history:
            # the evidence: this segment's history and the states around it
            with open('%s.%d' % (args.history, seg), 'w') as f:
                f.write(json.dumps({'initial_lists': il, 'initial_bank': ib}) + '\n')
                for t in sorted(history, key=lambda t: t.get('t0', 0)):
                    f.write(json.dumps(t) + '\n')
                f.write(json.dumps({'final_lists': fl, 'final_bank': fb}) + '\n')
        total = add_results(total, res)
        if nseg > 1:
            print('SEGMENT %d/%d: %d txns, %d committed, forbidden %s'
                  % (seg + 1, nseg, res['txns'], res['committed'], res['forbidden'] or 'none'), flush=True)
        del history
    conn.close()
    total.update({'am': args.am, 'seed': args.seed, 'sessions': args.sessions,
                  'seconds': round(elapsed, 1), 'session_failures': failures,
                  'tps': round(total['committed'] / elapsed, 1) if elapsed else 0})
    print('RESULT ' + json.dumps(total), flush=True)
    return 0


# Scenarios: (session, step) lists; sessions 1 and 2 each run one transaction.
SCENARIOS = {
    # both read keys 1 and 2, each appends to a different one: write skew (G2)
    'write-skew': [(1, 'begin'), (2, 'begin'), (1, ('r', 1)), (1, ('r', 2)), (2, ('r', 1)),
                   (2, ('r', 2)), (1, ('a', 1)), (2, ('a', 2)), (1, 'commit'), (2, 'commit')],
    # 1 reads key 1, 2 appends to keys 1 and 2 and commits, 1 reads key 2: read skew (G-single)
    'read-skew': [(1, 'begin'), (1, ('r', 1)), (2, 'begin'), (2, ('a', 1)), (2, ('a', 2)),
                  (2, 'commit'), (1, ('r', 2)), (1, 'commit')],
    # both read account 1; 2 writes it and commits, then 1 writes it: lost update
    'lost-update': [(1, 'begin'), (1, ('br', 1)), (1, ('br', 2)), (2, 'begin'), (2, ('br', 1)),
                    (2, ('br', 3)), (2, ('bw', 1, -10)), (2, ('bw', 3, 10)), (2, 'commit'),
                    (1, ('bw', 1, -5)), (1, ('bw', 2, 5)), (1, 'commit')],
}


def cmd_scenario(args):
    lists, bank = args.prefix + '_lists', args.prefix + '_bank'
    conn = Conn(args.host, args.port, args.db, args.user)
    setup_tables(conn, args.am, lists, bank)
    conns = {s: Conn(args.host, args.port, args.db, args.user) for s in (1, 2)}
    for c in conns.values():
        c.must("SET lock_timeout = '10s'")
    txns = {s: Txn(conns[s], s, args.level, lists, bank, 'scenario') for s in (1, 2)}
    for s, step in SCENARIOS[args.name]:
        t = txns[s]
        if step == 'begin':
            t.begin()
        elif step == 'commit':
            t.commit()
        elif step[0] == 'r':
            t.read(step[1])
        elif step[0] == 'a':
            t.append(step[1])
        elif step[0] == 'br':
            t.bank_read(step[1])
        elif step[0] == 'bw':
            t.bank_write(step[1], step[2])
    history = [t.rec for t in txns.values()]
    fl, fb = final_state(conn, lists, bank)
    res = check(history, fl, fb, args.level)
    res.update({'am': args.am, 'scenario': args.name,
                'outcomes': {str(t['id']): t['err'] or 'commit' for t in history}})
    print('RESULT ' + json.dumps(res), flush=True)
    return 0


def T(tid, ops, ok=True, err=None, kind='list', level='ser'):
    return {'id': tid, 'lvl': level, 'kind': kind, 'ops': ops, 'ok': ok, 'err': None if ok else (err or '40001')}


def L(*xs):
    return '{' + ','.join(map(str, xs)) + '}'


BANK0 = {a: (INITIAL_BALANCE, 0, 0) for a in range(1, N_ACCOUNTS + 1)}

# name, level, history, final lists, final bank, the kinds the checker must report
SELF_TESTS = [
    ('serial history', 'ser',
     [T(1, [['a', 1, 10], ['r', 1, L(10)]]), T(2, [['r', 1, L(10)], ['a', 1, 20], ['a', 2, 21]]),
      T(3, [['r', 1, L(10, 20)], ['r', 2, L(21)]]), T(4, [['a', 2, 40]], ok=False)],
     {1: [10, 20], 2: [21]}, BANK0, set()),
    ('G0 write cycle', 'rc',
     [T(1, [['a', 1, 10], ['a', 2, 11]]), T(2, [['a', 1, 20], ['a', 2, 21]])],
     {1: [10, 20], 2: [21, 11]}, BANK0, {'G0'}),
    ('G1a aborted read', 'rc',
     [T(1, [['a', 1, 10]], ok=False), T(2, [['r', 1, L(10)]])],
     {}, BANK0, {'G1a'}),
    ('G1a aborted write in the final state', 'rc',
     [T(1, [['a', 1, 10]], ok=False)],
     {1: [10]}, BANK0, {'G1a'}),
    ('G1b intermediate read', 'rc',
     [T(1, [['a', 1, 10], ['a', 1, 11]]), T(2, [['r', 1, L(10)]])],
     {1: [10, 11]}, BANK0, {'G1b'}),
    ('G1c circular information flow', 'rc',
     [T(1, [['a', 1, 10], ['r', 2, L(20)]]), T(2, [['a', 2, 20], ['r', 1, L(10)]])],
     {1: [10], 2: [20]}, BANK0, {'G1c'}),
    ('G-single read skew', 'rr',
     [T(1, [['r', 1, None], ['r', 2, L(21)]]), T(2, [['a', 1, 20], ['a', 2, 21]])],
     {1: [20], 2: [21]}, BANK0, {'G-single', 'G-nonadjacent', 'G2'}),
    ('G2 write skew (allowed at RR)', 'rr',
     [T(1, [['r', 1, None], ['r', 2, None], ['a', 1, 10]]), T(2, [['r', 1, None], ['r', 2, None], ['a', 2, 20]])],
     {1: [10], 2: [20]}, BANK0, {'G2'}),
    ('G2 write skew', 'ser',
     [T(1, [['r', 1, None], ['r', 2, None], ['a', 1, 10]]), T(2, [['r', 1, None], ['r', 2, None], ['a', 2, 20]])],
     {1: [10], 2: [20]}, BANK0, {'G2'}),
    ('G-nonadjacent: two rw edges apart', 'rr',
     [T(1, [['a', 1, 10], ['a', 4, 40]]), T(2, [['r', 1, L(10)], ['r', 2, None]]),
      T(3, [['a', 2, 20], ['a', 3, 30]]), T(4, [['r', 3, L(30)], ['r', 4, None]])],
     {1: [10], 2: [20], 3: [30], 4: [40]}, BANK0, {'G-nonadjacent', 'G2'}),
    ('lost append', 'rc',
     [T(1, [['a', 1, 10]]), T(2, [['a', 1, 20]])],
     {1: [20]}, BANK0, {'lost-append'}),
    ('duplicate', 'rc',
     [T(1, [['a', 1, 10]])],
     {1: [10, 10]}, BANK0, {'duplicate'}),
    ('garbage read', 'rc',
     [T(1, [['a', 1, 10]]), T(2, [['r', 1, L(10, 99)]])],
     {1: [10]}, BANK0, {'garbage'}),
    ('incompatible order', 'rc',
     [T(1, [['a', 1, 10]]), T(2, [['a', 1, 20]]), T(3, [['r', 1, L(20)]])],
     {1: [10, 20]}, BANK0, {'incompatible-order'}),
    ('own append not seen', 'rc',
     [T(1, [['a', 1, 10], ['r', 1, None]])],
     {1: [10]}, BANK0, {'internal'}),
    ('non-repeatable read', 'rr',
     [T(1, [['r', 1, None], ['r', 1, L(20)]]), T(2, [['a', 1, 20]])],
     {1: [20]}, BANK0, {'non-repeatable', 'G-single', 'G-nonadjacent', 'G2'}),
    ('non-repeatable read (allowed at RC)', 'rc',
     [T(1, [['r', 1, None], ['r', 1, L(20)]]), T(2, [['a', 1, 20]])],
     {1: [20]}, BANK0, {'G-single', 'G-nonadjacent', 'G2'}),
    ('bank lost update', 'rr',
     [T(1, [['br', 1, 100, 0, 0], ['br', 2, 100, 0, 0], ['bw', 1, 90, 1], ['bw', 2, 110, 1]], kind='transfer'),
      T(2, [['br', 1, 100, 0, 0], ['br', 3, 100, 0, 0], ['bw', 1, 80, 1], ['bw', 3, 120, 1]], kind='transfer')],
     {}, {**BANK0, 1: (80, 1, 2), 2: (110, 1, 1), 3: (120, 1, 2)}, {'lost-update', 'bank-total'}),
    ('bank read of an aborted write', 'rr',
     [T(1, [['br', 1, 100, 0, 0], ['br', 2, 100, 0, 0], ['bw', 1, 90, 1], ['bw', 2, 110, 1]], kind='transfer', ok=False),
      T(2, [['br', 1, 90, 1, 1]], kind='audit')],
     {}, BANK0, {'G1a'}),
    ('bank audit off by the total', 'rr',
     [T(1, [['br', a, 100 if a > 1 else 90, 0, 0] for a in range(1, N_ACCOUNTS + 1)], kind='audit')],
     {}, BANK0, {'garbage', 'bank-total'}),
    ('bank read skew in an audit', 'rc',
     [T(1, [['br', 1, 100, 0, 0], ['br', 2, 100, 0, 0], ['bw', 1, 90, 1], ['bw', 2, 110, 1]], kind='transfer'),
      T(2, [['br', a, 100 if a != 2 else 110, 0 if a != 2 else 1, 0 if a != 2 else 1]
            for a in range(1, N_ACCOUNTS + 1)], kind='audit')],
     {}, {**BANK0, 1: (90, 1, 1), 2: (110, 1, 1)}, {'bank-total', 'G-single', 'G-nonadjacent', 'G2'}),
    ('stale read of a list (initial state [5])', 'rc',
     [T(1, [['r', 1, None]]), T(2, [['r', 1, L(5)], ['a', 1, 10]])],
     {1: [5, 10]}, BANK0, {'stale-read'}, {1: [5]}, None),
    ('stale read of an account (initial version 7)', 'rr',
     [T(1, [['br', 1, 100, 6, 99]], kind='audit'), T(2, [['br', 2, 100, 0, 0]], kind='audit')],
     {}, {**BANK0, 1: (100, 7, 98)}, {'stale-read'}, None, {**BANK0, 1: (100, 7, 98)}),
    ('serial history after an initial state', 'ser',
     [T(1, [['r', 1, L(5)], ['a', 1, 10], ['br', 1, 100, 7, 98], ['br', 2, 100, 0, 0],
            ['bw', 1, 90, 8], ['bw', 2, 110, 1]], kind='transfer'),
      T(2, [['r', 1, L(5, 10)]] + [['br', a, 90 if a == 1 else 110 if a == 2 else 100,
                                    8 if a == 1 else 1 if a == 2 else 0, 1 if a <= 2 else 0]
                                   for a in range(1, N_ACCOUNTS + 1)], kind='audit')],
     {1: [5, 10]}, {**BANK0, 1: (90, 8, 1), 2: (110, 1, 1)}, set(), {1: [5]}, {**BANK0, 1: (100, 7, 98)}),
    ('unexpected error', 'rc',
     [T(1, [['a', 1, 10]], ok=False, err='XX001')],
     {}, BANK0, {'unexpected-error'}),
]


def cmd_self_test(args):
    bad = 0
    for name, level, hist, fl, fb, want, *init in SELF_TESTS:
        res = check(hist, fl, fb, level, *init)
        got = {k for k, n in res['anomalies'].items() if n}
        ok = got == want
        bad += not ok
        print('SELFTEST ' + json.dumps({'name': name, 'level': level, 'expected': sorted(want),
                                        'got': sorted(got), 'ok': ok,
                                        'forbidden': res['forbidden']}), flush=True)
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name in ('run', 'scenario'):
        p = sub.add_parser(name)
        p.add_argument('--host', required=True)
        p.add_argument('--port', type=int, required=True)
        p.add_argument('--db', default='postgres')
        p.add_argument('--user', default=os.environ.get('PGUSER') or os.environ.get('USER') or 'postgres')
        p.add_argument('--am', required=True)
        p.add_argument('--level', choices=LEVELS, required=True)
        p.add_argument('--prefix', required=True)
        if name == 'run':
            p.add_argument('--seconds', type=float, default=10)
            p.add_argument('--sessions', type=int, default=8)
            p.add_argument('--seed', type=int, default=1)
            p.add_argument('--segment-seconds', type=float, default=60)
            p.add_argument('--history', help='write the history of a segment with a forbidden anomaly '
                           '(JSON lines) to this path plus the segment number')
        else:
            p.add_argument('name', choices=SCENARIOS)
    sub.add_parser('self-test')
    args = ap.parse_args()
    if args.cmd == 'run':
        return cmd_run(args)
    if args.cmd == 'scenario':
        return cmd_scenario(args)
    return cmd_self_test(args)


if __name__ == '__main__':
    sys.exit(main())
