"""LISTEN / NOTIFY / UNLISTEN / pg_notify() across the cluster's coordinators.

Listeners on coordinator 1, notifiers on coordinator 2 (and the same session), through
psycopg's conn.notifies() and asyncpg's add_listener: delivered after commit, in order,
duplicates folded, nothing from a rolled-back transaction or savepoint, LISTEN in a
block only at commit, UNLISTEN *, DISCARD ALL, pg_listening_channels(), a listener that
disconnects, and PostgreSQL's errors.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _drain(conn: psycopg.Connection, wait: float = 1.5) -> list[tuple[str, str, int]]:
    """Every notification that arrives within `wait` seconds (channel, payload, pid)."""
    return [(n.channel, n.payload, n.pid) for n in conn.notifies(timeout=wait)]


@pytest.fixture
def two(gridpg_cluster: Cluster):
    listener = psycopg.connect(gridpg_cluster.dsn(0), autocommit=True)
    notifier = psycopg.connect(gridpg_cluster.dsn(1), autocommit=True)
    yield listener, notifier
    listener.close()
    notifier.close()


def test_notify_on_another_coordinator_reaches_the_listener(two) -> None:
    listener, notifier = two
    listener.execute("LISTEN jobs")
    notifier.execute("NOTIFY jobs, 'it''s ☃ \"quoted\" \\ back'")
    notifier.execute("SELECT pg_notify('jobs', %s)", ["from pg_notify"])
    got = _drain(listener)
    assert [(c, p) for c, p, _ in got] == [("jobs", "it's ☃ \"quoted\" \\ back"), ("jobs", "from pg_notify")]
    # The sender's pid; pids are per coordinator, so when the notifier's equals the
    # listener's own (the first session of each), bit 30 is flipped: never the listener's.
    expected = notifier.info.backend_pid
    if expected == listener.info.backend_pid:
        expected ^= 0x40000000
    assert {pid for _, _, pid in got} == {expected}


def test_committed_block_delivers_in_order_once_after_commit(two) -> None:
    listener, notifier = two
    listener.execute("LISTEN q1")
    notifier.execute("BEGIN")
    notifier.execute("NOTIFY q1, 'a'")
    notifier.execute("NOTIFY q1, 'b'")
    notifier.execute("NOTIFY q1, 'a'")  # folded: same channel and payload
    notifier.execute("SELECT pg_notify('q1', 'c')")
    assert _drain(listener, 0.7) == []  # nothing before the commit
    notifier.execute("COMMIT")
    assert [p for _, p, _ in _drain(listener)] == ["a", "b", "c"]


def test_rolled_back_block_and_savepoint_send_nothing(two) -> None:
    listener, notifier = two
    listener.execute("LISTEN q2")
    notifier.execute("BEGIN")
    notifier.execute("NOTIFY q2, 'lost'")
    notifier.execute("ROLLBACK")
    notifier.execute("BEGIN")
    notifier.execute("NOTIFY q2, 'kept'")
    notifier.execute("SAVEPOINT s")
    notifier.execute("NOTIFY q2, 'undone'")
    notifier.execute("ROLLBACK TO SAVEPOINT s")
    notifier.execute("NOTIFY q2, 'after'")
    notifier.execute("COMMIT")
    with pytest.raises(psycopg.errors.DivisionByZero):
        notifier.execute("NOTIFY q2, 'failed statement'; SELECT 1/0")
    assert [p for _, p, _ in _drain(listener)] == ["kept", "after"]


def test_listen_in_a_block_takes_effect_at_commit(two) -> None:
    listener, notifier = two
    listener.execute("BEGIN")
    listener.execute("LISTEN q3")
    assert listener.execute("SELECT pg_listening_channels()").fetchall() == []
    listener.execute("ROLLBACK")
    notifier.execute("NOTIFY q3, 'nobody'")
    assert _drain(listener, 0.7) == []
    listener.execute("BEGIN")
    listener.execute("LISTEN q3")
    listener.execute("COMMIT")
    assert listener.execute("SELECT * FROM pg_listening_channels()").fetchall() == [("q3",)]
    notifier.execute("NOTIFY q3, 'now'")
    assert [p for _, p, _ in _drain(listener)] == ["now"]


def test_held_inside_a_block_and_sent_before_ready_for_query(two) -> None:
    listener, notifier = two
    listener.execute("LISTEN q4")
    listener.execute("BEGIN")
    notifier.execute("NOTIFY q4, 'while busy'")
    time.sleep(0.5)
    listener.execute("SELECT 1")
    assert _drain(listener, 0.3) == []  # held until the block ends
    listener.execute("COMMIT")  # then sent before its ReadyForQuery: in psycopg's backlog already
    assert [p for _, p, _ in _drain(listener, 0.0)] == ["while busy"]


def test_self_notification_carries_own_pid(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("LISTEN me")
        conn.execute("NOTIFY me, 'hello'")
        # before the NOTIFY's ReadyForQuery, as in PostgreSQL: in psycopg's backlog already
        assert _drain(conn, 0.0) == [("me", "hello", conn.info.backend_pid)]
        conn.execute("BEGIN")
        conn.execute("SELECT pg_notify('me', 'con' || 'cat'), pg_notify('me', $$dollar$$)")
        conn.execute("COMMIT")
        assert _drain(conn, 0.0) == [("me", "concat", conn.info.backend_pid),
                                     ("me", "dollar", conn.info.backend_pid)]
        conn.execute("SELECT pg_notify('me', upper('outside a block'))")
        assert _drain(conn, 0.0) == [("me", "OUTSIDE A BLOCK", conn.info.backend_pid)]


def test_unlisten_star_discard_all_and_errors(two) -> None:
    listener, notifier = two
    listener.execute("LISTEN a1")
    listener.execute('LISTEN "Odd Name"')
    channels = [r[0] for r in listener.execute("SELECT pg_listening_channels() AS c ORDER BY 1").fetchall()]
    assert channels == ["Odd Name", "a1"]
    listener.execute("UNLISTEN a1")
    notifier.execute("NOTIFY a1, 'x'")
    notifier.execute("NOTIFY \"Odd Name\", 'y'")
    assert [(c, p) for c, p, _ in _drain(listener)] == [("Odd Name", "y")]
    listener.execute("UNLISTEN *")
    assert listener.execute("SELECT pg_listening_channels()").fetchall() == []
    listener.execute("LISTEN a2")
    listener.execute("DISCARD ALL")
    notifier.execute("NOTIFY a2, 'z'")
    assert _drain(listener, 0.7) == []
    for sql, message in [("SELECT pg_notify('', 'x')", "channel name cannot be empty"),
                         ("SELECT pg_notify(NULL, 'x')", "channel name cannot be empty"),
                         ("SELECT pg_notify('" + "c" * 64 + "', 'x')", "channel name too long"),
                         ("NOTIFY c, '" + "x" * 8000 + "'", "payload string too long")]:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
            notifier.execute(sql)
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="pg_notify"):
        notifier.execute("SELECT pg_notify('c', relname) FROM pg_class LIMIT 1")
    notifier.execute("BEGIN")
    notifier.execute("NOTIFY c")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="cannot PREPARE a transaction"):
        notifier.execute("PREPARE TRANSACTION 'n1'")
    assert notifier.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_two_sessions_one_channel_and_a_listener_that_leaves(gridpg_cluster: Cluster) -> None:
    first = psycopg.connect(gridpg_cluster.dsn(0), autocommit=True)
    second = psycopg.connect(gridpg_cluster.dsn(0), autocommit=True)
    third = psycopg.connect(gridpg_cluster.dsn(1), autocommit=True)
    try:
        for conn in (first, second, third):
            conn.execute("LISTEN shared")
        first.close()  # leaves while listening: the others still get theirs
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as notifier:
            notifier.execute("NOTIFY shared, 'both'")
        for conn in (second, third):
            assert [p for _, p, _ in _drain(conn, 1.0)] == ["both"]
    finally:
        for conn in (first, second, third):
            conn.close()


def test_asyncpg_add_listener(gridpg_cluster: Cluster) -> None:
    asyncpg = pytest.importorskip("asyncpg")

    async def main() -> list[tuple[int, str, str]]:
        got: list[tuple[int, str, str]] = []
        arrived = asyncio.Event()
        listener = await asyncpg.connect(gridpg_cluster.dsn(0))
        notifier = await asyncpg.connect(gridpg_cluster.dsn(1))
        try:
            def on(_conn: object, pid: int, channel: str, payload: str) -> None:
                got.append((pid, channel, payload))
                if len(got) == 2:
                    arrived.set()

            await listener.add_listener("evt", on)
            async with notifier.transaction():
                await notifier.execute("SELECT pg_notify($1, $2)", "evt", "one")
            try:
                async with notifier.transaction():
                    await notifier.execute("NOTIFY evt, 'rolled back'")
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            await notifier.execute("NOTIFY evt, 'two'")
            await asyncio.wait_for(arrived.wait(), 5)
            await listener.remove_listener("evt", on)
            assert await listener.fetch("SELECT pg_listening_channels()") == []
            return got
        finally:
            await listener.close()
            await notifier.close()

    got = asyncio.run(main())
    assert [(c, p) for _, c, p in got] == [("evt", "one"), ("evt", "two")]


def test_hub_connections_lost_are_made_again(gridpg_cluster: Cluster, datanodes: dict[str, str]) -> None:
    """The hub (the first datanode group's primary) drops the workers' listener and sender
    connections: listeners LISTEN again on a new one, a NOTIFY is sent on a new one."""
    hub = datanodes[min(datanodes)]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as listener, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as notifier:
        warnings: list[str] = []
        listener.add_notice_handler(lambda d: warnings.append(f"{d.severity}: {d.message_primary}"))
        listener.execute("LISTEN survive")
        notifier.execute("NOTIFY survive, 'before'")
        assert [p for _, p, _ in _drain(listener, 1.0)] == ["before"]
        with psycopg.connect(hub, autocommit=True) as direct:
            killed = direct.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND (query ~ '^(UN)?LISTEN' OR query = '' OR query LIKE 'SELECT pg_catalog.pg_notify%')").fetchone()
            assert killed is not None and killed[0] >= 2
        deadline = time.monotonic() + 10
        got: list[str] = []
        while time.monotonic() < deadline and "after" not in got:
            notifier.execute("NOTIFY survive, 'after'")  # (one sent before the LISTEN again is lost)
            got += [p for _, p, _ in _drain(listener, 0.5)]
        assert "after" in got
        # told that notifications may have been lost meanwhile (as a lost connection tells
        # a PostgreSQL client), once per listener connection made again
        assert warnings and all(w.startswith("WARNING: notifications may have been lost") for w in warnings)


def test_server_side_code_notifications_are_relayed(gridpg_cluster: Cluster, schema: str) -> None:
    """pg_notify() in a trigger on a distributed table (graphile-worker's and que's way)
    and in a function the catalog server runs: delivered when the server that ran it
    commits alone; in a transaction over several servers, PostgreSQL's own PREPARE refuses
    it (0A000), so it is never lost silently."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as listener, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as writer:
        writer.execute(f"SET search_path = {schema}")
        writer.execute("CREATE TABLE jobs (id int PRIMARY KEY, task text)")
        writer.execute("""CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('jobs:insert', NEW.task); RETURN NEW; END $$""")
        writer.execute("CREATE TRIGGER jobs_ins AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_notify()")
        writer.execute("CREATE FUNCTION ping(t text) RETURNS void LANGUAGE sql AS $$ SELECT pg_notify('fn', t) $$")
        listener.execute('LISTEN "jobs:insert"')
        listener.execute("LISTEN fn")
        writer.execute("INSERT INTO jobs VALUES (1, 'send mail')")
        writer.execute("SELECT ping('from a function')")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="cannot PREPARE"):
            writer.execute("INSERT INTO jobs VALUES (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five')")
        got = sorted((c, p) for c, p, _ in _drain(listener, 1.5))
        assert got == [("fn", "from a function"), ("jobs:insert", "send mail")]
        assert writer.execute("SELECT count(*) FROM jobs").fetchone() == (1,)


