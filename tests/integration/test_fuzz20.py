"""h-fuzz20's differential fuzz: a client's ROLLBACK kept a write made inside its block
when the session had run a prepared statement before the BEGIN (psycopg prepares a
statement on its fifth execution). The prepared statement's pinned datanode connection
stayed a participant after the autocommit statement, outside any remote block; the
single-node write in the client's block then used it as it was and committed at once
(txn/transaction.Transaction.connection now opens the block on it)."""

from __future__ import annotations

import psycopg
import pytest


@pytest.mark.parametrize("write", [
    "DELETE FROM fz_a WHERE id = 1",
    "UPDATE fz_a SET v = -1 WHERE id = 2",
    "INSERT INTO fz_a VALUES (100, 100)",
])
def test_rollback_after_a_prepared_statement_undoes_a_single_node_write(
        coordinator_dsn: str, schema: str, write: str) -> None:
    with psycopg.connect(coordinator_dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE fz_a (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE fz_b (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO fz_a SELECT n, n FROM generate_series(1, 20) n")
        conn.execute("INSERT INTO fz_b SELECT n, n FROM generate_series(1, 20) n")
        before = conn.execute("SELECT count(*), sum(v) FROM fz_a").fetchone()
        assert conn.execute("SELECT * FROM fz_b", prepare=True).fetchall()
        conn.execute("BEGIN")
        assert conn.execute(write).rowcount == 1
        conn.execute("ROLLBACK")
        with psycopg.connect(coordinator_dsn, autocommit=True) as other:
            assert other.execute(f'SELECT count(*), sum(v) FROM "{schema}".fz_a').fetchone() == before
        assert conn.execute("SELECT count(*), sum(v) FROM fz_a").fetchone() == before


def test_savepoint_after_a_prepared_statement_and_a_single_node_write(coordinator_dsn: str, schema: str) -> None:
    """The same leftover participant: a SAVEPOINT sent to it, outside any block, was 25P01."""
    with psycopg.connect(coordinator_dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE fz_c (id int, g int) DISTRIBUTE BY HASH (g)")
        conn.execute("CREATE TABLE fz_d (id int, g int) DISTRIBUTE BY HASH (g)")
        conn.execute("INSERT INTO fz_c SELECT n, n % 5 FROM generate_series(1, 20) n")
        conn.execute("INSERT INTO fz_d SELECT n, n % 5 FROM generate_series(1, 20) n")
        assert conn.execute("SELECT * FROM fz_d", prepare=True).fetchall()
        conn.execute("BEGIN")
        assert len(conn.execute("DELETE FROM fz_c WHERE g = 3 RETURNING id").fetchall()) == 4
        conn.execute("SAVEPOINT s1")
        conn.execute("DELETE FROM fz_c WHERE g = 1")
        conn.execute("ROLLBACK TO SAVEPOINT s1")
        conn.execute("COMMIT")
        assert conn.execute("SELECT count(*) FROM fz_c").fetchone() == (16,)
