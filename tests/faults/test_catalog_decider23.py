"""Fault test: a block that changed the schema and ran server-side code over distributed
tables is decided by its catalog server's commit with a marker (txn/transaction.py
`_choose_decider`: postgres_fdw's block there cannot PREPARE). The coordinator killed after
that commit, before COMMIT PREPARED on the datanodes: in-doubt recovery finds the marker on
the catalog server and commits the datanodes' part, the code's rows and the new table's
shards with it. (tests/faults/test_commit_marker.py covers a datanode decider.)"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import prepared_gids, primaries, private_cluster, query, server_dsn
from tests.faults.test_commit_answer_lost import commits_wait_for_a_missing_standby
from tests.faults.test_commit_marker import _family, _pid, _recover, _signal, _wait


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # one worker, no monitor: the test runs recovery itself
    with private_cluster("cdc", 28600, workers=1, monitor=False, failover=False) as made:
        yield made


def test_catalog_decider_killed_after_its_commit_recovery_commits(cluster: Cluster) -> None:
    catalog = cluster.topology.coordinators[0].catalog
    catalog_dsn = server_dsn(cluster, catalog.port)
    nodes = primaries(cluster)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TABLE cd_base (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO cd_base SELECT g, 0 FROM generate_series(1, 10) g")
        conn.execute("CREATE FUNCTION cd_fill(n int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO cd_new SELECT g, 'g' || g FROM generate_series(1, n) g; "
                     "UPDATE cd_base SET v = v + 1; END $$")
        for _ in range(2):  # (the marker tables known to the coordinator, the catalog server's too)
            with conn.transaction():
                conn.execute("UPDATE cd_base SET v = v")
            with conn.transaction():
                conn.execute("CREATE TABLE cd_new (id int PRIMARY KEY, note text)")
                conn.execute("SELECT cd_fill(1)")
                conn.execute("UPDATE cd_base SET v = 0")
                conn.execute("DROP TABLE cd_new")
    client = psycopg.connect(cluster.dsn(0), autocommit=True)
    client.execute("BEGIN")
    client.execute("CREATE TABLE cd_new (id int PRIMARY KEY, note text)")
    client.execute("SELECT cd_fill(20)")
    outcome: list[object] = []

    def commit() -> None:
        try:
            client.execute("COMMIT")
            outcome.append(True)
        except psycopg.Error as exc:
            outcome.append(exc)

    committing = threading.Thread(target=commit, daemon=True)
    waiting = "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
    coordinator = _family(_pid(cluster, "coord1"))
    with commits_wait_for_a_missing_standby({catalog.name: catalog_dsn}):
        committing.start()
        _wait(lambda: all(prepared_gids(d, "gridpg%") for d in nodes.values()), "the datanodes did not prepare")
        gid = prepared_gids(nodes["dn1"], "gridpg%")[0]
        assert gid.startswith("gridpgm_") and f"_{len(catalog.name)}_{catalog.name}_" in gid, gid
        # the catalog server's commit is durable there and waits for the standby: no
        # COMMIT PREPARED can have been sent
        _wait(lambda: query(catalog_dsn, waiting), "the catalog server's commit did not wait for the standby")
        _signal(coordinator, signal.SIGKILL)
        for (pid,) in query(catalog_dsn, waiting):
            query(catalog_dsn, f"SELECT pg_terminate_backend({pid})")
    committing.join(timeout=15)
    client.close()
    assert outcome and outcome[0] is not True
    assert query(catalog_dsn, f"SELECT outcome FROM gridpg.commit_marker WHERE gid = '{gid}'") == [("c",)]
    assert all(prepared_gids(d, "gridpg%") == [gid] for d in nodes.values())
    report = _recover(cluster)
    assert "committed" in report, report
    assert all(prepared_gids(d, "gridpg%") == [] for d in nodes.values())
    deadline = time.monotonic() + 30
    while processes.running_pid(cluster.dir, "coord1") is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    cluster.up(lambda _m: None)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM cd_new").fetchone() == (20,)
        assert conn.execute("SELECT sum(v) FROM cd_base").fetchone() == (10,)
