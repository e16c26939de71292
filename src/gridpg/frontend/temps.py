"""A session's temporary tables: where they live and which names they shadow.

PostgreSQL keeps temp tables (and WITH HOLD cursors) for the session that created them. gridpg creates them on
the coordinator's catalog server; a session whose statement creates a temp relation keeps
(pins) that catalog connection for the rest of the session instead of giving it back to
the pool after each transaction, so its temp tables survive across transactions, ON
COMMIT DELETE ROWS / DROP act at the session's own commits, and no other session ever
sees them. The pinned connection is taken out of the pool (it does not count against the
pool's bound); DISCARD TEMP / DISCARD ALL and the end of the session close it, which drops
the temp tables.

The names of the session's temp relations are read from that connection
(`pg_my_temp_schema()`) after any statement that may have changed them, and feed the
planner's search path (`planner/tempnames.py`): an unqualified name that is a temp table
is the temp table, as in PostgreSQL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.frontend.statements import StatementRunner

_TEMP_WORD = re.compile(r"\b(temp|temporary|pg_temp\w*)\b", re.IGNORECASE)
_HOLD_WORD = re.compile(r"\bhold\b", re.IGNORECASE)
_CURSOR_OPT_HOLD = 0x0020
_PLAIN_DML = re.compile(r"^\s*(select|insert|update|delete|values|table|with)\b", re.IGNORECASE)
_NAMES_SQL = ("SELECT c.relname FROM pg_catalog.pg_class c "
              "WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()")


class SessionTemps:
    """The temp relations of one session and the catalog connection that holds them."""

    def __init__(self, runner: StatementRunner) -> None:
        self.runner = runner
        self.names: frozenset[str] = frozenset()
        # What statements read about the session's temp objects on the catalog connection
        # (their views' definitions, their defaults' sequences), kept until a statement may
        # have changed them: each INSERT into a temp table asked twice more (three round
        # trips for one row).
        self.memo: dict[object, object] = {}
        self._stale = False
        self._forget_routines_after = False
        self.ddl_in_block = False  # DDL on temp objects in the open transaction block

    def _mark_stale(self) -> None:
        self._stale = True
        self.memo.clear()

    def set_names(self, names: frozenset[str]) -> None:
        """The session's temp relation names (routed plans depend on them)."""
        self.memo.clear()
        if names != self.names:
            self.names = names
            self.runner.invalidate_cycles()

    @property
    def node(self) -> str:
        return self.runner.coord.catalog_node

    @property
    def pinned(self) -> bool:
        return self.node in self.runner.txn.pinned

    async def before_statement(self, sql: str) -> None:
        """Refresh the names after earlier statements; pin the catalog connection when this
        statement creates a temp relation."""
        self.statement_done()
        if not self.pinned and self.names:
            self.set_names(frozenset())  # the connection was lost (reported once): none left
        if self.pinned and self._stale:
            await self.refresh()
        if _TEMP_WORD.search(sql) and creates_temp(sql):
            self.runner.txn.pin(self.node)
            self._mark_stale()
            self._forget_routines_after = True
        elif _HOLD_WORD.search(sql) and declares_holdable_cursor(sql):
            self.runner.txn.pin(self.node)  # the cursor outlives the transaction on it
        elif self.pinned and not _PLAIN_DML.match(sql):
            self._mark_stale()  # DDL, DISCARD, DO, CALL...: may create or drop temp relations
            self._forget_routines_after = True
        elif not getattr(self.runner, "is_loopback", False) and await self._runs_temp_code(sql):
            # `SELECT make_scratch()`, a DO block: code creating temp tables runs on this
            # catalog connection; given back to the pool, they stayed there for the next
            # session that took it and were gone for this one (42P01), silently shadowing
            # nothing the planner knew of
            self.runner.txn.pin(self.node)
            self._mark_stale()

    async def _runs_temp_code(self, sql: str) -> bool:
        coord = self.runner.coord
        if coord.planner is None or getattr(coord, "routine_guard", None) is None:
            return False
        return await coord.routine_guard.may_create_temp(self.runner.dispatcher, sql)

    def transaction_ended(self) -> None:
        """ON COMMIT DROP, and rolled-back CREATEs, change the names at a transaction's end."""
        if self.pinned:
            self._mark_stale()
        if self.ddl_in_block:  # committed (seen by all) or rolled back: read them again
            self.ddl_in_block = False
            self._forget_routines_after = True

    def statement_done(self) -> None:
        """After a statement that may have made triggers, rules, defaults or checks on the
        session's temp objects (called before the next one): the routine guard reads them
        again (they move no epoch)."""
        if self._forget_routines_after:
            self._forget_routines_after = False
            if self.runner.txn.in_block:
                self.ddl_in_block = True  # (seen by the session's own connection only, until COMMIT)
            guard = getattr(self.runner.coord, "routine_guard", None)
            if guard is not None:
                guard.forget_registry()

    async def refresh(self) -> None:
        from gridpg.txn.transaction import TxnState

        txn = self.runner.txn
        if txn.state is TxnState.FAILED:
            return
        held = self.node in txn.participants
        conn = await txn.connection(self.node, wants_block=False)
        try:
            self.set_names(frozenset(r[0] for r in await conn.query(_NAMES_SQL) if r[0]))
        finally:
            txn.release_lookup(self.node, held)
        self._stale = False

    async def discard(self) -> None:
        """DISCARD TEMP / ALL: drop the temp relations (outside a block: close the connection)."""
        if not self.pinned:
            return
        txn = self.runner.txn
        if txn.in_block:  # rolled back, the tables come back: they stay on this connection
            await (await txn.connection(self.node, wants_block=False)).simple_query("DISCARD TEMP")
            self._mark_stale()
            return
        txn.unpin(self.node)  # closing the connection drops the temp tables
        self.set_names(frozenset())
        self._stale = False

    def close(self) -> None:
        """End of the session: the connection is closed, and its temp tables with it."""
        if self.pinned:
            self.runner.txn.unpin(self.node)
        self.set_names(frozenset())


