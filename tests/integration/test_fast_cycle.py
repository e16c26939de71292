"""Routed statements run from callbacks (frontend/fast_cycle.py) answer as the task's path.

The coordinator counts who relayed each such statement's answer
(`gridpg_fast_cycles_total{relayed_by=...}`): these tests check that plain answers are
relayed by the callbacks (prepared cycles and simple Queries, a result larger than one
read), that everything else is handed to the session's task and answered as before (node
errors outside and inside a block, the block failed until ROLLBACK), and that a cancel
or a client gone mid-statement reaches the statement's node.
"""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.integration.test_metrics import scrape


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> psycopg.Connection:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("CREATE TABLE fc (id int PRIMARY KEY, bal int, note text) DISTRIBUTE BY HASH (id)")
        c.execute("INSERT INTO fc SELECT g, g * 10, 'n' || g FROM generate_series(1, 100) g")
        yield c


def _counted(cluster: Cluster, before: dict[str, float], label: str, at_least: int) -> float:
    """How many more statements `label` relayed since `before` (waits for the 1 s flush)."""
    name = f'gridpg_fast_cycles_total{{relayed_by="{label}"}}'
    deadline = time.monotonic() + 5
    while True:
        grown = scrape(cluster).get(name, 0.0) - before.get(name, 0.0)
        if grown >= at_least or time.monotonic() > deadline:
            return grown
        time.sleep(0.2)


