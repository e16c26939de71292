"""COPY leaving columns to their defaults (executor/dml.copy_from_stdin): a HASH table's
distribution column left to a constant default routes every row by that value (rows were
routed as if NULL: "no partition of relation found"), to a volatile one is refused
(0A000), and a REPLICATION table's column left to gen_random_uuid() is refused (each
replica stored its own value). Nothing is stored by a refused COPY."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _copy(conn: psycopg.Connection, sql: str, rows: list[tuple[object, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def test_constant_default_of_the_distribution_column_routes(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.hd (id int DEFAULT 5, v int) DISTRIBUTE BY HASH (id)")
        _copy(conn, f"COPY {s}.hd (v) FROM STDIN", [(i,) for i in range(20)])
        assert conn.execute(f"SELECT count(*) FROM {s}.hd WHERE id = 5").fetchone() == (20,)


@pytest.mark.parametrize("table", [
    "CREATE TABLE {s}.x (id uuid DEFAULT gen_random_uuid() PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.x (id int PRIMARY KEY, v int, u uuid DEFAULT gen_random_uuid()) DISTRIBUTE BY REPLICATION",
])
def test_volatile_defaults_are_refused(gridpg_cluster: Cluster, schema: str, table: str) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(table.format(s=s))
        columns = "(v)" if "HASH" in table else "(id, v)"
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="default"):
            _copy(conn, f"COPY {s}.x {columns} FROM STDIN", [(1,) if "HASH" in table else (1, 1)])
        assert conn.execute(f"SELECT count(*) FROM {s}.x").fetchone() == (0,)
