"""How a COPY's text or CSV records are written, read from the client's options, for the
coordinator's own reading of them: where a record ends (a CSV quoted field may hold
newlines) and which text its distribution column holds. The datanodes read the records
with the same options (the statement is sent on), so what is read here only routes them;
a row routed wrongly is refused by the node's own shards, never stored.

PostgreSQL's CSV rules: QUOTE (default `"`) opens and closes a quoted field; inside one,
ESCAPE (default: the quote character, i.e. a doubled quote) before a quote or itself
makes it a data character; an unquoted field equal to the NULL string (default: empty in
CSV, `\\N` in text) is NULL. Pure.
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

    @classmethod
    def of(cls, fmt: str, options: dict[str, Any]) -> CopyFormat:
        csv_format = fmt == "csv"
        delimiter = str(options.get("delimiter") or ("," if csv_format else "\t"))
        null = options.get("null")
        quote = str(options.get("quote") or '"')
        return cls(fmt, delimiter.encode(), (str(null) if null is not None else ("" if csv_format else "\\N")).encode(),
                   quote.encode(), str(options.get("escape") or quote).encode())

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
        if value in ("", self.null.decode()) and not self._quoted(record, position):
            return None  # (a quoted one, `""`, is the text)
        return value

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
