"""Extended-protocol pipelines outside a transaction block, compared with plain PostgreSQL.

PostgreSQL runs every statement up to the client's Sync in one implicit transaction: an
error in the middle of a JDBC executeBatch, an asyncpg executemany or a psycopg pipeline
in autocommit rolls back the statements before it too. gridpg committed each Execute on
its own, so the rows before the error stayed: stored data differed, silently. Savepoints
in an implicit block are refused as PostgreSQL refuses them (25P01)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import psycopg
import pytest

from gridpg.cluster.control import Cluster

DDL = {
    "pp": ("CREATE TABLE pp (id int PRIMARY KEY, v int)", "SELECT create_distributed_table('pp', 'id')"),
    "rr": ("CREATE TABLE rr (id int PRIMARY KEY, v int)", "SELECT create_reference_table('rr')"),
    # a user's aggregate named sum (pgvector installs sum(vector)): gridpg must then take
    # `sum(v)` for possible user code, which runs in a savepoint on the catalog server
    "sum": ("CREATE AGGREGATE sum(text) (SFUNC = textcat, STYPE = text)", "SELECT 1"),
}


@pytest.fixture()
def sides(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[dict[str, str]]:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    dsns = {"pg": plain_pg, "gridpg": gridpg_cluster.dsn(0)}
    for side, dsn in dsns.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'SET search_path = "{schema}"')
            for create, distribute in DDL.values():
                conn.execute(create)
                if side == "gridpg":
                    conn.execute(distribute)
    yield {k: f"{v}?options=-csearch_path%3D{schema}" for k, v in dsns.items()}
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _stored(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT 'pp', id, v FROM pp UNION ALL SELECT 'rr', id, v FROM rr ORDER BY 1, 2").fetchall()


def _pipeline(dsn: str, statements: list[tuple[str, tuple[Any, ...] | None]]) -> list[Any]:
    """The statements in one psycopg pipeline (one Sync) in autocommit: each one's tag or
    SQLSTATE, the session's state after, and what the tables hold."""
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursors = []
        try:
            with conn.pipeline():
                for sql, params in statements:
                    cur = conn.cursor()
                    cursors.append(cur)
                    cur.execute(sql, params)
        except psycopg.Error as exc:
            out.append(("error", exc.sqlstate))
        out.append([cur.statusmessage for cur in cursors])
        out.append(conn.info.transaction_status.name)
    out.append(_stored(dsn))
    return out


BATCHES = {
    "routed_then_duplicate": [
        ("INSERT INTO pp VALUES (%s, %s)", (1, 1)),
        ("INSERT INTO rr VALUES (%s, %s)", (1, 1)),
        ("INSERT INTO pp VALUES (%s, %s) RETURNING *", (2, 2)),
        ("INSERT INTO pp VALUES (%s, %s)", (1, 9)),
        ("INSERT INTO pp VALUES (%s, %s)", (3, 3)),
    ],
    "broadcast_then_division_by_zero": [
        ("INSERT INTO pp SELECT g, g FROM generate_series(1, 20) g", None),
        ("UPDATE pp SET v = v / (id - 7)", None),
        ("INSERT INTO rr VALUES (1, 1)", None),
    ],
    "no_error_commits_all": [
        ("INSERT INTO pp VALUES (%s, %s)", (5, 5)),
        ("INSERT INTO rr VALUES (%s, %s)", (5, 5)),
        ("UPDATE pp SET v = v + 1 WHERE id = %s", (5,)),
    ],
    # a statement whose plan settles the nodes' cycles in the middle (sum(), which may be
    # the user's aggregate: a savepoint on the catalog server around it, released after a
    # sync of the nodes) ended the pipeline's implicit block there: the UPDATE before it was
    # committed though the error after it, and the savepoint's RELEASE failed at the
    # client's Sync (25P01, an extra error: psycopg's pipeline out of step)
    "aggregate_between_then_duplicate": [
        ("INSERT INTO pp VALUES (%s, %s)", (1, 1)),
        ("SELECT sum(v) FROM pp", None),
        ("INSERT INTO rr VALUES (%s, %s)", (1, 1)),
        ("INSERT INTO pp VALUES (%s, %s)", (1, 9)),
    ],
    "aggregate_between_no_error": [
        ("INSERT INTO pp VALUES (%s, %s)", (1, 1)),
        ("SELECT sum(v) FROM pp", None),
        ("INSERT INTO pp VALUES (%s, %s)", (2, 2)),
    ],
    "begin_inside_keeps_earlier": [
        ("INSERT INTO pp VALUES (%s, %s)", (1, 1)),
        ("BEGIN", None),
        ("INSERT INTO pp VALUES (%s, %s)", (2, 2)),
        ("COMMIT", None),
        ("INSERT INTO pp VALUES (%s, %s)", (3, 3)),
        ("SELECT 1 / 0", None),
    ],
}


