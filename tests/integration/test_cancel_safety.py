"""Interrupted statements leave nothing behind (issue 12): statement_timeout, cancel
requests (psycopg, asyncpg), pg_cancel_backend on a datanode, clients that disconnect
mid-statement, over the simple and extended protocols, the prepared fast path and the
general path, in and out of blocks; and INSERT ... SELECT / CREATE TABLE AS from a source
with no distributed table (rows routed by the coordinator) stops at a cancel or a
statement_timeout, with the table unchanged, while other sessions are served.

The long randomized version of the mix is `tests/faults/test_cancel_stress.py` (opt-in).
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import errors

from gridpg.cluster.control import Cluster
from tests.integration import cancel_mix

pytestmark = pytest.mark.timeout(300)

_BIG = 3_000_000  # rows of generate_series: tens of seconds of routing, never reached


def test_short_mix_of_interruptions_leaves_no_trace(gridpg_cluster: Cluster, schema: str,
                                                    datanodes: dict[str, str]) -> None:
    """Every kind of interruption, three workers, fixed seeds: every read exact (or 57014
    under a timeout), no setting, role or transaction state seen by the next session,
    every acknowledged write there, and the interruptions really happened."""
    dsn = gridpg_cluster.dsn(0)
    cancel_mix.create_tables(dsn, schema, workers=3)
    findings = cancel_mix.run_mix(dsn, sorted(datanodes.values()), schema, seconds=12, workers=3, seed=1)
    assert not findings.wrong, cancel_mix.summary(findings)
    assert findings.counts.get("57014", 0) >= 5 and findings.counts.get("exact", 0) >= 50, \
        cancel_mix.summary(findings)


def test_a_fresh_session_never_runs_on_a_connection_with_another_sessions_timer(
        gridpg_cluster: Cluster, schema: str) -> None:
    """A session with statement_timeout set reads from both datanodes and leaves; fresh
    sessions then never get its datanode connections (which they would have to RESET
    under its timer: a 57014 for a statement they never timed), and see no timeout on the
    connections they do get. Before, the pool handed the most recent idle connection to
    the next session, which reset it under the old 1-15 ms timer (seen under load)."""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.t (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {s}.t SELECT g, g FROM generate_series(1, 20) g")
    for attempt in range(6):
        with psycopg.connect(dsn, autocommit=True) as timed:
            timed.execute("SET statement_timeout = '20s'")
            timed_pids = _node_pids(timed, f"{s}.t")
        # a state no idle connection has: the pool's choice is its most recent connection
        with psycopg.connect(dsn, autocommit=True, application_name=f"fresh{attempt}_{s}") as fresh:
            fresh_pids = _node_pids(fresh, f"{s}.t")
            settings = fresh.execute(f"SELECT DISTINCT current_setting('statement_timeout') FROM {s}.t").fetchall()
        assert not timed_pids & fresh_pids, "a session was given the timed session's connection"
        assert settings == [("0",)]


def _node_pids(conn: psycopg.Connection, table: str) -> set[int]:
    """The datanode backends that answer a statement of `conn` over every node of `table`
    (found by the statement's own text: pg_backend_pid() is the session's, by design)."""
    marker = f"whose_backend_{time.monotonic_ns()}"
    rows = conn.execute(f"SELECT (SELECT a.pid FROM pg_catalog.pg_stat_get_activity(NULL) a WHERE a.query LIKE "
                        f"'%{marker}%' AND a.state = 'active' LIMIT 1) FROM {table}").fetchall()
    return {r[0] for r in rows}


def _insert_interrupted(dsn: str, s: str, statement: str, interrupt: str) -> tuple[float, str]:
    """Run `statement` on one session, interrupt it after about one second (`cancel`: a
    CancelRequest; `timeout`: statement_timeout = 1s); meanwhile another session's simple
    SELECT must answer quickly. (seconds from the interruption to the error, SQLSTATE)."""
    latencies: list[float] = []
    stop = threading.Event()

    def other_session() -> None:
        with psycopg.connect(dsn, autocommit=True) as other:
            while not stop.is_set():
                started = time.monotonic()
                assert other.execute(f"SELECT count(*) FROM {s}.small").fetchone() == (3,)
                latencies.append(time.monotonic() - started)
                time.sleep(0.1)

    with psycopg.connect(dsn, autocommit=True) as conn:
        if interrupt == "timeout":
            conn.execute("SET statement_timeout = '1s'")
        else:
            threading.Timer(1.0, conn.cancel).start()
        reader = threading.Thread(target=other_session)
        reader.start()
        started = time.monotonic()
        try:
            with pytest.raises(errors.QueryCanceled) as raised:
                conn.execute(statement)
            took = time.monotonic() - started - 1.0
        finally:
            stop.set()
            reader.join(30)
        assert latencies and max(latencies) < 1.5, latencies
        return took, raised.value.sqlstate or ""


@pytest.mark.parametrize("interrupt", ["cancel", "timeout"])
@pytest.mark.parametrize("source", ["generate_series", "catalog"])
def test_insert_select_through_the_coordinator_stops(gridpg_cluster: Cluster, schema: str, interrupt: str,
                                                     source: str) -> None:
    """INSERT ... SELECT from a non-distributed source (generate_series; a catalog table)
    into a distributed table: the rows are routed by the coordinator. A cancel request
    and a statement_timeout stop it within a second or two, the table keeps its rows, and
    another session's SELECT answers meanwhile. Before, the rows were gathered whole into
    the coordinator's memory and routed in one loop that never yielded: the cancel was
    not seen, statement_timeout not applied, the worker's other sessions stalled."""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.big (id bigint, v text) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {s}.big VALUES (0, 'kept')")
        conn.execute(f"CREATE TABLE {s}.small (id int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {s}.small VALUES (1), (2), (3)")
    select = f"SELECT g, 'row ' || g FROM generate_series(1, {_BIG}) g" if source == "generate_series" else \
        "SELECT row_number() OVER (), c.relname::text FROM pg_catalog.pg_class c, generate_series(1, 20000) g"
    took, sqlstate = _insert_interrupted(dsn, s, f"INSERT INTO {s}.big {select}", interrupt)
    assert sqlstate == "57014"
    assert took < 2.5, f"stopped {took:.1f} s after the {interrupt}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT id, v FROM {s}.big").fetchall() == [(0, "kept")]
        # the session's block and connections are clean: a small INSERT ... SELECT of the same kind works
        conn.execute(f"INSERT INTO {s}.big SELECT g, 'row ' || g FROM generate_series(1, 1000) g")
        assert conn.execute(f"SELECT count(*), count(DISTINCT id) FROM {s}.big").fetchone() == (1001, 1001)


