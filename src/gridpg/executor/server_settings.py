"""The coordinator's own settings where the catalog server would report its own.

The catalog server answers questions about settings, and the ones that name a server
(`port`) are its own there. `SHOW port` and `current_setting('port')` already answer the
coordinator's (sql/connection_values.py); this module makes `SHOW ALL` and the
`pg_settings` view say the same: `SHOW ALL` runs on the catalog server and its `port` row
is replaced; a SELECT reading `pg_settings` reads it through a subquery whose `setting`
and `reset_val` of `port` are the coordinator's. Writes to `pg_settings` (`UPDATE
pg_settings SET setting = ...`, PostgreSQL's other way to call set_config) go unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.planner.text import relation_span, splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

_PORT = "port"  # the setting whose value is the coordinator's
# pg_settings' columns (PostgreSQL 15 to 18), `setting` and `reset_val` replaced for port
_COLUMNS = ("name", "setting", "unit", "category", "short_desc", "extra_desc", "context", "vartype",
            "source", "min_val", "max_val", "enumvals", "boot_val", "reset_val", "sourcefile",
            "sourceline", "pending_restart")


def shows_all(sql: str) -> bool:
    """`SHOW ALL`."""
    if "all" not in sql.lower():
        return False
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    return str((tree.get("VariableShowStmt") or {}).get("name", "")).lower() == "all"


async def show_all(dispatcher: Dispatcher, request: ExecRequest, port: int | None) -> None:
    """SHOW ALL on the catalog server, its `port` row the coordinator's."""
    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        captured = session.out
    finally:
        session.out = saved
    for message in captured:
        if message[:1] == b"D" and port is not None:
            row = codec.parse_data_row(message[5:])
            if row and row[0] == _PORT.encode():
                row[1] = str(port).encode()
                message = codec.build_data_row(row)
        session.send(message)


def with_coordinator_settings(request: ExecRequest, port: int | None) -> ExecRequest:
    """The request with a SELECT's `pg_settings` read through the coordinator's port."""
    sql = request.sql
    if port is None or "pg_settings" not in sql.lower():
        return request
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return request
    if sqlparse.node_type(tree) != "SelectStmt":
        return request
    refs = [r for r in analyze.relations(tree) if r.name == "pg_settings" and r.schema in (None, "pg_catalog")]
    if not refs:
        return request
    value = quote_literal(str(port))
    columns = ", ".join(
        f"CASE WHEN name = {quote_literal(_PORT)} THEN {value} ELSE {c} END AS {c}"
        if c in ("setting", "reset_val") else c for c in _COLUMNS)
    view = f"(SELECT {columns} FROM pg_catalog.pg_settings)"
    tokens = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        start, end = relation_span(sql, tokens, ref)
        replacements.append((start, end, view + ("" if ref.alias else " AS pg_settings")))
    return dataclasses.replace(request, sql=splice(sql, replacements))
