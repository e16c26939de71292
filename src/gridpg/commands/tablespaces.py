"""CREATE TABLESPACE and DROP TABLESPACE on every server of the cluster.

A tablespace is a global object of each PostgreSQL server, and every server needs it: the
catalog servers hold each table's copy (empty for a distributed table) where the table's
TABLESPACE says, the datanodes hold its rows and shards there. PostgreSQL runs both
statements outside any transaction block (they create or remove directories, which no
ROLLBACK takes back), so no 2PC is possible: like VACUUM and CREATE INDEX CONCURRENTLY
(commands/concurrent.py) they run server by server on autocommit connections with the
session's settings (`allow_in_place_tablespaces`, role): the coordinator's own catalog
server first (PostgreSQL's own errors, in PostgreSQL's order, before anything changed),
then the other catalog servers, then each datanode group's primary (its standbys replay
it). Inside a transaction block both fail with PostgreSQL's 25001 before any server is
asked. ALTER TABLESPACE, GRANT and COMMENT on a tablespace are transactional and take the
ordinary DDL path (2PC on every server).

A server failing after others succeeded leaves no half-made cluster silently: what the
servers before it did is undone (a created tablespace dropped again; a dropped one created
again empty, with its owner, location, options and grants) and the error says where it
failed and what was undone, or, if the undo failed too, which servers still differ and
how to even them out (DROP TABLESPACE of a tablespace one datanode still uses: 55000 from
that node, the catalog servers' copies created again). Citus leaves such statements to
the user on every node; Postgres-XL runs them on every node without undo.

The LOCATION: `LOCATION ''` under `allow_in_place_tablespaces` makes a directory in each
server's own `pg_tblspc`, which works for any placement of servers. A real LOCATION is
sent as written (as Greenplum and Postgres-XL require: the directory must exist, empty and
owned by the server's user, on every host), but only when no two servers of the cluster
(catalog servers, datanode primaries and standbys) share a host: PostgreSQL puts one
version directory (`PG_18_<catversion>`) in the location, so the second server on a host
would fail with 55006, and a streaming standby on the primary's host would replay into
the primary's own files. gridpg cannot make a per-server subdirectory on the servers'
hosts (stock PostgreSQL has no such call), so then the statement is refused with 0A000,
after the coordinator's catalog server has given PostgreSQL's own verdict on the location
(a relative path 42P17, a missing directory 58P01).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.errors import ACTIVE_SQL_TRANSACTION, FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import ExecRequest

KINDS = {"CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE"}
_IN_PLACE = "SET allow_in_place_tablespaces = on"


@dataclass(frozen=True)
class Definition:
    """What DROP TABLESPACE removed, to create it again empty on the servers it left."""

    owner: str
    location: str  # '' for an in-place tablespace (a path relative to the data directory)
    options: tuple[str, ...]
    grants: tuple[str, ...]  # GRANT statements of its ACL

    def create_statements(self, name: str) -> list[str]:
        """Each its own query string: a string of several runs as one transaction block,
        where PostgreSQL refuses CREATE TABLESPACE."""
        text = f"CREATE TABLESPACE {quote_ident(name)} OWNER {quote_ident(self.owner)} " \
               f"LOCATION {quote_literal(self.location)}"
        if self.options:
            text += " WITH (" + ", ".join(_option(o) for o in self.options) + ")"
        return [_IN_PLACE, text, "RESET allow_in_place_tablespaces", *self.grants]


async def run(ddl: DdlRunner, request: ExecRequest, kind: str, tree: dict[str, Any]) -> None:
    """Run CREATE/DROP TABLESPACE on every server (see the module docstring)."""
    from gridpg.pgwire import codec

    words = KINDS[kind]
    if ddl.runner.txn.in_block:
        raise PgError(ACTIVE_SQL_TRANSACTION, f"{words} cannot run inside a transaction block")
    body = tree[kind]
    name = str(body.get("tablespacename", ""))
    own = ddl.coord.catalog_node
    definition = await _definition(ddl, own, name) if kind == "DropTableSpaceStmt" else None
    tag = await _on_server(ddl, own, request.sql)
    done = [own]
    if kind == "CreateTableSpaceStmt" and body.get("location"):
        await _ensure_hosts_apart(ddl, name, done)
    for node in servers(ddl)[1:]:
        try:
            await _on_server(ddl, node, request.sql)
        except PgError as exc:
            raise await _undo(ddl, kind, name, definition, done, node, exc) from None
        done.append(node)
    ddl.dispatcher.session.send(codec.build_command_complete(tag))


def is_database_move(kind: str, tree: dict[str, Any]) -> bool:
    """ALTER DATABASE ... SET TABLESPACE (PostgreSQL runs it outside transaction blocks)."""
    return kind == "AlterDatabaseStmt" and any(
        (o.get("DefElem") or {}).get("defname") == "tablespace" for o in tree[kind].get("options") or [])


async def move_database(ddl: DdlRunner, request: ExecRequest, tree: dict[str, Any]) -> None:
    """ALTER DATABASE ... SET TABLESPACE. Of the database the cluster serves: every server
    has connections open in it (this session's among them), where PostgreSQL refuses it
    (55006, after its ownership check), so the coordinator's catalog server gives
    PostgreSQL's own verdict and no server changes. Of another database: 0A000 (a cluster
    serves one database; made on one catalog server, it would differ from the others).
    Before, it ran in gridpg's DDL transaction: 25001 outside any block."""
    from gridpg.pgwire import codec

    if ddl.runner.txn.in_block:
        raise PgError(ACTIVE_SQL_TRANSACTION, "ALTER DATABASE SET TABLESPACE cannot run inside a transaction block")
    name = str(tree["AlterDatabaseStmt"].get("dbname", ""))
    if name != ddl.coord.catalog_address.database:
        if not await _internal_query(ddl, ddl.coord.catalog_node, "SELECT 1 FROM pg_catalog.pg_database "
                                     f"WHERE datname = {quote_literal(name)}"):
            raise PgError("3D000", f'database "{name}" does not exist')
        raise PgError(FEATURE_NOT_SUPPORTED, "ALTER DATABASE ... SET TABLESPACE of another database is not "
                      "supported by gridpg: a cluster serves one database")
    tag = await _on_server(ddl, ddl.coord.catalog_node, request.sql)
    ddl.dispatcher.session.send(codec.build_command_complete(tag))


