"""SQL-level PREPARE / EXECUTE / DEALLOCATE and cursors over distributed tables, compared
with plain PostgreSQL: the same statements in one session on each side give the same rows,
command tags, column names and SQLSTATEs. Before gridpg kept prepared statements itself,
EXECUTE ran on the catalog server and read (or wrote) its empty copies of the tables:
0 rows, writes lost, no error."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster

TABLES = [
    "CREATE TABLE th (id int PRIMARY KEY, v text, n int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE tr (id int PRIMARY KEY, v text, n int) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE tb (id int, v text, n int) DISTRIBUTE BY ROUNDROBIN",
]
ROWS = ", ".join(f"({i}, 'v{i}', {i % 3})" for i in range(1, 21))
_DISTRIBUTE = re.compile(r"\s+DISTRIBUTE BY .*$")


@pytest.fixture()
def sides(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[dict[str, str]]:
    """The same schema and tables on gridpg and on plain PostgreSQL; DSNs by side."""
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    dsns = {"pg": plain_pg, "gridpg": gridpg_cluster.dsn(0), "gridpg2": gridpg_cluster.dsn(1)}
    for side in ("pg", "gridpg"):
        with psycopg.connect(dsns[side], autocommit=True) as conn:
            conn.execute(f'SET search_path = "{schema}"')
            for ddl in TABLES:
                conn.execute(_DISTRIBUTE.sub("", ddl) if side == "pg" else ddl)
                table = ddl.split()[2]
                conn.execute(f"INSERT INTO {table} VALUES {ROWS}")
    yield {k: f"{v}?options=-csearch_path%3D{schema}" for k, v in dsns.items()}
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _session(dsn: str, statements: list[str], cursor_class: Any = psycopg.ClientCursor) -> list[Any]:
    """Each statement's outcome in one session: (tag, columns, sorted rows) or the SQLSTATE."""
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True, cursor_factory=cursor_class) as conn:
        for sql in statements:
            cur = conn.cursor()
            try:
                cur.execute(sql)
            except psycopg.Error as exc:
                out.append(("error", exc.sqlstate))
                continue
            columns = [d.name for d in cur.description] if cur.description else None
            rows = sorted(cur.fetchall(), key=repr) if cur.description else None
            out.append((cur.statusmessage, columns, rows))
    return out


def _same(sides: dict[str, str], statements: list[str], subject: str = "gridpg",
          cursor_class: Any = psycopg.ClientCursor) -> list[Any]:
    want = _session(sides["pg"], [_DISTRIBUTE.sub("", s) for s in statements], cursor_class)
    got = _session(sides[subject], statements, cursor_class)
    for sql, w, g in zip(statements, want, got):
        assert g == w, f"{sql}\n  postgres: {w}\n  gridpg:   {g}"
    return got


@pytest.mark.parametrize("table", ["th", "tr", "tb"])
def test_select_by_key_and_aggregates(sides: dict[str, str], table: str) -> None:
    got = _same(sides, [
        f"PREPARE by_key(int) AS SELECT * FROM {table} WHERE id = $1",
        "EXECUTE by_key(11)",
        "EXECUTE by_key(3 + 4)",
        "EXECUTE by_key('12')",
        "EXECUTE by_key(NULL)",
        f"PREPARE agg AS SELECT n, count(*), sum(id), min(v) FROM {table} GROUP BY n",
        "EXECUTE agg",
        f"PREPARE inferred AS SELECT v, $1::int + id FROM {table} WHERE n = $2 AND id > $1 ORDER BY id",
        "EXECUTE inferred(5, 1)",
        f"PREPARE bare AS SELECT $1, count(*) FROM {table} WHERE v = $2",
        "EXECUTE bare(42, 'v7')",
        "PREPARE vals AS VALUES ($1::int, 'x'), (2, $2)",
        "EXECUTE vals(1, 'y')",
    ])
    assert got[1][2] == [(11, "v11", 2)]  # not the catalog server's empty copy


