"""Fault tests: a 2PC commit decided by its decider's commit with a marker row
(txn/marker.py). Whatever moment the coordinator dies or stalls at, in-doubt recovery must
end the transaction the way the decider's node says: committed everywhere or nowhere.

The faults are real: processes stopped (SIGSTOP) and killed (SIGKILL), a commit made to
wait for a synchronous standby that does not exist (durable locally, not answered), a
commit slowed by a deferred trigger that sleeps. The transaction writes dn1 first, then
dn2: dn2 (first written last) decides, dn1 prepares.

* killed after the PREPARE, before the decider's commit (the GTM stopped, so the commit
  waits for the commit fence there): recovery aborts, with an abort marker on dn2;
* killed after the decider's commit, before COMMIT PREPARED: recovery commits dn1;
* recovery while the decider's commit is in flight (its marker inserted, a trigger on the
  marker table sleeping before the commit): recovery's abort marker waits on the key,
  finds the commit marker and commits;
* recovery first, the coordinator stalled before its decider commit: the coordinator's
  marker then collides with recovery's, the client hears 40000, nothing is committed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.txn.fence import WATCHED_WINDOW
from tests.cluster_fixtures import prepared_gids, primaries, private_cluster, query
from tests.faults.test_commit_answer_lost import commits_wait_for_a_missing_standby


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # one worker: one marker keeper, one process to stop; no monitor: the test runs
    # recovery itself, at the moment it chooses
    with private_cluster("cmk", 28000, workers=1, monitor=False, failover=False) as made:
        yield made


def _prepared(dsn: str) -> list[str]:
    return prepared_gids(dsn, "gridpg%")


def _family(pid: int) -> list[int]:
    """`pid` and its descendants (a coordinator's worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _pid(cluster: Cluster, name: str) -> int:
    pid = processes.running_pid(cluster.dir, name)
    assert pid is not None, f"{name} is not running"
    return pid


def _recover(cluster: Cluster) -> str:
    """One recovery pass that takes every prepared GID as in doubt."""
    result = subprocess.run([sys.executable, "-m", "gridpg", "recover", "--dir", str(cluster.dir),
                             "--older-than", "0"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _outlive_fence_tokens() -> None:
    """Let a commit-fence token the worker still holds from the fixture's commits go (it
    keeps one up to WATCHED_WINDOW between commits): the next commit then needs the GTM."""
    time.sleep(WATCHED_WINDOW + 0.2)


def _wait(condition: object, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture()
def bank(cluster: Cluster) -> Iterator[tuple[int, int]]:
    """Table cm (20 rows of v = 0); (an id on dn1, an id on dn2). A few 2PC commits first,
    so the coordinator knows both marker tables (the first one's decision is the GTM's)."""
    dsn = cluster.dsn(0)
    if processes.running_pid(cluster.dir, "coord1") is None:
        cluster.up(lambda _m: None)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS cm")
        conn.execute("CREATE TABLE cm (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO cm SELECT g, 0 FROM generate_series(1, 20) g")
        nodes = primaries(cluster)
        ids = [int(str(query(nodes[n], "SELECT min(id) FROM cm")[0][0])) for n in ("dn1", "dn2")]
        for _ in range(3):
            with conn.transaction():
                conn.execute("UPDATE cm SET v = v WHERE id = %s", (ids[0],))
                conn.execute("UPDATE cm SET v = v WHERE id = %s", (ids[1],))
        _wait(lambda: all(query(d, "SELECT to_regclass('gridpg.commit_marker')")[0][0] for d in nodes.values()),
              "the marker tables were not made")
    yield ids[0], ids[1]
    for node in primaries(cluster).values():
        query(node, "DROP TRIGGER IF EXISTS slow ON gridpg.commit_marker; "
                    "DROP FUNCTION IF EXISTS public.slow_commit()")
    assert all(_prepared(d) == [] for d in primaries(cluster).values())


def _start_commit(dsn: str, ids: tuple[int, int]) -> tuple[threading.Thread, list[object]]:
    """A client's block writing dn1 then dn2; its COMMIT in a thread: [True] or [error]."""
    client = psycopg.connect(dsn, autocommit=True)
    client.execute("BEGIN")
    client.execute("UPDATE cm SET v = v + 1 WHERE id = %s", (ids[0],))
    client.execute("UPDATE cm SET v = v + 1 WHERE id = %s", (ids[1],))
    outcome: list[object] = []

    def commit() -> None:
        try:
            client.execute("COMMIT")
            outcome.append(True)
        except psycopg.Error as exc:
            outcome.append(exc)
        finally:
            client.close()

    return threading.Thread(target=commit, daemon=True), outcome


def _values(cluster: Cluster, ids: tuple[int, int]) -> list[int]:
    nodes = primaries(cluster)
    return [int(str(query(nodes[n], f"SELECT v FROM cm WHERE id = {i}")[0][0])) for n, i in zip(("dn1", "dn2"), ids)]


def _marker(cluster: Cluster, gid: str) -> list[tuple[object, ...]]:
    return query(primaries(cluster)["dn2"], f"SELECT outcome FROM gridpg.commit_marker WHERE gid = '{gid}'")


def _prepared_on_dn1(cluster: Cluster) -> str:
    """Wait for the block's PREPARE on dn1 (the marker form of its GID, dn2 deciding)."""
    nodes = primaries(cluster)
    _wait(lambda: _prepared(nodes["dn1"]), "dn1 did not prepare")
    gid = _prepared(nodes["dn1"])[0]
    assert gid.startswith("gridpgm_") and "_3_dn2_" in gid, gid
    assert _prepared(nodes["dn2"]) == []  # the decider does not prepare
    return gid


def test_killed_before_the_decider_commit_recovery_aborts(cluster: Cluster, bank: tuple[int, int]) -> None:
    gtm = _pid(cluster, cluster.topology.gtm.name)
    coordinator = _family(_pid(cluster, "coord1"))
    committing, outcome = _start_commit(cluster.dsn(0), bank)
    os.kill(gtm, signal.SIGSTOP)  # the commit stops at the commit fence, after the PREPAREs
    _outlive_fence_tokens()
    try:
        committing.start()
        gid = _prepared_on_dn1(cluster)
        _signal(coordinator, signal.SIGKILL)
    finally:
        os.kill(gtm, signal.SIGCONT)
    committing.join(timeout=15)
    assert outcome and outcome[0] is not True
    assert "1 rolled back" in _recover(cluster)
    assert all(_prepared(d) == [] for d in primaries(cluster).values())
    assert _values(cluster, bank) == [0, 0]
    assert _marker(cluster, gid) == [("a",)]


def test_killed_after_the_decider_commit_recovery_commits(cluster: Cluster, bank: tuple[int, int]) -> None:
    coordinator = _family(_pid(cluster, "coord1"))
    dn2 = primaries(cluster)["dn2"]
    waiting = ("SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' "
               "AND application_name LIKE 'gridpg:%'")
    committing, outcome = _start_commit(cluster.dsn(0), bank)
    with commits_wait_for_a_missing_standby({"dn2": dn2}):
        committing.start()
        gid = _prepared_on_dn1(cluster)
        # the decider's commit is durable on dn2 and waits for the standby: no COMMIT
        # PREPARED can have been sent
        _wait(lambda: query(dn2, waiting), "the decider's commit did not wait for the standby")
        _signal(coordinator, signal.SIGKILL)
        for (pid,) in query(dn2, waiting):
            query(dn2, f"SELECT pg_terminate_backend({pid})")
    committing.join(timeout=15)
    assert outcome and outcome[0] is not True
    assert _prepared(primaries(cluster)["dn1"]) == [gid]
    assert _marker(cluster, gid) == [("c",)]
    assert "1 committed" in _recover(cluster)
    assert all(_prepared(d) == [] for d in primaries(cluster).values())
    assert _values(cluster, bank) == [1, 1]


def test_recovery_waits_for_an_in_flight_decider_commit_and_commits(cluster: Cluster,
                                                                    bank: tuple[int, int]) -> None:
    dn2 = primaries(cluster)["dn2"]
    # The decider's commit sleeps after its marker insert, before its commit record (a
    # deferred trigger on cm would fire earlier: the decider's deferred checks run with
    # the others' PREPAREs).
    query(dn2, "CREATE FUNCTION public.slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN PERFORM pg_sleep(10); RETURN NULL; END $$")
    query(dn2, "CREATE TRIGGER slow AFTER INSERT ON gridpg.commit_marker FOR EACH ROW "
               "WHEN (NEW.outcome = 'c') EXECUTE FUNCTION public.slow_commit()")
    committing, outcome = _start_commit(cluster.dsn(0), bank)
    committing.start()
    gid = _prepared_on_dn1(cluster)
    _wait(lambda: query(dn2, "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'"),
          "the decider's commit is not sleeping")
    reports: list[str] = []
    recovering = threading.Thread(target=lambda: reports.append(_recover(cluster)), daemon=True)
    recovering.start()
    # recovery's abort marker waits on the key the decider's uncommitted marker holds
    _wait(lambda: query(dn2, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                             "AND query LIKE '%ON CONFLICT (gid) DO NOTHING%'") or not committing.is_alive(),
          "recovery did not reach the decider", seconds=30)
    assert committing.is_alive(), "the decider's commit ended before recovery asked"
    recovering.join(timeout=30)
    committing.join(timeout=15)
    assert outcome == [True]
    assert reports and "0 rolled back" in reports[0], reports
    assert _marker(cluster, gid) in ([("c",)], [])  # never an abort marker
    assert all(_prepared(d) == [] for d in primaries(cluster).values())
    assert _values(cluster, bank) == [1, 1]


def test_recovery_first_makes_the_late_decider_commit_roll_back(cluster: Cluster,
                                                                bank: tuple[int, int]) -> None:
    gtm = _pid(cluster, cluster.topology.gtm.name)
    coordinator = _family(_pid(cluster, "coord1"))
    committing, outcome = _start_commit(cluster.dsn(0), bank)
    os.kill(gtm, signal.SIGSTOP)
    _outlive_fence_tokens()
    try:
        committing.start()
        gid = _prepared_on_dn1(cluster)
        _signal(coordinator, signal.SIGSTOP)  # stalled before its decider commit
    finally:
        os.kill(gtm, signal.SIGCONT)
    try:
        assert "1 rolled back" in _recover(cluster)
        assert _marker(cluster, gid) == [("a",)]
    finally:
        _signal(coordinator, signal.SIGCONT)
    committing.join(timeout=15)
    assert len(outcome) == 1 and isinstance(outcome[0], psycopg.Error)
    assert outcome[0].sqlstate == "40000", outcome[0]
    assert "rolled back by in-doubt recovery" in str(outcome[0])
    _wait(lambda: all(_prepared(d) == [] for d in primaries(cluster).values()), "still prepared")
    assert _values(cluster, bank) == [0, 0]
