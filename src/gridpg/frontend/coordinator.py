"""The coordinator process: its shared state and its asyncio server.

Owns what all sessions of one coordinator share: the backend pools (catalog servers and
datanode primaries), the GTM client, the cached catalog snapshot and its epoch, the
describe cache, the session registry (for cancel and connection limits). Sessions reach
the rest of the system only through this object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import ssl
import struct
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg import metrics
from gridpg.catalog import relation_oids, store
from gridpg.catalog.model import CatalogSnapshot, Node
from gridpg.commands.stat_activity import SIGNAL_FUNCTION
from gridpg.datanode.connection import (
    CANCEL_ACK_WAIT,
    DATANODE_OPTIONS,
    BackendConnection,
    NodeAddress,
    QueryResult,
    maps_reloaded,
)
from gridpg.datanode.pool import PoolSet
from gridpg.errors import PgError
from gridpg.executor import loopback
from gridpg.executor.first_copy import FirstCopyRights
from gridpg.executor.loopback import LoopbackTokens
from gridpg.executor.routines import RoutineGuard
from gridpg.executor.shard_route import ShardRoutes
from gridpg.frontend.auth import RoleInfo, role_from_row, role_lookup_sql
from gridpg.frontend.client_stream import ClientStream
from gridpg.frontend.epoch_acks import ACK_CHANNEL, RECHECK, EpochAcks
from gridpg.frontend.notify_hub import NotifyHub
from gridpg.frontend.placement import SessionCounts, WorkerPlacement
from gridpg.frontend.reload_share import ReloadShare, SharedReload
from gridpg.frontend.session import Session
from gridpg.frontend.standby_watch import STALE_SLACK, StandbyVerdict, Verdict
from gridpg.gtm.client import GtmClient
from gridpg.pgwire import codec
from gridpg.planner.rules import TableRules, table_rules
from gridpg.planner.text import VERSION_EXPRESSION
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal
from gridpg.txn.durable import CommitWitness
from gridpg.txn.fence import CommitFenceShare, FenceClaim, with_commit_fence
from gridpg.txn.marker import MarkerKeeper, OwnConnections
from gridpg.txn.marker import parse_gid as marker_gid
from gridpg.txn.pause import PauseGate
from gridpg.txn.transaction import CommitLog

if TYPE_CHECKING:
    from gridpg.cluster.control import Cluster
    from gridpg.planner.core import Planner

log = logging.getLogger("gridpg.coordinator")

TYPE_MAP_WAIT = 1.0  # seconds a statement waits for a read of a datanode's maps (one down)
# Types whose binary form names a user type by OID (the element of an array of one, the
# fields of a composite, a domain over either): executor/oid_results.py sends them in the
# catalog server's binary form.
OID_CARRYING_TYPES_SQL = """SELECT t.oid FROM pg_catalog.pg_type t
LEFT JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
WHERE t.oid >= 16384 AND (t.typtype = 'c' OR t.typcategory = 'A'
  OR (t.typtype = 'd' AND b.oid >= 16384 AND (b.typtype = 'c' OR b.typcategory = 'A')))"""


@dataclass
class CatalogPart:
    """The catalog server's side of the datanodes' maps, read after a reload: its user and
    extension types by schema and name, and its relations' columns
    (relation_oids.catalog_columns); a node's are matched to these."""

    types: dict[tuple[str, str], int]
    relations: relation_oids.CatalogColumns


@dataclass
class CoordinatorSettings:
    trust: bool = False
    max_connections: int = 1000
    max_message: int = 64 * 1024 * 1024
    pool_size: int = 32
    idle_in_transaction_timeout: float = 0.0
    # 2PC commits decided by one writer's commit with a marker row (txn/marker.py);
    # off (GRIDPG_COMMIT_MARKERS=off): every decision is logged in the GTM.
    commit_markers: bool = True


class GtmCommitLog(CommitLog):
    """GXIDs come from the GTM in ranges (unique cluster-wide; one round trip per range).

    Decisions to forget (every node committed) are not sent one request each: they go
    with the next decision logged, or together after FORGET_DELAY when none is logged
    meanwhile. A forget lost on the way leaves a decision that in-doubt recovery forgets
    (no node holds its GID prepared): a leftover, never a wrong outcome."""

    RANGE = 256
    FORGET_DELAY = 0.05  # seconds a forget waits for a decision to travel with

    def __init__(self, gtm: GtmClient) -> None:
        self.gtm = gtm
        self._next = 0
        self._end = 0
        self._forgets: list[str] = []
        self._forget_timer: asyncio.TimerHandle | None = None
        self._fence_share = CommitFenceShare(gtm)

    async def next_gxid(self) -> int:
        if self._next >= self._end:
            first = await self.gtm.next_gxid(self.RANGE)
            if self._next >= self._end:
                self._next, self._end = first, first + self.RANGE
        gxid = self._next
        self._next += 1
        return gxid

    def next_gxid_now(self) -> int | None:
        if self._next >= self._end:
            return None
        gxid = self._next
        self._next += 1
        return gxid

    async def log_commit(self, gid: str, nodes: list[str]) -> None:
        await self.gtm.txn_log_commit(gid, nodes, self._take_forgets())

    async def forget(self, gid: str) -> None:
        self.forget_soon(gid)

    def forget_soon(self, gid: str) -> None:
        self._forgets.append(gid)
        if self._forget_timer is None:
            self._forget_timer = asyncio.get_running_loop().call_later(
                self.FORGET_DELAY, self._send_forgets)

    async def log_commit_fenced(self, gid: str, nodes: list[str]) -> object:
        token, waited = await self.gtm.txn_log_commit_fenced(gid, nodes, self._take_forgets())
        metrics.COMMIT_FENCE_WAIT.observe(waited)
        return token

    def _take_forgets(self) -> list[str]:
        forgets, self._forgets = self._forgets, []
        return forgets

    def _send_forgets(self) -> None:
        self._forget_timer = None
        forgets = self._take_forgets()
        if forgets:
            asyncio.ensure_future(self._forget_now(forgets))

    async def _forget_now(self, gids: list[str]) -> None:
        try:
            await self.gtm.txn_forget_many(gids)
        except Exception as exc:  # noqa: BLE001 - recovery forgets the leftovers
            log.debug("forgetting %d decisions failed (recovery forgets them): %s", len(gids), exc)

    async def commit_fenced(self, body: Any, held: object = None) -> None:
        if isinstance(held, int):  # the token that came with the decision's log
            await with_commit_fence(self.gtm, body, held)
        else:  # shared with the worker's other rounds: one GTM round trip for many
            await self._fence_share.run(body, held if isinstance(held, FenceClaim) else None)

    def claim_commit_fence(self) -> object | None:
        return self._fence_share.claim()

    def drop_commit_fence(self, claim: object) -> None:
        if isinstance(claim, FenceClaim):
            self._fence_share.drop(claim)

    def commit_fence_granted(self, claim: object) -> bool:
        return isinstance(claim, FenceClaim) and claim.is_granted


