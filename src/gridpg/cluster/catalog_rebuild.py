"""`gridpg catalog rebuild COORD`: a coordinator's catalog server rebuilt from another's.

Every catalog server holds the same thing: the schema of every object (distributed tables
as empty copies), the roles, and gridpg's metadata, all written by DDL in one distributed
transaction on every catalog server. So a catalog server that was lost (its disk, a
corrupt data directory) is rebuilt from any other:

1. the coordinator and its catalog server are stopped, the old data directory is kept
   aside (`<data>.replaced-<time>`), never deleted;
2. a fresh server is initialized and started reachable only by its Unix socket, so no
   distributed DDL can touch it half-restored;
3. the source catalog server's roles (`pg_dumpall --globals-only`) and each database
   (`pg_dump -Fc` / `pg_restore`, one snapshot each) are copied into it;
4. it is restarted with its normal settings and the coordinator starts again.

While the catalog server is down, distributed DDL fails everywhere (it needs every
catalog server), so no DDL can commit between the source's dump and the restore; reads
and writes through the other coordinators go on. Sequences' values live in the GTM.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster, ClusterError
from gridpg.cluster.pgserver import SUPERUSER, PgServer, find_pg_bin
from gridpg.cluster.topology import CoordinatorSpec

Progress = Callable[[str], None]


def rebuild_catalog(cluster: Cluster, name: str, source: str | None, progress: Progress) -> Path | None:
    """Rebuild coordinator `name`'s catalog server from `source`'s (default: the first
    other coordinator whose catalog server runs). Returns where the old data was kept."""
    target_spec = cluster.topology.coordinator(name)
    source_spec = _source(cluster, name, source)
    target, origin = cluster.server(target_spec.catalog), cluster.server(source_spec.catalog)
    progress(f"stopping coordinator {name} and its catalog server {target.name}")
    processes.stop(cluster.dir, name)
    target.stop(mode="immediate")
    kept = _set_aside(target)
    progress(f"initializing a fresh {target.name}, reachable only by its Unix socket")
    target.init({"listen_addresses": "''"})
    target.start(wait=True)
    try:
        _copy(cluster, origin, target, progress)
    except BaseException:
        target.stop(mode="immediate")
        raise
    progress(f"restarting {target.name} with its settings and coordinator {name}")
    target.configure({})
    target.stop()
    target.start(wait=True)
    processes.spawn(cluster.dir, name, ["coordinator", "--dir", str(cluster.dir)])
    _wait_listening(cluster, target_spec)
    return kept


def _source(cluster: Cluster, name: str, wanted: str | None) -> CoordinatorSpec:
    if wanted == name:
        raise ClusterError("a catalog server cannot be rebuilt from itself")
    for coord in cluster.topology.coordinators:
        if coord.name == name or (wanted is not None and coord.name != wanted):
            continue
        if cluster.server(coord.catalog).is_ready():
            return coord
        if wanted is not None:
            raise ClusterError(f"the catalog server of {wanted} is not running")
    raise ClusterError(f"no other coordinator's catalog server is running to rebuild {name}'s from")


def _set_aside(server: PgServer) -> Path | None:
    if not server.data_dir.exists():
        return None
    kept = server.data_dir.with_name(f"{server.data_dir.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
    server.data_dir.rename(kept)
    return kept


def _copy(cluster: Cluster, origin: PgServer, target: PgServer, progress: Progress) -> None:
    bin_dir = find_pg_bin(cluster.pg_bin)
    env = {**os.environ, "PGPASSWORD": cluster.password(), "PGUSER": SUPERUSER, "PGCONNECT_TIMEOUT": "10"}
    source = ["-h", origin.host, "-p", str(origin.port)]
    local = ["-h", str(target.socket_dir), "-p", str(target.port)]
    progress(f"copying roles from {origin.name}")
    globals_sql = _run([str(bin_dir / "pg_dumpall"), "--globals-only", *source], env).decode()
    globals_sql = "\n".join(line for line in globals_sql.splitlines()
                            if line.strip() != f"CREATE ROLE {SUPERUSER};")
    _run([str(bin_dir / "psql"), "-Xq", "-v", "ON_ERROR_STOP=1", *local, "-d", "postgres"], env,
         stdin=globals_sql.encode())
    listing = ("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn "
               "AND NOT datistemplate ORDER BY datname")
    databases = _run([str(bin_dir / "psql"), "-XAtq", *source, "-d", "postgres", "-c", listing],
                     env).decode().split()
    for database in databases:
        progress(f"copying database {database} from {origin.name}")
        archive = _run([str(bin_dir / "pg_dump"), "-Fc", *source, "-d", database], env)
        create = [] if database == "postgres" else ["--create"]
        _run([str(bin_dir / "pg_restore"), "--exit-on-error", *create, *local, "-d", "postgres"], env,
             stdin=archive)


def _run(argv: list[str], env: dict[str, str], stdin: bytes = b"") -> bytes:
    """Run a client program; its stdout, or ClusterError with its stderr."""
    result = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        raise ClusterError(f"{Path(argv[0]).name} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _wait_listening(cluster: Cluster, coord: CoordinatorSpec, timeout: float = 30.0) -> None:
    from gridpg.cluster.pgserver import is_accepting

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_accepting(coord.host, coord.port):
            return
        time.sleep(0.1)
    raise ClusterError(f"coordinator {coord.name} did not start; see {processes.log_file(cluster.dir, coord.name)}")