def servers(ddl: DdlRunner) -> list[str]:
    """The coordinator's own catalog server, the other catalog servers, the datanode groups."""
    own = ddl.coord.catalog_node
    return [own, *[n for n in ddl.catalog_nodes() if n != own], *ddl.all_groups()]


async def _on_server(ddl: DdlRunner, node: str, sql: str) -> str:
    pool = ddl.coord.pools.pool(node)
    conn = await pool.acquire()
    try:
        await ddl.runner._setup_connection(conn)
        conn.notices.clear()
        results = await conn.simple_query(sql)
        if node == ddl.coord.catalog_node:
            ddl._relay_notices(conn)
        conn.notices.clear()
    finally:
        pool.release(conn)
    return results[-1].tag if results else ""


async def _definition(ddl: DdlRunner, node: str, name: str) -> Definition | None:
    """The tablespace as the coordinator's catalog server has it, before DROP TABLESPACE."""
    rows = await _internal_query(ddl, node, definitions_sql(f"t.spcname = {quote_literal(name)}"))
    return definition_of(rows[0]) if rows else None


def definitions_sql(where: str = "t.spcname NOT IN ('pg_default', 'pg_global')") -> str:
    """The query of each tablespace's name and Definition (definition_of reads a row)."""
    return (
        "SELECT t.spcname, pg_catalog.pg_get_userbyid(t.spcowner), pg_catalog.pg_tablespace_location(t.oid), "
        "t.spcoptions::pg_catalog.text[], "
        "ARRAY(SELECT pg_catalog.format('GRANT %s ON TABLESPACE %I TO %s%s', a.privilege_type, t.spcname, "
        "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, "
        "CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
        "FROM pg_catalog.aclexplode(t.spcacl) a WHERE a.grantee <> t.spcowner) "
        f"FROM pg_catalog.pg_tablespace t WHERE {where} ORDER BY t.oid")


def definition_of(row: tuple[str | None, ...]) -> Definition:
    _name, owner, location, options, grants = row
    location = str(location or "")
    return Definition(str(owner), location if location.startswith("/") else "",
                      tuple(_pg_array(options)), tuple(_pg_array(grants)))