class Coordinator:
    """Shared state of one coordinator process."""

    def __init__(
        self, name: str, catalog: NodeAddress, datanodes: list[NodeAddress],
        other_catalogs: list[NodeAddress], gtm: GtmClient, settings: CoordinatorSettings,
    ) -> None:
        self.name = name
        self.settings = settings
        # A read-only coordinator reads each group from a standby and refuses writes.
        self.read_only = False
        self.max_standby_lag = 5.0  # seconds; a standby further behind is not read from
        # The workers' one verdict (worker 0 measures; run_coordinator shares it before the
        # fork) and the one this worker's pools follow: none trusted before the first tick.
        self.standby_verdict = StandbyVerdict()
        self.standby_view = Verdict()
        self._standby_watch: Any = None
        self._standby_task: asyncio.Future[None] | None = None
        self.catalog_node = catalog.name
        self.catalog_address = catalog
        self.other_catalogs = other_catalogs
        self.datanode_addresses = {a.name: a for a in datanodes}
        self.gtm = gtm
        self.commit_log = GtmCommitLog(gtm)
        self.pause_gate = PauseGate(gtm)
        self.pause_gate.on_hold_end = self.expire_epoch_check
        self.pause_gate.on_change = self.invalidate_cycles
        # Bumped by every change of what a session's routed cycles depend on here: the
        # catalog snapshot, the pause gate, the catalog check coming due or done (each
        # session's stamp follows it: StatementRunner.cycle_route).
        self.cycle_generation = 0
        # Whether a statement outside a block may have to wait or check first (a pause, the
        # catalog check due or under way): kept with `cycle_generation`.
        self.idle_cycles_stop = True
        self.pools = PoolSet(settings.pool_size)
        for address in [catalog, *datanodes, *other_catalogs]:
            self.pools.set_node(address)
        # The datanodes' commit markers: which nodes may decide a 2PC commit, and the
        # markers to delete once every node committed (txn/marker.py).
        self.marker_connections = OwnConnections(self.pools)
        self.commit_markers = MarkerKeeper(self.marker_connections.acquire, self.marker_connections.release)
        self.commit_markers.enabled = settings.commit_markers
        # Decisions of asynchronous COMMIT PREPAREDs, kept until they are durable.
        self.commit_witness = CommitWitness(self.pools, self.forget_decision)
        self.sessions: dict[int, Session] = {}
        self.describe_cache: dict[Any, tuple[list[int], bytes | None]] = {}
        self.server_parameters: dict[str, str] = {}
        self.ssl_context: ssl.SSLContext | None = None
        self.snapshot: CatalogSnapshot | None = None
        self.planner: Planner | None = None
        self.routine_guard = RoutineGuard(self)
        self.shard_routes = ShardRoutes(self)  # which tables routed statements address by shard
        self.first_copy_rights = FirstCopyRights(self)  # who may lock a replicated table's rows first
        self.loopback_tokens = LoopbackTokens()  # sessions whose server-side code calls back
        self.loopback_shadows: dict[tuple[str, str], int] = {}  # shadow checked at epoch
        self.listen_address: tuple[str, int] = ("127.0.0.1", 0)  # where loopbacks connect
        self._next_pid = 1
        self.open_connections = 0  # client connections of this worker, authenticated or not
        self.clients: set[Session] = set()  # their sessions, connecting or established
        self.stopping = False  # the listener is closed: clients still connecting are refused
        self.worker = 0  # index of this worker process of the coordinator
        self.index = 0  # this coordinator's place in the topology (its sessions' pids)
        self.cancel_socket_dir: Any = None  # where sibling workers take forwarded cancels
        self.placement: WorkerPlacement | None = None  # clients spread over the workers (frontend/placement.py)
        self._epoch_check: asyncio.Future[None] | None = None
        # Due when a second has passed since the last check: a flag a timer sets (the
        # routed cycle asks per statement; the loop's clock costs ~0.6 us a read).
        self._epoch_due = True
        # One reload at a time: a listener's reload that read the catalog before a DDL
        # committed must not finish after the DDL's own reload and put the older view back.
        self._reload_lock = asyncio.Lock()
        self._listen_task: asyncio.Future[None] | None = None
        self.epoch_acks = EpochAcks()  # wakes a DDL waiting for the other coordinators
        self.notify_hub = NotifyHub(self)  # user LISTEN/NOTIFY (frontend/notify_hub.py)
        self._columns: dict[Any, Any] = {}
        self.views: dict[tuple[str, str], str] = {}  # user views: (schema, name) -> definition
        self.table_rules: dict[tuple[str, str], TableRules] = {}  # rules of distributed tables
        # opens the original statement of a write once its table's rules are applied
        self.rules_marker = f"/*gridpg:rules:{secrets.token_hex(8)}*/ "
        # catalog OIDs of arrays of user types, composites, domains over them (OID_CARRYING_TYPES_SQL)
        self.oid_carrying_types: frozenset[int] = frozenset()
        self._sequences: dict[str, list[int]] = {}
        self._sequence_caches: dict[str, int] = {}  # CACHE of each sequence, per epoch
        self._type_names: dict[tuple[int, int], str] = {}  # (oid, typmod) -> name
        # each datanode's relations as the reads of its maps left them (read again where changed)
        self._node_relations: dict[str, relation_oids.NodeRelations] = {}
        # The nodes' maps, read lazily (`ensure_node_maps`): the catalog server's side of
        # them and the reload count when it was read (one read at a time); reloads
        # installed so far; per node, the count when its last read began, and one read of
        # it at a time.
        self._catalog_part: CatalogPart | None = None
        self._catalog_part_at = -1
        self._catalog_part_lock = asyncio.Lock()
        self._maps_generation = 0
        self._maps_read_at: dict[str, int] = {}
        self._map_reads: dict[str, asyncio.Lock] = {}
        self.pools.read_maps = self.ensure_node_maps
        self.shard_pieces = store.ShardPieces()  # the shards the last load decoded, per table
        # the sibling workers' one reload per epoch (made before the fork; None: one worker)
        self.reload_share: ReloadShare | None = None

    # -- startup -----------------------------------------------------------------------

    async def start(self, nodes: list[Node], bootstrap: bool = True) -> None:
        """Bootstrap the catalog (schema and nodes) unless a parent did, then load metadata."""
        conn = await BackendConnection.connect(self.catalog_address)
        try:
            self.server_parameters = _reported(conn.parameters)
            if bootstrap:
                await self._bootstrap_catalog(conn, nodes)
        finally:
            conn.close()
        if bootstrap:
            await self._bootstrap_datanodes()
        await self.reload_catalog()

    async def _bootstrap_catalog(self, conn: BackendConnection, nodes: list[Node]) -> None:
        await store.ensure_schema(conn)
        existing = {row[0] for row in await conn.query("SELECT name FROM gridpg.node")}
        missing = [n for n in nodes if n.name not in existing]
        if missing:
            await conn.simple_query("\n".join(store.sql_insert_node(n) for n in missing))
        await conn.simple_query(GRIDPG_FUNCTIONS)
        from gridpg.commands.ddl import SHARD_SCHEMA_SETUP

        for sql in SHARD_SCHEMA_SETUP:  # a catalog server is a source of moved rows too
            with contextlib.suppress(PgError):  # a concurrent coordinator doing the same
                await conn.simple_query(sql)
        address = self.catalog_address
        for sql in loopback.setup_sql(*self.listen_address, address.user, address.password or "",
                                      address.database):
            await conn.simple_query(sql)
        # Every role plans with the metadata (a session reads it on its own catalog connection
        # after its DDL): readable by all, as Citus's pg_dist_* tables; written only by us.
        await conn.simple_query("GRANT USAGE ON SCHEMA gridpg TO PUBLIC; "
                                "GRANT SELECT ON ALL TABLES IN SCHEMA gridpg TO PUBLIC")
        # Worker rows of an earlier run: workers report their epoch afresh when they start.
        await conn.simple_query(
            f"DELETE FROM gridpg.coordinator_state WHERE name LIKE {quote_literal(self.name + '#%')}")

    async def _bootstrap_datanodes(self) -> None:
        for name in self.datanode_addresses:
            from gridpg.commands.ddl import SHARD_SCHEMA_SETUP

            dn = await BackendConnection.connect(self.datanode_addresses[name])
            try:
                for sql in SHARD_SCHEMA_SETUP:
                    # A concurrent coordinator may be doing the same.
                    with contextlib.suppress(Exception):
                        await dn.simple_query(sql)
            finally:
                dn.close()

    async def reload_catalog(self, unless_at: int | None = None) -> None:
        """Read the catalog again (`unless_at`: not when a reload that ran meanwhile, while
        this one waited its turn, installed that epoch already)."""
        async with self._reload_lock:
            if unless_at is not None and self.snapshot is not None and self.snapshot.epoch == unless_at:
                return
            await self._reload_catalog()

    async def _reload_catalog(self) -> None:
        epoch = await self.gtm.epoch_get()
        conn = await self.internal_acquire(self.catalog_node)
        try:
            if self.reload_share is None:
                await self._read_catalog(conn, epoch)
            else:  # the sibling workers' turns: one read per epoch (frontend/reload_share.py)
                async with self.reload_share.turn() as held:
                    shared = self.reload_share.take(epoch) if held else None
                    if shared is not None:
                        self._install_shared(shared)
                        log.debug("catalog epoch %d installed from a sibling worker's reload", epoch)
                    else:
                        fresh = await self._read_catalog(conn, epoch)
                        if held:
                            self.reload_share.publish(fresh)
            await conn.simple_query(_state_sql(self.state_name, epoch))
        finally:
            self.pools.pool(self.catalog_node).release(conn)
        self.describe_cache.clear()
        self._columns.clear()
        await self._return_cached_sequences()
        if self.planner is not None:
            self.planner.invalidate()

    async def _read_catalog(self, conn: BackendConnection, epoch: int) -> SharedReload:
        """Read and install the catalog of `epoch`; what was installed, for the siblings.
        The maps of the datanodes are read, with the catalog server's part of them, when a
        statement first needs them (`ensure_node_maps`)."""
        rows, views, table_rules, carrying = await _load_snapshot_and_views(conn)
        self._install(store.snapshot_from_rows(epoch, rows, self.shard_pieces), views, table_rules, carrying)
        return SharedReload(epoch, rows, views, table_rules, carrying)

    def _install_shared(self, shared: SharedReload) -> None:
        """Install a sibling's reload of this epoch."""
        self._install(store.snapshot_from_rows(shared.epoch, shared.snapshot_rows, self.shard_pieces),
                      shared.views, shared.table_rules, shared.oid_carrying_types)

    def _install(self, snapshot: CatalogSnapshot, views: dict[tuple[str, str], str],
                 rules: dict[tuple[str, str], TableRules], carrying: frozenset[int]) -> None:
        """The catalog planned with from now on. Views and rules with the snapshot, no wait
        between: a plan made for the new snapshot never sees the old rules, and is cached
        for the snapshot. Every datanode's maps are read again, with the catalog server's
        part of them, before a statement next takes one of its connections."""
        self.views, self.table_rules = views, rules
        self.oid_carrying_types = carrying
        self.install_snapshot(snapshot)
        self._follow_datanodes(snapshot)
        self._maps_generation += 1
        self.pools.stale_maps.update(self.datanode_addresses)

    async def ensure_node_maps(self, node: str) -> None:
        """A datanode's type and relation maps read again after the reloads so far: a
        statement that takes one of the node's connections after a reload (after the DDL
        that caused it returned, on any coordinator) relays its RowDescriptions through maps
        read after that DDL committed. A read begun after the latest reload serves every
        statement waiting for it; one begun earlier does not. The node stays stale when a
        reload came while it was read (the next statement reads it again)."""
        wanted = self._maps_generation
        lock = self._map_reads.setdefault(node, asyncio.Lock())
        async with lock:
            if self._maps_read_at.get(node, -1) >= wanted:
                return
            begun = self._maps_generation
            part = await self._catalog_part_since(begun)
            if part is not None:
                await self._read_node_maps(node, part)
            self._maps_read_at[node] = begun
            if begun == self._maps_generation:
                self.pools.stale_maps.discard(node)

    async def _catalog_part_since(self, generation: int) -> CatalogPart | None:
        """The catalog server's part of the nodes' maps (`_CATALOG_PART_SQL`), read after
        the reload of `generation` installed (once for all the nodes; never waiting for the
        pool, as `_map_read`); None when that read failed (the nodes keep their maps)."""
        async with self._catalog_part_lock:
            if self._catalog_part is not None and self._catalog_part_at >= generation:
                return self._catalog_part
            begun = self._maps_generation
            try:
                types, relations = await self._map_read(self.catalog_node, _CATALOG_PART_SQL)
            except (PgError, OSError) as exc:
                log.warning("the catalog server's type and relation OIDs not read: %s", exc)
                return None
            self._catalog_part = CatalogPart({(schema, name): int(oid) for oid, schema, name in types.rows},
                                             relation_oids.catalog_columns(relations.rows))
            self._catalog_part_at = begun
            return self._catalog_part

    async def _read_node_maps(self, node: str, part: CatalogPart) -> None:
        """Each datanode's OIDs of user and extension types -> the catalog server's, matched
        by schema and name (`_Protocol.type_map`), and of its relations and their columns
        (`_Protocol.column_map`, catalog/relation_oids.py): a node's RowDescription then names types
        by the OIDs clients find in the catalog (`'vector'::regtype`, psycopg's EnumInfo),
        as the answers the coordinator builds do. A node that does not answer within
        TYPE_MAP_WAIT keeps its maps (a statement must not wait for a node that is down)."""
        address = self.datanode_addresses.get(node)
        if address is None:
            return
        try:
            rows = await asyncio.wait_for(self._read_node(node, address), TYPE_MAP_WAIT)
        except (PgError, OSError, TimeoutError) as exc:
            log.debug("type OIDs of %s not read: %s", node, exc)
            return
        found = {int(oid): part.types.get((schema, name)) for oid, schema, name in rows}
        type_map = {oid: mapped for oid, mapped in found.items() if mapped is not None and mapped != oid}
        self._fill_maps(node, type_map, self._node_relations[node].column_map(part.relations))
        maps_reloaded()

    def _fill_maps(self, node: str, type_map: dict[int, int], column_map: relation_oids.ColumnMap) -> None:
        """A node's maps, refilled in place (its pool's connections hold these dicts)."""
        types = self.pools.type_maps.setdefault(node, {})
        types.clear()
        types.update(type_map)
        columns = self.pools.column_maps.setdefault(node, {})
        columns.clear()
        columns.update(column_map)

    @property
    def state_name(self) -> str:
        return self.name if self.worker == 0 else f"{self.name}#{self.worker}"

    def forget_decision(self, gid: str) -> None:
        """Every node committed `gid` durably: the GTM's decision, or the decider's
        commit marker (txn/marker.py), goes."""
        parsed = marker_gid(gid)
        if parsed is not None:
            self.commit_markers.delete_soon(parsed.decider, gid)
        else:
            self.commit_log.forget_soon(gid)

    async def internal_acquire(self, node: str, accept: Callable[[BackendConnection], bool] | None = None
                               ) -> BackendConnection:
        """A pooled connection for the coordinator's own queries: as the cluster superuser,
        with default settings (a session may have left its role and SETs on it). With
        `accept`, for a session's side work: one it does not accept is closed (its
        `StatementRunner.state.accepts`)."""
        conn = await self.pools.pool(node).acquire()
        while accept is not None and not accept(conn):
            self.pools.pool(node).discard(conn)
            conn = await self.pools.pool(node).acquire()
        return await self._neutral(node, conn)

    async def _neutral(self, node: str, conn: BackendConnection) -> BackendConnection:
        """`conn`, a pooled connection of `node` just taken, as the cluster superuser with
        default settings (discarded when that fails)."""
        from gridpg.frontend.session_settings import NEUTRAL, RESET_TO_NEUTRAL

        if conn.session_state != NEUTRAL:
            conn.session_state = None
            try:
                await conn.simple_query(RESET_TO_NEUTRAL)
            except BaseException:
                self.pools.pool(node).discard(conn)
                raise
            conn.session_state, conn.timer_set = NEUTRAL, False
        return conn

    async def internal_query(self, node: str, sql: str) -> list[tuple[str | None, ...]]:
        """Rows of the coordinator's own query on `node` (`internal_acquire`'s connection,
        given back, or closed when the query failed)."""
        results = await self.internal_results(node, sql)
        return results[-1].rows if results else []

    async def internal_results(self, node: str, sql: str) -> list[QueryResult]:
        """The results of each statement of `sql`, as `internal_query`."""
        conn = await self.internal_acquire(node)
        try:
            results = await conn.simple_query(sql)
        except BaseException:
            self.pools.pool(node).discard(conn)
            raise
        self.pools.pool(node).release(conn)
        return results

    async def forget_state(self) -> None:
        """A worker that stops takes its epoch row away (DDL does not wait for it)."""
        if self.worker == 0:
            return
        try:
            conn = await self.internal_acquire(self.catalog_node)
            try:
                await conn.simple_query(
                    f"DELETE FROM gridpg.coordinator_state WHERE name = {quote_literal(self.state_name)}")
            finally:
                self.pools.pool(self.catalog_node).release(conn)
        except (PgError, OSError):
            pass

    def _follow_datanodes(self, snapshot: CatalogSnapshot) -> None:
        """Datanode groups and their primaries come from the catalog (CREATE NODE, failover)."""
        base = self.catalog_address
        addresses = {}
        for group in snapshot.datanode_groups():
            node = self._serving_node(snapshot, group)
            if node is None:
                continue
            addresses[group.name] = NodeAddress(group.name, node.host, node.port, base.user,
                                                base.password, base.database, base.socket_dir,
                                                DATANODE_OPTIONS)
        if not addresses:
            return
        for group, address in addresses.items():
            before = self.datanode_addresses.get(group)
            if before is not None and (before.host, before.port) != (address.host, address.port) \
                    and not self.read_only:
                metrics.PRIMARY_CHANGES.labels(group).inc()
            self.pools.set_node(address)
        self.datanode_addresses = addresses
        self.commit_witness.replicated = frozenset(
            g.name for g in snapshot.datanode_groups() if g.secondaries)
        self.notify_hub.follow()

    def _serving_node(self, snapshot: CatalogSnapshot, group: Any) -> Any:
        """The member that serves the group here: its primary, or on a read-only
        coordinator one of its active standbys within the lag bound (spread by coordinator),
        else the primary."""
        candidates = [group.primary] if group.primary else []
        if self.read_only:
            standbys = [n for n in group.secondaries if (m := snapshot.node(n)) is not None and m.active
                        and not self.standby_view.is_lagging(n)]
            if standbys:
                candidates = [standbys[zlib.crc32(self.name.encode()) % len(standbys)]]
        for name in candidates:
            node = snapshot.node(name)
            if node is not None and node.active:
                return node
        return None

    async def metadata_changed(self) -> None:
        """After committed DDL: bump the epoch, tell every coordinator, reload and wait until
        each has reloaded (so the client's next statement anywhere sees the change). The
        others are told first (every catalog server at once): their reloads and this one's
        run at the same time."""
        epoch = await self.gtm.epoch_bump()
        await asyncio.gather(*(self._notify_epoch(a.name, epoch) for a in [self.catalog_address, *self.other_catalogs]))
        await self.reload_catalog(unless_at=epoch)
        await self._wait_for_coordinators(epoch)

    async def _notify_epoch(self, catalog: str, epoch: int) -> None:
        pool = self.pools.pool(catalog)
        conn = await self.internal_acquire(catalog)
        try:
            await conn.simple_query(f"NOTIFY {EPOCH_CHANNEL}, '{epoch}'")
        except PgError:
            log.warning("could not notify catalog server %s of epoch %d", catalog, epoch)
        finally:
            pool.release(conn)

    async def _wait_for_coordinators(self, epoch: int, timeout: float = 3.0) -> None:
        """Wait until the other coordinators report `epoch` loaded (bounded: one may be down):
        every catalog server asked at once, again when one of them notifies that a worker
        wrote its row (frontend/epoch_acks.py), or RECHECK after the last look."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiting = [self.catalog_address, *self.other_catalogs]
        self.epoch_acks.listen(waiting)
        while True:
            wakeup = self.epoch_acks.wakeup()  # (before the look: an ack after it sets this)
            loaded = await asyncio.gather(*(self._has_epoch(a.name, epoch) for a in waiting))
            waiting = [a for a, done in zip(waiting, loaded) if not done]
            remaining = deadline - loop.time()
            if not waiting or remaining <= 0:
                break
            await self.epoch_acks.until_notified(wakeup, min(RECHECK, remaining))
        for address in waiting:
            log.warning("a coordinator on %s did not confirm epoch %d", address.name, epoch)

    async def _has_epoch(self, catalog: str, epoch: int) -> bool:
        """Whether every other coordinator process writing on `catalog` has loaded `epoch`."""
        conn = await self.internal_acquire(catalog)
        try:
            rows = await conn.query(f"SELECT coalesce(min(epoch), {int(epoch)}) FROM gridpg.coordinator_state "
                                    f"WHERE name <> {quote_literal(self.state_name)}")
        except PgError:
            rows = [("0",)]
        finally:
            self.pools.pool(catalog).release(conn)
        return int(rows[0][0] or 0) >= epoch

    async def _read_node(self, node: str, address: NodeAddress) -> list[tuple[str | None, ...]]:
        """Read a datanode's relations into its NodeRelations (what changed since the last
        read, else all of them); answers its types' rows (TYPE_OIDS_SQL)."""
        known = self._node_relations.setdefault(node, relation_oids.NodeRelations())
        full = known.is_full_read_due()
        _, mark, rows, groups, _ = await self._map_read(node, known.read_sql(full))
        if not known.apply(full, (address.host, str(address.port)), mark.rows[0], groups.rows):
            _, mark, rows, groups, _ = await self._map_read(node, known.read_sql(True))
            known.apply(True, (address.host, str(address.port)), mark.rows[0], groups.rows)
        return rows.rows

    async def _map_read(self, node: str, sql: str) -> list[QueryResult]:
        """`sql`'s results on the node, for a read of its maps, never waiting for its pool:
        an idle connection, a new pooled one while the pool has room, else one of its own,
        closed after. The statements waiting for the maps may hold the pool's last
        connections themselves (GRIDPG_POOL_SIZE=2, two blocks on the node): a wait for one
        would last until the read's bound and leave the maps stale."""
        pool = self.pools.pool(node)
        conn = pool.take_idle()
        if conn is None and pool.open_count < pool.max_size:
            conn = await pool.acquire()  # (opens one: nothing to wait for)
        if conn is None:
            side = await BackendConnection.connect(pool.address)
            try:
                return await side.simple_query(sql)
            finally:
                side.close()
        conn = await self._neutral(node, conn)  # (discarded when that fails)
        try:
            results = await conn.simple_query(sql)
        except BaseException:
            pool.discard(conn)
            raise
        pool.release(conn)
        return results

    def install_snapshot(self, snapshot: CatalogSnapshot) -> None:
        """The catalog this coordinator plans with from now on."""
        self.snapshot = snapshot
        self.invalidate_cycles()

    def invalidate_cycles(self) -> None:
        """Something every session's routed cycles depend on changed: each checks again."""
        self.cycle_generation += 1
        self.idle_cycles_stop = self.pause_gate.paused or self.is_epoch_check_due()

    def is_epoch_check_due(self) -> bool:
        """Whether ensure_fresh_catalog would ask the GTM (or join a check under way)."""
        return self._epoch_due or self._epoch_check is not None

    async def ensure_fresh_catalog(self) -> None:
        """At a transaction start: a safety net behind LISTEN/NOTIFY invalidation.

        Notifications normally trigger reloads; at most once a second a transaction start
        also asks the GTM (concurrent sessions share one round trip).
        """
        if self._epoch_check is None and not self._epoch_due:
            return
        if self._epoch_check is None:
            self._epoch_check = asyncio.ensure_future(self._check_epoch())
            self.invalidate_cycles()
        check = self._epoch_check
        try:
            await asyncio.shield(check)
        finally:
            if self._epoch_check is check and check.done():
                self._epoch_check = None
                self.invalidate_cycles()

    def follow_standby_verdict(self) -> None:
        """A read-only coordinator, before each statement: the pools follow the workers'
        current verdict on which standbys lag, so a statement anywhere after the verdict
        moved reads where it says (a node a transaction holds already stays; see
        frontend/standby_watch.py)."""
        view = self.standby_verdict.current(time.monotonic(), self.max_standby_lag + STALE_SLACK)
        if view != self.standby_view:
            if view.trusted != self.standby_view.trusted:
                log.info("standby lag verdict %s", "confirmed" if view.trusted else
                         "not confirmed lately: reading every group from its primary")
            self.standby_view = view
            if self.snapshot is not None:
                self._follow_datanodes(self.snapshot)

    def expire_epoch_check(self) -> None:
        """A shard switch ended: the next transaction start (and every statement its hold
        released) asks the GTM for the epoch, in case this worker missed the NOTIFY."""
        if self._epoch_check is None:
            self._epoch_due = True
            self.invalidate_cycles()

    def _mark_epoch_due(self) -> None:
        self._epoch_due = True
        self.invalidate_cycles()

    async def _check_epoch(self) -> None:
        epoch = await self.gtm.epoch_get()
        if self._epoch_due:
            self._epoch_due = False
            self.invalidate_cycles()
            asyncio.get_running_loop().call_later(1.0, self._mark_epoch_due)
        if self.snapshot is None or epoch != self.snapshot.epoch:
            await self.reload_catalog(unless_at=epoch)

    async def start_listener(self) -> None:
        self._listen_task = asyncio.ensure_future(self._listen_loop())
        if self.read_only and self.worker == 0:
            self._start_standby_watch()

    def _start_standby_watch(self) -> None:
        """A read-only coordinator reads from a group's primary while its standbys lag
        beyond `max_standby_lag` or do not answer (frontend/standby_watch.py). Worker 0
        measures for all the coordinator's workers (`standby_verdict`)."""
        from gridpg.frontend.standby_watch import GroupMembers, StandbyWatch

        def address(name: str) -> NodeAddress | None:
            node = self.snapshot.node(name) if self.snapshot else None
            if node is None:
                return None
            base = self.catalog_address
            return NodeAddress(name, node.host, node.port, base.user, base.password, base.database)

        def members() -> list[GroupMembers]:
            out = []
            for group in self.snapshot.datanode_groups() if self.snapshot else []:
                primary = address(group.primary) if group.primary else None
                standbys = [a for n in group.secondaries if (a := address(n)) is not None]
                if primary is not None and standbys:
                    out.append(GroupMembers(primary, standbys))
            return out

        self._standby_watch = StandbyWatch(self.max_standby_lag, members, self.standby_verdict)
        self._standby_task = asyncio.ensure_future(self._standby_watch.run())

    async def _listen_loop(self) -> None:
        """Reload the catalog when another coordinator announces a new metadata epoch."""
        while True:
            try:
                conn = await BackendConnection.connect(self.catalog_address)
                await conn.simple_query(f"LISTEN {EPOCH_CHANNEL}")
                await self._check_epoch()
                while True:
                    kind, _ = await conn.recv()
                    if kind == 0x41:  # NotificationResponse
                        await self._check_epoch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("catalog listener lost; reconnecting", exc_info=True)
                await asyncio.sleep(0.5)

    # -- table shapes, types and sequences -----------------------------------------------

    async def table_columns(self, runner: Any, table: Any) -> list[Any]:
        """Columns of a distributed table (name, default, serial sequence), cached per epoch."""
        from gridpg.executor.dml import TableColumn
        from gridpg.sql.quote import quote_literal

        epoch = runner.snapshot().epoch
        key = (table.schema, table.name, epoch, runner.private_snapshot is not None)
        cached = self._columns.get(key)
        if cached is not None:
            return cached
        conn = await runner.txn.connection(self.catalog_node, wants_block=False)
        # (by OIDs, not names: this runs as the session's role, which may lack USAGE on the
        # schema; PostgreSQL's own error for the statement comes from the datanodes)
        root_attnum = ("(SELECT r.attnum FROM pg_catalog.pg_attribute r WHERE r.attrelid = "
                       "pg_catalog.pg_partition_root(a.attrelid) AND r.attname = a.attname)")
        rows = await conn.query(
            # (a column without a default of its own takes its domain's: dd)
            "SELECT a.attname, CASE WHEN d.oid IS NULL THEN dd.expr ELSE pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, "
            # an identity column's own sequence (a partition's: its partitioned root's, one
            # sequence); any other column's only while its default is exactly nextval() of
            # it: a serial whose default was changed (`1000 + nextval(...)`) or dropped is
            # filled by that default, or none, as in PostgreSQL (the GTM's value was stored
            # as it was: 6 where PostgreSQL stores 1006, a value where it refuses NULL)
            "COALESCE(CASE WHEN a.attidentity <> '' THEN "
            f"COALESCE({store.owned_sequence_sql('a.attrelid', 'a.attnum')}, "
            f"{store.owned_sequence_sql('pg_catalog.pg_partition_root(a.attrelid)', root_attnum)}) END, "
            # a default of nextval() of a sequence (a serial's own; pg_dump's tables share
            # them; XL/Citus users write them): the GTM's, never a datanode's copy
            f"{store.nextval_default_sequence_sql('d')}, dd.sequence), "
            "a.attidentity, "
            "a.atttypid, a.atttypmod, EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = "
            "a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey::pg_catalog.int2[])), a.attgenerated "
            "FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d "
            "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            f"LEFT JOIN LATERAL ({store.domain_default_sql('a.atttypid')}) dd ON d.oid IS NULL "
            "WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE n.nspname = {quote_literal(table.schema)} "
            f"AND c.relname = {quote_literal(table.name)}) "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        )
        columns = [TableColumn(r[0] or "", r[1], r[2], r[3] or "", int(r[4] or 0), int(r[5] or -1), r[6] == "t",
                               r[7] or "")
                   for r in rows]
        if runner.private_snapshot is None:
            self._columns[key] = columns
        return columns

    async def sequence_values(self, sequence: str, count: int) -> list[int]:
        """`count` values of a cluster-wide sequence from the GTM (ranges cached here)."""
        from gridpg.gtm.protocol import GtmError

        cache = self._sequences.setdefault(sequence, [])
        while len(cache) < count:
            want = max(count - len(cache), await self._cache_size(sequence))
            try:
                got = await self.gtm.seq_next(sequence, want)
            except GtmError as exc:
                if exc.code != "42P01":
                    raise
                await self.ensure_sequence(sequence)
                continue
            cache.extend(got.values())
        out = cache[:count]
        del cache[:count]
        return out

    async def _cache_size(self, sequence: str) -> int:
        """The sequence's CACHE (PostgreSQL's default 1): how many values this coordinator
        worker takes from the GTM at a time, as a PostgreSQL backend caches them. With 1,
        values follow call order across every session and coordinator, as in PostgreSQL."""
        size = self._sequence_caches.get(sequence)
        if size is None:
            from gridpg.sql.quote import quote_literal

            rows = await self.internal_query(self.catalog_node, "SELECT s.seqcache FROM pg_catalog.pg_sequence s "
                                             f"WHERE s.seqrelid = pg_catalog.to_regclass({quote_literal(sequence)})")
            size = self._sequence_caches[sequence] = max(1, int(rows[0][0] or 1)) if rows else 1
        return size

    async def ensure_sequence(self, sequence: str) -> None:
        """The GTM sequence behind a catalog sequence, created when missing with the catalog
        sequence's definition (START, INCREMENT, MINVALUE, MAXVALUE, CYCLE) and position."""
        from gridpg.sql.quote import quote_literal

        conn = await self.internal_acquire(self.catalog_node)
        try:
            rows = await conn.query(
                "SELECT s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle FROM pg_catalog.pg_sequence s "
                f"WHERE s.seqrelid = pg_catalog.to_regclass({quote_literal(sequence)})")
            position = await conn.query(f"SELECT last_value, is_called FROM {sequence}") if rows else []
        finally:
            self.pools.pool(self.catalog_node).release(conn)
        if not rows:
            await self.gtm.seq_create(sequence, start=1, if_not_exists=True)
            return
        start, increment, low, high, cycle = rows[0]
        created = await self.gtm.seq_create(
            sequence, start=int(start or 1), increment=int(increment or 1), minvalue=int(low or 0),
            maxvalue=int(high or 0), cycle=cycle == "t", if_not_exists=True)
        if created and position and (position[0][1] == "t" or int(position[0][0] or 0) != int(start or 1)):
            await self.gtm.seq_setval(sequence, int(position[0][0] or 0), position[0][1] == "t")

    async def give_back_sequences(self, names: list[str]) -> None:
        """Return the unused cached values of these sequences to the GTM (when no other
        coordinator took values since), so that ALTER and RENAME continue where this
        coordinator's sessions stopped, as one PostgreSQL would."""
        for name in names:
            cache = self._sequences.pop(name, [])
            if cache:
                await self.gtm.seq_giveback(name, cache[-1], cache[0])

    async def _return_cached_sequences(self) -> None:
        """After a metadata change the cached ranges are dropped (a sequence may have been
        altered elsewhere); their unused values go back to the GTM where nobody took values
        since, so one session's next value follows its last one, as in PostgreSQL."""
        from gridpg.gtm.protocol import GtmError

        try:
            await self.give_back_sequences(list(self._sequences))
        except (GtmError, OSError) as exc:
            log.warning("could not return cached sequence values to the GTM: %s", exc)
        self._sequences.clear()
        self._sequence_caches.clear()

    def forget_sequences(self, names: list[str]) -> None:
        for name in names:
            self._sequences.pop(name, None)
            self._sequence_caches.pop(name, None)

    async def _sequence_start(self, sequence: str) -> int:
        from gridpg.sql.quote import quote_literal

        conn = await self.internal_acquire(self.catalog_node)
        try:
            rows = await conn.query(
                "SELECT s.seqstart FROM pg_catalog.pg_sequence s WHERE s.seqrelid = "
                f"pg_catalog.to_regclass({quote_literal(sequence)})"
            )
        finally:
            self.pools.pool(self.catalog_node).release(conn)
        return int(rows[0][0]) if rows and rows[0][0] else 1

    async def type_names(self, oids: list[int], typmods: Sequence[int] | None = None,
                         dispatcher: Any = None) -> list[str]:
        """Each type as a name to write in a cast or a column definition: `format_type` with
        its modifier, -1 when none is given (the unconstrained type: `bpchar` and `"bit"`,
        where `character` and `bit` would mean char(1) and bit(1) and cut the values).
        A type the coordinator's own connection cannot see (made in the open transaction
        of `dispatcher`'s session: `format_type` says `???`) is named on that transaction's
        catalog connection, and not remembered: it may yet be rolled back."""
        keys = list(zip(oids, typmods if typmods is not None else [-1] * len(oids), strict=True))
        missing = sorted({k for k in keys if k[0] and k not in self._type_names})
        unseen: dict[tuple[int, int], str] = {}
        if missing:
            pairs = ", ".join(f"({int(o)}, {int(m)})" for o, m in missing)
            # Under search_path pg_catalog, format_type names every other schema's type with
            # its schema: the name is remembered for every session, and read on datanodes
            # under the session's search_path (`r14_ct` from the default path's `public`
            # was 42704 under `SET search_path TO s`, or another schema's type of that name)
            sql = ("SELECT pg_catalog.set_config('search_path', 'pg_catalog', true); "
                   "SELECT v.o, v.m, pg_catalog.format_type(v.o::pg_catalog.oid, v.m) "
                   f"FROM (VALUES {pairs}) AS v(o, m)")
            conn = await self.internal_acquire(self.catalog_node)
            try:
                rows = await conn.query(sql)
            finally:
                self.pools.pool(self.catalog_node).release(conn)
            for oid, mod, name in rows:
                key = (int(oid or 0), int(mod or 0))
                if name and "???" not in name:
                    self._type_names[key] = name
                else:
                    unseen[key] = name or ""
            if unseen and dispatcher is not None:
                unseen.update(await self._type_names_in_transaction(dispatcher, sorted(unseen)))
        return [self._type_names.get(k) or unseen.get(k, "") for k in keys]

    async def _type_names_in_transaction(self, dispatcher: Any, keys: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
        txn = dispatcher.runner.txn
        if self.catalog_node not in txn.participants:
            return {}
        conn = await txn.connection(self.catalog_node, wants_block=False)
        await conn.settle()
        pairs = ", ".join(f"({int(o)}, {int(m)})" for o, m in keys)
        rows = await conn.query(
            f"SELECT v.o, v.m, pg_catalog.format_type(v.o::pg_catalog.oid, v.m) FROM (VALUES {pairs}) AS v(o, m)")
        return {(int(o or 0), int(m or 0)): name or "" for o, m, name in rows}

    # -- sessions ----------------------------------------------------------------------

    def admit(self, session: Session) -> bool:
        return self.open_connections <= self.settings.max_connections

    def register_session(self, session: Session) -> tuple[int, bytes]:
        # The coordinator's and the worker's indexes ride in the high bits: pids are unique
        # in the cluster (pg_stat_activity lists every coordinator's sessions; up to 16
        # coordinators of up to 64 workers), and a cancel landing on a sibling is forwarded.
        # Bit 30 keeps them above any process id (Linux's pid_max is at most 2^22), so none
        # is also a catalog server's process pg_stat_activity lists.
        while True:
            pid = PID_BASE | ((self.index & 0xF) << PID_COORDINATOR_SHIFT) \
                | ((self.worker & 0x3F) << PID_WORKER_SHIFT) | (self._next_pid & PID_COUNTER)
            self._next_pid += 1
            if pid not in self.sessions and pid & PID_COUNTER:
                break
        key = os.urandom(4)
        self.sessions[pid] = session
        return pid, key

    def forget_session(self, session: Session) -> None:
        self.sessions.pop(session.info.backend_pid, None)

    async def cancel(self, pid: int, key: bytes) -> None:
        """A CancelRequest: cancel what the session runs on every node it holds."""
        worker = (pid >> PID_WORKER_SHIFT) & 0x3F
        if worker != self.worker and self.cancel_socket_dir is not None:
            await self._forward_cancel(worker, pid, key)
            return
        session = self.sessions.get(pid)
        if session is None or session.info.backend_key != key or session.runner is None:
            return
        await self.cancel_session(session)

    async def cancel_session(self, session: Session) -> None:
        """Cancel what `session` runs on every node it holds (a CancelRequest, or its client
        gone while a statement runs)."""
        if session.runner is None:
            return
        runner = session.runner
        if runner.is_running:  # (PostgreSQL ignores a cancel that finds its backend idle)
            runner.cancel_pending = True  # the coordinator's own loops stop too
        conns = [part.conn for part in runner.txn.participants.values()]
        conns += [conn for conn in runner.side_connections if conn not in conns]
        cycle = session.cycle  # a routed cycle from callbacks, on a connection of its own
        if cycle is not None and cycle.conn not in conns:
            conns.append(cycle.conn)
        for conn in conns:  # all marked before the first wait: none goes back to a pool
            conn.cancel_sent = True  # (and to another session) with a cancel still on its way
        await asyncio.gather(*(conn.send_cancel() for conn in conns))

    def cancel_socket(self, worker: int) -> str:
        return str(self.cancel_socket_dir / f"{self.name}.w{worker}.cancel")

    def loopback_socket(self, worker: int) -> str:
        return str(self.cancel_socket_dir / f"{self.name}.w{worker}.loopback")

    async def serve_loopback_handovers(self) -> asyncio.AbstractServer:
        """Sibling workers hand this worker the loopback connections of its sessions."""
        path = self.loopback_socket(self.worker)
        if os.path.exists(path):
            os.unlink(path)
        return await asyncio.get_running_loop().create_unix_server(self.client_protocol, path)

    async def _forward_cancel(self, worker: int, pid: int, key: bytes) -> None:
        try:
            reader, writer = await asyncio.open_unix_connection(self.cancel_socket(worker))
        except OSError:
            return
        try:
            writer.write(codec.build_cancel_request(pid, key))
            await writer.drain()
            await asyncio.wait_for(reader.read(), CANCEL_ACK_WAIT)  # its nodes were told (send_cancel)
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()

    async def serve_forwarded_cancels(self) -> asyncio.AbstractServer:
        """Sibling workers hand this worker the cancel requests of its sessions."""
        path = self.cancel_socket(self.worker)
        if os.path.exists(path):
            os.unlink(path)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                packet = await asyncio.wait_for(reader.readexactly(16), 5)
                startup = codec.parse_startup(packet[4:])
                await self.cancel(startup.cancel_pid, startup.cancel_key)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, codec.ProtocolViolation):
                pass
            finally:
                writer.close()

        return await asyncio.start_unix_server(handle, path)

    async def lookup_role(self, user: str) -> RoleInfo | None:
        pool = self.pools.pool(self.catalog_node)
        conn = await self.internal_acquire(self.catalog_node)
        try:
            rows = await conn.query(role_lookup_sql(user))
        finally:
            pool.release(conn)
        return role_from_row(rows[0] if rows else None)

    def client_protocol(self) -> ClientStream:
        """The protocol of one client connection (the servers' protocol factory)."""
        return ClientStream(self._new_session, self._run_session)

    def listener_protocol(self) -> ClientStream:
        """`client_protocol` of a connection the port's listener accepted: counted in this
        worker's share and, with sibling workers, placed on the least loaded one
        (frontend/placement.py)."""
        return ClientStream(self._new_session, self._run_session, self.placement)

    def adopted_protocol(self) -> ClientStream:
        """`listener_protocol` of a connection a sibling worker handed here: kept."""
        return ClientStream(self._new_session, self._run_session, self.placement, adopted=True)

    def placement_socket(self, worker: int) -> str:
        return str(self.cancel_socket_dir / f"{self.name}.w{worker}.clients")

    def _new_session(self, stream: ClientStream) -> Session:
        return Session(self, stream)

    async def _run_session(self, session: Session) -> None:
        session.task = asyncio.current_task()
        self.clients.add(session)
        self.open_connections += 1
        try:
            await session.run()
        except asyncio.CancelledError:
            pass  # the worker stops; the client has been told (Session._shutdown_error)
        finally:
            self.open_connections -= 1
            self.clients.discard(session)

    def stop_accepting(self) -> None:
        """The worker stops (SIGTERM, or its coordinator's main process died): every
        client still connecting, and every one accepted until the listener closes
        (close_listener), is told "shutting down" (57P03) at once, so libpq goes on to the
        next coordinator of its connection string instead of getting a FATAL it stops at.
        Established sessions run on until the worker exits."""
        self.stopping = True
        for session in list(self.clients):
            if not session.established and session.task is not None:
                session.task.cancel()

    async def start_server(self, host: str, port: int, **kwargs: Any) -> asyncio.AbstractServer:
        """Serve clients on host:port (kwargs as for loop.create_server)."""
        return await asyncio.get_running_loop().create_server(self.listener_protocol, host, port, **kwargs)

    def close(self) -> None:
        self.epoch_acks.close()
        if self._standby_task is not None:
            self._standby_task.cancel()
            self._standby_watch.close()
        self.pools.close()
        self.commit_witness.close()
        self.marker_connections.close()


