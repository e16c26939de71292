"""The client connection's own values: inet_client_addr(), inet_client_port(),
inet_server_addr() and inet_server_port() spliced into the statement text.

In PostgreSQL these read the session's socket: the client's address and port, and the
server's. In gridpg the client's socket ends at the coordinator, and the node that runs
the statement talks to the coordinator over a local socket, so it answered NULL (or the
coordinator's own address) where PostgreSQL gives the client's. The coordinator knows the
values, so `pin_connection_values` replaces each call in a query or DML statement by a
typed literal of them (`'10.0.0.7'::pg_catalog.inet`, NULL over a Unix socket, as
PostgreSQL), keeping PostgreSQL's output column name. DDL is never rewritten (a column
default, a view or a function body keeps its call). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

_MAY_MENTION = re.compile(r"inet_(client|server)_(addr|port)", re.IGNORECASE)

# Statements whose expressions are evaluated in this session (not stored for others; a
# PREPAREd statement runs in this session only, and the values never change in it).
_PINNED_KINDS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                           "DeclareCursorStmt", "CopyStmt", "CreateTableAsStmt", "PrepareStmt"})


@dataclass(frozen=True)
class ConnectionValues:
    """The client's connection as PostgreSQL would see it; None over a Unix socket."""

    client_addr: str | None = None
    client_port: int | None = None
    server_addr: str | None = None
    server_port: int | None = None

    def literal(self, function: str) -> str:
        if function.endswith("_addr"):
            value = self.client_addr if function == "inet_client_addr" else self.server_addr
            return "NULL::pg_catalog.inet" if value is None else f"{quote_literal(value)}::pg_catalog.inet"
        port = self.client_port if function == "inet_client_port" else self.server_port
        return "NULL::pg_catalog.int4" if port is None else f"{int(port)}::pg_catalog.int4"


def of_socket(peer: Any, local: Any) -> ConnectionValues:
    """The values of a socket's peername and sockname (a Unix socket's are strings)."""
    client = peer if isinstance(peer, tuple) and len(peer) >= 2 else None
    server = local if isinstance(local, tuple) and len(local) >= 2 else None
    return ConnectionValues(
        str(client[0]) if client else None, int(client[1]) if client else None,
        str(server[0]) if server else None, int(server[1]) if server else None)


def mentions(sql: str) -> bool:
    """A cheap test before parsing."""
    return _MAY_MENTION.search(sql) is not None


def pin_connection_values(sql: str, values: ConnectionValues) -> str:
    """`sql` with its inet_client_addr() (and the like) calls replaced by `values`; `sql`
    itself when it has none, is not a query or DML statement, or does not parse."""
    if not mentions(sql):
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    kind = sqlparse.node_type(tree)
    if kind not in _PINNED_KINDS or (kind == "CreateTableAsStmt"
                                     and tree[kind].get("objtype") == "OBJECT_MATVIEW"):
        return sql
    toks = sqlparse.tokens(sql)
    starts = {t.start: i for i, t in enumerate(toks)}
    edits = []
    for call, bare_target in _calls(tree, False):
        function = _function(call)
        first = starts.get(call.get("location", -1))
        if function is None or first is None:
            continue
        close = next((i for i in range(first, min(len(toks), first + 8)) if toks[i].name == "ASCII_41"), None)
        if close is None:
            continue
        text = f"({values.literal(function)})"
        if bare_target:
            text += f" AS {quote_ident(function)}"
        edits.append((toks[first].start, toks[close].end + 1, text))
    out, at = [], 0
    for start, end, text in sorted(edits):
        out += [sql[at:start], text]
        at = end
    return "".join(out) + sql[at:]


def _function(call: dict[str, Any]) -> str | None:
    """The function's name when the call is one of the four, unqualified or in pg_catalog."""
    names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
    if call.get("args") or call.get("agg_star") or call.get("over") or not names \
            or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
        return None
    return names[-1] if _MAY_MENTION.fullmatch(names[-1]) else None


def _calls(node: Any, bare_target: bool) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every FuncCall, and whether it is a select list item named after itself (no AS)."""
    if isinstance(node, list):
        for item in node:
            yield from _calls(item, False)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "RangeFunction" and isinstance(value, dict):
            # `FROM inet_client_addr()`: a function in FROM stays a call (its arguments not)
            for item in value.get("functions", []):
                parts = item.get("List", {}).get("items", []) if isinstance(item, dict) else item
                for part in parts if isinstance(parts, list) else [parts]:
                    yield from _calls(part["FuncCall"] if isinstance(part, dict) and "FuncCall" in part
                                      else part, False)
            for other, inner in value.items():
                if other != "functions":
                    yield from _calls(inner, False)
        elif key == "FuncCall":
            yield value, bare_target
            yield from _calls(value, False)
        elif key == "ResTarget" and isinstance(value, dict) and "name" not in value \
                and "indirection" not in value:
            yield from _calls(value.get("val"), True)
            for other, inner in value.items():
                if other != "val":
                    yield from _calls(inner, False)
        else:
            yield from _calls(value, False)
