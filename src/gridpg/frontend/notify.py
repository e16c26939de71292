"""LISTEN, UNLISTEN, NOTIFY and pg_notify() of one session, by PostgreSQL's rules.

- NOTIFY / pg_notify() are queued in the session's transaction and sent to the cluster's
  notification hub (`frontend/notify_hub.py`) after it commits, in order, a repeated
  (channel, payload) folded; a rollback (or ROLLBACK TO a savepoint taken before them)
  drops them. Outside a block a statement sends its notifications right after it.
- LISTEN / UNLISTEN in a block take effect at its commit (the hub LISTEN happens just
  before the commit, so a failure there fails the COMMIT, as in PostgreSQL).
- PREPARE TRANSACTION after any of them is refused (0A000), as PostgreSQL refuses it.

The statements are recognised here from the parse tree; the session's own channels answer
pg_listening_channels(). Nothing here writes to the client except command tags and the
rows of `SELECT pg_notify(...)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.errors import (
    FEATURE_NOT_SUPPORTED,
    INVALID_PARAMETER_VALUE,
    READ_ONLY_SQL_TRANSACTION,
    PgError,
)
from gridpg.frontend.notify_hub import HEADER_SIZE, PAYLOAD_LIMIT
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.statements import StatementRunner

CHANNEL_LIMIT = 64  # NAMEDATALEN: a channel name must be shorter (bytes)
VOID_OID = 2278
_TEXT_OIDS = (0, 19, 25, 705, 1042, 1043)  # unknown, name, text, unknown, bpchar, varchar
_WORDS = re.compile(r"\b(?:listen|unlisten|notify|pg_notify|pg_listening_channels)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NotifyCall:
    """One pg_notify(channel, payload) argument pair: ("const", text|None), ("param", n)
    or ("expr", SQL text)."""

    column: str
    args: tuple[tuple[str, Any], ...]


def may_concern(sql: str) -> bool:
    """A cheap filter: the statement may be LISTEN/UNLISTEN/NOTIFY or call pg_notify() or
    pg_listening_channels() (false positives only cost a parse)."""
    return _WORDS.search(sql) is not None


class SessionNotify:
    """The session's channels and its open transaction's LISTEN/UNLISTEN/NOTIFY."""

    def __init__(self, runner: StatementRunner) -> None:
        self.runner = runner
        self.channels: dict[str, None] = {}  # listening, in LISTEN order (committed)
        self._actions: list[tuple[str, str | None]] = []  # ("listen"|"unlisten", channel or None = *)
        self._queued: list[tuple[str, str]] = []  # notifications of the open transaction
        self._seen: set[tuple[str, str]] = set()  # the same, for folding duplicates
        self._marks: list[tuple[str, int, int]] = []  # savepoint name, len(actions), len(queued)
        self._held: list[str] = []  # channels held on the hub by pre_commit

    @property
    def hub(self) -> Any:
        return self.runner.coord.notify_hub

    @property
    def in_transaction(self) -> bool:
        """Whether the open transaction ran LISTEN, UNLISTEN or NOTIFY (PREPARE refuses)."""
        return bool(self._actions or self._queued)

    # -- statements --------------------------------------------------------------------

    async def run(self, request: ExecRequest) -> bool:
        """Run the statement if it is LISTEN/UNLISTEN/NOTIFY or `SELECT pg_notify(...)`
        alone; refuse other uses of pg_notify(). False when it is none of these."""
        tree = sqlparse.parse_tree(request.sql)
        kind = sqlparse.node_type(tree)
        body = tree.get(kind, {})
        send = self.runner.session.send
        # Outside a block a simple Query's statement commits at once; an extended-protocol
        # one with the implicit transaction that ends at Sync (`synced`), as in PostgreSQL.
        now = request.simple and not self.runner.txn.in_block
        if kind == "ListenStmt":
            await self._act("listen", body["conditionname"], now)
            send(codec.build_command_complete("LISTEN"))
        elif kind == "UnlistenStmt":
            await self._act("unlisten", body.get("conditionname"), now)
            send(codec.build_command_complete("UNLISTEN"))
        elif kind == "NotifyStmt":
            await self.notify(body["conditionname"], body.get("payload") or "", now)
            send(codec.build_command_complete("NOTIFY"))
        elif kind == "SelectStmt" and _calls(body, "pg_notify"):
            await self._select_notify(request, body)
        else:
            return False
        return True

    async def _act(self, action: str, channel: str | None, now: bool) -> None:
        self._actions.append((action, channel))
        self.runner.invalidate_cycles()  # (in_transaction: no routed cycle until it ends)
        if now:
            try:
                await self.pre_commit()
            except BaseException:
                await self.rollback()  # the statement failed: it leaves nothing behind
                raise
            await self.commit()

    async def notify(self, channel: str | None, payload: str | None, now: bool) -> None:
        """NOTIFY / pg_notify(): checked as PostgreSQL checks, then queued or sent."""
        await self.notify_all([(channel, payload)], now)

    async def notify_all(self, items: list[tuple[str | None, str | None]], now: bool) -> None:
        """Every item checked first, so that a failing one queues none of the statement's."""
        if self.runner.coord.read_only:  # as its NOTIFY (frontend/readonly.py): a hot standby's answer
            raise PgError(READ_ONLY_SQL_TRANSACTION, "cannot execute pg_notify() in a read-only transaction")
        checked = [ensure_valid(channel, payload) for channel, payload in items]
        for item in checked:
            if item not in self._seen:  # a transaction folds its duplicates, savepoints or not
                self._seen.add(item)
                self._queued.append(item)
        self.runner.invalidate_cycles()
        if now:
            await self.commit()

    async def _select_notify(self, request: ExecRequest, body: dict[str, Any]) -> None:
        calls = notify_calls(request.sql, body)
        values = [await self._values(call, request) for call in calls]
        await self.notify_all(values, request.simple and not self.runner.txn.in_block)  # type: ignore[arg-type]
        send = self.runner.session.send
        if request.simple:
            send(codec.build_row_description(
                [codec.Column(call.column, type_oid=VOID_OID, type_size=4) for call in calls]))
        send(codec.build_data_row([b""] * len(calls)))
        send(codec.build_command_complete("SELECT 1"))

    async def _values(self, call: NotifyCall, request: ExecRequest) -> tuple[str | None, str | None]:
        out: list[str | None] = []
        for kind, value in call.args:
            if kind == "const":
                out.append(value)
            elif kind == "param":
                raw = request.params[value - 1] if value <= len(request.params) else None
                formats = request.param_formats
                fmt = formats[0] if len(formats) == 1 else (formats[value - 1] if value <= len(formats) else 0)
                oids = request.decode_oids or request.param_oids
                oid = oids[value - 1] if value <= len(oids) else 0
                if raw is not None and fmt != 0 and oid not in _TEXT_OIDS:  # text's binary form is its bytes
                    raise PgError(FEATURE_NOT_SUPPORTED, "pg_notify() with a binary parameter of a "
                                  "type other than text is not supported by gridpg")
                out.append(None if raw is None else raw.decode())
            else:
                out.append(await self._evaluate(value))
        return out[0], out[1]

    async def _evaluate(self, expression: str) -> str | None:
        """An argument expression, evaluated by the catalog server in the session's state."""
        conn = await self.runner.txn.connection(self.runner.coord.catalog_node, wants_block=False)
        rows = await conn.query(f"SELECT ({expression})::text")
        return rows[0][0] if rows else None

    # -- the transaction ---------------------------------------------------------------

    def savepoint(self, name: str) -> None:
        self._marks.append((name, len(self._actions), len(self._queued)))

    def rollback_to(self, name: str) -> None:
        for index in range(len(self._marks) - 1, -1, -1):
            if self._marks[index][0] == name:
                _, actions, queued = self._marks[index]
                del self._marks[index + 1:]
                del self._actions[actions:]
                del self._queued[queued:]
                self._seen = set(self._queued)
                return

    def release(self, name: str) -> None:
        for index in range(len(self._marks) - 1, -1, -1):
            if self._marks[index][0] == name:
                del self._marks[index:]
                return

    def _target(self) -> dict[str, None]:
        channels = dict(self.channels)
        for action, channel in self._actions:
            if action == "listen" and channel is not None:
                channels[channel] = None
            elif channel is None:
                channels.clear()
            else:
                channels.pop(channel, None)
        return channels

    async def pre_commit(self) -> None:
        """Before the transaction commits: LISTEN on the hub for the channels it adds
        (an error here fails the commit, as PostgreSQL's Exec_ListenPreCommit does)."""
        if not self._actions:
            return
        new = [c for c in self._target() if c not in self.channels]
        if new:
            await self.hub.hold(new)
            self._held = new

    async def commit(self) -> None:
        """After the transaction committed: the channels change, the notifications go."""
        if not self._actions and not self._queued:
            self._marks.clear()
            return  # (every COMMIT passes here)
        session = self.runner.session
        hub = self.hub
        target = self._target()
        gone = [c for c in self.channels if c not in target]
        for channel in self._held:
            hub.attach(session, channel)
        for channel in gone:
            hub.detach(session, channel)
        self.channels = target
        self._held = []
        self._actions.clear()
        self._marks.clear()
        queued, self._queued = self._queued, []
        self._seen.clear()
        if gone:
            await hub.release(gone)
        if queued:
            await self._send(queued)

    async def _send(self, queued: list[tuple[str, str]]) -> None:
        session = self.runner.session
        try:
            await self.hub.send(session.info.backend_pid, queued)
        except PgError as exc:
            # Committed already: the client is told, and the COMMIT stands.
            session.say("the transaction committed, but its notifications could not be "
                        f"sent: {exc.message}", "WARNING", exc.sqlstate)
            return
        if any(channel in self.channels for channel, _ in queued):
            await self.hub.sync()  # its own notification arrives before its ReadyForQuery

    async def synced(self, failed: bool) -> None:
        """An extended-protocol Sync outside a block: its implicit transaction's LISTENs and
        notifications take effect, or none of them when a message of it failed. (Inside a
        block, they wait for its end: a BEGIN in the pipeline made them the block's.)"""
        if self.runner.txn.in_block or not self.in_transaction:
            return
        if failed:
            await self.rollback()
            return
        try:
            await self.pre_commit()
        except PgError:
            await self.rollback()
            raise
        await self.commit()

    def committed_quietly(self) -> None:
        """What `commit` does for a transaction that ran no LISTEN, UNLISTEN or NOTIFY
        (`in_transaction` false), for a COMMIT run from callbacks (StatementRunner.commit_now)."""
        self._marks.clear()

    async def rollback(self) -> None:
        """The transaction rolled back (or its commit failed): nothing of it happens."""
        if not self._actions and not self._queued and not self._held:
            self._marks.clear()
            return
        held, self._held = self._held, []
        self._actions.clear()
        self._queued.clear()
        self._seen.clear()
        self._marks.clear()
        if held:
            await self.hub.release(held)

    async def unlisten_all(self) -> None:
        """DISCARD ALL (outside a block) and the session's end."""
        self._actions.append(("unlisten", None))
        self.runner.invalidate_cycles()
        await self.commit()

    async def close(self) -> None:
        self._queued.clear()
        self._seen.clear()
        self._actions.clear()
        if self.channels:
            await self.unlisten_all()


