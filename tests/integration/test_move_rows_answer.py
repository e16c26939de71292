"""An UPDATE of the distribution column (executor/multi.move_rows) answers the client only
once the moved rows are back in the table: when the re-insert fails (a duplicate key),
the client gets the error alone, as from PostgreSQL, not "UPDATE n" followed by the error.
Read at the libpq level, where every result of the statement is visible."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import pq

from gridpg.cluster.control import Cluster


@pytest.fixture()
def table(gridpg_cluster: Cluster, schema: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.mv (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.mv SELECT g, g FROM generate_series(1, 30) g")
    return schema


def _results(conn: psycopg.Connection, sql: str, extended: bool) -> list[tuple[str, str]]:
    """(status, command tag or SQLSTATE) of every result libpq returns for `sql`."""
    pgconn = conn.pgconn
    if extended:
        pgconn.send_query_params(sql.encode(), [b"25"], [23])
    else:
        pgconn.send_query(sql.encode())
    out = []
    while (res := pgconn.get_result()) is not None:
        if res.status == pq.ExecStatus.FATAL_ERROR:
            out.append(("error", (res.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()))
        else:
            out.append((pq.ExecStatus(res.status).name, (res.command_status or b"").decode()))
    return out


@pytest.mark.parametrize("extended", [False, True])
def test_failed_move_sends_no_success_first(gridpg_cluster: Cluster, table: str, extended: bool) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        where = "id IN ($1, 26)" if extended else "id IN (25, 26)"
        assert _results(conn, f"UPDATE {table}.mv SET id = 50 WHERE {where}", extended) == [("error", "23505")]
        assert _results(conn, f"UPDATE {table}.mv SET id = id + 1 WHERE id BETWEEN 11 AND 20 RETURNING id",
                        False) == [("error", "23505")]
        count = conn.execute(f"SELECT count(*), sum(id) FROM {table}.mv").fetchone()
        assert count == (30, 465)
        moved = _results(conn, f"UPDATE {table}.mv SET id = id + 100 WHERE id > 28 RETURNING id", False)
        assert moved == [("TUPLES_OK", "UPDATE 2")]