@pytest.mark.parametrize("table", ["th", "tr", "tb"])
def test_writes_with_returning_commit_and_rollback(sides: dict[str, str], table: str) -> None:
    _same(sides, [
        f"PREPARE ins(int, text) AS INSERT INTO {table} VALUES ($1, $2, $1 % 3) RETURNING id, v",
        f"PREPARE upd(int) AS UPDATE {table} SET v = v || '!' WHERE id = $1 RETURNING *",
        f"PREPARE del(int) AS DELETE FROM {table} WHERE n = $1 RETURNING id",
        f"PREPARE allrows AS SELECT * FROM {table}",
        "EXECUTE ins(101, 'new')",
        "EXECUTE upd(101)",
        "BEGIN",
        "EXECUTE ins(102, 'rolled back')",
        "EXECUTE upd(5)",
        "EXECUTE del(0)",
        "EXECUTE allrows",
        "ROLLBACK",
        "EXECUTE allrows",
        "BEGIN",
        "EXECUTE ins(103, 'kept')",
        "EXECUTE del(1)",
        "COMMIT",
        "EXECUTE allrows",
        "EXECUTE upd(104)",
    ])


def test_errors_have_postgres_sqlstates(sides: dict[str, str]) -> None:
    _same(sides, [
        "PREPARE p(int) AS SELECT * FROM th WHERE id = $1",
        "PREPARE p(int) AS SELECT 1",  # 42P05
        "EXECUTE nosuch(1)",  # 26000
        "EXECUTE p",  # 42601: wrong number of parameters
        "EXECUTE p(1, 2)",
        "EXECUTE p('abc')",  # 22P02
        "EXECUTE p(1.5::numeric)",
        "EXECUTE p('x'::text)",  # 42804: cannot be coerced
        "EXECUTE p(1/0)",  # 22012
        "PREPARE q AS SELECT * FROM nosuch",  # 42P01
        "PREPARE q AS SELECT $1",  # 42P18
        "PREPARE q AS SELECT $2::int",
        "DEALLOCATE nosuch",  # 26000
        "DEALLOCATE PREPARE p",
        "EXECUTE p(1)",
        "BEGIN",
        "EXECUTE nosuch",
        "PREPARE r AS SELECT 1",  # 25P02: the transaction is aborted
        "ROLLBACK",
        "PREPARE r AS SELECT 1",
        "EXECUTE r",
        "DEALLOCATE ALL",
        "EXECUTE r",
    ])


def test_execute_after_its_table_is_dropped_points_into_the_prepare(sides: dict[str, str]) -> None:
    """An EXECUTE whose statement no longer plans (its table dropped) fails as in
    PostgreSQL: 42P01, its cursor position in the PREPARE's text (psql shows none: it
    lies past the end of the EXECUTE), not in the EXECUTE's."""
    positions = {}
    for side in ("pg", "gridpg"):
        with psycopg.connect(sides[side], autocommit=True) as conn:
            conn.execute("CREATE TABLE gone (id int PRIMARY KEY, v text)")
            conn.execute("PREPARE g(int) AS SELECT v FROM gone WHERE id = $1")
            conn.execute("DROP TABLE gone")
            with pytest.raises(psycopg.errors.UndefinedTable) as info:
                conn.execute("EXECUTE g(2)")
            positions[side] = info.value.diag.statement_position
    assert positions["gridpg"] == positions["pg"] == "33"


def test_prepare_survives_rollback_and_discard_clears(sides: dict[str, str]) -> None:
    _same(sides, [
        "BEGIN",
        "PREPARE p AS SELECT count(*) FROM th",
        "ROLLBACK",
        "EXECUTE p",  # PREPARE is not transactional
        "DEALLOCATE ALL",
        "EXECUTE p",
        "PREPARE p AS SELECT count(*) FROM tb",
        "EXECUTE p",
        "DISCARD ALL",
        "EXECUTE p",
    ])


