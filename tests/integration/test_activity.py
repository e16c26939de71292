"""gridpg_stat_activity and gridpg_lock_waits through either coordinator show every
coordinator's sessions and the node backends working for them (commands/activity.py)."""

from __future__ import annotations

import threading
import time

import psycopg

from gridpg.cluster.control import Cluster


def test_activity_and_lock_waits_across_coordinators(gridpg_cluster: Cluster, schema: str) -> None:
    table = f"{schema}.t"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH(id)")
        conn.execute(f"INSERT INTO {table} SELECT g, 0 FROM generate_series(1, 10) g")
    holder = psycopg.connect(gridpg_cluster.dsn(1), application_name="holder app")
    waiter = psycopg.connect(gridpg_cluster.dsn(1))
    done = threading.Event()
    try:
        holder.execute(f"UPDATE {table} SET v = 1 WHERE id = 3")

        def wait_for_lock() -> None:
            waiter.execute(f"UPDATE {table} SET v = 2 WHERE id = 3")
            waiter.commit()
            done.set()

        thread = threading.Thread(target=wait_for_lock)
        thread.start()
        time.sleep(0.5)
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            clients = conn.execute(
                "SELECT coordinator, gxid, state, query FROM gridpg_stat_activity "
                "WHERE kind = 'client' AND application_name = %s", ("holder app",)).fetchall()
            assert len(clients) == 1, clients
            coordinator, gxid, state, query = clients[0]
            assert coordinator == gridpg_cluster.topology.coordinators[1].name
            assert gxid is not None and state == "idle in transaction" and "SET v = 1" in query
            backends = conn.execute(
                "SELECT node, state FROM gridpg_stat_activity WHERE kind = 'backend' AND gxid = %s",
                (gxid,)).fetchall()
            assert backends and all(node.startswith("dn") for node, _ in backends), backends
            waits = conn.execute(
                "SELECT waiting_coordinator, waiting_gxid, blocking_gxid, waiting_query, lock "
                "FROM gridpg_lock_waits WHERE blocking_gxid = %s", (gxid,)).fetchall()
            assert len(waits) == 1, waits
            assert waits[0][0] == coordinator and waits[0][1] not in (None, gxid)
            assert "SET v = 2" in waits[0][3] and "ShareLock" in waits[0][4]
            count = conn.execute("SELECT count(*) FROM gridpg_stat_activity s "
                                 "WHERE s.kind = 'client'").fetchone()
            assert count is not None and count[0] >= 3  # holder, waiter, this session
        holder.commit()
        thread.join(timeout=10)
        assert done.is_set()
    finally:
        holder.close()
        waiter.close()
