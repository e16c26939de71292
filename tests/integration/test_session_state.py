"""Session state (SET ROLE, SET SESSION AUTHORIZATION, SET/RESET, DISCARD) by PostgreSQL's
rules, and nothing of it passing to the next client through pooled backend connections.

A cluster of its own with one coordinator worker and two backend connections per node, so
that every session reuses the connections the one before it used. The same scripts run on
plain PostgreSQL (`plain_pg`): results must agree statement by statement.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from tests.conftest import server_dir

PASSWORD = "pw_" + secrets.token_hex(4)
ROLES = ("ss_app", "ss_other")


@pytest.fixture(scope="module")
def small_pool() -> Iterator[Cluster]:
    saved = {k: os.environ.get(k) for k in ("GRIDPG_POOL_SIZE", "GRIDPG_COORDINATOR_WORKERS")}
    os.environ["GRIDPG_POOL_SIZE"] = "2"
    os.environ["GRIDPG_COORDINATOR_WORKERS"] = "1"
    # Not under pytest's basetemp: another pytest session starting meanwhile chmods it 0700
    # and the servers (another user) lose their data directories (initdb PANIC).
    try:
        with server_dir("smallpool") as directory:
            cluster = Cluster(directory / "cluster")
            port = PortAllocator("127.0.0.1", 25000 + (os.getpid() % 50) * 20).take()
            cluster.create(build_default(datanodes=2, coordinators=1, port=port), lambda _m: None)
            try:
                cluster.up(lambda _m: None)
                yield cluster
            finally:
                cluster.down(lambda _m: None)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


SETUP = [
    *(f"DROP ROLE IF EXISTS {r}" for r in ROLES),
    *(f"CREATE ROLE {r} LOGIN PASSWORD '{PASSWORD}'" for r in ROLES),
    "DROP TABLE IF EXISTS secret, open_t",
    "CREATE TABLE secret (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)",
    "INSERT INTO secret VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    "CREATE TABLE open_t (id int, v text) DISTRIBUTE BY HASH (id)",
    "INSERT INTO open_t VALUES (1, 'x'), (2, 'y')",
    "REVOKE ALL ON secret FROM PUBLIC",
    "GRANT SELECT ON open_t TO ss_app, ss_other",
    "GRANT SELECT ON secret TO ss_other",
]

# Every form of SET ROLE / SESSION AUTHORIZATION across committed and rolled-back blocks.
SUPERUSER_SCRIPT = [
    "BEGIN", "SET ROLE ss_app", "SELECT current_user", "SELECT count(*) FROM open_t",
    "SELECT * FROM secret", "ROLLBACK", "SELECT current_user, session_user", "SHOW role",
    "SELECT count(*) FROM secret",
    "BEGIN", "/* a */ SET ROLE ss_other", "COMMIT", "SELECT current_user",
    "SELECT count(*) FROM secret", "SELECT id FROM secret WHERE id = 2", "RESET ALL",
    "SELECT current_user", "SET ROLE ss_app", "SELECT count(*) FROM secret", "RESET ROLE",
    "SELECT current_user, count(*) FROM secret GROUP BY 1",
    "SET SESSION AUTHORIZATION ss_app", "SELECT current_user, session_user", "SELECT * FROM secret",
    "SET ROLE NONE", "SELECT current_user", "RESET SESSION AUTHORIZATION",
    "SELECT current_user, session_user", "SET ROLE ss_app", "SET SESSION AUTHORIZATION ss_other",
    "SHOW role", "SELECT current_user, count(*) FROM secret GROUP BY 1",
    "SET SESSION AUTHORIZATION DEFAULT", "SELECT current_user, session_user",
    "BEGIN", "SET SESSION AUTHORIZATION ss_app", "SELECT current_user", "ROLLBACK",
    "SELECT current_user, session_user",
    "BEGIN", "SET LOCAL ROLE ss_app", "SELECT current_user", "SELECT count(*) FROM secret",
    "ROLLBACK", "SELECT current_user",
    "BEGIN", "SAVEPOINT s", "SET ROLE ss_app", "SELECT count(*) FROM secret",
    "ROLLBACK TO SAVEPOINT s", "SELECT current_user, count(*) FROM secret GROUP BY 1", "COMMIT",
    "SET ROLE ss_app", "DISCARD ALL", "SELECT current_user, count(*) FROM secret GROUP BY 1",
]

NON_SUPERUSER_SCRIPT = [
    "SELECT current_user, session_user", "SET SESSION AUTHORIZATION postgres",
    "RESET SESSION AUTHORIZATION", "SET SESSION AUTHORIZATION DEFAULT",
    "SELECT current_user, session_user", "SELECT count(*) FROM secret", "SET ROLE postgres",
    "SET SESSION AUTHORIZATION ss_app", "SELECT current_user", "SELECT count(*) FROM open_t",
]


def _run(dsn: str, script: list[str]) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in script:
            try:
                cur = conn.execute(sql, prepare=False)
                out.append((sql, cur.statusmessage, cur.fetchall() if cur.description else None))
            except psycopg.Error as exc:
                out.append((sql, "error", exc.sqlstate))
                if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                    conn.execute("ROLLBACK")
                    out.append(("(rollback)",))
    return out


def _as(dsn: str, user: str) -> str:
    rest = dsn.split("@", 1)[1]
    return f"postgresql://{user}:{PASSWORD}@{rest}"


@pytest.fixture(scope="module")
def both(small_pool: Cluster, plain_pg: str) -> tuple[str, str]:
    subject = small_pool.dsn()
    for dsn in (plain_pg, subject):
        plain = dsn == plain_pg
        _run(dsn, [s.replace(" DISTRIBUTE BY HASH (id)", "") if plain else s for s in SETUP])
    return plain_pg, subject


def _next_clients_are_themselves(dsn: str) -> None:
    """Several new superuser sessions, each on the connections the last one used."""
    for _ in range(4):
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT current_user, session_user").fetchone() == ("postgres", "postgres")
            assert conn.execute("SELECT count(*) FROM secret").fetchone() == (3,)
            # A multi-node read runs on the datanodes' pooled connections.
            rows = conn.execute("SELECT current_user, current_setting('work_mem'), "
                                "current_setting('search_path') FROM secret").fetchall()
            assert rows == [("postgres", "4MB", '"$user", public')] * 3
            assert conn.execute("SHOW work_mem").fetchone() == ("4MB",)


def test_superuser_script_agrees(both: tuple[str, str]) -> None:
    reference, subject = both
    assert _run(subject, SUPERUSER_SCRIPT) == _run(reference, SUPERUSER_SCRIPT)
    _next_clients_are_themselves(subject)


def test_non_superuser_cannot_take_another_identity(both: tuple[str, str]) -> None:
    reference, subject = both
    got = _run(_as(subject, "ss_app"), NON_SUPERUSER_SCRIPT)
    assert got == _run(_as(reference, "ss_app"), NON_SUPERUSER_SCRIPT)
    assert ("SELECT count(*) FROM secret", "error", "42501") in got
    _next_clients_are_themselves(subject)


def test_settings_left_behind_do_not_reach_the_next_client(both: tuple[str, str]) -> None:
    _, subject = both
    with psycopg.connect(subject, autocommit=True) as conn:
        conn.execute("SET work_mem = '9MB'")
        conn.execute("SET search_path = pg_catalog")
        conn.execute("SET ROLE ss_app")
        conn.execute("SELECT pg_catalog.set_config('work_mem', '10MB', false)")
        assert conn.execute("SELECT DISTINCT current_user FROM public.open_t").fetchone() == ("ss_app",)
    with psycopg.connect(subject, autocommit=True) as conn:
        conn.execute("SET SESSION AUTHORIZATION ss_other")
        conn.execute("BEGIN")
        conn.execute("SET work_mem = '11MB'")
        assert conn.execute("SELECT count(*) FROM public.secret").fetchone() == (3,)
        conn.execute("COMMIT")
    _next_clients_are_themselves(subject)


def test_rollback_undoes_settings_on_nodes_that_joined_later(both: tuple[str, str]) -> None:
    """A SET made before a node joined the block is replayed inside that node's block, so
    ROLLBACK TO SAVEPOINT undoes it there as on every other node."""
    _, subject = both
    with psycopg.connect(subject, autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT s")
        conn.execute("SET work_mem = '6MB'")
        rows = conn.execute("SELECT current_setting('work_mem') FROM secret").fetchall()
        assert rows == [("6MB",)] * 3
        conn.execute("ROLLBACK TO SAVEPOINT s")
        for key in (1, 2, 3):  # routed to each node in turn
            rows = conn.execute("SELECT current_setting('work_mem') FROM secret WHERE id = %s", (key,)).fetchall()
            assert rows == [("4MB",)]
        conn.execute("SET LOCAL work_mem = '7MB'")
        conn.execute("SAVEPOINT t")
        rows = conn.execute("SELECT current_setting('work_mem') FROM secret").fetchall()
        assert rows == [("7MB",)] * 3
        conn.execute("ROLLBACK TO SAVEPOINT t")
        rows = conn.execute("SELECT current_setting('work_mem') FROM secret").fetchall()
        assert rows == [("7MB",)] * 3
        conn.execute("COMMIT")
    _next_clients_are_themselves(subject)


def test_superuser_only_setting_then_set_role(both: tuple[str, str]) -> None:
    """A session that set a superuser-only parameter (as pg_regress does with lc_messages in
    its startup options) and then took a plain role: every later statement failed with
    42501 "permission denied to set parameter", since connections were given the role
    before the settings."""
    reference, subject = both
    script = ["SET lc_messages = 'C'", "SET ROLE ss_app", "SELECT count(*) FROM public.open_t",
              "SELECT current_setting('lc_messages'), current_user FROM public.open_t LIMIT 1",
              "RESET ROLE", "SELECT current_user"]
    assert _run(subject, script) == _run(reference, script)
    _next_clients_are_themselves(subject)


def test_sessions_in_the_same_state_share_connections_without_leaks(both: tuple[str, str]) -> None:
    """Connections carry the session *state* (login, role, settings), not the session: two
    clients with the same application_name share them as set up (no RESET/SET round trip,
    pgbench's case). What one of them changes by set_config() or SET is its own for the
    session, on every node, and never seen by the other."""
    _, subject = both
    dsn = subject + ("&" if "?" in subject else "?") + "application_name=ss%20same"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM secret WHERE id = 1").fetchone() == (1,)
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # it would reach one pooled connection
            conn.execute("SELECT pg_catalog.set_config('work_mem', '10MB', false) FROM secret")
        conn.execute("SELECT current_setting('work_mem') AS was, pg_catalog.set_config('work_mem', '10MB', false)")
        assert conn.execute("SELECT current_setting('work_mem') FROM secret").fetchall() == [("10MB",)] * 3
        conn.execute("SELECT set_config('work_mem', %s, false)", ("11MB",))
        assert conn.execute("SELECT current_setting('work_mem') FROM secret").fetchall() == [("11MB",)] * 3
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET work_mem = '9MB'")
        rows = conn.execute("SELECT current_setting('work_mem') FROM secret").fetchall()
        assert rows == [("9MB",)] * 3
    for _ in range(3):
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT current_setting('work_mem'), current_user FROM secret").fetchall()
            assert rows == [("4MB", "postgres")] * 3
            for key in (1, 2, 3):
                row = conn.execute("SELECT current_setting('work_mem') FROM secret WHERE id = %s", (key,))
                assert row.fetchone() == ("4MB",)
    with psycopg.connect(_as(dsn, "ss_other"), autocommit=True) as conn:
        assert conn.execute("SELECT DISTINCT current_user FROM secret").fetchone() == ("ss_other",)
    with psycopg.connect(_as(dsn, "ss_app"), autocommit=True) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM secret")
    _next_clients_are_themselves(subject)


def test_a_role_without_schema_usage_gets_postgresql_s_error(both: tuple[str, str]) -> None:
    """A write as a role without USAGE on the table's schema (PostgREST's private schemas):
    PostgreSQL's 42501; the coordinator's lookup of the table's serial columns by name
    failed first, inside the block, and the client saw 25P02 for a statement it never sent."""
    reference, subject = both
    setup = ["DROP SCHEMA IF EXISTS ss_priv CASCADE", "CREATE SCHEMA ss_priv",
             "CREATE TABLE ss_priv.articles (id serial PRIMARY KEY, body text, owner name DEFAULT current_user)",
             "GRANT ALL ON ss_priv.articles TO ss_app"]
    script = ["BEGIN", "SET LOCAL ROLE ss_app", "INSERT INTO ss_priv.articles (body) VALUES ('x') RETURNING body",
              "ROLLBACK", "GRANT USAGE ON SCHEMA ss_priv TO ss_app",
              "GRANT USAGE ON SEQUENCE ss_priv.articles_id_seq TO ss_app",
              "BEGIN", "SET LOCAL ROLE ss_app", "INSERT INTO ss_priv.articles (body) VALUES ('y') RETURNING body, owner",
              "COMMIT", "SELECT body, owner FROM ss_priv.articles", "DROP SCHEMA ss_priv CASCADE"]
    for dsn in (reference, subject):
        _run(dsn, setup)
    assert _run(subject, script) == _run(reference, script)
    _next_clients_are_themselves(subject)


def test_custom_settings_of_other_sessions_stay_undefined(both: tuple[str, str]) -> None:
    """A custom setting (`app.actor`) one session SET stays a placeholder on the backend
    for its life: RESET ALL makes it '', where a session that never set it reads NULL from
    current_setting(name, true). Connections carrying another session's placeholders are
    not handed to a session that never defined them (h-probe13: an audit column written
    `coalesce(current_setting('app.actor', true), 'system')` read '' on every later
    session's statements, on the catalog server and on the datanodes)."""
    reference, subject = both
    first = ["SET app.actor = 'alice'", "SELECT current_setting('app.actor', true) FROM secret WHERE id = 1",
             "SELECT count(*), min(current_setting('app.actor', true)) FROM secret",
             "SELECT current_setting('app.actor', true)",
             "BEGIN", "SET LOCAL app.tenant = '7'", "SELECT count(*) FROM secret", "COMMIT",
             "RESET app.actor", "SELECT current_setting('app.actor', true) FROM secret WHERE id = 2"]
    later = ["SELECT current_setting('app.actor', true) IS NULL, current_setting('app.tenant', true) IS NULL "
             "FROM secret WHERE id = 1",
             "SELECT id, coalesce(current_setting('app.actor', true), 'system') FROM secret ORDER BY id",
             "SELECT coalesce(current_setting('app.actor', true), 'system')",
             "SELECT count(*) FROM secret WHERE current_setting('app.actor', true) IS NULL",
             "SET app.other = 'x'", "SELECT current_setting('app.actor', true) IS NULL FROM secret WHERE id = 3"]
    assert _run(subject, first) == _run(reference, first)
    for _ in range(3):
        assert _run(subject, later) == _run(reference, later)
    # PostgREST's way: set_config(..., true) inside each request's block
    request = ["BEGIN", "SELECT set_config('request.jwt.claim.sub', 'u1', true)",
               "SELECT count(*) FROM secret WHERE current_setting('request.jwt.claim.sub', true) = 'u1'",
               "SELECT current_setting('request.jwt.claim.sub', true) FROM secret WHERE id = 3", "COMMIT"]
    fresh = ["SELECT current_setting('request.jwt.claim.sub', true) IS NULL",
             "SELECT count(*) FROM secret WHERE current_setting('request.jwt.claim.sub', true) IS NULL",
             "SELECT current_setting('request.jwt.claim.sub', true) IS NULL FROM secret WHERE id = 2"]
    for _ in range(3):
        assert _run(subject, request) == _run(reference, request)
        assert _run(subject, fresh) == _run(reference, fresh)
    _next_clients_are_themselves(subject)