def test_insert_select_in_a_block_cancelled_then_rolled_back(gridpg_cluster: Cluster, schema: str) -> None:
    """Inside a block that wrote already: the cancel fails the block, ROLLBACK undoes all."""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.big (id bigint, v text) DISTRIBUTE BY HASH (id)")
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {s}.big VALUES (0, 'in the block')")
        threading.Timer(1.0, conn.cancel).start()
        with pytest.raises(errors.QueryCanceled):
            conn.execute(f"INSERT INTO {s}.big SELECT g, 'x' FROM generate_series(1, {_BIG}) g")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK")
        assert conn.execute(f"SELECT count(*) FROM {s}.big").fetchone() == (0,)


def test_create_table_as_through_the_coordinator_stops(gridpg_cluster: Cluster, schema: str) -> None:
    """CREATE TABLE ... AS over generate_series fills the new distributed table through
    the coordinator the same way: a statement_timeout stops it and no table is left."""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '1s'")
        started = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            conn.execute(f"CREATE TABLE {s}.made DISTRIBUTE BY HASH (id) AS "
                         f"SELECT g AS id, 'row ' || g AS v FROM generate_series(1, {_BIG}) g")
        assert time.monotonic() - started < 3.5
        conn.execute("RESET statement_timeout")
        assert conn.execute("SELECT to_regclass(%s)", (f"{s}.made",)).fetchone() == (None,)