_VIEWS_SQL = (
    "SELECT pg_catalog.set_config('search_path', 'pg_catalog', true); "
    "SELECT n.nspname, c.relname, pg_catalog.pg_get_viewdef(c.oid) FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'gridpg') "
    "AND n.nspname NOT LIKE 'pg\\_%'")


# The rules of distributed tables and of views (not a view's _RETURN), with their
# columns (planner/rules.py: name, type, default or generation expression, identity or
# generated, generated): read in the same transaction as the views, names
# schema-qualified.
_RULES_SQL = (
    "SELECT n.nspname, c.relname, r.rulename, pg_catalog.pg_get_ruledef(r.oid), r.ev_enabled, "
    "(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, "
    "pg_catalog.format_type(a.atttypid, a.atttypmod), pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), "
    "a.attgenerated <> '' OR a.attidentity <> '', a.attgenerated <> '') ORDER BY a.attnum) "
    "FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef ad "
    "ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
    "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)::text "
    "FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE r.rulename <> '_RETURN' AND c.relpersistence <> 't' AND (EXISTS (SELECT FROM gridpg.dist_table d "
    "WHERE d.schema_name = n.nspname AND d.table_name = c.relname) OR c.relkind = 'v' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'gridpg') AND n.nspname NOT LIKE 'pg\\_%') "
    "ORDER BY 1, 2, 3")


