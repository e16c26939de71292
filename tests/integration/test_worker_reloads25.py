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