def test_second_coordinator(sides: dict[str, str]) -> None:
    statements = [
        "PREPARE p(int) AS SELECT * FROM th WHERE id = $1",
        "PREPARE w(int) AS UPDATE th SET n = n + 100 WHERE id = $1 RETURNING n",
        "EXECUTE p(7)",
        "EXECUTE w(7)",
        "EXECUTE p(7)",
    ]
    _same(sides, statements, subject="gridpg2")


def test_pg_prepared_statements_lists_the_session_statements(sides: dict[str, str]) -> None:
    got = _same(sides, [
        "PREPARE p(int) AS SELECT * FROM th WHERE id = $1",
        "PREPARE q AS INSERT INTO tb VALUES ($1, $2, 0)",
        "/* psql sends the semicolon */ PREPARE r AS SELECT 1;",  # the source text is kept whole
        ("SELECT name, statement, parameter_types, result_types, from_sql, prepare_time IS NOT NULL "
         "FROM pg_prepared_statements ORDER BY name"),
        "DEALLOCATE q",
        "SELECT s.name FROM pg_catalog.pg_prepared_statements s",
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'gp%'",
    ])
    assert [r[0] for r in got[3][2]] == ["p", "q", "r"]


def test_ddl_between_prepare_and_execute(sides: dict[str, str]) -> None:
    """The statement is planned again at the new catalog epoch: a table dropped and created
    again with another distribution is read where its rows now are."""
    _same(sides, [
        "PREPARE p(int) AS SELECT * FROM th WHERE id = $1",
        "EXECUTE p(4)",
        "DROP TABLE th",
        "EXECUTE p(4)",  # 42P01 on both
        "CREATE TABLE th (id int, v text, n int) DISTRIBUTE BY REPLICATION",
        "INSERT INTO th VALUES (4, 'again', 0)",
        "EXECUTE p(4)",
        "ALTER TABLE th ADD COLUMN z int",
        "EXECUTE p(4)",  # 0A000: cached plan must not change result type
        "PREPARE q(int) AS SELECT * FROM th WHERE id = $1",
        "EXECUTE q(4)",
    ])


def test_explain_and_create_table_as_execute(sides: dict[str, str]) -> None:
    _same(sides, [
        "PREPARE p(int) AS SELECT id, v FROM th WHERE id > $1",
        "PREPARE b(int) AS SELECT $1, v FROM th WHERE id = $1",
        "CREATE TABLE copied AS EXECUTE p(15)",
        "SELECT * FROM copied",
        "CREATE TABLE copied_b AS EXECUTE b(3)",
        "SELECT * FROM copied_b",
        "CREATE TABLE named (a, b) AS EXECUTE b(4)",
        "SELECT * FROM named",
        "PREPARE w AS DELETE FROM th",
        "CREATE TABLE nope AS EXECUTE w",  # 42809
    ])
    with psycopg.connect(sides["gridpg"], autocommit=True) as conn:
        conn.execute("PREPARE p(int) AS SELECT * FROM th WHERE id = $1")
        lines = [r[0] for r in conn.execute("EXPLAIN EXECUTE p(3)").fetchall()]
        assert lines[0] == "Distributed plan: router"
        assert conn.execute("EXECUTE p(3)").fetchall() == [(3, "v3", 0)]
        with pytest.raises(psycopg.Error) as err:
            conn.execute("EXPLAIN EXECUTE nosuch(1)")
        assert err.value.sqlstate == "26000"
        # a temp table is filled from the cluster's rows (prepare.sql:62), not from the
        # catalog server's empty copies; WITH NO DATA answers PostgreSQL's tag
        conn.execute("CREATE TEMP TABLE tmp_copy AS EXECUTE p(3)")
        assert conn.execute("SELECT * FROM tmp_copy").fetchall() == [(3, "v3", 0)]
        cur = conn.execute("CREATE TEMP TABLE tmp_none AS EXECUTE p(3) WITH NO DATA")
        assert cur.statusmessage == "SELECT 0"
        assert conn.execute("SELECT count(*) FROM tmp_none").fetchone() == (0,)
        # EXPLAIN CREATE TABLE AS EXECUTE explains the bound query and creates nothing
        # (26000 from the catalog server before: write_parallel.sql:39)
        lines = [r[0] for r in conn.execute("EXPLAIN CREATE TABLE never AS EXECUTE p(3)").fetchall()]
        assert lines[0] == "Distributed plan: router"
        assert conn.execute("SELECT to_regclass('never')").fetchone() == (None,)


