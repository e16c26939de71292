"""What asyncpg's own test suite found (h-asyncpg21), each shape in our own words, run
through asyncpg against the session's cluster (and, where an answer is compared, plain
PostgreSQL).

A query asyncpg runs with Parse/Bind/Execute over every node (no ORDER BY: the rows
concatenated) left each datanode's cycle open (Execute + Flush, no Sync): the idle
session kept AccessShareLock on every shard, so another session's ALTER TABLE waited
until the first ran its next statement (asyncpg's cache-invalidation tests hung)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from gridpg.cluster.control import Cluster

# asyncpg sends each with Parse/Bind/Execute/Sync; the last ones take other strategies.
READS = [
    ("fetch", "SELECT * FROM rack"),
    ("fetchrow", "SELECT * FROM rack"),
    ("fetch", "SELECT * FROM rack WHERE slot > $1", 0),
    ("fetchval", "SELECT count(*) FROM rack"),
    ("fetch", "SELECT DISTINCT slot FROM rack"),
    ("fetch", "SELECT * FROM rack ORDER BY unit LIMIT 2"),
]


async def _idle_reader_blocks_ddl(dsn: str, schema: str) -> list[str]:
    reader = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    writer = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[str] = []
    try:
        await writer.execute("CREATE TABLE rack (unit int PRIMARY KEY, slot int); "
                             "INSERT INTO rack SELECT g, g % 3 FROM generate_series(1, 12) g")
        for number, (method, sql, *args) in enumerate(READS):
            await getattr(reader, method)(sql, *args)
            try:
                # the reader is idle, out of any transaction: nothing of it may hold a lock
                await asyncio.wait_for(writer.execute(f"ALTER TABLE rack ADD COLUMN c{number} int"), 5)
                out.append("altered")
            except TimeoutError:
                out.append(f"ALTER TABLE waited for the idle session after {method}({sql!r})")
                break
    finally:
        reader.terminate()
        await writer.close()
    return out


def test_idle_session_holds_no_shard_locks_after_an_extended_read(gridpg_cluster: Cluster, schema: str) -> None:
    got = asyncio.run(_idle_reader_blocks_ddl(gridpg_cluster.dsn(0), schema))
    assert got == ["altered"] * len(READS)


# A composite value computed with no table (`SELECT $1::a_type`): the catalog server
# answers, asyncpg asks the column in binary, and gridpg's translation of user types'
# binary values (executor/oid_results.py) read the catalog connection's leftover
# ReadyForQuery as its lookup's answer: 42704 "type with OID ... does not exist".
async def _composites(dsn: str, schema: str) -> list[object]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[object] = []
    try:
        await conn.execute("CREATE TYPE gauge AS (label text, level int, marks int[])")
        for sql, args in [
            ("SELECT ROW('tank', 7, ARRAY[1, NULL, 3])::gauge AS g", ()),
            ("SELECT $1::gauge", (("pipe", 2, [4]),)),
            ("SELECT ARRAY[ROW('a', 1, NULL)::gauge, NULL]", ()),
        ]:
            try:
                out.append([tuple(r) for r in await conn.fetch(sql, *args)])
            except asyncpg.PostgresError as exc:
                out.append((exc.sqlstate, str(exc)))
    finally:
        await conn.close()
    return out


def test_composite_values_without_a_table_in_binary(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    got = asyncio.run(_composites(gridpg_cluster.dsn(0), schema))
    assert got == asyncio.run(_on_plain(plain_pg, schema, _composites))
    assert got[0] == [(("tank", 7, [1, None, 3]),)]


# COPY ... CSV routes each row by its distribution value, read by the coordinator: the
# NULL string under FORCE_NOT_NULL is text, a quoted one under FORCE_NULL is NULL, and an
# unquoted empty field under another NULL string is the empty text. gridpg read all three
# as NULL (or text): the row went to another node, whose shards refused it (23514 "no
# partition of relation ... found for row"), and the whole COPY failed.
COPY_DATA = b"code;note\n'x';1\n-;2\n'-';3\n;4\n-;-\n"
COPY_OPTIONS: list[dict[str, object]] = [
    {"force_not_null": ("code",)},
    {"force_null": ("code",)},
    {"force_not_null": ("code",), "force_null": ("code",)},
    {},
]


async def _copies(dsn: str, schema: str) -> list[object]:
    import io

    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[object] = []
    try:
        await conn.execute("CREATE TABLE parcel (code text, note text)")  # (placed by code)
        for options in COPY_OPTIONS:
            await conn.execute("TRUNCATE parcel")
            try:
                tag = await conn.copy_to_table("parcel", source=io.BytesIO(COPY_DATA), format="csv", delimiter=";",
                                               null="-", header=True, quote="'", **options)
                out.append((tag, [tuple(r) for r in await conn.fetch("SELECT code, note FROM parcel ORDER BY note")]))
            except asyncpg.PostgresError as exc:
                out.append((exc.sqlstate, str(exc)))
    finally:
        await conn.close()
    return out


def test_copy_csv_forced_nulls_route_by_the_value_postgresql_reads(gridpg_cluster: Cluster, plain_pg: str,
                                                                     schema: str) -> None:
    got = asyncio.run(_copies(gridpg_cluster.dsn(0), schema))
    assert got == asyncio.run(_on_plain(plain_pg, schema, _copies))
    assert got[0] == ("COPY 5", [("x", "1"), ("-", "2"), ("-", "3"), ("", "4"), ("-", None)])


async def _on_plain(dsn: str, schema: str, run: Callable[[str, str], Awaitable[list[object]]]) -> list[object]:
    """`run` on plain PostgreSQL in a fresh schema of the test's name (the fixture makes
    gridpg's), dropped after."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        return await run(dsn, schema)
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()



# `PreparedStatement.explain()` (EXPLAIN (FORMAT JSON [, ANALYZE])) of an INSERT: gridpg's
# document had only "Distributed Plan" (no node plans a routed INSERT), and reading
# `[0]["Plan"]["Operation"]` raised KeyError.
async def _insert_plans(dsn: str, schema: str) -> list[object]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[object] = []
    try:
        await conn.execute("CREATE TABLE reading (sensor int, value float8)")
        async with conn.transaction():
            for sql, args, analyze in [
                ("INSERT INTO reading VALUES ($1, $2)", (1, 2.5), False),
                ("INSERT INTO reading VALUES (3, 4), (5, 6)", (), True),
                ("INSERT INTO reading SELECT sensor + 10, value FROM reading", (), False),
            ]:
                plan = await (await conn.prepare(sql)).explain(*args, analyze=analyze)
                top = plan[0]["Plan"]
                out.append((top["Node Type"], top["Operation"], top["Relation Name"]))
            out.append(await conn.fetchval("SELECT count(*) FROM reading"))  # (asyncpg rolls ANALYZE back)
    finally:
        await conn.close()
    return out


def test_explain_of_an_insert_in_json_has_the_plan(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    got = asyncio.run(_insert_plans(gridpg_cluster.dsn(0), schema))
    assert got == asyncio.run(_on_plain(plain_pg, schema, _insert_plans))
    assert got[:2] == [("ModifyTable", "Insert", "reading")] * 2
