"""A DDL statement run as a named prepared statement (psycopg's `prepare=True`, a driver
that prepares a statement it runs often, pgJDBC past prepareThreshold) that fails outside a
transaction block leaves the session usable. The DDL's blocks on the catalog servers and
datanodes wait for no Sync: they stayed open and failed, the client was told the session
was idle, and every later statement of the session failed with 25P02 until it reconnected."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

FAILING = [
    "CREATE TABLE {s}.t (a int)",  # exists
    "CREATE INDEX t_pkey ON {s}.t (a)",
    "ALTER TABLE {s}.t ADD COLUMN a int",
    "DROP TABLE {s}.missing",
    "COMMENT ON TABLE {s}.missing IS 'x'",
    "CREATE VIEW {s}.t AS SELECT 1",
    "TRUNCATE {s}.missing",
]


@pytest.mark.parametrize("sql", FAILING)
def test_a_failed_prepared_ddl_leaves_the_session_usable(gridpg_cluster: Cluster, schema: str, sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.t (a int PRIMARY KEY)")
        with pytest.raises(psycopg.errors.DatabaseError):
            conn.execute(sql.format(s=schema), prepare=True)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT 1", prepare=True).fetchone() == (1,)
        conn.execute(f"INSERT INTO {schema}.t VALUES (1)")
        assert conn.execute(f"SELECT count(*) FROM {schema}.t").fetchone() == (1,)
        conn.execute(f"CREATE TABLE {schema}.u (a int)", prepare=True)  # DDL works again
        assert conn.execute(f"SELECT count(*) FROM {schema}.u").fetchone() == (0,)
