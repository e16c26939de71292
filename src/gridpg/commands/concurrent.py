"""DDL that PostgreSQL runs outside a transaction block: CREATE INDEX CONCURRENTLY, REINDEX
CONCURRENTLY, DROP INDEX CONCURRENTLY, ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY.

No 2PC is possible (each runs several transactions of its own on each server), so they run
server by server on autocommit connections with the session's settings: the coordinator's
own catalog server first (it gives PostgreSQL's own errors before anything else changed),
then each datanode group of the tables named, then the other catalog servers. If a server
fails after others succeeded, the error says which servers have what and how to recover
(PostgreSQL's own rule: an interrupted CONCURRENTLY build leaves an INVALID index, dropped
with DROP INDEX CONCURRENTLY and built again).

On a datanode a HASH table is partitioned (its shards are partitions), and PostgreSQL has no
CREATE INDEX CONCURRENTLY on partitioned tables; so there the index is built as PostgreSQL's
documentation builds one on a partitioned table without long locks: `CREATE INDEX ... ON
ONLY` the partitioned tables (an invalid index), `CREATE INDEX CONCURRENTLY` on every leaf,
each attached (`ALTER INDEX ... ATTACH PARTITION`); the parent becomes valid when the last
one is attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pglast.stream import RawStream

from gridpg.commands import shard_indexes
from gridpg.errors import ACTIVE_SQL_TRANSACTION, FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import ExecRequest


def concurrent_words(kind: str, tree: dict[str, Any]) -> str | None:
    """PostgreSQL's name for the statement when it runs CONCURRENTLY, else None."""
    body = tree.get(kind, {})
    if kind == "IndexStmt" and body.get("concurrent"):
        return "CREATE INDEX CONCURRENTLY"
    if kind == "DropStmt" and body.get("concurrent"):
        return "DROP INDEX CONCURRENTLY"
    if kind == "ReindexStmt" and any(
            p.get("DefElem", {}).get("defname") == "concurrently" for p in body.get("params") or []):
        return "REINDEX CONCURRENTLY"
    if kind == "AlterTableStmt":
        for cmd in body.get("cmds") or []:
            part = cmd.get("AlterTableCmd", {}).get("def", {}).get("PartitionCmd", {})
            if part.get("concurrent"):
                return "ALTER TABLE ... DETACH CONCURRENTLY"
    return None


async def run(ddl: DdlRunner, request: ExecRequest, kind: str, words: str,
              tables: list[Any], groups: list[str]) -> None:
    """Run a CONCURRENTLY statement on every server it concerns, one after the other."""
    from gridpg.pgwire import codec

    if ddl.runner.txn.in_block:
        raise PgError(ACTIVE_SQL_TRANSACTION, f"{words} cannot run inside a transaction block")
    if kind == "IndexStmt" and tables:
        _ensure_unique_key_fits(parse_sql(request.sql)[0].stmt, tables[0])
    done: list[str] = []
    own = ddl.coord.catalog_node
    invalid = await _invalid_indexes(ddl, own, request.sql) if kind == "ReindexStmt" else Invalid([], None)
    tag = await _on_node(ddl, own, request.sql, done, words)
    sql = request.sql
    if kind == "IndexStmt" and tables:
        sql = await _named_index(ddl, own, request.sql, tables[0])
    try:
        for group in groups:
            if invalid.definition is not None:
                await _complete_index(ddl, group, invalid.definition, list(done), words)
            if kind == "IndexStmt" and tables and tables[0].method == "hash":
                await _index_on_partitioned(ddl, group, sql, done, words)
            elif kind == "DropStmt":
                await _drop_index(ddl, group, sql, done, words)
            else:
                await _on_node(ddl, group, sql, done, words)
        for node in [n for n in ddl.catalog_nodes() if n != own]:
            if invalid.definition is not None:
                await _complete_index(ddl, node, invalid.definition, list(done), words, catalog=True)
            await _on_node(ddl, node, sql, done, words)
    except PgError:
        if kind == "IndexStmt" and tables:
            await _mark_invalid(ddl, own, sql, tables[0])
            await ddl.coord.metadata_changed()
        if invalid.names:
            await _mark_names_invalid(ddl, own, invalid.names)
            await ddl.coord.metadata_changed()
        raise
    await ddl.coord.metadata_changed()
    ddl.dispatcher.session.send(codec.build_command_complete(tag))


