"""pg_stat_activity through a coordinator lists the cluster's client sessions, and
pg_terminate_backend / pg_cancel_backend signal them, as PostgreSQL does for its backends.

Before, pg_stat_activity was the catalog server's view: its backends serve every session
of the cluster, so `WHERE pid = pg_backend_pid()` found no row and the idiom test suites
and admin scripts run to end other sessions (`SELECT pg_terminate_backend(pid) FROM
pg_stat_activity WHERE pid <> pg_backend_pid()`) was refused (0A000: signalled, those
backends failed other sessions' statements). Each test fails on that code."""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _connect(cluster: Cluster, coordinator: int, app: str, user: str | None = None) -> psycopg.Connection[Any]:
    if user is None:
        return psycopg.connect(cluster.dsn(coordinator), autocommit=True, application_name=app)
    url = urllib.parse.urlsplit(cluster.dsn(coordinator))
    return psycopg.connect(host=url.hostname, port=url.port, user=user, password="pw", dbname="postgres",
                           autocommit=True, application_name=app)


def _app() -> str:
    return "sa_" + uuid.uuid4().hex[:10]


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_own_session_and_every_coordinators_sessions(gridpg_cluster: Cluster, prepare: bool) -> None:
    app = _app()
    with _connect(gridpg_cluster, 0, app) as a, _connect(gridpg_cluster, 1, app) as b:
        b.execute("BEGIN")
        b.execute("SELECT 1")
        own = a.execute("SELECT pid = pg_backend_pid(), application_name, state, backend_type, datname, "
                        "usename, client_addr IS NOT NULL, client_port > 0, datid IS NOT NULL, "
                        "usesysid IS NOT NULL, backend_start <= now() "
                        "FROM pg_stat_activity WHERE pid = pg_backend_pid()", prepare=prepare).fetchall()
        assert own == [(True, app, "active", "client backend", "postgres", "postgres", True, True, True, True,
                        True)]
        rows = a.execute("SELECT state, xact_start IS NOT NULL, wait_event, query FROM pg_catalog.pg_stat_activity "
                         "WHERE application_name = %s AND pid <> pg_backend_pid()", [app],
                         prepare=prepare).fetchall()
        assert rows == [("idle in transaction", True, "ClientRead", "SELECT 1")]
        pids = a.execute("SELECT count(*), count(DISTINCT pid) FROM pg_stat_activity").fetchone()
        assert pids is not None and pids[0] == pids[1] >= 2  # unique over both coordinators
        b.execute("ROLLBACK")


def test_terminate_other_sessions_on_both_coordinators(gridpg_cluster: Cluster, schema: str) -> None:
    app, bystander = _app(), _app()
    with _connect(gridpg_cluster, 0, "admin") as admin, _connect(gridpg_cluster, 0, bystander) as other:
        admin.execute(f'CREATE TABLE "{schema}".t (id int PRIMARY KEY)')
        victims = [_connect(gridpg_cluster, i, app) for i in (0, 1)]
        try:
            victims[1].execute("BEGIN")
            victims[1].execute(f'INSERT INTO "{schema}".t VALUES (1)')
            other.execute("BEGIN")
            other.execute(f'INSERT INTO "{schema}".t VALUES (2)')
            cursor = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = %s AND pid <> pg_backend_pid()", [app])
            assert cursor.fetchall() == [(True,), (True,)]
            assert [c.name for c in cursor.description or []] == ["pg_terminate_backend"]  # PostgreSQL's name
            for victim in victims:
                with pytest.raises(psycopg.errors.AdminShutdown):
                    _until_gone(victim)
        finally:
            for victim in victims:
                victim.close()
        other.execute("COMMIT")  # the bystander's block goes on
        assert admin.execute(f'SELECT id FROM "{schema}".t ORDER BY id').fetchall() == [(2,)]  # 1 rolled back
        left = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app]).fetchone()
        assert left == (0,)


