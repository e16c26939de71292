"""WAL archives, base backups, and a new cluster restored to a barrier (CREATE BARRIER).

Layout of an archive directory (`gridpg up --archive DIR`):

    DIR/<key>/                 WAL files archived by archive_command: <key> is a catalog
                               server's name, or a datanode group's (every member of a
                               group archives into one place, so failovers keep one history)
    DIR/base/<label>/<key>/    a base backup (pg_basebackup, plain, WAL fetched) per key
    DIR/base/<label>/backup.json  when it started and finished, which server each key is

`backup` (`gridpg backup`) takes a base backup of every catalog server and every group's
primary. `restore_barrier` (`gridpg restore --barrier NAME --dir NEW --from OLD`) reads
the barrier from the old cluster's GTM files, picks the latest backup that finished
before it, waits until every node's WAL file holding the restore point is archived,
copies the backups into NEW with new ports, recovers each server with
`recovery_target_name = NAME` and `recovery_target_action = promote`, points the restored
catalog's node rows at the new addresses, gives the new GTM the old GTM's current state
(so GXIDs, timestamps and sequences continue past everything the old cluster handed out;
only the 2PC decisions of the barrier's moment are kept; leases are dropped) and starts
the cluster. The restored cluster has no standbys, no GTM standby and no archive.

It drives PostgreSQL's own tools and files only; it runs no gridpg SQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridpg.cluster.pgserver import SUPERUSER, PgServer, make_reachable, run_as_user
from gridpg.cluster.topology import GtmSpec, PortAllocator, ServerSpec, Topology, save

if TYPE_CHECKING:
    from collections.abc import Callable

    from gridpg.cluster.control import Cluster

WAL_WAIT = 60.0  # seconds to wait for a barrier's WAL file to reach the archive
RECOVERY_WAIT = 300.0
AUTO_CONF_DROPPED = ("primary_conninfo", "primary_slot_name", "synchronous_standby_names",
                     "restore_command", "recovery_target")


class ArchiveError(Exception):
    """Backup or restore cannot be done; the message says why, for the user."""


@dataclass(frozen=True)
class BaseBackup:
    label: str
    path: Path
    finished_us: int
    servers: dict[str, str]  # archive key -> the server backed up


# -- backup --------------------------------------------------------------------------------


def backup(cluster: Cluster, progress: Callable[[str], None] = lambda _m: None) -> BaseBackup:
    """A base backup of every catalog server and every datanode group's primary."""
    topo = cluster.topology
    archive = _archive_of(topo)
    started = time.time_ns() // 1000
    label = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"_{started % 1_000_000:06d}"
    target = archive / "base" / label
    user = run_as_user()
    make_reachable(target, user)
    specs = [c.catalog for c in topo.coordinators] + [g.primary for g in topo.groups]
    progress(f"base backup of {len(specs)} servers into {target}")

    def one(spec: ServerSpec) -> None:
        cluster.server(spec).base_backup_into(target / topo.archive_key(spec))

    with ThreadPoolExecutor(max_workers=min(4, len(specs))) as pool:
        for future in [pool.submit(one, s) for s in specs]:
            future.result()
    servers = {topo.archive_key(s): s.name for s in specs}
    finished = time.time_ns() // 1000
    manifest = {"label": label, "started_us": started, "finished_us": finished, "servers": servers}
    (target / "backup.json").write_text(json.dumps(manifest, indent=2) + "\n")
    password_copy = archive / "superuser.password"
    if not password_copy.exists():
        shutil.copyfile(cluster.password_file, password_copy)
        password_copy.chmod(0o600)
    return BaseBackup(label, target, finished, servers)


def list_backups(archive: Path) -> list[BaseBackup]:
    found = []
    for manifest in sorted((archive / "base").glob("*/backup.json")):
        data = json.loads(manifest.read_text())
        found.append(BaseBackup(data["label"], manifest.parent, int(data["finished_us"]),
                                dict(data["servers"])))
    return sorted(found, key=lambda b: b.finished_us)


# -- restore -------------------------------------------------------------------------------


