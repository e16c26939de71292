"""Bounded Jepsen-style checks of isolation and atomicity through both coordinators
(opt-in; h-jepsen8). Each workload runs clients over the two coordinators for at most
--seconds and a fixed number of operations, keeps a history (JSON lines, one per
operation) in --history-dir, and prints operations, errors by SQLSTATE and every anomaly
(exit 1 if any):

  counters, counters_rr, counters_repl   READ COMMITTED / REPEATABLE READ increments,
                                         SELECT ... FOR UPDATE then UPDATE, whole-table
                                         updates, COMMIT simple and extended: final counts
                                         = acknowledged increments (COMMIT errors: unknown)
  skew          pairs of rows on two nodes moved together: no reader (READ COMMITTED
                statement, REPEATABLE READ transaction) sees half a transaction; a writer
                reads its commit at once on the other coordinator
  upsert, upsert_repl   ON CONFLICT DO UPDATE / DO NOTHING / plain INSERT on hot keys
  seqs          serial, identity, bigserial on HASH and REPLICATION tables: ids unique
  atomic        multi-node transactions that commit, roll back, fail on a unique key, or
                lose their connection mid-transaction or right after sending COMMIT
  savepoints    ROLLBACK TO / RELEASE of contended inserts inside multi-node transactions
  causal[:rcblock|:rr]  a row on each node bumped together; a reader reads one, then the
                other: the second may not show fewer commits (a documented limit in
                READ COMMITTED, docs/architecture.md "What gridpg does not guarantee yet")

usage: python bench/jepsen_checks.py WORKLOAD [--seconds S] [--dsns DSN1,DSN2]
Without --dsns a fresh cluster is started (bench/common.py) and stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import sys
import time
from pathlib import Path

import asyncpg

HIST_DIR = "/tmp"


class History:
    def __init__(self, name: str) -> None:
        self.file = open(f"{HIST_DIR}/hist_{name}.jsonl", "w")  # noqa: SIM115 - closed by report()
        self.errors: collections.Counter[str] = collections.Counter()
        self.ops = 0
        self.anomalies: list[str] = []
        self.t0 = time.monotonic()

    def log(self, **kw: object) -> None:
        kw["t"] = round(time.monotonic() - self.t0, 4)
        self.file.write(json.dumps(kw, default=str) + "\n")

    def error(self, exc: BaseException) -> str:
        code = getattr(exc, "sqlstate", None) or type(exc).__name__
        self.errors[code] += 1
        return code

    def anomaly(self, text: str) -> None:
        self.anomalies.append(text)
        self.log(kind="ANOMALY", text=text)

    def report(self, name: str, extra: str = "") -> int:
        self.file.close()
        took = time.monotonic() - self.t0
        print(f"[{name}] ops={self.ops} seconds={took:.1f} errors={dict(self.errors)} {extra}")
        for a in self.anomalies[:20]:
            print("  ANOMALY:", a)
        return 1 if self.anomalies else 0


async def connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, command_timeout=30)


async def setup(port: str, statements: list[str]) -> None:
    conn = await connect(port)
    try:
        for s in statements:
            await conn.execute(s)
    finally:
        await conn.close()


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None)


# ---------------------------------------------------------------- lost update / counters

async def counters(ports: list[str], seconds: float, repl: bool, iso: str = "read_committed") -> int:
    name = ("counters_repl" if repl else "counters") + ("_rr" if iso != "read_committed" else "")
    h = History(name)
    dist = "DISTRIBUTE BY REPLICATION" if repl else "DISTRIBUTE BY HASH(id)"
    keys = 4 if repl else 8
    await setup(ports[0], [
        f"DROP TABLE IF EXISTS j_{name}",
        f"DROP TABLE IF EXISTS j_{name}_log",
        f"CREATE TABLE j_{name} (id int PRIMARY KEY, n bigint NOT NULL) {dist}",
        f"CREATE TABLE j_{name}_log (op text PRIMARY KEY, ids int[]) DISTRIBUTE BY HASH(op)",
        f"INSERT INTO j_{name} SELECT g, 0 FROM generate_series(1, {keys}) g",
    ])
    acked: collections.Counter[int] = collections.Counter()
    unknown: list[tuple[str, list[int]]] = []
    acked_ops: set[str] = set()
    failed_ops: set[str] = set()
    until = time.monotonic() + seconds
    max_ops = 3000

    async def worker(w: int) -> None:
        rng = random.Random(w)
        conn = await connect(ports[w % 2])
        i = 0
        while time.monotonic() < until and h.ops < max_ops:
            i += 1
            op = f"w{w}-{i}"
            ids = rng.sample(range(1, keys + 1), rng.randint(1, 3))
            if rng.random() < 0.7:
                ids.sort()
            modes = ["incr", "forupdate", "all"] + (["rmw", "rmw"] if iso != "read_committed" else [])
            mode = rng.choice(modes)
            if mode == "all":
                ids = list(range(1, keys + 1))
            extended = rng.random() < 0.5
            phase = "begin"
            try:
                await conn.execute("BEGIN ISOLATION LEVEL " + iso.replace("_", " ").upper())
                phase = "body"
                if mode == "all":
                    await conn.execute(f"UPDATE j_{name} SET n = n + 1")
                for k in ids if mode != "all" else []:
                    if mode == "rmw":
                        v = await conn.fetchval(f"SELECT n FROM j_{name} WHERE id = $1", k)
                        await asyncio.sleep(0.002)
                        await conn.execute(f"UPDATE j_{name} SET n = $2 WHERE id = $1", k, v + 1)
                    elif mode == "incr":
                        await conn.execute(f"UPDATE j_{name} SET n = n + 1 WHERE id = $1", k)
                    else:
                        v = await conn.fetchval(f"SELECT n FROM j_{name} WHERE id = $1 FOR UPDATE", k)
                        await conn.execute(f"UPDATE j_{name} SET n = $2 WHERE id = $1", k, v + 1)
                await conn.execute(f"INSERT INTO j_{name}_log VALUES ($1, $2)", op, ids)
                phase = "commit"
                if extended:  # COMMIT through the extended protocol (prepared), not a simple Query
                    await conn.fetch("COMMIT")
                else:
                    await conn.execute("COMMIT")
                h.ops += 1
                acked_ops.add(op)
                for k in ids:
                    acked[k] += 1
                h.log(kind="commit", op=op, ids=ids, mode=mode, ok=True)
            except Exception as exc:  # noqa: BLE001
                code = h.error(exc)
                h.log(kind="fail", op=op, ids=ids, mode=mode, phase=phase, code=code, msg=str(exc)[:200])
                if phase == "commit" and code not in ("40001", "40P01"):
                    unknown.append((op, ids))
                else:
                    failed_ops.add(op)
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
                if conn.is_closed():
                    conn = await connect(ports[w % 2])
        await conn.close()

    await asyncio.gather(*(worker(w) for w in range(8)))
    conn = await connect(ports[1])
    final = dict(await conn.fetch(f"SELECT id, n FROM j_{name}"))
    logged = {r["op"]: list(r["ids"]) for r in await conn.fetch(f"SELECT op, ids FROM j_{name}_log")}
    await conn.close()
    for op in acked_ops - logged.keys():
        h.anomaly(f"acknowledged op {op} missing from log")
    for op in failed_ops & logged.keys():
        h.anomaly(f"failed op {op} present in log")
    from_log: collections.Counter[int] = collections.Counter()
    for ids in logged.values():
        for k in ids:
            from_log[k] += 1
    for k in range(1, keys + 1):
        if final.get(k) != from_log[k]:
            h.anomaly(f"counter {k}: n={final.get(k)} but log says {from_log[k]} (acked {acked[k]})")
        lo, hi = acked[k], acked[k] + sum(1 for _, ids in unknown if k in ids)
        if not lo <= final.get(k, -1) <= hi:
            h.anomaly(f"counter {k}: n={final.get(k)} outside acked range [{lo}, {hi}]")
    return h.report(name, f"unknown={len(unknown)} final_sum={sum(final.values())} acked_sum={sum(acked.values())}")


# ---------------------------------------------------------------- read skew / snapshots

async def skew(ports: list[str], seconds: float) -> int:
    """Pairs (a, b) on different nodes always updated together, a + b = 0; every pair also
    carries a version; readers check a + b == 0 and versions agree, in one statement and
    across statements of one RR transaction; writers read their own write on the other
    coordinator right after COMMIT."""
    h = History("skew")
    await setup(ports[0], [
        "DROP TABLE IF EXISTS j_skew",
        "CREATE TABLE j_skew (id int PRIMARY KEY, v bigint NOT NULL, ver bigint NOT NULL) DISTRIBUTE BY HASH(id)",
        "INSERT INTO j_skew SELECT g, 0, 0 FROM generate_series(1, 40) g",
    ])
    # find pairs on different nodes: ask each datanode? use gridpg's routing: we just pair by
    # checking which node owns a row via EXPLAIN is costly; datanode direct query instead.
    c = await connect(ports[0])
    nodes = {}
    for g in range(1, 41):
        plan = "\n".join(r[0] for r in await c.fetch(f"EXPLAIN SELECT * FROM j_skew WHERE id = {g}"))
        nodes[g] = "dn1" if "Nodes: dn1\n" in plan + "\n" else ("dn2" if "Nodes: dn2\n" in plan + "\n" else "?")
    await c.close()
    ones = [g for g in nodes if nodes[g] == "dn1"]
    twos = [g for g in nodes if nodes[g] == "dn2"]
    allpairs = list(zip(ones, twos))
    pairs = allpairs[:8]
    private = allpairs[8:14]
    if not pairs:
        print("no pairs", nodes)
        return 1
    h.log(kind="pairs", pairs=pairs)
    until = time.monotonic() + seconds

    async def writer(w: int) -> None:
        rng = random.Random(w)
        conn = await connect(ports[w % 2])
        other = await connect(ports[(w + 1) % 2])
        ver = 0
        while time.monotonic() < until and h.ops < 12000:
            a, b = pairs[rng.randrange(len(pairs))]
            ver += 1
            vv = w * 1_000_000 + ver
            amt = rng.randint(1, 9)
            tr = conn.transaction()
            phase = "body"
            try:
                await tr.start()
                await conn.execute("UPDATE j_skew SET v = v - $2, ver = $3 WHERE id = $1", a, amt, vv)
                await conn.execute("UPDATE j_skew SET v = v + $2, ver = $3 WHERE id = $1", b, amt, vv)
                phase = "commit"
                await tr.commit()
                h.ops += 1
                h.log(kind="write", w=w, a=a, b=b, ver=vv)
            except Exception as exc:  # noqa: BLE001
                code = h.error(exc)
                h.log(kind="write-fail", w=w, a=a, b=b, ver=vv, phase=phase, code=code, msg=str(exc)[:200])
                with contextlib.suppress(Exception):
                    await tr.rollback()
                if conn.is_closed():
                    conn = await connect(ports[w % 2])
                continue
            if w < len(private):
                await ryw(w, conn, other, rng)

        await conn.close()
        await other.close()

    async def ryw(w: int, conn: asyncpg.Connection, other: asyncpg.Connection, rng: random.Random) -> None:
        """The writer's private pair: commit on one coordinator, read at once on the other
        (routed reads of each node, then one multi-node read): exactly our version."""
        a, b = private[w]
        vv = int(time.monotonic() * 1e6)
        tr = conn.transaction()
        phase = "body"
        try:
            await tr.start()
            await conn.execute("UPDATE j_skew SET ver = $2 WHERE id = $1", a, vv)
            await conn.execute("UPDATE j_skew SET ver = $2 WHERE id = $1", b, vv)
            phase = "commit"
            await tr.commit()
        except Exception as exc:  # noqa: BLE001
            code = h.error(exc)
            h.log(kind="ryw-write-fail", w=w, ver=vv, phase=phase, code=code, msg=str(exc)[:200])
            with contextlib.suppress(Exception):
                await tr.rollback()
            return
        h.ops += 1
        try:
            order = [a, b] if rng.random() < 0.5 else [b, a]
            seen = [await other.fetchval("SELECT ver FROM j_skew WHERE id = $1", k) for k in order]
            both = await other.fetch("SELECT id, ver FROM j_skew WHERE id = ANY($1::int[])", [a, b])
            mine = await conn.fetchval("SELECT ver FROM j_skew WHERE id = $1", order[0])
            h.log(kind="ryw", w=w, a=a, b=b, ver=vv, order=order, seen=seen, both=[list(r) for r in both], mine=mine)
            if seen != [vv, vv] or any(r["ver"] != vv for r in both) or mine != vv:
                h.anomaly(f"read-your-writes: committed ver {vv} on pair {order} via coord {w % 2}; "
                          f"other coord routed reads {seen}, multi-node {[list(r) for r in both]}, own coord {mine}")
        except Exception as exc:  # noqa: BLE001
            h.error(exc)

    async def rr_reader(r: int) -> None:
        rng = random.Random(100 + r)
        conn = await connect(ports[r % 2])
        while time.monotonic() < until and h.ops < 12000:
            iso = rng.choice(["repeatable_read", "serializable_ro"])
            a, b = pairs[rng.randrange(len(pairs))]
            try:
                if iso == "repeatable_read":
                    tr = conn.transaction(isolation="repeatable_read")
                else:
                    tr = conn.transaction(isolation="repeatable_read", readonly=True)
                await tr.start()
                try:
                    ra = await conn.fetchrow("SELECT v, ver FROM j_skew WHERE id = $1", a)
                    await asyncio.sleep(rng.random() * 0.03)
                    rb = await conn.fetchrow("SELECT v, ver FROM j_skew WHERE id = $1", b)
                    tot = await conn.fetchval("SELECT sum(v) FROM j_skew")
                    ra2 = await conn.fetchrow("SELECT v, ver FROM j_skew WHERE id = $1", a)
                finally:
                    await tr.rollback()
                h.ops += 1
                h.log(kind="rr", r=r, a=a, b=b, ra=list(ra), rb=list(rb), tot=tot)
                if ra["ver"] != rb["ver"] or ra["v"] + rb["v"] != 0 or tot != 0 or ra2 != ra:
                    h.anomaly(f"RR reader saw a=({a}:{list(ra)}) b=({b}:{list(rb)}) total={tot} a again={list(ra2)}")
            except Exception as exc:  # noqa: BLE001
                h.error(exc)
                h.log(kind="rr-fail", code=sqlstate(exc), msg=str(exc)[:200])
                if conn.is_closed():
                    conn = await connect(ports[r % 2])

    async def rc_reader(r: int) -> None:
        conn = await connect(ports[r % 2])
        while time.monotonic() < until and h.ops < 12000:
            try:
                rows = await conn.fetch("SELECT id, v, ver FROM j_skew")
                tot = await conn.fetchval("SELECT sum(v) FROM j_skew")
                h.ops += 1
                d = {x["id"]: x for x in rows}
                for a, b in pairs:
                    if d[a]["ver"] != d[b]["ver"] or d[a]["v"] + d[b]["v"] != 0:
                        h.anomaly(f"RC one-statement read: pair ({a},{b}) = {list(d[a])} {list(d[b])}")
                if tot != 0:
                    h.anomaly(f"RC sum = {tot}")
            except Exception as exc:  # noqa: BLE001
                h.error(exc)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(writer(w) for w in range(6)), *(rr_reader(r) for r in range(3)),
                         *(rc_reader(r) for r in range(2)))
    return h.report("skew")


# ---------------------------------------------------------------- upserts

async def upsert(ports: list[str], seconds: float, repl: bool) -> int:
    name = "upsert_repl" if repl else "upsert"
    h = History(name)
    dist = "DISTRIBUTE BY REPLICATION" if repl else "DISTRIBUTE BY HASH(k)"
    keys = 6 if repl else 20
    await setup(ports[0], [
        f"DROP TABLE IF EXISTS j_{name}", f"DROP TABLE IF EXISTS j_{name}_once",
        f"CREATE TABLE j_{name} (k int PRIMARY KEY, n bigint NOT NULL) {dist}",
        f"CREATE TABLE j_{name}_once (k int PRIMARY KEY, who text NOT NULL) {dist}",
    ])
    acked: collections.Counter[int] = collections.Counter()
    unknown: collections.Counter[int] = collections.Counter()
    inserted_once: collections.defaultdict[int, list[str]] = collections.defaultdict(list)
    until = time.monotonic() + seconds

    async def worker(w: int) -> None:
        rng = random.Random(w)
        conn = await connect(ports[w % 2])
        i = 0
        while time.monotonic() < until and h.ops < 4000:
            i += 1
            k = rng.randint(1, keys)
            kind = rng.choice(["upd", "upd", "nothing", "plain", "block"])
            try:
                if kind == "upd":
                    await conn.execute(f"INSERT INTO j_{name} VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = j_{name}.n + 1", k)
                    acked[k] += 1
                elif kind == "block":
                    # two upserts of keys on (likely) both nodes in one transaction
                    k2 = rng.randint(1, keys)
                    tr = conn.transaction()
                    await tr.start()
                    try:
                        await conn.execute(f"INSERT INTO j_{name} VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = j_{name}.n + 1", k)
                        await conn.execute(f"INSERT INTO j_{name} VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = j_{name}.n + 1", k2)
                    except BaseException:
                        await tr.rollback()
                        raise
                    try:
                        await tr.commit()
                    except Exception as exc:
                        if sqlstate(exc) not in ("40001", "40P01"):
                            unknown[k] += 1
                            unknown[k2] += 1
                        raise
                    acked[k] += 1
                    acked[k2] += 1
                elif kind == "nothing":
                    st = await conn.execute(f"INSERT INTO j_{name}_once VALUES ($1, $2) ON CONFLICT DO NOTHING", k, f"w{w}-{i}")
                    if st == "INSERT 0 1":
                        inserted_once[k].append(f"w{w}-{i}")
                else:
                    try:
                        await conn.execute(f"INSERT INTO j_{name}_once VALUES ($1, $2)", k, f"w{w}-{i}")
                        inserted_once[k].append(f"w{w}-{i}")
                    except asyncpg.UniqueViolationError:
                        h.errors["23505"] += 1
                h.ops += 1
            except Exception as exc:  # noqa: BLE001
                code = h.error(exc)
                h.log(kind="fail", w=w, k=k, op=kind, code=code, msg=str(exc)[:200])
                if conn.is_closed():
                    conn = await connect(ports[w % 2])
        await conn.close()

    await asyncio.gather(*(worker(w) for w in range(8)))
    conn = await connect(ports[1])
    final = dict(await conn.fetch(f"SELECT k, n FROM j_{name}"))
    once = await conn.fetch(f"SELECT k, who FROM j_{name}_once")
    dup = await conn.fetch(f"SELECT k, count(*) FROM j_{name}_once GROUP BY k HAVING count(*) > 1")
    await conn.close()
    for k in range(1, keys + 1):
        if not acked[k] <= final.get(k, 0) <= acked[k] + unknown[k]:
            h.anomaly(f"upsert key {k}: n={final.get(k)} acked={acked[k]} unknown={unknown[k]}")
        if len(inserted_once[k]) > 1:
            h.anomaly(f"key {k} inserted (acknowledged) by {inserted_once[k]}")
    for r in once:
        if inserted_once[r["k"]] != [r["who"]]:
            h.anomaly(f"once key {r['k']} holds {r['who']} but acknowledged inserts {inserted_once[r['k']]}")
    if dup:
        h.anomaly(f"duplicate keys: {[list(r) for r in dup]}")
    return h.report(name, f"acked={sum(acked.values())} final={sum(final.values())} once_rows={len(once)}")


# ---------------------------------------------------------------- sequences

async def seqs(ports: list[str], seconds: float) -> int:
    h = History("seqs")
    await setup(ports[0], [
        "DROP TABLE IF EXISTS j_seq_s", "DROP TABLE IF EXISTS j_seq_i", "DROP TABLE IF EXISTS j_seq_r",
        "CREATE TABLE j_seq_s (id serial PRIMARY KEY, w text) DISTRIBUTE BY HASH(id)",
        "CREATE TABLE j_seq_i (id bigint GENERATED ALWAYS AS IDENTITY, k int, w text) DISTRIBUTE BY HASH(k)",
        "CREATE TABLE j_seq_r (id bigserial PRIMARY KEY, w text) DISTRIBUTE BY REPLICATION",
    ])
    got: dict[str, list[int]] = collections.defaultdict(list)
    until = time.monotonic() + seconds

    async def worker(w: int) -> None:
        rng = random.Random(w)
        conn = await connect(ports[w % 2])
        while time.monotonic() < until and h.ops < 6000:
            t = rng.choice(["s", "i", "r", "multi"])
            try:
                if t == "s":
                    got["s"].append(await conn.fetchval("INSERT INTO j_seq_s (w) VALUES ($1) RETURNING id", f"w{w}"))
                elif t == "i":
                    got["i"].append(await conn.fetchval("INSERT INTO j_seq_i (k, w) VALUES ($1, $2) RETURNING id", rng.randint(1, 99), f"w{w}"))
                elif t == "r":
                    got["r"].append(await conn.fetchval("INSERT INTO j_seq_r (w) VALUES ($1) RETURNING id", f"w{w}"))
                else:
                    rows = await conn.fetch("INSERT INTO j_seq_i (k, w) VALUES (1, 'm'), (2, 'm'), (3, 'm'), (4, 'm') RETURNING id")
                    got["i"].extend(r["id"] for r in rows)
                h.ops += 1
            except Exception as exc:  # noqa: BLE001
                h.error(exc)
                h.log(kind="fail", msg=str(exc)[:200])
        await conn.close()

    await asyncio.gather(*(worker(w) for w in range(8)))
    conn = await connect(ports[1])
    for t, tab in (("s", "j_seq_s"), ("i", "j_seq_i"), ("r", "j_seq_r")):
        ids = [r[0] for r in await conn.fetch(f"SELECT id FROM {tab}")]
        if len(ids) != len(set(ids)):
            h.anomaly(f"{tab}: duplicate ids in table ({len(ids)} rows, {len(set(ids))} distinct)")
        if len(got[t]) != len(set(got[t])):
            h.anomaly(f"{tab}: duplicate ids returned")
        if sorted(ids) != sorted(got[t]):
            h.anomaly(f"{tab}: table ids differ from acknowledged ({len(ids)} vs {len(got[t])})")
    await conn.close()
    return h.report("seqs", " ".join(f"{t}={len(v)}" for t, v in got.items()))


# ---------------------------------------------------------------- atomicity

async def atomic(ports: list[str], seconds: float) -> int:
    """Transactions insert GROUP rows (txn id, 6 keys over both nodes) plus one row of a
    REPLICATION table, and bump two counters; some ROLLBACK, some fail mid-way on a unique
    violation, some lose their connection mid-transaction or right after sending COMMIT.
    Readers check every txn is whole or absent; at the end acknowledged ones are whole."""
    h = History("atomic")
    await setup(ports[0], [
        "DROP TABLE IF EXISTS j_at", "DROP TABLE IF EXISTS j_at_r", "DROP TABLE IF EXISTS j_at_u",
        "CREATE TABLE j_at (txn text, part int, PRIMARY KEY (part, txn)) DISTRIBUTE BY HASH(part)",
        "CREATE TABLE j_at_r (txn text PRIMARY KEY) DISTRIBUTE BY REPLICATION",
        "CREATE TABLE j_at_u (k int PRIMARY KEY) DISTRIBUTE BY HASH(k)",
        "INSERT INTO j_at_u SELECT g FROM generate_series(1, 100) g",
    ])
    PARTS = 6
    outcome: dict[str, str] = {}
    until = time.monotonic() + seconds

    async def worker(w: int) -> None:
        rng = random.Random(w)
        conn = await connect(ports[w % 2])
        i = 0
        while time.monotonic() < until and h.ops < 3000:
            i += 1
            txn = f"w{w}-{i}"
            fate = rng.choices(["commit", "rollback", "violate", "kill", "kill_at_commit"], [5, 1, 1, 1, 1])[0]
            outcome[txn] = "pending-" + fate
            try:
                await conn.execute("BEGIN")
                for p in rng.sample(range(PARTS), PARTS):
                    await conn.execute("INSERT INTO j_at VALUES ($1, $2)", txn, p)
                    if fate == "violate" and p == 2:
                        await conn.execute("INSERT INTO j_at_u VALUES ($1)", rng.randint(1, 100))
                    if fate == "kill" and rng.random() < 0.3:
                        break
                await conn.execute("INSERT INTO j_at_r VALUES ($1)", txn)
                if fate == "rollback":
                    await conn.execute("ROLLBACK")
                    outcome[txn] = "rolledback"
                elif fate == "kill":
                    conn.terminate()
                    outcome[txn] = "killed"
                elif fate == "kill_at_commit":
                    # send COMMIT and close the socket without reading the answer
                    conn._transport.write(b"Q\x00\x00\x00\x0bCOMMIT\x00")
                    conn.terminate()
                    outcome[txn] = "unknown"
                else:
                    await conn.execute("COMMIT")
                    outcome[txn] = "committed"
                h.ops += 1
            except Exception as exc:  # noqa: BLE001
                code = h.error(exc)
                outcome[txn] = "failed" if fate != "commit" or code in ("23505", "40001", "40P01") else "unknown-" + code
                h.log(kind="fail", txn=txn, fate=fate, code=code, msg=str(exc)[:200])
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
            if conn.is_closed():
                conn = await connect(ports[w % 2])
        await conn.close()

    async def reader(r: int) -> None:
        rng = random.Random(50 + r)
        conn = await connect(ports[r % 2])
        while time.monotonic() < until and h.ops < 3000:
            try:
                rr = rng.random() < 0.5
                if rr:
                    await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                rows = await conn.fetch("SELECT txn, count(*) AS c FROM j_at GROUP BY txn")
                reps = {x[0] for x in await conn.fetch("SELECT txn FROM j_at_r")}
                if rr:
                    await conn.execute("COMMIT")
                for x in rows:
                    if x["c"] != PARTS:
                        h.anomaly(f"reader saw txn {x['txn']} with {x['c']} of {PARTS} rows (outcome {outcome.get(x['txn'])})")
                    if rr and x["txn"] not in reps:
                        h.anomaly(f"RR reader saw txn {x['txn']} in j_at but not in j_at_r")
                if rr:
                    for t in reps - {x["txn"] for x in rows}:
                        h.anomaly(f"RR reader saw txn {t} in j_at_r but not in j_at")
            except Exception as exc:  # noqa: BLE001
                h.error(exc)
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
            await asyncio.sleep(0.02)

    await asyncio.gather(*(worker(w) for w in range(8)), *(reader(r) for r in range(2)))
    await asyncio.sleep(3)  # killed sessions' blocks roll back
    conn = await connect(ports[1])
    rows = {x["txn"]: x["c"] for x in await conn.fetch("SELECT txn, count(*) AS c FROM j_at GROUP BY txn")}
    reps = {x[0] for x in await conn.fetch("SELECT txn FROM j_at_r")}
    await conn.close()
    counts = collections.Counter(outcome.values())
    for txn, out in outcome.items():
        present = rows.get(txn, 0)
        if present not in (0, PARTS):
            h.anomaly(f"final: txn {txn} ({out}) has {present} rows")
        if (present == PARTS) != (txn in reps):
            h.anomaly(f"final: txn {txn} ({out}) hash rows {present}, replicated row {txn in reps}")
        if out == "committed" and present != PARTS:
            h.anomaly(f"final: acknowledged txn {txn} missing")
        if out in ("rolledback", "killed", "failed") and present:
            h.anomaly(f"final: txn {txn} ({out}) is present")
    unknown_present = sum(1 for t, o in outcome.items() if o.startswith("unknown") and rows.get(t))
    return h.report("atomic", f"outcomes={dict(counts)} unknown_present={unknown_present}")


# ---------------------------------------------------------------- savepoints

async def savepoints(ports: list[str], seconds: float) -> int:
    """BEGIN; rows A (both nodes); SAVEPOINT; rows B on contended unique keys, which may
    fail (23505) or not; ROLLBACK TO (always, or RELEASE when B succeeded and a coin
    says so); rows C; COMMIT. Final: A and C of every acknowledged txn, B only if released."""
    h = History("savepoints")
    await setup(ports[0], [
        "DROP TABLE IF EXISTS j_sp", "DROP TABLE IF EXISTS j_sp_b",
        "CREATE TABLE j_sp (txn text, part text, k int, PRIMARY KEY (k, txn, part)) DISTRIBUTE BY HASH(k)",
        "CREATE TABLE j_sp_b (k int PRIMARY KEY, txn text) DISTRIBUTE BY HASH(k)",
    ])
    expect: dict[str, set[str]] = {}
    until = time.monotonic() + seconds

    async def worker(w: int) -> None:
        rng = random.Random(w)
        conn = await connect(ports[w % 2])
        i = 0
        while time.monotonic() < until and h.ops < 3000:
            i += 1
            txn = f"w{w}-{i}"
            parts = {"A"}
            try:
                await conn.execute("BEGIN")
                for k in range(4):
                    await conn.execute("INSERT INTO j_sp VALUES ($1, 'A', $2)", txn, k)
                await conn.execute("SAVEPOINT s1")
                b_ok = True
                try:
                    for k in rng.sample(range(200), 2):
                        await conn.execute("INSERT INTO j_sp_b VALUES ($1, $2)", k, txn)
                        await conn.execute("INSERT INTO j_sp VALUES ($1, 'B', $2)", txn, k)
                    if rng.random() < 0.3:
                        await conn.execute("UPDATE j_sp_b SET txn = txn WHERE k IN (1, 2, 3, 4)")
                except asyncpg.PostgresError as exc:
                    if sqlstate(exc) not in ("23505", "40P01", "40001"):
                        raise
                    h.error(exc)
                    b_ok = False
                if b_ok and rng.random() < 0.5:
                    await conn.execute("RELEASE SAVEPOINT s1")
                    parts.add("B")
                else:
                    await conn.execute("ROLLBACK TO SAVEPOINT s1")
                for k in range(4, 8):
                    await conn.execute("INSERT INTO j_sp VALUES ($1, 'C', $2)", txn, k)
                parts.add("C")
                await conn.execute("COMMIT")
                expect[txn] = parts
                h.ops += 1
            except Exception as exc:  # noqa: BLE001
                code = h.error(exc)
                h.log(kind="fail", txn=txn, code=code, msg=str(exc)[:200])
                expect[txn] = set() if code in ("40P01", "40001", "23505") else {"?"}
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
            if conn.is_closed():
                conn = await connect(ports[w % 2])
        await conn.close()

    await asyncio.gather(*(worker(w) for w in range(8)))
    conn = await connect(ports[1])
    got: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for x in await conn.fetch("SELECT txn, part FROM j_sp"):
        got[x["txn"]][x["part"]] += 1
    bowners = collections.Counter(x["txn"] for x in await conn.fetch("SELECT txn FROM j_sp_b"))
    await conn.close()
    for txn, parts in expect.items():
        if "?" in parts:
            continue
        g = got.get(txn, collections.Counter())
        want = {p: (2 if p == "B" else 4) for p in parts}
        if dict(g) != want:
            h.anomaly(f"txn {txn}: expected {want}, found {dict(g)}")
        if bowners[txn] != (2 if "B" in parts else 0):
            h.anomaly(f"txn {txn}: j_sp_b rows {bowners[txn]}, parts {parts}")
    return h.report("savepoints", f"txns={len(expect)} released={sum(1 for p in expect.values() if 'B' in p)}")


# ---------------------------------------------------------------- causal (monotonic) reads

MODE = ""


async def causal(ports: list[str], seconds: float) -> int:
    """Writer i owns pair (a on dn1, b on dn2) and bumps both in one transaction, so
    a.n == b.n after each commit. A reader reads one row, then (a later statement, maybe
    through the other coordinator) the other: under PostgreSQL the second read can never
    show fewer commits than the first (whatever the first saw had committed before the
    second began)."""
    h = History("causal")
    await setup(ports[0], [
        "DROP TABLE IF EXISTS j_cz",
        "CREATE TABLE j_cz (id int PRIMARY KEY, n bigint NOT NULL) DISTRIBUTE BY HASH(id)",
        "INSERT INTO j_cz SELECT g, 0 FROM generate_series(1, 40) g",
    ])
    c = await connect(ports[0])
    nodes = {}
    for g in range(1, 41):
        plan = "\n".join(r[0] for r in await c.fetch(f"EXPLAIN SELECT * FROM j_cz WHERE id = {g}"))
        nodes[g] = "dn1" if "Nodes: dn1\n" in plan + "\n" else "dn2"
    await c.close()
    pairs = list(zip([g for g in nodes if nodes[g] == "dn1"], [g for g in nodes if nodes[g] == "dn2"]))[:4]
    until = time.monotonic() + seconds
    stats = collections.Counter()

    async def writer(w: int) -> None:
        a, b = pairs[w]
        conn = await connect(ports[w % 2])
        while time.monotonic() < until and stats["writes"] < 20000:
            try:
                await conn.execute("BEGIN")
                await conn.execute("UPDATE j_cz SET n = n + 1 WHERE id = $1", a)
                await conn.execute("UPDATE j_cz SET n = n + 1 WHERE id = $1", b)
                await conn.execute("COMMIT")
                stats["writes"] += 1
            except Exception as exc:  # noqa: BLE001
                h.error(exc)
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")

    async def reader(r: int) -> None:
        rng = random.Random(r)
        c1 = await connect(ports[r % 2])
        c2 = await connect(ports[(r + 1) % 2]) if r >= 2 else c1
        while time.monotonic() < until and h.ops < 40000:
            a, b = pairs[rng.randrange(len(pairs))]
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            mode = MODE or "autocommit"
            try:
                if mode != "autocommit":
                    await c1.execute("BEGIN" + (" ISOLATION LEVEL REPEATABLE READ" if mode == "rr" else ""))
                    c2 = c1
                n1 = await c1.fetchval("SELECT n FROM j_cz WHERE id = $1", first)
                n2 = await c2.fetchval("SELECT n FROM j_cz WHERE id = $1", second)
                if mode != "autocommit":
                    await c1.execute("COMMIT")
                stats[mode] += 1
                h.ops += 1
                if n2 < n1:
                    stats["reversed"] += 1
                    h.anomaly(f"reader {r} ({'two coordinators' if c2 is not c1 else 'one session'}): "
                              f"row {first} ({nodes[first]}) n={n1}, then row {second} ({nodes[second]}) n={n2}")
            except Exception as exc:  # noqa: BLE001
                h.error(exc)

    await asyncio.gather(*(writer(w) for w in range(len(pairs))), *(reader(r) for r in range(4)))
    return h.report("causal", f"writes={stats['writes']} reversed={stats['reversed']}")


WORKLOADS = ("counters", "counters_rr", "counters_repl", "skew", "upsert", "upsert_repl", "seqs",
             "atomic", "savepoints", "causal")


def run(workload: str, dsns: list[str], seconds: float) -> int:
    global MODE
    name, _, MODE = workload.partition(":")
    checks = {
        "counters": lambda: counters(dsns, seconds, False),
        "counters_rr": lambda: counters(dsns, seconds, False, "repeatable_read"),
        "counters_repl": lambda: counters(dsns, seconds, True),
        "skew": lambda: skew(dsns, seconds),
        "upsert": lambda: upsert(dsns, seconds, False),
        "upsert_repl": lambda: upsert(dsns, seconds, True),
        "seqs": lambda: seqs(dsns, seconds),
        "atomic": lambda: atomic(dsns, seconds),
        "savepoints": lambda: savepoints(dsns, seconds),
        "causal": lambda: causal(dsns, seconds),
    }
    return asyncio.run(checks[name]())


def main() -> int:
    global HIST_DIR
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", help=", ".join(WORKLOADS))
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--dsns", help="the two coordinators' DSNs, comma-separated")
    p.add_argument("--history-dir", default="/tmp")
    a = p.parse_args()
    HIST_DIR = a.history_dir
    if a.workload.partition(":")[0] not in WORKLOADS:
        p.error(f"unknown workload {a.workload}")
    if a.dsns:
        return run(a.workload, a.dsns.split(","), a.seconds)
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "src")]
    from bench.common import environment

    with environment() as env:
        return run(a.workload, [env.gridpg_dsn(0), env.gridpg_dsn(1)], a.seconds)


if __name__ == "__main__":
    sys.exit(main())