def test_extended_protocol_psycopg(sides: dict[str, str]) -> None:
    """EXECUTE itself sent through Parse/Bind/Execute (psycopg's server-side cursor class)."""
    _same(sides, [
        "PREPARE p(int) AS SELECT * FROM th WHERE id = $1",
        "EXECUTE p(9)",
        "PREPARE a AS SELECT n, count(*) FROM tb GROUP BY n",
        "EXECUTE a",
        "PREPARE w(int) AS UPDATE tr SET n = -1 WHERE id = $1 RETURNING id, n",
        "EXECUTE w(2)",
        "SELECT * FROM tr WHERE id = 2",
    ], cursor_class=psycopg.Cursor)


def test_asyncpg_binary_results(sides: dict[str, str]) -> None:
    asyncpg = pytest.importorskip("asyncpg")

    async def run(dsn: str) -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("PREPARE p(int) AS SELECT id, v, n FROM th WHERE id = $1")
            await conn.execute("PREPARE a AS SELECT n, sum(id) FROM th GROUP BY n ORDER BY n")
            await conn.execute("PREPARE ins(int) AS INSERT INTO th VALUES ($1, 'a', 0) RETURNING id, v")
            out = [await conn.fetch("EXECUTE p(13)"), await conn.fetch("EXECUTE a")]
            async with conn.transaction():
                out.append(await conn.fetch("EXECUTE ins(500)"))
            out.append(await conn.fetch("SELECT * FROM th WHERE id = 500"))
            # portals executed a few rows at a time (Execute with a row limit, then again)
            await conn.execute("PREPARE few(int) AS SELECT id, v FROM tr WHERE id < $1 ORDER BY id")
            await conn.execute("PREPARE spread AS SELECT id FROM th WHERE id < 15 ORDER BY id")
            async with conn.transaction():
                out.append([r async for r in conn.cursor("EXECUTE few(9)", prefetch=3)])
                out.append([r async for r in conn.cursor("EXECUTE spread", prefetch=4)])
            return [[tuple(r) for r in rows] for rows in out]
        finally:
            await conn.close()

    want = asyncio.run(run(sides["pg"]))
    got = asyncio.run(run(sides["gridpg"]))
    assert got == want
    assert got[0] == [(13, "v13", 1)]


def test_cursors_over_distributed_tables(sides: dict[str, str]) -> None:
    _same(sides, [
        "BEGIN",
        "DECLARE c CURSOR FOR SELECT id, v FROM th WHERE n = 1 ORDER BY id",
        "FETCH 2 FROM c",
        "FETCH NEXT FROM c",
        "MOVE 1 IN c",
        "FETCH ALL FROM c",
        "CLOSE c",
        "DECLARE s SCROLL CURSOR FOR SELECT n, count(*) AS c, th.n AS n FROM th GROUP BY n ORDER BY n",
        "FETCH LAST FROM s",
        "FETCH PRIOR FROM s",
        "FETCH ABSOLUTE 1 FROM s",
        "DECLARE c CURSOR FOR SELECT * FROM tr, tb WHERE tr.id = tb.id AND tr.id < 3",
        "FETCH ALL IN c",
        "DECLARE c CURSOR FOR SELECT 1",  # 42P03
        "ROLLBACK",
        "DECLARE c CURSOR FOR SELECT * FROM th",  # 25P01 outside a transaction block
    ])
    with psycopg.connect(sides["gridpg"], autocommit=True) as conn:
        conn.execute("DECLARE h CURSOR WITH HOLD FOR SELECT * FROM th")  # outside a block: kept
        assert conn.execute("FETCH 1 FROM h").fetchone() is not None
        conn.execute("CLOSE h")
        with conn.transaction():
            conn.execute("DECLARE c CURSOR FOR SELECT * FROM th WHERE id = 1")
            conn.execute("FETCH 1 FROM c")
            with pytest.raises(psycopg.Error) as err:
                conn.execute("UPDATE th SET v = 'x' WHERE CURRENT OF c")
            assert err.value.sqlstate == "0A000"
            raise psycopg.Rollback()


