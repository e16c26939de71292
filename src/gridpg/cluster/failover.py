"""Datanode failover and switchover: a group's standby becomes its primary.

One sequence serves both a planned switchover (`gridpg failover GROUP`, the primary alive)
and the failover of a dead primary (`gridpg failover GROUP --force`; the monitor's loop
calls the same function):

  1. fence the old primary: stopped, so it can take no more writes (planned: a fast
     shutdown, which sends its last WAL to the standbys first; we then wait until the
     chosen standby has received all of it, so no acknowledged commit is lost);
  2. choose the standby: the one named, else the most advanced by received/replayed LSN;
  3. promote it and wait until it accepts writes;
  4. switch the group's primary in the metadata of every catalog server in one
     distributed transaction (`ALTER NODE name WITH (PRIMARY = true)` through a coordinator,
     which bumps the metadata epoch and waits until every coordinator has reloaded:
     coordinators then reach the group at its new address without a restart);
  5. record the new roles in the topology file;
  6. the other standbys follow the new primary; the old primary rejoins as a standby
     (pg_rewind, else a fresh base backup), never as a second primary.

In-doubt prepared transactions of the group were replicated to the standby and are
resolved by the coordinators' 2PC recovery on the new primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridpg.cluster.pgserver import SUPERUSER, PgServer, ServerError
from gridpg.cluster.topology import GroupSpec, ServerSpec, save
from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import PgError
from gridpg.sql.quote import quote_ident

Progress = Callable[[str], None]


class FailoverError(Exception):
    """A failover could not be done; the message says what state the group is in."""


@dataclass(frozen=True)
class FailoverResult:
    group: str
    old_primary: str
    new_primary: str
    rejoined: str  # how the old primary came back: "rewind", "base backup", "left stopped"


def failover(cluster: object, group_name: str, target: str | None = None, force: bool = False,
             progress: Progress = lambda _m: None) -> FailoverResult:
    """Make a standby of `group_name` its primary (see the module docstring)."""
    from gridpg.cluster.control import Cluster

    assert isinstance(cluster, Cluster)
    with _exclusive(cluster.run_dir / "failover.lock"):
        cluster.reload()  # the roles as they are now, whoever changed them last
        return _failover(cluster, group_name, target, force, progress)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One failover at a time per cluster (the CLI and the monitor may both try)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _failover(cluster: Any, group_name: str, target: str | None, force: bool,
              progress: Progress) -> FailoverResult:
    group = _group(cluster, group_name)
    old = group.primary
    old_server = cluster.server(old)
    standbys = [s for s in group.standbys if cluster.server(s).is_ready()]
    if not standbys:
        raise FailoverError(f"group {group_name} has no running standby to promote")
    alive = old_server.is_ready()
    if not alive and not force:
        raise FailoverError(f"the primary {old.name} of {group_name} does not answer; "
                            "use --force to fail over to a standby")
    password = cluster.password()
    chosen = _choose(standbys, target, password)
    if alive:  # planned: the standby must stream from the primary before it is fenced
        _wait_streaming(old, chosen, password)
    last_lsn = _current_lsn(old, password) if alive else None
    progress(f"fencing {old.name}")
    old_server.stop("fast" if alive else "immediate")
    try:
        if last_lsn is not None:
            _wait_received(chosen, last_lsn, password)
        progress(f"promoting {chosen.name}")
        new_server = cluster.server(chosen)
        new_server.promote()
    except (FailoverError, ServerError, PgError, OSError) as exc:
        if alive:  # nothing was promoted: the group keeps its primary
            old_server.start(wait=True)
        raise FailoverError(f"failover of {group_name} stopped before promotion: {exc}") from None
    _wait_writable(chosen, password)
    progress("switching the metadata on every catalog server")
    # the old primary is inactive until it has rejoined: read-only coordinators, which read
    # from standbys, must not pick it meanwhile
    _alter_node(cluster, chosen.name, "PRIMARY = true, ACTIVE = true", password)
    _alter_node(cluster, old.name, "ACTIVE = false", password)
    _record_roles(cluster, group, chosen)
    for other in standbys:
        if other.name != chosen.name:
            _refollow(cluster.server(other), new_server)
    progress(f"{old.name} rejoins as a standby")
    rejoined = _rejoin(old_server, new_server, progress)
    if rejoined != "left stopped":
        _alter_node(cluster, old.name, "ACTIVE = true", password)
    followers = [s.name for s in group.standbys if cluster.server(s).is_running()]
    set_synchronous(chosen, followers, password)
    return FailoverResult(group_name, old.name, chosen.name, rejoined)


def set_synchronous(primary: ServerSpec, standbys: list[str], password: str) -> None:
    """A commit on `primary` returns once one of `standbys` has it durably (ANY 1), so a
    failover to that standby loses no acknowledged commit. With no standby running the
    group commits alone (asynchronous) rather than stop taking writes."""
    names = ", ".join('"' + n.replace('"', '""') + '"' for n in standbys)
    value = f"ANY 1 ({names})" if standbys else ""
    _query(primary, password, "ALTER SYSTEM SET synchronous_standby_names = "
           f"'{value.replace(chr(39), chr(39) * 2)}'")
    _query(primary, password, "SELECT pg_catalog.pg_reload_conf()")


def _group(cluster: object, name: str) -> GroupSpec:
    for group in cluster.topology.groups:  # type: ignore[attr-defined]
        if group.name == name:
            return group
    raise FailoverError(f"no datanode group named {name!r}")


def _choose(standbys: list[ServerSpec], target: str | None, password: str) -> ServerSpec:
    if target is not None:
        named = [s for s in standbys if s.name == target]
        if not named:
            raise FailoverError(f"{target} is not a running standby of this group")
        return named[0]
    positions = {s.name: _received_lsn(s, password) for s in standbys}
    return max(standbys, key=lambda s: positions[s.name])


def _query(spec: ServerSpec, password: str, sql: str, timeout: float = 5.0) -> list[tuple[str | None, ...]]:
    async def run() -> list[tuple[str | None, ...]]:
        address = NodeAddress(spec.name, spec.host, spec.port, SUPERUSER, password)
        conn = await BackendConnection.connect(address, timeout=timeout)
        try:
            return await conn.query(sql)
        finally:
            conn.close()

    return asyncio.run(run())


def _current_lsn(spec: ServerSpec, password: str) -> str | None:
    try:
        return _query(spec, password, "SELECT pg_catalog.pg_current_wal_lsn()::text")[0][0]
    except (PgError, OSError):
        return None


def _received_lsn(spec: ServerSpec, password: str) -> int:
    rows = _query(spec, password, "SELECT pg_catalog.pg_wal_lsn_diff(GREATEST("
                  "pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()), '0/0')::bigint")
    return int(rows[0][0] or 0)


def _wait_received(spec: ServerSpec, lsn: str, password: str, timeout: float = 30.0) -> None:
    """Until the standby has everything the old primary wrote before it stopped."""
    sql = ("SELECT GREATEST(pg_catalog.pg_last_wal_receive_lsn(), "
           f"pg_catalog.pg_last_wal_replay_lsn()) >= '{lsn}'::pg_lsn")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _query(spec, password, sql)[0][0] == "t":
            return
        time.sleep(0.05)
    raise FailoverError(f"{spec.name} did not receive the old primary's last WAL ({lsn}) in "
                        f"{timeout:.0f} s; nothing was promoted (start the old primary again)")


def _wait_streaming(primary: ServerSpec, standby: ServerSpec, password: str, timeout: float = 30.0) -> None:
    sql = ("SELECT count(*) FROM pg_catalog.pg_stat_replication WHERE state = 'streaming' "
           f"AND application_name = '{standby.name.replace(chr(39), chr(39) * 2)}'")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _query(primary, password, sql)[0][0] != "0":
            return
        time.sleep(0.1)
    raise FailoverError(f"{standby.name} does not stream from {primary.name}; nothing was changed")


def _wait_writable(spec: ServerSpec, password: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _query(spec, password, "SELECT pg_catalog.pg_is_in_recovery()")[0][0] == "f":
                return
        except (PgError, OSError):
            pass
        time.sleep(0.05)
    raise FailoverError(f"{spec.name} was promoted but does not accept writes after {timeout:.0f} s")


def _alter_node(cluster: object, node: str, options: str, password: str) -> None:
    """`ALTER NODE node WITH (options)` through the first coordinator that answers: every
    catalog server in one transaction, then every coordinator reloads."""
    _run_node_statement(cluster, f"ALTER NODE {quote_ident(node)} WITH ({options})", password)


def _run_node_statement(cluster: object, statement: str, password: str) -> None:
    """A node statement through the first read-write coordinator that answers."""
    errors = []
    for coord in cluster.topology.coordinators:  # type: ignore[attr-defined]
        if coord.read_only:
            continue
        try:
            _query(ServerSpec(coord.name, coord.host, coord.port, ""), password, statement, timeout=10)
            return
        except (PgError, OSError) as exc:
            errors.append(f"{coord.name}: {exc}")
    raise FailoverError(f"no coordinator took the metadata change ({'; '.join(errors)}); "
                        f"run `{statement}` through a coordinator")


def _record_roles(cluster: object, group: GroupSpec, new_primary: ServerSpec) -> None:
    for member in group.members:
        member.role = "primary" if member.name == new_primary.name else "secondary"
    save(cluster.topology, cluster.topology_path)  # type: ignore[attr-defined]


def _refollow(standby: PgServer, primary: PgServer) -> None:
    standby.stop("fast")
    standby.follow(primary)
    standby.start(wait=True)


def _rejoin(old: PgServer, primary: PgServer, progress: Progress) -> str:
    """The old primary back as a standby of the new one; never as a second primary."""
    if not old.is_initialized():
        return "left stopped"
    try:
        old.rewind_from(primary)
        how = "rewind"
    except ServerError as exc:
        progress(f"pg_rewind of {old.name} failed ({str(exc).splitlines()[-1]}); taking a base backup")
        old.rebuild_from(primary)
        how = "base backup"
    old.start(wait=True)
    return how


def add_standby(cluster: Any, group_name: str, progress: Progress = lambda _m: None) -> ServerSpec:
    """A new streaming standby of a running group, on this machine: base backup of the
    primary, started, recorded on every catalog server (`CREATE NODE ... GROUP = g`) and in
    the topology; the primary's commits then also wait for it (ANY 1 of its standbys)."""
    from gridpg.cluster.topology import PortAllocator

    with _exclusive(cluster.run_dir / "failover.lock"):
        cluster.reload()
        group = _group(cluster, group_name)
        taken = {s.port for s in cluster.topology.all_servers()} | {c.port for c in cluster.topology.coordinators}
        taken |= {g.port for g in cluster.topology.gtm_members()}
        ports = PortAllocator(group.primary.host, max(taken) + 1)
        ports.used |= taken
        names = {s.name for s in cluster.topology.all_servers()}
        name = next(f"{group_name}s{i}" for i in range(1, 100) if f"{group_name}s{i}" not in names)
        spec = ServerSpec(name, group.primary.host, ports.take(), name, role="secondary")
        server = cluster.server(spec)
        progress(f"base backup of {group.primary.name} into {name}")
        server.create_standby_of(cluster.server(group.primary))
        server.start(wait=True)
        password = cluster.password()
        try:
            _run_node_statement(cluster, f"CREATE NODE {quote_ident(name)} WITH (TYPE = 'datanode', "
                                f"HOST = '{spec.host}', PORT = {spec.port}, GROUP = '{group_name}')", password)
        except FailoverError:
            server.stop("fast")  # not recorded anywhere: leave nothing running
            raise
        group.members.append(spec)
        save(cluster.topology, cluster.topology_path)
        running = [s.name for s in group.standbys if cluster.server(s).is_running()]
        set_synchronous(group.primary, running, password)
        return spec
