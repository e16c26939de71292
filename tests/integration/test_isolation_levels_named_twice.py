"""A transaction whose modes name the isolation level twice runs the last one, as in
PostgreSQL: `BEGIN ISOLATION LEVEL REPEATABLE READ, ISOLATION LEVEL SERIALIZABLE` (and the
same list in SET TRANSACTION) is SERIALIZABLE, so reaching a second datanode is refused
(0A000) like any SERIALIZABLE transaction's. Before (h-jepsen8), gridpg read the first
level: SHOW transaction_isolation said serializable, every node ran serializable on its
own, and two doctors on call on different nodes both went off call (write skew, no
40001)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

TWICE = [
    ["BEGIN ISOLATION LEVEL REPEATABLE READ, ISOLATION LEVEL SERIALIZABLE"],
    ["BEGIN", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, ISOLATION LEVEL SERIALIZABLE"],
    ["START TRANSACTION ISOLATION LEVEL READ COMMITTED ISOLATION LEVEL SERIALIZABLE"],
]
ONCE_MORE = ["BEGIN ISOLATION LEVEL SERIALIZABLE, ISOLATION LEVEL REPEATABLE READ"]


def _keys_on_two_nodes(conn: psycopg.Connection, table: str) -> tuple[int, int]:
    def node(key: int) -> str:
        plan = [r[0].strip() for r in conn.execute(f"EXPLAIN SELECT * FROM {table} WHERE id = {key}")]
        return next(line for line in plan if line.startswith("Nodes:"))

    return 1, next(k for k in range(2, 21) if node(k) != node(1))


@pytest.mark.parametrize("begin", TWICE)
def test_the_last_level_named_is_the_transactions(gridpg_cluster: Cluster, schema: str, begin: list[str]) -> None:
    table = f'"{schema}".doctors'
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, on_call bool NOT NULL) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {table} SELECT g, true FROM generate_series(1, 20) g")
        first, other = _keys_on_two_nodes(conn, table)
        for sql in begin:
            conn.execute(sql)
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        conn.execute(f"SELECT on_call FROM {table} WHERE id = {first}")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(f"SELECT on_call FROM {table} WHERE id = {other}")
        conn.execute("ROLLBACK")
        # The other order ends in REPEATABLE READ: one cluster-wide snapshot, both nodes read.
        conn.execute(ONCE_MORE[0])
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("repeatable read",)
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE id IN ({first}, {other})").fetchone() == (2,)
        conn.execute("ROLLBACK")
