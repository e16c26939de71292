"""The client's line numbers in what the datanodes say about a routed COPY FROM.

A datanode counts the lines of the COPY data it received: its share of the client's, so
its "line N" (an error's context `COPY t, line N, column c: ...`, the notice of a row that
`ON_ERROR ignore` skipped with `LOG_VERBOSITY verbose`) is not the client's line. While
routing, `CopyLines` notes the group each record went to (one byte per record: a HASH
table's vectorised blocks give their line groups at once) and the physical lines of the
rare CSV record with quoted newlines; when a node speaks of a line, it is mapped back: the
node's line N ends the k-th record it received, which is the client's record of that
ordinal in that group, ending at the client's line M (PostgreSQL counts physical lines,
but for the newlines inside a CSV stream's first record, and reports the line that ends
the record). The lines before the data (a HEADER line, which the coordinator takes off)
are counted in.

A REPLICATION table's nodes each get all the data: their lines are the client's, but for
the header (and, after a header, the newlines inside the first CSV record, which the nodes
do not count and the client's PostgreSQL would: not mapped).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_NOT_SENT = 255  # a record the coordinator itself skipped or stopped at
_CONTEXT_LINE = re.compile(r"^(COPY [^\n]*?, line )(\d+)")
_SKIPPED_ROW = re.compile(r"^(skipping row due to data type incompatibility at line )(\d+)( for column .*)$", re.S)


class CopyLines:
    """Records' groups in the client's order, and the mapping of a node's line to the client's."""

    def __init__(self, groups: list[str], lines_before: int, replicated: bool = False) -> None:
        self.names = sorted(set(groups))
        self._index = {name: i for i, name in enumerate(self.names)}
        self.lines_before = lines_before
        self.replicated = replicated
        self._blocks: list[np.ndarray] = []
        self._pending = bytearray()
        self._multi: dict[int, int] = {}  # record ordinal -> its physical lines, when more than 1
        self._count = 0
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def add_record(self, group: str | None, lines: int = 1) -> None:
        """One record routed to `group` (None: not sent), spanning `lines` physical lines."""
        self._maps.clear()
        if lines != 1:
            self._multi[self._count] = lines
        self._pending.append(_NOT_SENT if group is None else self._index[group])
        self._count += 1

    def add_block(self, line_groups: np.ndarray, names: list[str]) -> None:
        """A vectorised block: each line one record, `line_groups` indexes into `names`."""
        self._flush()
        self._maps.clear()
        lookup = np.array([self._index[n] for n in names], dtype=np.uint8)
        self._blocks.append(lookup[line_groups])
        self._count += len(line_groups)

    def client_line(self, group: str, node_line: int) -> int | None:
        """The client's line number of the node's line `node_line`; None when unknown."""
        if self.replicated:
            return node_line + self.lines_before
        index = self._index.get(group)
        if index is None or node_line < 1:
            return None
        node_ends, client_ends = self._map(index)
        at = int(np.searchsorted(node_ends, node_line))
        if at >= len(node_ends):
            return None
        return int(client_ends[at] - (node_ends[at] - node_line))

    def rewrite_context(self, group: str, fields: dict[str, str]) -> dict[str, str]:
        """An error's or notice's fields with the client's line in its COPY context."""
        return self._rewrite(group, fields, "W", _CONTEXT_LINE)

    def rewrite_skipped_row(self, group: str, fields: dict[str, str]) -> tuple[int, dict[str, str]] | None:
        """A node's "skipping row ... at line N" notice with the client's line, and that
        line; None for any other notice."""
        found = _SKIPPED_ROW.match(fields.get("M", ""))
        if not found:
            return None
        line = self.client_line(group, int(found.group(2)))
        if line is None:
            return int(found.group(2)), fields
        return line, self._rewrite(group, fields, "M", _SKIPPED_ROW)

    def _rewrite(self, group: str, fields: dict[str, str], key: str, pattern: re.Pattern[str]) -> dict[str, str]:
        text = fields.get(key)
        found = pattern.match(text or "")
        if text is None or not found:
            return fields
        line = self.client_line(group, int(found.group(2)))
        if line is None:
            return fields
        out = dict(fields)
        out[key] = found.group(1) + str(line) + text[found.end(2):]
        return out

    def _flush(self) -> None:
        if self._pending:
            self._blocks.append(np.frombuffer(bytes(self._pending), dtype=np.uint8))
            self._pending = bytearray()

    def _map(self, index: int) -> tuple[Any, Any]:
        """(end line on the node, end line on the client) of each record sent to group `index`."""
        self._flush()
        if index not in self._maps:
            groups = np.concatenate(self._blocks) if self._blocks else np.zeros(0, dtype=np.uint8)
            lines = np.ones(len(groups), dtype=np.int64)
            for ordinal, count in self._multi.items():
                lines[ordinal] = count
            mine = groups == index
            self._maps[index] = (_line_ends(lines[mine], 0), _line_ends(lines, self.lines_before)[mine])
        return self._maps[index]


def _line_ends(lines: Any, lines_before: int) -> Any:
    """The line PostgreSQL reports for each record of a stream that starts with
    `lines_before` lines and then records of `lines` physical lines: it counts a quoted
    newline only once it has seen the end of a line (its line-ending style is unknown
    before), so the newlines inside a stream's first line do not count."""
    ends = lines_before + np.cumsum(lines)
    if lines_before == 0 and len(lines):
        ends -= lines[0] - 1
    return ends
