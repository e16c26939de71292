"""The monitor resolves in-doubt 2PC transactions while their coordinator stays down
(and those a running coordinator lost), from the GTM's decision log; user GIDs are never
touched; `SELECT gridpg_recover_prepared()` and `gridpg recover` do the same by hand."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.gtm.client import GtmClient

ACCOUNTS = 40
INITIAL = 100


def prepare(dsn: str, sql: str, gid: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute(sql)
        conn.execute(f"PREPARE TRANSACTION '{gid}'")


def prepared(datanodes: dict[str, str], catalogs: dict[str, str]) -> list[tuple[str, str]]:
    found = []
    for name, dsn in {**datanodes, **catalogs}.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            found += [(name, r[0]) for r in conn.execute("SELECT gid FROM pg_prepared_xacts")]
    return found


def log_decision(cluster: Cluster, gid: str, nodes: list[str]) -> None:
    gtm = cluster.topology.gtm

    async def call() -> None:
        client = GtmClient(gtm.host, gtm.port)
        try:
            await client.txn_log_commit(gid, nodes)
        finally:
            await client.close()

    asyncio.run(call())


def transfers(dsn: str, table: str, until: float, done: list[int], errors: list[str]) -> None:
    rng = random.Random()
    try:
        conn = psycopg.connect(dsn)
    except psycopg.Error as exc:
        errors.append(str(exc))
        return
    with conn:
        while time.monotonic() < until:
            a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
            try:
                conn.execute(f"UPDATE {table} SET balance = balance - 1 WHERE id = %s", (a,))
                conn.execute(f"UPDATE {table} SET balance = balance + 1 WHERE id = %s", (b,))
                conn.commit()
                done.append(1)
            except psycopg.OperationalError as exc:
                errors.append(str(exc))
                return  # the coordinator is gone
            except psycopg.Error as exc:
                errors.append(str(exc))
                conn.rollback()


def total(dsn: str, table: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SELECT sum(balance) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_killed_coordinator_in_doubt_resolved_by_the_monitor(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str],
        catalogs: dict[str, str]) -> None:
    table = f"{schema}.acc"
    coord1, coord2 = (c.name for c in gridpg_cluster.topology.coordinators[:2])
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH(id)")
        conn.execute(f"INSERT INTO {table} SELECT g, {INITIAL} FROM generate_series(1, {ACCOUNTS}) g")
        conn.execute(f"CREATE TABLE {schema}.r (v int) DISTRIBUTE BY ROUNDROBIN")
    first, second = sorted(datanodes)[:2]
    committed, aborted = f"gridpg_910000001_{coord1}", f"gridpg_910000002_{coord1}"
    lost = f"gridpg_910000003_{coord2}"  # its coordinator runs but never finished it
    user = "user_prepared_910000004"  # a client's own PREPARE TRANSACTION: never touched
    for node in (first, second):
        prepare(datanodes[node], f"INSERT INTO {schema}.r VALUES (1)", committed)
        prepare(datanodes[node], f"INSERT INTO {schema}.r VALUES (2)", aborted)
        prepare(datanodes[node], f"INSERT INTO {schema}.r VALUES (3)", lost)
    prepare(datanodes[first], f"INSERT INTO {schema}.r VALUES (4)", user)
    log_decision(gridpg_cluster, committed, [first, second])

    # Transfers through both coordinators; coordinator 1 dies with SIGKILL in the middle.
    done1: list[int] = []
    done2: list[int] = []
    errors1: list[str] = []
    errors2: list[str] = []
    until = time.monotonic() + 12
    writers = [threading.Thread(target=transfers, args=(gridpg_cluster.dsn(0), table, until, done1, errors1))
               for _ in range(3)]
    writers += [threading.Thread(target=transfers, args=(gridpg_cluster.dsn(1), table, until, done2, errors2))
                for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        time.sleep(2)
        pid = processes.running_pid(gridpg_cluster.dir, coord1)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        at_kill = len(done2)
        deadline = killed + 30
        own_gone_after = None
        while time.monotonic() < deadline:
            left = [p for p in prepared(datanodes, catalogs) if p[1].startswith("gridpg_")]
            if own_gone_after is None and not [p for p in left if p[1].endswith(f"_{coord1}")]:
                own_gone_after = time.monotonic() - killed
            if not left:
                break
            time.sleep(0.25)
        resolved_after = time.monotonic() - killed
        for writer in writers:
            writer.join(timeout=30)
        assert not left, f"still prepared {resolved_after:.1f} s after the kill: {left}"
        # The user's own prepared transaction is untouched, the others resolved as logged.
        assert prepared(datanodes, catalogs) == [(first, user)]
        assert len(done2) > at_kill, errors2[:3]  # the other coordinator went on
        assert not [e for e in errors2 if "deadlock" not in e], errors2[:3]
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
            values = sorted(r[0] for r in conn.execute(f"SELECT v FROM {schema}.r"))
        assert values == [1, 1]
        assert total(gridpg_cluster.dsn(1), table) == ACCOUNTS * INITIAL
        assert own_gone_after is not None and own_gone_after < 10  # not waiting for the bound
        print(f"{coord1}'s in-doubt transactions resolved {own_gone_after:.1f} s after the kill, "
              f"{coord2}'s lost one after {resolved_after:.1f} s; transfers "
              f"{len(done1)} via {coord1}, {len(done2)} via {coord2}")
    finally:
        with psycopg.connect(datanodes[first], autocommit=True) as conn:
            conn.execute(f"ROLLBACK PREPARED '{user}'")
        gridpg_cluster.up(lambda _m: None)
    assert total(gridpg_cluster.dsn(0), table) == ACCOUNTS * INITIAL


def test_recover_by_hand_sql_and_cli(gridpg_cluster: Cluster, schema: str,
                                     datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    coord2 = gridpg_cluster.topology.coordinators[1].name
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.r (v int) DISTRIBUTE BY ROUNDROBIN")
    first = min(datanodes)
    committed, aborted = f"gridpg_920000001_{coord2}", f"gridpg_920000002_{coord2}"
    prepare(datanodes[first], f"INSERT INTO {schema}.r VALUES (1)", committed)
    prepare(datanodes[first], f"INSERT INTO {schema}.r VALUES (2)", aborted)
    log_decision(gridpg_cluster, committed, [first])
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        # Younger than the bound and its coordinator runs: not in doubt yet.
        assert conn.execute("SELECT gridpg_recover_prepared()").fetchone() == (0,)
        assert {g for _, g in prepared(datanodes, catalogs)} >= {committed, aborted}
        # With a bound of 0 s both are in doubt (extended protocol, a bound parameter).
        count = conn.execute("SELECT gridpg_recover_prepared(%s)", (0,)).fetchone()
        assert count is not None and count[0] in (1, 2)  # the monitor may take one first
        values = sorted(r[0] for r in conn.execute(f"SELECT v FROM {schema}.r"))
    assert values == [1]
    assert not [g for _, g in prepared(datanodes, catalogs) if g.startswith("gridpg_92")]

    prepare(datanodes[first], f"INSERT INTO {schema}.r VALUES (5)", f"gridpg_920000003_{coord2}")
    result = subprocess.run([sys.executable, "-m", "gridpg", "recover", "--dir", str(gridpg_cluster.dir),
                             "--older-than", "0"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "rolled back" in result.stderr
    assert not [g for _, g in prepared(datanodes, catalogs) if g.startswith("gridpg_92")]
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS gridpg_no_super")
        conn.execute("CREATE ROLE gridpg_no_super LOGIN PASSWORD 'x'")
    host_part = gridpg_cluster.dsn(1).split("@", 1)[1]
    try:
        with (psycopg.connect(f"postgresql://gridpg_no_super:x@{host_part}", autocommit=True) as conn,
              pytest.raises(psycopg.errors.InsufficientPrivilege)):
            conn.execute("SELECT gridpg_recover_prepared()")
    finally:
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
            conn.execute("DROP ROLE gridpg_no_super")
