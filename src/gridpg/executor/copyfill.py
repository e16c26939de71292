"""COPY FROM STDIN into a distributed table whose column list leaves out serial or
identity columns: their values come from the GTM's sequences, appended to each record
before routing, as INSERT fills them.

Left to the datanodes, each node's own copy of the sequence would number its rows (values
repeated across nodes: two rows with id 3), and a distribution column filled there would
be routed before it had a value ("no partition of relation found for row").

The client's bytes are cut into whole records (text: lines; csv: lines joined while a
quoted field is open, the router's rule; binary: tuples), each record gets the values of
the missing columns (text/csv: delimiter + the number; binary: the field in its integer
type's width) and the node's COPY statement names those columns last. `TextRecords` and
`BinaryRecords` also cut the data for executor/copy_instant.py, which appends one instant
to every record the same way.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridpg.executor.copy_format import CopyFormat
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.executor.dml import TableColumn

_WIDTHS = {21: 2, 23: 4, 20: 8}  # int2, int4, int8: serial and identity column types
NextValues = Callable[[str, int], Any]  # (sequence, count) -> awaitable list of int


def missing_sequence_columns(columns: Sequence[TableColumn], listed: list[str] | None) -> list[TableColumn]:
    """Serial/identity columns a COPY column list leaves out (none without a list)."""
    if not listed:
        return []
    return [c for c in columns if c.sequence and c.name not in listed]


def client_error(fields: dict[str, str], cols: list[str], appended: int, delimiter: bytes,
                 constants: Sequence[bytes] = ()) -> dict[str, str]:
    """A node's error about a record the coordinator lengthened, as the client's record
    would have it: `cols` are the node's COPY columns, the client's first and the
    `appended` filled ones last. A client record short of fields had the filled values
    shift into its missing columns, so the node names a column `appended` places too far
    ("missing data for column "id"" where PostgreSQL says "b"), and the record the context
    quotes ends with the values the client never sent (`constants`: the time defaults'
    fields, appended last: executor/copy_instant.py)."""
    out = dict(fields)
    missing = _MISSING.fullmatch(out.get("M", ""))
    if missing and missing.group(1) in cols:
        at = cols.index(missing.group(1)) - appended
        if at >= 0:
            out["M"] = f'missing data for column "{cols[at]}"'
    context = _WHOLE_RECORD.match(out.get("W", ""))
    if context:
        record = context.group(2)
        suffix = "".join(delimiter.decode() + field.decode(errors="replace") for field in constants)
        if suffix and record.endswith(suffix):
            record = record[: -len(suffix)]
        tail = re.escape(delimiter.decode()) + r"-?\d+"
        record = re.sub(f"(?:{tail}){{{appended - len(constants)}}}$", "", record)
        out["W"] = context.group(1) + record + out["W"][context.end(2):]
    return out


_MISSING = re.compile(r'missing data for column "(.*)"', re.DOTALL)
_WHOLE_RECORD = re.compile(r'^(COPY [^\n]*?, line \d+: ")(.*)(")', re.DOTALL)


async def filled(source: AsyncIterator[bytes], fill: list[TableColumn], form: CopyFormat,
                 dispatcher: Dispatcher) -> AsyncIterator[bytes]:
    """The client's COPY data with the missing columns' values appended to every record."""
    from gridpg.commands.sequences import next_values

    async def values(count: int) -> list[list[int]]:
        return [await next_values(dispatcher, c.sequence or "", count) for c in fill] if count else []

    delimiter = form.delimiter
    split: TextRecords | BinaryRecords = BinaryRecords(fill) if form.fmt == "binary" else TextRecords(form)
    async for chunk in source:
        records = split.feed(chunk)
        yield split.render(records, await values(split.count(records)), delimiter)
    records = split.rest()
    if records:
        yield split.render(records, await values(split.count(records)), delimiter)
    tail = split.trailer()
    if tail:
        yield tail


class TextRecords:
    """Whole records of text or csv COPY data (the end marker `\\.` ends the data)."""

    def __init__(self, form: CopyFormat) -> None:
        self.form = form
        self.csv = form.fmt == "csv"
        self.pending = b""
        self.ended = False

    def feed(self, chunk: bytes) -> list[bytes]:
        if self.ended:
            return []
        data = self.pending + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending = data
            return []
        self.pending = data[cut + 1:]
        return self._records(data[:cut].split(b"\n"))

    def _records(self, lines: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        record: list[bytes] = []
        inside = False
        for line in lines:
            if line == b"\\." and not record and not self.csv:  # (CSV: data since PostgreSQL 18)
                self.ended = True
                break
            record.append(line)
            inside = self.csv and self.form.open_after(line, inside)
            if inside:
                continue
            out.append(b"\n".join(record))
            record = []
        if record:  # a quoted field goes on in the next chunk
            self.pending = b"\n".join(record) + b"\n" + self.pending
        return out

    @staticmethod
    def count(records: list[bytes]) -> int:
        return len(records)

    def rest(self) -> list[bytes]:
        rest, self.pending = self.pending, b""
        return self._records([rest]) if rest.strip(b"\r\n") and not self.ended else []

    @staticmethod
    def render(records: list[bytes], values: list[list[int]], delimiter: bytes) -> bytes:
        out = []
        for index, record in enumerate(records):
            extra = b"".join(delimiter + str(column[index]).encode() for column in values)
            out.append(record.rstrip(b"\r") + extra + b"\n")
        return b"".join(out)

    @staticmethod
    def trailer() -> bytes:
        return b""


class BinaryRecords:
    """Whole tuples of binary COPY data; the header passes first, the trailer last."""

    def __init__(self, fill: list[TableColumn]) -> None:
        self.widths = [_WIDTHS.get(c.type_oid, 8) for c in fill]
        self.pending = b""
        self.header: bytes | None = None
        self.ended = False

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self.pending + chunk
        pos = 0
        out: list[bytes] = []
        if self.header is None:
            if len(data) < 19:
                self.pending = data
                return []
            pos = 19 + int.from_bytes(data[15:19], "big")
            self.header = data[:pos]
            out.append(self.header)  # passed on as it is (render knows it by identity)
        while pos + 2 <= len(data) and not self.ended:
            count = int.from_bytes(data[pos:pos + 2], "big", signed=True)
            if count == -1:
                self.ended = True
                pos += 2
                break
            end = _tuple_end(data, pos, count)
            if end is None:
                break
            out.append(data[pos:end])
            pos = end
        self.pending = data[pos:] if not self.ended else b""
        return out

    def render(self, records: list[bytes], values: list[list[int]], delimiter: bytes) -> bytes:
        out = []
        index = 0
        for record in records:
            if record is self.header:
                out.append(record)
                continue
            count = int.from_bytes(record[:2], "big") + len(self.widths)
            extra = b"".join(w.to_bytes(4, "big") + column[index].to_bytes(w, "big", signed=True)
                             for w, column in zip(self.widths, values, strict=True))
            out.append(count.to_bytes(2, "big") + record[2:] + extra)
            index += 1
        return b"".join(out)

    def count(self, records: list[bytes]) -> int:
        return sum(1 for record in records if record is not self.header)

    def rest(self) -> list[bytes]:
        return []

    def trailer(self) -> bytes:
        return b"\xff\xff" if self.ended else b""


def _tuple_end(data: bytes, pos: int, count: int) -> int | None:
    """Offset after the tuple starting at `pos`, None while it is incomplete."""
    p = pos + 2
    for _ in range(count):
        if p + 4 > len(data):
            return None
        size = int.from_bytes(data[p:p + 4], "big", signed=True)
        p += 4 + max(size, 0)
        if p > len(data):
            return None
    return p
