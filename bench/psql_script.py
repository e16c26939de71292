"""Reading a psql script the way psql does: statements, meta-commands, inline COPY data.

Owns the lexing of PostgreSQL's regression files for bench/regress_replay.py: where a
statement ends (a top-level `;` outside quotes, comments, dollar quotes, parentheses and
`BEGIN ATOMIC ... END` bodies, as psql's lexer decides), which lines are backslash
meta-commands, the data lines of `COPY ... FROM stdin` up to `\\.`, and psql's variable
interpolation (`:name`, `:'name'`, `:"name"`). Pure code: no I/O, no database.
It does not run anything and does not understand the meta-commands; the runner does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

COPY_FROM_STDIN = re.compile(r"^\s*copy\b.*\bfrom\s+(stdin|pstdin)\b", re.IGNORECASE | re.DOTALL)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_ROUTINE = re.compile(r"^\s*create\s+(or\s+replace\s+)?(function|procedure)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    """An SQL statement as psql would send it; `meta` is the meta-command ending it (\\g...)."""

    sql: str
    line: int
    meta: str = ""
    copy_data: str | None = None


@dataclass(frozen=True)
class Meta:
    """A backslash meta-command line (without the backslash), e.g. `set x 1`."""

    command: str
    line: int


def read_script(text: str) -> Iterator[Statement | Meta]:
    """The statements and meta-commands of a psql script, in order."""
    lines = text.splitlines()
    buf: list[str] = []
    start = 0
    i = 0
    while i < len(lines):
        # psql's `\;` joins statements into one query string; here they run one by one
        line = lines[i].replace("\\;", ";")
        i += 1
        if not buf and not line.strip():
            continue
        sql_part, meta = _split_meta("\n".join(buf), line)
        if sql_part.strip() or buf:
            if not buf:
                start = i
            buf.append(sql_part)
            for st, next_line in _complete_statements(buf, lines, i, start):
                i = next_line
                yield st
        if meta is None:
            continue
        if buf and meta.split()[:1] and meta.split()[0] in _ENDS_QUERY:
            yield Statement(psql_text("\n".join(buf)), start, meta)
            buf.clear()
        else:
            yield Meta(meta, i)
    if buf and strip_comments("\n".join(buf)).strip():
        yield Statement(psql_text("\n".join(buf)), start)


def psql_text(sql: str) -> str:
    """What psql sends: leading white space and `--` comments dropped (its lexer does not
    collect them before the first token); block comments and everything later are kept."""
    return re.sub(r"^(\s*--[^\n]*(\n|$))+", "", sql).strip()


def _complete_statements(buf: list[str], lines: list[str], i: int, start: int) -> Iterator[tuple[Statement, int]]:
    """The statements `buf` completes (removed from it), each with the next line index."""
    while buf:
        text_so_far = "\n".join(buf)
        end = statement_end(text_so_far)
        if end is None:
            return
        sql, rest = text_so_far[: end + 1].strip(), text_so_far[end + 1 :]
        data = None
        if COPY_FROM_STDIN.match(strip_comments(sql)):
            data, i = _copy_data(lines, i)
        buf[:] = [rest] if strip_comments(rest).strip() else []
        if strip_comments(sql).strip(" ;\n\t"):
            yield Statement(psql_text(sql), start, "", data), i


def _split_meta(buffered: str, line: str) -> tuple[str, str | None]:
    """(SQL text of `line`, the meta-command after its first top-level backslash or None)."""
    pos = line.find("\\")
    while pos >= 0:
        state = _scan(buffered + "\n" + line[:pos])[1]
        if state is None:
            return line[:pos], line[pos + 1 :].strip()
        pos = line.find("\\", pos + 1)
    return line, None


_ENDS_QUERY = {"g", "gx", "gset", "gexec", "gdesc", "crosstabview", "bind", "bind_named"}


def _copy_data(lines: list[str], i: int) -> tuple[str, int]:
    """The inline data after `COPY ... FROM stdin;` up to the `\\.` line."""
    out = []
    while i < len(lines):
        if lines[i].rstrip() == "\\.":
            return "".join(x + "\n" for x in out), i + 1
        out.append(lines[i])
        i += 1
    return "".join(x + "\n" for x in out), i



def statement_end(text: str) -> int | None:
    """Index of the `;` that ends the first statement of `text`, or None if it goes on."""
    return _scan(text)[0]


def _scan(text: str) -> tuple[int | None, str | None]:
    """(index of the ending `;` or None, the open construct at the end or None)."""
    i, n, depth, begin_depth = 0, len(text), 0, 0
    routine = bool(_ROUTINE.match(strip_comments(text)))
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            if j < 0:
                return None, "line comment"
            i = j + 1
            continue
        if c == "/" and text.startswith("/*", i):
            j = _comment_end(text, i)
            if j < 0:
                return None, "comment"
            i = j
            continue
        if c == "'":
            escaped = i > 0 and text[i - 1] in "eE" and (i < 2 or not _is_ident_char(text[i - 2]))
            j = _quote_end(text, i, "'", escaped)
            if j < 0:
                return None, "quote"
            i = j
            continue
        if c == '"':
            j = _quote_end(text, i, '"', False)
            if j < 0:
                return None, "quote"
            i = j
            continue
        if c == "$" and (i == 0 or not _is_ident_char(text[i - 1])):
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])
            if m:
                j = text.find(m.group(0), i + len(m.group(0)))
                if j < 0:
                    return None, "dollar"
                i = j + len(m.group(0))
                continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0 and begin_depth == 0:
            return i, None
        elif routine and (c.isalpha() or c == "_") and (i == 0 or not _is_ident_char(text[i - 1])):
            word = _IDENT.match(text, i)
            assert word is not None
            upper = word.group(0).upper()
            if upper == "BEGIN" or (upper == "CASE" and begin_depth > 0):
                begin_depth += 1
            elif upper == "END" and begin_depth > 0:
                begin_depth -= 1
            i = word.end()
            continue
        i += 1
    return None, None


def _is_ident_char(c: str) -> bool:
    return c.isalnum() or c in "_$"


def _comment_end(text: str, i: int) -> int:
    """Index after the (nestable) block comment starting at i, or -1 if unterminated."""
    depth = 0
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return -1


def _quote_end(text: str, i: int, quote: str, backslash: bool) -> int:
    """Index after the quoted string starting at i, or -1 if unterminated."""
    i += 1
    while i < len(text):
        c = text[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if text.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return -1


def strip_comments(sql: str) -> str:
    """`sql` without `--` line comments and leading block comments (for classifying it)."""
    out = re.sub(r"^\s*--[^\n]*\n?", "", sql, flags=re.MULTILINE)
    while out.lstrip().startswith("/*"):
        j = _comment_end(out.lstrip(), 0)
        if j < 0:
            break
        out = out.lstrip()[j:]
    return out


def interpolate(sql: str, variables: dict[str, str]) -> str:
    """psql's variable interpolation outside quotes and comments: :v, :'v' and :"v"."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        skip = _skip_literal(sql, i)
        if skip > i:
            out.append(sql[i:skip])
            i = skip
            continue
        if sql[i] == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
            continue
        if sql[i] == ":":
            m = re.match(r":(['\"])([A-Za-z0-9_]+)\1|:([A-Za-z0-9_]+)", sql[i:])
            name = m and (m.group(2) or m.group(3))
            if m and name in variables:
                value = variables[name]
                if m.group(1) == "'":
                    value = "'" + value.replace("'", "''") + "'"
                elif m.group(1) == '"':
                    value = '"' + value.replace('"', '""') + '"'
                out.append(value)
                i += len(m.group(0))
                continue
        out.append(sql[i])
        i += 1
    return "".join(out)