def ensure_valid(channel: str | None, payload: str | None) -> tuple[str, str]:
    """PostgreSQL's checks of Async_Notify, with its messages; the hub's header takes
    HEADER_SIZE bytes of the payload limit."""
    if not channel:
        raise PgError(INVALID_PARAMETER_VALUE, "channel name cannot be empty")
    if len(channel.encode()) >= CHANNEL_LIMIT:
        raise PgError(INVALID_PARAMETER_VALUE, "channel name too long")
    payload = payload or ""
    size = len(payload.encode())
    if size >= PAYLOAD_LIMIT:
        raise PgError(INVALID_PARAMETER_VALUE, "payload string too long")
    if size >= PAYLOAD_LIMIT - HEADER_SIZE:
        raise PgError(INVALID_PARAMETER_VALUE, "payload string too long",
                      detail=f"gridpg's notifications carry at most {PAYLOAD_LIMIT - HEADER_SIZE - 1} bytes "
                             f"of payload ({HEADER_SIZE} bytes name the sending session)")
    return channel, payload


def _calls(body: Any, name: str) -> bool:
    return any(sqlparse.funcname(c) == name for c in sqlparse.nodes_of(body, "FuncCall"))


def notify_calls(sql: str, body: dict[str, Any]) -> list[NotifyCall]:
    """The pg_notify() calls of `SELECT pg_notify(a, b)[, ...]` alone (no FROM, WHERE or
    other columns); any other use of pg_notify() is refused (0A000): it would run on a
    pooled connection of the catalog server or of a datanode, and be lost."""
    targets = [t.get("ResTarget", {}) for t in body.get("targetList", [])]
    calls = [_notify_call(t) for t in targets]
    if {k for k in body if k not in ("targetList", "limitOption", "op")} or not all(calls):
        raise PgError(FEATURE_NOT_SUPPORTED, "pg_notify() is supported by gridpg only as "
                      "SELECT pg_notify(channel, payload)[, ...] alone",
                      hint="use NOTIFY, or SELECT pg_notify(...) as its own statement",
                      detail="elsewhere it would run on a pooled server connection and the "
                             "notification would not reach the cluster's listeners")
    found = [c for c in calls if c is not None]
    if any(kind == "expr" for c in found for kind, _ in c.args):
        found = _with_expression_text(sql, found)
    return found


