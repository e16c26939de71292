"""Fault tests: a one-node COMMIT whose node dies after the commit is durable, before it
answers. The client must hear 08007 (transaction_resolution_unknown), never a rollback,
and its session goes on outside any block.

The fault is real: the datanodes are made to wait at COMMIT for a synchronous standby
that does not exist (the commit is then durable locally), and the waiting backend is
terminated from outside: PostgreSQL writes a WARNING ("the transaction has already
committed locally"), a FATAL and closes the connection, so the coordinator's COMMIT was
sent and its answer never comes. Both ways a COMMIT reaches a node are covered: the
session's task (a simple Query) and the callbacks (a prepared COMMIT, frontend/fast_cycle.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.integration.test_metrics import scrape

WAITING = ("SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND application_name LIKE 'gridpg:%'")


def _commit_waits(dsn: str) -> bool:
    """Whether a COMMIT that wrote WAL waits for a synchronous standby on this node now
    (the checkpointer has taken the setting); a probe found waiting is cancelled, which
    ends the wait (the probe's commit is local then)."""
    with psycopg.connect(dsn, autocommit=True) as probe, psycopg.connect(dsn, autocommit=True) as watcher:
        pid = probe.info.backend_pid
        probe.execute("BEGIN")
        probe.execute("CREATE TEMP TABLE gridpg_probe ()")  # WAL to wait for
        committing = threading.Thread(target=probe.execute, args=("COMMIT",), daemon=True)
        committing.start()
        waits = False
        deadline = time.monotonic() + 1.0
        while committing.is_alive() and not waits and time.monotonic() < deadline:
            row = watcher.execute("SELECT wait_event FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            waits = row is not None and row[0] == "SyncRep"
            time.sleep(0.02)
        if committing.is_alive():
            watcher.execute("SELECT pg_cancel_backend(%s)", (pid,))
        committing.join(timeout=10)
        return waits


@contextmanager
def commits_wait_for_a_missing_standby(datanodes: dict[str, str]) -> Iterator[None]:
    def configure(value: str | None) -> None:
        for dsn in datanodes.values():
            with psycopg.connect(dsn, autocommit=True) as conn:
                if value is None:
                    conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
                else:
                    conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{value}'")
                conn.execute("SELECT pg_reload_conf()")

    configure("gridpg_no_such_standby")
    try:
        deadline = time.monotonic() + 10
        while not all(_commit_waits(dsn) for dsn in datanodes.values()):
            assert time.monotonic() < deadline, "the datanodes do not wait for the standby"
            time.sleep(0.2)
        yield
    finally:
        configure(None)
        deadline = time.monotonic() + 10
        while any(_commit_waits(dsn) for dsn in datanodes.values()) and time.monotonic() < deadline:
            time.sleep(0.2)


def _terminate_waiting_commit(datanodes: dict[str, str], stop: threading.Event, killed: list[int]) -> None:
    """Terminate the first backend found waiting at COMMIT on any datanode."""
    deadline = time.monotonic() + 20
    while not stop.is_set() and time.monotonic() < deadline:
        for dsn in datanodes.values():
            with psycopg.connect(dsn, autocommit=True) as conn:
                pids = [row[0] for row in conn.execute(WAITING)]
                for pid in pids:
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(pid)
        if killed:
            return
        time.sleep(0.05)


def _commit_with_node_killed(datanodes: dict[str, str], commit: Callable[[], object]) -> object:
    stop = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(target=_terminate_waiting_commit, args=(datanodes, stop, killed), daemon=True)
    killer.start()
    try:
        return commit()
    finally:
        stop.set()
        killer.join(timeout=30)
        assert killed, "no COMMIT was found waiting on a datanode"


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("CREATE TABLE lost (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        c.execute("INSERT INTO lost SELECT g, 0 FROM generate_series(1, 20) g")
        yield c


def test_simple_commit_whose_answer_is_lost_reports_08007(conn: psycopg.Connection,
                                                          datanodes: dict[str, str]) -> None:
    raw = conn.pgconn
    assert raw.exec_(b"BEGIN").status == psycopg.pq.ExecStatus.COMMAND_OK
    assert raw.exec_(b"UPDATE lost SET v = 1 WHERE id = 3").command_tuples == 1
    with commits_wait_for_a_missing_standby(datanodes):
        result = _commit_with_node_killed(datanodes, lambda: raw.exec_(b"COMMIT"))
    assert result.status == psycopg.pq.ExecStatus.FATAL_ERROR, result.status
    assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"08007"
    assert b"may or may not have committed" in result.error_field(psycopg.pq.DiagnosticField.MESSAGE_PRIMARY)
    # the block is over, the session goes on; the commit was durable: it is there
    assert raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT v FROM lost WHERE id = 3").fetchone() == (1,)


def test_prepared_commit_whose_answer_is_lost_reports_08007(gridpg_cluster: Cluster, conn: psycopg.Connection,
                                                            datanodes: dict[str, str]) -> None:
    raw = conn.pgconn
    for name, sql in ((b"b_lost", b"BEGIN"), (b"c_lost", b"COMMIT"),
                      (b"u_lost", b"UPDATE lost SET v = v + 1 WHERE id = $1")):
        raw.prepare(name, sql)
        raw.describe_prepared(name)  # as pgbench -M prepared

    def block() -> psycopg.pq.PGresult:
        raw.exec_prepared(b"b_lost", [])
        assert raw.exec_prepared(b"u_lost", [b"5"]).command_status == b"UPDATE 1"
        return raw.exec_prepared(b"c_lost", [])

    assert block().command_status == b"COMMIT"  # connections and plans made
    time.sleep(1.5)  # the catalog check a BEGIN may do is behind us
    before = scrape(gridpg_cluster)
    with commits_wait_for_a_missing_standby(datanodes):
        result = _commit_with_node_killed(datanodes, block)
    assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"08007"
    assert raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # the COMMIT was sent from the callbacks, its lost answer finished by the task
    name = 'gridpg_fast_cycles_total{relayed_by="task"}'
    deadline = time.monotonic() + 5
    while scrape(gridpg_cluster).get(name, 0.0) <= before.get(name, 0.0):
        assert time.monotonic() < deadline, "the COMMIT's answer was not handed to the task"
        time.sleep(0.2)
    assert conn.execute("SELECT v FROM lost WHERE id = 5").fetchone() == (2,)
    assert block().command_status == b"COMMIT"
    assert conn.execute("SELECT v FROM lost WHERE id = 5").fetchone() == (3,)
