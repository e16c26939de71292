"""An error of a statement that server-side code runs through the loopback (a unique
violation of a function's INSERT into a distributed table) reaches the client through
postgres_fdw, which keeps SQLSTATE, message, detail and hint but drops the names of the
schema, table, column, data type and constraint: `diag.constraint_name` (node-postgres's
`err.constraint`) was empty where PostgreSQL names the constraint. The coordinator gives
them back from the error the loopback sent (routines.with_loopback_names). Inside the
code, GET STACKED DIAGNOSTICS ... = CONSTRAINT_NAME still reads them empty (documented)."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def _run(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, bal int CONSTRAINT bal_not_negative CHECK (bal >= 0))")
        conn.execute("INSERT INTO acct VALUES (1, 5), (2, 5)")
        conn.execute("CREATE FUNCTION add_acct(i int, b int) RETURNS void LANGUAGE plpgsql AS "
                     "$$ BEGIN INSERT INTO acct VALUES (i, b); END $$")
        for sql in ("SELECT add_acct(1, 1)", "SELECT add_acct(3, -1)", "SELECT add_acct(NULL, 1)"):
            try:
                conn.execute(sql)
                out.append((sql, "ok"))
            except psycopg.Error as exc:
                d = exc.diag
                out.append((sql, exc.sqlstate, d.message_primary, d.schema_name, d.table_name,
                            d.column_name, d.constraint_name))
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_errors_through_the_loopback_keep_their_names(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _run(plain_pg, schema)
    assert expected[0][-1] == "acct_pkey"
    assert _run(gridpg_cluster.dsn(0), schema) == expected
