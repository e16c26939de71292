"""What psycopg 3's own test suite found (h-psycopg22), each shape in our own words, run
through psycopg against the session's cluster (and, where an answer is compared, plain
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster


# psycopg prepares a statement run often enough under its own name (_pg3_N, Parse by
# protocol). pg_prepared_statements listed those with a NULL prepare_time: only SQL
# PREPAREs carried one, so ordering the statements by when they were prepared failed.
def test_protocol_prepared_statements_have_a_prepare_time(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True, prepare_threshold=0) as conn:
        for text in ("SELECT 1 AS first", "SELECT 2 AS second", "SELECT 3 AS third"):
            conn.execute(text)
        rows = conn.execute(
            "SELECT statement, prepare_time FROM pg_prepared_statements "
            "WHERE name LIKE '\\_pg3\\_%' ORDER BY prepare_time, statement", prepare=False).fetchall()
    assert [r[0] for r in rows] == ["SELECT 1 AS first", "SELECT 2 AS second", "SELECT 3 AS third"]
    assert all(r[1] is not None for r in rows)


# A client's own idle_in_transaction_session_timeout reached only the backend connections:
# the catalog server's backend ended, and the client's next statement failed 08006
# "connection to node catalog1 was lost" where PostgreSQL sends 25P03 and closes.
def test_own_idle_in_transaction_timeout_ends_the_session_with_25P03(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute("SET SESSION idle_in_transaction_session_timeout = 150")
        conn.execute("SELECT count(*) FROM pg_class")  # the block stays open
        time.sleep(1)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            conn.execute("SELECT 1")
        assert conn.closed


# The same setting outside a block, and a block that ends in time: nothing ends.
def test_own_idle_in_transaction_timeout_spares_idle_sessions(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("SET idle_in_transaction_session_timeout = '300ms'")
        time.sleep(0.6)
        with conn.transaction():
            assert conn.execute("SELECT 7").fetchone() == (7,)
        time.sleep(0.6)
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("300ms",)


# PostgreSQL reports a reported setting (ParameterStatus) whenever a statement leaves it
# changed; gridpg reported only a session-level SET. A SET undone by ROLLBACK left psycopg
# reading dates by the undone DateStyle: '01/02/2000' (SQL, MDY) read as 1 February. A
# SET LOCAL, or set_config(..., true), was never reported: timestamptz values came labelled
# with the session's zone instead of the block's.
def test_settings_a_block_changed_are_reported_when_they_change_back(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("SET datestyle = 'SQL, MDY'")
        with conn.transaction(force_rollback=True):
            conn.execute("SET datestyle = 'SQL, DMY'")
            assert conn.execute("SELECT date '2000-01-02'").fetchone() == (dt.date(2000, 1, 2),)
        assert conn.info.parameter_status("DateStyle") == "SQL, MDY"
        assert conn.execute("SELECT date '2000-01-02'").fetchone() == (dt.date(2000, 1, 2),)
        conn.execute("SET datestyle = 'ISO, MDY'; SET TimeZone = 'UTC'")
        with conn.transaction():
            conn.execute("SELECT set_config('TimeZone', 'Asia/Tokyo', true)")
            (stamp,) = conn.execute("SELECT timestamptz '2000-01-02 03:00+00'").fetchone()
            assert stamp.utcoffset() == dt.timedelta(hours=9)
        assert conn.info.parameter_status("TimeZone") == "UTC"
        with conn.transaction():
            conn.execute("SAVEPOINT s")
            conn.execute("SET TimeZone = 'Asia/Tokyo'")
            conn.execute("ROLLBACK TO SAVEPOINT s")
            (stamp,) = conn.execute("SELECT timestamptz '2000-01-02 03:00+00'").fetchone()
            assert stamp.utcoffset() == dt.timedelta(0)


# psycopg sends a registered composite's OID as the parameter's type. A statement the
# catalog server answers (no distributed table) had its user-type OIDs sent unspecified
# (they are meant for datanodes, where those OIDs name nothing): `row(...)::t = $1` then
# typed $1 as an anonymous record, 0A000 "input of anonymous composite types is not
# implemented".
def test_composite_parameter_keeps_its_type_on_the_catalog_server(gridpg_cluster: Cluster, schema: str) -> None:
    from psycopg.types.composite import CompositeInfo, register_composite

    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True, options=f"-c search_path={schema}") as conn:
        conn.execute("CREATE TYPE parcel AS (label text, weight int8, price float8)")
        conn.execute("CREATE TYPE crate AS (slot int8, content parcel)")
        types = []
        for name in ("parcel", "crate"):
            info = CompositeInfo.fetch(conn, name)
            assert info is not None
            register_composite(info, conn)
            types.append(info.python_type)
        parcel, crate = types
        box = parcel("bolts", 3, None)
        for placeholder in ("%s", "%t", "%b"):
            got = conn.execute(f"SELECT row('bolts', 3, NULL)::parcel = {placeholder}, {placeholder}::text",
                               [box, box]).fetchone()
            assert got == (True, "(bolts,3,)")
            got = conn.execute(f"SELECT row(9, row('bolts', 3, NULL)::parcel)::crate = {placeholder}",
                               [crate(9, box)]).fetchone()
            assert got == (True,)


# A type created in the open block is in no datanode's OID map until the block commits:
# a distributed table's column of that type came described with the datanode's OID, so
# psycopg returned the registered composite as a plain string.
def test_types_created_in_the_block_are_described_by_the_catalog_oids(gridpg_cluster: Cluster, schema: str) -> None:
    from psycopg.types.composite import CompositeInfo, register_composite

    with psycopg.connect(gridpg_cluster.dsn(0), options=f"-c search_path={schema}") as conn:
        conn.execute("CREATE TYPE tariff AS (zone text, cents int)")
        conn.execute("CREATE TABLE fares (id int PRIMARY KEY, fare tariff, fares tariff[])")
        conn.execute("INSERT INTO fares VALUES (1, ('inner', 250), ARRAY[('outer', 400)::tariff])")
        info = CompositeInfo.fetch(conn, "tariff")
        assert info is not None
        register_composite(info, conn)
        wanted = conn.execute("SELECT 'tariff'::regtype::oid, 'tariff[]'::regtype::oid").fetchone()
        for text in ("SELECT fare, fares FROM fares", "SELECT fare, fares FROM fares WHERE id = 1"):
            cur = conn.execute(text)
            assert tuple(c.type_code for c in cur.description) == wanted, text
            assert cur.fetchone() == (info.python_type("inner", 250), [info.python_type("outer", 400)])
        conn.rollback()


# pg_terminate_backend() of a session running a statement ended it only once the statement
# had run to its end: the session's task was cancelled, but its cleanup's ROLLBACK waited
# for the node's statement. PostgreSQL's backend stops at once.
def test_terminated_session_stops_its_running_statement(gridpg_cluster: Cluster) -> None:
    import threading

    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn) as victim, psycopg.connect(dsn, autocommit=True) as admin:
        pid = victim.info.backend_pid

        def terminate() -> None:
            time.sleep(0.3)
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])

        killer = threading.Thread(target=terminate)
        killer.start()
        started = time.monotonic()
        try:
            with pytest.raises(psycopg.errors.AdminShutdown):
                victim.execute("SELECT pg_sleep(4)")
            assert time.monotonic() - started < 2.5
        finally:
            killer.join()
        assert not admin.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg\\_sleep(4)%' "
                                 "AND pid <> pg_backend_pid()").fetchone()[0]


# A DateStyle given at startup was reported as the client wrote it: `-c datestyle=SQL,DMY`
# reported "SQL,DMY", psycopg read the order at the offset of "SQL, DMY" and took
# 02/01/2000 (2 January, day first) for 1 February.
def test_startup_datestyle_is_reported_in_postgresql_form(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), options="-c datestyle=SQL,DMY") as conn:
        assert conn.info.parameter_status("DateStyle") == "SQL, DMY"
        assert conn.execute("SELECT date '2000-01-02'").fetchone() == (dt.date(2000, 1, 2),)


# COPY ... TO STDOUT by the extended protocol (tokio-postgres's copy_out sends it so; psycopg's
# execute() of a COPY) on a statement the catalog server answers was refused 0A000, where
# PostgreSQL (and gridpg for a distributed table) starts the COPY: psycopg raises its own
# ProgrammingError then, and libpq reads the rows.
def test_copy_to_stdout_by_the_extended_protocol_on_the_catalog_server(gridpg_cluster: Cluster) -> None:
    from psycopg import pq

    conn = psycopg.connect(gridpg_cluster.dsn(0), autocommit=True)
    try:
        with pytest.raises(psycopg.ProgrammingError) as caught:
            conn.execute("COPY (SELECT 1) TO STDOUT")  # (psycopg leaves the COPY unread)
        assert not isinstance(caught.value, psycopg.errors.FeatureNotSupported)
    finally:
        conn.close()
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.pgconn.send_query_params(b"COPY (SELECT g, 'n' || g FROM generate_series(1, 3) g) TO STDOUT", None)
        statuses, rows = [], []
        while (result := conn.pgconn.get_result()) is not None:
            statuses.append(result.status)
            if result.status == pq.ExecStatus.COPY_OUT:
                while (item := conn.pgconn.get_copy_data(0))[0] > 0:
                    rows.append(bytes(item[1]))
        assert statuses == [pq.ExecStatus.COPY_OUT, pq.ExecStatus.COMMAND_OK]
        assert rows == [b"1\tn1\n", b"2\tn2\n", b"3\tn3\n"]
        assert conn.execute("SELECT 3").fetchone() == (3,)