def _ensure_unique_key_fits(stmt: Any, table: Any) -> None:
    """A unique index each datanode cannot enforce alone (without the distribution column of
    a HASH or MODULO table; any on a ROUNDROBIN table on several groups): refused before any
    server builds it (0A000). A datanode refused it only after the catalog servers had
    built theirs, which no transaction takes back here: the catalog then showed a valid
    unique index the rows never had."""
    if not stmt.unique or table.method == "replication" or len(table.groups) < 2:
        return
    names = {str(p.name) for p in stmt.indexParams or () if p.name is not None}
    if table.method in ("hash", "modulo") and table.column in names:
        return
    hint = (f'Include column "{table.column}" in the key' if table.column else "Distribute the table by a key")
    if table.by_default:
        hint += (", or build the index without CONCURRENTLY: gridpg then makes the table a REPLICATION "
                 "table, which holds any key")
    raise PgError(FEATURE_NOT_SUPPORTED,
                  f'CREATE UNIQUE INDEX CONCURRENTLY on distributed table "{table.name}" without its '
                  "distribution column is not supported by gridpg: each datanode would check the key over "
                  "its own rows only", hint=hint + ".")


async def _on_node(ddl: DdlRunner, node: str, sql: str, done: list[str], words: str) -> str:
    async def work(conn: BackendConnection) -> str:
        results = await conn.simple_query(sql)
        return results[-1].tag if results else ""
    return await _with_connection(ddl, node, work, done, words)


async def _with_connection(ddl: DdlRunner, node: str, work: Any, done: list[str], words: str) -> str:
    pool = ddl.coord.pools.pool(node)
    conn = await pool.acquire()
    try:
        await ddl.runner._setup_connection(conn)
        tag: str = await work(conn)
    except PgError as exc:
        if done:
            raise _partial_failure(exc, node, done, words) from None
        raise
    finally:
        pool.release(conn)
    if node == ddl.coord.catalog_node:
        ddl._relay_notices(conn)
    conn.notices.clear()
    done.append(node)
    return tag


def _partial_failure(exc: PgError, node: str, done: list[str], words: str) -> PgError:
    """The node's error, saying what is left where and how to recover."""
    if words.startswith("CREATE INDEX"):
        state = (f"The index exists on {', '.join(done)}; on {node} PostgreSQL may have left it "
                 "INVALID; servers after it were not reached.")
        hint = ("Fix the cause, then DROP INDEX CONCURRENTLY IF EXISTS the index and run CREATE INDEX "
                "CONCURRENTLY again.")
    elif words.startswith("REINDEX"):
        state = (f"{', '.join(done)} were reindexed; on {node} PostgreSQL may have left an INVALID "
                 "copy of an index (suffix _ccnew); servers after it were not reached.")
        hint = ("Fix the cause and run REINDEX CONCURRENTLY again: it rebuilds every index; "
                f"EXECUTE DIRECT ON ({node}) 'DROP INDEX <name>_ccnew' removes a leftover copy.")
    else:
        state = f"It took effect on {', '.join(done)}; servers after {node} were not reached."
        hint = f"Fix the cause and run the statement again ({words} with IF EXISTS where it applies)."
    detail = f"{exc.detail}\n{state}" if exc.detail else state
    return PgError(exc.sqlstate, f"{words} failed on {node}: {exc.message}", detail, hint, node=node)


async def _mark_invalid(ddl: DdlRunner, node: str, sql: str, table: Any) -> None:
    """The catalog server's index, built over the empty copy, marked INVALID when a datanode's
    build failed (PostgreSQL's state after a failed CREATE INDEX CONCURRENTLY): it said valid,
    so `pg_index.indisvalid` and psql's \\d told a client whose index was missing or invalid
    on a datanode that nothing needed rebuilding."""
    stmt = parse_sql(sql)[0].stmt
    if not stmt.idxname:
        return
    index = quote_literal(quote_qualified(table.schema, stmt.idxname))
    conn = await ddl.coord.internal_acquire(node)
    try:
        await conn.simple_query("UPDATE pg_catalog.pg_index SET indisvalid = false "
                                f"WHERE indexrelid = pg_catalog.to_regclass({index})")
    except PgError:
        pass  # the datanode's error is the one the client needs
    finally:
        ddl.coord.pools.pool(node).release(conn)


@dataclass(frozen=True)
class Invalid:
    """The indexes INVALID on the coordinator's catalog server before a REINDEX CONCURRENTLY
    (qualified names: REINDEX CONCURRENTLY gives the rebuilt index the old one's name, not
    its OID), and the definition of the one REINDEX INDEX names when it is among them."""

    names: list[str]
    definition: str | None


