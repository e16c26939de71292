"""A client that goes away while its statement runs on the datanodes (the process killed):
the coordinator cancels the statement there and rolls its transaction back, as PostgreSQL's
backend stops when its client is gone. Before, the datanodes ran it to its end (a 30 s
sleep per row) for nobody, holding its locks and transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster

_CLIENT = """
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for sql in sys.argv[2:]:
        conn.execute(sql)
"""


def _busy(datanodes: dict[str, str], marker: str) -> list[tuple[str, str]]:
    """(node, state) of the datanodes' backends still on the statement or in its block."""
    out = []
    for node, dsn in sorted(datanodes.items()):
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT state FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                "AND state <> 'idle' AND query LIKE %s", (f"%{marker}%",)).fetchall()
        out += [(node, r[0]) for r in rows]
    return out


@pytest.mark.parametrize("in_block", [False, True])
def test_a_killed_clients_statement_is_cancelled_on_the_datanodes(gridpg_cluster: Cluster, schema: str,
                                                                  datanodes: dict[str, str], in_block: bool) -> None:
    s = schema
    marker = f"gone_{s}_{int(in_block)}"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.slow (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {s}.slow SELECT g, 'v' FROM generate_series(1, 8) g")
    statements = [f"/* {marker} */ SELECT pg_sleep(30) FROM {s}.slow"]
    if in_block:
        statements = ["BEGIN", f"UPDATE {s}.slow SET v = 'changed' WHERE id = 1", *statements]
    client = subprocess.Popen([sys.executable, "-c", _CLIENT, gridpg_cluster.dsn(0), *statements])
    try:
        deadline = time.monotonic() + 20
        while not _busy(datanodes, marker):  # the statement reached the datanodes
            assert client.poll() is None and time.monotonic() < deadline, "the statement did not start"
            time.sleep(0.2)
        os.kill(client.pid, signal.SIGKILL)
        client.wait(10)
        deadline = time.monotonic() + 10  # PostgreSQL's own answer would be at once
        while _busy(datanodes, marker):
            assert time.monotonic() < deadline, _busy(datanodes, marker)
            time.sleep(0.2)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(10)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute(f"SELECT v FROM {s}.slow WHERE id = 1").fetchone() == ("v",)
        # the row is not locked by a transaction left open
        conn.execute("SET lock_timeout = '2s'")
        conn.execute(f"UPDATE {s}.slow SET v = 'after' WHERE id = 1")