# The catalog server's part of the datanodes' maps: its types and its relations' columns
# (a node's are matched to these by schema and name).
_CATALOG_PART_SQL = f"{relation_oids.TYPE_OIDS_SQL}; {relation_oids.RELATION_COLUMNS_SQL}"


def _state_sql(name: str, epoch: int) -> str:
    """A worker reports `epoch` loaded: its `coordinator_state` row, and a notification
    that wakes DDL waiting for it (frontend/epoch_acks.py), in one transaction. Committed
    without waiting for the WAL flush: the row is an acknowledgement, written again at
    every reload, not data (a row a crash lost makes a DDL wait its bound, no more)."""
    return ("BEGIN; SET LOCAL synchronous_commit TO off; "
            "INSERT INTO gridpg.coordinator_state (name, epoch) VALUES "
            f"({quote_literal(name)}, {int(epoch)}) ON CONFLICT (name) DO UPDATE SET "
            f"epoch = EXCLUDED.epoch, updated = now(); NOTIFY {ACK_CHANNEL}; COMMIT")


async def _load_snapshot_and_views(conn: BackendConnection) -> tuple[
        Sequence[Sequence[Any]], dict[tuple[str, str], str], dict[tuple[str, str], TableRules], frozenset[int]]:
    """The snapshot's rows (store.SNAPSHOT_SQL), the views and the rules (`_load_views`),
    and the types carrying OIDs (OID_CARRYING_TYPES_SQL), in one round trip and one
    transaction."""
    results = await conn.simple_query(
        f"BEGIN; {store.SNAPSHOT_SQL}; {_VIEWS_SQL}; {_RULES_SQL}; {OID_CARRYING_TYPES_SQL}; COMMIT")
    views, rules = _views_and_rules(results[3].rows, results[4].rows)
    return results[1].rows, views, rules, frozenset(int(row[0]) for row in results[5].rows if row[0])


