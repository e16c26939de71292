"""Tablespaces on a datanode group added later, and shards moved by a rebalance (h-tblspc18).

`gridpg node add` copied roles and schema objects but no tablespace: the new group refused
its shards of a table in one (42704); a shard a rebalance moved (`CREATE TABLE ... (LIKE
parent)`) landed in pg_default while the catalog said the table's tablespace."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import SUPERUSER
from gridpg.cluster.topology import PortAllocator, build_default
from tests.conftest import server_dir


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with server_dir("tblspc18") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 29000 + (os.getpid() % 50) * 20).take()
        cluster.create(build_default(datanodes=2, coordinators=1, port=base), lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster
        finally:
            cluster.down(lambda _m: None)


def _gridpg(cluster: Cluster, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "gridpg", *args, "--dir", str(cluster.dir)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


def _primaries(cluster: Cluster) -> dict[str, str]:
    cluster.reload()
    password = cluster.password()
    return {g.name: f"postgresql://{SUPERUSER}:{password}@{g.primary.host}:{g.primary.port}/postgres"
            for g in cluster.topology.groups}


def test_added_group_gets_the_tablespaces_and_moved_shards_stay_in_them(cluster: Cluster) -> None:
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("SET allow_in_place_tablespaces = on")
        conn.execute("CREATE TABLESPACE tblspc18_n LOCATION '' WITH (random_page_cost = 2.0)")
        conn.execute("CREATE TABLE moved (id int PRIMARY KEY, v text) TABLESPACE tblspc18_n DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE INDEX moved_v ON moved (v) TABLESPACE tblspc18_n")
        conn.execute("INSERT INTO moved SELECT g, 'x' FROM generate_series(1, 2000) g")
    _gridpg(cluster, "node", "add")
    _gridpg(cluster, "rebalance")
    shards = 0
    for group, dsn in _primaries(cluster).items():
        with psycopg.connect(dsn, autocommit=True) as node:
            assert node.execute("SELECT spcoptions::text FROM pg_tablespace WHERE spcname = 'tblspc18_n'"
                                ).fetchall() == [("{random_page_cost=2.0}",)], group
            placed = dict(node.execute(
                "SELECT coalesce(t.spcname, 'pg_default'), count(*) FROM pg_class c JOIN pg_inherits i "
                "ON i.inhrelid = c.oid AND i.inhparent = 'moved'::regclass "
                "LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace GROUP BY 1").fetchall())
            assert set(placed) <= {"tblspc18_n"}, (group, placed)
            shards += sum(placed.values())
    assert shards == 32
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM moved").fetchone() == (2000,)
