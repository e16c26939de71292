"""Statements bench/regress_replay.py found answered wrongly without an error, which gridpg
now refuses with a SQLSTATE (the ones it now answers right are in the oracle corpus file
tests/oracle/corpus/90_regress_replay.sql)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.mark.parametrize("dml", [
    "UPDATE copydml SET t = 'g' WHERE t = 'f' RETURNING id",
    "INSERT INTO copydml VALUES (3, 'x') RETURNING id",
    "DELETE FROM copydml WHERE id = 1 RETURNING id",
    "/* annotated */ delete from copydml where id in (select id from copydml) returning *",
])
def test_copy_of_a_write_with_returning_is_refused_and_changes_nothing(
        gridpg_cluster: Cluster, schema: str, dml: str) -> None:
    """It changed the catalog server's gathered copy of the table and printed its rows."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE copydml (id int, t text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO copydml VALUES (1, 'a'), (2, 'f')")
        with pytest.raises(psycopg.errors.FeatureNotSupported), conn.cursor() as cur, \
                cur.copy(f"COPY ({dml}) TO STDOUT") as copy:
            list(copy)
        assert conn.execute("SELECT id, t FROM copydml ORDER BY id").fetchall() == [(1, "a"), (2, "f")]
        # a query still works
        with conn.cursor() as cur, cur.copy("COPY (SELECT id FROM copydml ORDER BY id) TO STDOUT") as copy:
            assert b"".join(bytes(c) for c in copy) == b"1\n2\n"


def test_copy_of_a_query_over_a_view_of_a_distributed_table(gridpg_cluster: Cluster, schema: str) -> None:
    """The view was not inlined: it read the catalog server's empty copy of the table."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE test1 (id int, t text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO test1 VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        conn.execute("CREATE VIEW v_test1 AS SELECT 'v_' || t AS t FROM test1")
        sql = "COPY (SELECT t FROM test1 WHERE id = 1 UNION SELECT * FROM v_test1 ORDER BY 1) TO STDOUT"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            assert b"".join(bytes(c) for c in copy) == b"a\nv_a\nv_b\nv_c\n"


def test_importing_a_snapshot_is_refused(gridpg_cluster: Cluster) -> None:
    """SET TRANSACTION SNAPSHOT succeeded and imported nothing (transactions.sql): one
    server's exported snapshot cannot describe the cluster, so it is refused."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT 1").fetchone() == (1,)