def _notify_call(target: dict[str, Any]) -> NotifyCall | None:
    call = target.get("val", {}).get("FuncCall")
    if not isinstance(call, dict) or sqlparse.funcname(call) != "pg_notify" or len(call.get("args", [])) != 2 \
            or any(k in call for k in ("agg_order", "agg_filter", "over", "agg_star", "agg_distinct", "func_variadic")):
        return None
    return NotifyCall(str(target.get("name", "pg_notify")), tuple(sqlparse.argument(a) for a in call["args"]))


def _with_expression_text(sql: str, calls: list[NotifyCall]) -> list[NotifyCall]:
    from pglast.stream import RawStream

    targets = sqlparse.parse_sql(sql)[0].stmt.targetList
    out = []
    for call, target in zip(calls, targets, strict=True):
        args = tuple((kind, RawStream()(node) if kind == "expr" else value)
                     for (kind, value), node in zip(call.args, target.val.args, strict=True))
        out.append(NotifyCall(call.column, args))
    return out


def with_listening_channels(sql: str, channels: list[str]) -> str:
    """`pg_listening_channels()` replaced by the session's channels as a set-returning
    `unnest(ARRAY[...]::text[])`, named as PostgreSQL names the call's column: the catalog
    connection that runs the statement listens to nothing."""
    from gridpg.sql.quote import quote_literal

    tree = sqlparse.parse_tree(sql)
    calls = [c for c in sqlparse.nodes_of(tree, "FuncCall") if sqlparse.funcname(c) == "pg_listening_channels"
             and not c.get("args")]
    if not calls:
        return sql
    named = _unnamed_call_locations(tree)
    array = "ARRAY[" + ", ".join(quote_literal(c) for c in channels) + "]::text[]"
    toks = sqlparse.tokens(sql)  # (replaced from the last call back: the earlier ones' positions hold)
    for call in sorted(calls, key=lambda c: c["location"], reverse=True):
        start = call["location"]
        first = next(i for i, tok in enumerate(toks) if tok.start >= start)
        close = sqlparse.closing_paren(toks, first)
        if close is None:  # (the parser found the call: its parenthesis closes)
            raise PgError(FEATURE_NOT_SUPPORTED, "this use of pg_listening_channels() is not supported by gridpg")
        alias = " AS pg_listening_channels" if start in named else ""
        sql = sql[:start] + f"unnest({array}){alias}" + sql[toks[close].end + 1:]
    return sql


def _unnamed_call_locations(tree: Any) -> set[int]:
    """Locations of function calls that are a select-list item without AS, or a FROM item
    without an alias: their column takes the function's name."""
    out = set()
    for target in sqlparse.nodes_of(tree, "ResTarget"):
        call = target.get("val", {}).get("FuncCall")
        if call is not None and "name" not in target:
            out.add(call["location"])
    for item in sqlparse.nodes_of(tree, "RangeFunction"):
        if "alias" in item:
            continue
        for pair in item.get("functions", []):
            for node in pair.get("List", {}).get("items", []):
                if "FuncCall" in node:
                    out.add(node["FuncCall"]["location"])
    return out
