"""psycopg 3 (sync and async) against a coordinator: types, COPY, transactions, errors, cancel."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb
from psycopg.types.numeric import Int4, Int8

pytestmark = pytest.mark.timeout(60)

COLUMNS = "id, i8, n, tx, b, bo, d, ts, iv, u, j, ia, ta"
TYPED_TABLE = (
    "CREATE TABLE typed (id int PRIMARY KEY, i8 bigint, n numeric, tx text, b bytea, bo bool,"
    " d date, ts timestamptz, iv interval, u uuid, j jsonb, ia int[], ta text[]) DISTRIBUTE BY HASH(id)"
)


def typed_rows() -> list[tuple]:
    utc = dt.UTC
    return [
        (1, 2**40, Decimal("123.456"), "héllo wörld ✓", b"\x00\x01\xff", True, dt.date(2020, 1, 2),
         dt.datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=utc), dt.timedelta(days=1, seconds=5),
         uuid.UUID("4198b156-62a3-4ff3-aa5d-dc39bd3a03d2"), {"a": [1, 2], "b": None},
         [1, 2, None], ["a", "b c", None, 'q"uote']),
        (2, -(2**62), Decimal("-0.000000001"), "", b"", False, dt.date(1999, 12, 31),
         dt.datetime(1970, 1, 1, tzinfo=utc), dt.timedelta(microseconds=1),
         uuid.UUID(int=0), [], [], []),
        (3,) + (None,) * 12,
        (4, 7, Decimal("1e20"), "x" * 5000, bytes(range(256)) * 4, True, dt.date(2400, 2, 29),
         dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=utc), dt.timedelta(days=-3, hours=4),
         uuid.uuid4(), {"nested": {"k": "ü"}}, [-(2**31)], ["\\", "{", "}"]),
    ]


def _insertable(row: tuple) -> tuple:
    """Parameters with fixed types: psycopg picks int2/int4/int8 by magnitude otherwise
    (see test_same_sql_different_param_types for what that does)."""
    i8 = Int8(row[1]) if row[1] is not None else None
    ia = [Int4(v) if v is not None else None for v in row[11]] if row[11] is not None else None
    return (row[0], i8) + row[2:10] + ((Jsonb(row[10]) if row[10] is not None else None), ia) + row[12:]


def _check_rows(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want)
    for g, w in zip(sorted(got), sorted(want, key=lambda r: r[0])):
        assert tuple(g) == tuple(w)


def test_types_round_trip_text_and_binary(sdsn: str) -> None:
    with psycopg.connect(sdsn, autocommit=True) as conn:
        conn.execute(TYPED_TABLE)
        rows = typed_rows()
        for row in rows:
            conn.execute(f"INSERT INTO typed ({COLUMNS}) VALUES ({', '.join(['%s'] * 13)})", _insertable(row))
        got = conn.execute(f"SELECT {COLUMNS} FROM typed").fetchall()
        _check_rows(got, rows)
        with conn.cursor(binary=True) as cur:
            got = cur.execute(f"SELECT {COLUMNS} FROM typed").fetchall()
            _check_rows(got, rows)
            for row in rows:  # routed point query, binary results
                one = cur.execute(f"SELECT {COLUMNS} FROM typed WHERE id = %s", (row[0],)).fetchone()
                assert one == row
        # binary parameters (psycopg's %b) through routed INSERT and SELECT
        with conn.cursor(binary=True) as cur:
            row = (10,) + typed_rows()[0][1:]
            cur.execute(f"INSERT INTO typed ({COLUMNS}) VALUES ({', '.join(['%b'] * 13)})", _insertable(row))
            assert cur.execute(f"SELECT {COLUMNS} FROM typed WHERE id = %b", (10,)).fetchone() == row
        # NULL comparisons and a NULL parameter
        assert conn.execute("SELECT id FROM typed WHERE n IS NULL").fetchall() == [(3,)]
        assert conn.execute("SELECT %s::int IS NULL", (None,)).fetchone() == (True,)


def test_same_sql_different_param_types(poison_dsn: str) -> None:
    with psycopg.connect(poison_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE pt (id int PRIMARY KEY, i8 bigint, f float8) DISTRIBUTE BY HASH(id)")
        # psycopg sends 7 as int2 and 2**40 as int8 (binary), with the same SQL text
        for i, value in enumerate([7, 2**40, 70000, 7]):
            conn.execute("INSERT INTO pt (id, i8) VALUES (%s, %s)", (i, value))
        assert conn.execute("SELECT i8 FROM pt ORDER BY id").fetchall() == [(7,), (2**40,), (70000,), (7,)]


def test_replicated_table_executemany_and_prepare(sdsn: str) -> None:
    with psycopg.connect(sdsn, autocommit=True, prepare_threshold=2) as conn:
        conn.execute("CREATE TABLE ref (id int PRIMARY KEY, name text, price numeric) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE item (id bigint PRIMARY KEY, ref_id int, qty int) DISTRIBUTE BY HASH(id)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ref VALUES (%s, %s, %s)",
                            [(i, f"name {i}", Decimal(i) / 4) for i in range(50)])
            cur.executemany("INSERT INTO item VALUES (%s, %s, %s)",
                            [(i, i % 50, i * 2) for i in range(300)])
        assert conn.execute("SELECT count(*), sum(price) FROM ref").fetchone() == (50, Decimal("306.25"))
        assert conn.execute("SELECT count(*), sum(qty) FROM item").fetchone() == (300, 89700)
        # repeated executions: psycopg switches to a named server-side prepared statement
        for i in range(10):
            got = conn.execute("SELECT id, ref_id, qty FROM item WHERE id = %s", (i,)).fetchone()
            assert got == (i, i % 50, i * 2)
        assert any(v for v in conn._prepared._names.values())  # a name was prepared on the server
        for i in range(5):
            got = conn.execute(
                "SELECT r.name, sum(i.qty) FROM item i JOIN ref r ON r.id = i.ref_id"
                " WHERE r.id = %s GROUP BY r.name", (i,)).fetchone()
            assert got == (f"name {i}", sum(k * 2 for k in range(300) if k % 50 == i))
        # executemany with returning (psycopg pipelines it)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO item VALUES (%s, %s, %s) RETURNING id",
                            [(1000 + i, 1, 1) for i in range(5)], returning=True)
            ids = []
            while True:
                ids.append(cur.fetchone()[0])
                if not cur.nextset():
                    break
            assert ids == [1000 + i for i in range(5)]


def test_pipeline_mode(sdsn: str) -> None:
    """Pipeline mode with a Sync after each statement (see below for one Sync at the end)."""
    with psycopg.connect(sdsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE p (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH(id)")
        with conn.pipeline() as pipeline:
            first = conn.execute("SELECT 1")
            pipeline.sync()
            for i in range(20):
                conn.execute("INSERT INTO p VALUES (%s, %s)", (i, str(i)))
                pipeline.sync()
            count = conn.execute("SELECT count(*) FROM p")
            pipeline.sync()
            point = conn.execute("SELECT v FROM p WHERE id = %s", (7,))
        assert first.fetchone() == (1,)
        assert count.fetchone() == (20,)
        assert point.fetchone() == ("7",)


def test_copy_in_and_out(sdsn: str) -> None:
    with psycopg.connect(sdsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE c (id int PRIMARY KEY, name text, amount numeric, at date) DISTRIBUTE BY HASH(id)")
        rows = [(i, f"név {i}" if i % 7 else None, Decimal(i) / 8, dt.date(2024, 1, 1) + dt.timedelta(days=i))
                for i in range(500)]
        with conn.cursor() as cur:
            with cur.copy("COPY c (id, name, amount, at) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            assert cur.rowcount == 500
        assert conn.execute("SELECT count(*), sum(amount) FROM c").fetchone() == (500, sum(r[2] for r in rows))
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT id, name, amount, at FROM c ORDER BY id) TO STDOUT") as copy:
                copy.set_types(["int4", "text", "numeric", "date"])
                out = list(copy.rows())
        assert out == rows
        with conn.cursor() as cur, cur.copy("COPY c TO STDOUT") as copy:
            copy.set_types(["int4", "text", "numeric", "date"])
            out = sorted(copy.rows())
        assert out == rows
        # binary COPY in
        with conn.cursor() as cur:
            with cur.copy("COPY c (id, name) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "text"])
                for i in range(1000, 1010):
                    copy.write_row((i, "bin"))
        assert conn.execute("SELECT count(*) FROM c WHERE name = 'bin'").fetchone() == (10,)


def test_transactions_and_savepoints(sdsn: str) -> None:
    with psycopg.connect(sdsn) as conn:
        conn.execute("CREATE TABLE tx (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH(id)")
        conn.commit()
        conn.execute("INSERT INTO tx VALUES (1, 'rolled back')")
        conn.rollback()
        conn.execute("INSERT INTO tx VALUES (2, 'committed'), (3, 'committed')")
        conn.commit()
        assert conn.execute("SELECT id FROM tx ORDER BY id").fetchall() == [(2,), (3,)]
        conn.commit()
        with conn.transaction():
            conn.execute("INSERT INTO tx VALUES (10, 'outer')")
            try:
                with conn.transaction():
                    conn.execute("INSERT INTO tx VALUES (11, 'inner, rolled back')")
                    raise KeyError("abandon the savepoint")
            except KeyError:
                pass
            with conn.transaction():
                conn.execute("INSERT INTO tx VALUES (12, 'inner')")
                with conn.transaction():
                    conn.execute("INSERT INTO tx VALUES (13, 'innermost')")
        assert conn.execute("SELECT id FROM tx WHERE id >= 10 ORDER BY id").fetchall() == [(10,), (12,), (13,)]
        conn.commit()


def test_error_inside_transaction_then_rollback(sdsn: str) -> None:
    with psycopg.connect(sdsn) as conn:
        conn.execute("CREATE TABLE txe (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        conn.execute("INSERT INTO txe VALUES (1)")
        conn.commit()
        # a failing statement inside a savepoint is undone; the outer transaction goes on
        with conn.transaction():
            conn.execute("INSERT INTO txe VALUES (2)")
            with pytest.raises(errors.UniqueViolation), conn.transaction():
                conn.execute("INSERT INTO txe VALUES (1)")
            conn.execute("INSERT INTO txe VALUES (3)")
        assert conn.execute("SELECT id FROM txe ORDER BY id").fetchall() == [(1,), (2,), (3,)]
        conn.commit()
        # a failing statement aborts the block; ROLLBACK leaves it
        conn.execute("INSERT INTO txe VALUES (4)")
        with pytest.raises(errors.UniqueViolation):
            conn.execute("INSERT INTO txe VALUES (1)")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM txe").fetchone() == (3,)
        conn.commit()


def test_errors_carry_sqlstate(sdsn: str) -> None:
    with psycopg.connect(sdsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE e (id int PRIMARY KEY, v int NOT NULL) DISTRIBUTE BY HASH(id)")
        conn.execute("INSERT INTO e VALUES (1, 1)")
        cases = [
            ("INSERT INTO e VALUES (1, 2)", "23505", errors.UniqueViolation),
            ("INSERT INTO e VALUES (2, NULL)", "23502", errors.NotNullViolation),
            ("SELECT * FROM no_such_table", "42P01", errors.UndefinedTable),
            ("SELECT no_such_column FROM e", "42703", errors.UndefinedColumn),
            ("SELECT 1/0", "22012", errors.DivisionByZero),
            ("SELECT 'abc'::int", "22P02", errors.InvalidTextRepresentation),
        ]
        for sql, sqlstate, cls in cases:
            with pytest.raises(cls) as info:
                conn.execute(sql)
            assert info.value.sqlstate == sqlstate, sql
        with pytest.raises(errors.UniqueViolation) as info:
            conn.execute("INSERT INTO e VALUES (%s, %s)", (1, 5))  # extended protocol
        assert info.value.diag.sqlstate == "23505"
        assert conn.execute("SELECT count(*) FROM e").fetchone() == (1,)


def test_syntax_error_sqlstate(sdsn: str) -> None:
    with psycopg.connect(sdsn, autocommit=True) as conn:
        for sql in ("SELEC 1", "SELECT FROM WHERE", "SELECT 1; SELEC 2", "CREATE TABLE (id int)"):
            with pytest.raises(errors.SyntaxError) as info:
                conn.execute(sql)
            assert info.value.sqlstate == "42601", sql
        with pytest.raises(errors.SyntaxError):
            conn.execute("SELEC %s", (1,))  # extended protocol
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cancel_and_statement_timeout(sdsn: str) -> None:
    with psycopg.connect(sdsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE slow (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        conn.execute("INSERT INTO slow SELECT g FROM generate_series(1, 10) g")
        for sql in ("SELECT pg_sleep(30)", "SELECT pg_sleep(30) FROM slow WHERE id = 1",
                    "SELECT pg_sleep(30), id FROM slow"):
            timer = threading.Timer(0.4, conn.cancel_safe)
            timer.start()
            started = time.monotonic()
            try:
                with pytest.raises(errors.QueryCanceled) as info:
                    conn.execute(sql)
            finally:
                timer.cancel()
            assert info.value.sqlstate == "57014"
            assert time.monotonic() - started < 2.5, sql
            assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("SET statement_timeout = '200ms'")
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled) as info:
            conn.execute("SELECT pg_sleep(5)")
        assert info.value.sqlstate == "57014"
        assert time.monotonic() - started < 2.5
        conn.execute("RESET statement_timeout")
        assert conn.execute("SELECT count(*) FROM slow").fetchone() == (10,)


def test_async_connection(sdsn: str) -> None:
    # Table 'atyped': its SQL text must differ from the sync test's, see test_error_inside_pipeline.
    async def main() -> None:
        conn = await psycopg.AsyncConnection.connect(sdsn, autocommit=True)
        async with conn:
            await conn.execute(TYPED_TABLE.replace('TABLE typed', 'TABLE atyped'))
            rows = typed_rows()
            async with conn.cursor() as cur:
                await cur.executemany(
                    f"INSERT INTO atyped ({COLUMNS}) VALUES ({', '.join(['%s'] * 13)})",
                    [_insertable(r) for r in rows])
                await cur.execute(f"SELECT {COLUMNS} FROM atyped")
                _check_rows(await cur.fetchall(), rows)
            async with conn.cursor(binary=True) as cur:
                await cur.execute(f"SELECT {COLUMNS} FROM atyped WHERE id = %s", (1,))
                assert await cur.fetchone() == rows[0]
            async with conn.transaction():
                await conn.execute("INSERT INTO atyped (id) VALUES (100)")
                try:
                    async with conn.transaction():
                        await conn.execute("INSERT INTO atyped (id) VALUES (101)")
                        raise KeyError
                except KeyError:
                    pass
            cur = await conn.execute("SELECT id FROM atyped WHERE id >= 100")
            assert await cur.fetchall() == [(100,)]
            async with conn.cursor() as cur:
                async with cur.copy("COPY atyped (id, tx) FROM STDIN") as copy:
                    for i in range(200, 250):
                        await copy.write_row((i, f"a{i}"))
            cur = await conn.execute("SELECT count(*) FROM atyped WHERE id >= 200")
            assert await cur.fetchone() == (50,)
            with pytest.raises(errors.UniqueViolation):
                await conn.execute("INSERT INTO atyped (id) VALUES (%s)", (1,))

            async def cancel_soon() -> None:
                await asyncio.sleep(0.4)
                await conn.cancel_safe()

            task = asyncio.create_task(cancel_soon())
            started = time.monotonic()
            with pytest.raises(errors.QueryCanceled):
                await conn.execute("SELECT pg_sleep(30)")
            await task
            assert time.monotonic() - started < 2.5
            cur = await conn.execute("SELECT 42")
            assert await cur.fetchone() == (42,)

    asyncio.run(main())


def test_error_inside_pipeline(poison_dsn: str) -> None:
    with psycopg.connect(poison_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE pe (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH(id)")
        conn.execute("INSERT INTO pe VALUES (%s, %s)", (1, "one"))
        for _ in range(2):
            with pytest.raises(errors.UniqueViolation), conn.pipeline():
                conn.execute("INSERT INTO pe VALUES (%s, %s)", (1, "dup"))
                conn.execute("SELECT 1")
            assert conn.execute("SELECT count(*) FROM pe").fetchone() == (1,)
        conn.execute("INSERT INTO pe VALUES (%s, %s)", (2, "two"))
        assert conn.execute("SELECT count(*) FROM pe").fetchone() == (2,)


def test_pipeline_one_sync(poison_dsn: str) -> None:
    with psycopg.connect(poison_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE p (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH(id)")
        with conn.pipeline():
            for i in range(20):
                conn.execute("INSERT INTO p VALUES (%s, %s)", (i, str(i)))
            count = conn.execute("SELECT count(*) FROM p")
        assert count.fetchone() == (20,)
        conn.execute("DROP TABLE p")


def test_simple_protocol_literals_route_correctly(gridpg_cluster, schema) -> None:  # type: ignore[no-untyped-def]
    """Client-side binding (psycopg.ClientCursor: the simple protocol with literals): the
    cached literal-free analysis must route each value to its own node."""
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE lit (k text PRIMARY KEY, n int) DISTRIBUTE BY HASH (k)")
        for i in range(40):
            conn.execute("INSERT INTO lit VALUES (%s, %s)", (f"key'{i}", i))
        for i in range(40):
            assert conn.execute("SELECT n FROM lit WHERE k = %s", (f"key'{i}",)).fetchone() == (i,)
        assert conn.execute("SELECT count(*) FROM lit WHERE k IN (%s, %s)", ("key'1", "key'2")).fetchone() == (2,)
        conn.execute("UPDATE lit SET n = n + 100 WHERE k = %s", ("key'5",))
        assert conn.execute("SELECT n FROM lit WHERE k = %s", ("key'5",)).fetchone() == (105,)
