"""Writers contending for a row of a REPLICATION table queue as on PostgreSQL.

A write to a replicated table runs on every node under the snapshot fence, held until
each node's statement has taken its snapshot. A write blocked on a row lock has taken
it: PostgreSQL takes a write's snapshot before it reads a row, and waits for a row lock
only while it reads them. Before, the fence was held until the blocked write's answer:
the holder of the row lock could not commit its 2PC (its COMMIT PREPARED needs the
fence), and after `gridpg.fence_timeout` the waiting write failed with 40001 where
PostgreSQL makes it wait (an application's counter or coupon on a reference table)."""

from __future__ import annotations

import threading
import time

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


def test_contended_counters_on_a_reference_table_through_two_coordinators(
        gridpg_cluster: Cluster, schema: str) -> None:
    s = create_in_schema(gridpg_cluster, schema, SETUP)
    failures: list[str] = []
    done = [0]
    lock = threading.Lock()

    def worker(w: int) -> None:
        with psycopg.connect(gridpg_cluster.dsn(w % 2), autocommit=True) as conn:
            conn.execute("SET gridpg.fence_timeout = 2000")
            for i in range(15):
                try:
                    conn.execute(f"UPDATE {s}.counters SET n = n + 1 WHERE k = %s", ("ab"[i % 2],))
                    with lock:
                        done[0] += 1
                except psycopg.Error as exc:
                    failures.append(exc.sqlstate or "?")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        total = conn.execute(f"SELECT sum(n) FROM {s}.counters").fetchone()[0]
    assert total == done[0]  # nothing lost or doubled
    assert "40001" not in failures