def _views_and_rules(view_rows: Sequence[Sequence[Any]], rule_rows: list[Any]) -> tuple[
        dict[tuple[str, str], str], dict[tuple[str, str], TableRules]]:
    views = {(r[0] or "", r[1] or ""): sqlparse.repair_view_definition((r[2] or "").strip().rstrip(";"))
             for r in view_rows}
    return views, table_rules(rule_rows)


async def _load_views(conn: BackendConnection, in_block: bool = False
                      ) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], TableRules]]:
    """Definitions of user views, every name schema-qualified (so the planner can inline
    a view over distributed tables whatever the session's search_path), and the rules of
    distributed tables. `in_block`: inside the session's own transaction (its uncommitted
    views included), in a savepoint whose rollback also undoes the search_path used here."""
    if in_block:
        results = await conn.simple_query(
            f"SAVEPOINT gp_views; {_VIEWS_SQL}; {_RULES_SQL}; ROLLBACK TO SAVEPOINT gp_views; "
            "RELEASE SAVEPOINT gp_views")
    else:
        results = await conn.simple_query(f"BEGIN; {_VIEWS_SQL}; {_RULES_SQL}; COMMIT")
    return _views_and_rules(results[2].rows if len(results) > 2 else [],
                            results[3].rows if len(results) > 3 else [])