async def _ensure_hosts_apart(ddl: DdlRunner, name: str, done: list[str]) -> None:
    """A real LOCATION only where each server has a host of its own (module docstring); the
    coordinator's catalog server, which just made it, drops it again."""
    shared = _shared_host(ddl)
    if shared is None:
        return
    await _internal_run(ddl, done[0], [f"DROP TABLESPACE IF EXISTS {quote_ident(name)}"])
    host, members = shared
    raise PgError(FEATURE_NOT_SUPPORTED,
                  "CREATE TABLESPACE with a LOCATION is not supported by gridpg when servers share a host",
                  detail=f"The servers {', '.join(members)} run on host {host}; PostgreSQL keeps one directory "
                  "per location, so they cannot all use it (a standby would write into its primary's files).",
                  hint="Use LOCATION '' with allow_in_place_tablespaces = on: each server keeps the tablespace "
                  "in its own data directory.")


def _shared_host(ddl: DdlRunner) -> tuple[str, list[str]] | None:
    """A host two servers of the cluster share, and their names, or None."""
    coord = ddl.coord
    hosts: dict[tuple[str, int], str] = {}
    for address in [coord.catalog_address, *coord.other_catalogs, *coord.datanode_addresses.values()]:
        hosts.setdefault((address.host, address.port), address.name)
    for node in ddl.snapshot.nodes:
        if node.kind in ("datanode", "catalog"):
            hosts.setdefault((node.host, node.port), node.name)
    by_host: dict[str, tuple[str, list[str]]] = {}
    for (host, _port), member in sorted(hosts.items()):
        by_host.setdefault(_host_key(host), (host, []))[1].append(member)
    return next(((h, sorted(m)) for h, m in by_host.values() if len(m) > 1), None)


def _host_key(host: str) -> str:
    """Loopback names and addresses are one host (this machine)."""
    return "localhost" if host in ("localhost", "::1", "") or host.startswith(("127.", "/")) else host


async def _undo(ddl: DdlRunner, kind: str, name: str, definition: Definition | None, done: list[str],
                node: str, exc: PgError) -> PgError:
    """Undo the statement on the servers in `done`; the error for the client says where it
    failed, what was undone, and what is left to do when the undo failed too."""
    ident = quote_ident(name)
    if kind == "CreateTableSpaceStmt":
        statements = [f"DROP TABLESPACE IF EXISTS {ident}"]
        undone, left = "dropped again", "still exists"
        hint = f"Run DROP TABLESPACE IF EXISTS {ident}, then CREATE TABLESPACE again."
    else:
        statements = definition.create_statements(name) if definition is not None else []
        undone, left = "created again (empty)", "is dropped"
        hint = f"Empty it on {node} (or drop it there), then run DROP TABLESPACE IF EXISTS {ident} again."
    failed = list(done) if not statements else []
    for server in done if statements else []:
        try:
            await _internal_run(ddl, server, statements)
        except PgError:
            failed.append(server)
    restored = [s for s in done if s not in failed]
    state = [f"Servers after {node} were not reached."]
    if restored:
        state.insert(0, f"On {', '.join(restored)} it was {undone}.")
    if failed:
        state.insert(0, f"It {left} on {', '.join(failed)}.")
    else:
        state.append("The cluster is as before the statement.")
    detail = " ".join(state) if not exc.detail else f"{exc.detail}\n{' '.join(state)}"
    if kind == "CreateTableSpaceStmt" and not failed:
        hint = ""
    return PgError(exc.sqlstate, f"{KINDS[kind]} failed on {node}: {exc.message}", detail,
                   exc.hint or hint or None, node=node)


async def _internal_query(ddl: DdlRunner, node: str, sql: str) -> list[tuple[str | None, ...]]:
    conn: BackendConnection = await ddl.coord.internal_acquire(node)
    try:
        return await conn.query(sql)
    finally:
        ddl.coord.pools.pool(node).release(conn)


async def _internal_run(ddl: DdlRunner, node: str, statements: list[str]) -> None:
    """Each statement as a query string of its own, as the cluster superuser."""
    conn: BackendConnection = await ddl.coord.internal_acquire(node)
    try:
        for sql in statements:
            await conn.simple_query(sql)
    finally:
        ddl.coord.pools.pool(node).release(conn)


def _option(option: str) -> str:
    key, _, value = option.partition("=")
    return f"{quote_ident(key)} = {quote_literal(value)}"


def _pg_array(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    from gridpg.commands.ddl import _pg_array as parse_array

    return parse_array(str(value))
