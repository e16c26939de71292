"""Postgres-XL node statements: CREATE/ALTER/DROP NODE and CREATE/DROP NODE GROUP.

A datanode is any reachable PostgreSQL (>= 15) that accepts the cluster superuser; adding
one checks that it answers, prepares its `gridpg_shards` schema and the user schemas, and
records it on every catalog server in one distributed transaction. Shards do not move
here (rebalancing is a separate operation): new tables use the new group, old ones stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.catalog import store
from gridpg.catalog.model import Node, NodeGroup
from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import (
    DUPLICATE_OBJECT,
    INSUFFICIENT_PRIVILEGE,
    INVALID_PARAMETER_VALUE,
    OBJECT_IN_USE,
    UNDEFINED_OBJECT,
    PgError,
)
from gridpg.sql.quote import quote_ident
from gridpg.sql.xl import XlCommand

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher


async def run_node_command(dispatcher: Dispatcher, command: XlCommand) -> None:
    if not dispatcher.session.info.is_superuser:
        raise PgError(INSUFFICIENT_PRIVILEGE, f"must be superuser to {command.kind.replace('_', ' ')}")
    handlers = {
        "create_node": _create_node, "alter_node": _alter_node, "drop_node": _drop_node,
        "create_node_group": _create_node_group, "drop_node_group": _drop_node_group,
    }
    tag = await handlers[command.kind](dispatcher, command)
    from gridpg.commands.ddl import DdlRunner

    await DdlRunner(dispatcher).finish(tag)


async def _catalog_sql(dispatcher: Dispatcher, sql: str) -> None:
    from gridpg.commands.ddl import DdlRunner

    runner = DdlRunner(dispatcher)
    for node in runner.catalog_nodes():
        await (await runner.conn(node)).simple_query(sql)


async def _create_node(dispatcher: Dispatcher, command: XlCommand) -> str:
    options = command.options
    kind = options.get("type", "datanode").lower()
    if kind != "datanode":
        raise PgError(INVALID_PARAMETER_VALUE, "gridpg adds coordinators with `gridpg up`; CREATE NODE adds datanodes",
                      hint="use TYPE = 'datanode'")
    snapshot = dispatcher.runner.snapshot()
    if snapshot.node(command.name) is not None:
        raise PgError(DUPLICATE_OBJECT, f'node "{command.name}" already exists')
    host = options.get("host", "127.0.0.1")
    try:
        port = int(options.get("port", "5432"))
    except ValueError:
        raise PgError(INVALID_PARAMETER_VALUE, f"invalid PORT {options.get('port')!r}") from None
    catalog = dispatcher.coord.catalog_address
    address = NodeAddress(command.name, host, port, catalog.user, catalog.password, catalog.database)
    standby_of = options.get("group")
    if standby_of is not None:  # a streaming standby of an existing group (a secondary)
        return await _create_standby_node(dispatcher, command.name, host, port, standby_of, address)
    conn = await BackendConnection.connect(address)
    try:
        await _prepare_new_datanode(dispatcher, conn)
    finally:
        conn.close()
    node = Node(command.name, "datanode", host, port, command.name, "primary")
    await _catalog_sql(dispatcher, store.sql_insert_node(node))
    return "CREATE NODE"


async def _create_standby_node(dispatcher: Dispatcher, name: str, host: str, port: int, group: str,
                               address: NodeAddress) -> str:
    """`CREATE NODE n WITH (..., GROUP = 'dn1')`: record a server that streams from the
    group's primary as its secondary (checked: it answers and is in recovery)."""
    if group not in {g.name for g in dispatcher.runner.snapshot().datanode_groups()}:
        raise PgError(UNDEFINED_OBJECT, f'datanode group "{group}" does not exist')
    conn = await BackendConnection.connect(address)
    try:
        rows = await conn.query("SELECT pg_catalog.pg_is_in_recovery()")
    finally:
        conn.close()
    if rows[0][0] != "t":
        raise PgError(INVALID_PARAMETER_VALUE, f'node "{name}" is not a standby',
                      hint="a secondary of a group must stream from the group's primary")
    await _catalog_sql(dispatcher, store.sql_insert_node(Node(name, "datanode", host, port, group, "secondary")))
    return "CREATE NODE"