def restore_barrier(source: Cluster, target_dir: Path, barrier: str, port: int | None = None,
                    progress: Callable[[str], None] = lambda _m: None) -> Cluster:
    """A new cluster in `target_dir` holding exactly the state of `barrier`."""
    from gridpg.cluster.control import Cluster

    topo = source.topology
    archive = _archive_of(topo)
    gtm_db = source.dir / next(g for g in topo.gtm_members() if g.name == topo.gtm_primary).data_dir / "gtm.db"
    record = _read_barrier(gtm_db, barrier)
    base = _choose_backup(archive, record)
    progress(f"restoring from base backup {base.label}; waiting for the barrier's WAL in {archive}")
    _wait_for_wal(archive, record)
    target = Cluster(target_dir, source.pg_bin)
    if target_dir.exists() and any(target_dir.iterdir()):
        raise ArchiveError(f"{target_dir} is not empty; choose a new directory for the restore")
    new_topo = _restored_topology(topo, base, port)
    _prepare_directory(target, source, new_topo)
    progress(f"recovering {len(base.servers)} servers to barrier {barrier!r}")
    try:
        _recover_servers(target, new_topo, archive, base, barrier)
        _point_catalogs_at(target, new_topo)
        _restore_gtm_state(gtm_db, target.dir / new_topo.gtm.data_dir / "gtm.db", record)
        progress("starting the restored cluster")
        target.up(progress)
    except BaseException:
        target.down(lambda _m: None)  # nothing half-restored keeps running
        raise
    return target


def _archive_of(topo: Topology) -> Path:
    if not topo.archive:
        raise ArchiveError("this cluster keeps no WAL archive; create it with `gridpg up --archive DIR`")
    return Path(topo.archive)


def _read_barrier(gtm_db: Path, name: str) -> dict[str, Any]:
    if not gtm_db.exists():
        raise ArchiveError(f"no GTM state at {gtm_db}")
    db = sqlite3.connect(f"file:{gtm_db}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT b.ts, b.points, d.detail FROM barrier b LEFT JOIN barrier_detail d"
                         " ON d.name = b.name WHERE b.name = ?", (name,)).fetchone()
    finally:
        db.close()
    if row is None:
        raise ArchiveError(f'barrier "{name}" does not exist')
    detail = json.loads(row[2]) if row[2] else {}
    if "walfiles" not in detail:
        raise ArchiveError(f'barrier "{name}" was created before WAL archiving was recorded')
    return {"ts": int(row[0]), "points": json.loads(row[1]), **detail}


def _choose_backup(archive: Path, record: dict[str, Any]) -> BaseBackup:
    usable = [b for b in list_backups(archive) if b.finished_us < record["ts"]
              and set(b.servers) >= set(record["points"])]
    if not usable:
        raise ArchiveError("no base backup finished before the barrier; take one with `gridpg backup` "
                           "before creating the barrier")
    return usable[-1]


def _wait_for_wal(archive: Path, record: dict[str, Any]) -> None:
    deadline = time.monotonic() + WAL_WAIT
    missing = dict(record["walfiles"])
    while missing and time.monotonic() < deadline:
        missing = {k: f for k, f in missing.items() if not (archive / k / f).exists()}
        if missing:
            time.sleep(0.2)
    if missing:
        raise ArchiveError("the barrier's WAL is not archived yet: "
                           + ", ".join(f"{k}/{f}" for k, f in sorted(missing.items())))


def _restored_topology(topo: Topology, base: BaseBackup, port: int | None) -> Topology:
    """The old topology with fresh ports, one member per group (the one backed up), one GTM."""
    from gridpg.cluster.topology import CoordinatorSpec, GroupSpec

    host = topo.coordinators[0].host
    used = [c.port for c in topo.coordinators] + [s.port for s in topo.all_servers()]
    ports = PortAllocator(host, port if port is not None else max(used) + 1)
    coords = [CoordinatorSpec(c.name, c.host, ports.take(),
                              ServerSpec(c.catalog.name, c.catalog.host, 0, c.catalog.data_dir),
                              c.role) for c in topo.coordinators]
    for coord in coords:
        coord.catalog.port = ports.take()
    groups = []
    for group in topo.groups:
        name = base.servers.get(group.name, group.primary.name)
        spec = next((m for m in group.members if m.name == name), group.primary)
        groups.append(GroupSpec(group.name, [ServerSpec(spec.name, spec.host, ports.take(),
                                                        spec.data_dir)]))
    gtm = GtmSpec(topo.gtm.host, ports.take(), "gtm")
    for coord in coords:
        coord.metrics_port = ports.take()
    return Topology(gtm=gtm, coordinators=coords, groups=groups, trust=topo.trust,
                    monitor=topo.monitor, failover=topo.failover)


def _prepare_directory(target: Cluster, source: Cluster, topo: Topology) -> None:
    user = run_as_user()
    target.dir.mkdir(parents=True, exist_ok=True)
    make_reachable(target.dir, user)
    for sub in ("run", "log"):
        make_reachable(target.dir / sub, user)
    shutil.copyfile(source.password_file, target.password_file)
    target.password_file.chmod(0o600)
    save(topo, target.topology_path)
    target.reload()


