"""Writers contending for a row of a REPLICATION table queue as on PostgreSQL.

A write to a replicated table runs on every node under the snapshot fence, held until
each node's statement has taken its snapshot. A write blocked on a row lock has taken
it: PostgreSQL takes a write's snapshot before it reads a row, and waits for a row lock
only while it reads them. Before, the fence was held until the blocked write's answer:
the holder of the row lock could not commit its 2PC (its COMMIT PREPARED needs the
fence), and after `gridpg.fence_timeout` the waiting write failed with 40001 where
PostgreSQL makes it wait (an application's counter or coupon on a reference table).

Such a write also locks its rows on the table's first node before it starts on any node
(planner/writes.first_copy_lock): writers of one row queue there, where before each could
lock it first on another node and both waited for the other (40P01, which PostgreSQL does
not give them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import create_in_schema

SETUP = [
    "CREATE TABLE {s}.counters (k text PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY REPLICATION",
    "INSERT INTO {s}.counters VALUES ('a', 0), ('b', 0)",
]


def test_a_write_waiting_for_a_row_lock_lets_the_holder_commit(gridpg_cluster: Cluster, schema: str) -> None:
    s = create_in_schema(gridpg_cluster, schema, SETUP)
    holder = psycopg.connect(gridpg_cluster.dsn(0))
    waiter = psycopg.connect(gridpg_cluster.dsn(1), autocommit=True)
    waiter.execute("SET gridpg.fence_timeout = 2000")
    holder.execute(f"UPDATE {s}.counters SET n = n + 1 WHERE k = 'a'")  # row locked on every node
    outcome: list[object] = []

    def wait_for_the_row() -> None:
        try:
            outcome.append(waiter.execute(f"UPDATE {s}.counters SET n = n + 10 WHERE k = 'a' "
                                          "RETURNING n").fetchall())
        except psycopg.Error as exc:
            outcome.append(exc.sqlstate)

    thread = threading.Thread(target=wait_for_the_row)
    thread.start()
    time.sleep(0.5)  # the waiter holds the snapshot fence, blocked on the row lock
    started = time.perf_counter()
    holder.commit()  # 2PC: its COMMIT PREPARED needs the fence
    committed_in = time.perf_counter() - started
    thread.join(30)
    holder.close()
    waiter.close()
    assert outcome == [[(11,)]]
    assert committed_in < 1.5
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute(f"SELECT n FROM {s}.counters WHERE k = 'a'").fetchall() == [(11,)]


def _contend(cluster: Cluster, s: str, write: Callable[[psycopg.Connection, int], None],
             increments: int, rounds: int = 15) -> tuple[int, int, list[str]]:
    """4 writers through both coordinators, `rounds` writes each: (the counters' total,
    the increments acknowledged, the SQLSTATEs of the failures)."""
    failures: list[str] = []
    done = [0]
    lock = threading.Lock()

    def worker(w: int) -> None:
        with psycopg.connect(cluster.dsn(w % 2), autocommit=True) as conn:
            conn.execute("SET gridpg.fence_timeout = 2000")
            for i in range(rounds):
                try:
                    write(conn, i)
                    with lock:
                        done[0] += increments
                except psycopg.Error as exc:
                    failures.append(exc.sqlstate or "?")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        total = conn.execute(f"SELECT sum(n) FROM {s}.counters").fetchone()[0]
    return total, done[0], failures


def test_contended_counters_on_a_reference_table_through_two_coordinators(
        gridpg_cluster: Cluster, schema: str) -> None:
    s = create_in_schema(gridpg_cluster, schema, SETUP)
    total, done, failures = _contend(gridpg_cluster, s, lambda conn, i: conn.execute(
        f"UPDATE {s}.counters SET n = n + 1 WHERE k = %s", ("ab"[i % 2],)), 1)
    assert total == done  # nothing lost or doubled
    assert failures == []  # they queue, as on PostgreSQL: no 40001, no 40P01


def test_writers_of_the_same_rows_queue_instead_of_deadlocking(gridpg_cluster: Cluster, schema: str) -> None:
    """Both rows in one statement, and one after the other in a transaction, in the same
    order for every writer: PostgreSQL queues them all (before: about a third 40P01)."""
    s = create_in_schema(gridpg_cluster, schema, SETUP)

    def both(conn: psycopg.Connection, i: int) -> None:
        if i % 2:
            conn.execute(f"UPDATE {s}.counters SET n = n + 1 WHERE k IN ('a', 'b')")
            return
        with conn.transaction():
            conn.execute(f"UPDATE {s}.counters SET n = n + 1 WHERE k = 'a'")
            conn.execute(f"DELETE FROM {s}.counters WHERE k = 'b' AND n < 0")
            conn.execute(f"UPDATE {s}.counters SET n = n + 1 WHERE k = 'b'")

    total, done, failures = _contend(gridpg_cluster, s, both, 2)
    assert failures == []
    assert total == done


def test_upserts_of_the_same_keys_queue_instead_of_deadlocking(gridpg_cluster: Cluster, schema: str) -> None:
    """INSERT ... ON CONFLICT of every copy runs on the first node to its answer before the
    others (no fenced snapshot to share): counters bumped by upsert, and keys inserted for
    the first time by several writers at once (before: 40P01 for about a fifth)."""
    s = create_in_schema(gridpg_cluster, schema, SETUP)

    def upsert(conn: psycopg.Connection, i: int) -> None:
        conn.execute(f"INSERT INTO {s}.counters VALUES (%s, 1) ON CONFLICT (k) DO UPDATE "
                     f"SET n = counters.n + 1", ("ab"[i % 2],))
        conn.execute(f"INSERT INTO {s}.counters VALUES (%s, 1) ON CONFLICT (k) DO UPDATE "
                     f"SET n = counters.n + 1", (f"new{i}",))

    total, done, failures = _contend(gridpg_cluster, s, upsert, 2, rounds=40)
    assert failures == []
    assert total == done


def test_inserts_of_one_new_key_give_the_later_writers_a_unique_violation(
        gridpg_cluster: Cluster, schema: str) -> None:
    """Several writers insert the same new keys: one wins each, the others get 23505 as
    on PostgreSQL (before: some got 40P01, having taken the key first on another node)."""
    s = create_in_schema(gridpg_cluster, schema, SETUP)
    outcomes: list[str] = []

    def insert(conn: psycopg.Connection, i: int) -> None:
        try:
            conn.execute(f"INSERT INTO {s}.counters VALUES (%s, 1)", (f"k{i}",))
            outcomes.append("ok")
        except psycopg.errors.UniqueViolation:
            outcomes.append("23505")

    total, done, failures = _contend(gridpg_cluster, s, insert, 0, rounds=100)
    assert failures == []
    assert outcomes.count("ok") == 100 and outcomes.count("23505") == 300
    assert total == 100
