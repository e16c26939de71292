"""Fault test: on a group with a synchronous standby, COMMIT PREPARED runs with
synchronous_commit = off (txn/durable.py): the client hears COMMIT before the standby has
the COMMIT PREPARED. If the primary is then killed and the standby promoted, the
transaction comes back prepared there: the GTM must still hold the decision, and recovery
must commit it, so that it ends committed on every node, never half.

The faults are real processes stopped and killed: the GTM is paused (SIGSTOP) while the
client's COMMIT is under way, so that the PREPAREs (acknowledged by the standbys) are done
and the decision not yet taken; dn1's standby is then stopped; the GTM goes on; the
client's COMMIT must be answered without the standby (a synchronous COMMIT PREPARED would
wait for it for ever); dn1's primary gets SIGKILL; the standby, which has the PREPARE and
not the COMMIT PREPARED, is started and promoted (`gridpg failover --force`).

Run with both deciders: the GTM's log (GRIDPG_COMMIT_MARKERS=off) and the commit marker
(txn/marker.py), whose decider commits in one phase and does not prepare: there the group
failed over is the one that prepared, and the marker is what recovery finds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.txn.fence import WATCHED_WINDOW
from tests.cluster_fixtures import prepared_gids, private_cluster, server_dsn


@pytest.fixture(scope="module", params=["gtm", "marker"])
def ha_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    saved = os.environ.get("GRIDPG_COMMIT_MARKERS")
    os.environ["GRIDPG_COMMIT_MARKERS"] = "off" if request.param == "gtm" else "on"
    try:
        # the test fails over itself; the warm-up's worker (its marker keeper) is the
        # test's; and it runs recovery itself: the monitor's pass could commit the GID on
        # the promoted standby before the test has seen it prepared there
        with private_cluster("acp", 27000, standbys=1, workers=1, monitor=False, failover=False) as cluster:
            yield cluster
    finally:
        if saved is None:
            os.environ.pop("GRIDPG_COMMIT_MARKERS", None)
        else:
            os.environ["GRIDPG_COMMIT_MARKERS"] = saved


def _prepared(dsn: str) -> list[str]:
    return prepared_gids(dsn, "gridpg_%")


def _retrying(dsn: str, sql: str) -> list[tuple[object, ...]]:
    """`sql` through the coordinator, retried while it follows the new primary."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                return conn.execute(sql).fetchall()
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, f"{sql} kept failing"
            time.sleep(0.5)


def test_primary_killed_after_the_commit_answer_then_failover(ha_cluster: Cluster) -> None:
    dsn = ha_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE ac (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO ac SELECT g, 0 FROM generate_series(1, 20) g")
        for _ in range(3):  # 2PC commits: the coordinator's workers know the marker tables
            conn.execute("UPDATE ac SET v = v")
    primaries = {g.name: server_dsn(ha_cluster, g.primary.port) for g in ha_cluster.topology.groups}
    gtm_pid = processes.running_pid(ha_cluster.dir, ha_cluster.topology.gtm.name)
    assert gtm_pid is not None

    client = psycopg.connect(dsn, autocommit=True)
    client.execute("BEGIN")
    assert client.execute("UPDATE ac SET v = v + 1").rowcount == 20  # both groups: 2PC
    answered: list[object] = []
    committing = threading.Thread(target=lambda: answered.append(client.execute("COMMIT")), daemon=True)
    os.kill(gtm_pid, signal.SIGSTOP)
    time.sleep(WATCHED_WINDOW + 0.2)  # a fence token kept since the commits above goes
    try:
        committing.start()
        deadline = time.monotonic() + 10
        # PREPAREs done, standbys have them (the GTM's decision, or the commit fence
        # before the decider's commit, waits for the GTM)
        while not (prepared := [g for g, d in primaries.items() if _prepared(d)]) \
                or len(prepared) < len(primaries) and not _prepared(primaries[prepared[0]])[0].startswith("gridpgm_"):
            assert time.monotonic() < deadline, "the PREPAREs did not complete"
            time.sleep(0.05)
        by_marker = os.environ.get("GRIDPG_COMMIT_MARKERS") == "on"
        gid = _prepared(primaries[prepared[0]])[0]
        assert gid.startswith("gridpgm_") if by_marker else gid.startswith("gridpg_"), gid
        assert len(prepared) == (1 if by_marker else len(primaries))
        group = next(g for g in ha_cluster.topology.groups if g.name == prepared[0])
        primary, standby = group.primary, group.standbys[0]
        ha_cluster.server(standby).stop("fast")
    finally:
        os.kill(gtm_pid, signal.SIGCONT)
    committing.join(timeout=15)
    assert answered, "COMMIT waited for the stopped standby"
    client.close()

    pid = ha_cluster.server(primary).pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    ha_cluster.server(standby).start(wait=True)
    result = subprocess.run([sys.executable, "-m", "gridpg", "failover", "--dir", str(ha_cluster.dir),
                             group.name, "--force"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    # the promoted standby had the PREPARE, not the COMMIT PREPARED
    assert _prepared(server_dsn(ha_cluster, standby.port)), "the transaction did not come back prepared"
    _retrying(dsn, "SELECT gridpg_recover_prepared(0)")
    current = Cluster(ha_cluster.dir)
    for g in current.topology.groups:
        assert _prepared(server_dsn(current, g.primary.port)) == [], f"still prepared on {g.name}"
    assert _retrying(dsn, "SELECT v FROM ac ORDER BY id") == [(1,)] * 20
