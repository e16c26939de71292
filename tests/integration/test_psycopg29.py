"""What psycopg 3's own test suite found on its second pass (h-psycopg29), each shape in our
own words, run through psycopg (its libpq-level `pgconn` where the test is about protocol
messages) against the session's cluster and plain PostgreSQL, the answers compared."""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Callable

import psycopg
import pytest
from psycopg import pq

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE items (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)",
    "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 40) g",
]

# (how the cursor is declared) -- the query the catalog server answers alone, a streaming
# cursor over one node, one over every node, a materialized one (SCROLL over several
# nodes), and one held past its block (WITH HOLD, materialized, on a pinned connection)
CURSORS = {
    "catalog": "DECLARE cur CURSOR FOR SELECT * FROM generate_series(1, 10) g",
    "one_node": "DECLARE cur CURSOR FOR SELECT id, v FROM items WHERE id = 3",
    "every_node": "DECLARE cur CURSOR FOR SELECT id, v FROM items",
    "ordered": "DECLARE cur CURSOR FOR SELECT id, v FROM items ORDER BY id",
    "scroll": "DECLARE cur SCROLL CURSOR FOR SELECT id, v FROM items ORDER BY id",
}


def _close_and_look(dsn: str, schema: str, declare: str, hold: bool) -> list[object]:
    """Declare the cursor, fetch a row, close it by the protocol's Close (libpq's
    PQclosePortal), then what Describe, FETCH and pg_cursors say of it; a second Close
    of the name, now unknown, is no error either."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        pgconn = conn.pgconn
        out: list[object] = []

        def simple(sql: str) -> object:
            res = pgconn.exec_(sql.encode())
            if res.status == pq.ExecStatus.TUPLES_OK:
                return [res.get_value(0, c) for c in range(res.nfields)] if res.ntuples else []
            if res.status == pq.ExecStatus.COMMAND_OK:
                return res.command_status
            return res.error_field(pq.DiagnosticField.SQLSTATE)

        if hold:
            out.append(simple(declare.replace(" CURSOR FOR", " CURSOR WITH HOLD FOR")))
        else:
            out.append(simple("BEGIN"))
            out.append(simple(declare))
        out.append(simple("MOVE 1 FROM cur"))
        out.append(pgconn.close_portal(b"cur").status)
        out.append(pgconn.describe_portal(b"cur").status)
        out.append(simple("SELECT count(*) FROM pg_cursors WHERE name = 'cur'"))
        out.append(pgconn.close_portal(b"cur").status)
        out.append(simple("FETCH 1 FROM cur"))  # 34000, and the block fails
        out.append(simple("ROLLBACK" if not hold else "SELECT 1"))
        out.append(simple("SELECT count(*) FROM items"))  # the session goes on
        return out


@pytest.mark.parametrize("shape", sorted(CURSORS))
@pytest.mark.parametrize("hold", [False, True], ids=["block", "hold"])
def test_protocol_close_closes_a_declared_cursor(
        gridpg_cluster: Cluster, plain_pg: str, schema: str, shape: str, hold: bool,
        same_answers: Callable[..., object]) -> None:
    """PostgreSQL's protocol portals and SQL cursors share one namespace: Close ('P') of a
    DECLAREd cursor closes it. gridpg answered CloseComplete and kept the cursor (Describe
    still described it, FETCH still read it: psycopg's pq test_close_portal)."""
    same_answers(lambda dsn, on_gridpg: _close_and_look(dsn, schema, CURSORS[shape], hold))


@pytest.fixture()
def same_answers(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Callable[..., object]:
    def check(run: Callable[[str, bool], list[object]]) -> object:
        with psycopg.connect(plain_pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'SET search_path TO "{schema}"')
            for sql in SETUP:
                conn.execute(sql.split(" DISTRIBUTE BY")[0])
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            for sql in SETUP:
                conn.execute(sql)
        try:
            want = run(plain_pg, False)
            got = run(gridpg_cluster.dsn(0), True)
        finally:
            with psycopg.connect(plain_pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        assert got == want
        return got
    return check


async def _batches(dsn: str, rounds: int) -> list[int]:
    """For each round: how many notifications of one transaction (three NOTIFYs) a
    listener's first batch held, psycopg's `notifies(stop_after=1)`."""
    counts = []
    for _ in range(rounds):
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as listener:
            await listener.execute("LISTEN batch29")

            async def notify() -> None:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as sender:
                    async with sender.transaction():
                        for n in ("1", "2", "3"):
                            await sender.execute("SELECT pg_notify('batch29', %s)", (n,))

            task = asyncio.ensure_future(notify())
            got = [n.payload async for n in listener.notifies(timeout=5.0, stop_after=1)]
            await task
            assert got == ["1", "2", "3"][: len(got)]
            counts.append(len(got))
    return counts


def test_a_transactions_notifications_reach_an_idle_listener_in_one_batch(
        gridpg_cluster: Cluster, plain_pg: str) -> None:
    """PostgreSQL sends an idle listener a transaction's notifications in one flush; gridpg
    wrote them one by one as its hub listener read them, and psycopg's notifies
    (stop_after=1) returned the first alone about one time in five (psycopg's
    test_notify_async test_stop_after_batch)."""
    assert asyncio.run(_batches(plain_pg, 10)) == [3] * 10
    assert asyncio.run(_batches(gridpg_cluster.dsn(0), 10)) == [3] * 10


def _answers_before_sync(dsn: str) -> list[bool]:
    """Whether anything reaches the client before its Sync: after a pipeline's `SELECT 1`
    (PostgreSQL holds the answer: less than its send buffer), after a generate_series
    bigger than that buffer, and after a failing statement (PostgreSQL flushes an error
    at once)."""
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        pgconn = conn.pgconn
        for n, sql in enumerate((b"SELECT 1", b"SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g",
                                 b"SELECT 1 / 0")):
            pgconn.enter_pipeline_mode()
            pgconn.send_query_params(sql, None)
            pgconn.flush()
            time.sleep(0.2)  # (gridpg runs an Execute once it sees the next message: a Parse)
            pgconn.send_prepare(f"s29_{n}".encode(), b"SELECT 2")
            pgconn.flush()
            readable, _, _ = select.select([pgconn.socket], [], [], 0.5)
            out.append(bool(readable))
            pgconn.pipeline_sync()
            pgconn.flush()
            syncs = 0
            while syncs < 1:
                select.select([pgconn.socket], [], [], 2.0)
                pgconn.consume_input()
                while not pgconn.is_busy():
                    res = pgconn.get_result()
                    if res is not None and res.status == pq.ExecStatus.PIPELINE_SYNC:
                        syncs += 1
                        break
            pgconn.exit_pipeline_mode()
    return out


def test_a_pipelines_answers_wait_for_its_sync(gridpg_cluster: Cluster, plain_pg: str) -> None:
    """PostgreSQL writes a pipeline's answers at its Sync or Flush (or past its send
    buffer, or at an error); gridpg wrote whatever it had whenever the client's input ran
    dry. psycopg's pipeline reads what has come while it still sends, and then gave
    `cur.execute("select 1"); cur.execute("select 2"); cur.fetchall()` the rows of
    `select 1` (8 times in 4,500 under load; psycopg's test_pipeline test_execute_nextset
    and test_executemany_trace). Now the answers wait as PostgreSQL's do."""
    assert _answers_before_sync(plain_pg) == [False, True, True]
    assert _answers_before_sync(gridpg_cluster.dsn(0)) == [False, True, True]
