"""A data-modifying WITH over distributed tables, planned as steps (pure: no I/O).

`WITH d AS (DELETE FROM t ... RETURNING *) INSERT INTO log SELECT * FROM d` cannot run as
one query on a node (its parts touch different nodes), nor as one gathered query (its
writes would reach only the gathered copies). Like Citus's recursive planning, each
INSERT/UPDATE/DELETE in the WITH runs first as a statement of its own (planned like any
other, with the SELECT entries before it), its RETURNING rows are kept, and the rest of
the statement then reads them as a constant WITH entry (`d(cols) AS (VALUES ...)`).

PostgreSQL runs every part on one snapshot, so no part sees another's writes except
through RETURNING. Running the parts one after another gives the same answer exactly
when no part reads or writes a table another part writes; a statement where one does
is refused (0A000), as are WITH RECURSIVE and a data-modifying entry below the top level;
except that a later part may INSERT (without ON CONFLICT) into a table an earlier part
writes, when it reads nothing of it: neither sees the other's rows either way; and a
SELECT entry that reads a written table, but no data-modifying entry's rows, is *frozen*:
its rows are read before any part writes (what the one snapshot shows it) and kept as a
constant entry, as a data-modifying entry's RETURNING rows are (`WITH old AS (SELECT *
FROM t) , ins AS (INSERT INTO t SELECT * FROM old) ...`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.parse import parse_sql

_MODIFYING = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


@dataclass(frozen=True)
class CteStep:
    """One WITH entry: a SELECT entry's whole definition (`name(cols) AS (query)`), or a
    data-modifying entry's statement, run on its own before the rest."""

    name: str
    definition: str = ""  # a SELECT entry, kept as written
    statement: str = ""  # a data-modifying entry's INSERT/UPDATE/DELETE/MERGE
    # the data-modifying entry's own WITH entries (SELECT ones), run after the outer ones
    own_entries: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # the entry's column names, when it gives them
    # a frozen SELECT entry: the earlier SELECT entries its query runs with, by name (its
    # rows are read before any part writes)
    frozen_after: tuple[str, ...] | None = None

    @property
    def modifying(self) -> bool:
        return bool(self.statement)


@dataclass(frozen=True)
class ModifyingCteSteps:
    steps: tuple[CteStep, ...]
    main: str  # the statement after its WITH
    # CREATE TABLE ... AS <the WITH and main> [WITH NO DATA]: what goes around them
    head: str = ""
    tail: str = ""


def plan_steps(sql: str) -> ModifyingCteSteps:
    """The steps of a top-level data-modifying WITH, or PgError 0A000 saying why not."""
    stmt = parse_sql(sql)[0].stmt
    head = tail = ""
    if isinstance(stmt, ast.CreateTableAsStmt) and isinstance(stmt.query, ast.SelectStmt):
        # CREATE TABLE ... AS WITH d AS (UPDATE ... RETURNING ...) SELECT ...: the steps as
        # for the query, then the table made from it with their rows as constant entries.
        # Not where PostgreSQL runs no part of the query (WITH NO DATA; IF NOT EXISTS of a
        # table that exists): the steps would write all the same.
        if stmt.into.skipData or stmt.if_not_exists:
            _refuse("CREATE TABLE ... AS with WITH NO DATA or IF NOT EXISTS")
        head, tail = _around_query(stmt)
        stmt = stmt.query
    with_clause = getattr(stmt, "withClause", None)
    if with_clause is None or not any(isinstance(c.ctequery, _MODIFYING) for c in with_clause.ctes):
        _refuse("its data-modifying WITH is not at the top level of the statement")
    if with_clause.recursive:
        _refuse("WITH RECURSIVE with a data-modifying entry")
    names = {c.ctename for c in with_clause.ctes}
    main = copy.copy(stmt)
    main.withClause = None
    parts: list[tuple[str, Any, str | None]] = []  # (label, node, written table)
    steps = []
    main_target = _target(stmt) if isinstance(stmt, _MODIFYING) else None
    written = {_target(c.ctequery) for c in with_clause.ctes if isinstance(c.ctequery, _MODIFYING)}
    written |= {main_target} if main_target is not None else set()
    modifying = {c.ctename for c in with_clause.ctes if isinstance(c.ctequery, _MODIFYING)}
    pure: list[str] = []  # SELECT entries so far that read no data-modifying entry's rows
    for cte in with_clause.ctes:
        query = cte.ctequery
        columns = tuple(n.sval for n in cte.aliascolnames or ())
        if isinstance(query, _MODIFYING):
            own = _own_entries(cte.ctename, query, names)
            body = copy.copy(query)
            body.withClause = None
            steps.append(CteStep(cte.ctename, statement=RawStream()(body), columns=columns, own_entries=own))
            parts.append((f'entry "{cte.ctename}"', query, _target(query)))
            continue
        entries_read = _tables_read(query, set(), None) & names
        if entries_read & modifying or not entries_read <= set(pure):
            if _calls_volatile(query) and _readers(cte.ctename, with_clause.ctes, main) > 1:
                _refuse(f'entry "{cte.ctename}" calls a volatile function and reads a data-modifying '
                        "entry's rows, and more than one part reads it (each would evaluate it again)")
            steps.append(CteStep(cte.ctename, definition=RawStream()(cte)))
            parts.append((f'entry "{cte.ctename}"', query, None))
            continue
        pure.append(cte.ctename)
        # (an entry calling a volatile function is evaluated once, as PostgreSQL evaluates
        # a WITH entry once: read again by each part, `WITH r AS (SELECT random() AS x), i
        # AS (INSERT ... SELECT x FROM r RETURNING x) SELECT ... FROM r JOIN i` matched no row)
        if _tables_read(query, names, None) & written or _calls_volatile(query):
            steps.append(CteStep(cte.ctename, definition=RawStream()(cte), columns=columns,
                                 frozen_after=tuple(pure[:-1])))
            continue  # read before any write: a part that reads nothing
        steps.append(CteStep(cte.ctename, definition=RawStream()(cte)))
        parts.append((f'entry "{cte.ctename}"', query, None))
    parts.append(("the main statement", main, main_target))
    _ensure_disjoint(parts, names)
    return ModifyingCteSteps(tuple(steps), RawStream()(main), head, tail)


