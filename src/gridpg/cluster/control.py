"""Cluster control: bring a whole cluster up, down, and report its state.

Owns the cluster directory layout (topology file, data directories, run/ and log/), the
order in which members start, and waiting until each accepts connections. It drives
`pgserver` for PostgreSQL members and `processes` for gridpg's own processes; it speaks no
SQL (coordinators bootstrap their catalog themselves when they start).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gridpg.cluster import processes
from gridpg.cluster.pgserver import (
    SUPERUSER,
    PgServer,
    ServerError,
    find_pg_bin,
    is_accepting,
    is_port_free,
    make_reachable,
    run_as_user,
)
from gridpg.cluster.topology import (
    TOPOLOGY_FILE,
    GroupSpec,
    GtmSpec,
    ServerSpec,
    Topology,
    load,
    save,
)

Progress = Callable[[str], None]
MONITOR = "monitor"


class ClusterError(Exception):
    """A cluster operation failed; the message is meant for the user as it is."""


@dataclass
class MemberStatus:
    name: str
    kind: str  # gtm | coordinator | catalog | datanode
    role: str
    address: str
    pid: int | None
    state: str  # running | stopped
    lag: str = "-"
    metrics: str = "-"  # where a coordinator serves Prometheus metrics


@dataclass
class ShardUsage:
    """One table's part on one datanode group."""

    group: str
    table: str
    shards: int  # partitions (hash shards) held there; 0 for a plain table
    rows: int  # counted below EXACT_COUNT_BYTES of heap, else PostgreSQL's estimate
    bytes: int


# Every user table on a datanode: partitioned parents summed over their partitions (shards),
# plain tables (reference, roundrobin, modulo) as they are (pg_partition_tree lists nothing
# for them).
_USAGE_SQL = """
WITH t AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind,
    CASE WHEN c.relkind = 'p' THEN ARRAY(SELECT p.relid FROM pg_catalog.pg_partition_tree(c.oid) p
                                          WHERE p.isleaf AND p.relid <> c.oid)
         ELSE ARRAY[c.oid::regclass] END AS parts
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'gridpg', 'gridpg_shards')
    AND n.nspname NOT LIKE 'pg\\_%'
)
SELECT t.nspname, t.relname,
  CASE WHEN t.relkind = 'p' THEN cardinality(t.parts) ELSE 0 END,
  (SELECT coalesce(sum(greatest(pc.reltuples, 0)), 0) FROM unnest(t.parts) u(r)
     JOIN pg_catalog.pg_class pc ON pc.oid = u.r),
  (SELECT coalesce(sum(pg_catalog.pg_total_relation_size(u.r)), 0) FROM unnest(t.parts) u(r)),
  (SELECT coalesce(sum(pg_catalog.pg_relation_size(u.r)), 0) FROM unnest(t.parts) u(r))
FROM t ORDER BY 1, 2
"""
EXACT_COUNT_BYTES = 64 << 20  # tables smaller than this are counted exactly, not estimated


async def _exact_counts(conn: object, rows: list[tuple[str | None, ...]]) -> dict[int, int]:
    """count(*) of the small tables among `rows` (index -> rows), in one statement."""
    from gridpg.sql.quote import quote_qualified

    small = [i for i, r in enumerate(rows) if int(r[5] or 0) < EXACT_COUNT_BYTES]
    if not small:
        return {}
    sql = " UNION ALL ".join(f"SELECT {i}, count(*) FROM {quote_qualified(rows[i][0] or '', rows[i][1] or '')}"
                             for i in small)
    found = await conn.query(sql)  # type: ignore[attr-defined]
    return {int(i or 0): int(n or 0) for i, n in found}


