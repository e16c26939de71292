"""Server-side code whose statement over a distributed table calls, in a sub-select, a
routine that reaches distributed tables or sequences (`UPDATE t SET x = (SELECT f())`),
in a schema named by search_path.

On the catalog server such a statement runs over the table's shadow (postgres_fdw), which
computes an uncorrelated sub-select's value for the remote statement with search_path =
pg_catalog: f()'s unqualified names failed (42P01), and `nextval('app.s')` in f() took the
catalog server's own sequence, a silently wrong value. gridpg refuses those (0A000, with a
hint); what it runs gives plain PostgreSQL's rows. In the client's own statement an
uncorrelated scalar sub-select runs first instead (test_a_client_select_with_such_a_sub_select).
"""

from __future__ import annotations

import re

import psycopg
import pytest

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE t (id int PRIMARY KEY, x int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE src (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)",
    "CREATE SEQUENCE sq START 100",
    "INSERT INTO t SELECT g, 0 FROM generate_series(1, 5) g",
    "INSERT INTO src SELECT g, g FROM generate_series(1, 5) g",
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT sum(v) FROM src); END $$",
    "CREATE FUNCTION fs() RETURNS int LANGUAGE sql AS $$ SELECT sum(v)::int FROM src $$",
    "CREATE FUNCTION via_f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN f() + 1; END $$",
    "CREATE FUNCTION k() RETURNS int LANGUAGE sql AS $$ SELECT 4 $$",
    "CREATE FUNCTION upd() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET x = (SELECT f()); END $$",
]

# (statement, whether gridpg refuses it); each followed by a read of t
STATEMENTS = [
    ("DO $$ BEGIN UPDATE t SET x = (SELECT f()) + 1; END $$", True),
    ("SELECT upd()", True),
    ("DO $$ BEGIN UPDATE t SET x = (SELECT fs()) WHERE id = 2; END $$", True),
    ("DO $$ BEGIN UPDATE t SET x = (SELECT via_f()) WHERE id = 2; END $$", True),
    ("DO $$ BEGIN DELETE FROM t WHERE x = (SELECT f()) + 2; END $$", True),
    # (VALUES and a SELECT's output columns are computed before anything is sent)
    ("DO $$ BEGIN INSERT INTO t VALUES (10, (SELECT f())); END $$", False),
    ("DO $$ DECLARE r int; BEGIN SELECT (SELECT f()) INTO r FROM t WHERE id = 1; "
     "UPDATE t SET x = r WHERE id = 3; END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = (SELECT nextval_q()) WHERE id = 4; END $$", True),
    # the value taken first, then used: what the hint says
    ("DO $$ DECLARE v int; BEGIN v := f(); UPDATE t SET x = v + 1; END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = f() + 2 WHERE id = 1; END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = (SELECT sum(v) FROM src) + 3 WHERE id = 1; END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = (SELECT k()) WHERE id = 3; END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = (SELECT nextval('sq')) WHERE id = 5; END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = nextval_q() WHERE id = 4; END $$", False),
    # a correlated sub-select, and IN (SELECT ...), are computed per row where the rows
    # are; an uncorrelated sub-select inside the correlated one is an InitPlan
    ("DO $$ BEGIN UPDATE t SET x = x + 1 WHERE EXISTS (SELECT 1 FROM src WHERE src.id = t.id "
     "AND src.v * 4 < f()); END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = x + 1 WHERE id IN (SELECT v FROM src WHERE v * 4 > f()); END $$", False),
    ("DO $$ BEGIN UPDATE t SET x = 0 WHERE EXISTS (SELECT 1 FROM src WHERE src.id = t.id "
     "AND src.v < (SELECT f())); END $$", True),
]


