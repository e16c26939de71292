"""The monitor: gridpg's maintenance daemon (`python -m gridpg monitor --dir D`).

One process per cluster acts at a time: leadership is a lease in the GTM
(`lease_acquire("monitor", holder, ttl)`), renewed every `RENEW_EVERY` seconds. A monitor
acts only while its lease is valid by its own clock (measured from before the renewal was
sent, less a margin), and the GTM grants the lease to another holder only after it expired
by the GTM's clock, so two monitors never act at once; a restarted or second monitor takes
over within a lease period. A GTM that restarted while the lease was held grants it to
nobody for a lease period (gtm/coordination.py).

The leader runs periodic loops, each its own function of a `MonitorContext`, declared in
`LOOPS`:

1. `detect_deadlocks` (every second): the wait-for edges of every PostgreSQL primary
   (datanodes and catalog servers), merged over distributed transactions
   (txn/deadlock.py), each cycle confirmed by a second look, its youngest distributed
   transaction recorded as the victim in the GTM and its waiting backends cancelled.
2. `recover_prepared` (every 2 s): in-doubt 2PC transactions resolved (txn/recovery.py).
3. `check_datanode_groups` (every second, unless the topology says `failover = false`;
   GRIDPG_MONITOR_HA=0/1 in the environment overrides): cluster/ha.py's loop, automatic
   failover of a silent primary and the synchronous-standby set. It runs in a thread (it
   blocks: probes, pg_ctl) and without a time limit, so two passes never overlap.

With a GTM pair (`gridpg up --gtm-standby`) every monitor, leader or not, also runs
cluster/gtm_ha.py's `watch_gtm_pair`: the lease lives in the GTM, so the GTM's own
failover cannot wait for it; its actions are conditional on terms the GTMs check.

It owns no user data and speaks to coordinators only through TCP liveness checks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import PgError
from gridpg.gtm.client import GtmClient
from gridpg.gtm.protocol import GtmError, GtmUnavailable
from gridpg.sql.quote import quote_literal
from gridpg.txn import recovery
from gridpg.txn.deadlock import Deadlock, WaitEdge, build_label, find_deadlocks, txn_ref

if TYPE_CHECKING:
    from gridpg.cluster.control import Cluster

log = logging.getLogger("gridpg.monitor")

LEASE_NAME = "monitor"
LEASE_TTL = 3.0
RENEW_EVERY = 1.0
LEASE_MARGIN = 0.5
NODES_REFRESH = 5.0
# Loop names; each loop keeps its own node connections under its name (loops run at once).
DEADLOCKS, RECOVERY, MEMBERS = "deadlocks", "2pc-recovery", "members"


@dataclass
class MonitorContext:
    """What every loop may use: the GTM, the members' addresses, cached node connections,
    and whether this monitor may act now."""

    cluster: Cluster
    gtm: GtmClient
    holder: str
    valid_until: float = 0.0
    term: int | None = None
    nodes: list[NodeAddress] = field(default_factory=list)
    coordinators: dict[str, tuple[str, int]] = field(default_factory=dict)
    _conns: dict[tuple[str, str], BackendConnection] = field(default_factory=dict)
    _nodes_loaded: float = 0.0
    _members_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ha: Any = None  # (Cluster, HaLoop) of cluster/ha.py's loop, when it runs

    def is_leader(self) -> bool:
        return time.monotonic() < self.valid_until

    async def connection(self, address: NodeAddress, purpose: str = "") -> BackendConnection:
        """A kept connection to one node for one loop (loops run concurrently, each on its
        own connections), reopened when it broke."""
        key = (purpose, address.name)
        conn = self._conns.get(key)
        if conn is None or conn.is_closed or conn.broken or conn.address != address:
            if conn is not None:
                conn.close()
            conn = await BackendConnection.connect(
                address, params={"application_name": "gridpg monitor"}, timeout=3)
            self._conns[key] = conn
        return conn

    def drop_connection(self, name: str, purpose: str) -> None:
        conn = self._conns.pop((purpose, name), None)
        if conn is not None:
            conn.close()

    async def refresh_members(self) -> None:
        """Catalog servers and coordinators from the topology, datanode primaries from the
        catalog (CREATE NODE, a failover), every few seconds."""
        async with self._members_lock:
            if time.monotonic() - self._nodes_loaded < NODES_REFRESH and self.nodes:
                return
            await self._load_members()

    async def _load_members(self) -> None:
        topo = self.cluster.topology
        password = self.cluster.password()
        from gridpg.cluster.pgserver import SUPERUSER

        catalogs = [NodeAddress(c.catalog.name, c.catalog.host, c.catalog.port, SUPERUSER, password)
                    for c in topo.coordinators]
        datanodes = [NodeAddress(g.name, g.primary.host, g.primary.port, SUPERUSER, password)
                     for g in topo.groups]
        datanodes = await self._catalog_datanodes(catalogs, datanodes)
        self.nodes = catalogs + datanodes
        self.coordinators = {c.name: (c.host, c.port) for c in topo.coordinators}
        self._nodes_loaded = time.monotonic()

    async def _catalog_datanodes(self, catalogs: list[NodeAddress],
                                 fallback: list[NodeAddress]) -> list[NodeAddress]:
        from gridpg.catalog import store

        for address in catalogs:
            try:
                snapshot = await store.load_snapshot(await self.connection(address, MEMBERS), 0)
            except (PgError, OSError):
                self.drop_connection(address.name, MEMBERS)
                continue
            found = []
            for group in snapshot.datanode_groups():
                node = snapshot.node(group.primary) if group.primary else None
                if node is not None and node.active:
                    found.append(NodeAddress(group.name, node.host, node.port, address.user,
                                             address.password))
            return found or fallback
        return fallback

    def close(self, purpose: str | None = None) -> None:
        """Close the kept connections of one purpose (all when None)."""
        for key in [k for k in self._conns if purpose is None or k[0] == purpose]:
            self._conns.pop(key).close()


@dataclass(frozen=True)
class Loop:
    name: str
    every: float
    run: Callable[[MonitorContext], Awaitable[None]]
    timeout: float | None = 10.0  # a pass cut short is retried at the next tick


# -- leadership ----------------------------------------------------------------------------


async def hold_leadership(ctx: MonitorContext) -> None:
    """Take and renew the monitor lease for as long as the process runs."""
    while True:
        sent = time.monotonic()
        try:
            answer = await ctx.gtm.lease_acquire(LEASE_NAME, ctx.holder, LEASE_TTL)
        except (GtmUnavailable, GtmError, OSError) as exc:
            log.warning("monitor lease not renewed: %s", exc)
            answer = {"granted": False}
        if answer.get("granted"):
            if not ctx.is_leader() or ctx.term != answer.get("term"):
                log.info("monitor %s leads (term %s)", ctx.holder, answer.get("term"))
            ctx.term = answer.get("term")
            ctx.valid_until = sent + LEASE_TTL - LEASE_MARGIN
        elif ctx.is_leader() and answer.get("holder") not in (None, ctx.holder):
            ctx.valid_until = 0.0
            log.info("monitor %s no longer leads", ctx.holder)
        await asyncio.sleep(max(0.0, RENEW_EVERY - (time.monotonic() - sent)))


async def run_loop(ctx: MonitorContext, loop: Loop) -> None:
    """Run one loop every `loop.every` seconds while this monitor leads; errors are logged."""
    while True:
        await asyncio.sleep(loop.every)
        if not ctx.is_leader():
            continue
        try:
            await ctx.refresh_members()
            if loop.timeout is None:
                await loop.run(ctx)
            else:
                await asyncio.wait_for(loop.run(ctx), max(loop.timeout, loop.every * 5))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a loop must survive any node's trouble
            log.warning("monitor loop %s failed: %s", loop.name, exc)
            ctx.close(loop.name)  # reconnect next time (a loop cut short may leave a reply unread)


# -- loop 1: distributed deadlocks ---------------------------------------------------------

_WAIT_EDGES = """
SELECT w.pid, w.application_name, extract(epoch FROM w.xact_start)::float8,
       b.pid, b.application_name, extract(epoch FROM b.xact_start)::float8,
       (SELECT l.mode || ' on ' || l.locktype || coalesce(' ' || l.relation::regclass::text,
               ' ' || l.transactionid::text, '')
          FROM pg_catalog.pg_locks l WHERE l.pid = w.pid AND NOT l.granted LIMIT 1)
