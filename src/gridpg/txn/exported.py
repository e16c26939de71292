"""Snapshots exported and imported across the cluster: `pg_export_snapshot()` and
`SET TRANSACTION SNAPSHOT` (what `pg_dump -j` and other parallel readers do).

PostgreSQL's exported snapshot belongs to one server. A gridpg transaction reads through
several: the session's catalog server and every datanode group. So, in a REPEATABLE READ or
SERIALIZABLE block, `SELECT pg_export_snapshot()` first makes the block take its snapshot on
every datanode group (the cluster-wide snapshot of txn/snapshot.py, under the snapshot
fence: it sees a distributed transaction on all of its nodes or on none), joins the catalog
server, exports the snapshot on each, and answers one identifier naming them all: the
upper-case hex of `gridpg:<node>=<id>;...` (hex and `-` only, as PostgreSQL's identifiers,
so clients that check the form accept it).

`SET TRANSACTION SNAPSHOT '<that identifier>'` in another session's block (before any
query, REPEATABLE READ or SERIALIZABLE, as PostgreSQL requires) makes each remote block the
transaction opens import its node's snapshot right after its BEGIN and the block's SET
TRANSACTION settings (`DistributedTransaction.imported_snapshot`). Every node then reads
what the exporting transaction read, while it stays open (PostgreSQL's rule: a node whose
exporter ended refuses the import, 42704). The catalog server's part is imported only by a
session of the same catalog server (a coordinator's own); through another coordinator the
datanodes' parts still are (its catalog reads are its own snapshot's).

An identifier that is not one of these (a plain PostgreSQL one, a typo) is refused as
PostgreSQL refuses one it cannot find (42704; a malformed one 22023). READ COMMITTED blocks export nothing
cluster-wide (each statement there takes new snapshots on the nodes it reaches): 0A000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import (
    ACTIVE_SQL_TRANSACTION,
    FEATURE_NOT_SUPPORTED,
    INVALID_PARAMETER_VALUE,
    UNDEFINED_OBJECT,
    PgError,
)
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse
from gridpg.txn.snapshot import REPEATABLE_READ, SERIALIZABLE

if TYPE_CHECKING:
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.statements import StatementRunner

_PREFIX = "gridpg:"
_EXPORT_SQL = "SELECT pg_catalog.pg_export_snapshot()"


def is_export(sql: str) -> bool:
    """`SELECT pg_export_snapshot()` (or `pg_catalog.`, with a column alias), alone."""
    if "pg_export_snapshot" not in sql.lower():
        return False
    found = sqlparse.lone_call(sql)
    return found is not None and found[0] == "pg_export_snapshot"


def encode(parts: dict[str, str]) -> str:
    text = _PREFIX + ";".join(f"{node}={ident}" for node, ident in sorted(parts.items()))
    return text.encode().hex().upper()


def decode(identifier: str) -> dict[str, str] | None:
    """The node snapshot identifiers an exported identifier names; None: not gridpg's."""
    try:
        text = bytes.fromhex(identifier).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith(_PREFIX):
        return None
    parts: dict[str, str] = {}
    for item in text[len(_PREFIX):].split(";"):
        node, sep, ident = item.partition("=")
        if not sep or not node or not ident or ident.strip("0123456789ABCDEF-"):
            return None
        parts[node] = ident
    return parts or None


async def export(runner: StatementRunner, request: ExecRequest) -> None:
    """Answer `SELECT pg_export_snapshot()` in a block with the cluster's identifier."""
    txn = runner.txn
    isolation = txn.effective_isolation if txn.in_block else None
    if not txn.in_block or isolation not in (REPEATABLE_READ, SERIALIZABLE) or txn.consistency is None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "gridpg exports a snapshot only in a REPEATABLE READ or SERIALIZABLE transaction block",
                      detail="Outside one, each statement takes new snapshots on the servers it reaches.",
                      hint="BEGIN ISOLATION LEVEL REPEATABLE READ first.")
    await runner.sync_pending()
    coord = runner.coord
    nodes = [coord.catalog_node, *(n for n in txn.consistency.datanodes() if n not in txn.local_nodes)]
    parts: dict[str, str] = {}
    for node in nodes:
        conn = await txn.connection(node, wants_block=True)
        await conn.settle()
        rows = await conn.query(_EXPORT_SQL)
        parts[node] = str(rows[0][0])
    send = runner.session.send
    if request.simple:
        found = sqlparse.lone_call(request.sql)
        send(codec.build_row_description([codec.Column(found[1] if found else "pg_export_snapshot")]))
    send(codec.build_data_row([encode(parts).encode()]))
    send(codec.build_command_complete("SELECT 1"))


def import_parts(runner: StatementRunner, identifier: str, queried: bool, isolation: str | None,
                 in_subtransaction: bool) -> dict[str, str]:
    """The node identifiers `SET TRANSACTION SNAPSHOT` imports, checked in PostgreSQL's order
    (after a query of the block 25001, under READ COMMITTED 0A000, a malformed identifier
    22023, one not exported by gridpg 42704)."""
    if in_subtransaction:
        raise PgError(ACTIVE_SQL_TRANSACTION, "SET TRANSACTION SNAPSHOT must not be called in a subtransaction")
    if queried:
        raise PgError(ACTIVE_SQL_TRANSACTION, "SET TRANSACTION SNAPSHOT must be called before any query")
    if isolation not in (REPEATABLE_READ, SERIALIZABLE):
        raise PgError(FEATURE_NOT_SUPPORTED, "a snapshot-importing transaction must have isolation "
                      "level SERIALIZABLE or REPEATABLE READ")
    if not identifier or identifier.strip("0123456789ABCDEF-"):
        raise PgError(INVALID_PARAMETER_VALUE, f'invalid snapshot identifier: "{identifier}"')
    parts = decode(identifier)
    if parts is None:  # (well formed, exported by no one here: PostgreSQL's missing snapshot)
        raise PgError(UNDEFINED_OBJECT, f'snapshot "{identifier}" does not exist')
    coord = runner.coord
    txn = runner.txn
    datanodes = {n for n in txn.consistency.datanodes() if n not in txn.local_nodes} \
        if txn.consistency is not None else set()
    if not datanodes or not datanodes <= set(parts):
        raise PgError(INVALID_PARAMETER_VALUE, f'invalid snapshot identifier: "{identifier}"',
                      detail="It does not name every datanode group of this cluster.")
    # (another coordinator's catalog server exported the catalog part: this one's reads stay its own)
    return {node: ident for node, ident in parts.items() if node in datanodes or node == coord.catalog_node}


async def open_imported(runner: StatementRunner, parts: dict[str, str]) -> None:
    """Open the block on each server the import names now, so that a snapshot no longer
    there (its exporter ended) fails the SET, as in PostgreSQL, not a later query."""
    for node in sorted(parts, key=lambda n: n != runner.coord.catalog_node):
        conn = await runner.txn.connection(node, wants_block=True)
        await conn.settle()
        await conn.query("SELECT 1")  # (the opening's answer read first: its error raised here)
    # The imported snapshot is the transaction's cluster-wide one (txn/snapshot.py): no
    # other is taken under the fence, and no node joins later with a snapshot of its own.
    runner.txn.cluster_snapshot = True