def _run(dsn: str, schema: str, plain: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for sql in [*SETUP, "CREATE FUNCTION nextval_q() RETURNS bigint LANGUAGE plpgsql AS "
                    f"$$ BEGIN RETURN nextval('{schema}.sq'); END $$"]:
            conn.execute(re.sub(r" DISTRIBUTE BY HASH \(\w+\)", "", sql) if plain else sql)
        for sql, refused in STATEMENTS:
            try:
                conn.execute(sql)
                out.append("ok")
            except psycopg.errors.FeatureNotSupported as exc:
                assert not plain and refused, (sql, exc)
                assert "sub-select" in str(exc) and exc.diag.message_hint.startswith("Take the value")
                out.append("refused")
            out.append(conn.execute("SELECT id, x FROM t ORDER BY id").fetchall())
        out.append(conn.execute("SELECT nextval('sq')").fetchone())
    return out


def test_sub_selects_calling_code_over_shadows(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # plain PostgreSQL runs what gridpg refuses as well: replay only what gridpg runs
        expected_all = _run(plain_pg, schema, plain=True)
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert all(answer == "ok" for answer in expected_all[0:-1:2])
    got = _run(gridpg_cluster.dsn(0), schema, plain=False)
    assert got[0:-1:2] == ["refused" if refused else "ok" for _, refused in STATEMENTS]
    # the statements gridpg runs, run alone on plain PostgreSQL, give its rows
    with psycopg.connect(plain_pg, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with psycopg.connect(plain_pg, autocommit=True) as conn:
            conn.execute(f'SET search_path = "{schema}"')
            for sql in [*SETUP, "CREATE FUNCTION nextval_q() RETURNS bigint LANGUAGE plpgsql AS "
                        f"$$ BEGIN RETURN nextval('{schema}.sq'); END $$"]:
                conn.execute(re.sub(r" DISTRIBUTE BY HASH \(\w+\)", "", sql))
            expected: list[object] = []
            for sql, refused in STATEMENTS:
                if not refused:
                    conn.execute(sql)
                expected.append(conn.execute("SELECT id, x FROM t ORDER BY id").fetchall())
            expected.append(conn.execute("SELECT nextval('sq')").fetchone())
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert got[1:-1:2] + [got[-1]] == expected


@pytest.mark.parametrize(("statement", "rows"), [
    # an uncorrelated scalar sub-select of the client's own text runs first, on its own
    ("SELECT * FROM t WHERE x < (SELECT f())", [(g, 0) for g in range(1, 6)]),
    ("SELECT * FROM t WHERE x + 15 = (SELECT f()) AND id > (SELECT fs() - 13)", [(3, 0), (4, 0), (5, 0)]),
    # a correlated sub-select is computed per row where the rows are, never sent as a
    # parameter; an uncorrelated one inside it is (an InitPlan): refused (None)
    ("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM src WHERE src.id = t.id AND src.v < f())",
     [(g, 0) for g in range(1, 6)]),
    ("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM src WHERE src.id = t.id AND src.v < (SELECT f()))",
     [(g, 0) for g in range(1, 6)]),  # (the inner scalar first, as above)
    ("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM src WHERE src.v < f())", None),
    ("SELECT * FROM t WHERE id IN (SELECT v FROM src WHERE v * 5 > f())", [(4, 0), (5, 0)]),
    ("SELECT * FROM t WHERE x < (SELECT k())", [(g, 0) for g in range(1, 6)]),
    ("SELECT id, (SELECT f()) FROM t WHERE id < 3", [(1, 15), (2, 15)]),
])
def test_a_client_select_with_such_a_sub_select(gridpg_cluster: Cluster, schema: str, statement: str,
                                                rows: list[tuple[int, int]] | None) -> None:
    """The client's own SELECT runs whole on the catalog server over the shadows when its
    code reaches distributed tables. An uncorrelated scalar sub-select calling such code runs
    first, a statement of its own, its value then in place (executor/routines.py
    `_sublinks_first`); an uncorrelated EXISTS would have its value go with the remote
    statement: refused (None). Else plain PostgreSQL's rows."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            conn.execute(sql)
        if rows is None:
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="sub-select"):
                conn.execute(statement)
        else:
            assert sorted(conn.execute(statement).fetchall()) == rows
