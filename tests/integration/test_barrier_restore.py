"""CREATE BARRIER and `gridpg restore --barrier` (cluster/archive.py): transfers run
through both coordinators, each logging its id in a distributed log table; a barrier in
the middle; a new cluster restored to it.

Checked on the restored cluster: every transfer acknowledged before CREATE BARRIER
returned is there, none that began after it returned; every transfer is whole (each
account's balance is its initial one plus the restored log's credits less its debits, on
whatever nodes the rows live); the total holds; sequences and GXIDs continue past what
the old cluster handed out. About 60-90 s; GRIDPG_SKIP_RESTORE=1 skips it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.archive import ArchiveError, backup, restore_barrier
from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from gridpg.gtm.client import gtm_call_any
from tests.conftest import server_dir

pytestmark = pytest.mark.skipif(os.environ.get("GRIDPG_SKIP_RESTORE") == "1",
                                reason="GRIDPG_SKIP_RESTORE=1")

ACCOUNTS = 40
INITIAL = 1000
WRITERS = 4


@pytest.fixture(scope="module")
def archived_cluster() -> Iterator[tuple[Cluster, Path]]:
    with server_dir("archive") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 31000 + (os.getpid() % 50) * 20).take()
        topology = build_default(datanodes=2, coordinators=2, port=base)
        topology.archive = str(directory / "archive")
        cluster.create(topology, lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster, directory
        finally:
            cluster.down(lambda _m: None)


@dataclass
class Transfer:
    tid: int
    began: float
    acked: float | None = None


@dataclass
class Log:
    transfers: list[Transfer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _writer(dsn: str, stop: threading.Event, log: Log, seed: int) -> None:
    rng = random.Random(seed)
    with psycopg.connect(dsn) as conn:
        while not stop.is_set():
            tid = int(conn.execute("SELECT nextval('transfer_id')").fetchone()[0])  # type: ignore[index]
            conn.commit()
            a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
            amount = rng.randint(1, 20)
            transfer = Transfer(tid, time.monotonic())
            try:
                conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, a))
                conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, b))
                conn.execute("INSERT INTO transfer_log VALUES (%s, %s, %s, %s)", (tid, a, b, amount))
                conn.commit()
                transfer.acked = time.monotonic()
            except psycopg.Error as exc:
                conn.rollback()
                with log.lock:
                    log.errors.append(f"{type(exc).__name__}: {exc}")
            with log.lock:
                log.transfers.append(transfer)
                log.ids.append(tid)


def test_restore_to_a_barrier_taken_during_transfers(archived_cluster: tuple[Cluster, Path]) -> None:
    cluster, directory = archived_cluster
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL) "
                     "DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE transfer_log (id bigint PRIMARY KEY, src int, dst int, "
                     "amount int) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE SEQUENCE transfer_id")
        conn.execute(f"INSERT INTO accounts SELECT g, {INITIAL} FROM generate_series(1, {ACCOUNTS}) g")
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE BARRIER before_any_backup")
    backup(cluster)
    with pytest.raises(ArchiveError, match="does not exist"):
        restore_barrier(cluster, directory / "nowhere", "no_such_barrier")
    with pytest.raises(ArchiveError, match="no base backup finished before the barrier"):
        restore_barrier(cluster, directory / "nowhere", "before_any_backup")
    assert not (directory / "nowhere").exists()
    log = Log()
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(cluster.dsn(i % 2), stop, log, i))
               for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    time.sleep(3.0)
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        issued = time.monotonic()
        conn.execute("/* mid-transfers */ CREATE BARRIER 'mid_transfers'")
        returned = time.monotonic()
    time.sleep(2.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE BARRIER after_transfers")  # the later WAL reaches the archive too
    unexpected = [e for e in log.errors if not e.startswith("DeadlockDetected")]  # 40P01 is fine
    assert not unexpected, unexpected[:3]
    before = {t.tid for t in log.transfers if t.acked is not None and t.acked < returned}
    after = {t.tid for t in log.transfers if t.began > returned}
    assert before and after, "the barrier did not fall in the middle of the transfers"
    old_gxid_mark = int(gtm_call_any(cluster.topology.gtm_addresses(), "next_gxid")["gxid"])
    started = time.monotonic()
    restored = restore_barrier(cluster, directory / "restored", "mid_transfers")
    took = time.monotonic() - started
    try:
        _check_restored(restored, before, after, max(log.ids), old_gxid_mark)
    finally:
        restored.down(lambda _m: None)
    print(f"barrier in {(returned - issued) * 1000:.0f} ms; {len(before)} transfers before it, "
          f"{len(after)} after; restored in {took:.1f} s")


def _check_restored(restored: Cluster, before: set[int], after: set[int], last_id: int,
                    old_gxid_mark: int) -> None:
    with psycopg.connect(restored.dsn(1), autocommit=True) as conn:
        rows = conn.execute("SELECT id, src, dst, amount FROM transfer_log").fetchall()
        balances = dict(conn.execute("SELECT id, balance FROM accounts").fetchall())
        next_id = int(conn.execute("SELECT nextval('transfer_id')").fetchone()[0])  # type: ignore[index]
        conn.execute("INSERT INTO transfer_log VALUES (%s, 1, 2, 0)", (next_id,))  # it writes
    logged = {int(r[0]) for r in rows}
    assert before <= logged, f"acknowledged before the barrier, missing: {sorted(before - logged)[:10]}"
    assert not (after & logged), f"began after the barrier, present: {sorted(after & logged)[:10]}"
    expected = dict.fromkeys(range(1, ACCOUNTS + 1), INITIAL)
    for _tid, src, dst, amount in rows:
        expected[src] -= amount
        expected[dst] += amount
    assert balances == expected, "a transfer is not whole on the restored cluster"
    assert sum(balances.values()) == ACCOUNTS * INITIAL
    assert next_id > last_id, "the restored cluster's sequence went back"
    new_gxid = int(gtm_call_any(restored.topology.gtm_addresses(), "next_gxid")["gxid"])
    assert new_gxid > old_gxid_mark, "the restored GTM's GXIDs went back"
