"""PostgreSQL's NOTICE for identifiers longer than NAMEDATALEN - 1 bytes. Pure.

PostgreSQL's scanner truncates every identifier to 63 bytes and says so with a NOTICE
(42622, `identifier "..." will be truncated to "..."`) while it reads the client's text,
once per occurrence, before the statement runs. gridpg sends statements on to its servers
in pieces, rewritten, or not at all (a routed SELECT, a DDL the catalog server speaks for),
so the servers' own notices came for some statements and not for others. The coordinator
now says it for the client's text itself (`notices`), and drops the servers' notices of
the same names (`is_duplicate`) so that each is said as often as PostgreSQL says it.
"""

from __future__ import annotations

import re

from gridpg.errors import PgError, notice
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse

NAMEDATALEN = 64
NAME_TOO_LONG = "42622"
# a run that may hold a 64-byte identifier (16 characters of at most 4 bytes each)
_MAYBE_LONG = re.compile(r'[\w$]{16,}|"[^"]{16,}"')
_MESSAGE = re.compile(r'^identifier ".*" will be truncated to ".*"$', re.DOTALL)


def may_truncate(sql: str) -> bool:
    """Whether `sql` may hold an identifier of 64 bytes or more (cheap: the hot path asks)."""
    return any(len(m.group().encode()) >= NAMEDATALEN for m in _MAYBE_LONG.finditer(sql))


def notices(sql: str) -> list[str]:
    """The truncation messages PostgreSQL's scanner gives for `sql`, in text order."""
    if not may_truncate(sql):
        return []
    try:
        tokens = sqlparse.tokens(sql)
    except PgError:
        return []
    out = []
    for token in tokens:
        if token.name != "IDENT":
            continue
        piece = sql[token.start:token.end + 1]
        if piece.startswith('"'):
            ident = piece[1:-1].replace('""', '"')
        else:  # downcase_identifier: ASCII letters only, in a multibyte encoding
            ident = piece.translate(_ASCII_LOWER)
        raw = ident.encode()
        if len(raw) < NAMEDATALEN:
            continue
        cut = raw[:NAMEDATALEN - 1].decode("utf-8", "ignore")  # pg_mbcliplen: whole characters
        out.append(f'identifier "{ident}" will be truncated to "{cut}"')
    return out


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def notice_messages(messages: list[str]) -> list[bytes]:
    return [notice(m, sqlstate=NAME_TOO_LONG) for m in messages]


def is_duplicate(data: bytes, said: set[str]) -> bool:
    """A server's NoticeResponse `data` repeating a truncation notice the coordinator gave."""
    try:
        fields = codec.parse_error_fields(data[5:])
    except Exception:  # noqa: BLE001 - not a notice we can read: let it through
        return False
    message = fields.get("M", "")
    return fields.get("C") == NAME_TOO_LONG and message in said and bool(_MESSAGE.match(message))
