"""How a COPY's text or CSV records are written, read from the client's options, for the
coordinator's own reading of them: where a record ends (a CSV quoted field may hold
newlines) and which text its distribution column holds. The datanodes read the records
with the same options (the statement is sent on), so what is read here only routes them;
a row routed wrongly is refused by the node's own shards, never stored.

PostgreSQL's CSV rules: QUOTE (default `"`) opens and closes a quoted field; inside one,
ESCAPE (default: the quote character, i.e. a doubled quote) before a quote or itself
makes it a data character; an unquoted field equal to the NULL string (default: empty in
CSV, `\\N` in text) is NULL, unless FORCE_NOT_NULL names its column (it is then the
NULL string's text); a quoted one is text, unless FORCE_NULL names its column. Pure.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CopyFormat:
    fmt: str  # text, csv or binary
    delimiter: bytes
    null: bytes
    quote: bytes = b'"'
    escape: bytes = b'"'
    force_not_null: frozenset[int] = frozenset()  # positions in the COPY's column list
    force_null: frozenset[int] = frozenset()

    @classmethod
    def of(cls, fmt: str, options: dict[str, Any], columns: list[str] | None = None) -> CopyFormat:
        """The format of a COPY's `options` (`_copy_options`); `columns`: the COPY's column
        list, which FORCE_NOT_NULL / FORCE_NULL name columns of."""
        csv_format = fmt == "csv"
        delimiter = str(options.get("delimiter") or ("," if csv_format else "\t"))
        null = options.get("null")
        quote = str(options.get("quote") or '"')
        return cls(fmt, delimiter.encode(), (str(null) if null is not None else ("" if csv_format else "\\N")).encode(),
                   quote.encode(), str(options.get("escape") or quote).encode(),
                   _forced(options, "force_not_null", columns), _forced(options, "force_null", columns))

    @classmethod
    def plain(cls, fmt: str, delimiter: str) -> CopyFormat:
        return cls.of(fmt, {"delimiter": delimiter})

    def open_after(self, line: bytes, inside: bool) -> bool:
        """Whether a quoted field is open at the end of CSV `line`, given whether one was
        open at its start."""
        if self.escape == self.quote:  # a doubled quote toggles twice
            return inside ^ bool(line.count(self.quote) % 2)
        quote, escape = self.quote[0], self.escape[0]
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if inside and c == escape and i + 1 < n and line[i + 1] in (quote, escape):
                i += 2
                continue
            if c == quote:
                inside = not inside
            i += 1
        return inside

    def csv_value(self, record: bytes, position: int) -> str | None:
        """The text of field `position` of one CSV record (None: NULL, or no such field)."""
        if self.escape == self.quote:
            reader = csv.reader([record.decode()], delimiter=self.delimiter.decode(), quotechar=self.quote.decode())
        else:
            reader = csv.reader([record.decode()], delimiter=self.delimiter.decode(), quotechar=self.quote.decode(),
                                doublequote=False, escapechar=self.escape.decode())
        fields = next(reader)
        if position >= len(fields):
            return None
        value = fields[position]
        if value != self.null.decode():
            return value  # (an unquoted empty field under another NULL string: the empty text)
        if self._quoted(record, position):  # (`""`: the text, unless FORCE_NULL)
            return None if position in self.force_null else value
        return value if position in self.force_not_null else None

    def _quoted(self, record: bytes, position: int) -> bool:
        """Whether field `position` of a CSV record holds a quote: PostgreSQL reads such a
        field as text even when it spells the NULL string."""
        quote, escape, delimiter = self.quote[0], self.escape[0], self.delimiter[0]
        field, inside, saw = 0, False, False
        i, n = 0, len(record)
        while i < n:
            c = record[i]
            if inside:
                if c == escape and i + 1 < n and record[i + 1] in (quote, escape) and (escape != quote or
                                                                                     record[i + 1] == quote):
                    i += 2
                    continue
                if c == quote:
                    inside = False
            elif c == quote:
                inside = saw = True
            elif c == delimiter:
                if field == position:
                    return saw
                field, saw = field + 1, False
            i += 1
        return saw if field == position else False


def _forced(options: dict[str, Any], name: str, columns: list[str] | None) -> frozenset[int]:
    """Positions of the columns a FORCE_NOT_NULL / FORCE_NULL option names; `*` (which
    `_copy_options` reads as None) names every column."""
    if name not in options or columns is None:
        return frozenset()
    named = options[name]
    if named is None or named is True:
        return frozenset(range(len(columns)))
    named = [named] if isinstance(named, str) else named
    return frozenset(i for i, column in enumerate(columns) if column in named)
