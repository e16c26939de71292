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
FROM t) , ins AS (INSERT INTO t SELECT * FROM old) ...`). Likewise the main statement
reading a table a WITH entry writes reads that table's rows from before the writes, each
reference standing for a frozen entry (`_before_images`, h-refuse25).
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
    # a written table's rows as the main statement reads them (`before_image`): refused
    # above this many rows, which are held in the coordinator's memory
    row_cap: int | None = None

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
    # (the main statement's own target too, where an entry writes it: `WITH u AS (UPDATE t
    # ...) INSERT INTO t SELECT ... FROM t` reads t as it was before u; h-left25)
    by_entries = {_target(c.ctequery) for c in with_clause.ctes if isinstance(c.ctequery, _MODIFYING)}
    images = _before_images(main, main_target, by_entries | (written - ({main_target} if main_target else set())),
                            names)
    parts.append(("the main statement", main, main_target))
    _ensure_disjoint(parts, names)
    return ModifyingCteSteps((*images, *steps), RawStream()(main), head, tail)


# The most rows of a written table the main statement may read from before the writes
# (held in the coordinator's memory as a constant WITH entry, `_before_images`).
BEFORE_IMAGE_ROWS = 10_000
_SYSTEM_COLUMNS = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"})


def _before_images(main: Any, main_target: str | None, written: set[str], cte_names: set[str]) -> list[CteStep]:
    """The main statement reading a table a WITH entry writes (`WITH d AS (DELETE FROM t
    ... RETURNING id) SELECT count(*) FROM t`): PostgreSQL's one snapshot shows it the
    table as it was before every write. Each such reference (in place, in `main`) becomes
    a reference to a frozen entry of that table's rows, read before any part writes
    (`gp_before_t AS (SELECT * FROM t)`, under the reference's own name, so `t.col` still
    reads), with the main statement's WHERE when the table is all its FROM; refused where
    the entry cannot stand for the table: system columns, a whole-row reference (its type
    would be a record's), or more than BEFORE_IMAGE_ROWS rows (executor/modifying_cte.py)."""
    target = getattr(main, "relation", None) if main_target is not None else None
    references = [item for item in _walk(main) if isinstance(item, ast.RangeVar) and item is not target
                  and item.relname in written and not (item.schemaname is None and item.relname in cte_names)]
    if not references:
        return []
    _ensure_image_readable(main, references)
    where = _pushed_where(main, references, cte_names)
    images = []
    for number, ref in enumerate(references, 1):
        name = f"gp_before_{number}"
        read = copy.copy(ref)
        read.alias = None
        source = RawStream()(read)  # (ONLY kept)
        label = ref.alias.aliasname if ref.alias is not None else ref.relname
        query = f"SELECT * FROM {source} AS {_quote(label)}"
        if where is not None and number == 1:
            query += f" WHERE {RawStream()(where)}"
        images.append(CteStep(name, definition=f"{name} AS ({query})", frozen_after=(),
                              row_cap=BEFORE_IMAGE_ROWS))
        colnames = ref.alias.colnames if ref.alias is not None else None
        ref.schemaname = ref.catalogname = None
        ref.relname = name
        ref.inh = True
        ref.alias = ast.Alias(aliasname=label, colnames=colnames)
    return images


def _ensure_image_readable(main: Any, references: list[Any]) -> None:
    labels = {ref.alias.aliasname if ref.alias is not None else ref.relname for ref in references}
    for item in _walk(main):
        if not isinstance(item, ast.ColumnRef):
            continue
        fields = [f.sval for f in item.fields if isinstance(f, ast.String)]
        if any(f in _SYSTEM_COLUMNS for f in fields):
            _refuse("the main statement reads a system column of a table a WITH entry writes")
        if len(fields) == 1 and len(item.fields) == 1 and fields[0] in labels:
            _refuse(f'the main statement reads whole rows of "{fields[0]}", which a WITH entry writes')


def _pushed_where(main: Any, references: list[Any], cte_names: set[str]) -> Any:
    """The main SELECT's WHERE (an INSERT's SELECT's too), to filter the table's rows read
    before the writes, when the table is its one FROM item and the WHERE reads nothing else
    and calls nothing (no subquery; no function, which would be evaluated twice per row);
    else None (every row read)."""
    select = main.selectStmt if isinstance(main, ast.InsertStmt) else main
    if not isinstance(select, ast.SelectStmt) or len(references) != 1 or select.whereClause is None \
            or list(select.fromClause or ()) != [references[0]]:
        return None
    where = select.whereClause
    if any(isinstance(item, ast.SubLink | ast.FuncCall) for item in _walk(where)):
        return None
    return copy.deepcopy(where)


def _quote(name: str) -> str:
    from gridpg.sql.quote import quote_ident

    return quote_ident(name)


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