FROM pg_catalog.pg_stat_activity w
CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) AS h(pid)
JOIN pg_catalog.pg_stat_activity b ON b.pid = h.pid
WHERE w.wait_event_type = 'Lock'
"""


async def detect_deadlocks(ctx: MonitorContext) -> None:
    """Find cycles across nodes, confirm them, cancel each one's youngest transaction."""
    first = await collect_wait_edges(ctx)
    if not find_deadlocks(first):
        return
    seen = set(first)
    lasting = [e for e in await collect_wait_edges(ctx) if e in seen]
    for deadlock in find_deadlocks(lasting):
        await break_deadlock(ctx, deadlock, lasting)


async def collect_wait_edges(ctx: MonitorContext) -> list[WaitEdge]:
    """Every node's lock waits as edges between (distributed) transactions."""
    results = await asyncio.gather(*(_node_edges(ctx, a) for a in ctx.nodes), return_exceptions=True)
    edges: list[WaitEdge] = []
    for address, result in zip(ctx.nodes, results):
        if isinstance(result, BaseException):
            log.debug("wait edges of %s unavailable: %s", address.name, result)
            ctx.drop_connection(address.name, DEADLOCKS)
            continue
        edges.extend(result)
    return edges


async def _node_edges(ctx: MonitorContext, address: NodeAddress) -> list[WaitEdge]:
    conn = await ctx.connection(address, DEADLOCKS)
    rows = await conn.query(_WAIT_EDGES)
    node = address.name
    return [
        WaitEdge(node, txn_ref(node, int(r[0] or 0), r[1]), int(r[0] or 0),
                 txn_ref(node, int(r[3] or 0), r[4]), int(r[3] or 0),
                 float(r[2] or 0), float(r[5] or 0), r[6] or "")
        for r in rows
    ]