def _recover_servers(target: Cluster, topo: Topology, archive: Path, base: BaseBackup,
                     barrier: str) -> None:
    """Each server from its backup, replayed to the barrier and promoted; by archive key."""
    specs = {topo.archive_key(s): s for s in topo.all_servers()}
    servers = {key: target.server(spec) for key, spec in specs.items()}

    def one(key: str) -> None:
        server = servers[key]
        _copy_backup(base.path / key, server.data_dir)
        server.configure(_recovery_settings(archive / key, barrier))
        _owned_file(server.data_dir / "recovery.signal")
        server.start(wait=False)
        _wait_promoted(server)

    with ThreadPoolExecutor(max_workers=min(4, len(servers))) as pool:
        for future in [pool.submit(one, k) for k in servers]:
            future.result()


def _recovery_settings(wal_dir: Path, barrier: str) -> dict[str, str]:
    import shlex

    def conf(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return {"restore_command": conf(f"cp {shlex.quote(str(wal_dir))}/%f %p"),
            "recovery_target_name": conf(barrier), "recovery_target_action": "'promote'",
            "recovery_target_timeline": "'latest'"}


def _copy_backup(source: Path, data_dir: Path) -> None:
    if not (source / "PG_VERSION").exists():
        raise ArchiveError(f"{source} holds no base backup")
    shutil.copytree(source, data_dir, symlinks=True)
    for name in ("postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal",
                 "backup_manifest"):
        (data_dir / name).unlink(missing_ok=True)
    auto = data_dir / "postgresql.auto.conf"
    if auto.exists():
        kept = [line for line in auto.read_text().splitlines()
                if not line.strip().startswith(AUTO_CONF_DROPPED)]
        auto.write_text("\n".join(kept) + "\n")
    _chown_tree(data_dir)
    data_dir.chmod(0o700)


def _chown_tree(path: Path) -> None:
    user = run_as_user()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    make_reachable(path, user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _owned_file(path: Path) -> None:
    path.write_text("")
    user = run_as_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _wait_promoted(server: PgServer) -> None:
    """Until recovery reached the barrier and the server was promoted (recovery.signal
    gone and accepting connections); a server that stops means the target was not found."""
    deadline = time.monotonic() + RECOVERY_WAIT
    while time.monotonic() < deadline:
        if not (server.data_dir / "recovery.signal").exists() and server.is_ready():
            return
        if not server.is_running() and time.monotonic() > deadline - RECOVERY_WAIT + 5:
            raise ArchiveError(f"{server.name} stopped during recovery:\n{server._log_tail()}")
        time.sleep(0.2)
    raise ArchiveError(f"{server.name} did not reach the barrier in {RECOVERY_WAIT:.0f} s")


def _point_catalogs_at(target: Cluster, topo: Topology) -> None:
    """The restored catalogs name the old addresses: rewrite every node row for the new
    cluster (coordinators, each group's primary) and drop the standbys' rows."""
    from gridpg.datanode.connection import BackendConnection, NodeAddress
    from gridpg.sql.quote import quote_literal

    statements = ["DELETE FROM gridpg.node WHERE kind = 'datanode' AND role <> 'primary'"]
    for coord in topo.coordinators:
        statements.append(f"UPDATE gridpg.node SET host = {quote_literal(coord.host)}, "
                          f"port = {coord.port} WHERE name = {quote_literal(coord.name)}")
    for group in topo.groups:
        member = group.members[0]
        statements.append(
            f"UPDATE gridpg.node SET name = {quote_literal(member.name)}, "
            f"host = {quote_literal(member.host)}, port = {member.port}, active = true "
            f"WHERE datanode_group = {quote_literal(group.name)} AND role = 'primary'")
    sql = "BEGIN; " + "; ".join(statements) + "; COMMIT"
    password = target.password()

    async def run() -> None:
        for coord in topo.coordinators:
            spec = coord.catalog
            conn = await BackendConnection.connect(
                NodeAddress(spec.name, spec.host, spec.port, SUPERUSER, password), timeout=10)
            try:
                await conn.simple_query(sql)
            finally:
                conn.close()

    asyncio.run(run())


def _restore_gtm_state(old_db: Path, new_db: Path, record: dict[str, Any]) -> None:
    """The old GTM's current state (never behind what it handed out), for a fresh primary:
    no role, term or log position of its own, no lease, only the barrier's decisions."""
    new_db.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{old_db}?mode=ro", uri=True)
    copy = sqlite3.connect(new_db)
    try:
        source.backup(copy)
        keep = list(record.get("decisions") or [])
        copy.execute("DELETE FROM meta WHERE key IN ('role', 'term', 'repl_lsn')")
        copy.execute("DELETE FROM lease")
        marks = ", ".join("?" * len(keep)) or "NULL"
        copy.execute(f"DELETE FROM commit_decision WHERE gid NOT IN ({marks})", keep)
        copy.commit()
    finally:
        copy.close()
        source.close()

