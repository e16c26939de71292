"""The client connection's own values: inet_client_addr(), inet_client_port(),
inet_server_addr(), inet_server_port(), pg_backend_pid() and current_setting('port')
spliced into the statement text.

In PostgreSQL these read the session's socket and backend: the client's address and port,
the server's, the backend's pid (the one BackendKeyData gave the client) and the port the
server listens on. In gridpg the client's socket ends at the coordinator, and the node that
runs the statement talks to the coordinator over a local socket, so it answered NULL (or
the coordinator's own address) where PostgreSQL gives the client's; a node's
pg_backend_pid() is its pooled connection's (another one for the next transaction, and
each datanode its own), its `port` its own. The coordinator knows the values, so
`pin_connection_values` replaces each call in a query or DML statement by a typed literal
of them (`'10.0.0.7'::pg_catalog.inet`, NULL over a Unix socket, as PostgreSQL), keeping
PostgreSQL's output column name; a call in FROM (`SELECT * FROM inet_client_addr()`)
becomes a one-row function of the literal with the call's column name. DDL is never
rewritten (a column default, a view or a function body keeps its call). A session that
made no temp object has no temp schema in PostgreSQL: then `pg_my_temp_schema()` is 0 and
`current_schemas(true)` lists no `pg_temp_N`, whatever temp tables of gridpg's own the
pooled connection that answers holds. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

_MAY_MENTION = re.compile(r"inet_(client|server)_(addr|port)|pg_backend_pid|current_setting\s*\(\s*'port'"
                          r"|pg_my_temp_schema|current_schemas", re.IGNORECASE)
_FUNCTIONS = frozenset({"inet_client_addr", "inet_client_port", "inet_server_addr", "inet_server_port",
                        "pg_backend_pid"})

# Statements whose expressions are evaluated in this session (not stored for others; a
# PREPAREd statement runs in this session only, and the values never change in it).
_PINNED_KINDS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                           "DeclareCursorStmt", "CopyStmt", "CreateTableAsStmt", "PrepareStmt", "ExecuteStmt"})


@dataclass(frozen=True)
class ConnectionValues:
    """The client's connection as PostgreSQL would see it; None over a Unix socket."""

    client_addr: str | None = None
    client_port: int | None = None
    server_addr: str | None = None
    server_port: int | None = None
    backend_pid: int | None = None  # the session's, as BackendKeyData gave it
    port: int | None = None  # the coordinator's listening port (the `port` setting)
    # the session made temp objects (its own catalog connection, temp schema and all);
    # otherwise a pooled connection's temp schema (gridpg's scratch tables) is not its own
    own_temps: bool = True

    def literal(self, function: str) -> str:
        if function == "pg_my_temp_schema":
            return "0::pg_catalog.oid"
        if function == "pg_backend_pid":
            return "NULL::pg_catalog.int4" if self.backend_pid is None else f"{int(self.backend_pid)}::pg_catalog.int4"
        if function == "current_setting":
            return "NULL::pg_catalog.text" if self.port is None else f"{quote_literal(str(int(self.port)))}::pg_catalog.text"
        if function.endswith("_addr"):
            value = self.client_addr if function == "inet_client_addr" else self.server_addr
            return "NULL::pg_catalog.inet" if value is None else f"{quote_literal(value)}::pg_catalog.inet"
        port = self.client_port if function == "inet_client_port" else self.server_port
        return "NULL::pg_catalog.int4" if port is None else f"{int(port)}::pg_catalog.int4"


def of_socket(peer: Any, local: Any, backend_pid: int | None = None, port: int | None = None,
              own_temps: bool = True) -> ConnectionValues:
    """The values of a socket's peername and sockname (a Unix socket's are strings), the
    session's pid and the coordinator's port (default: the socket's)."""
    client = peer if isinstance(peer, tuple) and len(peer) >= 2 else None
    server = local if isinstance(local, tuple) and len(local) >= 2 else None
    return ConnectionValues(
        str(client[0]) if client else None, int(client[1]) if client else None,
        str(server[0]) if server else None, int(server[1]) if server else None,
        backend_pid, port if port is not None else (int(server[1]) if server else None), own_temps)


