"""Distributed deadlocks are broken by the monitor: one side gets 40P01 with the cycle in
DETAIL within about two seconds, the other commits (cluster/monitor.py, txn/deadlock.py)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import errors

from gridpg.cluster.control import Cluster


def rows_by_node(datanodes: dict[str, str], table: str) -> dict[str, list[int]]:
    found = {}
    for name, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            found[name] = sorted(r[0] for r in conn.execute(f"SELECT id FROM {table}"))
    return found


@pytest.fixture()
def accounts(gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> tuple[str, int, int]:
    table = f"{schema}.acc"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH(id)")
        conn.execute(f"INSERT INTO {table} SELECT g, 100 FROM generate_series(1, 20) g")
    placed = rows_by_node(datanodes, table)
    first, second = sorted(placed)[:2]
    return table, placed[first][0], placed[second][0]


def test_cross_node_deadlock_one_side_gets_40p01_the_other_commits(
        gridpg_cluster: Cluster, accounts: tuple[str, int, int]) -> None:
    table, on_first, on_second = accounts
    a = psycopg.connect(gridpg_cluster.dsn(0))  # through coordinator 1
    b = psycopg.connect(gridpg_cluster.dsn(1))  # through coordinator 2
    outcome: dict[str, object] = {}

    def second_update(name: str, conn: psycopg.Connection, key: int) -> None:
        try:
            conn.execute(f"UPDATE {table} SET v = v + 1 WHERE id = %s", (key,))
            conn.commit()
            outcome[name] = "committed"
        except psycopg.Error as exc:
            outcome[name] = exc
            conn.rollback()
        outcome[name + "_at"] = time.monotonic()

    try:
        a.execute(f"UPDATE {table} SET v = v - 1 WHERE id = %s", (on_first,))
        b.execute(f"/* the other order */ UPDATE {table} SET v = v - 1 WHERE id = %s", (on_second,))
        threads = [threading.Thread(target=second_update, args=("a", a, on_second)),
                   threading.Thread(target=second_update, args=("b", b, on_first))]
        threads[0].start()
        time.sleep(0.2)
        threads[1].start()
        cycle_closed = time.monotonic()  # the second waiter's statement is on its way
        for thread in threads:
            thread.join(timeout=20)
        assert not any(t.is_alive() for t in threads), "the deadlock was not broken"
    finally:
        a.close()
        b.close()
    results = [outcome["a"], outcome["b"]]
    failed = [r for r in results if isinstance(r, Exception)]
    assert results.count("committed") == 1 and len(failed) == 1, results
    error = failed[0]
    assert isinstance(error, errors.DeadlockDetected), repr(error)
    assert error.diag.sqlstate == "40P01" and error.diag.message_primary == "deadlock detected"
    detail = error.diag.message_detail or ""
    assert "waits on" in detail and "blocked by" in detail, detail
    loser = "a" if isinstance(outcome["a"], Exception) else "b"
    broken_after = float(outcome[loser + "_at"]) - cycle_closed  # type: ignore[arg-type]
    print(f"deadlock broken {broken_after:.2f} s after the cycle closed")
    assert broken_after < 3.0
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        total = conn.execute(f"SELECT sum(v) FROM {table}").fetchone()
        changed = conn.execute(f"SELECT v FROM {table} WHERE id IN (%s, %s)", (on_first, on_second)).fetchall()
    # The winner moved one unit from one row to the other; the victim left no trace.
    assert total is not None and total[0] == 20 * 100
    assert sorted(r[0] for r in changed) == [99, 101]


def test_a_user_cancel_stays_57014(gridpg_cluster: Cluster, accounts: tuple[str, int, int]) -> None:
    """Only the monitor's victims are reported as deadlocks: a client's own cancel is not."""
    table, on_first, _ = accounts
    holder = psycopg.connect(gridpg_cluster.dsn(0))
    waiter = psycopg.connect(gridpg_cluster.dsn(1))
    try:
        holder.execute(f"UPDATE {table} SET v = 0 WHERE id = %s", (on_first,))
        timer = threading.Timer(1.0, waiter.cancel)
        timer.start()
        with pytest.raises(errors.QueryCanceled):
            waiter.execute(f"UPDATE {table} SET v = 1 WHERE id = %s", (on_first,))
        timer.join()
    finally:
        holder.close()
        waiter.close()


def test_multi_node_statement_as_the_victim(gridpg_cluster: Cluster,
                                            accounts: tuple[str, int, int]) -> None:
    """The youngest transaction's waiting statement runs on every node (an UPDATE without a
    distribution-key filter): it gets 40P01, its transaction's other locks go at once."""
    table, on_first, on_second = accounts
    older = psycopg.connect(gridpg_cluster.dsn(1))
    younger = psycopg.connect(gridpg_cluster.dsn(0))
    outcome: dict[str, object] = {}

    def run(name: str, conn: psycopg.Connection, sql: str, args: tuple[int, ...]) -> None:
        try:
            conn.execute(sql, args)
            outcome[name] = "done"
        except psycopg.Error as exc:
            outcome[name] = exc
            conn.rollback()

    try:
        older.execute(f"UPDATE {table} SET v = v + 1 WHERE id = %s", (on_second,))
        time.sleep(0.1)
        younger.execute(f"UPDATE {table} SET v = v + 1 WHERE id = %s", (on_first,))
        first = threading.Thread(target=run, args=(
            "older", older, f"UPDATE {table} SET v = v + 1 WHERE id = %s", (on_first,)))
        second = threading.Thread(target=run, args=(
            "younger", younger, f"UPDATE {table} SET v = v + 10 WHERE v >= %s", (0,)))
        first.start()
        time.sleep(0.2)
        second.start()
        for thread in (first, second):
            thread.join(timeout=20)
        assert not first.is_alive() and not second.is_alive(), "the deadlock was not broken"
        assert outcome["older"] == "done", outcome
        assert isinstance(outcome["younger"], errors.DeadlockDetected), outcome
        older.commit()
    finally:
        older.close()
        younger.close()
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        total = conn.execute(f"SELECT sum(v) FROM {table}").fetchone()
    assert total == (20 * 100 + 2,)
