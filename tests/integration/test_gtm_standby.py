"""A cluster with a GTM pair (`gridpg up --gtm-standby`): the primary GTM is killed with
SIGKILL while bank transfers run through both coordinators; the monitor promotes the
standby and every coordinator follows.

Checked: commits that need the GTM (2PC writes of a replicated table, probed every
0.1 s) resume within 10 s; every transfer acknowledged is in the log table
(no 2PC decision lost), none that failed before COMMIT is; no sequence value (nextval
through the coordinators) and no GXID (asked of the GTM pair directly) is handed out
twice; the total holds; nothing stays prepared; `gridpg status` shows both GTMs.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from gridpg.gtm.client import GtmClient
from gridpg.gtm.protocol import GtmError, GtmUnavailable
from tests.conftest import datanode_dsns, server_dir

ACCOUNTS = 50
INITIAL = 1000
WRITERS = 6
RUN_AFTER_KILL = 15.0


@pytest.fixture(scope="module")
def pair_cluster() -> Iterator[Cluster]:
    with server_dir("gtm-pair") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 29000 + (os.getpid() % 50) * 20).take()
        cluster.create(build_default(datanodes=2, coordinators=2, port=base, gtm_standby=True),
                       lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster
        finally:
            cluster.down(lambda _m: None)


@dataclass
class Outcomes:
    committed: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)  # failed before COMMIT was sent
    unknown: set[int] = field(default_factory=set)  # COMMIT sent, no answer
    ids: list[int] = field(default_factory=list)  # every nextval value received
    commit_times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _writer(dsn: str, until: float, out: Outcomes, seed: int) -> None:
    rng = random.Random(seed)
    conn: psycopg.Connection | None = None
    while time.monotonic() < until:
        try:
            if conn is None or conn.closed:
                conn = psycopg.connect(dsn, connect_timeout=5)
            tid = int(conn.execute("SELECT nextval('transfer_id')").fetchone()[0])  # type: ignore[index]
            conn.commit()
        except psycopg.Error as exc:
            with out.lock:
                out.errors.append(f"nextval: {exc}")
            conn = _reset(conn)
            time.sleep(0.05)
            continue
        a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
        amount = rng.randint(1, 20)
        with out.lock:
            out.ids.append(tid)
        stage = "body"
        try:
            conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, a))
            conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, b))
            conn.execute("INSERT INTO transfer_log VALUES (%s, %s, %s, %s)", (tid, a, b, amount))
            stage = "commit"
            conn.commit()
            with out.lock:
                out.committed.add(tid)
                out.commit_times.append(time.monotonic())
        except psycopg.Error as exc:
            with out.lock:
                (out.unknown if stage == "commit" else out.failed).add(tid)
                out.errors.append(f"{stage}: {type(exc).__name__}: {exc}".splitlines()[0])
            conn = _reset(conn)


def _reset(conn: psycopg.Connection | None) -> psycopg.Connection | None:
    if conn is None:
        return None
    try:
        conn.rollback()
        return conn
    except psycopg.Error:
        conn.close()
        return None


def _probe(dsn: str, until: float, successes: list[float]) -> None:
    """Every 0.1 s a write to a replicated table: 2PC over both datanodes, so it needs the
    GTM (its commit decision) and shows when the GTM serves again."""
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
                while time.monotonic() < until:
                    n += 1
                    conn.execute("INSERT INTO gtm_probe VALUES (%s)", (n,))
                    successes.append(time.monotonic())
                    time.sleep(0.1)
        except psycopg.Error:
            time.sleep(0.1)


def _gxids(addresses: list[tuple[str, int]], until: float, out: list[int], errors: list[str]) -> None:
    async def run() -> None:
        gtm = GtmClient(*addresses[0], alternates=addresses[1:], timeout=1.0, request_timeout=3.0)
        try:
            while time.monotonic() < until:
                try:
                    first = await gtm.next_gxid(3)
                    out.extend(range(first, first + 3))
                except (GtmUnavailable, GtmError) as exc:
                    errors.append(str(exc))
                await asyncio.sleep(0.01)
        finally:
            await gtm.close()

    asyncio.run(run())


def test_gtm_primary_killed_during_transfers(pair_cluster: Cluster) -> None:
    cluster = pair_cluster
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL) "
                     "DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE transfer_log (id bigint PRIMARY KEY, a int, b int, amount int) "
                     "DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE SEQUENCE transfer_id")
        conn.execute("CREATE TABLE gtm_probe (n int) DISTRIBUTE BY REPLICATION")
        conn.execute(f"INSERT INTO accounts SELECT g, {INITIAL} FROM generate_series(1, {ACCOUNTS}) g")
    rows = {r.name: r for r in cluster.status()}
    assert rows["gtm"].role.startswith("primary") and rows["gtm2"].role.startswith("standby in sync"), rows
    out = Outcomes()
    gxids: list[int] = []
    gxid_errors: list[str] = []
    start = time.monotonic()
    until = start + 5.0 + RUN_AFTER_KILL
    threads = [threading.Thread(target=_writer, args=(cluster.dsn(i % 2), until, out, i))
               for i in range(WRITERS)]
    threads.append(threading.Thread(target=_gxids, args=(cluster.topology.gtm_addresses(), until,
                                                          gxids, gxid_errors)))
    probes: list[float] = []
    threads.append(threading.Thread(target=_probe, args=(cluster.dsn(0), until, probes)))
    for thread in threads:
        thread.start()
    time.sleep(5.0)
    before_kill = len(out.committed)
    pid = processes.running_pid(cluster.dir, "gtm")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    for thread in threads:
        thread.join(timeout=RUN_AFTER_KILL + 60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    assert any(t > killed + 0.2 for t in out.commit_times), f"no transfer after the kill: {out.errors[-5:]}"
    after = sorted(t for t in probes if t > killed + 0.2)
    assert after, "no 2PC write after the GTM was killed"
    resumed = after[0] - killed
    print(f"{before_kill} transfers before the kill, {len(out.committed)} in all; commits resumed "
          f"{resumed:.1f} s after SIGKILL of the primary GTM; {len(out.errors)} errors: "
          f"{sorted({e[:90] for e in out.errors})[:6]}")
    assert resumed < 10.0
    assert len(out.ids) == len(set(out.ids)), "a sequence value was handed out twice"
    assert len(gxids) == len(set(gxids)), "a GXID was handed out twice"
    _check_data(cluster, out)
    rows = {r.name: r for r in cluster.status()}
    assert rows["gtm2"].role.startswith("primary"), rows["gtm2"]
    cluster.reload()
    assert cluster.topology.gtm_primary == "gtm2" and cluster.topology.gtm_term == 2


def _check_data(cluster: Cluster, out: Outcomes) -> None:
    deadline = time.monotonic() + 40
    prepared: list[str] = []
    while time.monotonic() < deadline:  # the monitor resolves what the kill left in doubt
        prepared = []
        for dsn in datanode_dsns(cluster).values():
            with psycopg.connect(dsn, autocommit=True) as node:
                prepared += [r[0] for r in node.execute("SELECT gid FROM pg_prepared_xacts")]
        if not prepared:
            break
        time.sleep(1)
    assert not prepared, f"still prepared: {prepared}"
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        logged = {int(r[0]) for r in conn.execute("SELECT id FROM transfer_log")}
        total = conn.execute("SELECT sum(balance) FROM accounts").fetchone()[0]  # type: ignore[index]
    assert out.committed <= logged, f"acknowledged transfers lost: {sorted(out.committed - logged)[:10]}"
    assert not (out.failed & logged), f"failed transfers applied: {sorted(out.failed & logged)[:10]}"
    assert logged <= out.committed | out.unknown
    assert total == ACCOUNTS * INITIAL


def test_old_primary_rejoins_then_its_death_as_standby_is_detached(pair_cluster: Cluster) -> None:
    """`gridpg up` starts the killed GTM again: it follows the acting one as its standby.
    Then the standby is killed: the monitor detaches it (its port refuses connections) and
    writes go on."""
    cluster = pair_cluster
    cluster.up(lambda _m: None)
    deadline = time.monotonic() + 30
    standby = None
    while time.monotonic() < deadline and standby is None:
        rows = {r.name: r for r in cluster.status() if r.kind == "gtm"}
        standby = next((n for n, r in rows.items() if r.role.startswith("standby in sync")), None)
        time.sleep(0.2)
    assert standby is not None, f"no GTM became the standby: {rows}"
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS gtm_rejoin (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
    pid = processes.running_pid(cluster.dir, standby)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    written, last_error = None, ""
    for attempt in range(200):
        try:
            with psycopg.connect(cluster.dsn(attempt % 2), autocommit=True, connect_timeout=5) as conn:
                value = conn.execute("SELECT nextval('transfer_id')").fetchone()[0]  # type: ignore[index]
                conn.execute("INSERT INTO gtm_rejoin VALUES (%s), (%s)", (value, -value))  # 2PC
                written = time.monotonic()
                break
        except psycopg.Error as exc:
            last_error = str(exc)
            time.sleep(0.2)
        if time.monotonic() - killed > 30:
            break
    assert written is not None, f"no write after the standby GTM died: {last_error}"
    print(f"writes went on {written - killed:.1f} s after SIGKILL of the standby GTM")
    assert written - killed < 10.0
    # A write may need nothing durable from the GTM (nextval is covered by the sequence's
    # write-ahead, a one-node INSERT by no 2PC decision): the detach may come just after it.
    deadline = time.monotonic() + 15
    while True:
        primary = next(r for r in cluster.status() if r.kind == "gtm" and r.name != standby)
        if "no standby in sync" in primary.role or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert "no standby in sync" in primary.role, primary.role


def test_gtm_ctl_refuses_what_would_make_two_primaries(pair_cluster: Cluster) -> None:
    """By hand, as the monitor: promoting a standby whose primary still confirms, or
    detaching a standby that confirms, is refused (exit 1, the GTM's reason)."""
    from gridpg.cli.main import main

    cluster = pair_cluster
    cluster.up(lambda _m: None)  # the standby killed by the test before comes back
    deadline = time.monotonic() + 30
    rows: dict[str, object] = {}
    while time.monotonic() < deadline:
        rows = {r.name: r.role for r in cluster.status() if r.kind == "gtm"}
        if any(str(role).startswith("standby in sync") for role in rows.values()):
            break
        time.sleep(0.2)
    standby = next(n for n, role in rows.items() if str(role).startswith("standby in sync"))
    primary = next(n for n in rows if n != standby)
    assert main(["gtm-ctl", "promote", standby, "--dir", str(cluster.dir)]) == 1
    assert main(["gtm-ctl", "detach", primary, "--dir", str(cluster.dir)]) == 1
    after = {r.name: r.role for r in cluster.status() if r.kind == "gtm"}
    assert str(after[standby]).startswith("standby in sync") and str(after[primary]).startswith("primary")
