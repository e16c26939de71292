"""COPY FROM STDIN leaving a column to a default that reads the transaction's time
(`created_at timestamptz DEFAULT now()`, `day date DEFAULT CURRENT_DATE`): the coordinator
evaluates the default once, at the COPY's instant, and appends that value to every record
(the node's COPY names the column last), as INSERT pins such a default.

Why: in PostgreSQL every row of one COPY has one now(), the transaction's start, in its
defaults and in the trigger functions it fires. Left to the datanodes, each evaluated the
default with its own transaction's start: two nodes' rows of one COPY differed, and inside
a block the rows' `created_at` differed from the block's now() and from a BEFORE ROW
trigger's `NEW.updated_at := now()`, which reads the instant the coordinator gives every
remote block (`gridpg.xact_now`, sql/trigger_relation.py). A COPY outside a block that
reaches one datanode only is left alone: its one node transaction is the COPY's, so the
node's defaults and triggers already read one start.

The bulk path stays bytes: text and CSV data without a carriage return, an end marker or
(CSV) a quote character get the value by one `bytes.replace` per chunk; only other chunks
(and binary data, whose tuples carry their field counts) are cut into records in Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from gridpg.sql import xact_time

if TYPE_CHECKING:
    from gridpg.executor.copy_format import CopyFormat
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.executor.dml import TableColumn


def timed_columns(columns: Sequence[TableColumn], given: list[str], user_volatile: frozenset[str]) -> list[TableColumn]:
    """The columns a COPY's column list leaves to a default reading the transaction's time
    and nothing that differs per row (a volatile call keeps the node's evaluation; a
    REPLICATION table refuses it: planner/replicas.py)."""
    from gridpg.planner.replicas import diverging_default

    return [c for c in columns if c.has_time_default and not c.generated and c.name not in given
            and not diverging_default(c.default or "", user_volatile)]


def should_fill(dispatcher: Dispatcher, groups: int) -> bool:
    """Whether the COPY's instant must be given explicitly: inside a block (the block's
    now() is not the node's start), or outside one when the rows reach two nodes or more
    (each node's start is its own). Not after a RESET ALL in the block, which took the
    instant from the nodes' trigger functions too (they read their own start then)."""
    txn = dispatcher.runner.txn
    return (txn.in_block and not txn.instant_reset) or (not txn.in_block and groups > 1)


async def values(dispatcher: Dispatcher, timed: list[TableColumn], form: CopyFormat) -> list[bytes]:
    """Each timed column's default at the COPY's instant, as the field the COPY's format
    spells it (text/CSV: escaped text; binary: the length word and the type's send form),
    evaluated on the catalog server in the column's own type (a `timestamp` column's
    `now()` is the session's local time there, as on PostgreSQL)."""
    txn = dispatcher.runner.txn
    await txn.read_block_instant(dispatcher.coord.catalog_node)
    pins = txn.time_pins()
    catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await catalog.settle()
    out = []
    for column in timed:
        expression = xact_time.pin_expression(column.default or "", pins) or column.default or ""
        types = await catalog.query(
            f"SELECT pg_catalog.format_type({int(column.type_oid)}, {int(column.typmod)}), "
            f"t.typsend::pg_catalog.regproc::pg_catalog.text FROM pg_catalog.pg_type t WHERE t.oid = {int(column.type_oid)}")
        type_name, send = types[0][0], types[0][1]
        typed = f"CAST(({expression}) AS {type_name})"
        if form.fmt == "binary":
            rows = await catalog.query(f"SELECT pg_catalog.encode({send}({typed}), 'hex')")
            raw = rows[0][0]
            out.append(b"\xff\xff\xff\xff" if raw is None else
                       len(bytes.fromhex(raw)).to_bytes(4, "big") + bytes.fromhex(raw))
        else:
            rows = await catalog.query(f"SELECT ({typed})::pg_catalog.text")
            out.append(_field(rows[0][0], form))
    return out


def _field(text: str | None, form: CopyFormat) -> bytes:
    if text is None:
        return form.null
    data = text.encode()
    if form.fmt != "csv":
        for raw, escaped in ((b"\\", b"\\\\"), (b"\n", b"\\n"), (b"\r", b"\\r"), (form.delimiter, b"\\" + form.delimiter)):
            data = data.replace(raw, escaped)
        return data
    special = (form.delimiter, form.quote, b"\n", b"\r")
    if data and data != form.null and not any(s in data for s in special):
        return data
    if form.escape != form.quote:
        data = data.replace(form.escape, form.escape + form.escape)
    return form.quote + data.replace(form.quote, form.escape + form.quote) + form.quote


async def filled(source: AsyncIterator[bytes], fields: list[bytes], form: CopyFormat,
                 dispatcher: Dispatcher) -> AsyncIterator[bytes]:
    """The COPY data with `fields` appended to every record."""
    from gridpg.executor import copyfill

    if form.fmt == "binary":
        split = copyfill.BinaryRecords([])
        extra = b"".join(fields)
        async for chunk in source:
            yield _binary(split.feed(chunk), split.header, len(fields), extra)
        yield split.trailer()
        return
    suffix = b"".join(form.delimiter + f for f in fields)
    records = copyfill.TextRecords(form)
    slow = (b"\r", b"\\.") + ((form.quote,) if form.fmt == "csv" else ())
    async for chunk in source:
        data = records.pending + chunk
        cut = data.rfind(b"\n")
        whole = data[: cut + 1]
        if cut >= 0 and not records.ended and not any(s in whole for s in slow):
            records.pending = data[cut + 1:]
            if whole:
                yield whole.replace(b"\n", suffix + b"\n")
            continue
        records.pending = b""
        out = _render(records.feed(data), suffix)
        if out:
            yield out
    out = _render(records.rest(), suffix)
    if out:
        yield out


def _render(records: list[bytes], suffix: bytes) -> bytes:
    return b"".join(record.rstrip(b"\r") + suffix + b"\n" for record in records)


def _binary(records: list[bytes], header: bytes | None, added: int, extra: bytes) -> bytes:
    out = []
    for record in records:
        if record is header:
            out.append(record)
            continue
        count = int.from_bytes(record[:2], "big") + added
        out.append(count.to_bytes(2, "big") + record[2:] + extra)
    return b"".join(out)