def creates_temp(sql: str) -> bool:
    """CREATE TEMP TABLE / VIEW / SEQUENCE, CREATE TEMP TABLE AS, SELECT ... INTO TEMP
    (also with Postgres-XL's DISTRIBUTE BY / TO NODE, which a temp table ignores)."""
    from gridpg.sql.xl import extract_distribution

    try:
        tree = sqlparse.parse_tree(extract_distribution(sql)[0])
    except Exception:  # noqa: BLE001 - not ours to report; the statement's path will
        return False
    kind = sqlparse.node_type(tree)
    body = tree.get(kind, {}) if kind else {}
    rel: dict[str, object] = {}
    if kind in ("CreateStmt", "CreateForeignTableStmt"):
        rel = body.get("relation", {})
    elif kind == "CreateSeqStmt":
        rel = body.get("sequence", {})
    elif kind == "ViewStmt":
        rel = body.get("view", {})
    elif kind == "CreateTableAsStmt":
        rel = body.get("into", {}).get("rel", {})
    elif kind == "SelectStmt":
        rel = (body.get("intoClause") or {}).get("rel", {})
    elif kind in ("CreateFunctionStmt", "CreateEnumStmt", "CreateDomainStmt", "CreateRangeStmt"):
        # `CREATE FUNCTION pg_temp.f()`, `CREATE TYPE pg_temp.mood AS ENUM ...`: the session's own
        key = {"CreateFunctionStmt": "funcname", "CreateDomainStmt": "domainname"}.get(kind, "typeName")
        names = [n.get("String", {}).get("sval") for n in body.get(key) or [] if isinstance(n, dict)]
        return len(names) > 1 and sqlparse_is_temp_schema(names[0])
    elif kind in ("DefineStmt", "CreateStatsStmt"):
        # `CREATE AGGREGATE pg_temp.agg(...)`, `CREATE STATISTICS pg_temp.s ON ...`
        names = [n.get("String", {}).get("sval") for n in body.get("defnames") or [] if isinstance(n, dict)]
        return len(names) > 1 and sqlparse_is_temp_schema(names[0])
    elif kind == "CompositeTypeStmt":
        rel = body.get("typevar", {})
    return rel.get("relpersistence") == "t" or sqlparse_is_temp_schema(rel.get("schemaname"))


def declares_holdable_cursor(sql: str) -> bool:
    """DECLARE ... CURSOR WITH HOLD: the cursor lives on the session's catalog connection
    after the transaction ends, so that connection must stay the session's (pinned); on a
    pooled one another session could FETCH it and this one would lose it."""
    try:
        tree = sqlparse.parse_tree(sql)
    except Exception:  # noqa: BLE001 - not ours to report; the statement's path will
        return False
    body = tree.get("DeclareCursorStmt")
    return isinstance(body, dict) and bool(body.get("options", 0) & _CURSOR_OPT_HOLD)


def sqlparse_is_temp_schema(schema: object) -> bool:
    return isinstance(schema, str) and (schema == "pg_temp" or schema.startswith("pg_temp_"))
