"""asyncpg caches its prepared statements; after a migration changes a table's columns,
PostgreSQL refuses the cached statement ("cached plan must not change result type",
0A000) and asyncpg, recognizing the error by its routine field `RevalidateCachedQuery`
(not the message, which is localizable), prepares it again and retries, so the
application never sees it. gridpg's error had no routine field: every cached query of a
changed table failed once per connection (errors.cached_plan_changed). Compared with
plain PostgreSQL, the DDL run from another session (on gridpg: the other coordinator)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from gridpg.cluster.control import Cluster

QUERIES = [
    ("SELECT * FROM t WHERE id = $1", (1,)),  # routed
    ("SELECT * FROM t ORDER BY id LIMIT 2", ()),  # over every node
]


async def _answers(dsn: str, other: str, schema: str) -> list[Any]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    ddl = await asyncpg.connect(other, server_settings={"search_path": schema})
    out: list[Any] = []

    async def each() -> None:
        for sql, args in QUERIES:
            try:
                out.append([tuple(r) for r in await conn.fetch(sql, *args)])
            except asyncpg.PostgresError as exc:
                out.append((type(exc).__name__, exc.sqlstate))

    try:
        await ddl.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        await ddl.execute("CREATE TABLE t (id int PRIMARY KEY, v text); "
                          "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g")
        await each()
        await ddl.execute("ALTER TABLE t ADD COLUMN w int DEFAULT 5")
        await each()
        await ddl.execute("ALTER TABLE t ALTER COLUMN w TYPE bigint")
        await each()
        await ddl.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()
        await ddl.close()
    return out


def test_asyncpg_retries_its_cached_statement_after_ddl(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = asyncio.run(_answers(plain_pg, plain_pg, schema))
    got = asyncio.run(_answers(gridpg_cluster.dsn(0), gridpg_cluster.dsn(1), schema))
    assert got == expected
    assert expected[2] == [(1, "v1", 5)]