async def break_deadlock(ctx: MonitorContext, deadlock: Deadlock, edges: list[WaitEdge]) -> None:
    """Record the victim in the GTM (its coordinator reports 40P01), then cancel the
    victim's waiting backends, each only if it still works for that transaction."""
    victim = deadlock.victim
    if victim.gxid is None or victim.coordinator is None or not deadlock.crosses_nodes:
        return  # a cycle within one node: PostgreSQL's own detector breaks it
    if not ctx.is_leader():
        return
    await ctx.gtm.deadlock_victim_add(victim.key, deadlock.detail)
    label = build_label(victim.gxid, victim.coordinator)
    waits = {(e.node, e.waiter_pid) for e in edges if e.waiter == victim}
    by_name = {a.name: a for a in ctx.nodes}
    for node, pid in sorted(waits):
        conn = await ctx.connection(by_name[node], DEADLOCKS)
        await conn.query(
            "SELECT pg_catalog.pg_cancel_backend(pid) FROM pg_catalog.pg_stat_activity "
            f"WHERE pid = {int(pid)} AND application_name = {quote_literal(label)}")
    log.info("deadlock across nodes broken: cancelled %s\n%s", victim, deadlock.detail)


# -- loop 2: in-doubt two-phase transactions -----------------------------------------------