def test_psycopg_server_side_cursor(sides: dict[str, str]) -> None:
    """psycopg's named cursors DECLARE through the extended protocol with bound parameters,
    Describe the cursor's portal, then FETCH: over a distributed table too."""

    def run(dsn: str) -> list[Any]:
        with psycopg.connect(dsn) as conn:
            cur = conn.cursor(name="stream")
            cur.execute("SELECT id, v FROM th WHERE id > %s ORDER BY id", [12])
            out = [cur.fetchmany(3), cur.fetchall(), [d.name for d in cur.description]]
            cur.close()
            scroll = conn.cursor(name="back", scrollable=True)
            scroll.execute("SELECT n, count(*) FROM tb GROUP BY n ORDER BY n")
            scroll.scroll(2, mode="absolute")
            out.append(scroll.fetchall())
            conn.rollback()
            return out

    want = run(sides["pg"])
    assert run(sides["gridpg"]) == want
    assert want[0] == [(13, "v13"), (14, "v14"), (15, "v15")]


def test_several_statements_in_one_query_string(sides: dict[str, str]) -> None:
    """PREPARE and EXECUTE in one simple-protocol string (an implicit transaction); a
    failing EXECUTE rolls back the write before it, as in PostgreSQL."""

    def run(dsn: str) -> list[Any]:
        out: list[Any] = []
        with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
            cur = conn.cursor()
            cur.execute("PREPARE m(int) AS SELECT v FROM th WHERE id = $1; EXECUTE m(3); EXECUTE m(4)")
            while True:
                out.append(cur.fetchall() if cur.description else cur.statusmessage)
                if not cur.nextset():
                    break
            with pytest.raises(psycopg.Error) as err:
                cur.execute("PREPARE d(int) AS DELETE FROM th WHERE id = $1; EXECUTE d(5); EXECUTE d(1/0)")
            out.append(err.value.sqlstate)
            out.append(conn.execute("SELECT count(*) FROM th WHERE id = 5").fetchall())
            out.append(conn.execute("EXECUTE d(5)").statusmessage)  # PREPARE stayed
        return out

    want = run(sides["pg"])
    assert run(sides["gridpg"]) == want
    assert want[-2] == [(1,)]


def test_statements_prepared_on_nodes_before_a_ddl_are_parsed_again(sides: dict[str, str]) -> None:
    """The coordinator prepares each statement once per backend connection; after ALTER TABLE
    ADD COLUMN, PostgreSQL refuses such a statement forever ("cached plan must not change
    result type"). A new catalog epoch makes every pooled connection Parse again."""

    def run(dsn: str) -> list[Any]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            query = "SELECT * FROM th WHERE id = %s"
            out = [conn.execute(query, [4]).fetchall(), conn.execute(query, [5]).fetchall()]
            conn.execute("ALTER TABLE th ADD COLUMN extra int DEFAULT 7")
            out += [conn.execute(query, [4]).fetchall() for _ in range(3)]
            out.append(conn.execute("SELECT * FROM th ORDER BY id LIMIT 2").fetchall())
            return out

    want = run(sides["pg"])
    assert run(sides["gridpg"]) == want
    assert want[2] == [(4, "v4", 1, 7)]
