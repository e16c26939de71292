"""`gridpg catalog rebuild`: a coordinator whose catalog server lost its data directory
is rebuilt from another coordinator's, then serves as before (cluster/catalog_rebuild.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import private_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster("catrebuild", 27000, coordinators=2, monitor=False) as made:
        yield made


def gridpg(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gridpg", *args, "--dir", str(cluster.dir)],
                          check=False, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


def test_a_lost_catalog_server_is_rebuilt_from_another(cluster: Cluster) -> None:
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute('CREATE SCHEMA "Sales"')
        conn.execute('CREATE TABLE "Sales".orders (id int PRIMARY KEY, note text) DISTRIBUTE BY HASH (id)')
        conn.execute("CREATE TABLE colors (name text PRIMARY KEY) DISTRIBUTE BY REPLICATION")
        conn.execute('INSERT INTO "Sales".orders SELECT g, $$n$$ || g FROM generate_series(1, 50) g')
        conn.execute("INSERT INTO colors VALUES ('red'), ('blue')")
        conn.execute('CREATE VIEW big_orders AS SELECT id FROM "Sales".orders WHERE id > 40')
        conn.execute("CREATE SEQUENCE tickets START 100")
        conn.execute("CREATE ROLE clerk LOGIN PASSWORD 'clerk-pw'")
        conn.execute('GRANT USAGE ON SCHEMA "Sales" TO clerk')
        conn.execute('GRANT SELECT ON "Sales".orders TO clerk')
        conn.execute("COMMENT ON TABLE colors IS 'palette'")
        assert conn.execute("SELECT nextval('tickets')").fetchone() == (100,)
    lost = cluster.topology.coordinators[1].catalog
    server = cluster.server(lost)
    os.kill(server.pid() or 0, signal.SIGKILL)
    kept = Path(str(server.data_dir) + ".lost")
    server.data_dir.rename(kept)  # the disk is gone: nothing of it is used again

    result = gridpg(cluster, "catalog", "rebuild", "coord2")
    assert result.returncode == 0, result.stderr
    assert "rebuilt" in result.stderr

    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        assert conn.execute('SELECT count(*), sum(id) FROM "Sales".orders').fetchone() == (50, 1275)
        assert conn.execute("SELECT count(*) FROM big_orders").fetchone() == (10,)
        assert conn.execute("SELECT string_agg(name, ',' ORDER BY name) FROM colors").fetchone() == ("blue,red",)
        assert conn.execute("SELECT obj_description('colors'::regclass)").fetchone() == ("palette",)
        assert conn.execute("SELECT nextval('tickets')").fetchone()[0] > 100  # the GTM's, not restarted
        # the distribution is known to the rebuilt coordinator: a routed plan, rows on both nodes
        plan = "\n".join(r[0] for r in conn.execute('EXPLAIN SELECT * FROM "Sales".orders WHERE id = 7'))
        assert "dn1" in plan or "dn2" in plan, plan
        conn.execute('INSERT INTO "Sales".orders VALUES (51, $$late$$)')
        conn.execute("CREATE TABLE after_rebuild (a int) DISTRIBUTE BY HASH (a)")  # DDL reaches every catalog
    clerk = cluster.dsn(1, user="clerk").replace(f":{cluster.password()}@", ":clerk-pw@")
    with psycopg.connect(clerk, autocommit=True) as conn:
        assert conn.execute('SELECT count(*) FROM "Sales".orders').fetchone() == (51,)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM after_rebuild").fetchone() == (0,)
        assert conn.execute('SELECT count(*) FROM "Sales".orders').fetchone() == (51,)


def test_rebuild_from_itself_is_refused(cluster: Cluster) -> None:
    result = gridpg(cluster, "catalog", "rebuild", "coord1", "--from", "coord1")
    assert result.returncode == 1
    assert "cannot be rebuilt from itself" in result.stderr