EPOCH_CHANNEL = "gridpg_catalog"
PID_BASE, PID_COORDINATOR_SHIFT, PID_WORKER_SHIFT, PID_COUNTER = 1 << 30, 26, 20, 0xFFFFF
RECURSION_LIMIT = 5000  # (see serve)

GRIDPG_FUNCTIONS = """
CREATE TABLE IF NOT EXISTS gridpg.coordinator_state (
  name text PRIMARY KEY, epoch bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now());
CREATE OR REPLACE FUNCTION gridpg.version() RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT """ + VERSION_EXPRESSION + """ $$;
""" + SIGNAL_FUNCTION


def _reported(params: dict[str, str]) -> dict[str, str]:
    keep = ("server_version", "server_encoding", "DateStyle", "TimeZone", "IntervalStyle",
            "integer_datetimes", "standard_conforming_strings", "default_transaction_read_only",
            "in_hot_standby", "scram_iterations")
    out = {k: v for k, v in params.items() if k in keep}
    out.setdefault("server_encoding", "UTF8")
    out.setdefault("integer_datetimes", "on")
    out.setdefault("standard_conforming_strings", "on")
    out["DateStyle"] = "ISO, MDY"
    return out


# -- process entry ---------------------------------------------------------------------


def build_coordinator(cluster: Cluster, name: str) -> tuple[Coordinator, str, int, list[Node]]:
    from gridpg.cluster.pgserver import SUPERUSER

    topo = cluster.topology
    spec = topo.coordinator(name)
    password = cluster.password()
    sockets = str(cluster.run_dir)

    def address(server: Any) -> NodeAddress:
        return NodeAddress(server.name, server.host, server.port, SUPERUSER, password,
                           socket_dir=sockets)

    # Datanode groups are addressed by group name; the group's primary serves it.
    datanodes = [
        NodeAddress(group.name, group.primary.host, group.primary.port, SUPERUSER, password,
                    socket_dir=sockets, options=DATANODE_OPTIONS)
        for group in topo.groups
    ]
    others = [address(c.catalog) for c in topo.coordinators if c.name != name]
    gtm_first, *gtm_others = topo.gtm_addresses()
    gtm = GtmClient(*gtm_first, alternates=gtm_others)
    settings = CoordinatorSettings(trust=topo.trust)
    settings.commit_markers = os.environ.get("GRIDPG_COMMIT_MARKERS", "on").lower() not in ("off", "0", "false")
    limit = os.environ.get("GRIDPG_MAX_CONNECTIONS", "")
    if limit.isdigit():
        settings.max_connections = int(limit)
    pool = os.environ.get("GRIDPG_POOL_SIZE", "")  # backend connections per node and worker
    if pool.isdigit() and int(pool) > 0:
        settings.pool_size = int(pool)
    coordinator = Coordinator(name, address(spec.catalog), datanodes, others, gtm, settings)
    coordinator.index = next(i for i, c in enumerate(topo.coordinators) if c.name == name)
    coordinator.read_only = spec.read_only
    coordinator.max_standby_lag = spec.max_standby_lag
    coordinator.listen_address = (spec.host, spec.port)
    nodes: list[Node] = []
    for coord in topo.coordinators:
        nodes.append(Node(coord.name, "coordinator", coord.host, coord.port, None))
    for group in topo.groups:
        for member in group.members:
            nodes.append(Node(member.name, "datanode", member.host, member.port, group.name,
                              "primary" if member.role == "primary" else "secondary"))
    return coordinator, spec.host, spec.port, nodes


