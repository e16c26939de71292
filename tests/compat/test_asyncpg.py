"""asyncpg (binary formats, extended protocol, COPY) against a coordinator."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import asyncpg
import pytest

pytestmark = pytest.mark.timeout(60)

COLUMNS = "id, i8, n, tx, b, bo, d, ts, iv, u, j, ia, ta"
TYPED_TABLE = (
    "CREATE TABLE ap_typed (id int PRIMARY KEY, i8 bigint, n numeric, tx text, b bytea, bo bool,"
    " d date, ts timestamptz, iv interval, u uuid, j jsonb, ia int[], ta text[]) DISTRIBUTE BY HASH(id)"
)
INSERT_TYPED = f"INSERT INTO ap_typed ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 14))})"


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
         uuid.uuid4(), {"nested": {"k": "ü"}}, [-(2**31), 2**31 - 1], ["\\", "{", "}", "NULL"]),
        (5, 0, Decimal("0.10"), "tab\there\nnewline", b"\\x00", False, dt.date(1, 1, 1),
         dt.datetime(2000, 2, 29, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
         dt.timedelta(days=40, seconds=3600), uuid.UUID(int=2**128 - 1), [1, "two", 3.5], [None], ["ü"]),
    ]


def _same(got: asyncpg.Record | tuple, want: tuple) -> None:
    assert tuple(got) == tuple(want), (tuple(got), want)


async def _connect(sdsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(sdsn)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    return conn


def run(sdsn: str, body: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
    async def main() -> None:
        conn = await _connect(sdsn)
        try:
            await body(conn)
        finally:
            await conn.close(timeout=5)

    asyncio.run(main())


def test_connect_and_server_info(sdsn: str, schema: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_schema()") == schema
        assert conn.get_server_version().major >= 14
        assert await conn.fetchval("SELECT $1::int + $2::bigint", 2, 3) == 5
        assert await conn.fetchval("SELECT $1::text || $2::text", "a", "b") == "ab"
        rows = await conn.fetch("SELECT g, g * 2 AS twice FROM generate_series(1, 5) g")
        assert [(r["g"], r["twice"]) for r in rows] == [(i, 2 * i) for i in range(1, 6)]

    run(sdsn, body)


def test_types_round_trip_binary(sdsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute(TYPED_TABLE)
        rows = typed_rows()
        for row in rows:
            assert await conn.execute(INSERT_TYPED, *row) == "INSERT 0 1"
        got = await conn.fetch(f"SELECT {COLUMNS} FROM ap_typed ORDER BY id")
        assert len(got) == len(rows)
        for g, w in zip(got, rows):
            _same(g, w)
        # routed point queries, fetchrow / fetchval
        for row in rows:
            _same(await conn.fetchrow(f"SELECT {COLUMNS} FROM ap_typed WHERE id = $1", row[0]), row)
            assert await conn.fetchval("SELECT u FROM ap_typed WHERE id = $1", row[0]) == row[9]
            assert await conn.fetchval("SELECT j FROM ap_typed WHERE id = $1", row[0]) == row[10]
        assert await conn.fetchrow("SELECT * FROM ap_typed WHERE id = $1", 999) is None
        # typed parameters in WHERE clauses (not only on the distribution column)
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE i8 = $1", 2**40) == 1
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE n = $1", Decimal("1e20")) == 4
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE b = $1", b"\x00\x01\xff") == 1
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE d = $1", dt.date(1999, 12, 31)) == 2
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE u = $1", uuid.UUID(int=0)) == 2
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE $1 = ANY(ia)", 2**31 - 1) == 4
        assert await conn.fetchval("SELECT id FROM ap_typed WHERE ta = $1", ["ü"]) == 5
        assert await conn.fetchval(
            "SELECT id FROM ap_typed WHERE ts = $1",
            dt.datetime(2000, 2, 29, 18, 29, 59, 999999, tzinfo=dt.UTC)) == 5
        assert await conn.fetchval("SELECT count(*) FROM ap_typed WHERE bo = $1", True) == 2
        # NULLs: parameters and results
        assert [r["id"] for r in await conn.fetch("SELECT id FROM ap_typed WHERE n IS NULL")] == [3]
        assert await conn.fetchval("SELECT $1::int IS NULL", None) is True
        assert await conn.fetchval("SELECT count(*) FROM ap_typed WHERE tx IS NOT DISTINCT FROM $1", None) == 1
        # UPDATE / DELETE with parameters, routed by the distribution column
        assert await conn.execute("UPDATE ap_typed SET tx = $2 WHERE id = $1", 3, "set") == "UPDATE 1"
        assert await conn.fetchval("SELECT tx FROM ap_typed WHERE id = $1", 3) == "set"
        assert await conn.execute("DELETE FROM ap_typed WHERE id = $1", 2) == "DELETE 1"
        assert await conn.fetchval("SELECT count(*) FROM ap_typed") == len(rows) - 1
        # RETURNING, binary
        got = await conn.fetchrow("INSERT INTO ap_typed (id, n, u) VALUES ($1, $2, $3) RETURNING id, n, u",
                                  50, Decimal("2.5"), uuid.UUID(int=7))
        _same(got, (50, Decimal("2.5"), uuid.UUID(int=7)))

    run(sdsn, body)


def test_jsonb_as_text_without_codec(sdsn: str) -> None:
    async def main() -> None:
        conn = await asyncpg.connect(sdsn)
        try:
            await conn.execute("CREATE TABLE ap_js (id int PRIMARY KEY, j jsonb) DISTRIBUTE BY HASH(id)")
            await conn.execute("INSERT INTO ap_js VALUES ($1, $2)", 1, '{"b": 2, "a": [1, "x"]}')
            got = await conn.fetchval("SELECT j FROM ap_js WHERE id = $1", 1)
            assert json.loads(got) == {"a": [1, "x"], "b": 2}
            assert await conn.fetchval("SELECT j->>'b' FROM ap_js WHERE id = $1", 1) == "2"
            assert await conn.fetchval("SELECT id FROM ap_js WHERE j @> $1::jsonb", '{"b": 2}') == 1
        finally:
            await conn.close(timeout=5)

    asyncio.run(main())


def test_executemany_and_routing(sdsn: str, schema: str, datanodes: dict[str, str]) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_many (id int PRIMARY KEY, v text, amount numeric)"
                           " DISTRIBUTE BY HASH(id)")
        rows = [(i, f"v{i}", Decimal(i) / 4) for i in range(300)]
        await conn.executemany("INSERT INTO ap_many VALUES ($1, $2, $3)", rows)
        assert await conn.fetchval("SELECT count(*) FROM ap_many") == 300
        assert await conn.fetchval("SELECT sum(amount) FROM ap_many") == sum(r[2] for r in rows)
        for i in (0, 1, 17, 299):
            _same(await conn.fetchrow("SELECT id, v, amount FROM ap_many WHERE id = $1", i), rows[i])
        # executemany of UPDATEs
        await conn.executemany("UPDATE ap_many SET v = $2 WHERE id = $1", [(i, "upd") for i in range(0, 300, 3)])
        assert await conn.fetchval("SELECT count(*) FROM ap_many WHERE v = 'upd'") == 100
        got = await conn.fetch("SELECT id FROM ap_many WHERE id = ANY($1::int[]) ORDER BY id", [5, 6, 7, 1000])
        assert [r["id"] for r in got] == [5, 6, 7]

    run(sdsn, body)

    # the rows are really spread over both datanodes
    async def placement() -> list[int]:
        counts = []
        for dsn in datanodes.values():
            direct = await asyncpg.connect(dsn)
            try:
                counts.append(await direct.fetchval(f'SELECT count(*) FROM "{schema}".ap_many'))
            finally:
                await direct.close(timeout=5)
        return counts

    counts = asyncio.run(placement())
    assert sum(counts) == 300 and all(c > 0 for c in counts), counts


def test_copy_records_in_and_out(sdsn: str, tmp_path) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_copy (id int PRIMARY KEY, name text, amount numeric, at date,"
                           " ts timestamptz, b bytea) DISTRIBUTE BY HASH(id)")
        base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        rows = [(i, f"név {i}" if i % 7 else None, Decimal(i) / 8, dt.date(2024, 1, 1) + dt.timedelta(days=i),
                 base + dt.timedelta(seconds=i), bytes([i % 256, 0, 255])) for i in range(1000)]
        result = await conn.copy_records_to_table("ap_copy", records=rows,
                                                  columns=["id", "name", "amount", "at", "ts", "b"])
        assert result == "COPY 1000"
        assert await conn.fetchval("SELECT count(*) FROM ap_copy") == 1000
        assert await conn.fetchval("SELECT sum(amount) FROM ap_copy") == sum(r[2] for r in rows)
        _same(await conn.fetchrow("SELECT * FROM ap_copy WHERE id = $1", 123), rows[123])
        got = await conn.fetch("SELECT * FROM ap_copy ORDER BY id")
        assert [tuple(r) for r in got] == rows
        # copy out: query (text), and a whole table (csv)
        out = tmp_path / "query.txt"
        status = await conn.copy_from_query("SELECT id, name FROM ap_copy WHERE id < $1 ORDER BY id", 10,
                                            output=str(out))
        assert status == "COPY 10"
        lines = out.read_text().splitlines()
        null = "\\N"
        assert lines == [f"{i}\t{'név ' + str(i) if i % 7 else null}" for i in range(10)]
        out = tmp_path / "table.csv"
        status = await conn.copy_from_table("ap_copy", columns=["id", "amount"], output=str(out), format="csv")
        assert status == "COPY 1000"
        lines = sorted(out.read_text().splitlines(), key=lambda line: int(line.split(",")[0]))
        assert lines == [f"{i},{Decimal(i) / 8}" for i in range(1000)]
        # copy out to a callable sink, binary format
        chunks: list[bytes] = []

        async def sink(data: bytes) -> None:
            chunks.append(bytes(data))

        status = await conn.copy_from_query("SELECT id FROM ap_copy", output=sink, format="binary")
        assert status == "COPY 1000"
        assert b"".join(chunks).startswith(b"PGCOPY\n\xff\r\n\x00")
        # copy in from a file-like source (text format)
        source = tmp_path / "in.txt"
        source.write_text("".join(f"{i}\tfile {i}\t{i}.5\t2025-01-01\t2025-01-01 00:00:00+00\t\\\\x00\n"
                                  for i in range(2000, 2050)))
        status = await conn.copy_to_table("ap_copy", source=str(source))
        assert status == "COPY 50"
        assert await conn.fetchval("SELECT count(*) FROM ap_copy WHERE name LIKE 'file %'") == 50
        _same(await conn.fetchrow("SELECT name, amount, b FROM ap_copy WHERE id = $1", 2042),
              ("file 2042", Decimal("2042.5"), b"\x00"))

    run(sdsn, body)


def test_transactions_and_savepoints(sdsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_tx (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH(id)")
        async with conn.transaction():
            await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 1, "committed")
            await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 2, "committed")
        with pytest.raises(KeyError):
            async with conn.transaction():
                await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 3, "rolled back")
                assert await conn.fetchval("SELECT count(*) FROM ap_tx") == 3  # own write visible
                raise KeyError("roll back")
        assert [r["id"] for r in await conn.fetch("SELECT id FROM ap_tx ORDER BY id")] == [1, 2]
        # explicit transaction object
        tr = conn.transaction()
        await tr.start()
        await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 4, "rolled back")
        await tr.rollback()
        assert await conn.fetchval("SELECT count(*) FROM ap_tx WHERE id = 4") == 0
        # nested: savepoints
        async with conn.transaction():
            await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 10, "outer")
            try:
                async with conn.transaction():
                    await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 11, "inner, rolled back")
                    raise KeyError("abandon the savepoint")
            except KeyError:
                pass
            async with conn.transaction():
                await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 12, "inner")
                async with conn.transaction():
                    await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 13, "innermost")
            # an error inside a savepoint is undone; the outer transaction goes on
            with pytest.raises(asyncpg.UniqueViolationError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 1, "duplicate")
            await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 14, "after the error")
        got = await conn.fetch("SELECT id FROM ap_tx WHERE id >= 10 ORDER BY id")
        assert [r["id"] for r in got] == [10, 12, 13, 14]
        # isolation levels and read-only transactions
        async with conn.transaction(isolation="repeatable_read"):
            assert await conn.fetchval("SHOW transaction_isolation") == "repeatable read"
            assert await conn.fetchval("SELECT count(*) FROM ap_tx") == 6
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            async with conn.transaction(readonly=True):
                await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 99, "read only")
        # an error aborts the whole transaction
        with pytest.raises(asyncpg.UniqueViolationError):
            async with conn.transaction():
                await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 20, "gone")
                await conn.execute("INSERT INTO ap_tx VALUES ($1, $2)", 1, "duplicate")
        assert await conn.fetchval("SELECT count(*) FROM ap_tx") == 6
        assert not conn.is_in_transaction()

    run(sdsn, body)


def test_errors_carry_sqlstate(sdsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_err (id int PRIMARY KEY, v int NOT NULL) DISTRIBUTE BY HASH(id)")
        await conn.execute("INSERT INTO ap_err VALUES (1, 1)")
        cases = [
            (lambda: conn.execute("INSERT INTO ap_err VALUES (1, 2)"), "23505", asyncpg.UniqueViolationError),
            (lambda: conn.execute("INSERT INTO ap_err VALUES ($1, $2)", 1, 2), "23505",
             asyncpg.UniqueViolationError),
            (lambda: conn.fetch("SELECT * FROM ap_no_such_table"), "42P01", asyncpg.UndefinedTableError),
            (lambda: conn.execute("SELECT * FROM ap_no_such_table"), "42P01", asyncpg.UndefinedTableError),
            (lambda: conn.fetch("SELECT * FROM ap_err WHERE id = $1 AND"), "42601", asyncpg.PostgresSyntaxError),
            (lambda: conn.execute("SELECT FROM WHERE"), "42601", asyncpg.PostgresSyntaxError),
            (lambda: conn.execute("INSERT INTO ap_err VALUES (2, NULL)"), "23502",
             asyncpg.NotNullViolationError),
        ]
        for call, sqlstate, cls in cases:
            with pytest.raises(cls) as info:
                await call()
            assert info.value.sqlstate == sqlstate
        assert await conn.fetchval("SELECT count(*) FROM ap_err") == 1
        err = None
        try:
            await conn.execute("INSERT INTO ap_err VALUES ($1, $2)", 1, 9)
        except asyncpg.PostgresError as e:
            err = e
        assert err is not None and err.sqlstate == "23505"

    run(sdsn, body)


def test_prepared_statements_reused(sdsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_prep (id int PRIMARY KEY, k bigint, v text) DISTRIBUTE BY HASH(id)")
        insert = await conn.prepare("INSERT INTO ap_prep VALUES ($1, $2, $3)")
        for i in range(200):
            await insert.fetch(i, i * 1000, f"v{i}")
        point = await conn.prepare("SELECT id, k, v FROM ap_prep WHERE id = $1")
        assert [a.name for a in point.get_attributes()] == ["id", "k", "v"]
        assert [t.name for t in point.get_parameters()] == ["int4"]
        for i in range(200):
            _same(await point.fetchrow(i), (i, i * 1000, f"v{i}"))
        total = await conn.prepare("SELECT count(*), sum(k) FROM ap_prep WHERE id < $1")
        for n in (0, 1, 50, 200, 1000):
            _same(await total.fetchrow(n), (min(n, 200), sum(i * 1000 for i in range(min(n, 200))) if n else None))
        # a prepared statement inside a transaction, with a cursor
        async with conn.transaction():
            ids = [r["id"] async for r in conn.cursor("SELECT id FROM ap_prep ORDER BY id", prefetch=7)]
            assert ids == list(range(200))
        # the statement cache of asyncpg also reuses statements for plain fetch()
        for i in range(50):
            assert await conn.fetchval("SELECT v FROM ap_prep WHERE id = $1", i) == f"v{i}"

    run(sdsn, body)


def test_cancel_with_wait_for(sdsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_slow (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        await conn.execute("INSERT INTO ap_slow SELECT g FROM generate_series(1, 10) g")
        for sql in ("select pg_sleep(30)", "select pg_sleep(30), id from ap_slow",
                    "select pg_sleep(30) from ap_slow where id = 1"):
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(conn.execute(sql), 1)
            assert time.monotonic() - started < 5, sql
            assert await conn.fetchval("SELECT 42") == 42
            assert await conn.fetchval("SELECT count(*) FROM ap_slow WHERE id <= $1", 5) == 5
        # extended protocol too
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(conn.fetchval("SELECT pg_sleep($1)", 30.0), 1)
        assert time.monotonic() - started < 5
        assert await conn.fetchval("SELECT $1::int", 7) == 7
        assert not conn.is_closed()

    run(sdsn, body)


def test_cursor_fetch_n_routed_and_replicated(sdsn: str) -> None:
    """Execute with a row limit (PortalSuspended) where one node answers."""
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_cur (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        await conn.execute("CREATE TABLE ap_cur_rep (id int PRIMARY KEY) DISTRIBUTE BY REPLICATION")
        await conn.execute("INSERT INTO ap_cur SELECT generate_series(1, 100)")
        await conn.execute("INSERT INTO ap_cur_rep SELECT generate_series(1, 100)")
        for sql in ("SELECT id FROM ap_cur_rep WHERE id >= $1 ORDER BY id",
                    "SELECT g FROM generate_series($1::int, 100) g",
                    "SELECT id FROM ap_cur WHERE id = $1"):
            async with conn.transaction():
                cur = await conn.cursor(sql, 90)
                first = [r[0] for r in await cur.fetch(1)]
                rest = [r[0] for r in await cur.fetch(100)]
                assert first == [90], sql
                assert first + rest == ([90] if "ap_cur " in sql else list(range(90, 101))), sql

    run(sdsn, body)


def test_cursor_fetch_n_multi_node(poison_dsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_curm (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        await conn.execute("INSERT INTO ap_curm SELECT generate_series(1, 100)")
        async with conn.transaction():
            cur = await conn.cursor("SELECT id FROM ap_curm WHERE id >= $1 ORDER BY id", 90)
            assert [r[0] for r in await cur.fetch(5)] == [90, 91, 92, 93, 94]
            assert [r[0] for r in await cur.fetch(3)] == [95, 96, 97]
            assert (await cur.fetchrow())[0] == 98

    run(poison_dsn, body)


def test_cursor_fetch_n_through_server_side_code(sdsn: str) -> None:
    """A portal whose statement calls code reading distributed tables (run on the catalog
    server with the loopback), read a few rows at a time: the rows wait in the portal."""
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_curf (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        await conn.execute("INSERT INTO ap_curf SELECT generate_series(1, 30)")
        await conn.execute("CREATE FUNCTION ap_curf_below(i int) RETURNS bigint LANGUAGE sql STABLE "
                           "AS $$ SELECT count(*) FROM ap_curf WHERE id < i $$")
        async with conn.transaction():
            cur = await conn.cursor("SELECT id, ap_curf_below(id) FROM ap_curf WHERE id >= $1 ORDER BY id", 20)
            assert [tuple(r) for r in await cur.fetch(2)] == [(20, 19), (21, 20)]
            assert [tuple(r) for r in await cur.fetch(100)] == [(i, i - 1) for i in range(22, 31)]
            got = [tuple(r) async for r in conn.cursor("SELECT ap_curf_below(id) FROM ap_curf ORDER BY id",
                                                       prefetch=7)]
            assert got == [(i - 1,) for i in range(1, 31)]

    run(sdsn, body)


def test_error_fields_name_the_table(sdsn: str, schema: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_fld (id int PRIMARY KEY, v int NOT NULL) DISTRIBUTE BY HASH(id)")
        await conn.execute("INSERT INTO ap_fld VALUES (1, 1)")
        with pytest.raises(asyncpg.UniqueViolationError) as info:
            await conn.execute("INSERT INTO ap_fld VALUES ($1, $2)", 1, 2)
        err = info.value
        assert err.constraint_name == "ap_fld_pkey"
        assert err.table_name == "ap_fld"
        assert err.schema_name == schema
        assert 'unique constraint "ap_fld_pkey"' in err.message
        with pytest.raises(asyncpg.NotNullViolationError) as info:
            await conn.execute("INSERT INTO ap_fld VALUES ($1, $2)", 2, None)
        assert info.value.table_name == "ap_fld"
        assert info.value.column_name == "v"
        assert 'relation "ap_fld"' in info.value.message

    run(sdsn, body)


def test_execution_errors_extended_protocol(sdsn: str) -> None:
    async def body(conn: asyncpg.Connection) -> None:
        await conn.execute("CREATE TABLE ap_div (id int PRIMARY KEY) DISTRIBUTE BY HASH(id)")
        await conn.execute("INSERT INTO ap_div VALUES (1), (2)")
        for sql in ("SELECT 1 / $1::int", "SELECT 1 / $1::int FROM ap_div WHERE id = 1",
                    "SELECT 1 / $1::int FROM ap_div", "SELECT id / $1::int FROM ap_div WHERE id = 1"):
            for _ in range(2):
                with pytest.raises(asyncpg.DivisionByZeroError) as info:
                    await conn.fetchval(sql, 0)
                assert info.value.sqlstate == "22012"
                assert await conn.fetchval(sql, 1) in (0, 1)

    run(sdsn, body)