def _skip_literal(sql: str, i: int) -> int:
    """Index after a quote, comment or dollar quote starting at i, else i."""
    c = sql[i]
    if c == "-" and sql.startswith("--", i):
        j = sql.find("\n", i)
        return len(sql) if j < 0 else j
    if c == "/" and sql.startswith("/*", i):
        j = _comment_end(sql, i)
        return len(sql) if j < 0 else j
    if c in "'\"":
        escaped = c == "'" and i > 0 and sql[i - 1] in "eE" and (i < 2 or not _is_ident_char(sql[i - 2]))
        j = _quote_end(sql, i, c, escaped)
        return len(sql) if j < 0 else j
    if c == "$" and (i == 0 or not _is_ident_char(sql[i - 1])):
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
        if m:
            j = sql.find(m.group(0), i + len(m.group(0)))
            return len(sql) if j < 0 else j + len(m.group(0))
    return i


def meta_args(rest: str, variables: dict[str, str]) -> list[str]:
    """The arguments of a meta-command, psql-style: quotes removed, variables expanded;
    adjacent pieces without white space between them form one argument."""
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i].isspace():
            i += 1
        if i >= n:
            break
        piece = []
        while i < n and not rest[i].isspace():
            if rest[i] == "'":
                j = _quote_end(rest, i, "'", True)
                j = n if j < 0 else j
                piece.append(rest[i + 1 : j - 1].replace("''", "'"))
                i = j
            elif rest[i] == ":":
                m = re.match(r":(['\"]?)([A-Za-z0-9_]+)\1", rest[i:])
                if m and m.group(2) in variables:
                    piece.append(variables[m.group(2)])
                    i += len(m.group(0))
                else:
                    piece.append(":")
                    i += 1
            else:
                piece.append(rest[i])
                i += 1
        args.append("".join(piece))
    return args