def _ssl_context(directory: Any) -> ssl.SSLContext | None:
    """TLS for clients when the cluster directory holds server.crt and server.key."""
    cert, key = directory / "server.crt", directory / "server.key"
    if not (cert.exists() and key.exists()):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


def default_workers(configured: int = 0) -> int:
    """Worker processes per coordinator: $GRIDPG_COORDINATOR_WORKERS, else `configured`
    (the topology file's `workers`), else what the machine's cores give best.

    A coordinator shares the cores with its datanodes and clients: one worker per core up
    to 2, CPUs/2 beyond 4 cores. (The 1/2/3-worker sweep on a 2-core machine is in
    bench/RESULTS.md; `python -m bench --workers N` repeats it.)
    """
    env = os.environ.get("GRIDPG_COORDINATOR_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if configured > 0:
        return configured
    cpus = os.cpu_count() or 1
    return max(1, min(cpus, 2) if cpus <= 4 else cpus // 2)


def run_coordinator(cluster: Cluster, name: str, workers: int | None = None) -> int:
    """Bootstrap once, then serve with `workers` processes sharing the port (SO_REUSEPORT)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Parse trees are walked recursively: a statement as deeply nested as PostgreSQL takes
    # (hundreds of sub-selects, thousands of `||`) needs more than Python's 1,000 frames,
    # and deeper ones fail as 54001 (errors.stack_depth_exceeded). 5,000 stays well inside
    # the 8 MB C stack (a walker through generators overflowed it near 40,000).
    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    workers = workers or default_workers(cluster.topology.coordinator(name).workers)
    asyncio.run(_bootstrap(cluster, name))
    verdict = StandbyVerdict()  # mapped before the fork: every worker shares it
    share = ReloadShare() if workers > 1 else None  # likewise
    counts = SessionCounts(workers) if workers > 1 else None  # likewise
    children = []
    for index in range(1, workers):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            code = 1
            try:
                code = asyncio.run(_serve(cluster, name, index, workers, verdict, share, counts))
            finally:
                os._exit(code)
        children.append(pid)
    try:
        return asyncio.run(_serve(cluster, name, 0, workers, verdict, share, counts))
    finally:
        _stop_children(children)


async def close_listener(server: asyncio.AbstractServer, bound: float = 2.0) -> None:
    """Close a stopping coordinator's listener once the kernel's accept queue is empty
    (bounded): a connection the kernel completed but nobody accepted would be reset at
    close, and libpq does not try the next host after a reset; accepted, it hears 57P03
    (Coordinator.stop_accepting). New connections are not completed meanwhile
    (refuse_new_connections): one completed between the last look at the queue and the
    close would be reset."""
    refuse_new_connections(server)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while loop.time() < deadline and accept_queue_length(server) > 0:
        await asyncio.sleep(0.01)
    server.close()


async def answer_connecting(connecting: Callable[[], bool], bound: float = 2.0) -> None:
    """After the listener closed (close_listener): wait, bounded, until no client accepted
    before the close is still connecting. One accepted in the listener's last moments may
    not have sent its startup packet yet (its process had no CPU); the worker's exit would
    close the connection under it, which libpq reports as "server closed the connection
    unexpectedly" and does not try the next host after. Once its packet comes, it hears
    57P03 (Session.startup) and libpq goes on to the next coordinator."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    await asyncio.sleep(0)  # sessions accepted in the listener's last turn start
    while connecting() and loop.time() < deadline:
        await asyncio.sleep(0.01)


_SO_ATTACH_FILTER = 26  # Linux, <asm-generic/socket.h>
_DROP_EVERY_PACKET = struct.pack("HBBI", 0x06, 0, 0, 0)  # classic BPF: BPF_RET|BPF_K 0


def refuse_new_connections(server: asyncio.AbstractServer) -> None:
    """Linux: a socket filter on the listening sockets that drops every packet to them, so
    the kernel completes no new connection (a client's SYN is dropped; it sends it again a
    second later, finds the port closed, ECONNREFUSED, and libpq tries the next host),
    while the connections it has queued already stay to be accepted and answered. Without
    it, one completed between close_listener's last look at the queue and the close (the
    worker preempted in between, on a loaded machine) is reset, and libpq gives up."""
    import ctypes

    program = ctypes.create_string_buffer(_DROP_EVERY_PACKET, len(_DROP_EVERY_PACKET))
    fprog = struct.pack("@HP", 1, ctypes.addressof(program))  # the kernel copies it
    for listener in getattr(server, "sockets", ()) or ():
        try:
            with socket.fromfd(listener.fileno(), listener.family, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
        except (OSError, AttributeError, ValueError):
            continue  # not Linux, or not a socket: the close below is as before


def accept_queue_length(server: asyncio.AbstractServer) -> int:
    """Connections waiting in the listening sockets' accept queues (Linux: TCP_INFO of a
    listening socket reports it as tcpi_unacked); 0 where it cannot be asked."""
    waiting = 0
    for listener in getattr(server, "sockets", ()) or ():
        try:
            with socket.fromfd(listener.fileno(), listener.family, socket.SOCK_STREAM) as sock:
                info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
            waiting += struct.unpack_from("<I", info, 24)[0]  # tcpi_unacked
        except (OSError, AttributeError, ValueError, struct.error):
            continue
    return waiting


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when the coordinator's main process dies."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_children(children: list[int]) -> None:
    import time

    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        metrics.worker_exited(pid)
    deadline = time.monotonic() + 10
    for pid in children:
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


async def _bootstrap(cluster: Cluster, name: str) -> None:
    coordinator, _, _, nodes = build_coordinator(cluster, name)
    conn = await BackendConnection.connect(coordinator.catalog_address)
    try:
        await coordinator._bootstrap_catalog(conn, nodes)
    finally:
        conn.close()
    await coordinator._bootstrap_datanodes()
    from gridpg.txn.recovery import recover_in_doubt

    participants = [*coordinator.datanode_addresses.values(), coordinator.catalog_address,
                    *coordinator.other_catalogs]
    outcome = await recover_in_doubt(name, coordinator.gtm, participants)
    if any(outcome.values()):
        log.info("in-doubt transactions of %s resolved: %s", name, outcome)
    coordinator.close()


async def _report_pools(coordinator: Coordinator, every: float = 1.0) -> None:
    """The pools' open and idle connections, per node, as gauges (summed over workers);
    the statements counted in memory (metrics.Tally) go to the shared files too."""
    while True:
        metrics.flush_tallies()
        for node, pool in coordinator.pools.items():
            metrics.POOL_CONNECTIONS.labels(node, "open").set(pool.open_count)
            metrics.POOL_CONNECTIONS.labels(node, "idle").set(pool.idle_count)
        await asyncio.sleep(every)


async def _serve(cluster: Cluster, name: str, worker: int = 0, workers: int = 1,
                 verdict: StandbyVerdict | None = None, share: ReloadShare | None = None,
                 counts: SessionCounts | None = None) -> int:
    coordinator, host, port, nodes = build_coordinator(cluster, name)
    coordinator.worker = worker
    coordinator.reload_share = share
    if verdict is not None:
        coordinator.standby_verdict = verdict
    coordinator.ssl_context = _ssl_context(cluster.dir)
    from gridpg.planner.core import Planner

    coordinator.planner = Planner()
    await coordinator.start(nodes, bootstrap=False)
    await coordinator.start_listener()
    from gridpg.commands.activity import session_rows
    from gridpg.commands.stat_activity import apply_signals

    coordinator.pause_gate.start(lambda: list(coordinator.sessions.values()),
                                 lambda: session_rows(coordinator),
                                 lambda signals: apply_signals(coordinator, signals))
    cancels = None
    if workers > 1:
        coordinator.cancel_socket_dir = cluster.run_dir
        cancels = await coordinator.serve_forwarded_cancels()
        handovers = await coordinator.serve_loopback_handovers()
        if counts is not None:
            coordinator.placement = WorkerPlacement(counts, worker, coordinator.placement_socket)
            coordinator.placement.serve(coordinator.adopted_protocol)
    server = await coordinator.start_server(host, port, backlog=1024, reuse_port=workers > 1)
    log.info("coordinator %s worker %d listening on %s:%d", name, worker, host, port)
    metrics_port = cluster.topology.coordinator(name).metrics_port
    if worker == 0 and metrics_port:
        metrics.serve(host, metrics_port)
        log.info("coordinator %s metrics on http://%s:%d/metrics", name, host, metrics_port)
    gauges = asyncio.ensure_future(_report_pools(coordinator))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_stop() -> None:  # at once, not after the cleanup below: see stop_accepting
        coordinator.stop_accepting()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_stop)
    await stop.wait()
    await close_listener(server)
    await answer_connecting(lambda: any(not s.established for s in coordinator.clients))
    gauges.cancel()
    if cancels is not None:
        cancels.close()
        handovers.close()
    if coordinator.placement is not None:
        coordinator.placement.close()
    coordinator.pause_gate.stop()
    # A clean stop gives the unused cached sequence values back (a restart continues
    # without a gap where nobody took values since); a GTM that does not answer is skipped.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(coordinator._return_cached_sequences(), 2.0)
    await coordinator.forget_state()
    await coordinator.notify_hub.close()
    coordinator.close()
    return 0
