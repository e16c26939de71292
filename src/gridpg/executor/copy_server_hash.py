"""COPY values gridpg cannot read, hashed by PostgreSQL itself (the catalog server).

`planner/hashing.py` reads the text forms routing needs in Python, but not every form
PostgreSQL's input functions take under the session's settings: a timestamptz without an
offset (the session's TimeZone decides it), zone names and POSIX zones (`... GMT+3`),
DateStyle-dependent dates, 'now', ... `CopyRouter` sent such a record to the first node,
which refused it whenever its hash partition was elsewhere ("no partition of relation
found for row": a COPY of plain `2020-01-13 10:00:00` values into a HASH(timestamptz)
table failed). Before a block of records is routed, `ServerHashes.resolve` collects the
distinct values of the distribution column gridpg cannot read and asks the catalog server,
under the session's settings, for the type's extended hash with the partition seed (the
default hash operator class's support function 2, as the datanodes' partition key uses):
the remainder follows as in `hashing.partition_hash`. A value the type does not accept
(`pg_input_is_valid`) stays unresolved and goes to the first node, which refuses it with
PostgreSQL's own error, as before.

Must not: route records (the caller does), or query anything but the catalog server.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TYPE_CHECKING

from gridpg.catalog.model import DistTable
from gridpg.planner.hashing import HASH_COMBINE64_CONSTANT, HASH_PARTITION_SEED, canonical_type_name
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.copy_format import CopyFormat
    from gridpg.executor.dispatch import Dispatcher

_M64 = 0xFFFFFFFFFFFFFFFF
# Types whose every text form the coordinator reads (or routes by vectorised code).
_ALWAYS_READ = frozenset({"int2", "int4", "int8", "oid", "text", "varchar", "bpchar", "name", "char"})
_BATCH = 2000
_KEPT = 200_000  # values whose group is kept (the coordinator's own or the server's)

# The column's type as the datanodes' partition key casts it (typmod included) and its
# default hash operator class's extended hash function (support function 2).
_HASH_FUNCTION_SQL = """
SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), p.amproc::regproc::text
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_opclass c ON c.opcdefault
  AND c.opcmethod = (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'hash')
  AND c.opcintype = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
JOIN pg_catalog.pg_amproc p ON p.amprocfamily = c.opcfamily AND p.amprocnum = 2
  AND p.amproclefttype = c.opcintype AND p.amprocrighttype = c.opcintype
WHERE a.attrelid = pg_catalog.to_regclass({table}) AND a.attname = {column}"""


def wanted(table: DistTable, fmt: str, position: int) -> bool:
    """Whether a COPY into `table` may carry values only the server can hash."""
    return (table.method == "hash" and position >= 0 and fmt in ("text", "csv")
            and canonical_type_name(table.column_type or "") not in _ALWAYS_READ)


class ServerHashes:
    """Groups of the distribution values gridpg cannot read, asked of the catalog server."""

    def __init__(self, table: DistTable, form: CopyFormat, position: int) -> None:
        self.table, self.form, self.position = table, form, position
        self.fmt, self.delimiter = form.fmt, form.delimiter
        self.groups: dict[str, str] = {}  # value text -> group
        self.tried: set[str] = set()  # placed or asked already
        self.function: tuple[str, str] | None = None  # (formatted type, hash function)
        self.looked_up = False

    def group(self, text: str | None) -> str | None:
        return None if text is None else self.groups.get(text)

    async def resolve(self, dispatcher: Dispatcher, lines: list[bytes], unescape: Callable[[bytes], str],
                      group_of: Callable[[str], str | None]) -> None:
        """Ask the server for the values of these complete lines that `group_of` (the
        coordinator's own reading) cannot place. The groups of earlier blocks are kept up
        to _KEPT values (the caller routes a block's lines before it asks about the next:
        dropping them between blocks is safe)."""
        if len(self.tried) > _KEPT:
            self.groups.clear()
            self.tried.clear()
        unknown: list[str] = []
        seen: set[str] = set()
        for line in lines:
            text = self._value(line, unescape)
            if text is None or text in seen or text in self.tried:
                continue
            seen.add(text)
            group = group_of(text)
            if group is None:
                unknown.append(text)
            else:  # (routing asks `group` first: hashed once)
                self.groups[text] = group
                self.tried.add(text)
        if not unknown:
            return
        self.tried.update(unknown)
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        if not self.looked_up:
            self.looked_up = True
            rows = await conn.query(_HASH_FUNCTION_SQL.format(
                table=quote_literal(quote_qualified(self.table.schema, self.table.name)),
                column=quote_literal(self.table.column or "")))
            if rows and rows[0][0] and rows[0][1]:
                self.function = (str(rows[0][0]), str(rows[0][1]))
        if self.function is None:
            return
        for start in range(0, len(unknown), _BATCH):
            await self._ask(conn, dispatcher, unknown[start:start + _BATCH])

    async def _ask(self, conn: BackendConnection, dispatcher: Dispatcher, values: list[str]) -> None:
        assert self.function is not None
        formatted, function = self.function
        array = "ARRAY[" + ", ".join(quote_literal(v) for v in values) + "]::pg_catalog.text[]"
        seed = HASH_PARTITION_SEED - (1 << 64) if HASH_PARTITION_SEED >= 1 << 63 else HASH_PARTITION_SEED
        rows = await conn.query(
            f"SELECT CASE WHEN pg_catalog.pg_input_is_valid(v, {quote_literal(formatted)}) "
            f"THEN {function}(v::{formatted}, {seed}) END FROM pg_catalog.unnest({array}) "
            "WITH ORDINALITY AS u(v, n) ORDER BY n")
        snapshot = dispatcher.runner.snapshot()
        count = self.table.shard_count or 1
        for text, (hashed,) in zip(values, rows, strict=True):
            if hashed is None:
                continue
            remainder = (((int(hashed) & _M64) + HASH_COMBINE64_CONSTANT) & _M64) % count
            try:
                self.groups[text] = snapshot.shard_group(self.table.schema, self.table.name, remainder)
            except Exception:  # noqa: BLE001 - metadata of a table created in this transaction
                return

    def _value(self, line: bytes, unescape: Callable[[bytes], str]) -> str | None:
        """The distribution column's text in one line (None for NULL or none there); a
        CSV record over several lines is read line by line here (a wrong guess is only a
        value asked about for nothing)."""
        if self.fmt == "csv":
            try:
                return self.form.csv_value(line, self.position)
            except (csv.Error, UnicodeDecodeError, StopIteration):
                return None
        fields_b = line.split(self.delimiter)
        raw = fields_b[self.position] if self.position < len(fields_b) else self.form.null
        return None if raw == self.form.null else unescape(raw)
