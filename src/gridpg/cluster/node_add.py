"""`gridpg node add` without an address: a new local datanode group in the cluster directory.

The new primary is initialised and started like the others (same settings, same system
user, a port after the highest in use), given the roles, the tablespaces and the non-table
schema objects (schemas, types, functions, extensions) of an existing group's primary,
recorded in the topology file and on every catalog server (`CREATE NODE` through a
coordinator), given as many streaming standbys as the other groups have, and sent the
reference tables (an online copy, cluster/shard_move.py). No shard moves here: that is
`gridpg rebalance`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridpg.cluster import shard_move
from gridpg.cluster.failover import _exclusive, _run_node_statement, add_standby
from gridpg.cluster.pgserver import SUPERUSER, find_pg_bin
from gridpg.cluster.topology import GroupSpec, PortAllocator, ServerSpec, save
from gridpg.datanode.connection import NodeAddress
from gridpg.errors import PgError
from gridpg.sql.quote import quote_ident

Progress = Callable[[str], None]


def add_local_group(cluster: Any, progress: Progress, name: str | None = None) -> GroupSpec:
    """Create, start and register a new datanode group; returns its topology entry."""
    with _exclusive(cluster.run_dir / "failover.lock"):
        cluster.reload()
        topo = cluster.topology
        spec = _new_spec(topo, name, cluster.dir)
        server = cluster.server(spec)
        progress(f"initializing {spec.name} on {spec.host}:{spec.port}")
        server.init({})
        server.start(wait=True)
        group = GroupSpec(spec.name, [spec])
        topo.groups.append(group)
        save(topo, cluster.topology_path)
        try:
            progress(f"copying roles and schema objects to {spec.name}")
            _copy_schema_objects(cluster, topo.groups[0].primary, spec)
            progress(f"registering {spec.name} on every catalog server")
            _run_node_statement(cluster, f"CREATE NODE {quote_ident(spec.name)} WITH (TYPE = 'datanode', "
                                f"HOST = '{spec.host}', PORT = {spec.port})", cluster.password())
        except BaseException:
            topo.groups.remove(group)
            save(topo, cluster.topology_path)
            server.stop("fast")
            raise
    standbys = min((len(g.standbys) for g in topo.groups if g is not group), default=0)
    for _ in range(standbys):
        progress(f"adding a standby to {spec.name}")
        add_standby(cluster, spec.name, progress)
    return group


def _new_spec(topo: Any, name: str | None, directory: Path) -> ServerSpec:
    names = {s.name for s in topo.all_servers()} | {g.name for g in topo.groups}
    if name is None:  # nor the data directory a removed group left behind
        name = next(f"dn{i}" for i in range(1, 10_000)
                    if f"dn{i}" not in names and not (directory / f"dn{i}").exists())
    elif name in names or (directory / name).exists():
        raise ValueError(f"a member, group or directory named {name!r} already exists")
    taken = {s.port for s in topo.all_servers()} | {c.port for c in topo.coordinators}
    taken |= {c.metrics_port for c in topo.coordinators if c.metrics_port}
    taken |= {g.port for g in topo.gtm_members()}
    host = topo.groups[0].primary.host if topo.groups else topo.gtm.host
    ports = PortAllocator(host, max(taken) + 1)
    ports.used |= taken
    return ServerSpec(name, host, ports.take(), name)


def _copy_schema_objects(cluster: Any, source: ServerSpec, target: ServerSpec) -> None:
    """Roles (errors ignored: `postgres` exists), then every non-table object (one transaction)."""
    password = cluster.password()
    pg_bin = find_pg_bin(cluster.pg_bin)
    src = NodeAddress(source.name, source.host, source.port, SUPERUSER, password)
    dst = NodeAddress(target.name, target.host, target.port, SUPERUSER, password)
    roles = shard_move.dump_roles(src, pg_bin)
    objects = shard_move.dump_non_tables(src, pg_bin)

    async def apply() -> None:
        for statement in roles:
            try:
                await shard_move.run_sql(dst, statement)
            except PgError as exc:
                if exc.sqlstate != "42710":  # duplicate_object: the role exists already
                    raise
        await _copy_tablespaces(src, dst)
        await shard_move.run_sql(dst, objects)

    asyncio.run(apply())


async def _copy_tablespaces(src: NodeAddress, dst: NodeAddress) -> None:
    """The source's tablespaces, made again on the new primary (an in-place one in its own
    pg_tblspc; commands/tablespaces.py): its shards of a table in one were refused (42704),
    and every later CREATE TABLE ... TABLESPACE with them."""
    from gridpg.commands import tablespaces

    rows = await shard_move.run_sql(src, tablespaces.definitions_sql())
    if not rows:
        return
    conn = await shard_move.connect(dst)
    try:
        for row in rows:
            for statement in tablespaces.definition_of(row).create_statements(str(row[0])):
                await conn.simple_query(statement)  # (one at a time: no transaction block)
    finally:
        conn.close()
