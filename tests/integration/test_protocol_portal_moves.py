"""MOVE naming a portal the client Bound with the extended protocol, as asyncpg's
`Cursor.forward(n)` sends it (`MOVE FORWARD n "__asyncpg_portal_N__"` between Executes of
the portal): PostgreSQL keeps protocol portals and SQL cursors in one namespace. gridpg
sent the MOVE to the catalog server, which knows no such cursor: 34000, so every
`forward()` failed (frontend/portal_moves.py). Compared with plain PostgreSQL over a hash
table (rows from every node), a replicated one (one node's portal) and a routed query."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import psycopg
import pytest

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE h (id int PRIMARY KEY, v text)",
    "CREATE TABLE r (id int PRIMARY KEY, v text) DISTRIBUTE BY REPLICATION",
    "INSERT INTO h SELECT g, 'h' || g FROM generate_series(1, 60) g",
    "INSERT INTO r SELECT g, 'r' || g FROM generate_series(1, 30) g",
]


async def _steps(dsn: str, schema: str) -> list[Any]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[Any] = []
    try:
        async with conn.transaction():
            cur = await conn.cursor("SELECT id, v FROM h WHERE id > $1 ORDER BY id", 5)
            out.append(await cur.fetch(3))
            out.append(await cur.forward(10))
            out.append(await cur.fetchrow())
            out.append(await cur.forward(100))  # past the end: the rows there were
            out.append(await cur.fetch(2))
            other = await conn.cursor("SELECT id FROM r ORDER BY id")
            out.append(await other.forward(4))
            out.append(await other.fetch(2))
            await conn.execute("UPDATE h SET v = 'moved' WHERE id = 1")
            out.append(await other.forward(1))
            out.append(await other.fetchrow())
            routed = await conn.cursor("SELECT id, v FROM h WHERE id = $1", 7)
            out.append(await routed.forward(1))
            out.append(await routed.fetch(1))
        out.append(await conn.fetchval("SELECT v FROM h WHERE id = 1"))
        async with conn.transaction():  # MOVE ALL, by hand, on a portal asyncpg Bound
            cur = await conn.cursor("SELECT id FROM h ORDER BY id")
            out.append(await cur.fetch(1))
            out.append(await conn.execute(f'MOVE ALL "{cur._portal_name}"'))
            out.append(await cur.fetch(1))
    finally:
        await conn.close()
    return [[tuple(r) for r in x] if isinstance(x, list) else tuple(x) if isinstance(x, asyncpg.Record) else x
            for x in out]


def test_asyncpg_cursor_forward_moves_the_portal(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    answers = []
    for dsn in (plain_pg, gridpg_cluster.dsn(0)):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'SET search_path = "{schema}"')
            for sql in SETUP:
                conn.execute(sql.replace(" DISTRIBUTE BY REPLICATION", "") if dsn == plain_pg else sql)
        answers.append(asyncio.run(_steps(dsn, schema)))
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert answers[1] == answers[0]
    assert answers[1][1] == 10 and answers[1][2] == (19, "h19")


def test_fetch_and_backward_moves_of_a_protocol_portal_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    async def run() -> list[str]:
        conn = await asyncpg.connect(gridpg_cluster.dsn(0), server_settings={"search_path": schema})
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        await conn.execute("INSERT INTO t SELECT generate_series(1, 5)")
        codes = []
        try:
            for statement in ('FETCH 1 FROM "{}"', 'MOVE BACKWARD 1 "{}"', 'MOVE -1 "{}"'):
                block = conn.transaction()
                await block.start()
                cur = await conn.cursor("SELECT id FROM t ORDER BY id")
                await cur.fetch(1)
                try:
                    await conn.execute(statement.format(cur._portal_name))
                except asyncpg.PostgresError as exc:
                    codes.append(exc.sqlstate)
                await block.rollback()
        finally:
            await conn.close()
        return codes

    assert asyncio.run(run()) == ["0A000", "0A000", "0A000"]
