"""Recursive planning (Citus's term): uncorrelated CTEs and scalar subqueries as plans of
their own. Pure.

A statement that no strategy runs on the datanodes as a whole may still split: each
common table expression of its top-level WITH that reads a distributed table, and each
uncorrelated scalar subquery (`(SELECT max(x) FROM t)`, a HAVING threshold, ...) that
reads one, runs first as a statement of its own, planned like any other. Its result is
shipped where the rest needs it:

* a CTE becomes a scratch table (`gridpg_shards.<marker>`) filled on every datanode the
  statement's tables live on, and every reference to the CTE reads it (the executor treats
  it as a table replicated on those nodes, so it joins anything locally);
* a scalar subquery becomes its value, a typed literal, in the statement's text (more
  than one row is PostgreSQL's error 21000; none is NULL).

What remains is planned again with the subplans' results in place, by the strategies and
exchanges that apply to it. A subquery is *uncorrelated* when every column it names is
one of its own: a qualified name whose table is in its FROM (at its level or an enclosing
one inside it), an unqualified name that one of those FROM items has (their columns must
be known). Anything unsure stays where it is. This module decides and rewrites text; the
executor (executor/subplans.py) runs the pieces.

An UPDATE or DELETE whose sub-selects carry FOR UPDATE/SHARE (`WHERE id = (SELECT id FROM
jobs ... LIMIT 1 FOR UPDATE SKIP LOCKED)`, the job queue), or a SELECT whose sub-selects
(not itself) do, splits the same way, for its
locks rather than its speed (`split_locking`): run where the statement runs, a locking
sub-select would lock the rows of a broadcast copy, or each node's own LIMIT of rows.
Each one runs first as a locking SELECT of its own, planned like any other (its rows
locked where they live, in the caller's transaction); a scalar one becomes its value, an
`IN`/`= ANY` one the list of its rows (`x IN (v1, v2)`, which the router can pin), a WITH
entry a scratch table. A locking clause left anywhere after that (a correlated or FROM
sub-select, EXISTS) is the caller's to refuse. A SELECT that no strategy runs with its
locks splits the same way (`WITH q AS (SELECT * FROM t ... FOR UPDATE) SELECT ... FROM q`);
its own FOR UPDATE/SHARE stays only where it locks something: one naming no relation over
a FROM of CTE references alone locks nothing in PostgreSQL, and is dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pglast import ast
from pglast.enums import SetOperation, SubLinkType
from pglast.stream import RawStream

from gridpg.catalog.model import DistTable
from gridpg.planner.gather import TableKey, _nodes
from gridpg.planner.plan import SCRATCH_SCHEMA
from gridpg.planner.twophase import figure_name
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident


@dataclass(frozen=True)
class Subplan:
    """One piece run before the statement: `kind` "table" (its rows into the scratch table
    named `marker`, with `columns`), "value" (its value replaces `marker` in the text) or
    "list" (its rows, as an IN list's items, replace `marker`)."""

    marker: str
    kind: str
    sql: str
    origin: str
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubplanSplit:
    """The subplans, in the order they run, and the statement that reads their results."""

    subplans: tuple[Subplan, ...]
    sql: str

    def describe(self) -> list[str]:
        lines = []
        for n, sub in enumerate(self.subplans, 1):
            into = {"table": f"rows into {SCRATCH_SCHEMA}.{sub.marker} ({', '.join(sub.columns)}) on every node",
                    "list": f"its rows replace the IN list {sub.marker}"}.get(sub.kind,
                                                                              f"its value replaces {sub.marker}")
            lines.append(f"  Subplan {n} ({sub.origin}, run first; {into}): {sub.sql}")
        lines.append(f"  Then: {self.sql}")
        return lines


def split_subplans(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                   new_marker: Callable[[str], str], small: Sequence[str] = ()) -> SubplanSplit | str:
    """The split of `sql`, or why there is none. `refs` maps the location of every
    reference to a distributed table to the table; `columns` gives each table's columns;
    `new_marker(kind)` hands out names that do not occur in the text; `small` holds the
    texts (as `in_subqueries` gives them) of the IN subqueries estimated to return few
    rows: those run first too, their rows shipped to every node as a table."""
    try:
        stmt = parse_sql(sql)[0].stmt
    except Exception:  # noqa: BLE001 - the caller parsed it already; be safe
        return "the statement does not parse on its own"
    if not isinstance(stmt, ast.SelectStmt) or stmt.lockingClause or stmt.intoClause:
        return "only a SELECT without FOR UPDATE/SHARE or INTO is split into subplans"
    scope = _Scope(refs, columns)
    subplans: list[Subplan] = []
    _pull_ctes(stmt, scope, new_marker, subplans)
    _pull_scalars(stmt, scope, new_marker, subplans)
    if small:
        _pull_in_lists(stmt, scope, new_marker, subplans, set(small))
    if not subplans:
        return "no uncorrelated CTE, scalar or small IN subquery reads a distributed table"
    return _split(stmt, subplans)


def split_locking(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                  new_marker: Callable[[str], str]) -> SubplanSplit | str:
    """The split of an UPDATE/DELETE, or of a SELECT whose own locking clause (if any) locks nothing,
    whose sub-selects lock rows (see the module docstring), or why there is none: then a
    locking clause would stay where only copies of the rows are, and the caller refuses
    the statement."""
    try:
        stmt = parse_sql(sql)[0].stmt
    except Exception:  # noqa: BLE001 - the caller parsed it already; be safe
        return "the statement does not parse on its own"
    if isinstance(stmt, ast.SelectStmt):
        if stmt.intoClause or stmt.op != SetOperation.SETOP_NONE:
            return "only a plain SELECT runs its locking sub-selects first"
        if stmt.lockingClause:
            if not _locks_nothing(stmt):
                return "the SELECT's own FOR UPDATE/SHARE locks rows where it runs"
            stmt.lockingClause = None
        target = None
    elif isinstance(stmt, (ast.UpdateStmt, ast.DeleteStmt)):
        target = stmt.relation.relname if stmt.relation.schemaname is None else None
    else:
        return "only the sub-selects of a SELECT, UPDATE or DELETE run first for their locks"
    scope = _Scope(refs, columns)
    subplans: list[Subplan] = []
    _drop_locks_of_ctes_only(stmt)
    _pull_ctes(stmt, scope, new_marker, subplans, wanted=lambda cte: _locks(cte.ctequery) and cte.ctename != target,
               star=True)
    _pull_scalars(stmt, scope, new_marker, subplans, wanted=_locks)
    _pull_locking_lists(stmt, scope, new_marker, subplans)
    if _locks(stmt):
        return ("FOR UPDATE/SHARE in a sub-select that cannot run first (only uncorrelated scalar, "
                "IN and WITH sub-selects do): it would lock copies of the rows")
    return _split(stmt, subplans)


def split_code_calls(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                     new_marker: Callable[[str], str], routines: frozenset[str]) -> SubplanSplit | str:
    """The split of a statement over distributed tables whose uncorrelated scalar
    sub-selects call user code (a routine named in `routines`, lower case), or why there is
    none. Left in the statement, such a sub-select's value would be computed for a remote
    query with the search_path postgres_fdw forces (executor/routines.py
    `_fdw_parameter_blocker`); run first as a statement of its own, the code runs with the
    session's path, as PostgreSQL runs an uncorrelated sub-select: once, before the rows
    that use its value. The sub-select need not read a distributed table itself."""
    try:
        stmt = parse_sql(sql)[0].stmt
    except Exception:  # noqa: BLE001 - the caller parsed it already; be safe
        return "the statement does not parse on its own"
    if isinstance(stmt, ast.SelectStmt) and (stmt.lockingClause or stmt.intoClause):
        return "a SELECT with FOR UPDATE/SHARE or INTO keeps its sub-selects"
    if not isinstance(stmt, (ast.SelectStmt, ast.UpdateStmt, ast.DeleteStmt)):
        return "only a SELECT, UPDATE or DELETE runs its sub-selects first"
    scope = _Scope(refs, columns)
    subplans: list[Subplan] = []

    def calls_code(sub: ast.SelectStmt) -> bool:
        return any(_sval(f.funcname[-1]).lower() in routines for f in _nodes(sub, ast.FuncCall))

    _pull_scalars(stmt, scope, new_marker, subplans, wanted=calls_code, reading=lambda sub: True)
    if not subplans:
        return "no uncorrelated scalar sub-select calls user code"
    return _split(stmt, subplans)


def split_write_scalars(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                        new_marker: Callable[[str], str]) -> SubplanSplit | str:
    """The split of a MERGE or UPDATE whose uncorrelated scalar sub-selects read
    distributed tables (`MERGE ... WHEN MATCHED AND t.x > (SELECT avg(x) FROM o)`, `UPDATE t
    SET key = (SELECT ...)`), or why there is none: each runs first as a statement of its
    own, once, as PostgreSQL runs an uncorrelated sub-select (an InitPlan), and the write
    runs with its value as a typed literal, planned as any write with a constant there
    (the nodes would otherwise read only their own rows, and a key's new value must be
    known to move the row)."""
    try:
        stmt = parse_sql(sql)[0].stmt
    except Exception:  # noqa: BLE001 - the caller parsed it already; be safe
        return "the statement does not parse on its own"
    if not isinstance(stmt, (ast.MergeStmt, ast.UpdateStmt)):
        return "only a MERGE or UPDATE runs its sub-selects first here"
    scope = _Scope(refs, columns)
    subplans: list[Subplan] = []

    def of_the_row(sub: ast.SelectStmt) -> bool:  # merge_action() is the MERGE row's own action
        return any(True for _ in _nodes(sub, ast.MergeSupportFunc))

    _pull_scalars(stmt, scope, new_marker, subplans, wanted=lambda sub: not of_the_row(sub))
    if not subplans:
        return "no uncorrelated scalar sub-select reads a distributed table"
    return _split(stmt, subplans)


def _split(stmt: ast.Node, subplans: list[Subplan]) -> SubplanSplit:
    """The split: the statement's text with each value or list marker standing as itself,
    not a subquery of it (`(SELECT m)` becomes `(m)`: two-phase finishes a value, an IN
    list is a list), after the subplans that fill them."""
    text = str(RawStream()(stmt))
    for sub in subplans:
        if sub.kind in ("value", "list"):
            text = text.replace(f"(SELECT {sub.marker})", f"({sub.marker})")
    return SubplanSplit(tuple(subplans), text)


def _locks(node: object) -> bool:
    """Whether a FOR UPDATE/SHARE clause is anywhere under `node`."""
    return any(s.lockingClause for s in _nodes(node, ast.SelectStmt))


def _drop_locks_of_ctes_only(stmt: ast.Node) -> None:
    """Remove FOR UPDATE/SHARE (without OF) from the sub-selects of the statement's body
    whose FROM items are all references to its WITH entries: PostgreSQL locks nothing
    there (a locking clause skips a CTE's rows; `FROM cte FOR UPDATE` is a plain read).
    The WITH entries' own bodies are left alone: there a name may be a table's."""
    with_clause = getattr(stmt, "withClause", None)
    names = {cte.ctename for cte in (with_clause.ctes if with_clause is not None else ())}
    if not names:
        return
    body = [v for k, v in ((k, getattr(stmt, k)) for k in stmt) if k != "withClause" and v is not None]
    for sub in _nodes(body, ast.SelectStmt):
        if not sub.lockingClause or any(c.lockedRels for c in sub.lockingClause) or not sub.fromClause:
            continue
        if all(isinstance(item, ast.RangeVar) and item.schemaname is None and item.relname in names
               for item in sub.fromClause):
            sub.lockingClause = None


def _pull_locking_lists(stmt: ast.Node, scope: _Scope, new_marker: Callable[[str], str],
                        out: list[Subplan]) -> None:
    """Each uncorrelated `x IN (SELECT ... FOR UPDATE)` (or `= ANY`) becomes a list subplan:
    the IN list of its rows, compared as PostgreSQL compares them to the subquery's rows
    (NULLs included; none: the executor puts a subquery without rows)."""
    for link in _outermost_sublinks(stmt):
        sub = link.subselect
        if link.subLinkType != SubLinkType.ANY_SUBLINK or not isinstance(sub, ast.SelectStmt) or not _locks(sub):
            continue
        if [getattr(n, "sval", None) for n in link.operName or ()] not in ([], ["="]):
            continue
        if not scope.reads_distributed(sub) or not scope.is_self_contained(sub):
            continue
        marker = new_marker("list")
        out.append(Subplan(marker, "list", str(RawStream()(sub)), "locking IN subquery"))
        link.operName = None
        _become_marker(link, marker)


# -- CTEs --------------------------------------------------------------------------------


def _pull_ctes(stmt: ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt, scope: _Scope,
               new_marker: Callable[[str], str], out: list[Subplan],
               wanted: Callable[[ast.CommonTableExpr], bool] = lambda cte: True, star: bool = False) -> None:
    """`star`: a CTE selecting `*` from one distributed table exposes that table's columns."""
    with_clause = stmt.withClause
    if with_clause is None or with_clause.recursive:
        return
    names = {cte.ctename for cte in with_clause.ctes}
    kept = []
    for cte in with_clause.ctes:
        query = cte.ctequery
        if _has_anonymous_row(query) and _inline_once(stmt, cte):
            continue  # (its rows have no table to be held in: read where it is named)
        columns = _output_names(query, cte.aliascolnames)
        if columns is None and star and wanted(cte):
            columns = _star_columns(query, scope, cte.aliascolnames)
        if not wanted(cte) or not isinstance(query, ast.SelectStmt) or columns is None \
                or not scope.reads_distributed(query) \
                or _names_relation(query, names) or _defines_cte_elsewhere(stmt, cte):
            kept.append(cte)
            continue
        marker = new_marker("cte")
        if cte.aliascolnames and _can_rename(query):
            for target, name in zip(query.targetList, columns):
                target.name = name
        text = str(RawStream()(query))
        if cte.aliascolnames and any(t.name != n for t, n in zip(query.targetList, columns)):
            text = f"SELECT * FROM ({text}) AS {quote_ident(cte.ctename)}({', '.join(map(quote_ident, columns))})"
        out.append(Subplan(marker, "table", text, f"CTE {cte.ctename}", columns))
        scope.scratch[marker] = frozenset(columns)
        _read_scratch(stmt, cte.ctename, marker)
    with_clause.ctes = tuple(kept) or None
    if not kept:
        stmt.withClause = None


def _has_anonymous_row(query: object) -> bool:
    """A CTE output column of type record (`ROW(a, b)`, `(a, b)`): a scratch table cannot
    hold it (42P16 "column has pseudo-type record")."""
    return isinstance(query, ast.SelectStmt) and query.op == SetOperation.SETOP_NONE \
        and any(isinstance(t.val, ast.RowExpr) for t in query.targetList or ())


def _inline_once(stmt: ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt, cte: ast.CommonTableExpr) -> bool:
    """Replace the one reference to a CTE by its query as a sub-select in FROM, as
    PostgreSQL inlines a CTE named once that is not MATERIALIZED, recursive or volatile
    (True); else nothing changes (False)."""
    from pglast.enums import CTEMaterialize
    from pglast.visitors import Visitor

    query = cte.ctequery
    if cte.ctematerialized == CTEMaterialize.CTEMaterializeAlways or not isinstance(query, ast.SelectStmt) \
            or query.lockingClause or _defines_cte_elsewhere(stmt, cte) or _mentions_volatile(query):
        return False
    refs = [r for r in _nodes(stmt, ast.RangeVar) if r.schemaname is None and r.relname == cte.ctename]
    if len(refs) != 1:
        return False
    target = refs[0]

    class Inline(Visitor):  # type: ignore[misc]
        def visit_RangeVar(self, _ancestors: object, node: ast.RangeVar) -> object:
            if node is not target:
                return None
            alias = ast.Alias(aliasname=node.alias.aliasname if node.alias else cte.ctename,
                              colnames=(node.alias.colnames if node.alias else None) or cte.aliascolnames)
            return ast.RangeSubselect(lateral=False, subquery=query, alias=alias)

    Inline()(stmt)
    return True


def _mentions_volatile(query: ast.SelectStmt) -> bool:
    """Calls PostgreSQL's inlining would not move (a volatile function: random(), nextval,
    clock_timestamp(), ...; a user function may be volatile too, so any call not known
    stable counts)."""
    known = {"row", "coalesce", "count", "sum", "min", "max", "avg", "lower", "upper", "abs", "round",
             "length", "concat", "now", "date_trunc", "extract", "array_agg", "string_agg", "jsonb_build_object",
             "json_build_object", "to_char", "nullif", "greatest", "least"}
    for call in _nodes(query, ast.FuncCall):
        name = call.funcname[-1].sval if call.funcname else ""
        if name.lower() not in known:
            return True
    return False


def _locks_nothing(stmt: ast.SelectStmt) -> bool:
    """Whether the SELECT's own FOR UPDATE/SHARE, naming no relation, applies to nothing:
    every FROM item (through joins) is a reference to one of its CTEs, which PostgreSQL's
    locking clause passes over (the CTE's own clause, if any, locks its rows)."""
    if any(c.lockedRels for c in stmt.lockingClause or ()) or stmt.withClause is None:
        return False
    ctes = {cte.ctename for cte in stmt.withClause.ctes}

    def only_ctes(item: object) -> bool:
        if isinstance(item, ast.JoinExpr):
            return only_ctes(item.larg) and only_ctes(item.rarg)
        return isinstance(item, ast.RangeVar) and item.schemaname is None and item.relname in ctes

    return bool(stmt.fromClause) and all(only_ctes(item) for item in stmt.fromClause)


def _star_columns(query: object, scope: _Scope, aliases: Sequence[ast.String] | None) -> tuple[str, ...] | None:
    """The columns of `SELECT * FROM t ...` over one distributed table t (no join), or None."""
    if not isinstance(query, ast.SelectStmt) or query.op != SetOperation.SETOP_NONE or aliases:
        return None
    targets = query.targetList or ()
    if len(targets) != 1 or not isinstance(targets[0].val, ast.ColumnRef) \
            or len(targets[0].val.fields) != 1 or not isinstance(targets[0].val.fields[0], ast.A_Star):
        return None
    if len(query.fromClause or ()) != 1 or not isinstance(query.fromClause[0], ast.RangeVar):
        return None
    table = scope.refs.get(query.fromClause[0].location)
    names = scope.columns.get(table.key) if table is not None else None
    return tuple(names) if names and len(set(names)) == len(names) else None


def _output_names(query: object, aliases: Sequence[ast.String] | None) -> tuple[str, ...] | None:
    """The column names a CTE exposes, or None when some cannot be told (`*`, duplicates)."""
    if not isinstance(query, ast.SelectStmt) or query.op != SetOperation.SETOP_NONE or query.valuesLists:
        return None
    names: list[str] = []
    for target in query.targetList or ():
        if isinstance(target.val, ast.ColumnRef) and isinstance(target.val.fields[-1], ast.A_Star):
            return None  # `*` or `t.*`: the columns are not known from the text
        names.append(target.name or figure_name(target.val) or "")
    for n, alias in enumerate(aliases or ()):
        if n < len(names):
            names[n] = alias.sval
    if "" in names or len(set(names)) != len(names):
        return None
    return tuple(names)


def _can_rename(query: ast.SelectStmt) -> bool:
    """Whether the CTE's column aliases can be its select list's own names (so the query
    stays one the strategies split, not a subquery in FROM): nothing refers to an output
    name by a bare name (ORDER BY, GROUP BY, DISTINCT ON), which a rename would change."""
    if query.sortClause:
        return False
    old = {t.name for t in query.targetList or () if t.name}
    for ref in _nodes((query.groupClause, query.distinctClause), ast.ColumnRef):
        fields = ref.fields or ()
        if len(fields) == 1 and isinstance(fields[0], ast.String) and fields[0].sval in old:
            return False
    return True


def _names_relation(query: ast.SelectStmt, names: set[str]) -> bool:
    return any(r.schemaname is None and r.relname in names for r in _nodes(query, ast.RangeVar))


def _defines_cte_elsewhere(stmt: ast.SelectStmt, cte: ast.CommonTableExpr) -> bool:
    """Another WITH inside the statement defines the same name: references are ambiguous."""
    return any(other is not cte and other.ctename == cte.ctename for other in _nodes(stmt, ast.CommonTableExpr))


def _read_scratch(stmt: ast.SelectStmt, name: str, marker: str) -> None:
    for ref in _nodes(stmt, ast.RangeVar):
        if ref.schemaname is None and ref.relname == name:
            if ref.alias is None:
                ref.alias = ast.Alias(aliasname=name)
            ref.schemaname = SCRATCH_SCHEMA
            ref.relname = marker


# -- scalar subqueries -------------------------------------------------------------------


def _pull_scalars(stmt: ast.Node, scope: _Scope, new_marker: Callable[[str], str],
                  out: list[Subplan], wanted: Callable[[ast.SelectStmt], bool] = lambda sub: True,
                  reading: Callable[[ast.SelectStmt], bool] | None = None) -> None:
    unnamed = {id(t.val): t for t in _nodes(stmt, ast.ResTarget) if t.name is None and isinstance(t.val, ast.SubLink)}
    # the names PostgreSQL gives the other unnamed output columns, kept where a scalar
    # subquery inside becomes a literal (`(SELECT m FROM t LIMIT 1)::text` is "m", not "text")
    figured = [(t, figure_name(t.val)) for t in _nodes(stmt, ast.ResTarget)
               if t.name is None and id(t.val) not in unnamed]
    # `ROW(a, b) = (SELECT ...)` compares the row with the sub-select's columns (PostgreSQL
    # makes it a row comparison): not a scalar, whatever its one column is
    compared = {id(e.rexpr) for e in _nodes(stmt, ast.A_Expr)
                if isinstance(e.lexpr, ast.RowExpr) and isinstance(e.rexpr, ast.SubLink)}
    for link in _outermost_sublinks(stmt):
        sub = link.subselect
        if link.subLinkType != SubLinkType.EXPR_SUBLINK or not isinstance(sub, ast.SelectStmt) or not wanted(sub):
            continue
        if id(link) in compared:
            continue
        if sub.op == SetOperation.SETOP_NONE and len(sub.targetList or ()) != 1:
            continue
        if not (reading or scope.reads_distributed)(sub) or not scope.is_self_contained(sub):
            continue
        marker = new_marker("val")
        out.append(Subplan(marker, "value", str(RawStream()(sub)), "scalar subquery"))
        target = unnamed.get(id(link))
        if target is not None:  # the output column keeps the name PostgreSQL gives it
            target.name = (_output_names(sub, None) or ("",))[0] or "?column?"
        _become_marker(link, marker)
    for target, name in figured:
        if figure_name(target.val) != name:
            target.name = name or "?column?"


# -- IN subqueries -----------------------------------------------------------------------

IN_COLUMN = "gridpg_in"  # the names of an IN subquery's columns in its scratch table: gridpg_in1, ...


def in_subqueries(sql: str, refs: Mapping[int, DistTable],
                  columns: Mapping[TableKey, Sequence[str]]) -> list[tuple[str, str]]:
    """The texts of the uncorrelated `x IN (SELECT ...)` / `x op ANY (SELECT ...)`
    subqueries of `sql` that read a distributed table, outermost first, each with the text
    its rows are estimated by (the one run first: `_distinct_form`): candidates to run
    first (the caller estimates their rows and passes the small ones to split_subplans)."""
    try:
        stmt = parse_sql(sql)[0].stmt
    except Exception:  # noqa: BLE001
        return []
    if not isinstance(stmt, ast.SelectStmt):
        return []
    scope = _Scope(refs, columns)
    out = []
    for link in _outermost_sublinks(stmt):
        if _is_candidate(link, scope):
            run = _distinct_form(link.subselect) if _is_set(link) else None
            out.append((str(RawStream()(link.subselect)), str(RawStream()(run or link.subselect))))
    return out


def _distinct_form(sub: ast.SelectStmt) -> ast.SelectStmt | None:
    """An IN subquery's `SELECT DISTINCT` form, whose rows are what the IN reads as a set
    (`x IN (SELECT g FROM big)`: 200,000 rows, 1,000 distinct values, small enough to run
    first, where the rows counted whole were not and the statement gathered every table
    whole into the catalog server); None when DISTINCT would change the rows (a LIMIT or
    OFFSET picks them, FOR UPDATE locks them) or says nothing (DISTINCT, GROUP BY)."""
    if not isinstance(sub, ast.SelectStmt) or sub.op != SetOperation.SETOP_NONE or sub.distinctClause \
            or sub.groupClause or sub.limitCount or sub.limitOffset or sub.lockingClause or sub.intoClause:
        return None
    sub = copy.deepcopy(sub)
    sub.sortClause = None  # (meaningless in an IN without LIMIT; DISTINCT wants its keys listed)
    sub.distinctClause = (None,)
    return sub


def _is_set(link: ast.SubLink) -> bool:
    """`x IN (SELECT ...)` / `x = ANY (SELECT ...)`: its rows count as a set, and their
    types have the equality DISTINCT needs (the comparison is one)."""
    names = [getattr(n, "sval", None) for n in (link.operName or ())]
    return names in (["="], ["pg_catalog", "="]) or link.operName is None


def _is_candidate(link: ast.SubLink, scope: _Scope) -> bool:
    sub = link.subselect
    return link.subLinkType == SubLinkType.ANY_SUBLINK and isinstance(sub, ast.SelectStmt) \
        and sub.op == SetOperation.SETOP_NONE and bool(sub.targetList) \
        and not any(isinstance(f, ast.A_Star) for t in sub.targetList for f in _nodes(t, ast.A_Star)) \
        and scope.reads_partitioned(sub) and scope.is_self_contained(sub)


def _pull_in_lists(stmt: ast.SelectStmt, scope: _Scope, new_marker: Callable[[str], str],
                   out: list[Subplan], small: set[str]) -> None:
    """Each small IN subquery becomes a table subplan: its rows (under the column names
    gridpg_in1..n) in a scratch table on every node; the IN reads that table instead. The
    comparison, NULLs included, is PostgreSQL's own over the same rows."""
    for link in _outermost_sublinks(stmt):
        if not _is_candidate(link, scope):
            continue
        sub = link.subselect
        text = str(RawStream()(sub))
        if text not in small:
            continue
        if not _can_rename(sub):
            continue
        names = tuple(f"{IN_COLUMN}{n}" for n in range(1, len(sub.targetList) + 1))
        for target, name in zip(sub.targetList, names):
            target.name = name  # not a wrapping SELECT *: it would hide which columns are used
        marker = new_marker("in")
        run = _distinct_form(sub) if _is_set(link) else None  # (estimated so: in_subqueries)
        out.append(Subplan(marker, "table", str(RawStream()(run or sub)), "IN subquery", names))
        scope.scratch[marker] = frozenset(names)
        link.subselect = ast.SelectStmt(
            targetList=tuple(ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=n),))) for n in names),
            fromClause=(ast.RangeVar(schemaname=SCRATCH_SCHEMA, relname=marker, inh=True, relpersistence="p"),),
            op=SetOperation.SETOP_NONE, limitOption=0, all=False, groupDistinct=False,
        )