@pytest.mark.parametrize("batch", sorted(BATCHES))
def test_psycopg_pipeline_is_one_implicit_transaction(sides: dict[str, str], batch: str) -> None:
    expected = _pipeline(sides["pg"], BATCHES[batch])
    assert _pipeline(sides["gridpg"], BATCHES[batch]) == expected


def test_psycopg_pipeline_fetching_between_statements(sides: dict[str, str]) -> None:
    """Rows fetched in the middle of a pipeline (psycopg sends a Flush, not a Sync): the
    answers come in step, and the implicit block still ends at the pipeline's Sync."""
    def run(dsn: str) -> list[Any]:
        out: list[Any] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO pp SELECT g, 100 FROM generate_series(1, 10) g")
            with conn.pipeline():
                cur = conn.cursor()
                cur.execute("UPDATE pp SET v = v + 1 WHERE id = %s RETURNING v", (8,))
                out.append(cur.fetchone())
                cur.execute("SELECT sum(v) FROM pp")
                out.append(cur.fetchone())
            out.append(conn.execute("SELECT 1").fetchone())
        out.append(_stored(dsn))
        return out

    assert run(sides["gridpg"]) == run(sides["pg"])


def test_asyncpg_executemany_error_keeps_nothing(sides: dict[str, str]) -> None:
    async def run(dsn: str) -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            try:
                await conn.executemany("INSERT INTO pp VALUES ($1, $2)", [(1, 1), (2, 2), (1, 3), (4, 4)])
            except asyncpg.UniqueViolationError:
                pass
            first = [tuple(r) for r in await conn.fetch("SELECT * FROM pp ORDER BY id")]
            await conn.executemany("INSERT INTO pp VALUES ($1, $2)", [(i, i) for i in range(10, 30)])
            return [first, await conn.fetchval("SELECT count(*) FROM pp")]
        finally:
            await conn.close()

    assert asyncio.run(run(sides["gridpg"])) == asyncio.run(run(sides["pg"])) == [[], 20]


def test_savepoint_in_implicit_block_refused(sides: dict[str, str]) -> None:
    def run(dsn: str) -> list[Any]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            try:
                conn.execute("INSERT INTO pp VALUES (1, 1); SAVEPOINT a; INSERT INTO pp VALUES (2, 1)")
                outcome: Any = "ok"
            except psycopg.Error as exc:
                outcome = exc.sqlstate
        return [outcome, _stored(dsn)]

    assert run(sides["gridpg"]) == run(sides["pg"]) == ["25P01", []]


QUERY_STRINGS = {
    # after a COMMIT (or ROLLBACK) among them, PostgreSQL begins another implicit block:
    # the error rolls back the statements between it and the COMMIT
    "commit_then_error": "INSERT INTO pp VALUES (1, 1); COMMIT; INSERT INTO rr VALUES (1, 1); SELECT 1 / 0",
    "rollback_then_error": "INSERT INTO pp VALUES (1, 1); ROLLBACK; INSERT INTO rr VALUES (2, 2); SELECT 1 / 0",
    "block_then_error": "BEGIN; INSERT INTO pp VALUES (1, 1); COMMIT; INSERT INTO rr VALUES (3, 3); "
                        "INSERT INTO pp VALUES (1, 1)",
    "commit_then_ok": "INSERT INTO pp VALUES (1, 1); COMMIT; INSERT INTO rr VALUES (1, 1); INSERT INTO pp VALUES (2, 2)",
}


@pytest.mark.parametrize("name", sorted(QUERY_STRINGS))
def test_query_string_block_after_commit(sides: dict[str, str], name: str) -> None:
    def run(dsn: str) -> list[Any]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            try:
                conn.execute(QUERY_STRINGS[name])
                outcome: Any = "ok"
            except psycopg.Error as exc:
                outcome = exc.sqlstate
            status = conn.info.transaction_status.name
        return [outcome, status, _stored(dsn)]

    assert run(sides["gridpg"]) == run(sides["pg"])
