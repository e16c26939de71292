"""PAUSE CLUSTER / UNPAUSE CLUSTER and CREATE BARRIER through both coordinators
(txn/pause.py, gtm/coordination.py, commands/cluster_ops.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest
from psycopg import errors

from gridpg.cluster.control import Cluster
from gridpg.gtm.client import GtmClient


class Workload:
    """Small write transactions through both coordinators, every commit time-stamped."""

    def __init__(self, dsns: list[str], table: str, per_dsn: int = 2) -> None:
        self.table = table
        self.commits: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(dsn, i))
                        for i, dsn in enumerate(dsns * per_dsn)]

    def _run(self, dsn: str, key: int) -> None:
        with psycopg.connect(dsn) as conn:
            while not self.stop.is_set():
                try:
                    conn.execute(f"UPDATE {self.table} SET n = n + 1 WHERE id = %s", (key,))
                    conn.execute(f"UPDATE {self.table} SET n = n + 1 WHERE id = %s", (key + 100,))
                    conn.commit()
                    self.commits.append(time.monotonic())
                except psycopg.Error as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    conn.rollback()

    def __enter__(self) -> Workload:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), "a client stayed blocked"

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.commits if start < t < end)


@pytest.fixture()
def counters(gridpg_cluster: Cluster, schema: str) -> str:
    table = f"{schema}.counters"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, n int) DISTRIBUTE BY HASH(id)")
        conn.execute(f"INSERT INTO {table} SELECT g, 0 FROM generate_series(0, 200) g")
    return table


def test_pause_blocks_new_transactions_everywhere_without_errors(
        gridpg_cluster: Cluster, counters: str) -> None:
    dsns = [gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)]
    with Workload(dsns, counters) as load, psycopg.connect(dsns[0], autocommit=True) as pauser:
        time.sleep(1.0)
        pauser.execute("pause  cluster;")
        paused_at = time.monotonic()
        # The pausing session works alone, also writing on several nodes.
        pauser.execute(f"UPDATE {counters} SET n = n + 1000 WHERE id IN (150, 151, 152)")
        time.sleep(2.0)
        unpaused_at = time.monotonic()
        pauser.execute("UNPAUSE CLUSTER")
        time.sleep(1.0)
    before = load.between(0, paused_at)
    during = load.between(paused_at + 0.05, unpaused_at)
    after = load.between(unpaused_at, float("inf"))
    assert not load.errors, load.errors[:3]
    assert before > 0 and after > 0, (before, during, after)
    assert during == 0, f"{during} commits while paused"
    with psycopg.connect(dsns[1], autocommit=True) as conn:
        row = conn.execute(f"SELECT sum(n) FROM {counters} WHERE id IN (150, 151, 152)").fetchone()
    assert row == (3000,)


def test_pausing_session_disconnect_releases_the_cluster(gridpg_cluster: Cluster, counters: str) -> None:
    dsns = [gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)]
    pauser = psycopg.connect(dsns[1], autocommit=True)
    pauser.execute("PAUSE CLUSTER")
    with Workload(dsns, counters, per_dsn=1) as load:
        time.sleep(1.0)
        assert load.commits == []  # everyone waits...
        closed_at = time.monotonic()
        pauser.close()  # ...until the pausing session goes away
        time.sleep(1.5)
    assert not load.errors, load.errors[:3]
    assert load.between(closed_at, float("inf")) > 0


def test_pause_inside_a_block_and_unpause_when_not_paused(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        with pytest.raises(errors.ActiveSqlTransaction):
            conn.execute("SELECT 1")
            conn.execute("PAUSE CLUSTER")
        conn.rollback()
        conn.autocommit = True
        with pytest.raises(errors.ObjectNotInPrerequisiteState):
            conn.execute("UNPAUSE CLUSTER")


def barriers(cluster: Cluster) -> list[dict[str, object]]:
    gtm = cluster.topology.gtm

    async def call() -> list[dict[str, object]]:
        client = GtmClient(gtm.host, gtm.port)
        try:
            return await client.barrier_list()
        finally:
            await client.close()

    return asyncio.run(call())


def test_create_barrier_on_every_node_recorded_in_the_gtm(
        gridpg_cluster: Cluster, counters: str, datanodes: dict[str, str]) -> None:
    dsns = [gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)]
    name = f"b_{time.time_ns()}"
    notices: list[str] = []
    with Workload(dsns, counters, per_dsn=1) as load, psycopg.connect(dsns[1], autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        time.sleep(0.5)
        conn.execute(f"CREATE BARRIER '{name}'")
        with pytest.raises(errors.DuplicateObject):
            conn.execute(f"CREATE BARRIER '{name}'")
        conn.execute("CREATE BARRIER")  # a generated name
        time.sleep(0.5)
    assert not load.errors, load.errors[:3]
    recorded = {str(b["name"]): b for b in barriers(gridpg_cluster)}
    assert name in recorded
    points = recorded[name]["points"]
    expected = set(datanodes) | {c.catalog.name for c in gridpg_cluster.topology.coordinators}
    assert isinstance(points, dict) and set(points) == expected
    assert all("/" in str(lsn) for lsn in points.values())  # an LSN like 0/3000060
    generated = [n for n in notices if "gridpg_barrier_" in n]
    assert generated and any(f'"{name}"' in n for n in notices)