def test_prepared_cycles_are_relayed_by_callbacks(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    query = "SELECT bal, note FROM fc WHERE id = %s"
    conn.execute(query, (1,), prepare=True)  # the plan and a connection set up for the session
    before = scrape(gridpg_cluster)
    for binary in (False, True):
        with conn.cursor(binary=binary) as cur:
            for key in range(1, 101, 3):
                assert cur.execute(query, (key,), prepare=True).fetchall() == [(key * 10, f"n{key}")]
    assert conn.execute(query, (1000,), prepare=True).fetchall() == []
    big = conn.execute("SELECT repeat(note, 40000) FROM fc WHERE id = %s", (7,), prepare=True).fetchall()
    assert big == [("n7" * 40000,)]  # 80 kB: more than one read from the node
    assert _counted(gridpg_cluster, before, "callback", 60) >= 60


def test_simple_queries_are_relayed_by_callbacks(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    raw = conn.pgconn
    raw.exec_(b"SELECT bal FROM fc WHERE id = 2")  # the literal-free form planned and prepared
    before = scrape(gridpg_cluster)
    for key in range(1, 101, 4):
        result = raw.exec_(f"SELECT bal, note FROM fc WHERE id = {key}".encode())
        assert result.status == psycopg.pq.ExecStatus.TUPLES_OK
        assert (result.get_value(0, 0), result.get_value(0, 1)) == (str(key * 10).encode(), f"n{key}".encode())
        assert result.fname(0) == b"bal"
    result = raw.exec_(b"UPDATE fc SET bal = bal + 1 WHERE id = 5")
    assert result.command_tuples == 1
    assert conn.execute("SELECT bal FROM fc WHERE id = 5").fetchone() == (51,)
    assert _counted(gridpg_cluster, before, "callback", 20) >= 20


def test_notification_held_while_a_statement_runs_alone(gridpg_cluster: Cluster, schema: str,
                                                       conn: psycopg.Connection) -> None:
    """A notification that arrives while a statement run alone from callbacks waits for
    its node (a row lock here) is written with that statement's answer, before its
    ReadyForQuery, as PostgreSQL sends it (FastCycle._synced_alone)."""
    update = "UPDATE fc SET bal = bal + 1 WHERE id = %s"
    for _ in range(3):  # the plan made, the node's statement parsed on the pooled connection
        conn.execute(update, (7,), prepare=True)
    conn.execute("LISTEN fc_note")
    # The lock held through the other coordinator: this one's pooled connection (the
    # statement parsed on it) stays idle for `conn`.
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as blocker, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as notifier:
        blocker.execute("BEGIN")
        blocker.execute(f'UPDATE "{schema}".fc SET bal = bal WHERE id = 7')

        def notify_then_commit() -> None:
            time.sleep(0.3)
            notifier.execute("NOTIFY fc_note, 'mid-statement'")
            time.sleep(0.5)
            blocker.execute("COMMIT")

        time.sleep(1.2)  # (the counts of the statements above flushed to the metrics)
        before = scrape(gridpg_cluster)
        # a statement of the general path: the once-a-second catalog check, if due, done
        # here (due during the UPDATE below, it would send that to the task)
        assert conn.execute("SELECT sum(bal) FROM fc").fetchone() == (50503,)
        thread = threading.Thread(target=notify_then_commit)
        thread.start()
        assert conn.execute(update, (7,), prepare=True).rowcount == 1  # waits for the COMMIT
        thread.join()
    # already in psycopg's backlog: it came before the statement's ReadyForQuery
    assert [n.payload for n in conn.notifies(timeout=0.0)] == ["mid-statement"]
    assert _counted(gridpg_cluster, before, "callback", 1) == 1  # (the UPDATE's answer)
    assert conn.execute("SELECT bal FROM fc WHERE id = 7").fetchone() == (74,)


def test_errors_go_to_the_task(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    divide = "SELECT bal / (id - %s) FROM fc WHERE id = %s"
    assert conn.execute(divide, (8, 9), prepare=True).fetchall() == [(90,)]
    before = scrape(gridpg_cluster)
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute(divide, (9, 9), prepare=True)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute(divide, (8, 9), prepare=True).fetchall() == [(90,)]
    raw = conn.pgconn
    raw.exec_(b"SELECT bal / (id - 3) FROM fc WHERE id = 4")
    result = raw.exec_(b"SELECT bal / (id - 4) FROM fc WHERE id = 4")
    assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"22012"
    assert raw.exec_(b"SELECT bal FROM fc WHERE id = 4").get_value(0, 0) == b"40"
    conn.execute("BEGIN")
    conn.execute("UPDATE fc SET bal = bal + %s WHERE id = %s", (1, 9), prepare=True)
    conn.execute("UPDATE fc SET bal = bal + %s WHERE id = %s", (1, 9), prepare=True)
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute(divide, (9, 9), prepare=True)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        conn.execute("SELECT bal FROM fc WHERE id = %s", (9,), prepare=True)
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT bal FROM fc WHERE id = %s", (9,), prepare=True).fetchall() == [(90,)]
    assert _counted(gridpg_cluster, before, "task", 2) >= 2


def test_block_statements_after_the_first_on_a_node(conn: psycopg.Connection) -> None:
    """In a block, a node's first statement joins it (the task); later ones may run from
    callbacks on the block's connection: a ROLLBACK undoes both."""
    update = "UPDATE fc SET bal = bal + %s WHERE id = %s"
    select = "SELECT bal FROM fc WHERE id = %s"
    conn.execute("BEGIN")
    for _ in range(5):
        conn.execute(update, (1, 11), prepare=True)
    assert conn.execute(select, (11,), prepare=True).fetchall() == [(115,)]
    conn.execute("ROLLBACK")
    assert conn.execute(select, (11,), prepare=True).fetchall() == [(110,)]
    with conn.transaction():
        for _ in range(3):
            conn.execute(update, (2, 12), prepare=True)
    assert conn.execute(select, (12,), prepare=True).fetchall() == [(126,)]


def test_a_blocks_first_statement_on_a_node(gridpg_cluster: Cluster, datanodes: dict[str, str],
                                           conn: psycopg.Connection) -> None:
    """A block's first statement on a node runs from callbacks too (the remote block opened
    pipelined, its answer swallowed there): two nodes written in one block commit with
    2PC, a rolled-back block leaves nothing, no transaction is left prepared."""
    update = "UPDATE fc SET bal = bal + %s WHERE id = %s"
    keys = (31, 32, 33, 34, 35, 36)  # both nodes among them (12 shards over 2 groups)
    for key in keys:
        conn.execute(update, (0, key), prepare=True)  # planned; connections set up
    time.sleep(1.5)  # the counts of those flushed (once a second)
    before = scrape(gridpg_cluster)
    conn.execute("BEGIN")
    conn.execute(update, (5, 31), prepare=True)
    conn.execute("ROLLBACK")
    assert _counted(gridpg_cluster, before, "callback", 1) >= 1
    for _ in range(3):
        with conn.transaction():
            for key in keys:
                conn.execute(update, (1, key), prepare=True)
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        for key in keys:
            conn.execute(update, (100, key), prepare=True)
        conn.execute("SELECT 1 / 0 FROM fc WHERE id = %s", (31,), prepare=True)
    rows = conn.execute("SELECT id, bal FROM fc WHERE id BETWEEN 31 AND 36 ORDER BY id").fetchall()
    assert rows == [(key, key * 10 + 3) for key in keys]
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as node:
            assert node.execute("SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'gridpg\\_%'").fetchone() == (0,)


def test_remote_block_opening_answer_is_what_a_datanode_sends(datanodes: dict[str, str]) -> None:
    """The answer built with a remote block's usual opening (one per transaction: BEGIN,
    the GXID's label, the block's instant), which a relay swallows with one comparison, is
    byte for byte a datanode's answer to it; without an instant too."""
    from gridpg.datanode.connection import BackendConnection, NodeAddress
    from gridpg.txn.transaction import _build_opening

    info = psycopg.conninfo.conninfo_to_dict(next(iter(datanodes.values())))

    async def answer(key: tuple[int, str, str | None]) -> tuple[bytes, bytes]:
        address = NodeAddress("dn", str(info["host"]), int(info["port"]), str(info["user"]),
                              str(info.get("password") or ""), str(info.get("dbname") or "postgres"))
        node = await BackendConnection.connect(address)
        got = bytearray()
        done = asyncio.Event()

        class Relay:
            def on_data(self, data: bytes) -> None:
                got.extend(data)
                if got.endswith((b"Z\0\0\0\5T", b"Z\0\0\0\5I")):
                    done.set()

            def on_lost(self) -> None:
                done.set()

        _, query, expected = _build_opening(key, "coord9")
        node.start_relay(Relay())  # type: ignore[arg-type]
        node.send(query, 1)
        await asyncio.wait_for(done.wait(), 10)
        node.close()
        return bytes(got), expected

    for key in ((12345, "BEGIN", "2026-01-02 03:04:05.678901+00"), (77, "BEGIN ISOLATION LEVEL REPEATABLE READ", None)):
        got, expected = asyncio.run(answer(key))
        assert got == expected


def test_prepared_begin(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    """pgbench -M prepared prepares BEGIN too: answered from callbacks, it opens the block
    as the task's path does (the client sees 'T'; a ROLLBACK undoes what followed); inside
    a block it warns as PostgreSQL does (the task's path)."""
    raw = conn.pgconn
    raw.prepare(b"begin_fc", b"BEGIN")
    raw.prepare(b"upd_fc", b"UPDATE fc SET bal = bal + 1 WHERE id = $1")
    for _ in range(2):  # the first described and run by the task; then callbacks
        result = raw.exec_prepared(b"begin_fc", [])
        assert result.command_status == b"BEGIN"
        assert raw.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        raw.exec_prepared(b"upd_fc", [b"21"])
        raw.exec_prepared(b"upd_fc", [b"21"])
        assert raw.exec_(b"ROLLBACK").command_status == b"ROLLBACK"
    time.sleep(1.5)  # the counts of those flushed (once a second)
    before = scrape(gridpg_cluster)
    for _ in range(3):  # (a BEGIN with the catalog check due goes to the task, which makes it)
        raw.exec_(b"SELECT 1")  # the catalog check made, if due
        assert raw.exec_prepared(b"begin_fc", []).command_status == b"BEGIN"
        assert raw.exec_(b"ROLLBACK").command_status == b"ROLLBACK"
    assert _counted(gridpg_cluster, before, "callback", 1) >= 1  # the BEGIN
    assert raw.exec_prepared(b"begin_fc", []).command_status == b"BEGIN"
    again = raw.exec_prepared(b"begin_fc", [])  # inside the block: PostgreSQL's warning
    assert again.command_status == b"BEGIN"
    raw.exec_prepared(b"upd_fc", [b"21"])
    assert raw.exec_(b"COMMIT").command_status == b"COMMIT"
    assert conn.execute("SELECT bal FROM fc WHERE id = 21").fetchone() == (211,)
    assert _counted(gridpg_cluster, before, "callback", 1) >= 1


def test_prepared_transaction_control_left_to_the_task(conn: psycopg.Connection) -> None:
    """Prepared transaction control other than BEGIN and COMMIT/END (SAVEPOINT, ROLLBACK
    TO, RELEASE, ROLLBACK), recognised once per statement and never planned as a routed
    cycle, is the task's and answers as PostgreSQL does; a routed statement between them
    still runs."""
    raw = conn.pgconn
    for name, sql in ((b"b_tc", b"BEGIN"), (b"sp_tc", b"SAVEPOINT s1"), (b"rbsp_tc", b"ROLLBACK TO SAVEPOINT s1"),
                      (b"rel_tc", b"RELEASE SAVEPOINT s1"), (b"rb_tc", b"ROLLBACK"), (b"c_tc", b"COMMIT"),
                      (b"u_tc", b"UPDATE fc SET bal = bal + 1 WHERE id = $1")):
        raw.prepare(name, sql)
        raw.describe_prepared(name)
    for _ in range(3):  # the first round reads the statements; then they are known
        assert raw.exec_prepared(b"b_tc", []).command_status == b"BEGIN"
        assert raw.exec_prepared(b"u_tc", [b"51"]).command_status == b"UPDATE 1"
        assert raw.exec_prepared(b"sp_tc", []).command_status == b"SAVEPOINT"
        assert raw.exec_prepared(b"u_tc", [b"51"]).command_status == b"UPDATE 1"
        assert raw.exec_prepared(b"rbsp_tc", []).command_status == b"ROLLBACK"
        assert raw.exec_prepared(b"rel_tc", []).command_status == b"RELEASE"
        assert raw.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert raw.exec_prepared(b"c_tc", []).command_status == b"COMMIT"
        assert raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT bal FROM fc WHERE id = 51").fetchone() == (513,)
    assert raw.exec_prepared(b"b_tc", []).command_status == b"BEGIN"
    assert raw.exec_prepared(b"u_tc", [b"51"]).command_status == b"UPDATE 1"
    assert raw.exec_prepared(b"rb_tc", []).command_status == b"ROLLBACK"
    assert raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT bal FROM fc WHERE id = 51").fetchone() == (513,)


def test_prepared_commit_of_a_one_node_block(gridpg_cluster: Cluster, datanodes: dict[str, str],
                                             conn: psycopg.Connection) -> None:
    """pgbench -M prepared's END: a block that wrote one node commits from callbacks (one
    COMMIT round trip, the node's answer relayed); the rows are committed on the node, the
    client sees 'I'. A COMMIT the node refuses (a deferred key) is the task's: the error,
    the block gone, nothing of it left, the session usable; two nodes written: 2PC (task)."""
    raw = conn.pgconn
    conn.execute("CREATE TABLE dk (id int, v int, PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED) "
                 "DISTRIBUTE BY HASH (id)")
    for name, sql in ((b"b_pc", b"BEGIN"), (b"c_pc", b"COMMIT"), (b"e_pc", b"END"),
                      (b"u_pc", b"UPDATE fc SET bal = bal + 1 WHERE id = $1"),
                      (b"i_pc", b"INSERT INTO dk VALUES ($1, $2)")):
        raw.prepare(name, sql)
        raw.describe_prepared(name)  # as pgbench: the statement described once

    def block(keys: list[bytes], end: bytes = b"c_pc") -> object:
        raw.exec_prepared(b"b_pc", [])
        for key in keys:
            assert raw.exec_prepared(b"u_pc", [key]).command_status == b"UPDATE 1"
        return raw.exec_prepared(end, [])

    block([b"41"])  # connections and plans made
    time.sleep(1.5)
    before = scrape(gridpg_cluster)
    for end in (b"c_pc", b"e_pc") * 4:
        result = block([b"41", b"41"], end)
        assert result.command_status == b"COMMIT" and raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # BEGIN, two UPDATEs and the COMMIT of 8 blocks: 32 statements from callbacks (a BEGIN
    # with the catalog check due is the task's); without the COMMITs at most 24
    assert _counted(gridpg_cluster, before, "callback", 32) >= 28
    assert conn.execute("SELECT bal FROM fc WHERE id = 41").fetchone() == (410 + 1 + 16,)
    stored = []
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as node:
            stored += node.execute(f"SELECT bal FROM {conn.execute('SELECT current_schema()').fetchone()[0]}.fc "
                                   "WHERE id = 41").fetchall()
    assert stored == [(427,)]
    raw.exec_prepared(b"b_pc", [])
    raw.exec_prepared(b"i_pc", [b"7", b"1"])
    raw.exec_prepared(b"i_pc", [b"7", b"2"])  # a duplicate key, checked at COMMIT
    failed = raw.exec_prepared(b"c_pc", [])
    assert failed.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"23505"
    assert raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM dk").fetchone() == (0,)
    result = block([b"41", b"42", b"43", b"44"])  # both nodes written: 2PC, the task's path
    assert result.command_status == b"COMMIT"
    rows = conn.execute("SELECT id, bal FROM fc WHERE id BETWEEN 41 AND 44 ORDER BY id").fetchall()
    assert rows == [(41, 428), (42, 421), (43, 431), (44, 441)]


def test_prepared_commit_of_a_two_node_block(gridpg_cluster: Cluster, datanodes: dict[str, str],
                                             conn: psycopg.Connection) -> None:
    """pgbench TPC-B's END: a block that wrote two nodes writes its PREPARE round from the
    callback and hands the rest (the decision, COMMIT PREPARED) to the task; committed on
    both nodes, nothing left prepared, the client sees 'I'. A PREPARE one node refuses (a
    deferred key) rolls the whole block back: the error, nothing of it left anywhere."""
    raw = conn.pgconn
    conn.execute("CREATE TABLE dk2 (id int, v int, PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED) "
                 "DISTRIBUTE BY HASH (id)")
    for name, sql in ((b"b_2p", b"BEGIN"), (b"c_2p", b"COMMIT"),
                      (b"u_2p", b"UPDATE fc SET bal = bal + 1 WHERE id = $1"),
                      (b"i_2p", b"INSERT INTO dk2 VALUES ($1, $2)")):
        raw.prepare(name, sql)
        raw.describe_prepared(name)

    def block(keys: list[bytes]) -> psycopg.pq.PGresult:
        raw.exec_prepared(b"b_2p", [])
        for key in keys:
            assert raw.exec_prepared(b"u_2p", [key]).command_status == b"UPDATE 1"
        return raw.exec_prepared(b"c_2p", [])

    keys = [b"41", b"42", b"43", b"44"]  # on both datanodes
    block(keys)  # connections and plans made
    time.sleep(1.5)
    before = scrape(gridpg_cluster)
    for _ in range(4):
        result = block(keys)
        assert result.command_status == b"COMMIT" and raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert _counted(gridpg_cluster, before, "task", 4) >= 4  # each COMMIT's rest, in the task
    two_phase = 'gridpg_commits_total{outcome="two-phase"}'
    assert scrape(gridpg_cluster).get(two_phase, 0.0) - before.get(two_phase, 0.0) >= 4
    rows = conn.execute("SELECT id, bal FROM fc WHERE id BETWEEN 41 AND 44 ORDER BY id").fetchall()
    assert rows == [(41, 415), (42, 425), (43, 435), (44, 445)]
    raw.exec_prepared(b"b_2p", [])
    for key in keys:
        raw.exec_prepared(b"u_2p", [key])
    raw.exec_prepared(b"i_2p", [b"7", b"1"])
    raw.exec_prepared(b"i_2p", [b"7", b"2"])  # a duplicate key, checked at PREPARE
    failed = raw.exec_prepared(b"c_2p", [])
    assert failed.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"23505"
    assert raw.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM dk2").fetchone() == (0,)
    rows = conn.execute("SELECT id, bal FROM fc WHERE id BETWEEN 41 AND 44 ORDER BY id").fetchall()
    assert rows == [(41, 415), (42, 425), (43, 435), (44, 445)]
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as node:
            assert node.execute("SELECT gid FROM pg_prepared_xacts").fetchall() == []
    assert block(keys).command_status == b"COMMIT"  # the session goes on


def test_prepared_commit_of_a_block_that_notifies(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    """A prepared COMMIT of a one-node block that ran NOTIFY (and one that ran LISTEN) is
    the task's: the notification goes after the commit, the LISTEN takes effect."""
    raw = conn.pgconn
    raw.prepare(b"b_nf", b"BEGIN")
    raw.prepare(b"c_nf", b"COMMIT")
    raw.prepare(b"u_nf", b"UPDATE fc SET bal = bal + 1 WHERE id = $1")
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as listener:
        listener.execute("LISTEN fc_done")
        for payload in (b"one", b"two"):
            raw.exec_prepared(b"b_nf", [])
            raw.exec_prepared(b"u_nf", [b"51"])
            assert raw.exec_(b"NOTIFY fc_done, '" + payload + b"'").command_status == b"NOTIFY"
            assert raw.exec_prepared(b"c_nf", []).command_status == b"COMMIT"
        heard = [n.payload for n in listener.notifies(timeout=5, stop_after=2)]
    assert heard == ["one", "two"]
    raw.exec_prepared(b"b_nf", [])
    raw.exec_prepared(b"u_nf", [b"51"])
    raw.exec_(b"LISTEN fc_self")
    assert raw.exec_prepared(b"c_nf", []).command_status == b"COMMIT"
    assert conn.execute("SELECT pg_listening_channels()").fetchall() == [("fc_self",)]
    assert conn.execute("SELECT bal FROM fc WHERE id = 51").fetchone() == (513,)


def test_cancel_reaches_a_statement_run_from_callbacks(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    sleep = "SELECT pg_sleep(%s), bal FROM fc WHERE id = %s"
    conn.execute(sleep, (0, 3), prepare=True)
    conn.execute(sleep, (0, 3), prepare=True)  # the connection now set up: callbacks from here
    timer = threading.Timer(0.5, conn.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute(sleep, (20, 3), prepare=True)
    timer.join()
    assert time.monotonic() - started < 10
    assert conn.execute("SELECT bal FROM fc WHERE id = %s", (3,), prepare=True).fetchall() == [(30,)]


def test_client_gone_mid_statement(gridpg_cluster: Cluster, schema: str, conn: psycopg.Connection) -> None:
    """A client that leaves while its statement runs on a node: the coordinator reads the
    node's answer to the end before the connection goes back to the pool; other sessions
    get right answers."""
    for _ in range(3):
        other = psycopg.connect(gridpg_cluster.dsn(0), autocommit=True)
        other.execute(f'SET search_path = "{schema}"')
        raw = other.pgconn
        raw.prepare(b"gone", b"SELECT pg_sleep($2), bal FROM fc WHERE id = $1")
        assert raw.exec_prepared(b"gone", [b"4", b"0"]).get_value(0, 1) == b"40"
        assert raw.exec_prepared(b"gone", [b"4", b"0"]).get_value(0, 1) == b"40"
        raw.send_query_prepared(b"gone", [b"4", b"0.5"])
        raw.flush()
        time.sleep(0.1)
        raw.finish()  # the client closes its socket while the node sleeps
    time.sleep(0.8)
    for key in range(1, 30):
        assert conn.execute("SELECT bal FROM fc WHERE id = %s", (key,), prepare=True).fetchall() == [(key * 10,)]