def _outermost_sublinks(root: object) -> Iterator[ast.SubLink]:
    """Every SubLink under `root`, outer ones first (one replaced when yielded is not entered)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (tuple, list)):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, ast.Node):
            continue
        if isinstance(node, ast.SubLink):
            yield node
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, (ast.Node, tuple, list)):
                stack.append(value)


def _become_marker(link: ast.SubLink, marker: str) -> None:
    """Make the SubLink print as `(SELECT marker)`, which the split's text then holds as
    `(marker)`, and the executor as `(<literal>)`."""
    link.subselect = ast.SelectStmt(
        targetList=(ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=marker),))),),
        op=SetOperation.SETOP_NONE, limitOption=0, all=False, groupDistinct=False,
    )


# -- what a subquery's names resolve to --------------------------------------------------


class _Scope:
    """The statement's distributed tables, their columns and the scratch tables made so far."""

    def __init__(self, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]]) -> None:
        self.refs = refs
        self.columns = columns
        self.scratch: dict[str, frozenset[str]] = {}

    def reads_distributed(self, query: object) -> bool:
        return any(r.location in self.refs and r.schemaname != SCRATCH_SCHEMA for r in _nodes(query, ast.RangeVar))

    def reads_partitioned(self, query: object) -> bool:
        """Whether `query` reads a table that is not whole on every node (replicated tables
        and scratch tables are: running such a query first gains nothing)."""
        return any(r.location in self.refs and r.schemaname != SCRATCH_SCHEMA
                   and self.refs[r.location].method != "replication" for r in _nodes(query, ast.RangeVar))

    def is_self_contained(self, sub: ast.SelectStmt) -> bool:
        """Whether every column `sub` names is its own (see the module docstring)."""
        return self._level(sub, [])

    def _level(self, select: ast.SelectStmt, chain: list[list[tuple[str, frozenset[str] | None]]]) -> bool:
        if select.op != SetOperation.SETOP_NONE:
            return all(self._level(s, chain) for s in (select.larg, select.rarg) if isinstance(s, ast.SelectStmt))
        ctes = {c.ctename: _output_names(c.ctequery, c.aliascolnames) for c in
                (select.withClause.ctes if select.withClause else ())}
        for cte in (select.withClause.ctes if select.withClause else ()):
            if isinstance(cte.ctequery, ast.SelectStmt) and not self._level(cte.ctequery, chain):
                return False
        leaves: list[tuple[str, frozenset[str] | None]] = []
        for item in select.fromClause or ():
            if not self._leaves(item, chain, ctes, leaves):
                return False
        scopes = [leaves, *chain]
        aliases = {t.name for t in select.targetList or () if t.name}
        own = (select.targetList, select.whereClause, select.groupClause, select.havingClause,
               select.sortClause, select.limitCount, select.limitOffset, select.distinctClause,
               select.windowClause, _join_quals(select.fromClause))
        for ref in _refs_outside_subqueries(own):
            if not _resolves(ref, scopes, aliases):
                return False
        for link in _sublinks_outside_subqueries(own):
            if isinstance(link.subselect, ast.SelectStmt) and not self._level(link.subselect, scopes):
                return False
        return True

    def _leaves(self, item: object, chain: list[list[tuple[str, frozenset[str] | None]]],
                ctes: Mapping[str, tuple[str, ...] | None], out: list[tuple[str, frozenset[str] | None]]) -> bool:
        if isinstance(item, ast.JoinExpr):
            if item.alias is not None:
                return False
            return self._leaves(item.larg, chain, ctes, out) and self._leaves(item.rarg, chain, ctes, out)
        if isinstance(item, ast.RangeVar):
            known = item.location in self.refs or (item.schemaname is None and item.relname in ctes) \
                or (item.schemaname == SCRATCH_SCHEMA and item.relname in self.scratch)
            if not known:
                return False  # an enclosing query's CTE, or a table only the catalog server has
            exposed = item.alias.aliasname if item.alias is not None else item.relname
            out.append((exposed, self._relation_columns(item, ctes)))
            return True
        if isinstance(item, ast.RangeSubselect) and isinstance(item.subquery, ast.SelectStmt):
            if not item.lateral and not self._level(item.subquery, []):
                return False  # a FROM subquery sees no enclosing level except LATERAL
            if item.lateral and not self._level(item.subquery, chain):
                return False
            names = _output_names(item.subquery, item.alias.colnames if item.alias else None)
            out.append((item.alias.aliasname if item.alias else "", frozenset(names) if names else None))
            return True
        return False  # functions, table functions: their columns are not known here

    def _relation_columns(self, ref: ast.RangeVar, ctes: Mapping[str, tuple[str, ...] | None]) -> frozenset[str] | None:
        if ref.alias is not None and ref.alias.colnames:
            return None
        if ref.schemaname == SCRATCH_SCHEMA and ref.relname in self.scratch:
            return self.scratch[ref.relname]
        if ref.schemaname is None and ref.relname in ctes:
            names = ctes[ref.relname]
            return frozenset(names) if names else None
        table = self.refs.get(ref.location)
        if table is None:
            return None
        return frozenset(self.columns.get(table.key, ())) or None