def mentions(sql: str) -> bool:
    """A cheap test before parsing."""
    return _MAY_MENTION.search(sql) is not None


def shows_port(sql: str) -> bool:
    """`SHOW port`: the coordinator answers its own port (the catalog server's is another)."""
    if "port" not in sql.lower():
        return False
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    return str((tree.get("VariableShowStmt") or {}).get("name", "")).lower() == "port"


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
    for call, place in _calls(tree, "expr"):
        function = _function(call)
        first = starts.get(call.get("location", -1))
        if function is None or first is None:
            continue
        close = sqlparse.closing_paren(toks, first)
        if close is None:
            continue
        if function in ("pg_my_temp_schema", "current_schemas") and values.own_temps:
            continue
        if function == "current_schemas" and place in ("from", "from_aliased"):
            continue  # an array: unnest(ARRAY[...]) would flatten it (left as the call)
        literal = values.literal(function)
        if function == "current_schemas":
            opening = next(i for i in range(first, close) if toks[i].name == "ASCII_40")
            literal = ("ARRAY(SELECT gp_s.n FROM pg_catalog.unnest(pg_catalog.current_schemas("
                       f"{sql[toks[opening].end + 1:toks[close].start]})) WITH ORDINALITY AS gp_s(n, i) "
                       "WHERE gp_s.n !~ '^pg_temp_[0-9]+$' ORDER BY gp_s.i)")
        if place in ("from", "from_aliased"):
            # one row of the value, its column named after the call as PostgreSQL names it
            text = f"pg_catalog.unnest(ARRAY[{literal}])"
            if place == "from":
                text += f" AS {quote_ident(function)}"
        else:
            text = f"({literal})"
            if place == "bare":
                text += f" AS {quote_ident(function)}"
        edits.append((toks[first].start, toks[close].end + 1, text))
    out, at = [], 0
    for start, end, text in sorted(edits):
        out += [sql[at:start], text]
        at = end
    return "".join(out) + sql[at:]


def _function(call: dict[str, Any]) -> str | None:
    """The function's name when the call is one of ours, unqualified or in pg_catalog:
    one of `_FUNCTIONS` without arguments, or current_setting('port' [, missing_ok])."""
    names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
    if call.get("agg_star") or call.get("over") or not names \
            or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
        return None
    args = call.get("args") or []
    if names[-1] == "current_schemas" and len(args) == 1:
        return "current_schemas"
    if names[-1] == "pg_my_temp_schema" and not args:
        return "pg_my_temp_schema"
    if names[-1] == "current_setting" and 1 <= len(args) <= 2:
        first = (args[0].get("A_Const") or {}).get("sval") or {}
        return "current_setting" if first.get("sval") == "port" else None
    return names[-1] if names[-1] in _FUNCTIONS and not args else None


def _calls(node: Any, place: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every FuncCall, and where it stands: "bare" (a select list item named after
    itself, no AS), "from" / "from_aliased" (alone in a FROM item without / with an alias
    of its own), "expr" (anywhere else)."""
    if isinstance(node, list):
        for item in node:
            yield from _calls(item, "expr")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "RangeFunction" and isinstance(value, dict):
            functions = value.get("functions", [])
            alone = len(functions) == 1 and not value.get("is_rowsfrom")
            for item in functions:
                parts = item.get("List", {}).get("items", []) if isinstance(item, dict) else item
                for part in parts if isinstance(parts, list) else [parts]:
                    call = part.get("FuncCall") if isinstance(part, dict) else None
                    if call is None:
                        yield from _calls(part, "expr")
                        continue
                    if alone:  # (in ROWS FROM a call stays a call, its arguments not)
                        yield call, "from_aliased" if value.get("alias") else "from"
                    yield from _calls(call, "expr")
            for other, inner in value.items():
                if other != "functions":
                    yield from _calls(inner, "expr")
        elif key == "FuncCall":
            yield value, place
            yield from _calls(value, "expr")
        elif key == "ResTarget" and isinstance(value, dict) and "name" not in value \
                and "indirection" not in value:
            yield from _calls(value.get("val"), "bare")
            for other, inner in value.items():
                if other != "val":
                    yield from _calls(inner, "expr")
        else:
            yield from _calls(value, "expr")