def _until_gone(conn: psycopg.Connection[Any]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        conn.execute("SELECT 1")
        time.sleep(0.05)


def test_cancel_a_running_statement_on_the_other_coordinator(gridpg_cluster: Cluster) -> None:
    app = _app()
    with _connect(gridpg_cluster, 0, "admin") as admin, _connect(gridpg_cluster, 1, app) as sleeper:
        outcome: list[BaseException] = []

        def sleep() -> None:
            try:
                sleeper.execute("SELECT pg_sleep(20)")
            except BaseException as exc:  # noqa: BLE001 - the outcome is the test's
                outcome.append(exc)

        thread = threading.Thread(target=sleep)
        started = time.monotonic()
        thread.start()
        sent = []
        while time.monotonic() - started < 10 and not sent:
            sent = admin.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = %s AND state = 'active'", [app]).fetchall()
            time.sleep(0.05)
        thread.join(15)
        assert sent == [(True,)]
        assert len(outcome) == 1 and isinstance(outcome[0], psycopg.errors.QueryCanceled)
        assert time.monotonic() - started < 15
        assert sleeper.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_rights_and_answers_as_postgresql(gridpg_cluster: Cluster) -> None:
    role, peer = "sa_role_" + uuid.uuid4().hex[:6], "sa_peer_" + uuid.uuid4().hex[:6]
    with _connect(gridpg_cluster, 0, "admin") as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        admin.execute(f"CREATE ROLE {peer} LOGIN PASSWORD 'pw'")
        try:
            with _connect(gridpg_cluster, 1, "mine", user=role) as mine, \
                    _connect(gridpg_cluster, 0, "same", user=role) as same, \
                    _connect(gridpg_cluster, 0, "theirs", user=peer) as theirs:
                admin_pid = admin.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                peer_pid = theirs.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                with pytest.raises(psycopg.errors.InsufficientPrivilege) as superuser:
                    mine.execute(f"SELECT pg_terminate_backend({admin_pid})")
                assert superuser.value.diag.message_primary == "permission denied to terminate process"
                assert superuser.value.diag.message_detail == (
                    "Only roles with the SUPERUSER attribute may terminate processes of roles with the "
                    "SUPERUSER attribute.")
                with pytest.raises(psycopg.errors.InsufficientPrivilege) as other_role:
                    mine.execute(f"SELECT pg_cancel_backend({peer_pid})")
                assert other_role.value.diag.message_detail == (
                    "Only roles with privileges of the role whose query is being canceled or with privileges "
                    'of the "pg_signal_backend" role may cancel this query.')
                # another role's session: its query hidden, as PostgreSQL hides it
                seen = mine.execute(f"SELECT query, state, client_addr FROM pg_stat_activity WHERE pid = {peer_pid}"
                                    ).fetchall()
                assert seen == [("<insufficient privilege>", None, None)]
                warnings: list[str] = []
                mine.add_notice_handler(lambda d: warnings.append(f"{d.severity}: {d.message_primary}"))
                assert mine.execute("SELECT pg_terminate_backend(7)").fetchall() == [(False,)]
                assert warnings == ["WARNING: PID 7 is not a PostgreSQL backend process"]
                with pytest.raises(psycopg.errors.NumericValueOutOfRange):
                    mine.execute("SELECT pg_terminate_backend(pg_backend_pid(), -1)")
                assert mine.execute("SELECT pg_cancel_backend(NULL)").fetchall() == [(None,)]
                # its own role's session on the other coordinator: allowed
                same_pid = same.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                assert mine.execute(f"SELECT pg_terminate_backend(pid => {same_pid})").fetchall() == [(True,)]
                with pytest.raises(psycopg.errors.AdminShutdown):
                    _until_gone(same)
                with pytest.raises(psycopg.errors.QueryCanceled):
                    mine.execute("SELECT pg_cancel_backend(pg_backend_pid())")
                assert mine.execute("SELECT 1").fetchone() == (1,)
                with pytest.raises(psycopg.errors.AdminShutdown):
                    mine.execute("SELECT pg_catalog.pg_terminate_backend(pg_backend_pid())")
                assert mine.closed or mine.broken
        finally:
            admin.execute(f"DROP ROLE IF EXISTS {role}")
            admin.execute(f"DROP ROLE IF EXISTS {peer}")


def test_advisory_locks_in_pg_locks_with_the_sessions_pids(gridpg_cluster: Cluster) -> None:
    """Job queues (que, good_job) find running jobs by the advisory locks pg_locks lists:
    the locks live on the lock node (executor/advisory.py), and pg_locks through a
    coordinator listed the catalog server's, so none (a silent wrong answer)."""
    key = int(uuid.uuid4().int % 1_000_000_000)
    with _connect(gridpg_cluster, 0, "holder") as holder, _connect(gridpg_cluster, 1, "waiter") as waiter, \
            _connect(gridpg_cluster, 1, "watcher") as watcher:
        holder.execute("SELECT pg_advisory_lock(%s)", [key])
        thread = threading.Thread(target=lambda: waiter.execute("SELECT pg_advisory_lock(%s)", [key]))
        thread.start()
        query = ("SELECT a.application_name, l.mode, l.granted, l.database = d.oid FROM pg_catalog.pg_locks l "
                 "JOIN pg_stat_activity a ON a.pid = l.pid JOIN pg_database d ON d.datname = current_database() "
                 "WHERE l.locktype = 'advisory' AND l.objid = %s ORDER BY l.granted DESC")
        deadline = time.monotonic() + 10
        rows: list[Any] = []
        while time.monotonic() < deadline and len(rows) < 2:
            rows = watcher.execute(query, [key]).fetchall()
            time.sleep(0.05)
        assert rows == [("holder", "ExclusiveLock", True, True), ("waiter", "ExclusiveLock", False, True)]
        holder.execute("SELECT pg_advisory_unlock(%s)", [key])
        thread.join(10)
        assert watcher.execute(query, [key], prepare=True).fetchall() == [("waiter", "ExclusiveLock", True, True)]
        waiter.execute("SELECT pg_advisory_unlock_all()")
        with watcher.transaction():
            watcher.execute("SELECT pg_advisory_xact_lock(%s, 2)", [key])
            own = watcher.execute("SELECT classid, objid, objsubid FROM pg_locks WHERE locktype = 'advisory' "
                                  "AND pid = pg_backend_pid()").fetchall()
            assert own == [(key, 2, 2)]
        assert watcher.execute(query, [key]).fetchall() == []


def test_own_ddl_locks_in_pg_locks_under_the_sessions_pid(gridpg_cluster: Cluster, schema: str) -> None:
    """`WHERE pid = pg_backend_pid()` finds the locks the session's DDL holds in its block
    (PostgreSQL's alter_table.sql does): they are its catalog backend's, listed under that
    backend's pid, so none were found (a silent wrong answer)."""
    with _connect(gridpg_cluster, 0, "ddl") as conn:
        conn.execute(f'CREATE TABLE "{schema}".ren (a int)')
        with conn.transaction():
            conn.execute(f'ALTER TABLE "{schema}".ren RENAME TO ren_2')
            rows = conn.execute("SELECT relation::regclass::text, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                                "AND locktype = 'relation' AND relation::regclass::text LIKE '%ren_2'").fetchall()
            assert rows == [(f"{schema}.ren_2", "AccessExclusiveLock")]


def test_who_blocks_whom_across_coordinators(gridpg_cluster: Cluster, schema: str) -> None:
    """The lock-monitoring recipe (`pg_blocking_pids` over pg_stat_activity): a session
    waiting on a datanode for another's row lock shows the wait and its blocker's pid."""
    with _connect(gridpg_cluster, 0, "admin") as admin, _connect(gridpg_cluster, 0, "holder") as holder, \
            _connect(gridpg_cluster, 1, "waiter") as waiter:
        admin.execute(f'CREATE TABLE "{schema}".acct (id int PRIMARY KEY, v int)')
        admin.execute(f'INSERT INTO "{schema}".acct VALUES (1, 0), (2, 0)')
        holder.execute("BEGIN")
        holder.execute(f'UPDATE "{schema}".acct SET v = 1 WHERE id = 1')
        holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        thread = threading.Thread(target=lambda: waiter.execute(f'UPDATE "{schema}".acct SET v = 2 WHERE id = 1'))
        thread.start()
        query = ("SELECT application_name, wait_event_type, pg_blocking_pids(pid) FROM pg_stat_activity "
                 "WHERE cardinality(pg_blocking_pids(pid)) > 0 AND application_name IN ('holder', 'waiter')")
        deadline = time.monotonic() + 10
        rows: list[Any] = []
        while time.monotonic() < deadline and not rows:
            rows = admin.execute(query).fetchall()
            time.sleep(0.05)
        assert rows == [("waiter", "Lock", [holder_pid])]
        named = admin.execute("SELECT pg_blocking_pids(1), pg_catalog.pg_cancel_backend(1)")
        assert [c.name for c in named.description or []] == ["pg_blocking_pids", "pg_cancel_backend"]
        assert admin.execute(f"SELECT pg_blocking_pids(NULL), pg_blocking_pids({holder_pid})").fetchall() == \
            [(None, [])]
        holder.execute("COMMIT")
        thread.join(10)
        assert admin.execute(query).fetchall() == []
        assert admin.execute(f'SELECT v FROM "{schema}".acct WHERE id = 1').fetchone() == (2,)


def test_views_and_prepared_statements_over_them(gridpg_cluster: Cluster, schema: str) -> None:
    """A view keeps its text (the sessions were frozen into it: a silent wrong answer the
    first version of this change had); a PREPAREd statement reads the sessions at each
    EXECUTE; EXECUTE's arguments see the session's pg_backend_pid()."""
    app = _app()
    with _connect(gridpg_cluster, 0, app) as conn:
        conn.execute(f'CREATE VIEW "{schema}".sessions AS SELECT pid, state FROM pg_stat_activity')
        definition = conn.execute(f"SELECT pg_get_viewdef('\"{schema}\".sessions')").fetchone()[0]  # type: ignore[index]
        assert "VALUES" not in definition and "pg_stat_activity" in definition
        conn.execute("PREPARE mine AS SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
        assert conn.execute(f"EXECUTE mine('{app}')").fetchone() == (1,)
        conn.execute("PREPARE same(int) AS SELECT $1 = pg_backend_pid()")
        assert conn.execute("EXECUTE same(pg_backend_pid())").fetchone() == (True,)
        conn.execute("PREPARE cancel_it(int) AS SELECT pg_cancel_backend($1)")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("EXECUTE cancel_it(pg_backend_pid())")
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_the_last_query_of_a_routed_statement(gridpg_cluster: Cluster, schema: str, prepare: bool) -> None:
    """Routed statements answered from callbacks (the fast paths) are what a session
    shows as its query, not the statement before them."""
    app = _app()
    with _connect(gridpg_cluster, 0, app) as conn, _connect(gridpg_cluster, 1, "watcher") as watcher:
        conn.execute(f'CREATE TABLE "{schema}".kv (id int PRIMARY KEY, v int)')
        conn.execute(f'INSERT INTO "{schema}".kv SELECT g, g FROM generate_series(1, 50) g')
        for i in range(1, 6):
            conn.execute(f'SELECT v FROM "{schema}".kv WHERE id = %s', [i], prepare=prepare)
        row = watcher.execute("SELECT state, query FROM pg_stat_activity WHERE application_name = %s", [app]).fetchone()
        assert row == ("idle", f'SELECT v FROM "{schema}".kv WHERE id = $1')


def test_a_forged_notice_signals_nobody(gridpg_cluster: Cluster, schema: str) -> None:
    """The statement's text carries the token its signal notices are known by, so code the
    statement calls can read it (current_query()) and raise a notice naming any session:
    the coordinator checks the caller's rights again before it signals."""
    role = "sa_forger_" + uuid.uuid4().hex[:6]
    with _connect(gridpg_cluster, 0, "admin") as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        admin.execute(f'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO {role}')
        try:
            with _connect(gridpg_cluster, 1, "forger", user=role) as forger, \
                    _connect(gridpg_cluster, 0, "victim") as victim:
                victim_pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                own_pid = forger.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
                forger.execute(f'''CREATE FUNCTION "{schema}".forge(victim int) RETURNS int LANGUAGE plpgsql AS $$
                    BEGIN
                      RAISE NOTICE '%', substring(current_query() FROM 'gridpg-signal-[0-9a-f]+:')
                                        || 'terminate:' || victim;
                      RETURN 1;
                    END $$''')
                # a call of its own (a pid that is no session's: WARNING, false) carries the token
                assert own_pid != 7
                forger.execute(f'SELECT pg_cancel_backend(7 + 0 * "{schema}".forge({victim_pid}))')
                assert victim.execute("SELECT 1").fetchone() == (1,)  # the victim was not terminated
        finally:
            admin.execute(f'DROP FUNCTION IF EXISTS "{schema}".forge(int)')
            admin.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM {role}')
            admin.execute(f"DROP ROLE IF EXISTS {role}")
