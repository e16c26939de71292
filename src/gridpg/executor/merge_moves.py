"""Moving the rows of a staged MERGE's INSERT actions to the nodes they belong on (the plan:
planner/merge_staged.py `moved_inserts`, the node statement: `with_moved_inserts`).

Whether a source row matches is decided on the node its ON condition's key stages it to,
where every target row it could match lives; the row its INSERT action gives may have
another distribution value (`ON t.k = s.k ... INSERT VALUES (s.k + 1000, ...)`, PostgreSQL's
rowsecurity test: `ON did = s.sdid ... INSERT VALUES (12, ...)`). That node writes such
rows, in the MERGE's own statement, into an unlogged outbox shaped as the action's columns
of the target; after it, each outbox's rows go by the target's partition hash into an
inbox on their own node (COPY byte pumps, node to node; a node's own rows by an INSERT
there), and each node inserts its inbox into the target with the action's column list:
defaults, constraints, triggers, row security and unique keys act there as on the MERGE's
INSERT. All of it runs in the statement's transaction: an error anywhere (a duplicate key
on the receiving node) rolls back the MERGE's other effects too. The scratch tables live
in `gridpg_shards`, created and dropped inside the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner.broadcast import remainder_sql
from gridpg.planner.plan import SCRATCH_SCHEMA
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher


@dataclass
class Outbox:
    """One moved INSERT action's scratch tables (the same names on every node)."""

    outbox: str
    inbox: str
    columns: list[str]
    overriding: str  # "" or "OVERRIDING SYSTEM VALUE " / "OVERRIDING USER VALUE "


def scratch_names(dispatcher: Dispatcher, count: int) -> list[tuple[str, str]]:
    from gridpg.executor.run import scratch_name

    return [(f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'mout'))}",
             f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'min'))}") for _ in range(count)]


async def create_boxes(dispatcher: Dispatcher, target: DistTable, boxes: list[Outbox]) -> None:
    """Each box's outbox and inbox on every node of the target: the action's columns, of
    the target's types as the catalog server names them (no constraints, defaults nor
    triggers: a row waits there as the action gave it; and no read of the target, which
    the MERGE's INSERT needs no right to)."""
    txn = dispatcher.runner.txn
    catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await catalog.query(
        "SELECT attname, pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
        f"WHERE attrelid = pg_catalog.to_regclass({quote_literal(quote_qualified(target.schema, target.name))}) "
        "AND attnum > 0 AND NOT attisdropped")
    types = {str(name): str(type_sql) for name, type_sql in rows}
    for group in target.groups:
        conn = await txn.connection(group, wants_block=True)
        txn.mark_written(group)
        await conn.settle()
        for box in boxes:
            # (a column the target lacks: the MERGE's own error, 42703, comes first)
            shape = ", ".join(f"{quote_ident(c)} {types.get(c, 'text')}" for c in box.columns)
            for name in (box.outbox, box.inbox):
                await conn.simple_query(f"CREATE UNLOGGED TABLE {name} ({shape})")


def remainders_by_group(dispatcher: Dispatcher, target: DistTable) -> dict[str, list[int]]:
    """The target's partition remainders each of its nodes holds."""
    assert target.shard_count
    snapshot = dispatcher.runner.snapshot()
    mine: dict[str, list[int]] = {g: [] for g in target.groups}
    for remainder in range(target.shard_count):
        mine[snapshot.shard_group(target.schema, target.name, remainder)].append(remainder)
    return mine