async def _invalid_indexes(ddl: DdlRunner, node: str, sql: str) -> Invalid:
    """REINDEX CONCURRENTLY runs on the catalog server first, where it rebuilds an INVALID
    index over the empty copy and makes it valid; the datanodes' copy of such an index may
    be invalid, lack shards' indexes (a failed CREATE INDEX CONCURRENTLY drops the leaf it
    failed on) or be missing on groups the build never reached. Read before it runs."""
    stmt = parse_sql(sql)[0].stmt
    named = ""
    if stmt.kind.name == "REINDEX_OBJECT_INDEX" and stmt.relation is not None:
        named = quote_qualified(stmt.relation.schemaname, stmt.relation.relname)
    pool = ddl.coord.pools.pool(node)
    conn = await pool.acquire()
    try:
        await ddl.runner._setup_connection(conn)  # the session's search_path names the index
        rows = await conn.query(
            "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), "
            f"i.indexrelid = pg_catalog.to_regclass({quote_literal(named)}), pg_catalog.pg_get_indexdef(i.indexrelid) "
            "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid")
    finally:
        pool.release(conn)
    definition = next((r[2] for r in rows if r[1] == "t"), None)
    return Invalid([r[0] or "" for r in rows], definition)


async def _complete_index(ddl: DdlRunner, node: str, definition: str, done: list[str], words: str,
                          catalog: bool = False) -> None:
    """The index REINDEX INDEX CONCURRENTLY rebuilds, built on `node` where it is missing
    (CREATE INDEX CONCURRENTLY IF NOT EXISTS from the catalog's definition; on a HASH table's
    partitioned index on a datanode, the shards' indexes that are missing, each attached),
    so that the REINDEX after it finds it whole."""
    stmt = parse_sql(definition)[0].stmt
    stmt.concurrent, stmt.if_not_exists = True, True
    sql = RawStream()(stmt)
    table = ddl.snapshot.table(stmt.relation.schemaname or "", stmt.relation.relname)
    if table is not None and table.method == "hash" and not catalog:
        await _index_on_partitioned(ddl, node, sql, done, words)
    else:
        await _on_node(ddl, node, sql, done, words)


async def _mark_names_invalid(ddl: DdlRunner, node: str, names: list[str]) -> None:
    """After a failed REINDEX CONCURRENTLY: the indexes that were INVALID before it made
    INVALID again on the catalog server (PostgreSQL keeps the old index when the rebuild
    fails); the catalog's rebuild over the empty copy had made them valid while a datanode's
    copy held duplicate keys or was missing: pg_index said valid, \\d showed a unique index."""
    listed = ", ".join(f"pg_catalog.to_regclass({quote_literal(n)})" for n in names)
    conn = await ddl.coord.internal_acquire(node)
    try:
        await conn.simple_query(f"UPDATE pg_catalog.pg_index SET indisvalid = false WHERE indexrelid IN ({listed})")
    except PgError:
        pass  # the datanode's error is the one the client needs
    finally:
        ddl.coord.pools.pool(node).release(conn)


async def _named_index(ddl: DdlRunner, node: str, sql: str, table: Any) -> str:
    """The statement with the index name the catalog server chose (when none was given),
    so every server names it alike."""
    stmt = parse_sql(sql)[0].stmt
    if stmt.idxname:
        return sql
    conn = await ddl.coord.internal_acquire(node)
    try:
        rows = await conn.query(
            "SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = pg_catalog.to_regclass("
            f"{quote_literal(quote_qualified(table.schema, table.name))}) ORDER BY i.indexrelid DESC LIMIT 1")
    finally:
        ddl.coord.pools.pool(node).release(conn)
    if not rows:
        return sql
    stmt.idxname = rows[0][0]
    return RawStream()(stmt)


async def _index_on_partitioned(ddl: DdlRunner, group: str, sql: str, done: list[str], words: str) -> None:
    """ON ONLY on the partitioned tables, CONCURRENTLY on the leaves, each attached."""
    stmt = parse_sql(sql)[0].stmt

    async def work(conn: BackendConnection) -> str:
        names = (stmt.relation.schemaname, stmt.relation.relname)
        table = quote_qualified(*names)
        tree = await conn.query(
            "SELECT t.relid::pg_catalog.text, t.parentrelid::pg_catalog.text, t.isleaf, c.relkind "
            "FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass("
            f"{quote_literal(table)})) t JOIN pg_catalog.pg_class c ON c.oid = t.relid ORDER BY t.level")
        if not tree or tree[0][3] != "p":
            results = await conn.simple_query(sql)
            return results[-1].tag if results else ""
        index_of: dict[str, str] = {}
        for relid, parent, isleaf, _kind in tree:
            index_of[relid or ""] = await _index_one(conn, stmt, relid or "", isleaf == "t",
                                                     index_of.get(parent or ""))
        await conn.simple_query(shard_indexes.rename_sql([names]))  # the shards' copies, named after it
        return "CREATE INDEX"

    await _with_connection(ddl, group, work, done, words)


