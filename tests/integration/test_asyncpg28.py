"""What asyncpg 0.32's own test suite found (h-asyncpg28), each shape in our own words,
run through asyncpg (or raw messages) against the session's cluster and plain PostgreSQL.

asyncpg closes an exhausted cursor's portal (Close 'P' + Sync) and its test then drops the
table in the same transaction. gridpg dropped only its own record of the portal: the node
portals bound for it stayed open until the transaction ended, holding their tables, and
the DROP failed with 55006 "cannot DROP TABLE ... because it is being used by active
queries in this session" (test_cursor_iterable_06).

An error in the middle of an extended-protocol pipeline was sent to the client only once
the coordinator had read every message it held, and not while the next message was still
arriving: PostgreSQL sends it at once, and a client still writing (asyncpg's executemany)
stops when it hears it (test_executemany_server_failure_during_writes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import psycopg

from gridpg.cluster.control import Cluster
from gridpg.pgwire import codec
from tests.faults.test_protocol_fuzz import login

# (query, arguments): a scan of every node, one pinned to a node, a merge of ordered nodes
CURSORS = [
    ("SELECT id FROM shelf", ()),
    ("SELECT id FROM shelf WHERE id = $1", (4,)),
    ("SELECT id FROM shelf ORDER BY id", ()),
]


async def _cursor_then_drop(dsn: str, schema: str) -> list[object]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[object] = []
    try:
        for sql, args in CURSORS:
            try:
                async with conn.transaction():
                    await conn.execute("CREATE TABLE shelf (id int PRIMARY KEY); "
                                       "INSERT INTO shelf SELECT generate_series(1, 10)")
                    # prefetch 3: the portal is executed in pieces, then closed by asyncpg
                    rows = sorted([r["id"] async for r in conn.cursor(sql, *args, prefetch=3)])
                    await conn.execute("ALTER TABLE shelf ADD COLUMN note text")
                    await conn.execute("DROP TABLE shelf")
                out.append(rows)
            except asyncpg.PostgresError as exc:
                out.append((exc.sqlstate, str(exc)))
        # a portal closed before it ran out (raw Close through the same path): still usable after
        async with conn.transaction():
            await conn.execute("CREATE TABLE shelf (id int PRIMARY KEY); INSERT INTO shelf SELECT generate_series(1, 10)")
            cursor = await conn.cursor("SELECT id FROM shelf ORDER BY id")
            out.append([r["id"] for r in await cursor.fetch(2)])
            out.append(await conn.fetchval("SELECT count(*) FROM shelf"))
            await conn.execute("DROP TABLE shelf")  # the unclosed portal: 55006 on both
    except asyncpg.PostgresError as exc:
        out.append((exc.sqlstate, str(exc)))
    finally:
        await conn.close()
    return out


def test_closed_cursor_portals_release_their_tables(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    got = asyncio.run(_cursor_then_drop(gridpg_cluster.dsn(0), schema))
    assert got == asyncio.run(_on_plain(plain_pg, schema, _cursor_then_drop))
    assert got[:3] == [list(range(1, 11)), [4], list(range(1, 11))]


def _error_before_the_next_message(dsn: str) -> list[object]:
    """Parse/Bind/Execute of a failing statement, more Bind/Execute, and the first bytes of
    the last message: the ErrorResponse must come while that message is incomplete (no
    Sync sent yet)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    raw = login(str(info["host"]), int(info["port"]), str(info["user"]), str(info["password"]))
    out: list[object] = []
    try:
        raw.send(codec.build_parse("", "SELECT 1 / ($1::int + (random() * 0)::int)", [0]) + codec.build_bind("", "", [0], [b"0"], [])
                 + codec.build_execute("", 0))
        following = (codec.build_bind("", "", [0], [b"1"], []) + codec.build_execute("", 0)) * 2
        raw.send(following[:-3])  # (the coordinator waits for the message after an Execute)
        raw.sock.settimeout(5)
        try:
            kinds = [raw.recv()[0] for _ in range(3)]  # type: ignore[index]
            out.append([chr(k) for k in kinds])
        except TimeoutError:
            out.append("no answer before the pipeline's next message was complete")
        raw.sock.settimeout(10)
        raw.send(following[-3:] + codec.SYNC)
        out.append(raw.outcome())  # the rest skipped to Sync; ReadyForQuery
    finally:
        raw.close()
    return out


def test_a_pipeline_error_is_sent_at_once(gridpg_cluster: Cluster, plain_pg: str) -> None:
    got = _error_before_the_next_message(gridpg_cluster.dsn(0))
    assert got == _error_before_the_next_message(plain_pg)
    assert got == [["1", "2", "E"], (None, False)]


async def _on_plain(dsn: str, schema: str, run: Callable[[str, str], Awaitable[list[object]]]) -> list[object]:
    """`run` on plain PostgreSQL in a fresh schema of the test's name, dropped after."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        return await run(dsn, schema)
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
