"""A GTM that cannot be reached (stopped, with no standby to take over) fails the
statements that need it with 08006, and the session goes on: once the GTM is back, the
same connection works again. Before, the first statement that asked the GTM (the
catalog's epoch check at a transaction's start) closed the session as an internal error
(XX000, the client's connection lost)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from tests.conftest import server_dir


@pytest.fixture(scope="module")
def small_cluster() -> Iterator[Cluster]:
    with server_dir("gtm-away") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 31000 + (os.getpid() % 50) * 20).take()
        cluster.create(build_default(datanodes=1, coordinators=1, port=base), lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster
        finally:
            cluster.down(lambda _m: None)


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_statements_fail_with_08006_and_the_session_goes_on(small_cluster: Cluster, prepare: bool) -> None:
    gtm = small_cluster.topology.gtm_members()[0].name
    with psycopg.connect(small_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS away (id int PRIMARY KEY)")
        assert processes.stop(small_cluster.dir, gtm)
        try:
            time.sleep(1.2)  # (the catalog's epoch check asks the GTM at most once a second)
            for _ in range(2):
                with pytest.raises(psycopg.errors.ConnectionFailure) as failed:
                    conn.execute("SELECT count(*) FROM away", prepare=prepare)
                assert "the GTM cannot be reached" in str(failed.value)
            assert not conn.closed and not conn.broken
        finally:
            small_cluster.up(lambda _m: None)  # (starts what is not running: the GTM)
        assert conn.execute("SELECT count(*) FROM away", prepare=prepare).fetchone() == (0,)