def test_large_insert_select_through_the_coordinator_is_exact(gridpg_cluster: Cluster, schema: str) -> None:
    """Streamed in batches, every row arrives once, on its shard, with a sequence column
    filled batch by batch (values unique)."""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.t (id int, v text, n bigserial) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {s}.t (id, v) SELECT g, 'v' || g FROM generate_series(1, 200000) g")
        assert conn.execute(f"SELECT count(*), count(DISTINCT id), sum(id), count(DISTINCT n), "
                            f"count(*) FILTER (WHERE v <> 'v' || id) FROM {s}.t").fetchone() == \
            (200000, 200000, 200000 * 200001 // 2, 200000, 0)
        assert conn.execute(f"SELECT v FROM {s}.t WHERE id = 123457").fetchone() == ("v123457",)


def test_rows_a_failed_merge_left_unread_never_answer_the_next_statement(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    """An ordered read over both datanodes is merged on the catalog server: each node's
    rows are copied there, node after node. One node's backend dies mid-copy (terminated);
    the other node's rows are still on their way. Before, that node's connection stayed
    with the session holding the rest of its COPY, and the session's next statement there
    read it as its own answer: a routed read of one row gave another statement's rows, or
    "COPY is not supported in the extended query protocol" (found by the interruption mix
    under 1-15 ms timeouts, where the catalog's COPY was the one refused)."""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.t (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {s}.t SELECT g, repeat('x', 200) || g FROM generate_series(1, 150000) g")
    failures = 0
    for attempt in range(4):
        node = sorted(datanodes.values())[attempt % 2]
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as conn:
            killer = threading.Thread(target=_terminate_copy, args=(node, s))
            killer.start()
            try:
                conn.execute(f"SELECT id, v FROM {s}.t ORDER BY v").fetchall()
            except psycopg.OperationalError:
                failures += 1
            killer.join()
            for k in (1, 2, 3, 77, 150000):  # on both nodes
                assert conn.execute(f"SELECT id, v FROM {s}.t WHERE id = %s", (k,)).fetchall() == \
                    [(k, "x" * 200 + str(k))]
            assert conn.execute(f"SELECT count(*) FROM {s}.t").fetchone() == (150000,)
    assert failures, "no copy was cut: the test proved nothing"


def _terminate_copy(node_dsn: str, schema: str) -> None:
    """pg_terminate_backend on the node's backend copying the merge's rows out, once it does."""
    deadline = time.monotonic() + 20
    with psycopg.connect(node_dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE query LIKE 'COPY (%%' AND query LIKE %s AND pid <> pg_backend_pid()",
                            (f"%{schema}%",)).fetchone()[0]:
                return
            time.sleep(0.005)


_PER_USER = (7, 18, 17, 23, 26, 10)  # rows per user_id in Citus's users_table.data


@pytest.mark.parametrize("timeout", ["50ms", "400ms", "1500ms"])
def test_recursive_cte_gathered_to_the_catalog_cancelled_then_read_again(
        gridpg_cluster: Cluster, schema: str, timeout: str) -> None:
    """with_basics.sql's 446/470 in one session: a recursive CTE over a distributed table
    (gathered onto the catalog server, then run there: ~14 million rows) stopped by
    statement_timeout at the gather or the final run; the same session, on its own
    search_path, then counts a recursive CTE and sums a join over the same table exactly.
    (The replay's answers that differed after such timeouts were the replay's own: it gave
    the timed-out side a new session on the default search_path, bench/regress_replay.py.)"""
    s = schema
    dsn = gridpg_cluster.dsn(0)
    recursive = ("WITH RECURSIVE r(x) AS (VALUES (1) UNION ALL SELECT user_id + 1 FROM users_table "
                 "JOIN r ON (user_id = x) WHERE user_id < {limit})")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {s}")
        conn.execute("CREATE TABLE users_table (user_id int, value_2 int) DISTRIBUTE BY HASH (user_id)")
        conn.execute("INSERT INTO users_table SELECT u, n FROM (VALUES (1, %s), (2, %s), (3, %s), (4, %s), "
                     "(5, %s), (6, %s)) c(u, k), generate_series(1, k) n", _PER_USER)
        for _ in range(2):
            conn.execute(f"SET statement_timeout = '{timeout}'")
            with pytest.raises(errors.QueryCanceled):
                conn.execute(recursive.format(limit=100) + ", basic AS (SELECT count(user_id) FROM users_table) "
                             "SELECT x FROM basic, r")
            conn.execute("RESET statement_timeout")
            assert conn.execute(recursive.format(limit=4) + " SELECT count(x), sum(x) FROM r").fetchone() == \
                (1 + 7 + 7 * 18 + 7 * 18 * 17, 1 + 2 * 7 + 3 * 7 * 18 + 4 * 7 * 18 * 17)
            assert conn.execute("SELECT a.user_id, count(*), sum(b.value_2) FROM users_table a "
                                "JOIN users_table b USING (user_id) GROUP BY 1 ORDER BY 1").fetchall() == \
                [(u, k * k, k * k * (k + 1) // 2) for u, k in enumerate(_PER_USER, 1)]
        assert conn.execute("SELECT current_setting('search_path')").fetchone() == (s,)
