"""A query text written for `standard_conforming_strings = off`, in the form gridpg reads.

With the setting off, PostgreSQL's scanner reads every plain string constant `'...'` as
an escape string (`E'...'`): `'it\\'s'` is one constant, `'a\\tb'` holds a tab. gridpg's
parser (pglast, PostgreSQL's grammar with the setting on) would read them otherwise: a
syntax error, or a different statement than the one the datanodes run. So while a session
has the setting off, its query texts are rewritten first: each plain constant whose text
holds a backslash gets the `E` prefix, which means the same under either setting (the
datanodes still run with the session's setting). Nothing else changes: comments,
dollar-quoted bodies, quoted identifiers and `E''`, `B''`, `X''`, `U&''` constants are
copied as they are; a constant continued on the next line (`'a' <newline> 'b'`) is one
constant, prefixed as a whole.
"""

from __future__ import annotations

import re

from gridpg.sql.parse import comment_end

_OFF = frozenset(("off", "false", "no", "0", "of", "f", "n"))
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_CONTINUATION = re.compile(r"[ \t\f\r]*\n(?:[ \t\f\r\n]|--[^\n]*\n)*'")


def is_off(value: str | None) -> bool:
    """Whether a setting's value (as SET or a startup packet gives it) means off."""
    return value is not None and value.strip().lower() in _OFF


def _ident_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$" or ord(ch) >= 0x80


def standard_strings(sql: str) -> str:
    """`sql` as PostgreSQL reads it with standard_conforming_strings off, written so that it
    reads the same with the setting on (module docstring). Text without a backslash is
    returned as it is."""
    if "\\" not in sql:
        return sql
    out: list[str] = []
    i, n, copied = 0, len(sql), 0
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and sql.startswith("/*", i):
            i = comment_end(sql, i)
        elif ch == '"':
            i = _quoted_end(sql, i + 1, '"', escapes=False)
        elif ch == "$" and (i == 0 or not _ident_char(sql[i - 1])):
            match = _DOLLAR_TAG.match(sql, i)
            if match is None:
                i += 1
                continue
            end = sql.find(match.group(0), match.end())
            i = n if end < 0 else end + len(match.group(0))
        elif ch == "'":
            prefix = sql[i - 1].lower() if i > 0 else ""
            before = sql[i - 2] if i > 1 else ""
            escaped = prefix == "e" and not _ident_char(before)
            typed = prefix in ("b", "x") and not _ident_char(before)  # no backslash escapes
            unicode = prefix == "&" and before.lower() == "u"
            start = i
            i = _constant_end(sql, i + 1, escapes=not typed and not unicode)
            if escaped or typed or unicode:
                continue
            if "\\" in sql[start:i]:
                out.append(sql[copied:start])
                out.append(" E" if start > 0 and _ident_char(sql[start - 1]) else "E")
                copied = start
        else:
            i += 1
    out.append(sql[copied:])
    return "".join(out)


def _constant_end(sql: str, i: int, escapes: bool) -> int:
    """The end of a string constant whose body starts at `i`, with its continuations."""
    while True:
        i = _quoted_end(sql, i, "'", escapes)
        match = _CONTINUATION.match(sql, i)
        if match is None:
            return i
        i = match.end()


def _quoted_end(sql: str, i: int, quote: str, escapes: bool) -> int:
    """The index after the closing `quote` of a body starting at `i` (doubled quotes and,
    with `escapes`, a backslash's next character are part of the body)."""
    n = len(sql)
    while i < n:
        ch = sql[i]
        if escapes and ch == "\\":
            i += 2
        elif ch == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n
