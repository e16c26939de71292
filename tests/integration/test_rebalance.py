"""Elasticity: `gridpg node add` (a new local group), `gridpg rebalance` while clients write,
`gridpg node drain`, and a rebalance interrupted by kill -9 finished by the next run.

Every client owns its keys, so the exact final state is known from what each client had
acknowledged; the check is that state, row for row (and, for node add + rebalance, a plain
PostgreSQL fed the same acknowledged statements ends with the same tables), plus: no write
failed, no write waited 2 s, and rows per group end within 10% of each other.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from tests.conftest import server_dir

MAX_WAIT = 2.0  # seconds any write may take while shards move
TABLES = ("items", "events")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with server_dir("rebalance") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 28000 + (os.getpid() % 50) * 20).take()
        topology = build_default(datanodes=2, coordinators=2, port=base)
        cluster.create(topology, lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
                conn.execute("CREATE TABLE items (id int PRIMARY KEY, val int NOT NULL) DISTRIBUTE BY HASH (id)")
                # no key: logical replication needs REPLICA IDENTITY FULL for its UPDATEs
                conn.execute("CREATE TABLE events (item_id int NOT NULL, n int NOT NULL) DISTRIBUTE BY HASH (item_id)")
                conn.execute("CREATE TABLE kinds (k int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION")
                conn.execute("INSERT INTO items SELECT g, 0 FROM generate_series(1, 6000) g")
                conn.execute("INSERT INTO events SELECT g % 3000 + 1, 0 FROM generate_series(1, 3000) g")
                conn.execute("INSERT INTO kinds SELECT g, 'kind ' || g FROM generate_series(1, 20) g")
            yield cluster
        finally:
            cluster.down(lambda _m: None)


def gridpg(cluster: Cluster, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gridpg", *args, "--dir", str(cluster.dir)],
                          capture_output=True, text=True, timeout=timeout, check=False)


def show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@dataclass
class Client:
    """Inserts and updates its own rows (ids from `base`), alone or in a transaction, and
    records what each acknowledged write changed and how long it took."""

    dsn: str
    base: int
    seed: int
    items: dict[int, int] = field(default_factory=dict)
    events: dict[int, list[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    writes: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: list[list[tuple[str, tuple[int, ...]]]] = field(default_factory=list)  # statements, by transaction

    def run(self, limit: float = 240.0) -> None:
        rng = random.Random(self.seed)
        deadline = time.monotonic() + limit
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    self._one(conn, rng)
                except psycopg.Error as exc:
                    self.failures.append(str(exc).splitlines()[0])
                    return  # the outcome of that write is unknown: the expected state ends here
                self.slowest = max(self.slowest, time.monotonic() - started)
                self.writes += 1
                time.sleep(0.003)

    def _one(self, conn: psycopg.Connection, rng: random.Random) -> None:
        choice = rng.random()
        if choice < 0.4 or not self.items:
            key = self.base + len(self.items)
            self._run(conn, [("INSERT INTO items VALUES (%s, 0)", (key,))])
            self.items[key] = 0
            self._run(conn, [("INSERT INTO events VALUES (%s, 0)", (key,))])
            self.events[key] = [0]
        elif choice < 0.8:
            key = rng.choice(list(self.items))
            self._run(conn, [("UPDATE items SET val = val + 1 WHERE id = %s", (key,))])
            self.items[key] += 1
            self._run(conn, [("UPDATE events SET n = n + 1 WHERE item_id = %s", (key,))])
            self.events[key] = [n + 1 for n in self.events[key]]
        else:
            key = rng.choice(list(self.items))
            self._run(conn, [("UPDATE items SET val = val + 1 WHERE id = %s", (key,)),
                             ("INSERT INTO events VALUES (%s, 0)", (key,))])
            self.items[key] += 1
            self.events[key].append(0)

    def _run(self, conn: psycopg.Connection, statements: list[tuple[str, tuple[int, ...]]]) -> None:
        """One transaction (a single statement runs alone); recorded once acknowledged."""
        if len(statements) == 1:
            conn.execute(*statements[0])
        else:
            with conn.transaction():
                for sql, params in statements:
                    conn.execute(sql, params)
        self.acknowledged.append(statements)


def start_clients(cluster: Cluster, count: int, base: int) -> tuple[list[Client], list[threading.Thread]]:
    clients = [Client(cluster.dsn(i % 2), base + i * 100_000, seed=base + i) for i in range(count)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    return clients, threads


def stop_clients(clients: list[Client], threads: list[threading.Thread]) -> None:
    for client in clients:
        client.stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)


def check_clients(cluster: Cluster, clients: list[Client]) -> None:
    """No failure, no slow write, and exactly the acknowledged state in the cluster."""
    assert [c.failures for c in clients] == [[]] * len(clients)
    assert all(c.writes > 10 for c in clients), [c.writes for c in clients]
    slowest = max(c.slowest for c in clients)
    print(f"writes: {sum(c.writes for c in clients)}, slowest {slowest:.3f} s")
    assert slowest < MAX_WAIT, f"a write waited {slowest:.2f} s"
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        for client in clients:
            low, high = client.base, client.base + 99_999
            items = dict(conn.execute("SELECT id, val FROM items WHERE id BETWEEN %s AND %s", (low, high)).fetchall())
            assert items == client.items
            rows = conn.execute("SELECT item_id, n FROM events WHERE item_id BETWEEN %s AND %s "
                                "ORDER BY item_id, n", (low, high)).fetchall()
            expected = sorted((k, n) for k, ns in client.events.items() for n in ns)
            assert rows == expected
        assert conn.execute("SELECT count(*) FROM items WHERE id <= 6000").fetchone()[0] == 6000
        assert conn.execute("SELECT count(*) FROM events WHERE item_id <= 6000").fetchone()[0] == 3000
        assert conn.execute("SELECT count(*) FROM kinds").fetchone()[0] == 20


def same_as_plain_postgresql(cluster: Cluster, clients: list[Client], plain_pg: str) -> None:
    """A plain PostgreSQL fed the fixture's rows and every acknowledged statement of every
    client (each client's in its order: the clients' rows are disjoint) ends with the same
    items and events as the cluster."""
    with psycopg.connect(plain_pg, autocommit=True) as plain:
        plain.execute("DROP SCHEMA IF EXISTS rebalance_oracle CASCADE")
        plain.execute("CREATE SCHEMA rebalance_oracle")
        plain.execute("SET search_path TO rebalance_oracle")
        plain.execute("CREATE TABLE items (id int PRIMARY KEY, val int NOT NULL)")
        plain.execute("CREATE TABLE events (item_id int NOT NULL, n int NOT NULL)")
        plain.execute("INSERT INTO items SELECT g, 0 FROM generate_series(1, 6000) g")
        plain.execute("INSERT INTO events SELECT g % 3000 + 1, 0 FROM generate_series(1, 3000) g")
        for client in clients:
            for statements in client.acknowledged:
                with plain.transaction():
                    for sql, params in statements:
                        plain.execute(sql, params)
        want = [plain.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES]
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        got = [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES]
    assert got == want, "the cluster's tables differ from a plain PostgreSQL fed the same statements"


def on_groups(cluster: Cluster) -> dict[str, dict[str, int]]:
    """Rows of each table counted on each group's primary (the catalog says where)."""
    cluster.reload()
    out = {}
    password = cluster.password()
    for group in cluster.topology.groups:
        spec = group.primary
        with psycopg.connect(f"postgresql://postgres:{password}@{spec.host}:{spec.port}/postgres") as conn:
            counts = {}
            for table in (*TABLES, "kinds"):
                if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None:
                    counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            out[group.name] = counts
    return out