_PLACEHOLDER = "SELECT gp_the_query"


def _around_query(stmt: Any) -> tuple[str, str]:
    """The text of a CREATE TABLE ... AS before and after its query."""
    outer = copy.copy(stmt)
    outer.query = parse_sql(_PLACEHOLDER)[0].stmt
    text = RawStream()(outer)
    head, found, tail = text.partition(_PLACEHOLDER)
    if not found:
        _refuse("its CREATE TABLE ... AS could not be taken apart")
    return head, tail


def _calls_volatile(node: Any) -> bool:
    """A call of a volatile built-in (random(), clock_timestamp(), gen_random_uuid(), ...)."""
    from gridpg.planner.node_local import VOLATILE_BUILTINS

    for item in _walk(node):
        if isinstance(item, ast.FuncCall):
            names = [n.sval for n in item.funcname if isinstance(n, ast.String)]
            if names and names[-1].lower() in VOLATILE_BUILTINS and names[0] in ("pg_catalog", names[-1]):
                return True
    return False


def _readers(name: str, ctes: Any, main: Any) -> int:
    """How many parts (the WITH entries after entry `name`, and the main statement) read it."""
    later = list(ctes)
    later = later[[c.ctename for c in later].index(name) + 1:]
    return sum(name in _tables_read(node, set(), None) for node in [*(c.ctequery for c in later), main])


def _own_entries(name: str, query: Any, outer: set[str]) -> tuple[str, ...]:
    """A data-modifying entry's own WITH entries, to run after the outer ones in its step
    (`WITH outer..., own... DELETE ...`): SELECT entries whose names no outer entry has."""
    with_clause = getattr(query, "withClause", None)
    if with_clause is None:
        return ()
    if with_clause.recursive or any(isinstance(c.ctequery, _MODIFYING) for c in with_clause.ctes) \
            or any(c.ctename in outer for c in with_clause.ctes):
        _refuse(f'the WITH inside data-modifying entry "{name}"')
    return tuple(RawStream()(c) for c in with_clause.ctes)


def _target(stmt: Any) -> str:
    return str(stmt.relation.relname)


def _ensure_disjoint(parts: list[tuple[str, Any, str | None]], cte_names: set[str]) -> None:
    """No part may touch a table another part writes (by name, whatever its schema: a
    conservative test); except that a data-modifying part may read a table only a later
    part writes: it runs once, in its turn, before that write (a SELECT entry is read
    again by every later part, so it may not)."""
    written = [(n, label, table) for n, (label, _, table) in enumerate(parts) if table is not None]
    for index, writer, table in written:
        for other, (label, node, own) in enumerate(parts):
            if other == index:
                continue
            if table == own and not _appends_after(parts[max(index, other)][1]):
                _refuse(f'{writer} and {label} both write "{table}"')
            if own is not None and other < index:
                continue
            if table in _tables_read(node, cte_names | _own_names(node), own):
                _refuse(f'{label} reads "{table}", which {writer} writes (PostgreSQL gives every '
                        "part one snapshot)")


def _own_names(node: Any) -> set[str]:
    with_clause = getattr(node, "withClause", None)
    return {c.ctename for c in with_clause.ctes} if with_clause is not None else set()


def _appends_after(later: Any) -> bool:
    """Whether two parts writing one table give PostgreSQL's answer run one after the
    other: the one run later (WITH entries in order, the main statement last) only adds
    rows (an INSERT without ON CONFLICT, which reads nothing of its target), so neither
    sees the other's rows, as on PostgreSQL's one snapshot (`WITH d AS (DELETE FROM t ...
    RETURNING *) INSERT INTO t SELECT ... FROM d`, the archive-and-move pattern)."""
    return isinstance(later, ast.InsertStmt) and later.onConflictClause is None


def _tables_read(node: Any, cte_names: set[str], own: str | None) -> set[str]:
    """Relation names a part refers to, other than WITH entries (and its own target,
    which is counted as written)."""
    found = set()
    target = getattr(node, "relation", None) if own is not None else None
    for item in _walk(node):
        if isinstance(item, ast.RangeVar) and item is not target:
            if item.schemaname is None and item.relname in cte_names:
                continue
            found.add(item.relname)
    return found


def _walk(node: Any) -> Any:
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, ast.Node):
            for name in item.__slots__:
                value = getattr(item, name, None)
                if isinstance(value, ast.Node | tuple | list):
                    stack.append(value)
        elif isinstance(item, tuple | list):
            stack.extend(item)


def _refuse(why: str) -> None:
    raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run this data-modifying WITH over "
                  f"distributed tables: {why}",
                  hint="run the INSERT/UPDATE/DELETE ... RETURNING as a statement of its own")
