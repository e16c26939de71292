"""Cursors and row-limited portals over distributed tables stream from the datanodes
(executor/stream_cursor.py, executor/multi.NodePortals), with PostgreSQL's answers.

Each FETCH / MOVE sequence runs on gridpg and on plain PostgreSQL: over one node (routed,
every FETCH direction, SCROLL too) the rows and tags must be equal; over several nodes
without ORDER BY (rows in no defined order) the tags must be equal and the rows, taken
together, the table's, each once; ORDER BY over several nodes is merged from the nodes'
ordered cursors (executor/cursor_merge.py) in PostgreSQL's order. Rolled
back, closed, failed mid-fetch, behind a savepoint: no node keeps a cursor and no
statement gets another cursor's rows. The snapshot is the DECLARE's, as PostgreSQL's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.pgwire import codec
from tests.conftest import datanode_dsns
from tests.integration.test_portal_row_limit_tags import _Wire

ROWS = 60
SINGLE = "SELECT id, v FROM cs_one WHERE k = 3 ORDER BY id"
MULTI = "SELECT id, v FROM cs_many"


def _setup(dsn: str, schema: str, distributed: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        by_id = " DISTRIBUTE BY HASH (id)" if distributed else ""
        by_k = " DISTRIBUTE BY HASH (k)" if distributed else ""
        conn.execute(f"CREATE TABLE cs_many (id int, v text){by_id}")
        conn.execute(f"CREATE TABLE cs_one (k int, id int, v text){by_k}")
        conn.execute(f"INSERT INTO cs_many SELECT i, 'm' || i FROM generate_series(1, {ROWS}) i")
        conn.execute("INSERT INTO cs_one SELECT i % 2 + 3, i, 'o' || i FROM generate_series(1, 40) i")
        conn.execute(f"CREATE TABLE cs_keys (id int, t text, n numeric, f float8, b bool, s smallint){by_id}")
        conn.execute(
            "INSERT INTO cs_keys SELECT i, CASE WHEN i % 9 = 0 THEN NULL ELSE chr(90 - i % 26) || 'é' || i % 40 END, "
            "CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN 'NaN' WHEN i % 23 = 0 THEN '-Infinity' "
            "ELSE (i % 13)::numeric / 3 END, "
            "CASE WHEN i % 5 = 0 THEN 'NaN' WHEN i % 6 = 0 THEN '-0' ELSE (i % 17) * 1.5 - 9 END, "
            "i % 3 = 0, (i % 4 - 2) * 1000 FROM generate_series(1, 2500) i")


@pytest.fixture()
def both(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[tuple[str, str]]:
    _setup(plain_pg, schema, distributed=False)
    _setup(gridpg_cluster.dsn(0), schema, distributed=True)
    yield gridpg_cluster.dsn(0), plain_pg
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _run(dsn: str, schema: str, statements: list[str]) -> list[tuple[str, Any]]:
    """Each statement's (status or SQLSTATE, rows); a failed statement rolls back the block."""
    out: list[tuple[str, Any]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for sql in statements:
            try:
                cur = conn.execute(sql)
                rows = [_same(r) for r in cur.fetchall()] if cur.description is not None else None
                out.append((cur.statusmessage or "", rows))
            except psycopg.Error as exc:
                out.append((exc.sqlstate or "", None))
    return out


SINGLE_SEQUENCES = [
    ["FETCH 3 FROM c", "FETCH NEXT FROM c", "MOVE 4 IN c", "FETCH PRIOR FROM c", "FETCH ABSOLUTE 2 FROM c",
     "FETCH RELATIVE 3 FROM c", "FETCH BACKWARD 2 FROM c", "MOVE ALL IN c", "FETCH BACKWARD 1 FROM c",
     "FETCH FORWARD 0 FROM c", "FETCH ALL FROM c", "FETCH LAST FROM c", "FETCH FIRST FROM c", "CLOSE c",
     "FETCH 1 FROM c"],
    ["MOVE FORWARD 25 IN c", "FETCH 2 FROM c", "FETCH FORWARD ALL FROM c", "FETCH 1 FROM c"],
]


@pytest.mark.parametrize("options", ["", "SCROLL ", "NO SCROLL "])
@pytest.mark.parametrize("steps", SINGLE_SEQUENCES)
def test_one_node_cursor_answers_as_postgres(both: tuple[str, str], schema: str, options: str,
                                             steps: list[str]) -> None:
    statements = ["BEGIN", f"DECLARE c {options}CURSOR FOR {SINGLE}", *steps, "ROLLBACK"]
    gridpg, plain = both
    assert _run(gridpg, schema, statements) == _run(plain, schema, statements)


MULTI_SEQUENCES = [
    ["FETCH 7 FROM c", "FETCH NEXT FROM c", "MOVE 5 IN c", "FETCH RELATIVE 3 FROM c", "FETCH ABSOLUTE 30 FROM c",
     "MOVE 0 IN c", "FETCH 40 FROM c", "FETCH ALL FROM c", "FETCH 1 FROM c", "MOVE 0 IN c"],
    ["FETCH ALL FROM c", "FETCH NEXT FROM c"],
    ["MOVE ALL IN c", "FETCH 1 FROM c"],
    ["FETCH 2 FROM c", "FETCH PRIOR FROM c", "FETCH 1 FROM c"],  # the block fails: 55000 both
    ["FETCH 2 FROM c", "FETCH ABSOLUTE 1 FROM c"],
    ["FETCH FORWARD 0 FROM c", "FETCH 1 FROM c", "FETCH FORWARD 0 FROM c"],
]


@pytest.mark.parametrize("steps", MULTI_SEQUENCES)
def test_several_nodes_cursor_answers_as_postgres(both: tuple[str, str], schema: str, steps: list[str]) -> None:
    """NO SCROLL on plain PostgreSQL: what a cursor over several nodes offers. The tags must
    be equal; the rows are the nodes' in turn, so only all of them together are compared."""
    statements = ["BEGIN", f"DECLARE c NO SCROLL CURSOR FOR {MULTI}", *steps, "ROLLBACK"]
    gridpg, plain = both
    got, expected = _run(gridpg, schema, statements), _run(plain, schema, statements)
    assert [status for status, _ in got] == [status for status, _ in expected]
    assert [len(rows or []) for _, rows in got] == [len(rows or []) for _, rows in expected]
    seen = [row for _, rows in got for row in rows or []]
    assert len(seen) == len(set(seen))  # no row twice


def test_pg_cursors_lists_streaming_cursors(both: tuple[str, str], schema: str) -> None:
    statements = ["BEGIN", f"DECLARE a SCROLL CURSOR FOR {SINGLE}", f"DECLARE b NO SCROLL CURSOR FOR {SINGLE}",
                  f"DECLARE c CURSOR FOR {SINGLE}", f"DECLARE d NO SCROLL CURSOR FOR {MULTI}",
                  "SELECT name, statement, is_holdable, is_binary, is_scrollable FROM pg_cursors ORDER BY 1",
                  "CLOSE b", "SELECT name FROM pg_cursors ORDER BY 1", "ROLLBACK"]
    gridpg, plain = both
    assert _run(gridpg, schema, statements) == _run(plain, schema, statements)


def test_several_nodes_give_every_row_once(both: tuple[str, str], schema: str) -> None:
    gridpg, _ = both
    steps = ["BEGIN", f"DECLARE c CURSOR FOR {MULTI}", "FETCH 5 FROM c", "MOVE 10 IN c",
             "FETCH 20 FROM c", "FETCH ALL FROM c", "ROLLBACK"]
    got = _run(gridpg, schema, steps)
    assert [status for status, _ in got] == ["BEGIN", "DECLARE CURSOR", "FETCH 5", "MOVE 10", "FETCH 20",
                                             "FETCH 25", "ROLLBACK"]
    fetched = [row for _, rows in got for row in rows or []]
    assert len(fetched) == 50 and len(set(fetched)) == 50
    assert set(fetched) <= {(i, f"m{i}") for i in range(1, ROWS + 1)}


def test_scroll_cursor_over_several_nodes_moves_backward(both: tuple[str, str], schema: str) -> None:
    """SCROLL over several nodes: the materialized path, backward too."""
    statements = ["BEGIN", "DECLARE c SCROLL CURSOR FOR SELECT id, v FROM cs_many ORDER BY v DESC, id",
                  "FETCH 5 FROM c", "MOVE 7 IN c", "FETCH 9 FROM c", "FETCH BACKWARD 3 FROM c",
                  "FETCH ALL FROM c", "ROLLBACK"]
    gridpg, plain = both
    assert _run(gridpg, schema, statements) == _run(plain, schema, statements)


ORDERED = [
    "SELECT id, t, n FROM cs_keys ORDER BY n DESC, t, id",
    "SELECT id, t, f, b FROM cs_keys ORDER BY b, f DESC NULLS LAST, 1 DESC",
    "SELECT s, t, id FROM cs_keys ORDER BY t NULLS FIRST, s, id",
    "SELECT id, f FROM cs_keys WHERE id > 100 ORDER BY f, id",
    "SELECT id, t FROM cs_keys ORDER BY t COLLATE \"C\", id",  # (materialized: COLLATE)
    "SELECT id, upper(t) AS t FROM cs_keys ORDER BY t, id",
]


@pytest.mark.parametrize("query", ORDERED)
def test_ordered_merge_answers_as_postgres(both: tuple[str, str], schema: str, query: str) -> None:
    """ORDER BY over several nodes, merged from the nodes' cursors: PostgreSQL's order with
    NULLs, NaN, -Infinity, -0, DESC, positions and non-ASCII text (every key list ends
    with a unique one, so the order is one)."""
    statements = ["BEGIN", f"DECLARE c CURSOR FOR {query}", "FETCH 5 FROM c", "MOVE 1300 IN c",
                  "FETCH 40 FROM c", "FETCH RELATIVE 3 FROM c", "FETCH ABSOLUTE 2000 FROM c",
                  "FETCH ALL FROM c", "FETCH 1 FROM c", "ROLLBACK"]
    gridpg, plain = both
    assert _run(gridpg, schema, statements) == _run(plain, schema, statements)


@pytest.mark.parametrize("binary", [False, True])
def test_ordered_merge_psycopg_named_cursor(both: tuple[str, str], schema: str, binary: bool,
                                            gridpg_cluster: Cluster) -> None:
    query = "SELECT id, n, f, t FROM cs_keys WHERE id > %s ORDER BY n NULLS FIRST, f DESC, t DESC, id"
    gridpg, plain = both
    got = _named(gridpg, schema, query, (10,), binary)
    assert got == _named(plain, schema, query, (10,), binary) and len(got) == 2490
    with psycopg.connect(gridpg) as conn:  # (read from the nodes' cursors)
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("DECLARE c CURSOR FOR SELECT id, t FROM cs_keys ORDER BY t, id")
        conn.execute("FETCH 2 FROM c")
        open_cursors = _node_cursors(gridpg_cluster)
        conn.rollback()
    assert len(open_cursors) >= 2 and all(q.startswith("FETCH FORWARD") for q in open_cursors)


@pytest.mark.parametrize("query", [SINGLE, MULTI])
def test_rollback_close_and_savepoints_leave_no_cursor(both: tuple[str, str], schema: str, query: str,
                                                       gridpg_cluster: Cluster) -> None:
    statements = [
        "BEGIN", f"DECLARE a CURSOR FOR {query}", "FETCH 2 FROM a", "ROLLBACK", "FETCH 1 FROM a",
        "BEGIN", f"DECLARE a CURSOR FOR {query}", "SAVEPOINT s", f"DECLARE b CURSOR FOR {query}",
        "FETCH 1 FROM b", "ROLLBACK TO s", "MOVE 3 IN a", "FETCH 1 FROM b", "ROLLBACK",
        "BEGIN", f"DECLARE a CURSOR FOR {query}", f"DECLARE b CURSOR FOR {query}", "MOVE 1 IN a",
        "CLOSE ALL", "FETCH 1 FROM a", "ROLLBACK",
        "BEGIN", f"DECLARE a CURSOR FOR {query}", "CLOSE a", f"DECLARE a CURSOR FOR {query}",
        "MOVE 2 IN a", "COMMIT", "FETCH 1 FROM a",
        "BEGIN", f"DECLARE a CURSOR FOR {query}", f"DECLARE a CURSOR FOR {query}", "ROLLBACK",
    ]
    gridpg, plain = both
    got, expected = _run(gridpg, schema, statements), _run(plain, schema, statements)
    if query == SINGLE:
        assert got == expected
    assert [(status, len(rows or [])) for status, rows in got] == \
        [(status, len(rows or [])) for status, rows in expected]
    assert _node_cursors(gridpg_cluster) == []


def test_error_mid_fetch_comes_at_the_fetch(both: tuple[str, str], schema: str, gridpg_cluster: Cluster) -> None:
    """A row the query fails on fails the FETCH that reaches it, not the DECLARE."""
    statements = ["BEGIN", "DECLARE c CURSOR FOR SELECT 100 / (id - 37) FROM cs_many", "FETCH ALL FROM c",
                  "FETCH 1 FROM c", "ROLLBACK", "BEGIN",
                  "DECLARE c CURSOR FOR SELECT 100 / (id - 37) FROM cs_one WHERE k = 4 ORDER BY id",
                  "FETCH 10 FROM c", "FETCH 10 FROM c", "ROLLBACK", "SELECT count(*) FROM cs_many"]
    gridpg, plain = both
    got, expected = _run(gridpg, schema, statements), _run(plain, schema, statements)
    assert [status for status, _ in got] == [status for status, _ in expected]
    assert got[7:] == expected[7:]
    assert _node_cursors(gridpg_cluster) == []


def test_cursor_across_savepoints_is_not_transactional(both: tuple[str, str], schema: str) -> None:
    """PostgreSQL's cursors keep their position through ROLLBACK TO; one that failed inside
    the rolled-back savepoint cannot be run again (55000, naming the client's cursor)."""
    statements = ["BEGIN", "DECLARE c CURSOR FOR SELECT id, 100 / (id - 37) FROM cs_many WHERE id > 30",
                  "SAVEPOINT one", "FETCH 1 FROM c", "ROLLBACK TO SAVEPOINT one", "FETCH 1 FROM c",
                  "RELEASE SAVEPOINT one", "SAVEPOINT two", "FETCH ALL FROM c", "ROLLBACK TO SAVEPOINT two",
                  "FETCH 10 FROM c", "ROLLBACK TO SAVEPOINT two", "CLOSE c",
                  f"DECLARE d CURSOR FOR {SINGLE}", "SAVEPOINT three", "FETCH 2 FROM d", "SELECT 1 / 0",
                  "ROLLBACK TO SAVEPOINT three", "FETCH 1 FROM d", "MOVE BACKWARD 1 IN d", "FETCH 1 FROM d",
                  "COMMIT"]
    gridpg, plain = both
    got, expected = _run(gridpg, schema, statements), _run(plain, schema, statements)
    assert [(status, len(rows or [])) for status, rows in got] == \
        [(status, len(rows or [])) for status, rows in expected]
    assert got[13:] == expected[13:]
    with psycopg.connect(gridpg) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("DECLARE c CURSOR FOR SELECT 100 / (id - 37) FROM cs_many")
        conn.execute("SAVEPOINT s")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("FETCH ALL FROM c")
        conn.execute("ROLLBACK TO SAVEPOINT s")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match='portal "c" cannot be run'):
            conn.execute("FETCH 1 FROM c")
        conn.rollback()


