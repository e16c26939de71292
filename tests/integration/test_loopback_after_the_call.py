"""A statement of server-side code that reaches the coordinator's loopback after its
caller's transaction ended must not run: the code's `INSERT` waited (its Describe on the
catalog server, behind another session's ALTER TABLE), the client gave up (its connection
closed), the caller's transaction was rolled back, and when the ALTER ended the INSERT ran
on a connection of its own, in autocommit: the row was committed though no transaction of
the client's ever was. The loopback now takes no datanode connection once the call is over
(frontend/loopback._LoopbackTxn), and its routed fast path makes `_run`'s checks.

Slow by nature: postgres_fdw waits 30 s for its cancelled remote statement."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import psycopg

from gridpg.cluster.control import Cluster


def test_a_write_of_abandoned_code_is_not_committed(gridpg_cluster: Cluster, schema: str) -> None:
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE lk (id int PRIMARY KEY, v text)")
        conn.execute(f'CREATE FUNCTION "{schema}".ins(i int) RETURNS int LANGUAGE plpgsql AS '
                     "$$ BEGIN INSERT INTO lk VALUES (i, 'code'); RETURN i; END $$")

    def migrate() -> None:  # another session's schema change, held for a while
        with psycopg.connect(dsn) as ddl:
            ddl.execute(f'ALTER TABLE "{schema}".lk ADD COLUMN extra int')
            time.sleep(40)
            ddl.rollback()

    holder = threading.Thread(target=migrate)
    holder.start()
    time.sleep(2)
    # the client: BEGIN, the call, and gone while the call waits (a process killed)
    script = (f"import psycopg\nc = psycopg.connect({dsn!r})\n"
              f"c.execute('SET search_path = \"{schema}\"')\nc.execute('SELECT ins(1)')\n")
    client = subprocess.Popen([sys.executable, "-c", script])
    time.sleep(3)
    client.kill()
    client.wait()
    holder.join()
    time.sleep(8)  # the loopback's statement goes on once the ALTER is gone
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        assert conn.execute("SELECT count(*) FROM lk").fetchone() == (0,)
        assert conn.execute("SELECT ins(2)").fetchone() == (2,)  # the loopback still works
        assert conn.execute("SELECT count(*) FROM lk").fetchone() == (1,)
