"""Read consistency across nodes (DESIGN 6): every multi-node read sees a distributed
transaction on all of its nodes or on none, so the bank invariant holds on every read."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster

ACCOUNTS = 20
START = 1000


def test_sum_of_balances_is_constant_under_transfers(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.acct (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.acct SELECT g, {START} FROM generate_series(1, {ACCOUNTS}) g")
        owners: dict[str, list[int]] = {}
        for i in range(1, ACCOUNTS + 1):
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {schema}.acct WHERE id = {i}"))
            node = next(line.split(":", 1)[1].strip() for line in plan.splitlines() if "Nodes:" in line)
            owners.setdefault(node, []).append(i)
    assert len(owners) >= 2, owners
    left, right = list(owners.values())[:2]
    stop = time.monotonic() + 4
    errors: list[str] = []
    transfers = [0]

    def transfer() -> None:
        with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
            step = 0
            while time.monotonic() < stop:
                a, b = left[step % len(left)], right[step % len(right)]
                with conn.transaction():
                    conn.execute(f"UPDATE {schema}.acct SET balance = balance - 7 WHERE id = %s", (a,))
                    conn.execute(f"UPDATE {schema}.acct SET balance = balance + 7 WHERE id = %s", (b,))
                transfers[0] += 1
                step += 1

    worker = threading.Thread(target=transfer)
    worker.start()
    reads = 0
    try:
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as reader:
            while time.monotonic() < stop:
                total = reader.execute(f"SELECT sum(balance) FROM {schema}.acct").fetchone()[0]
                rows = reader.execute(f"SELECT balance FROM {schema}.acct").fetchall()
                reads += 1
                for seen in (total, sum(r[0] for r in rows)):
                    if seen != ACCOUNTS * START:
                        errors.append(f"read {reads}: sum {seen}")
    finally:
        worker.join(30)
    assert transfers[0] > 20 and reads > 20, (transfers[0], reads)
    assert not errors, errors[:5]


def _accounts_by_node(conn: psycopg.Connection, table: str, count: int) -> dict[str, list[int]]:
    owners: dict[str, list[int]] = {}
    for i in range(1, count + 1):
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {table} WHERE id = {i}"))
        node = next(line.split(":", 1)[1].strip() for line in plan.splitlines() if "Nodes:" in line)
        owners.setdefault(node, []).append(i)
    return owners


def _transfers(dsn: str, table: str, left: list[int], right: list[int], stop: float,
               done: list[int]) -> None:
    """Move 7 from a left account to a right one and back, one 2PC transaction each."""
    with psycopg.connect(dsn) as conn:
        step = 0
        while time.monotonic() < stop:
            a, b = left[step % len(left)], right[step % len(right)]
            if step % 2:
                a, b = b, a
            with conn.transaction():
                conn.execute(f"UPDATE {table} SET balance = balance - 7 WHERE id = %s", (a,))
                conn.execute(f"UPDATE {table} SET balance = balance + 7 WHERE id = %s", (b,))
            done[0] += 1
            step += 1


def test_repeatable_read_sees_one_snapshot_on_every_node(gridpg_cluster: Cluster, schema: str) -> None:
    """A REPEATABLE READ transaction first reads one node (a routed read), then, after
    transfers committed meanwhile, the total over every node: both reads are one snapshot,
    so the total is the constant and the first row is what the total's rows show. Before
    the cluster-wide snapshot, the second node took its snapshot when it joined, later,
    and the total was off by the transfers in between."""
    table = f"{schema}.rr_acct"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {table} SELECT g, {START} FROM generate_series(1, {ACCOUNTS}) g")
        owners = _accounts_by_node(conn, table, ACCOUNTS)
    assert len(owners) >= 2, owners
    left, right = list(owners.values())[:2]
    stop = time.monotonic() + 5
    done = [0]
    worker = threading.Thread(target=_transfers, args=(gridpg_cluster.dsn(0), table, left, right, stop, done))
    worker.start()
    errors: list[str] = []
    rounds = 0
    try:
        with psycopg.connect(gridpg_cluster.dsn(1)) as reader:
            reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            while time.monotonic() < stop:
                with reader.transaction():
                    first = reader.execute(f"/* one node */ SELECT balance FROM {table} WHERE id = %s",
                                           (left[0],)).fetchone()[0]
                    time.sleep(0.03)  # transfers commit on both nodes meanwhile
                    rows = dict(reader.execute(f"SELECT id, balance FROM {table}").fetchall())
                    total = reader.execute(f"SELECT sum(balance) FROM {table}").fetchone()[0]
                rounds += 1
                if total != ACCOUNTS * START or sum(rows.values()) != total or rows[left[0]] != first:
                    errors.append(f"round {rounds}: first {first}, row {rows[left[0]]}, "
                                  f"rows {sum(rows.values())}, total {total}")
    finally:
        worker.join(30)
    assert done[0] > 20 and rounds > 10, (done[0], rounds)
    assert not errors, errors[:5]


def test_fence_hold_fails_with_40001_when_a_commit_waits(gridpg_cluster: Cluster, schema: str,
                                                          datanodes: dict[str, str]) -> None:
    """A multi-node read whose node cannot take its snapshot (its table is locked there)
    holds the snapshot fence; once a 2PC commit waits for the fence, the read fails with
    40001 after gridpg.fence_timeout instead of reading without the guarantee, and the
    commit goes through. Without a waiting commit it would keep waiting, as for the lock."""
    locked = f"{schema}.locked"
    other = f"{schema}.other"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {locked} (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {locked} SELECT g, 1 FROM generate_series(1, 20) g")
        conn.execute(f"CREATE TABLE {other} (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {other} SELECT g, 0 FROM generate_series(1, 20) g")
        owners = _accounts_by_node(conn, other, 20)
    a, b = (ids[0] for ids in list(owners.values())[:2])
    outcome: dict[str, object] = {}
    with psycopg.connect(next(iter(datanodes.values()))) as holder:
        holder.execute(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE")

        def read() -> None:
            began = time.monotonic()
            with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
                conn.execute("SET gridpg.fence_timeout = 500")
                try:
                    conn.execute(f"SELECT sum(v) FROM {locked}")
                    outcome["read"] = "no error"
                except psycopg.errors.SerializationFailure as exc:
                    outcome["read"] = exc
                conn.execute("SELECT 1")  # the session carries on
            outcome["read_took"] = time.monotonic() - began

        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(1.5)  # the read holds the fence, blocked on the lock; nobody waits yet
        assert reader.is_alive(), outcome
        began = time.monotonic()
        with psycopg.connect(gridpg_cluster.dsn(0)) as conn, conn.transaction():
            conn.execute(f"UPDATE {other} SET v = v - 1 WHERE id = %s", (a,))
            conn.execute(f"UPDATE {other} SET v = v + 1 WHERE id = %s", (b,))
        committed_after = time.monotonic() - began
        reader.join(20)
        holder.rollback()
    assert not reader.is_alive()
    error = outcome["read"]
    assert isinstance(error, psycopg.errors.SerializationFailure), error
    assert "did not take its snapshot" in str(error) and "2PC commit waited" in str(error), str(error)
    assert committed_after < 5, committed_after
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        assert conn.execute(f"SELECT sum(v), count(*) FROM {other}").fetchone() == (0, 20)
        assert conn.execute(f"SELECT v FROM {other} WHERE id = %s", (a,)).fetchone() == (-1,)


def _open_labeled_blocks(datanodes: dict[str, str]) -> dict[str, int]:
    """Per datanode: gridpg transaction blocks idle in transaction now."""
    counts = {}
    for name, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            counts[name] = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'gridpg:%' "
                "AND state = 'idle in transaction'").fetchone()[0]
    return counts


def test_consistency_setting_decides_where_a_repeatable_read_transaction_opens(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    """cluster (default): a REPEATABLE READ transaction's first read of one row opens its
    block on every datanode; node: only where it reads. Bad values are refused."""
    table = f"{schema}.settings_acct"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 10)")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET gridpg.consistency = 'strong'")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET gridpg.fence_timeout = '-1'")
        for mode, expected in (("cluster", len(datanodes)), ("node", 1)):
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            conn.execute(f"SET LOCAL gridpg.consistency = {mode}")
            assert conn.execute(f"SELECT balance FROM {table} WHERE id = 1").fetchone() == (10,)
            counts = _open_labeled_blocks(datanodes)
            conn.execute("COMMIT")
            assert sum(counts.values()) == expected, (mode, counts)
        # The session default (as JDBC's SET SESSION CHARACTERISTICS sets it) counts too.
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("BEGIN")
        conn.execute(f"SELECT balance FROM {table} WHERE id = 1")
        counts = _open_labeled_blocks(datanodes)
        conn.execute("COMMIT")
        assert sum(counts.values()) == len(datanodes), counts
    with pytest.raises(psycopg.OperationalError, match="gridpg.consistency"):
        psycopg.connect(gridpg_cluster.dsn(1), options="-c gridpg.consistency=sometimes")


def test_fenced_multi_node_update_waiting_on_a_committer_lets_it_commit(
        gridpg_cluster: Cluster, schema: str) -> None:
    """A multi-node UPDATE holds the snapshot fence until its nodes answer or wait for a
    row lock (then their snapshots are taken); blocked on rows of a transfer whose COMMIT
    PREPARED then waits for that fence, it gives the fence back, the transfer commits and
    the UPDATE goes on, as on PostgreSQL: no deadlock, no hang. (It failed with 40001
    after gridpg.fence_timeout before h-apps7.)"""
    table = f"{schema}.upd_acct"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, balance int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {table} SELECT g, {START} FROM generate_series(1, {ACCOUNTS}) g")
        owners = _accounts_by_node(conn, table, ACCOUNTS)
    a, b = (ids[0] for ids in list(owners.values())[:2])
    outcome: dict[str, object] = {}

    def update_all() -> None:
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
            conn.execute("SET gridpg.fence_timeout = 500")
            try:
                conn.execute(f"UPDATE {table} SET balance = balance + 0")
                outcome["update"] = "no error"
            except psycopg.errors.SerializationFailure as exc:
                outcome["update"] = exc

    with psycopg.connect(gridpg_cluster.dsn(0)) as transfer:
        transfer.execute(f"UPDATE {table} SET balance = balance - 5 WHERE id = %s", (a,))
        transfer.execute(f"UPDATE {table} SET balance = balance + 5 WHERE id = %s", (b,))
        updater = threading.Thread(target=update_all)
        updater.start()
        time.sleep(1.5)  # the UPDATE holds the fence, waiting for the transfer's rows
        assert updater.is_alive(), outcome
        began = time.monotonic()
        transfer.commit()  # 2PC: COMMIT PREPARED waits for the fence
        took = time.monotonic() - began
    updater.join(20)
    assert not updater.is_alive()
    assert outcome["update"] == "no error", outcome
    assert took < 2, took
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        rows = dict(conn.execute(f"SELECT id, balance FROM {table}").fetchall())
    assert rows[a] == START - 5 and rows[b] == START + 5 and sum(rows.values()) == ACCOUNTS * START