class Cluster:
    """A cluster directory and the members its topology describes."""

    def __init__(self, directory: Path, pg_bin: str | None = None) -> None:
        self.dir = directory.expanduser().absolute()
        self.pg_bin = pg_bin
        self._topology: Topology | None = None

    # -- layout ------------------------------------------------------------------------

    @property
    def topology_path(self) -> Path:
        return self.dir / TOPOLOGY_FILE

    @property
    def password_file(self) -> Path:
        return self.dir / "superuser.password"

    def exists(self) -> bool:
        return self.topology_path.exists()

    @property
    def topology(self) -> Topology:
        if self._topology is None:
            if not self.exists():
                raise ClusterError(
                    f"{self.dir} holds no gridpg cluster (no {TOPOLOGY_FILE}); "
                    "create one with `gridpg up --dir ...`"
                )
            self._topology = load(self.topology_path)
        return self._topology

    def reload(self) -> None:
        """Read the topology file again at next use (another process may have changed it,
        e.g. a failover)."""
        self._topology = None

    def password(self) -> str:
        return self.password_file.read_text().strip()

    def server(self, spec: ServerSpec) -> PgServer:
        data_dir = Path(spec.data_dir)
        if not data_dir.is_absolute():
            data_dir = self.dir / data_dir
        archive = self.topology.archive
        return PgServer(
            name=spec.name, data_dir=data_dir, host=spec.host, port=spec.port,
            socket_dir=self.run_dir, log_file=self.dir / "log" / f"{spec.name}.log",
            bin_dir=find_pg_bin(self.pg_bin), password_file=self.password_file,
            archive_dir=Path(archive) / self.topology.archive_key(spec) if archive else None,
        )

    @property
    def run_dir(self) -> Path:
        return self.dir / "run"

    def dsn(self, coordinator: int = 0, user: str = SUPERUSER, database: str = "postgres") -> str:
        coord = self.topology.coordinators[coordinator]
        password = "" if self.topology.trust else f":{self.password()}"
        return f"postgresql://{user}{password}@{coord.host}:{coord.port}/{database}"

    def dsn_all(self, user: str = SUPERUSER, database: str = "postgres", read_only: bool = False) -> str:
        """One libpq URI naming every read-write (or every read-only) coordinator: clients
        try them in order (and, with `load_balance_hosts=random`, spread over them)."""
        password = "" if self.topology.trust else f":{self.password()}"
        hosts = ",".join(f"{c.host}:{c.port}" for c in self.topology.coordinators
                         if c.read_only == read_only)
        return f"postgresql://{user}{password}@{hosts}/{database}"

    # -- create ------------------------------------------------------------------------

    def create(self, topology: Topology, progress: Progress) -> None:
        """Write the topology and initialize every PostgreSQL member (first run only)."""
        if self.dir.exists() and any(self.dir.iterdir()) and not self.exists():
            raise ClusterError(
                f"{self.dir} is not empty and holds no gridpg cluster; choose another --dir"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        user = run_as_user()
        make_reachable(self.dir, user)
        for sub in ("run", "log"):
            make_reachable(self.dir / sub, user)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
        save(topology, self.topology_path)
        self._topology = topology
        if topology.archive:  # a group added later creates its own directory in it
            make_reachable(Path(topology.archive), user)
            for spec in topology.all_servers():
                make_reachable(Path(topology.archive) / topology.archive_key(spec), user)
        primaries = [c.catalog for c in topology.coordinators] + [g.primary for g in topology.groups]
        progress(f"initializing {len(primaries)} PostgreSQL servers")
        self._parallel([self.server(s) for s in primaries], lambda srv: srv.init({}))

    # -- up / down ---------------------------------------------------------------------

    def up(self, progress: Progress) -> bool:
        """Start every member that is not running; False if all were already up."""
        topo = self.topology
        if self.is_fully_up():
            return False
        self._check_ports()
        progress("starting the GTM and PostgreSQL servers")
        self._start_gtm()
        primaries = [self.server(c.catalog) for c in topo.coordinators]
        primaries += [self.server(g.primary) for g in topo.groups]
        self._parallel(primaries, lambda srv: srv.start(wait=True))
        standbys = [(g, s) for g in topo.groups for s in g.standbys]
        if standbys:
            progress(f"starting {len(standbys)} standby servers")
            self._parallel(standbys, self._start_standby)
            self._make_synchronous()
        self._wait_gtm()
        progress("starting coordinators")
        for coord in topo.coordinators:
            if processes.running_pid(self.dir, coord.name) is None:
                processes.spawn(self.dir, coord.name, ["coordinator", "--dir", str(self.dir)])
        self._wait_coordinators()
        self.start_monitor()
        return True

    def start_monitor(self) -> bool:
        """Start the monitor unless it runs or the topology turns it off; True if started."""
        if not self.topology.monitor or processes.running_pid(self.dir, MONITOR) is not None:
            return False
        processes.spawn(self.dir, MONITOR, ["monitor", "--dir", str(self.dir)])
        return True

    def down(self, progress: Progress) -> list[str]:
        """Stop every member; returns the names of those that were running."""
        topo = self.topology
        stopped = []
        for coord in topo.coordinators:
            if processes.stop(self.dir, coord.name):
                stopped.append(coord.name)
        if processes.stop(self.dir, MONITOR):
            stopped.append(MONITOR)
        servers = [self.server(s) for s in topo.all_servers()]
        running = [srv for srv in servers if srv.is_running()]
        if running:
            progress(f"stopping {len(running)} PostgreSQL servers")
        failure: ClusterError | None = None
        try:
            self._parallel(running, lambda srv: srv.stop("fast"))
        except ClusterError as exc:  # stop the rest all the same, then say what failed
            failure = exc
        stopped += [srv.name for srv in running if not srv.is_running()]
        for gtm in topo.gtm_members():
            if processes.stop(self.dir, gtm.name):
                stopped.append(gtm.name)
        if failure is not None:
            raise failure
        return stopped

    def is_fully_up(self) -> bool:
        return all(m.state == "running" for m in self.status())

    # -- status ------------------------------------------------------------------------

    def status(self) -> list[MemberStatus]:
        topo = self.topology
        rows = [self._gtm_status(g) for g in topo.gtm_members()]
        for coord in topo.coordinators:
            row = self._process_status(coord.name, "coordinator", coord.role, coord.host, coord.port)
            row.metrics = f"http://{coord.host}:{coord.metrics_port}/metrics" if coord.metrics_port else "-"
            rows.append(row)
            rows.append(self._server_status(coord.catalog, "catalog"))
        if topo.monitor:
            rows.append(self._monitor_status())
        for group in topo.groups:
            lags = self._replication_lag(group) if group.standbys else {}
            for member in group.members:
                row = self._server_status(member, "datanode")
                if member.role != "primary":
                    row.lag = lags.get(member.name, "-" if row.state != "running" else "not streaming")
                rows.append(row)
        return rows

    def shard_usage(self) -> list[ShardUsage]:
        """Per datanode group and table: shards, rows and bytes, read from each group's primary
        (rows counted for tables under EXACT_COUNT_BYTES of heap; beyond, PostgreSQL's
        reltuples estimate as autovacuum/ANALYZE left it)."""
        import asyncio

        from gridpg.datanode.connection import BackendConnection, NodeAddress

        async def group_usage(group: GroupSpec) -> list[ShardUsage]:
            spec = group.primary
            address = NodeAddress(spec.name, spec.host, spec.port, SUPERUSER, self.password())
            conn = await BackendConnection.connect(address, timeout=5)
            try:
                rows = await conn.query(_USAGE_SQL)
                counts = await _exact_counts(conn, rows)
            finally:
                conn.close()
            return [ShardUsage(group.name, f"{r[0]}.{r[1]}", int(r[2] or 0),
                               counts.get(i, max(int(float(r[3] or 0)), 0)), int(r[4] or 0))
                    for i, r in enumerate(rows)]

        async def every_group() -> list[ShardUsage]:
            found = await asyncio.gather(*(group_usage(g) for g in self.topology.groups))
            return [usage for group in found for usage in group]

        return asyncio.run(every_group())

    def _replication_lag(self, group: object) -> dict[str, str]:
        """Standby name -> replay lag in bytes, read from the primary's pg_stat_replication."""
        import asyncio

        from gridpg.datanode.connection import BackendConnection, NodeAddress
        from gridpg.errors import PgError

        primary = group.primary  # type: ignore[attr-defined]
        if not is_accepting(primary.host, primary.port):
            return {}

        async def query() -> list[tuple[str | None, ...]]:
            address = NodeAddress(primary.name, primary.host, primary.port, SUPERUSER, self.password())
            conn = await BackendConnection.connect(address, timeout=3)
            try:
                return await conn.query(
                    "SELECT application_name, pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), "
                    "replay_lsn)::bigint FROM pg_catalog.pg_stat_replication"
                )
            finally:
                conn.close()

        try:
            rows = asyncio.run(query())
        except (PgError, OSError):
            return {}
        return {str(name): f"{lag or 0} B" for name, lag in rows}

    def _monitor_status(self) -> MemberStatus:
        """The monitor has no port: running if its process lives; its role from the GTM lease."""
        pid = processes.running_pid(self.dir, MONITOR)
        role = "-"
        if pid is not None:
            from gridpg.gtm.client import gtm_call_any
            from gridpg.gtm.protocol import GtmError, GtmUnavailable

            try:
                lease = gtm_call_any(self.topology.gtm_addresses(), "lease_get", timeout=1.0,
                                     name=MONITOR)
                holder = str(lease.get("holder") or "")
                role = "leader" if holder.endswith(f":{pid}") else "standby"
            except (GtmUnavailable, GtmError):
                role = "unknown"
        state = "running" if pid is not None else "stopped"
        return MemberStatus(MONITOR, "monitor", role, "-", pid, state)

    def _gtm_status(self, spec: GtmSpec) -> MemberStatus:
        """A GTM's process state, and its role and term as it reports them."""
        row = self._process_status(spec.name, "gtm", "gtm", spec.host, spec.port)
        row.metrics = f"http://{spec.host}:{spec.metrics_port}/metrics" if spec.metrics_port else "-"
        if self.topology.gtm_standby is None:
            return row
        from gridpg.gtm.client import gtm_call_sync
        from gridpg.gtm.protocol import GtmError, GtmUnavailable

        try:
            answer = gtm_call_sync(spec.host, spec.port, "gtm_role", timeout=1.0)
        except (GtmUnavailable, GtmError):
            row.role = "unknown" if row.state == "running" else "-"
            return row
        role = str(answer.get("role"))
        if role == "primary" and not answer.get("acting"):
            role = "primary (waiting for its standby)"
        elif role == "primary" and answer.get("standalone"):
            role = "primary (no standby in sync)"
        elif role == "standby":
            role = "standby" + (" in sync" if answer.get("in_sync") else " (catching up)")
        row.role = f"{role}, term {answer.get('term')}"
        return row

    def _process_status(self, name: str, kind: str, role: str, host: str, port: int) -> MemberStatus:
        pid = processes.running_pid(self.dir, name)
        state = "running" if pid is not None and is_accepting(host, port) else "stopped"
        if pid is not None and state == "stopped":
            state = "starting"
        return MemberStatus(name, kind, role, f"{host}:{port}", pid, state)

    def _server_status(self, spec: ServerSpec, kind: str) -> MemberStatus:
        srv = self.server(spec)
        pid = srv.pid()
        state = "running" if pid is not None and is_accepting(spec.host, spec.port) else "stopped"
        role = "primary" if spec.role == "primary" else "standby"
        if srv.is_initialized() and srv.is_in_recovery():
            role = "standby"
        return MemberStatus(spec.name, kind, role, f"{spec.host}:{spec.port}", pid, state)

    # -- helpers -----------------------------------------------------------------------

    def _check_ports(self) -> None:
        """A port held by something that is not our member is a clear error."""
        topo = self.topology
        checks: list[tuple[str, str, int, bool]] = [
            (g.name, g.host, g.port, processes.running_pid(self.dir, g.name) is not None)
            for g in topo.gtm_members()
        ]
        for coord in topo.coordinators:
            ours = processes.running_pid(self.dir, coord.name) is not None
            checks.append((coord.name, coord.host, coord.port, ours))
        for spec in topo.all_servers():
            checks.append((spec.name, spec.host, spec.port, self.server(spec).is_running()))
        for name, host, port, ours in checks:
            if not ours and not is_port_free(host, port):
                raise ClusterError(
                    f"port {port} on {host} (for {name}) is already in use by another program; "
                    f"stop that program or edit the port in {self.topology_path}"
                )

    def _start_gtm(self) -> None:
        """Start every GTM that is not running; with a pair, each names the other as its
        peer, and the first start of each takes its role from the topology."""
        topo = self.topology
        members = topo.gtm_members()
        for gtm in members:
            if processes.running_pid(self.dir, gtm.name) is not None:
                continue
            gtm_dir = self.dir / gtm.data_dir
            gtm_dir.mkdir(parents=True, exist_ok=True)
            args = ["gtm", "--dir", str(gtm_dir), "--host", gtm.host, "--port", str(gtm.port)]
            if gtm.metrics_port:
                args += ["--metrics-port", str(gtm.metrics_port)]
            peers = [g for g in members if g.name != gtm.name]
            if peers:
                role = "primary" if gtm.name == topo.gtm_primary else "standby"
                args += ["--peer", f"{peers[0].host}:{peers[0].port}", "--role", role]
            processes.spawn(self.dir, gtm.name, args)

    def _wait_gtm(self, timeout: float = 30.0) -> None:
        """Until a GTM acts as the primary (with a pair: once its standby caught up)."""
        from gridpg.gtm.client import gtm_call_any
        from gridpg.gtm.protocol import GtmError, GtmUnavailable

        def acting() -> bool:
            try:
                gtm_call_any(self.topology.gtm_addresses(), "ping", timeout=1.0)
                return True
            except (GtmUnavailable, GtmError):
                return False

        self._wait_for(acting, self.topology.gtm_primary, timeout)

    def _wait_coordinators(self, timeout: float = 30.0) -> None:
        for coord in self.topology.coordinators:
            self._wait_for(lambda c=coord: is_accepting(c.host, c.port), coord.name, timeout)

    def _wait_for(self, ready: Callable[[], bool], name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if processes.running_pid(self.dir, name) is None:
                raise ClusterError(f"{name} exited while starting; see {self._log_hint(name)}")
            time.sleep(0.05)
        raise ClusterError(f"{name} did not accept connections in {timeout:.0f} s; see {self._log_hint(name)}")

    def _log_hint(self, name: str) -> str:
        log = processes.log_file(self.dir, name)
        try:
            tail = log.read_text(errors="replace").strip().splitlines()[-8:]
        except OSError:
            return str(log)
        return f"{log}:\n" + "\n".join("  " + line for line in tail)

    def _start_standby(self, pair: tuple[object, ServerSpec]) -> None:
        group, spec = pair
        srv = self.server(spec)
        if not srv.is_initialized():
            srv.create_standby_of(self.server(group.primary))  # type: ignore[attr-defined]
        srv.start(wait=True)

    def _make_synchronous(self) -> None:
        """Each group's primary waits for one of its standbys at commit (see failover)."""
        from gridpg.cluster.failover import set_synchronous

        for group in self.topology.groups:
            if group.standbys:
                set_synchronous(group.primary, [s.name for s in group.standbys], self.password())

    @staticmethod
    def _parallel(items: list, action: Callable[..., None]) -> None:  # type: ignore[type-arg]
        if not items:
            return
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
            for item, future in [(i, pool.submit(action, i)) for i in items]:
                try:
                    future.result()
                except ServerError as exc:
                    errors.append(str(exc))
        if errors:
            raise ClusterError("\n".join(errors))
