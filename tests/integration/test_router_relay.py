"""The router path relays the datanode's DataRow bytes without decoding them.

A coordinator process whose row decoder counts its calls (counting_coordinator.py) runs
against the session cluster while a routed SELECT returns many rows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import is_accepting


@pytest.fixture(scope="module")
def counting(gridpg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, "Counter"]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    count_file = tmp_path_factory.mktemp("count") / "calls"
    script = Path(__file__).with_name("counting_coordinator.py")
    proc = subprocess.Popen([sys.executable, str(script), str(gridpg_cluster.dir), str(port), str(count_file)])
    try:
        deadline = time.monotonic() + 30
        while not is_accepting("127.0.0.1", port) and time.monotonic() < deadline:
            assert proc.poll() is None, "counting coordinator exited"
            time.sleep(0.05)
        dsn = f"postgresql://postgres:{gridpg_cluster.password()}@127.0.0.1:{port}/postgres"
        yield dsn, Counter(proc.pid, count_file)
    finally:
        proc.terminate()
        proc.wait(10)


class Counter:
    def __init__(self, pid: int, path: Path) -> None:
        self.pid = pid
        self.path = path

    def read(self) -> int:
        self.path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 5
        # The file appears before its number is written: wait for the number.
        while time.monotonic() < deadline:
            text = self.path.read_text().strip() if self.path.exists() else ""
            if text:
                return int(text)
            time.sleep(0.01)
        raise AssertionError("the counting coordinator did not report its count")


def test_routed_select_does_no_per_row_decoding(counting: tuple[str, Counter], schema: str) -> None:
    dsn, counter = counting
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.r (k int, i int, pad text) DISTRIBUTE BY HASH (k)")
        conn.execute(f"INSERT INTO {schema}.r SELECT 7, g, repeat('x', 20) FROM generate_series(1, 500) g")
        # The first routed statement of a catalog epoch asks each datanode once which tables
        # it may address by shard (executor/shard_route.py): a row per node, decoded then.
        conn.execute(f"SELECT k FROM {schema}.r WHERE k = %s", (8,), prepare=True).fetchall()
        before = counter.read()
        for prepared in (False, True, True):
            rows = conn.execute(f"SELECT * FROM {schema}.r WHERE k = %s", (7,), prepare=prepared).fetchall()
            assert len(rows) == 500
        assert counter.read() == before
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {schema}.r WHERE k = 7"))
        assert "router" in plan
        # The counter works: a path that decodes rows (EXPLAIN reads the node's plan) counts.
        assert counter.read() > before