def leftovers(cluster: Cluster) -> list[str]:
    """Replication objects, loose shard tables or prepared transactions left anywhere."""
    found = []
    password = cluster.password()
    for group in cluster.topology.groups:
        spec = group.primary
        with psycopg.connect(f"postgresql://postgres:{password}@{spec.host}:{spec.port}/postgres") as conn:
            for what, sql in (
                ("publication", "SELECT pubname FROM pg_publication"),
                ("subscription", "SELECT subname FROM pg_subscription"),
                ("slot", "SELECT slot_name FROM pg_replication_slots"),
                ("loose table", ("SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                 "WHERE n.nspname = 'gridpg_shards' AND c.relkind = 'r' AND NOT c.relispartition")),
                ("move check", "SELECT conname FROM pg_constraint WHERE conname = 'gridpg_move_check'"),
                ("prepared", "SELECT gid FROM pg_prepared_xacts"),
            ):
                found += [f"{group.name} {what} {r[0]}" for r in conn.execute(sql).fetchall()]
    return found


def assert_balanced(cluster: Cluster, groups: list[str], within: float = 0.10) -> None:
    counts = on_groups(cluster)
    rows = {g: sum(counts[g].get(t, 0) for t in TABLES) for g in groups}
    print(f"rows per group: {rows}")
    assert (max(rows.values()) - min(rows.values())) / max(rows.values()) <= within, rows


def placement(cluster: Cluster) -> dict[str, int]:
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        return dict(conn.execute("SELECT datanode_group, count(*) FROM gridpg.shard GROUP BY 1").fetchall())


def test_node_add_then_rebalance_while_clients_write(cluster: Cluster, plain_pg: str) -> None:
    routed = psycopg.connect(cluster.dsn(0), autocommit=True)  # prepared before the moves
    keys = list(range(1, 6001, 37))
    before = _routed_reads(routed, keys)
    clients, threads = start_clients(cluster, 8, 1_000_000)
    try:
        time.sleep(1.0)
        added = gridpg(cluster, "node", "add")
        assert added.returncode == 0, show(added)
        new = _newest_group(cluster)
        # a new group: started, in the topology and the catalog, reference tables on it
        assert on_groups(cluster)[new] == {"kinds": 20}
        dry = gridpg(cluster, "rebalance", "--dry-run")
        assert dry.returncode == 0 and "rebalance plan" in dry.stderr and new in dry.stderr, show(dry)
        moved = gridpg(cluster, "rebalance")
        assert moved.returncode == 0, show(moved)
        assert "writes held at most" in moved.stderr, show(moved)
        time.sleep(1.0)
    finally:
        stop_clients(clients, threads)
    check_clients(cluster, clients)
    same_as_plain_postgresql(cluster, clients, plain_pg)
    assert_balanced(cluster, [g.name for g in cluster.topology.groups])
    assert placement(cluster).get(new, 0) > 0
    assert leftovers(cluster) == []
    shards = json.loads(gridpg(cluster, "status", "--shards", "--json").stdout)
    counted = on_groups(cluster)
    for usage in shards:  # status --shards agrees with the rows on each group
        table = usage["table"].split(".", 1)[1]
        assert usage["rows"] == counted[usage["group"]].get(table), usage
    again = gridpg(cluster, "rebalance")  # balanced now: nothing (or almost nothing) to move
    assert again.returncode == 0, show(again)
    # A statement prepared before the moves names each key's shard on the group that holds
    # it now (its plan is made again for the new catalog epoch), with the same answers.
    assert _routed_reads(routed, keys) == before
    routed.close()
    spec = next(g for g in cluster.topology.groups if g.name == new).primary
    with psycopg.connect(f"postgresql://postgres:{cluster.password()}@{spec.host}:{spec.port}/postgres") as node:
        texts = [r[0] for r in node.execute("SELECT query FROM pg_stat_activity WHERE strpos(query, '/* routed */') > 0 "
                                            "AND pid <> pg_backend_pid()")]
        # the moved copies' indexes are named after their table's (commands/shard_indexes.py)
        indexes = [r[0] for r in node.execute(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE c.relnamespace = 'gridpg_shards'::regnamespace "
            "AND EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid)")]
    assert texts and all('gridpg_shards."public.items_' in t for t in texts), texts
    assert indexes and all(":" in name for name in indexes), indexes


def _routed_reads(conn: psycopg.Connection, keys: list[int]) -> list[tuple[int, int]]:
    """Each key's row through a prepared routed statement (the shard route), checked
    against the same rows read by a statement over every node."""
    want = conn.execute("SELECT id, val FROM items WHERE id = ANY(%s) ORDER BY id", (keys,)).fetchall()
    got = [row for key in keys
           for row in conn.execute("/* routed */ SELECT id, val FROM items WHERE id = %s", (key,), prepare=True)]
    assert got == want
    return got


def _newest_group(cluster: Cluster) -> str:
    cluster.reload()
    return cluster.topology.groups[-1].name


def test_rebalance_killed_mid_move_is_finished_by_the_next_run(cluster: Cluster) -> None:
    added = gridpg(cluster, "node", "add")
    assert added.returncode == 0, show(added)
    new = _newest_group(cluster)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:  # a copy that lasts a while
        conn.execute("INSERT INTO items SELECT g, 0 FROM generate_series(6001, 60000) g")
    proc = subprocess.Popen([sys.executable, "-m", "gridpg", "rebalance", "--dir", str(cluster.dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for_subscription(cluster, new, timeout=120), "no copy started"
        time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    state = cluster.run_dir / "rebalance.json"
    assert state.exists()  # the move in flight was recorded
    resumed = gridpg(cluster, "rebalance")
    assert resumed.returncode == 0, show(resumed)
    assert "interrupted" in resumed.stderr, show(resumed)
    assert not state.exists()
    assert leftovers(cluster) == []
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM items WHERE id <= 60000").fetchone() == (60000, 60000)
        assert conn.execute("SELECT count(*) FROM events WHERE item_id <= 6000").fetchone()[0] == 3000
    assert_balanced(cluster, [g.name for g in cluster.topology.groups])


def _wait_for_subscription(cluster: Cluster, group: str, timeout: float) -> bool:
    spec = next(g.primary for g in cluster.topology.groups if g.name == group)
    dsn = f"postgresql://postgres:{cluster.password()}@{spec.host}:{spec.port}/postgres"
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM pg_subscription WHERE subname LIKE 'gridpg_move_c%'").fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_drain_empties_a_group_while_clients_write(cluster: Cluster) -> None:
    clients, threads = start_clients(cluster, 4, 5_000_000)
    try:
        time.sleep(0.5)
        drained = gridpg(cluster, "node", "drain", "dn1")
        assert drained.returncode == 0, show(drained)
        time.sleep(0.5)
    finally:
        stop_clients(clients, threads)
    check_clients(cluster, clients)
    assert "dn1" not in placement(cluster)
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        groups = [g for (g,) in conn.execute("SELECT groups FROM gridpg.dist_table").fetchall()]
    assert groups and all("dn1" not in g for g in groups)
    assert on_groups(cluster)["dn1"] == {}  # parents and reference copy dropped there
    assert leftovers(cluster) == []
    removed = gridpg(cluster, "node", "remove", "dn1")
    assert removed.returncode == 0, show(removed)
    cluster.reload()
    assert "dn1" not in [g.name for g in cluster.topology.groups]
    others = [g.name for g in cluster.topology.groups]
    # 32 shard groups over 3 groups cannot do better than 11:10 when shards are of one size
    # (9%); the planner uses their differences, but a drain is not held to the 10% here
    assert_balanced(cluster, others, within=0.15)


def test_drain_of_an_unknown_group_is_a_clear_error(cluster: Cluster) -> None:
    result = gridpg(cluster, "node", "drain", "nosuchgroup")
    assert result.returncode == 1 and "no datanode group named 'nosuchgroup'" in result.stderr, show(result)


def test_switch_function_refuses_a_stale_placement(cluster: Cluster) -> None:
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        colocation, remainder, group = conn.execute(
            "SELECT t.colocation_id, s.remainder, s.datanode_group FROM gridpg.shard s JOIN gridpg.dist_table t "
            "USING (schema_name, table_name) LIMIT 1").fetchone()
        other = next(g for g in placement(cluster) if g != group)
        change = json.dumps({"kind": "move", "colocation": colocation, "remainder": remainder,
                             "source": other, "target": group})
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT gridpg_switch_placement(%s)", (change,))
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT gridpg_switch_placement('not json')")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("""SELECT gridpg_switch_placement('{"kind": "move"}')""")
        conn.execute("CREATE ROLE rebalance_nobody LOGIN PASSWORD 'nobody-pw'")
        try:
            dsn = cluster.dsn(1, user="rebalance_nobody").replace(f":{cluster.password()}@", ":nobody-pw@")
            with psycopg.connect(dsn, autocommit=True) as nobody, \
                    pytest.raises(psycopg.errors.InsufficientPrivilege):
                nobody.execute("SELECT gridpg_switch_placement(%s)", (change,))
        finally:
            conn.execute("DROP ROLE rebalance_nobody")
        assert conn.execute("SELECT count(*) FROM items WHERE id <= 6000").fetchone()[0] == 6000



def test_switch_holds_only_the_moving_shard_group(cluster: Cluster) -> None:
    """During a switch a transaction on another shard of the *same* table on the *same*
    source group stays open and keeps working (the old cluster-wide pause could never
    drain it); writers to the moving shard from both coordinators wait for the switch and
    land on the new group, none lost or doubled; a REPEATABLE READ snapshot older than the
    switch gets 40001 on the moved shard."""
    import asyncio

    from gridpg.cluster import rebalance, shard_move
    from gridpg.cluster.rebalance_plan import Move
    from gridpg.planner.hashing import shard_for_text

    view = asyncio.run(rebalance.load_view(cluster))
    items = view.snapshot.table("public", "items")
    assert items is not None and items.shard_count
    unit = next(u for u in asyncio.run(rebalance.measure(view)) if "public.items" in u.tables)
    target = next(g for g in view.groups() if g != unit.group)
    spec = rebalance.move_spec(view, Move(unit, unit.group, target))
    ends = shard_move.Endpoints(view.primary(spec.source), view.primary(spec.target), view.pg_bin)

    def remainder(key: int) -> int:
        return shard_for_text(items.column_type or "", str(key), items.shard_count or 1)

    keys = range(1, 6001)  # rows of the fixture's items
    still = next(k for k in keys if remainder(k) != unit.remainder
                 and view.snapshot.shard_group("public", "items", remainder(k)) == unit.group)
    moving = next(k for k in keys if remainder(k) == unit.remainder)
    fresh = [k for k in range(9_000_000, 9_200_000) if remainder(k) == unit.remainder]
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        value_before = conn.execute("SELECT val FROM items WHERE id = %s", (still,)).fetchone()[0]

    async def copy() -> None:
        await shard_move.prepare(spec, ends)
        await shard_move.start_copy(spec, ends)
        await shard_move.wait_synced(spec, ends, lambda _d, _t: None, 0)

    asyncio.run(copy())
    waited_before = [_held_statements(cluster, i) for i in (0, 1)]
    acked: list[list[int]] = [[], []]
    failures: list[str] = []
    slowest = [0.0, 0.0]
    stop = threading.Event()

    def writer(index: int) -> None:  # inserts into the moving shard group, autocommit
        mine = fresh[index::2]
        deadline = time.monotonic() + 120
        with psycopg.connect(cluster.dsn(index), autocommit=True) as conn:
            for key in mine:
                if stop.is_set() or time.monotonic() > deadline:
                    return
                started = time.monotonic()
                try:
                    conn.execute("INSERT INTO items VALUES (%s, 7)", (key,))
                    conn.execute("INSERT INTO events VALUES (%s, 7)", (key,))
                except psycopg.Error as exc:
                    failures.append(str(exc).splitlines()[0])
                    return
                acked[index].append(key)
                slowest[index] = max(slowest[index], time.monotonic() - started)
                time.sleep(0.002)

    other = psycopg.connect(cluster.dsn(0))  # the long transaction on a shard that stays
    snap = psycopg.connect(cluster.dsn(1), autocommit=True)  # REPEATABLE READ, snapshot before the switch
    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in (0, 1)]
    try:
        other.execute("UPDATE items SET val = val + 100 WHERE id = %s", (still,))
        snap.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snap.execute("SELECT val FROM items WHERE id = %s", (still,)).fetchone()
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        other_latency: list[float] = []
        done = threading.Event()

        def keep_working() -> None:  # statements of the open transaction during the switch
            while not done.is_set() and len(other_latency) < 2000:
                started = time.monotonic()
                other.execute("UPDATE items SET val = val + 1 WHERE id = %s", (still,))
                other_latency.append(time.monotonic() - started)
                time.sleep(0.005)

        worker = threading.Thread(target=keep_working, daemon=True)
        worker.start()
        notes: list[str] = []
        try:
            held = asyncio.run(shard_move.switch(spec, view.coordinators, notes.append, ends.target))
        except shard_move.MoveError as exc:
            raise AssertionError(f"{exc}: {notes[:3]}") from None
        done.set()
        worker.join(timeout=30)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        print(f"switch {held:.3f} s; open transaction: {len(other_latency)} statements, slowest "
              f"{max(other_latency):.3f} s; moving-shard writers slowest {max(slowest):.3f} s, "
              f"{sum(map(len, acked))} rows")
        assert other_latency and max(other_latency) < 1.0, max(other_latency)
        with pytest.raises(psycopg.errors.SerializationFailure):
            snap.execute("SELECT val FROM items WHERE id = %s", (moving,))
        snap.execute("ROLLBACK")
        bumps = len(other_latency)
        other.commit()  # still open across the whole switch: commits normally
    finally:
        stop.set()
        other.close()
        snap.close()
    assert failures == []
    assert all(len(a) > 5 for a in acked), [len(a) for a in acked]
    waited = [_held_statements(cluster, i) - waited_before[i] for i in (0, 1)]
    assert all(n > 0 for n in waited), waited  # writers to the moving shard waited on both
    keys_acked = sorted(acked[0] + acked[1])
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        found = conn.execute("SELECT count(*), count(DISTINCT id) FROM items WHERE id >= 9000000").fetchone()
        assert found == (len(keys_acked), len(keys_acked))
        assert conn.execute("SELECT count(*) FROM events WHERE item_id >= 9000000").fetchone()[0] == len(keys_acked)
        assert conn.execute("SELECT val FROM items WHERE id = %s", (still,)).fetchone()[0] == \
            value_before + 100 + bumps
    password = cluster.password()
    for group, expected in ((spec.target, len(keys_acked)), (spec.source, 0)):  # rows where they belong
        node = view.primary(group)
        with psycopg.connect(f"postgresql://postgres:{password}@{node.host}:{node.port}/postgres") as conn:
            assert conn.execute("SELECT count(*) FROM items WHERE id >= 9000000").fetchone()[0] == expected
    asyncio.run(shard_move.cleanup(spec, ends))
    assert leftovers(cluster) == []
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        conn.execute("DELETE FROM events WHERE item_id >= 9000000")
        conn.execute("DELETE FROM items WHERE id >= 9000000")
        conn.execute("UPDATE items SET val = 0 WHERE id = %s", (still,))


def _held_statements(cluster: Cluster, index: int) -> float:
    """Statements a coordinator held for a switch and then ran (its Prometheus metrics)."""
    import urllib.request

    port = cluster.topology.coordinators[index].metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    name = 'gridpg_shard_hold_wait_seconds_count{outcome="released"} '
    return sum(float(line[len(name):]) for line in text.splitlines() if line.startswith(name))


@pytest.mark.parametrize("switched", [False, True])
def test_a_recorded_half_done_move_is_undone_or_finished(cluster: Cluster, switched: bool) -> None:
    """A copy recorded in run/rebalance.json before (undone) or after (finished) its switch."""
    import asyncio

    from gridpg.cluster import rebalance, shard_move
    from gridpg.cluster.rebalance_plan import Move

    async def half_move() -> tuple[str, int, str]:
        view = await rebalance.load_view(cluster)
        unit = (await rebalance.measure(view))[0]
        target = next(g for g in view.groups() if g != unit.group)
        spec = rebalance.move_spec(view, Move(unit, unit.group, target))
        ends = shard_move.Endpoints(view.primary(spec.source), view.primary(spec.target), view.pg_bin)
        rebalance._save_state(cluster.run_dir / rebalance.STATE_FILE, spec)
        await shard_move.prepare(spec, ends)
        rebalance._save_state(cluster.run_dir / rebalance.STATE_FILE, spec)
        await shard_move.start_copy(spec, ends)
        await shard_move.wait_synced(spec, ends, lambda _d, _t: None, 0)
        if switched:
            await shard_move.switch(spec, view.coordinators, lambda _m: None)
            spec.step = "switched"
            rebalance._save_state(cluster.run_dir / rebalance.STATE_FILE, spec)
        return unit.group, unit.remainder, target

    before = placement(cluster)
    rows_before = _totals(cluster)
    source, remainder, target = asyncio.run(half_move())
    assert leftovers(cluster) != []  # replication objects of the half-done move
    result = gridpg(cluster, "rebalance", "--dry-run")  # a dry run leaves it alone
    assert (cluster.run_dir / "rebalance.json").exists(), show(result)
    result = gridpg(cluster, "rebalance")
    assert result.returncode == 0, show(result)
    word = "finishing" if switched else "undoing"
    assert f"{word} the interrupted move of shard {remainder}" in result.stderr, show(result)
    assert not (cluster.run_dir / "rebalance.json").exists()
    assert leftovers(cluster) == []
    assert _totals(cluster) == rows_before
    assert sum(placement(cluster).values()) == sum(before.values())
    where = placement(cluster)
    assert where.get(target if switched else source, 0) > 0


def _totals(cluster: Cluster) -> tuple[int, ...]:
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM items), (SELECT count(DISTINCT id) FROM items), "
                           "(SELECT sum(val) FROM items), (SELECT count(*) FROM events), "
                           "(SELECT sum(n) FROM events), (SELECT count(*) FROM kinds)").fetchone()
    return tuple(int(v or 0) for v in row)


def test_ddl_during_a_move_stops_it_and_the_next_run_redoes_it(cluster: Cluster) -> None:
    """Not supported, but never silent: ALTER TABLE while a shard of it is being copied
    makes the switch fail (the copy lacks the column); the next run undoes and redoes it."""
    import asyncio

    from gridpg.cluster import rebalance, shard_move
    from gridpg.cluster.rebalance_plan import Move

    async def copy_then_alter_then_switch() -> str:
        view = await rebalance.load_view(cluster)
        unit = next(u for u in await rebalance.measure(view) if any(t.endswith(".items") for t in u.tables))
        target = next(g for g in view.groups() if g != unit.group)
        spec = rebalance.move_spec(view, Move(unit, unit.group, target))
        ends = shard_move.Endpoints(view.primary(spec.source), view.primary(spec.target), view.pg_bin)
        rebalance._save_state(cluster.run_dir / rebalance.STATE_FILE, spec)
        await shard_move.prepare(spec, ends)
        rebalance._save_state(cluster.run_dir / rebalance.STATE_FILE, spec)
        await shard_move.start_copy(spec, ends)
        await shard_move.wait_synced(spec, ends, lambda _d, _t: None, 0)
        with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
            conn.execute("ALTER TABLE items ADD COLUMN note text DEFAULT 'n'")
        with pytest.raises(shard_move.MoveError) as stopped:
            await shard_move.switch(spec, view.coordinators, lambda _m: None, ends.target)
        return str(stopped.value)

    rows_before = _totals(cluster)
    message = asyncio.run(copy_then_alter_then_switch())
    assert "note" in message or "replication" in message, message
    result = gridpg(cluster, "rebalance")
    assert result.returncode == 0, show(result)
    assert "undoing the interrupted move" in result.stderr, show(result)
    assert leftovers(cluster) == []
    assert _totals(cluster) == rows_before
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM items WHERE note = 'n'").fetchone()[0] == rows_before[0]


def test_an_added_group_survives_a_restart(cluster: Cluster) -> None:
    """The group `node add` created is in the topology: `down` stops it, `up` starts it,
    and every row is read back through both coordinators."""
    rows_before = _totals(cluster)
    cluster.reload()
    added = [g.name for g in cluster.topology.groups if g.name not in ("dn1", "dn2")]
    assert added
    cluster.down(lambda _m: None)
    cluster.up(lambda _m: None)
    assert _totals(cluster) == rows_before
    status = json.loads(gridpg(cluster, "status", "--json").stdout)
    states = {row["name"]: row["state"] for row in status}
    assert all(states[name] == "running" for name in added), states
    with psycopg.connect(cluster.dsn(1), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == rows_before[0]
