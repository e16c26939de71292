"""The coordinator process: its shared state and its asyncio server.

Owns what all sessions of one coordinator share: the backend pools (catalog servers and
datanode primaries), the GTM client, the cached catalog snapshot and its epoch, the
describe cache, the session registry (for cancel and connection limits). Sessions reach
the rest of the system only through this object.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.catalog import store
from gridpg.catalog.model import CatalogSnapshot, Node
from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.datanode.pool import PoolSet
from gridpg.frontend.auth import RoleInfo, role_from_row, role_lookup_sql
from gridpg.frontend.session import Session
from gridpg.gtm.client import GtmClient
from gridpg.txn.transaction import CommitLog

if TYPE_CHECKING:
    from gridpg.cluster.control import Cluster
    from gridpg.planner.service import Planner

log = logging.getLogger("gridpg.coordinator")


@dataclass
class CoordinatorSettings:
    trust: bool = False
    max_connections: int = 1000
    max_message: int = 64 * 1024 * 1024
    pool_size: int = 32
    idle_in_transaction_timeout: float = 0.0


class GtmCommitLog(CommitLog):
    def __init__(self, gtm: GtmClient) -> None:
        self.gtm = gtm

    async def next_gxid(self) -> int:
        return await self.gtm.next_gxid()

    async def log_commit(self, gid: str, nodes: list[str]) -> None:
        await self.gtm.txn_log_commit(gid, nodes)

    async def forget(self, gid: str) -> None:
        await self.gtm.txn_forget(gid)


class Coordinator:
    """Shared state of one coordinator process."""

    def __init__(
        self, name: str, catalog: NodeAddress, datanodes: list[NodeAddress],
        other_catalogs: list[NodeAddress], gtm: GtmClient, settings: CoordinatorSettings,
    ) -> None:
        self.name = name
        self.settings = settings
        self.catalog_node = catalog.name
        self.catalog_address = catalog
        self.other_catalogs = other_catalogs
        self.datanode_addresses = {a.name: a for a in datanodes}
        self.gtm = gtm
        self.commit_log = GtmCommitLog(gtm)
        self.pools = PoolSet(settings.pool_size)
        for address in [catalog, *datanodes, *other_catalogs]:
            self.pools.set_node(address)
        self.sessions: dict[int, Session] = {}
        self.describe_cache: dict[Any, tuple[list[int], bytes | None]] = {}
        self.server_parameters: dict[str, str] = {}
        self.ssl_context: ssl.SSLContext | None = None
        self.snapshot: CatalogSnapshot | None = None
        self.planner: Planner | None = None
        self._next_pid = 1

    # -- startup -----------------------------------------------------------------------

    async def start(self, nodes: list[Node]) -> None:
        """Bootstrap the catalog (schema and nodes), then load the metadata."""
        conn = await BackendConnection.connect(self.catalog_address)
        try:
            await store.ensure_schema(conn)
            existing = {row[0] for row in await conn.query("SELECT name FROM gridpg.node")}
            missing = [n for n in nodes if n.name not in existing]
            if missing:
                await conn.simple_query("\n".join(store.sql_insert_node(n) for n in missing))
            self.server_parameters = _reported(conn.parameters)
        finally:
            conn.close()
        await self.reload_catalog()

    async def reload_catalog(self) -> None:
        epoch = await self.gtm.epoch_get()
        conn = await self.pools.pool(self.catalog_node).acquire()
        try:
            self.snapshot = await store.load_snapshot(conn, epoch)
        finally:
            self.pools.pool(self.catalog_node).release(conn)
        self.describe_cache.clear()
        if self.planner is not None:
            self.planner.invalidate()

    # -- sessions ----------------------------------------------------------------------

    def admit(self, session: Session) -> bool:
        return len(self.sessions) < self.settings.max_connections

    def register_session(self, session: Session) -> tuple[int, bytes]:
        pid = (os.getpid() % 1000) * 100000 + self._next_pid
        self._next_pid += 1
        key = os.urandom(4)
        self.sessions[pid] = session
        return pid, key

    def forget_session(self, session: Session) -> None:
        self.sessions.pop(session.info.backend_pid, None)

    async def cancel(self, pid: int, key: bytes) -> None:
        """A CancelRequest: cancel what the session runs on every node it holds."""
        session = self.sessions.get(pid)
        if session is None or session.info.backend_key != key or session.runner is None:
            return
        for part in list(session.runner.txn.participants.values()):
            await part.conn.send_cancel()

    async def lookup_role(self, user: str) -> RoleInfo | None:
        pool = self.pools.pool(self.catalog_node)
        conn = await pool.acquire()
        try:
            rows = await conn.query(role_lookup_sql(user))
        finally:
            pool.release(conn)
        return role_from_row(rows[0] if rows else None)

    async def handle_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            import socket as _socket

            try:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError:
                pass
        session = Session(self, reader, writer)
        await session.run()

    def close(self) -> None:
        self.pools.close()


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

    def address(server: Any) -> NodeAddress:
        return NodeAddress(server.name, server.host, server.port, SUPERUSER, password)

    datanodes = [address(group.primary) for group in topo.groups]
    # Datanode groups are addressed by group name; the group's primary serves it.
    datanodes = [
        NodeAddress(group.name, group.primary.host, group.primary.port, SUPERUSER, password)
        for group in topo.groups
    ]
    others = [address(c.catalog) for c in topo.coordinators if c.name != name]
    gtm = GtmClient(topo.gtm.host, topo.gtm.port)
    coordinator = Coordinator(
        name, address(spec.catalog), datanodes, others, gtm,
        CoordinatorSettings(trust=topo.trust),
    )
    nodes: list[Node] = []
    for coord in topo.coordinators:
        nodes.append(Node(coord.name, "coordinator", coord.host, coord.port, None))
    for group in topo.groups:
        for member in group.members:
            nodes.append(Node(member.name, "datanode", member.host, member.port, group.name,
                              "primary" if member.role == "primary" else "secondary"))
    return coordinator, spec.host, spec.port, nodes


def run_coordinator(cluster: Cluster, name: str) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return asyncio.run(_serve(cluster, name))


async def _serve(cluster: Cluster, name: str) -> int:
    coordinator, host, port, nodes = build_coordinator(cluster, name)
    from gridpg.planner.service import Planner

    coordinator.planner = Planner(coordinator)
    await coordinator.start(nodes)
    server = await asyncio.start_server(coordinator.handle_client, host, port, backlog=1024)
    log.info("coordinator %s listening on %s:%d", name, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    coordinator.close()
    return 0