async def recover_prepared(ctx: MonitorContext) -> None:
    """Resolve gridpg's prepared transactions whose coordinator is gone or that are older
    than the bound (txn/recovery.py)."""
    async def connect(address: NodeAddress) -> BackendConnection:
        return await ctx.connection(address, RECOVERY)

    outcome = await recover_once(ctx.gtm, ctx.nodes, ctx.coordinators, ctx.is_leader,
                                 connect=connect)
    if outcome.committed or outcome.rolled_back:
        log.info("in-doubt transactions resolved: %s", outcome.as_dict())


async def recover_once(
    gtm: GtmClient, nodes: list[NodeAddress], coordinators: dict[str, tuple[str, int]],
    may_act: Callable[[], bool] = lambda: True, in_doubt_after: float | None = None,
    connect: recovery.Connector | None = None,
) -> recovery.RecoveryOutcome:
    """One recovery pass: shared by the monitor, `gridpg recover` and the SQL function."""
    checks = await asyncio.gather(*(recovery.is_answering(h, p) for h, p in coordinators.values()))
    live = {name for name, alive in zip(coordinators, checks) if alive}
    bound = recovery.IN_DOUBT_AFTER if in_doubt_after is None else in_doubt_after
    rule = recovery.in_doubt_rule(live, bound)
    return await recovery.recover_round(gtm, nodes, lambda txn: may_act() and rule(txn), connect)


# -- loop 3: datanode groups' high availability ----------------------------------


async def check_datanode_groups(ctx: MonitorContext) -> None:
    """One pass of cluster/ha.py's loop (failover, synchronous standbys), in a thread."""
    from gridpg.cluster import ha

    if ctx.ha is None:  # its own Cluster object: the thread reloads the topology
        from gridpg.cluster.control import Cluster

        ctx.ha = (Cluster(ctx.cluster.dir, ctx.cluster.pg_bin), ha.HaLoop())
    done = await asyncio.to_thread(ha.check_groups, *ctx.ha, log.info)
    for line in done:
        log.info("datanode groups: %s", line)


LOOPS: tuple[Loop, ...] = (
    Loop(DEADLOCKS, 1.0, detect_deadlocks),
    Loop(RECOVERY, 2.0, recover_prepared),
)
HA_LOOP = Loop("datanode-groups", 1.0, check_datanode_groups, timeout=None)


def active_loops(automatic_failover: bool = True) -> tuple[Loop, ...]:
    """The loops this monitor runs: LOOPS, plus HA_LOOP when the topology asks for automatic
    failover (`failover = true`, the default); GRIDPG_MONITOR_HA=0/1 overrides it."""
    forced = os.environ.get("GRIDPG_MONITOR_HA")
    on = forced == "1" if forced in ("0", "1") else automatic_failover
    return LOOPS + ((HA_LOOP,) if on else ())


# -- the process ---------------------------------------------------------------------------


def run_monitor(cluster: Cluster, name: str) -> int:
    """`gridpg monitor`: run until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return asyncio.run(_serve(cluster, name))


async def _serve(cluster: Cluster, name: str) -> int:
    first, *others = cluster.topology.gtm_addresses()
    holder = f"{name}@{socket.gethostname()}:{os.getpid()}"
    gtm = GtmClient(*first, request_timeout=10.0, alternates=others, failover_wait=2.0)
    ctx = MonitorContext(cluster, gtm, holder)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.ensure_future(hold_leadership(ctx))]
    if cluster.topology.gtm_standby is not None:  # needs no lease: the lease lives in the GTM
        from gridpg.cluster.gtm_ha import watch_gtm_pair

        tasks.append(asyncio.ensure_future(watch_gtm_pair(cluster)))
    loops = active_loops(cluster.topology.failover)
    tasks += [asyncio.ensure_future(run_loop(ctx, each)) for each in loops]
    log.info("monitor %s started (%s)", name, ", ".join(each.name for each in loops))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ctx.valid_until = 0.0
    try:
        await ctx.gtm.lease_release(LEASE_NAME, holder)  # the next monitor need not wait
    except (GtmUnavailable, GtmError, OSError):
        pass
    ctx.close()
    await ctx.gtm.close()
    return 0