async def _index_one(conn: BackendConnection, stmt: Any, relation: str, leaf: bool,
                     parent_index: str | None) -> str:
    """Build the index of one relation of the tree; the index's qualified name."""
    rows = await conn.query(f"SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                            f"ON n.oid = c.relnamespace WHERE c.oid = {quote_literal(relation)}::pg_catalog.regclass")
    schema, name = rows[0][0] or "", rows[0][1] or ""
    if parent_index is not None:
        attached = await _attached_index(conn, parent_index, relation)
        if attached is not None:  # the parent's IF NOT EXISTS skipped it: so are its partitions'
            return attached
    stmt.relation.schemaname, stmt.relation.relname = schema, name
    stmt.relation.inh = leaf
    stmt.concurrent = leaf
    if parent_index is not None:
        stmt.idxname = None  # PostgreSQL chooses it, as a recursive CREATE INDEX would
        stmt.if_not_exists = False
    before = await _index_oids(conn, relation)
    try:
        await conn.simple_query(RawStream()(stmt))
    except PgError:
        if leaf:
            await _drop_new_indexes(conn, relation, before)  # nothing unattached is left behind
        raise
    created = [o for o in await _index_oids(conn, relation) if o not in before]
    if not created:  # IF NOT EXISTS skipped it
        return f"{quote_qualified(schema, stmt.idxname or '')}"
    index = (await conn.query(f"SELECT {quote_literal(created[0])}::pg_catalog.regclass::pg_catalog.text"))[0][0] or ""
    if parent_index is not None:
        await conn.simple_query(f"ALTER INDEX {parent_index} ATTACH PARTITION {index}")
    return index


async def _attached_index(conn: BackendConnection, parent_index: str, relation: str) -> str | None:
    """The index of `relation` attached to `parent_index` already (its qualified name), if any."""
    rows = await conn.query(
        "SELECT i.inhrelid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_inherits i "
        "JOIN pg_catalog.pg_index x ON x.indexrelid = i.inhrelid "
        f"WHERE i.inhparent = pg_catalog.to_regclass({quote_literal(parent_index)}) "
        f"AND x.indrelid = {quote_literal(relation)}::pg_catalog.regclass")
    return rows[0][0] if rows else None


async def _index_oids(conn: BackendConnection, relation: str) -> list[str]:
    rows = await conn.query("SELECT indexrelid::pg_catalog.text FROM pg_catalog.pg_index "
                            f"WHERE indrelid = {quote_literal(relation)}::pg_catalog.regclass")
    return [r[0] or "" for r in rows]


async def _drop_new_indexes(conn: BackendConnection, relation: str, before: list[str]) -> None:
    for oid in await _index_oids(conn, relation):
        if oid not in before:
            name = (await conn.query(f"SELECT {quote_literal(oid)}::pg_catalog.oid::pg_catalog.regclass::pg_catalog.text"))[0][0]
            try:
                await conn.simple_query(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            except PgError:
                pass  # the node's own error is the one the client needs


async def _drop_index(ddl: DdlRunner, group: str, sql: str, done: list[str], words: str) -> None:
    """DROP INDEX CONCURRENTLY; an index of a HASH table is partitioned on the datanodes,
    which PostgreSQL drops only without CONCURRENTLY (a short lock on that node)."""
    stmt = parse_sql(sql)[0].stmt

    async def work(conn: BackendConnection) -> str:
        names = [".".join(n.sval for n in obj) for obj in stmt.objects]
        rows = await conn.query(
            "SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass("
            f"{quote_literal(quote_qualified(*_split(names[0])))})")
        stmt.concurrent = not (rows and rows[0][0] == "I")
        results = await conn.simple_query(RawStream()(stmt))
        return results[-1].tag if results else ""

    await _with_connection(ddl, group, work, done, words)


def _split(name: str) -> tuple[str | None, str]:
    schema, _, relname = name.rpartition(".")
    return (schema or None, relname)
