"""`BEGIN; LOCK TABLE t; SELECT count(*) FROM t` (LOCK's default mode is ACCESS
EXCLUSIVE): statements whose plan used a connection outside the client's transaction
waited for the transaction's own lock, forever. Two-phase aggregation and the sorted merge
made their scratch table on a side catalog connection (`CREATE TEMP TABLE ... AS SELECT ...
FROM t WITH NO DATA`), the exchange planner's EXPLAINs ran on pooled datanode connections,
and VALUES evaluated before routing described the target there. After LOCK TABLE these use
the transaction's own connections, as after DDL in the block (Participant.locked).
Compared with plain PostgreSQL; each statement must answer within seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import psycopg

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE lk (id int PRIMARY KEY, g int, v text)",
    "CREATE TABLE lk2 (id int PRIMARY KEY, g int)",
    "INSERT INTO lk SELECT i, i % 5, 'v' || i FROM generate_series(1, 50) i",
    "INSERT INTO lk2 SELECT i, i % 7 FROM generate_series(1, 30) i",
]
QUERIES = [
    "SELECT count(*) FROM lk",
    "SELECT id FROM lk ORDER BY v LIMIT 3",
    "SELECT g, count(*) FROM lk GROUP BY g ORDER BY g",
    "SELECT count(*) FROM lk a JOIN lk2 b ON a.g = b.g",
    "SELECT count(*) FROM (SELECT DISTINCT v FROM lk) s",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id) FROM lk",
    "INSERT INTO lk SELECT id + 100, g, NULL FROM lk2 RETURNING id",
    "INSERT INTO lk VALUES (500, (random() * 0)::int, 'x') RETURNING id, g",
    "UPDATE lk SET g = g + 1 WHERE g IN (SELECT g FROM lk2 WHERE id < 3) RETURNING id",
    "WITH x AS (SELECT g, max(id) m FROM lk GROUP BY g) SELECT count(*) FROM x JOIN lk2 USING (g)",
    "SELECT count(*), sum(g) FROM lk",
]


async def _answers(dsn: str, schema: str, mode: str) -> list[Any]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    out: list[Any] = []
    try:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE lk{mode}", timeout=10)
            for sql in QUERIES:
                try:
                    out.append(sorted(tuple(r) for r in await conn.fetch(sql, timeout=10)))
                except asyncio.TimeoutError:
                    out.append(("hung", sql))
                    break
            raise asyncpg.exceptions.InFailedSQLTransactionError  # roll the block back
    except asyncpg.exceptions.InFailedSQLTransactionError:
        pass
    finally:
        await conn.close()
    return out


def test_statements_after_lock_table_in_a_block(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    answers: dict[str, list[Any]] = {}
    for side, dsn in (("pg", plain_pg), ("gridpg", gridpg_cluster.dsn(0))):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'SET search_path = "{schema}"')
            for sql in SETUP:
                conn.execute(sql)
        answers[side] = [asyncio.run(_answers(dsn, schema, mode)) for mode in ("", " IN SHARE MODE")]
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert answers["gridpg"] == answers["pg"]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:  # nothing was kept
        assert conn.execute(f'SELECT count(*) FROM "{schema}".lk').fetchone() == (50,)


def test_a_function_writing_the_locked_table(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """`LOCK TABLE t IN EXCLUSIVE MODE` (a counter's usual guard) and then a function that
    writes t: the loopback's Describe of the function's INSERT, on a catalog connection of
    the coordinator's own, waited for the lock the client's transaction held on the
    catalog server's copy, forever."""
    async def run(dsn: str) -> list[Any]:
        conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
        out: list[Any] = []
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
            await conn.execute("CREATE TABLE counters (name text PRIMARY KEY, n int)")
            await conn.execute("INSERT INTO counters VALUES ('a', 0), ('b', 0)")
            await conn.execute(f'CREATE FUNCTION "{schema}".bump(k text) RETURNS int LANGUAGE plpgsql AS '
                               "$$ DECLARE r int; BEGIN UPDATE counters SET n = n + 1 WHERE name = k "
                               "RETURNING n INTO r; INSERT INTO counters VALUES (k || r, r); RETURN r; END $$")
            for mode in ("EXCLUSIVE", "SHARE ROW EXCLUSIVE", "ACCESS EXCLUSIVE"):
                async with conn.transaction():
                    await conn.execute(f"LOCK TABLE counters IN {mode} MODE", timeout=10)
                    try:
                        out.append(await conn.fetchval("SELECT bump('a')", timeout=10))
                    except asyncio.TimeoutError:
                        out.append("hung")
                        break
            out.append([tuple(r) for r in await conn.fetch("SELECT * FROM counters ORDER BY name")])
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()
        return out

    expected = asyncio.run(run(plain_pg))
    assert expected[:3] == [1, 2, 3]
    assert asyncio.run(run(gridpg_cluster.dsn(0))) == expected