@pytest.mark.parametrize("query", [
    "SELECT id, pg_sleep(0.2) FROM cs_many",
    "SELECT id, pg_sleep(0.2) FROM cs_many ORDER BY id",
    "SELECT id, pg_sleep(0.2) FROM cs_one WHERE k = 4",
])
def test_cancel_mid_fetch_leaves_no_cursor(both: tuple[str, str], schema: str, gridpg_cluster: Cluster,
                                           query: str) -> None:
    """A cancel while a FETCH reads the nodes stops it (57014); the block is failed, rolled
    back, and the session's next statements get their own rows."""
    import threading

    gridpg, _ = both
    with psycopg.connect(gridpg) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.commit()
        conn.execute(f"DECLARE c CURSOR FOR {query}")
        timer = threading.Timer(0.6, conn.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("FETCH ALL FROM c")
        timer.join()
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM cs_many").fetchone() == (ROWS,)
        conn.execute("DECLARE d CURSOR FOR SELECT id FROM cs_one WHERE k = 3 ORDER BY id")
        assert conn.execute("FETCH 2 FROM d").fetchall() == [(2,), (4,)]
        conn.rollback()
    assert _node_cursors(gridpg_cluster) == []


def test_cursor_reads_the_declares_snapshot(both: tuple[str, str], schema: str) -> None:
    """Rows another session commits after DECLARE are not seen; the block's own are."""
    for dsn in both:
        with psycopg.connect(dsn) as conn, psycopg.connect(dsn, autocommit=True) as other:
            conn.execute(f'SET search_path = "{schema}"')
            other.execute(f'SET search_path = "{schema}"')
            conn.execute("INSERT INTO cs_many VALUES (1000, 'own')")
            conn.execute(f"DECLARE c CURSOR FOR {MULTI}")
            conn.execute("DECLARE d CURSOR FOR SELECT id FROM cs_one WHERE k = 3")
            other.execute("INSERT INTO cs_many SELECT i, 'late' FROM generate_series(2000, 2020) i")
            other.execute("INSERT INTO cs_one VALUES (3, 999, 'late')")
            rows = conn.execute("FETCH ALL FROM c").fetchall()
            assert len(rows) == ROWS + 1 and (1000, "own") in rows, dsn
            assert 999 not in [r[0] for r in conn.execute("FETCH ALL FROM d").fetchall()]
            conn.rollback()
            other.execute("DELETE FROM cs_many WHERE id >= 2000")
            other.execute("DELETE FROM cs_one WHERE id = 999")


def _named(dsn: str, schema: str, query: str, params: tuple[Any, ...], binary: bool) -> list[Any]:
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        with conn.cursor(name="stream_named", binary=binary) as cur:
            cur.itersize = 7
            cur.execute(query, params)
            first = cur.fetchmany(3)
            rest = list(cur)
        conn.rollback()
    return [_same(r) for r in first + rest]


def _same(row: Any) -> tuple[Any, ...]:
    """The row with float NaNs as text (NaN equals nothing, itself included)."""
    return tuple("NaN" if isinstance(v, (float, Decimal)) and str(v) in ("nan", "NaN") else v for v in row)


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize(("query", "params"), [
    ("SELECT id, v, id::numeric / 7 AS q FROM cs_many WHERE id > %s", (4,)),
    ("SELECT id, v FROM cs_one WHERE k = %s ORDER BY id", (4,)),
])
def test_psycopg_named_cursor(both: tuple[str, str], schema: str, query: str, params: tuple[Any, ...],
                              binary: bool) -> None:
    gridpg, plain = both
    got, expected = _named(gridpg, schema, query, params, binary), _named(plain, schema, query, params, binary)
    if "ORDER BY" not in query:
        got, expected = sorted(got), sorted(expected)
    assert got == expected and len(got) > 10


def _pieces(dsn: str, password: str, schema: str, query: str) -> list[Any]:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    wire = _Wire((str(info["host"]), int(info["port"] or 5432), str(info["user"]), str(info["dbname"])), password)
    out: list[Any] = [wire.cycle(codec.build_parse("", f'SET search_path = "{schema}"', [])
                                 + codec.build_bind("", "", [], [], []) + codec.build_execute(""))]
    out.append(wire.cycle(codec.build_parse("", "BEGIN", []) + codec.build_bind("", "", [], [], [])
                          + codec.build_execute("")))
    out.append(wire.cycle(codec.build_parse("S", query, []) + codec.build_bind("P", "S", [], [], [])
                          + codec.build_execute("P", 7)))
    for limit in (7, 20, 1, 50, 0, 5):
        out.append(wire.cycle(codec.build_execute("P", limit)))
    out.append(wire.cycle(codec.build_parse("", "COMMIT", []) + codec.build_bind("", "", [], [], [])
                          + codec.build_execute("")))
    wire.sock.close()
    return out


@pytest.mark.parametrize("query", [MULTI, SINGLE, ORDERED[0], ORDERED[1]])
def test_row_limited_execute(both: tuple[str, str], schema: str, query: str, gridpg_cluster: Cluster) -> None:
    """pgJDBC's setFetchSize: Execute with max_rows, PortalSuspended between the pieces."""
    gridpg, plain = both
    plain_password = str(psycopg.conninfo.conninfo_to_dict(plain)["password"])
    expected = _pieces(plain, plain_password, schema, query)
    assert ["row"] * 7 + ["suspended"] in expected
    assert _pieces(gridpg, gridpg_cluster.password(), schema, query) == expected


@pytest.mark.parametrize("query", ORDERED)
def test_asyncpg_ordered_cursor(both: tuple[str, str], schema: str, query: str) -> None:
    """asyncpg's cursor over ORDER BY (Execute with max_rows): the nodes' ordered portals
    merged, PostgreSQL's rows in PostgreSQL's order, text and binary columns alike."""
    import asyncpg

    async def read(dsn: str) -> list[Any]:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        try:
            async with conn.transaction():
                cursor = await conn.cursor(query)
                got = [tuple(r) for r in await cursor.fetch(3)]
                await cursor.forward(700)
                got += [tuple(r) for r in await cursor.fetch(1100)]
                got += [tuple(r) async for r in conn.cursor(query, prefetch=333)]
        finally:
            await conn.close()
        return [_same(r) for r in got]

    gridpg, plain = both
    assert asyncio.run(read(gridpg)) == asyncio.run(read(plain))


def test_asyncpg_cursor(both: tuple[str, str], schema: str) -> None:
    import asyncpg

    async def read(dsn: str) -> list[Any]:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        try:
            async with conn.transaction():
                cursor = await conn.cursor("SELECT id, v FROM cs_many WHERE id <= $1", 50)
                got = [tuple(r) for r in await cursor.fetch(6)]
                await cursor.forward(4)
                got += [tuple(r) for r in await cursor.fetch(100)]
                got += [tuple(r) async for r in conn.cursor("SELECT id, v FROM cs_many", prefetch=9)]
        finally:
            await conn.close()
        return got

    gridpg, plain = both
    got, expected = asyncio.run(read(gridpg)), asyncio.run(read(plain))
    assert len(got) == len(expected) == 46 + ROWS
    assert len(set(got[:46])) == 46 and sorted(got[46:]) == sorted(expected[46:])


def test_cursor_is_read_from_the_nodes(both: tuple[str, str], schema: str, gridpg_cluster: Cluster) -> None:
    """The rows are fetched from cursors on the datanodes (not gathered at DECLARE)."""
    gridpg, _ = both
    with psycopg.connect(gridpg) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute(f"DECLARE c CURSOR FOR {MULTI}")
        conn.execute("FETCH 2 FROM c")
        open_cursors = _node_cursors(gridpg_cluster)
        conn.rollback()
    assert open_cursors and all(q.startswith(("DECLARE gp_sc_", "FETCH FORWARD")) for q in open_cursors)
    assert _node_cursors(gridpg_cluster) == []


def _node_cursors(cluster: Cluster) -> list[str]:
    """Statements of datanode sessions idle in a block whose last statement was a streaming
    cursor's: a cursor left open on a node."""
    found = []
    for dsn in datanode_dsns(cluster).values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            found += [r[0] for r in conn.execute(
                "SELECT query FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
                "AND query ~ 'gp_sc_[0-9]+'").fetchall()]
    return found
