"""A view (not security_invoker) reads its tables with its owner's row-level security
policies. Joined with tables in a plan that gridpg runs itself (an exchange, a
coordinator finish), the view was inlined and read with the session's rights: under the
session's own policies a count came out 13 where PostgreSQL, reading as the view's owner,
says 30 (h-probe28b). Such a read is now refused (0A000); a security_invoker view, a view
over tables without row security and a plain read of the view still answer as PostgreSQL.

Also: two views of one definition inline to one text, and the plan cached for the first
carried the first's client text (the text whose rights are checked and that the nodes
run) to the second (planner/core.py's plan cache key)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

ROLE = "view_rls28_u"
SETUP = [
    "CREATE TABLE doc (id int PRIMARY KEY, owner text, cat int)",
    "CREATE TABLE cat (cid int PRIMARY KEY, name text)",
    f"INSERT INTO doc SELECT g, CASE WHEN g % 3 = 0 THEN '{ROLE}' ELSE 'x' END, g % 5 FROM generate_series(1, 30) g",
    "INSERT INTO cat SELECT g, 'c' || g FROM generate_series(0, 4) g",
    "ALTER TABLE doc ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY d_sel ON doc FOR SELECT USING (owner = current_user)",
    "CREATE VIEW vd AS SELECT id, owner, cat FROM doc",
    "CREATE VIEW vi WITH (security_invoker) AS SELECT id, owner, cat FROM doc",
    "CREATE VIEW vc AS SELECT cid FROM cat",
]
QUERIES = [
    "SELECT count(*) FROM vd",
    "SELECT cat, count(*) FROM vd GROUP BY cat ORDER BY cat",
    "SELECT count(*) FROM vd v JOIN cat c ON c.cid = v.cat",  # refused (was 13 for 30)
    "SELECT count(*) FROM vd WHERE cat IN (SELECT cid FROM cat)",
    "SELECT count(*) FROM vi v JOIN cat c ON c.cid = v.cat",  # same inlined text as the third
    "SELECT count(*) FROM vc v JOIN doc d ON d.cat = v.cid",
]


def _answers(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE}")
        try:
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'SET search_path = "{schema}"')
            for sql in SETUP:
                conn.execute(sql)
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {ROLE}')
            conn.execute(f"GRANT SELECT ON doc, cat, vd, vi, vc TO {ROLE}")
            conn.execute(f"SET ROLE {ROLE}")
            for sql in QUERIES:
                try:
                    out.append((sql, conn.execute(sql).fetchall()))
                except psycopg.Error as exc:
                    out.append((sql, exc.sqlstate))
            conn.execute("RESET ROLE")
        finally:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f"DROP OWNED BY {ROLE}")
            conn.execute(f"DROP ROLE {ROLE}")
    return out


@pytest.fixture
def fresh_schema(schema: str, plain_pg: str) -> str:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return schema


def test_view_over_row_security_answers_or_refuses(gridpg_cluster: Cluster, plain_pg: str, fresh_schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{fresh_schema}" CASCADE')
    expected = _answers(plain_pg, fresh_schema)
    got = _answers(gridpg_cluster.dsn(0), fresh_schema)
    assert dict(expected)["SELECT count(*) FROM vd v JOIN cat c ON c.cid = v.cat"] == [(30,)]
    refused = [sql for (sql, answer), (_, want) in zip(got, expected, strict=True) if answer != want]
    assert all(dict(got)[sql] == "0A000" for sql in refused), (got, expected)  # never another answer
    assert "SELECT count(*) FROM vi v JOIN cat c ON c.cid = v.cat" not in refused
    assert "SELECT count(*) FROM vc v JOIN doc d ON d.cat = v.cid" not in refused
    assert "SELECT count(*) FROM vd" not in refused
