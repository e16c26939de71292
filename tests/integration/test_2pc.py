"""Multi-node write transactions are all-or-nothing (DESIGN section 6, write atomicity)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import prepared_on, session


def _rows_on_nodes(dsns: dict[str, str], table: str) -> int:
    total = 0
    for dsn in dsns.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            total += conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return total


def test_commit_on_two_nodes_uses_prepared_transactions(
    gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]
) -> None:
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH (id)")
        with conn.transaction():
            for i in range(1, 41):
                conn.execute("INSERT INTO acct VALUES (%s, 100)", (i,))
        assert conn.execute("SELECT count(*), sum(balance) FROM acct").fetchone() == (40, 4000)
    # Rows landed on both datanodes, and nothing stays prepared.
    per_node = []
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as direct:
            per_node.append(direct.execute(f"SELECT count(*) FROM {schema}.acct").fetchone()[0])
    assert sum(per_node) == 40 and all(n > 0 for n in per_node)
    assert prepared_on(datanodes) == []


def test_failure_during_prepare_leaves_no_trace(
    gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]
) -> None:
    """The second node refuses at PREPARE (a deferred constraint trigger fires there):
    the first node's prepared transaction is rolled back, no row anywhere."""
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE t (id int, v text) DISTRIBUTE BY HASH (id)")
    second = sorted(datanodes)[1]
    with psycopg.connect(datanodes[second], autocommit=True) as direct:
        direct.execute(
            f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'P0001'; END $$"
        )
        direct.execute(
            f"CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON {schema}.t DEFERRABLE INITIALLY "
            f"DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()"
        )
    with session(gridpg_cluster.dsn(), schema) as conn:
        with pytest.raises(psycopg.Error) as info:
            with conn.transaction():
                conn.execute("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 50) g")
        assert info.value.sqlstate == "P0001"
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    assert _rows_on_nodes(datanodes, f"{schema}.t") == 0
    assert prepared_on(datanodes) == []


def test_error_on_one_node_aborts_everywhere(gridpg_cluster: Cluster, schema: str,
                                             datanodes: dict[str, str]) -> None:
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE u (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO u VALUES (7)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            with conn.transaction():
                conn.execute("INSERT INTO u SELECT g FROM generate_series(100, 140) g")
                conn.execute("INSERT INTO u VALUES (7)")
        assert conn.execute("SELECT count(*) FROM u").fetchone()[0] == 1
    assert _rows_on_nodes(datanodes, f"{schema}.u") == 1
    assert prepared_on(datanodes) == []


def test_savepoint_reaches_nodes_joined_later(gridpg_cluster: Cluster, schema: str) -> None:
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE s (id int) DISTRIBUTE BY HASH (id)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO s VALUES (1)")
        conn.execute("SAVEPOINT a")
        conn.execute("INSERT INTO s SELECT g FROM generate_series(2, 60) g")
        conn.execute("ROLLBACK TO SAVEPOINT a")
        conn.execute("INSERT INTO s VALUES (1000)")
        conn.execute("COMMIT")
        rows = sorted(r[0] for r in conn.execute("SELECT id FROM s"))
    assert rows == [1, 1000]


def test_serializable_is_refused_across_nodes(gridpg_cluster: Cluster, schema: str) -> None:
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE z (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO z SELECT generate_series(1, 20)")
        conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        assert conn.execute("SELECT id FROM z WHERE id = 3").fetchone() == (3,)
        conn.execute("COMMIT")
        conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("SELECT count(*) FROM z")
        conn.execute("ROLLBACK")
