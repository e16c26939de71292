"""PAUSE CLUSTER / UNPAUSE CLUSTER and CREATE BARRIER through both coordinators
(txn/pause.py, gtm/coordination.py, commands/cluster_ops.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Self

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

    def __enter__(self) -> Self:
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


def test_pause_while_pgbench_runs_through_both_coordinators(
        gridpg_cluster: Cluster, counters: str, tmp_path: Path) -> None:
    """The issue's check: pgbench on both coordinators, PAUSE in the middle: no failed
    transaction, no transaction ends while paused, and they resume after UNPAUSE."""
    from gridpg.cluster.pgserver import find_pg_bin

    script = tmp_path / "bump.sql"
    script.write_text(
        "\\set id random(0, 99)\n"
        "BEGIN;\n"
        f"UPDATE {counters} SET n = n + 1 WHERE id = :id;\n"
        f"UPDATE {counters} SET n = n + 1 WHERE id = :id + 100;\n"
        "END;\n")
    runs = []
    for index in range(2):
        url = psycopg.conninfo.conninfo_to_dict(gridpg_cluster.dsn(index))
        env = {**os.environ, "PGPASSWORD": str(url.get("password", ""))}
        prefix = tmp_path / f"coord{index}"
        runs.append(subprocess.Popen(
            [str(find_pg_bin() / "pgbench"), "-n", "-c", "2", "-T", "7", "-f", str(script), "-l",
             "--log-prefix", str(prefix), "-h", str(url["host"]), "-p", str(url["port"]),
             "-U", str(url["user"]), str(url["dbname"])],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as pauser:
        time.sleep(2.0)
        pauser.execute("PAUSE CLUSTER")
        paused_at = time.time()
        time.sleep(2.0)
        unpaused_at = time.time()
        pauser.execute("UNPAUSE CLUSTER")
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output
        assert "number of failed transactions: 0" in output or "failed" not in output, output
    ends = []
    for log in tmp_path.glob("coord*.*"):
        for line in log.read_text().splitlines():
            fields = line.split()  # client, txn, latency, script, epoch seconds, microseconds
            ends.append(int(fields[4]) + int(fields[5]) / 1e6)
    during = [t for t in ends if paused_at + 0.05 < t < unpaused_at]
    assert not during, f"{len(during)} pgbench transactions ended while paused"
    assert any(t < paused_at for t in ends) and any(t > unpaused_at for t in ends)