def _join_quals(items: object) -> list[object]:
    return [j.quals for j in _nodes(items, ast.JoinExpr) if j.quals is not None]


def _refs_outside_subqueries(root: object) -> Iterator[ast.ColumnRef]:
    for node in _walk_level(root):
        if isinstance(node, ast.ColumnRef):
            yield node


def _sublinks_outside_subqueries(root: object) -> Iterator[ast.SubLink]:
    for node in _walk_level(root):
        if isinstance(node, ast.SubLink):
            yield node


def _walk_level(root: object) -> Iterator[object]:
    """Nodes of one query level: SubLinks are yielded but not entered, nor FROM subqueries."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (tuple, list)):
            stack.extend(node)
            continue
        if not isinstance(node, ast.Node) or isinstance(node, (ast.SelectStmt, ast.RangeSubselect)):
            continue
        yield node
        if isinstance(node, ast.SubLink):
            stack.append(node.testexpr)
            continue
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, (ast.Node, tuple, list)):
                stack.append(value)


def _resolves(ref: ast.ColumnRef, scopes: list[list[tuple[str, frozenset[str] | None]]],
              aliases: set[str]) -> bool:
    fields = ref.fields or ()
    if any(isinstance(f, ast.A_Star) for f in fields):
        return len(fields) == 1 or any(x[0] == _sval(fields[-2]) for level in scopes for x in level)
    names = [_sval(f) for f in fields]
    if len(names) >= 2:
        return any(x[0] == names[-2] for level in scopes for x in level)
    name = names[0]
    if name in aliases:
        return True
    for level in scopes:
        for _, cols in level:
            if cols is None:
                return False  # might be anyone's: unsure
            if name in cols:
                return True
        for exposed, _ in level:
            if exposed == name:
                return True  # a whole-row reference
    return False


def _sval(node: object) -> str:
    return node.sval if isinstance(node, ast.String) else ""
