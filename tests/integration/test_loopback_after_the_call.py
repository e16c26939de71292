"""A statement of server-side code that reaches the coordinator's loopback after its
caller's transaction ended must not run: the code's `INSERT` waited (its Describe on the
catalog server, behind another session's ALTER TABLE), the client gave up (its connection
closed), the caller's transaction was rolled back, and when the ALTER ended the INSERT ran
on a connection of its own, in autocommit: the row was committed though no transaction of
the client's ever was. The loopback now takes no datanode connection once the call is over
(frontend/loopback._LoopbackTxn), and its routed fast path makes `_run`'s checks.

Slow by nature: postgres_fdw waits 30 s for its cancelled remote statement. Each step
waits for the state the next one needs, read on the catalog servers (the ALTER holding its
lock, the call's statement waiting behind it, the call's transaction over), not for fixed
times: 53 s of sleeps before (h-ddl25)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import catalog_dsns


def _wait_until(catalogs: list[str], sql: str, bound: float, what: str, on_all: bool = False) -> None:
    """Until `sql` answers true on one of the catalog servers (`on_all`: on each), failing
    past `bound` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        answers = []
        for dsn in catalogs:
            with psycopg.connect(dsn, autocommit=True) as conn:
                answers.append(bool(conn.execute(sql).fetchone()[0]))
        if all(answers) if on_all else any(answers):
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {bound} s: {what}")


def test_a_write_of_abandoned_code_is_not_committed(gridpg_cluster: Cluster, schema: str) -> None:
    dsn = gridpg_cluster.dsn(0)
    catalogs = list(catalog_dsns(gridpg_cluster).values())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE lk (id int PRIMARY KEY, v text)")
        conn.execute(f'CREATE FUNCTION "{schema}".ins(i int) RETURNS int LANGUAGE plpgsql AS '
                     "$$ BEGIN INSERT INTO lk VALUES (i, 'code'); RETURN i; END $$")

    altered, over = threading.Event(), threading.Event()

    def migrate() -> None:  # another session's schema change, held until the call is over
        with psycopg.connect(dsn) as ddl:
            ddl.execute(f'ALTER TABLE "{schema}".lk ADD COLUMN extra int')
            altered.set()
            over.wait(120)
            ddl.rollback()

    holder = threading.Thread(target=migrate)
    holder.start()
    assert altered.wait(30)
    # the client: BEGIN, the call, and gone while the call waits (a process killed)
    script = (f"import psycopg\nc = psycopg.connect({dsn!r})\n"
              f"c.execute('SET search_path = \"{schema}\"')\nc.execute('SELECT ins(1)')\n")
    client = subprocess.Popen([sys.executable, "-c", script])
    call = ("SELECT FROM pg_catalog.pg_stat_activity WHERE state <> 'idle' AND query LIKE '%ins(1)%' "
            "AND pid <> pg_catalog.pg_backend_pid()")
    try:  # the call runs, its INSERT waiting behind the ALTER
        _wait_until(catalogs, f"SELECT EXISTS ({call}) AND EXISTS (SELECT FROM pg_catalog.pg_locks WHERE NOT granted)",
                    30, "the call's statement running, a statement waiting for the ALTER's lock")
    finally:
        client.kill()
        client.wait()
    try:  # the call's transaction ends: postgres_fdw gives its cancelled remote statement up (30 s)
        _wait_until(catalogs, f"SELECT NOT EXISTS ({call})", 90, "the call's statement over", on_all=True)
    finally:
        over.set()
        holder.join()
    # the loopback's statement goes on once the ALTER is gone: nobody waits for a lock then
    _wait_until(catalogs, "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE NOT granted)", 30,
                "no statement waiting", on_all=True)
    time.sleep(2)  # (and the loopback's own part after it)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        assert conn.execute("SELECT count(*) FROM lk").fetchone() == (0,)
        assert conn.execute("SELECT ins(2)").fetchone() == (2,)  # the loopback still works
        assert conn.execute("SELECT count(*) FROM lk").fetchone() == (1,)