async def _prepare_new_datanode(dispatcher: Dispatcher, conn: BackendConnection) -> None:
    """The shard schema and every user schema of the cluster, so new tables can be placed."""
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await catalog.query(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
        "AND nspname NOT IN ('information_schema', 'gridpg', 'public')"
    )
    from gridpg.commands.ddl import SHARD_SCHEMA_SETUP

    statements = list(SHARD_SCHEMA_SETUP)
    statements += [f"CREATE SCHEMA IF NOT EXISTS {quote_ident(r[0] or '')}" for r in rows if r[0]]
    await conn.simple_query("; ".join(statements))


async def _alter_node(dispatcher: Dispatcher, command: XlCommand) -> str:
    snapshot = dispatcher.runner.snapshot()
    if snapshot.node(command.name) is None:
        raise PgError(UNDEFINED_OBJECT, f'node "{command.name}" does not exist')
    options = dict(command.options)
    statements = []
    if options.pop("primary", "false").lower() in ("true", "on", "1", "yes"):
        # XL's switch of a group's primary (failover): every catalog server in one transaction
        statements.append(store.sql_promote_node(command.name))
    port = options.pop("port", None)
    host = options.pop("host", None)
    active = options.pop("active", None)
    if host is not None or port is not None or active is not None:
        statements.append(store.sql_update_node(
            command.name, host=host, port=int(port) if port else None,
            active=None if active is None else active.lower() in ("true", "on", "1", "yes"),
        ))
    if options:
        raise PgError(INVALID_PARAMETER_VALUE, f"ALTER NODE does not take {', '.join(sorted(options))}",
                      hint="options: HOST, PORT, PRIMARY, ACTIVE")
    if not statements:
        raise PgError(INVALID_PARAMETER_VALUE, "ALTER NODE needs HOST, PORT, PRIMARY or ACTIVE")
    await _catalog_sql(dispatcher, "\n".join(statements))
    return "ALTER NODE"


async def _drop_node(dispatcher: Dispatcher, command: XlCommand) -> str:
    snapshot = dispatcher.runner.snapshot()
    node = snapshot.node(command.name)
    if node is None:
        raise PgError(UNDEFINED_OBJECT, f'node "{command.name}" does not exist')
    group = node.group or node.name
    users = [t for t in snapshot.tables if group in t.groups]
    if users:
        raise PgError(OBJECT_IN_USE, f'node "{command.name}" still holds data of {len(users)} table(s), '
                      f'e.g. "{users[0].schema}.{users[0].name}"',
                      hint="drain it first (move its shards away), then drop it")
    sql = store.sql_delete_node(command.name)
    if not any(n.group == group and n.name != command.name for n in snapshot.nodes):
        sql += "\n" + store.sql_delete_datanode_group(group)
    await _catalog_sql(dispatcher, sql)
    return "DROP NODE"


async def _create_node_group(dispatcher: Dispatcher, command: XlCommand) -> str:
    snapshot = dispatcher.runner.snapshot()
    known = {g.name for g in snapshot.datanode_groups()}
    unknown = [n for n in command.nodes if n not in known]
    if unknown:
        raise PgError(UNDEFINED_OBJECT, f'node "{unknown[0]}" does not exist')
    if snapshot.node_group(command.name) is not None:
        raise PgError(DUPLICATE_OBJECT, f'node group "{command.name}" already exists')
    await _catalog_sql(dispatcher, store.sql_insert_node_group(NodeGroup(command.name, command.nodes)))
    return "CREATE NODE GROUP"


async def _drop_node_group(dispatcher: Dispatcher, command: XlCommand) -> str:
    if dispatcher.runner.snapshot().node_group(command.name) is None:
        raise PgError(UNDEFINED_OBJECT, f'node group "{command.name}" does not exist')
    await _catalog_sql(dispatcher, store.sql_delete_node_group(command.name))
    return "DROP NODE GROUP"


