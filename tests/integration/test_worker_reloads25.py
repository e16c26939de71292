"""Every worker process of every coordinator plans and describes with the catalog as of
the DDL that just returned, also those that installed a sibling worker's reload instead of
reading (frontend/reload_share.py, h-ddl25).

After each DDL, connections to each coordinator are opened until both of its workers
(the worker is in the session's pid) answer; through each, a table's RowDescription must
name the catalog server's relation, column numbers and type OIDs (the nodes' maps), and
the columns the DDL made (the snapshot)."""

from __future__ import annotations

import contextlib

import psycopg

from gridpg.cluster.control import Cluster
from gridpg.frontend.coordinator import PID_WORKER_SHIFT


def _workers_of(cluster: Cluster, coordinator: int, stack: contextlib.ExitStack) -> dict[int, psycopg.Connection]:
    """One connection per worker of `coordinator` (the kernel spreads connections over the
    workers' listening sockets: open them until each worker answered)."""
    seen: dict[int, psycopg.Connection] = {}
    for _ in range(60):
        conn = stack.enter_context(psycopg.connect(cluster.dsn(coordinator), autocommit=True))
        seen.setdefault((conn.info.backend_pid >> PID_WORKER_SHIFT) & 0x3F, conn)
        if len(seen) == 2:
            break
    return seen


def _check(conn: psycopg.Connection, table: str, columns: list[str]) -> None:
    oid = conn.execute("SELECT %s::regclass::oid", (table,)).fetchone()[0]
    want = conn.execute(
        "SELECT attname, attnum, atttypid FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", (oid,)).fetchall()
    assert [w[0] for w in want] == columns
    cur = conn.execute(f"SELECT * FROM {table} LIMIT 0")
    result = cur.pgresult
    assert result is not None
    got = [(cur.description[i].name, result.ftablecol(i), result.ftype(i)) for i in range(result.nfields)]
    assert got == [tuple(w) for w in want]
    assert {result.ftable(i) for i in range(result.nfields)} == {oid}


def test_every_worker_has_the_ddl_as_it_returns(gridpg_cluster: Cluster, schema: str) -> None:
    t = f"{schema}.t"
    steps = [
        ([f"CREATE TYPE {schema}.mood AS ENUM ('low', 'high')",
          f"CREATE TABLE {t} (id int PRIMARY KEY, a text, m {schema}.mood, b int)"], ["id", "a", "m", "b"]),
        ([f"ALTER TABLE {t} DROP COLUMN a"], ["id", "m", "b"]),
        ([f"ALTER TABLE {t} ADD COLUMN c {schema}.mood"], ["id", "m", "b", "c"]),
        ([f"ALTER TABLE {t} RENAME COLUMN b TO b2"], ["id", "m", "b2", "c"]),
        ([f"SELECT create_reference_table('{t}')", f"ALTER TABLE {t} ADD COLUMN d text"],
         ["id", "m", "b2", "c", "d"]),
    ]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as ddl:
        for statements, columns in steps:
            for sql in statements:
                ddl.execute(sql)
            for coordinator in range(len(gridpg_cluster.topology.coordinators)):
                with contextlib.ExitStack() as stack:
                    workers = _workers_of(gridpg_cluster, coordinator, stack)
                    assert len(workers) == 2, (coordinator, sorted(workers))
                    for conn in workers.values():
                        _check(conn, t, columns)


def _epoch(cluster: Cluster) -> int:
    password = cluster.password()
    catalog = cluster.topology.coordinators[0].catalog
    with psycopg.connect(f"postgresql://postgres:{password}@{catalog.host}:{catalog.port}/postgres") as conn:
        return int(conn.execute("SELECT max(epoch) FROM gridpg.coordinator_state").fetchone()[0])


def test_a_bare_create_schema_moves_no_epoch_and_is_seen_everywhere(gridpg_cluster: Cluster, schema: str) -> None:
    """`CREATE SCHEMA s` makes nothing a reload reads: no epoch, no reload (h-ddl25); the
    next statements on the other coordinator, through a search_path naming it, find what
    PostgreSQL finds, before and after a table of the name is made in it."""
    fresh = f"{schema}_x"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        one.execute(f"CREATE TABLE {schema}.t (id int PRIMARY KEY, v text)")
        one.execute(f"INSERT INTO {schema}.t VALUES (1, 'old')")
        two.execute(f'SET search_path = "{fresh}", "{schema}"')
        assert two.execute("SELECT v FROM t").fetchall() == [("old",)]  # planned, cached
        try:
            before = _epoch(gridpg_cluster)
            one.execute(f'CREATE SCHEMA "{fresh}"')
            assert _epoch(gridpg_cluster) == before
            assert two.execute("SELECT v FROM t").fetchall() == [("old",)]
            two.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")  # in the first schema of the path
            two.execute("INSERT INTO t VALUES (2, 'new')")
            assert two.execute(f"SELECT v FROM {schema}.t").fetchall() == [("old",)]
            assert one.execute(f'SELECT v FROM "{fresh}".t').fetchall() == [("new",)]
            assert two.execute("SELECT v FROM t").fetchall() == [("new",)]
            assert _epoch(gridpg_cluster) > before
        finally:
            one.execute(f'DROP SCHEMA IF EXISTS "{fresh}" CASCADE')


def test_create_schema_under_a_user_event_trigger_moves_the_epoch(gridpg_cluster: Cluster, schema: str) -> None:
    """A user's event trigger may make anything when a schema is made: then the epoch moves."""
    fresh = f"{schema}_e"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION {schema}.noted() RETURNS event_trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RAISE NOTICE 'ddl'; END $$")
        conn.execute(f"CREATE EVENT TRIGGER et_{schema} ON ddl_command_end EXECUTE FUNCTION {schema}.noted()")
        try:
            before = _epoch(gridpg_cluster)
            conn.execute(f'CREATE SCHEMA "{fresh}"')
            assert _epoch(gridpg_cluster) > before
        finally:
            conn.execute(f"DROP EVENT TRIGGER IF EXISTS et_{schema}")
            conn.execute(f'DROP SCHEMA IF EXISTS "{fresh}"')