async def move_rows(dispatcher: Dispatcher, target: DistTable, boxes: list[Outbox], key_type: int,
                    refuse_any: bool = False, returning: Returning | None = None) -> int:
    """Move every outbox's rows to the inbox of their node and insert them into the target
    there; the number of rows inserted. The scratch tables are dropped after.
    `refuse_any`: a row to move is refused (0A000; the MERGE has a RETURNING list such an
    INSERT cannot give). `returning`: the inserted rows are returned (`Returning`)."""
    from gridpg.executor.exchange import low_float_digits, pump

    txn = dispatcher.runner.txn
    assert target.shard_count and target.column
    mine = remainders_by_group(dispatcher, target)
    if refuse_any:
        await _ensure_nothing_to_move(dispatcher, target, boxes)
    relation = quote_qualified(target.schema, target.name)
    lossy = low_float_digits(dispatcher.runner)
    inserted = 0
    for box in boxes:
        columns = ", ".join(quote_ident(c) for c in box.columns)
        split = remainder_sql(quote_ident(target.column), key_type, target.shard_count)
        for source in target.groups:
            conn = await txn.connection(source, wants_block=True)
            for dest, remainders in mine.items():
                if not remainders:
                    continue
                part = f"SELECT {columns} FROM {box.outbox} WHERE {split} IN ({', '.join(map(str, remainders))})"
                if dest == source:
                    await conn.simple_query(f"INSERT INTO {box.inbox} {part}")
                else:
                    await pump(conn, [await txn.connection(dest, wants_block=True)], part, box.inbox, lossy)
        for group in target.groups:
            conn = await txn.connection(group, wants_block=True)
            insert = f"INSERT INTO {relation} ({columns}) {box.overriding}SELECT {columns} FROM {box.inbox}"
            if returning is not None:
                tag = await returning.run(conn, f"INSERT INTO {relation} AS {returning.alias} ({columns}) "
                                                f"{box.overriding}SELECT {columns} FROM {box.inbox} "
                                                f"RETURNING {returning.targets}")
            else:
                results = await conn.simple_query(insert)
                tag = results[-1].tag if results else ""
            inserted += int(tag.rsplit(" ", 1)[-1]) if tag.rsplit(" ", 1)[-1].isdigit() else 0
    for group in target.groups:
        conn = await txn.connection(group, wants_block=True)
        names = ", ".join(name for box in boxes for name in (box.outbox, box.inbox))
        await conn.simple_query(f"DROP TABLE {names}")
    return inserted


@dataclass
class Returning:
    """A MERGE's RETURNING for its moved INSERT rows (planner/merge_staged.moved_returning):
    their rows, in the client's result formats, kept in `rows` for the statement's answer
    (executor/multi.scatter's `hold_rows`) after the rows the nodes' MERGEs returned."""

    alias: str  # the MERGE's name for the target (its alias, else the table's name)
    targets: str
    simple: bool
    result_formats: list[int]
    rows: list[bytes]

    async def run(self, conn: BackendConnection, sql: str) -> str:
        """Run the node's INSERT ... RETURNING, keep its rows; its tag."""
        from gridpg.executor import relay
        from gridpg.executor.multi import _collect

        await conn.settle()
        if self.simple:
            relay.start_simple(conn, sql)
        else:
            relay.start_extended(conn, sql, [], [], [], self.result_formats, 0)
        tag, _ = await _collect(conn, self.simple, _Kept(self.rows))
        await conn.settle()
        return tag


class _Kept:
    """A row sink keeping the DataRows (the description is the MERGE's, sent already)."""

    def __init__(self, rows: list[bytes]) -> None:
        self.rows = rows

    def emit_description(self, raw: bytes) -> None:
        pass

    def emit_row(self, raw: bytes) -> None:
        self.rows.append(raw)


async def _ensure_nothing_to_move(dispatcher: Dispatcher, target: DistTable, boxes: list[Outbox]) -> None:
    txn = dispatcher.runner.txn
    for group in target.groups:
        conn = await txn.connection(group, wants_block=True)
        found = await conn.query(" UNION ALL ".join(f"(SELECT 1 FROM {box.outbox} LIMIT 1)" for box in boxes))
        if found:
            raise PgError(FEATURE_NOT_SUPPORTED, "MERGE ... INSERT ... RETURNING of a row whose distribution "
                          "column value belongs on another node than the row it is decided on is not supported "
                          "by gridpg", hint="leave out RETURNING, or insert the ON condition's key value")
