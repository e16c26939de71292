"""COMMIT or ROLLBACK among the statements of one simple Query (`INSERT ...; COMMIT;
INSERT ...`) or of a pipeline ends PostgreSQL's implicit transaction block with a WARNING
("there is no transaction in progress", 25P01); gridpg ended it silently. Compared with
plain PostgreSQL: the warnings, and what each form kept."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def _run(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        said: list[tuple[str | None, str | None, str | None]] = []
        conn.add_notice_handler(lambda d: said.append((d.severity, d.sqlstate, d.message_primary)))
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
        for sql in ("INSERT INTO kept VALUES (1); COMMIT; INSERT INTO kept VALUES (2)",
                    "INSERT INTO kept VALUES (3); ROLLBACK; INSERT INTO kept VALUES (4)",
                    "INSERT INTO kept VALUES (5); COMMIT; INSERT INTO kept VALUES (5)"):
            said.clear()
            try:
                conn.execute(sql)
                outcome = "ok"
            except psycopg.Error as exc:
                outcome = exc.sqlstate
            out.append((sql, outcome, list(said)))
        said.clear()
        with conn.pipeline():
            conn.cursor().execute("INSERT INTO kept VALUES (6)", binary=True)
            conn.cursor().execute("COMMIT", binary=True)
            conn.cursor().execute("SELECT 1", binary=True)
        out.append(("pipeline", list(said)))
        out.append(conn.execute("SELECT array_agg(id ORDER BY id) FROM kept").fetchone())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_commit_in_an_implicit_block_warns(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _run(plain_pg, schema)
    assert expected[-1] == ([1, 2, 4, 5, 6],)
    assert _run(gridpg_cluster.dsn(0), schema) == expected
