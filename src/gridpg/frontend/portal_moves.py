"""MOVE (and FETCH) naming a portal the client made with the extended protocol (a Bind with
a portal name): PostgreSQL keeps SQL cursors and protocol portals in one namespace, so
`MOVE FORWARD 5 "p"` advances a Bound portal. asyncpg's `Cursor.forward()` sends exactly
that between the Executes of its portal.

gridpg keeps a protocol portal's rows itself (a suspended datanode portal or buffered
rows, `Portal.cursor`), not on the catalog server where FETCH and MOVE of SQL cursors go
(where the name is unknown: 34000). So they are served here, by executing the portal for
the rows asked: forward only (a protocol portal does not scroll on a datanode either), and
FETCH only in the simple protocol over a portal with text results (PostgreSQL sends a
FETCH's rows as text; a portal's binary rows cannot be turned into text here). What is not
served is 0A000, never another portal's rows.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.session import Portal
    from gridpg.frontend.statements import StatementRunner

_MAYBE = re.compile(r"\s*(move|fetch)\b", re.IGNORECASE)
_ALL = 9223372036854775807  # FETCH_ALL, as the parser reports ALL
_BATCH = 2**31 - 1  # an Execute's row limit is an int32


async def run_if_protocol_portal(runner: StatementRunner, request: ExecRequest) -> bool:
    """Serve a MOVE/FETCH whose name is one of the session's protocol portals (True), or
    leave the statement to the normal path (False: an SQL cursor, or another statement)."""
    if not _MAYBE.match(request.sql):
        return False
    fetch = _fetch_statement(request.sql)
    if fetch is None:
        return False
    portal = runner.session.portals.get(fetch.get("portalname", ""))
    if portal is None or not portal.name:  # (the unnamed portal has no SQL name)
        return False
    count = int(fetch.get("howMany", 0))
    _ensure_served(portal, fetch.get("direction"), count, bool(fetch.get("ismove")))
    rows = 0
    wanted = None if count == _ALL else count
    while wanted is None or rows < wanted:
        taken, finished = await _execute(runner, portal, _BATCH if wanted is None else min(_BATCH, wanted - rows))
        rows += taken
        if finished:
            break
    runner.session.send(codec.build_command_complete(f"MOVE {rows}"))
    return True


def _fetch_statement(sql: str) -> dict[str, Any] | None:
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    if sqlparse.node_type(tree) != "FetchStmt":
        return None
    fetch: dict[str, Any] = tree["FetchStmt"]
    return fetch


def _ensure_served(portal: Portal, direction: Any, count: int, moving: bool) -> None:
    if not moving:
        raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg cannot FETCH from protocol portal "{portal.name}"',
                      detail="PostgreSQL sends a FETCH's rows as text; gridpg keeps this portal's rows "
                             "in the result formats of its Bind.",
                      hint="Execute the portal with a row limit instead.")
    if direction != "FETCH_FORWARD" or count <= 0:
        raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg moves protocol portal "{portal.name}" forward only',
                      hint="Execute the portal again for its next rows.")


async def _execute(runner: StatementRunner, portal: Portal, limit: int) -> tuple[int, bool]:
    """Execute the portal for at most `limit` rows and drop them; (rows, whether it
    finished). Its CommandComplete or PortalSuspended (the Execute's own ending) is
    dropped too: MOVE's tag replaces it. Notices stay."""
    out = runner.session.out
    mark = len(out)
    await runner.execute_portal(portal, limit)
    produced = b"".join(out[mark:])  # (relayed bytes may hold many messages in one piece)
    del out[mark:]
    rows, finished = 0, True
    for message in _messages(produced):
        kind = message[:1]
        if kind == b"D":
            rows += 1
        elif kind == b"s":
            finished = False
        elif kind != b"C":
            out.append(message)
    return rows, finished


def _messages(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        end = at + 1 + int.from_bytes(data[at + 1:at + 5], "big")
        out.append(data[at:end])
        at = end
    return out
