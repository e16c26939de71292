"""Read consistency across nodes (DESIGN 6): every multi-node read sees a distributed
transaction on all of its nodes or on none, so the bank invariant holds on every read."""

from __future__ import annotations

import threading
import time

import psycopg

from gridpg.cluster.control import Cluster

ACCOUNTS = 20
START = 1000


def test_sum_of_balances_is_constant_under_transfers(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.acct (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.acct SELECT g, {START} FROM generate_series(1, {ACCOUNTS}) g")
        owners: dict[str, list[int]] = {}
        for i in range(1, ACCOUNTS + 1):
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {schema}.acct WHERE id = {i}"))
            node = next(line.split(":", 1)[1].strip() for line in plan.splitlines() if "Nodes:" in line)
            owners.setdefault(node, []).append(i)
    assert len(owners) >= 2, owners
    left, right = list(owners.values())[:2]
    stop = time.monotonic() + 4
    errors: list[str] = []
    transfers = [0]

    def transfer() -> None:
        with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
            step = 0
            while time.monotonic() < stop:
                a, b = left[step % len(left)], right[step % len(right)]
                with conn.transaction():
                    conn.execute(f"UPDATE {schema}.acct SET balance = balance - 7 WHERE id = %s", (a,))
                    conn.execute(f"UPDATE {schema}.acct SET balance = balance + 7 WHERE id = %s", (b,))
                transfers[0] += 1
                step += 1

    worker = threading.Thread(target=transfer)
    worker.start()
    reads = 0
    try:
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as reader:
            while time.monotonic() < stop:
                total = reader.execute(f"SELECT sum(balance) FROM {schema}.acct").fetchone()[0]
                rows = reader.execute(f"SELECT balance FROM {schema}.acct").fetchall()
                reads += 1
                for seen in (total, sum(r[0] for r in rows)):
                    if seen != ACCOUNTS * START:
                        errors.append(f"read {reads}: sum {seen}")
    finally:
        worker.join(30)
    assert transfers[0] > 20 and reads > 20, (transfers[0], reads)
    assert not errors, errors[:5]
