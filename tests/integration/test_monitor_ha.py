"""The monitor runs cluster/ha.py's loop by default (topology `failover = true`): a
datanode primary that crashes is failed over to its standby by the monitor, without a
command."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from tests.conftest import server_dir


@pytest.fixture()
def ha_monitor_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    monkeypatch.delenv("GRIDPG_MONITOR_HA", raising=False)  # the default: on
    with server_dir("monitor-ha") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 27000 + (os.getpid() % 50) * 20).take()
        cluster.create(build_default(datanodes=1, coordinators=1, standbys=1, port=base),
                       lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster
        finally:
            cluster.down(lambda _m: None)


def test_monitor_fails_over_a_killed_primary(ha_monitor_cluster: Cluster) -> None:
    cluster = ha_monitor_cluster
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO t VALUES (1)")
    group = cluster.topology.groups[0]
    primary, standby = group.primary, group.standbys[0]
    cluster.server(primary).stop("immediate")  # a crash: no shutdown checkpoint
    killed = time.monotonic()
    switched = written = False
    while time.monotonic() - killed < 60 and not written:
        cluster.reload()
        switched = cluster.topology.groups[0].primary.name == standby.name
        if switched:
            try:
                with psycopg.connect(cluster.dsn(0), autocommit=True, connect_timeout=5) as conn:
                    conn.execute("INSERT INTO t VALUES (2)")
                    written = True
            except psycopg.Error:
                pass
        time.sleep(0.5)
    took = time.monotonic() - killed
    assert switched, "the monitor did not fail over"
    assert written, "no write succeeded after the failover"
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT id FROM t")) == [1, 2]
    print(f"writes resumed {took:.1f} s after the primary was killed")
