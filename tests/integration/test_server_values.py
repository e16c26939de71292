"""Values PostgreSQL computes from the session's own server (issue 12, "a wrong answer
must never be silent"): each is the client's session's on every path (the catalog server,
one datanode, every datanode), or refused with 0A000.

- pg_backend_pid() is the pid BackendKeyData gave the client (was: the pooled catalog or
  datanode connection's, another per transaction and per node); `SHOW port`,
  current_setting('port'), SHOW ALL's and pg_settings' port the coordinator's port (was:
  the catalog server's or a datanode's); functions in FROM (`SELECT * FROM inet_client_addr()`) as in the select
  list (was: NULL); a session without temp objects has no temp schema (pg_my_temp_schema()
  0, current_schemas(true) without pg_temp_N; was: the pooled catalog connection's, where
  gridpg's scratch tables made one) - sql/connection_values.py; version() names gridpg also when the
  datanodes run it (was: their plain PostgreSQL string) - planner/text.rewrite_version;
- txid_current() and other per-server functions inside statements over distributed tables
  are refused (was: one datanode's xid, or in INSERT ... VALUES the xid of a transaction
  of the catalog server's own) - planner/node_values.py;
- pg_database_size() of the session's database counts the datanodes' databases (was: the
  catalog server's alone) - commands/sizes.py;
- a routine created before size functions were refused at CREATE is refused when called
  (was: the empty copy's size) - planner/routines.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_session_values_are_the_clients_on_every_path(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    for index in (0, 1):
        dsn = gridpg_cluster.dsn(index)
        port = urlsplit(dsn).port
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"SET search_path = {s}")
            if index == 0:
                conn.execute("CREATE TABLE sv (id int PRIMARY KEY, v text)")
                conn.execute("INSERT INTO sv SELECT g, 'v' FROM generate_series(1, 20) g")
            pid = conn.info.backend_pid
            for sql in ("SELECT pg_backend_pid()", "SELECT * FROM pg_backend_pid()",
                        "SELECT pg_backend_pid() FROM sv WHERE id = 1",
                        "SELECT DISTINCT pg_backend_pid() FROM sv",
                        "SELECT max(pg_backend_pid()) FROM sv"):
                assert conn.execute(sql).fetchall() == [(pid,)], sql
            with conn.transaction():
                assert conn.execute("SELECT pg_backend_pid()").fetchone() == (pid,)
            for sql in ("SHOW port", "SELECT current_setting('port')",
                        "SELECT DISTINCT current_setting('port') FROM sv"):
                assert conn.execute(sql).fetchall() == [(str(port),)], sql
            with conn.cursor() as cur:  # the extended protocol
                cur.execute("SHOW port", prepare=True)
                assert cur.fetchall() == [(str(port),)] and cur.description[0].name == "port"
            # SHOW ALL and pg_settings say the same (was: the catalog server's port)
            shown = {row[0]: row[1] for row in conn.execute("SHOW ALL").fetchall()}
            assert shown["port"] == str(port) and "work_mem" in shown
            for sql in ("SELECT setting, reset_val FROM pg_settings WHERE name = 'port'",
                        "SELECT s.setting, s.reset_val FROM pg_catalog.pg_settings s WHERE s.name = %s"):
                assert conn.execute(sql, ("port",) if "%s" in sql else None).fetchall() == [
                    (str(port), str(port))], sql
            assert conn.execute("SELECT count(*) FROM pg_settings WHERE name = 'port'"
                                " AND setting = current_setting('port')").fetchone() == (1,)
            direct = conn.execute("SELECT inet_client_addr(), inet_client_port(), inet_server_port()").fetchone()
            cur = conn.execute("SELECT * FROM inet_client_addr(), inet_client_port(), inet_server_port()")
            assert cur.fetchone() == direct
            assert [d.name for d in cur.description] == ["inet_client_addr", "inet_client_port", "inet_server_port"]
            assert direct[2] == port
            assert conn.execute("SELECT a.* FROM inet_server_port() AS a").fetchone() == (port,)
            conn.execute("SELECT count(*) FROM (SELECT id FROM sv ORDER BY id LIMIT 3) x")  # scratch temps
            assert conn.execute("SELECT pg_my_temp_schema(), current_schemas(true)::text[]").fetchone() == (
                0, ["pg_catalog", s])
            version = conn.execute("SELECT version()").fetchone()
            assert "gridpg" in version[0]
            for sql in ("SELECT version() FROM sv WHERE id = 2", "SELECT DISTINCT version() FROM sv",
                        "SELECT pg_catalog.version() FROM sv WHERE version() LIKE '%gridpg%' LIMIT 1"):
                cur = conn.execute(sql)
                assert cur.fetchall() == [version] and cur.description[0].name == "version", sql


def test_per_server_functions_over_distributed_tables_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {s}")
        conn.execute("CREATE TABLE sx (id int PRIMARY KEY, x text)")
        conn.execute("INSERT INTO sx SELECT g, 'x' FROM generate_series(1, 10) g")
        for sql in ("SELECT txid_current(), count(*) FROM sx",
                    "SELECT pg_current_xact_id(), id FROM sx WHERE id = 1",
                    "UPDATE sx SET x = txid_current()::text WHERE id = 2",
                    "INSERT INTO sx SELECT id + 100, txid_current()::text FROM sx",
                    "SELECT current_setting('data_directory') FROM sx WHERE id = 3",
                    "SELECT pg_postmaster_start_time() FROM sx"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        with conn.transaction():  # the call alone: the catalog server's, the same in the block
            own = conn.execute("SELECT txid_current()").fetchone()[0]
            conn.execute("INSERT INTO sx VALUES (50, 'y')")
            assert conn.execute("SELECT txid_current()").fetchone() == (own,)
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # VALUES: evaluated apart
            conn.execute("INSERT INTO sx VALUES (51, txid_current()::text)")


def test_database_size_counts_the_datanodes(gridpg_cluster: Cluster, schema: str,
                                            datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    def size_on(dsn: str) -> int:
        with psycopg.connect(dsn, autocommit=True) as direct:
            return int(direct.execute("SELECT pg_database_size(current_database())").fetchone()[0])

    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.sz (id int PRIMARY KEY, pad text)")
        conn.execute(f"INSERT INTO {schema}.sz SELECT g, repeat('x', 500) FROM generate_series(1, 3000) g")
        nodes = sum(size_on(dsn) for dsn in datanodes.values())
        catalog = size_on(next(iter(catalogs.values())))
        got = conn.execute("SELECT pg_database_size(current_database()), "
                           "pg_database_size((SELECT oid FROM pg_database WHERE datname = current_database())), "
                           "pg_database_size('template1')").fetchone()
        assert got[0] == got[1]
        assert abs(got[0] - (catalog + nodes)) < 2_000_000  # other tests may write meanwhile
        assert got[0] > nodes
        template1 = conn.execute("SELECT pg_database_size('template1')").fetchone()[0]
        assert template1 == got[2] and template1 < nodes  # another database: the catalog server's
        with pytest.raises(psycopg.errors.InvalidCatalogName):
            conn.execute("SELECT pg_database_size('no_such_database')")
        assert conn.execute(f"SELECT pg_database_size(current_database()) = {got[0]} OR true, count(*) "
                            f"FROM {schema}.sz").fetchone()[1] == 3000


def test_routines_made_before_the_size_check_are_refused_when_called(gridpg_cluster: Cluster, schema: str,
                                                                     catalogs: dict[str, str]) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.big (id int PRIMARY KEY)")
        conn.execute(f"INSERT INTO {s}.big SELECT generate_series(1, 1000)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # refused at CREATE
            conn.execute(f"CREATE FUNCTION {s}.sz() RETURNS bigint LANGUAGE sql "
                         f"AS $$SELECT pg_total_relation_size('{s}.big')$$")
        # as an older gridpg let it be created: directly on every catalog server
        for dsn in catalogs.values():
            with psycopg.connect(dsn, autocommit=True) as direct:
                direct.execute(f"CREATE FUNCTION {s}.sz() RETURNS bigint LANGUAGE sql "
                               f"AS $$SELECT pg_total_relation_size('{s}.big')$$")
                direct.execute(f"CREATE FUNCTION {s}.dbsz() RETURNS bigint LANGUAGE plpgsql "
                               "AS $$BEGIN RETURN pg_database_size(current_database()); END$$")
        conn.execute(f"CREATE TABLE {s}.bump (a int)")  # a new catalog epoch: routines read again
        for call in ("sz", "dbsz"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="empty copies"):
                conn.execute(f"SELECT {s}.{call}()")
        assert conn.execute(f"SELECT pg_total_relation_size('{s}.big') > 8192").fetchone() == (True,)
