"""The cluster topology: which members exist, where they listen, where their data lives.

A topology is a TOML file (`gridpg.toml` in the cluster directory). Every member is
addressed by host:port, so the same description serves one machine or many. This module
only models, reads, writes and builds default topologies; it starts nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from gridpg.cluster.pgserver import is_port_free

TOPOLOGY_FILE = "gridpg.toml"


@dataclass
class ServerSpec:
    """A PostgreSQL server of the cluster (catalog server or datanode member)."""

    name: str
    host: str
    port: int
    data_dir: str  # relative to the cluster directory unless absolute
    role: str = "primary"  # primary | secondary


@dataclass
class CoordinatorSpec:
    name: str
    host: str
    port: int
    catalog: ServerSpec
    role: str = "read-write"  # read-write | read-only (reads from the groups' standbys)
    metrics_port: int = 0  # Prometheus metrics served here (0: none)
    # Worker processes sharing the port (SO_REUSEPORT); 0: what the machine's cores give best.
    workers: int = 0
    max_standby_lag: float = 5.0  # read-only: read a group's primary while its standbys lag more (s)

    @property
    def read_only(self) -> bool:
        return self.role == "read-only"


@dataclass
class GroupSpec:
    """A datanode group: one primary and its streaming standbys."""

    name: str
    members: list[ServerSpec]

    @property
    def primary(self) -> ServerSpec:
        return next(m for m in self.members if m.role == "primary")

    @property
    def standbys(self) -> list[ServerSpec]:
        return [m for m in self.members if m.role != "primary"]


@dataclass
class GtmSpec:
    host: str
    port: int
    data_dir: str
    name: str = "gtm"
    metrics_port: int = 0  # Prometheus metrics served here (0: none)


@dataclass
class Topology:
    gtm: GtmSpec
    coordinators: list[CoordinatorSpec]
    groups: list[GroupSpec]
    trust: bool = False
    monitor: bool = True
    failover: bool = True  # the monitor fails over a silent datanode primary by itself
    extra: dict[str, object] = field(default_factory=dict)
    gtm_standby: GtmSpec | None = None  # the second GTM of a pair (`gridpg up --gtm-standby`)
    # Which GTM of the pair is the primary, at which term: written by whoever promotes
    # *before* promoting, so a monitor never lets an old primary go on alone after it.
    gtm_term: int = 1
    gtm_primary: str = "gtm"
    archive: str = ""  # `gridpg up --archive DIR`: WAL archives and base backups live here

    def archive_key(self, spec: ServerSpec) -> str:
        """Where a server's WAL goes in the archive: its datanode group's name (so a group
        keeps one WAL history across failovers), else its own name."""
        for group in self.groups:
            if any(m.name == spec.name for m in group.members):
                return group.name
        return spec.name

    def gtm_members(self) -> list[GtmSpec]:
        return [self.gtm] + ([self.gtm_standby] if self.gtm_standby is not None else [])

    def gtm_addresses(self) -> list[tuple[str, int]]:
        """Every GTM address, the recorded primary first (clients try them in turn)."""
        members = sorted(self.gtm_members(), key=lambda g: g.name != self.gtm_primary)
        return [(g.host, g.port) for g in members]

    def all_servers(self) -> list[ServerSpec]:
        servers = [c.catalog for c in self.coordinators]
        for group in self.groups:
            servers.extend(group.members)
        return servers

    def coordinator(self, name: str) -> CoordinatorSpec:
        for coord in self.coordinators:
            if coord.name == name:
                return coord
        raise KeyError(f"no coordinator named {name!r} in the topology")


class PortAllocator:
    """Hands out free TCP ports from a base, skipping any already taken."""

    def __init__(self, host: str, base: int) -> None:
        self.host = host
        self.next = base
        self.used: set[int] = set()

    def take(self) -> int:
        while self.next < 65535:
            port = self.next
            self.next += 1
            if port not in self.used and is_port_free(self.host, port):
                self.used.add(port)
                return port
        raise ValueError(f"no free port above {self.next} on {self.host}")


def build_default(
    datanodes: int = 2,
    coordinators: int = 2,
    standbys: int = 0,
    port: int | None = None,
    host: str = "127.0.0.1",
    trust: bool = False,
    read_only_coordinators: int = 0,
    gtm_standby: bool = False,
) -> Topology:
    """The one-machine topology of `gridpg up`: coordinator ports first, from `port`;
    read-only coordinators are numbered after the others."""
    base = port if port is not None else 5432
    explicit = port is not None
    coord_ports = PortAllocator(host, base)
    internal = PortAllocator(host, base + 100)
    coords = []
    for i in range(1, coordinators + read_only_coordinators + 1):
        if explicit and i == 1:
            if not is_port_free(host, base):
                raise ValueError(f"port {base} on {host} is already in use; choose another --port")
            coord_ports.used.add(base)
            coord_ports.next = base + 1
            cport = base
        else:
            cport = coord_ports.take()
        catalog = ServerSpec(f"catalog{i}", host, internal.take(), f"catalog{i}")
        role = "read-only" if i > coordinators else "read-write"
        coords.append(CoordinatorSpec(f"coord{i}", host, cport, catalog, role))
    groups = []
    for g in range(1, datanodes + 1):
        members = [ServerSpec(f"dn{g}", host, internal.take(), f"dn{g}")]
        for s in range(1, standbys + 1):
            members.append(
                ServerSpec(f"dn{g}s{s}", host, internal.take(), f"dn{g}s{s}", role="secondary")
            )
        groups.append(GroupSpec(f"dn{g}", members))
    gtm = GtmSpec(host, internal.take(), "gtm")
    second = GtmSpec(host, internal.take(), "gtm2", "gtm2") if gtm_standby else None
    for coord in coords:
        coord.metrics_port = internal.take()
    for member in (gtm, second):
        if member is not None:
            member.metrics_port = internal.take()
    return Topology(gtm=gtm, coordinators=coords, groups=groups, trust=trust, gtm_standby=second)


def load(path: Path) -> Topology:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    gtm = GtmSpec(**raw["gtm"])
    coords = [
        CoordinatorSpec(c["name"], c["host"], c["port"], ServerSpec(**c["catalog"]),
                        c.get("role", "read-write"), c.get("metrics_port", 0),
                        _workers(c.get("workers", 0), c["name"]), float(c.get("max_standby_lag", 5.0)))
        for c in raw["coordinator"]
    ]
    groups = [
        GroupSpec(g["name"], [ServerSpec(**m) for m in g["member"]]) for g in raw["group"]
    ]
    return Topology(
        gtm=gtm, coordinators=coords, groups=groups, trust=raw.get("trust", False),
        monitor=raw.get("monitor", True), failover=raw.get("failover", True),
        gtm_standby=GtmSpec(**raw["gtm_standby"]) if "gtm_standby" in raw else None,
        gtm_term=raw.get("gtm_term", 1), gtm_primary=raw.get("gtm_primary", gtm.name),
        archive=raw.get("archive", ""),
    )


def _workers(value: object, name: str) -> int:
    if type(value) is not int or not 0 <= value <= 256:
        raise ValueError(f"coordinator {name}: workers must be an integer from 0 (automatic) to 256")
    return value


def dump(topology: Topology) -> str:
    """TOML text for a topology (hand-written: the structure is small and fixed)."""
    out = [
        "# gridpg cluster topology: every member is addressed by host:port.",
        f"trust = {_toml(topology.trust)}",
        f"monitor = {_toml(topology.monitor)}",
        f"failover = {_toml(topology.failover)}",
        f"gtm_term = {_toml(topology.gtm_term)}",
        f"gtm_primary = {_toml(topology.gtm_primary)}",
        f"archive = {_toml(topology.archive)}",
        "",
        "[gtm]",
        *_fields(topology.gtm.__dict__),
        "",
    ]
    if topology.gtm_standby is not None:
        out += ["[gtm_standby]", *_fields(topology.gtm_standby.__dict__), ""]
    for coord in topology.coordinators:
        out += ["[[coordinator]]", *_fields({k: v for k, v in coord.__dict__.items() if k != "catalog"})]
        out += ["[coordinator.catalog]", *_fields(coord.catalog.__dict__), ""]
    for group in topology.groups:
        out += ["[[group]]", f"name = {_toml(group.name)}", ""]
        for member in group.members:
            out += ["[[group.member]]", *_fields(member.__dict__), ""]
    return "\n".join(out)


def save(topology: Topology, path: Path) -> None:
    path.write_text(dump(topology))


def _fields(values: dict[str, object]) -> list[str]:
    return [f"{key} = {_toml(value)}" for key, value in values.items()]


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A TOML basic string: quote, backslash and control characters escaped.
    text = "".join(
        f"\\u{ord(ch):04x}" if ch < " " or ch == "\x7f" else "\\" + ch if ch in '"\\' else ch
        for ch in str(value)
    )
    return f'"{text}"'