def test_an_extended_protocol_pipeline_is_one_implicit_transaction(two) -> None:
    """Statements sent before one Sync outside a block commit together at the Sync, as in
    PostgreSQL: a failing one takes the pipeline's NOTIFY and LISTEN with it."""
    listener, notifier = two
    listener.execute("LISTEN pipe")
    with pytest.raises(psycopg.errors.DivisionByZero), notifier.pipeline():
        notifier.execute("NOTIFY pipe, 'lost'")
        notifier.execute("LISTEN pipe_too")
        notifier.execute("SELECT 1/0")
    assert notifier.execute("SELECT pg_listening_channels()").fetchall() == []
    with notifier.pipeline():
        notifier.execute("NOTIFY pipe, 'one'")
        notifier.execute("SELECT pg_notify('pipe', 'two')")
        notifier.execute("SELECT 1")
    assert [p for _, p, _ in _drain(listener)] == ["one", "two"]


def test_a_job_queue_function_whose_insert_trigger_notifies(gridpg_cluster: Cluster, schema: str) -> None:
    """graphile-worker's shape: `SELECT add_job(...)`, a PL/pgSQL function inserting into a
    distributed table whose trigger NOTIFYs; the function runs through the loopback."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as listener, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as app:
        app.execute(f"SET search_path = {schema}")
        app.execute("CREATE TABLE queue (id bigserial PRIMARY KEY, task text)")
        app.execute("""CREATE FUNCTION queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('jobs:insert', NEW.task); RETURN NEW; END $$""")
        app.execute("CREATE TRIGGER queue_ins AFTER INSERT ON queue FOR EACH ROW EXECUTE FUNCTION queue_notify()")
        app.execute("""CREATE FUNCTION add_job(t text) RETURNS bigint LANGUAGE plpgsql AS $$
            DECLARE new_id bigint;
            BEGIN INSERT INTO queue (task) VALUES (t) RETURNING id INTO new_id; RETURN new_id; END $$""")
        listener.execute('LISTEN "jobs:insert"')
        app.execute("SELECT add_job('resize image')")
        assert [p for _, p, _ in _drain(listener, 1.5)] == ["resize image"]


def test_gridpgs_own_channel_does_not_meet_a_users(two, schema: str) -> None:
    """Coordinators NOTIFY `gridpg_catalog` on the catalog servers after DDL; a user channel
    of that name lives on the hub: it hears users' NOTIFYs, not gridpg's."""
    listener, notifier = two
    listener.execute("LISTEN gridpg_catalog")
    notifier.execute(f"CREATE TABLE {schema}.ddl_noise (id int)")  # reloads everywhere
    assert _drain(listener, 0.7) == []
    notifier.execute("NOTIFY gridpg_catalog, 'a user''s'")
    assert [p for _, p, _ in _drain(listener)] == ["a user's"]
