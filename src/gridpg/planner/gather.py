"""What a statement needs from each distributed table it reads: columns and row filters. Pure.

The coordinator finish and the broadcast exchange copy distributed tables somewhere else
(catalog temp tables, datanode scratch tables) and run the statement there, on a copy that
stands for *every* reference to the table. This module reads the statement once and says,
per table, which columns any reference can touch and which rows any reference can see:

* **columns**: every column whose name occurs in the statement as a column reference or a
  JOIN ... USING name; all columns when a reference needs the whole row (`*`, `t.*`, a
  bare table name used as a value), renames columns by position (`t AS x(a, b)`), or
  joins with NATURAL (which joins on whatever names the tables share). A superset is
  always safe: dropping a column the statement used would be an error, never a wrong row.
* **filter**: the OR over the table's references of the AND of the conjuncts that filter
  that reference alone. A conjunct filters reference R when it comes from the WHERE of the
  SELECT whose FROM holds R, or from an inner join's ON above R, or from a LEFT/RIGHT
  join's ON when R is on its nullable side; and never when R is on the nullable side of an
  outer join below the conjunct (a WHERE test on a null-extended row, such as `IS NULL`,
  would change meaning). The conjunct must mention only R's columns (qualified by R's
  name, or unqualified and in no other FROM item of that SELECT, whose columns must all be
  known), and hold only constants, operators and immutable built-in functions: no
  subqueries (a subquery over a distributed table would see one node's rows), no volatile
  or time-dependent functions. When any reference of a table is not filtered, the table
  is copied unfiltered. The statement still applies every condition itself; the filter
  only spares moving rows no reference can use.

It must not do I/O: the caller passes each table's column names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.enums import JoinType, SubLinkType
from pglast.stream import RawStream

from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident, quote_qualified

TableKey = tuple[str, str]

# Immutable built-in functions a pushed filter may call (names as the parser reports them).
SAFE_FUNCTIONS = frozenset({
    "substring", "substr", "lower", "upper", "length", "char_length", "character_length",
    "octet_length", "abs", "round", "trunc", "floor", "ceil", "ceiling", "btrim", "ltrim",
    "rtrim", "extract", "date_part", "left", "right", "position", "strpos", "mod", "replace",
    "split_part", "starts_with", "md5", "sign", "sqrt", "power", "overlay", "reverse",
    "lpad", "rpad", "translate", "nullif", "like_escape", "array_length", "cardinality",
})
_SAFE_NODES = (
    ast.A_Expr, ast.BoolExpr, ast.NullTest, ast.BooleanTest, ast.TypeCast, ast.TypeName,
    ast.A_Const, ast.ColumnRef, ast.String, ast.Integer, ast.Float, ast.Boolean, ast.BitString,
    ast.CaseExpr, ast.CaseWhen, ast.CoalesceExpr, ast.MinMaxExpr, ast.ParamRef, ast.FuncCall,
    ast.A_ArrayExpr, ast.RowExpr, ast.CollateClause,
)


@dataclass(frozen=True)
class Needs:
    """What to copy of one table: `columns` (None: all of them) and a row `filter`
    (SQL over bare column names; None: every row)."""

    columns: tuple[str, ...] | None
    filter: str | None

    def select_sql(self, schema: str, name: str, all_columns: Sequence[str],
                   filtered: bool = True, computed: Sequence[tuple[str, str]] = (), only: bool = False) -> str:
        """`SELECT <columns> FROM [ONLY] schema.name [WHERE filter]`, run where the table
        lives; `computed`: (name, expression) of more columns."""
        names = self.columns if self.columns is not None else tuple(all_columns)
        cols = ", ".join([*(quote_ident(c) for c in names), *(f"{e} AS {quote_ident(n)}" for n, e in computed)]) or "*"
        sql = f"SELECT {cols} FROM {'ONLY ' if only else ''}{quote_qualified(schema, name)}"
        return sql + (f" WHERE {self.filter}" if self.filter and filtered else "")


def table_needs(sql: str, refs: Mapping[int, TableKey], columns: Mapping[TableKey, Sequence[str]],
                complete: frozenset[TableKey] = frozenset(),
                unfiltered: Mapping[TableKey, Collection[str]] | None = None) -> dict[TableKey, Needs]:
    """Per table: the columns and rows `sql` can use. `refs` maps the text location of each
    reference to a distributed table to the table; `columns` gives each table's columns;
    `complete` names the tables whole on every node the filters run on (replicated tables,
    subplan results): `x IN (SELECT c FROM complete_table)` may then filter too;
    `unfiltered` names columns no filter may read (OID-typed columns, whose numbers are the
    datanode's: planner/catalog_oids.py)."""
    stmt = parse_sql(sql)[0].stmt
    used = _Usage(refs)
    used.visit(stmt)
    filters: dict[int, list[str]] = {}
    whole = {loc: frozenset(columns.get(key, ())) for loc, key in refs.items() if key in complete}
    filterable = columns if not unfiltered else {
        key: [c for c in names if c not in unfiltered.get(key, ())] for key, names in columns.items()}
    for select in _nodes(stmt, ast.SelectStmt):
        _select_filters(select, refs, filterable, filters, whole, {})
    for location in _unread_locations(stmt, refs):
        filters.setdefault(location, []).insert(0, "false")
    out = {}
    for key in dict.fromkeys(refs.values()):
        table_columns = list(columns.get(key, ()))
        out[key] = Needs(_columns_for(key, table_columns, used), _filter_for(key, refs, filters))
    return out


def pushed_conjuncts(sql: str, refs: Mapping[int, TableKey],
                     columns: Mapping[TableKey, Sequence[str]]) -> dict[int, list[tuple[str, int]]]:
    """Per reference location: the conjuncts (node type name, text location) that go into
    its table's filter exactly as written (not OR-implied ones, none with a subquery). A
    copy of the table made with that filter satisfies them on every row, and they are
    never evaluated on a null-extended row of the reference (the rules above), so over
    such a copy each may read `true` (and the columns only they use need not move)."""
    stmt = parse_sql(sql)[0].stmt
    filters: dict[int, list[str]] = {}
    exact: dict[int, list[tuple[str, int]]] = {}
    for select in _nodes(stmt, ast.SelectStmt):
        _select_filters(select, refs, columns, filters, {}, exact)
    return exact


def _unread_locations(stmt: ast.Node, refs: Mapping[int, TableKey]) -> set[int]:
    """References PostgreSQL never reads: those under the FROM of a *degenerate grouping*
    (a HAVING with no GROUP BY and no aggregate: `SELECT 1 FROM t WHERE 1/a = 1 HAVING 1 < 2`).
    Its planner answers one row or none from the HAVING alone and scans no input
    (`create_degenerate_grouping_paths`), so the WHERE, which may fail on a row (22012),
    is never evaluated; a copy of no rows keeps that. Any function call in the select list,
    HAVING or ORDER BY (or their subqueries, where an outer aggregate may hide) counts as
    a possible aggregate: the rule is then not applied, and rows are read as before."""
    out: set[int] = set()
    for select in _nodes(stmt, ast.SelectStmt):
        if select.havingClause is None or select.groupClause or not select.fromClause:
            continue
        final = (select.targetList, select.havingClause, select.sortClause, select.distinctClause)
        if any(True for _ in _nodes(final, ast.FuncCall | ast.GroupingFunc | ast.JsonArrayAgg | ast.JsonObjectAgg)):
            continue
        out.update(r.location for r in _nodes(select.fromClause, ast.RangeVar) if r.location in refs)
    return out


def _node_key(node: Any) -> tuple[str, int] | None:
    location = getattr(node, "location", None)
    if not isinstance(location, int) or location < 0 or any(True for _ in _nodes(node, ast.SubLink)):
        return None
    return (type(node).__name__, location)


# -- columns ---------------------------------------------------------------------------


class _Usage:
    """Column names the statement mentions, and tables that need whole rows."""

    def __init__(self, refs: Mapping[int, TableKey]) -> None:
        self.refs = refs
        self.names: set[str] = set()
        self.single: set[str] = set()  # one-field column references: a column or a whole row
        self.everything = False  # `*` or NATURAL: every column of every table
        self.whole: set[TableKey] = set()  # tables renamed by position
        self.exposed: dict[str, set[TableKey]] = {}
        self.qualified: set[tuple[str, str]] = set()  # `x.name`: a column, or `name(x)`

    def visit(self, stmt: ast.Node) -> None:
        ignored = _exists_stars(stmt)
        for node in _nodes(stmt, ast.Node):
            if isinstance(node, ast.ColumnRef):
                fields = node.fields or ()
                if any(isinstance(f, ast.A_Star) for f in fields) and id(node) not in ignored:
                    self.everything = True
                strings = [f.sval for f in fields if isinstance(f, ast.String)]
                if strings:
                    self.names.add(strings[-1])
                if len(strings) == 1:
                    self.single.add(strings[0])
                elif len(strings) == 2 and len(fields) == 2:
                    self.qualified.add((strings[0], strings[1]))
            elif isinstance(node, ast.JoinExpr):
                self.everything |= bool(node.isNatural)
                for name in node.usingClause or ():
                    self.names.add(name.sval)
                if node.alias is not None and node.alias.colnames:
                    # `(a CROSS JOIN b) AS x (c1, c2, ...)` renames the join's columns by
                    # position: every column of the tables inside it counts (42P10 when
                    # a copy of fewer columns was joined)
                    for inner in _nodes(node, ast.RangeVar):
                        if inner.location in self.refs:
                            self.whole.add(self.refs[inner.location])
            elif isinstance(node, ast.RangeVar):
                self._range_var(node)

    def _range_var(self, node: ast.RangeVar) -> None:
        key = self.refs.get(node.location)
        if key is None:
            return
        alias = node.alias
        exposed = alias.aliasname if alias is not None else node.relname
        self.exposed.setdefault(exposed, set()).add(key)
        if alias is not None and alias.colnames:
            self.whole.add(key)


def _exists_stars(stmt: ast.Node) -> set[int]:
    """`*` in the select list of an EXISTS subquery: it reads no column."""
    out = set()
    for link in _nodes(stmt, ast.SubLink):
        if link.subLinkType == SubLinkType.EXISTS_SUBLINK and isinstance(link.subselect, ast.SelectStmt):
            for target in link.subselect.targetList or ():
                if isinstance(target.val, ast.ColumnRef) and len(target.val.fields) == 1:
                    out.add(id(target.val))
    return out


def _columns_for(key: TableKey, table_columns: list[str], used: _Usage) -> tuple[str, ...] | None:
    whole_row = any(key in used.exposed.get(name, ()) for name in used.single) or any(
        # attribute notation: `p.hobbies` with no such column is `hobbies(p)`, a whole row
        key in used.exposed.get(name, ()) and field not in table_columns for name, field in used.qualified)
    if used.everything or key in used.whole or whole_row or not table_columns:
        return None
    chosen = tuple(c for c in table_columns if c in used.names)
    return chosen or tuple(table_columns[:1])  # count(*): rows matter, not values


# -- filters ---------------------------------------------------------------------------


@dataclass
class _Leaf:
    """A FROM item of one SELECT: a table reference (location) or something else."""

    exposed: str
    location: int | None  # the reference's location when it is a distributed table
    columns: frozenset[str] | None  # None: not known (subquery, CTE, function, local table)


def _select_filters(select: ast.SelectStmt, refs: Mapping[int, TableKey],
                    columns: Mapping[TableKey, Sequence[str]], out: dict[int, list[str]],
                    whole: Mapping[int, frozenset[str]], exact: dict[int, list[tuple[str, int]]]) -> None:
    items = select.fromClause or ()
    if not items:
        return
    leaves: list[_Leaf] = []
    for item in items:
        _leaves(item, refs, columns, leaves)
    where = _conjuncts(select.whereClause)
    for item in items:
        _push(item, where, leaves, out, whole, exact)


def _leaves(item: Any, refs: Mapping[int, TableKey], columns: Mapping[TableKey, Sequence[str]],
            out: list[_Leaf]) -> None:
    if isinstance(item, ast.JoinExpr):
        _leaves(item.larg, refs, columns, out)
        _leaves(item.rarg, refs, columns, out)
        return
    alias = getattr(item, "alias", None)
    if isinstance(item, ast.RangeVar):
        key = refs.get(item.location)
        exposed = alias.aliasname if alias is not None else item.relname
        known = None if key is None or (alias is not None and alias.colnames) else frozenset(columns.get(key, ()))
        out.append(_Leaf(exposed, item.location if key is not None else None, known or None))
        return
    out.append(_Leaf(alias.aliasname if alias is not None else "", None, None))


def _push(item: Any, conds: list[Any], leaves: list[_Leaf], out: dict[int, list[str]],
          whole: Mapping[int, frozenset[str]], exact: dict[int, list[tuple[str, int]]]) -> None:
    """Record, for each table reference under `item`, the conjuncts that filter it (and in
    `exact`, those pushed as they are, no subquery in them: see pushed_conjuncts)."""
    if isinstance(item, ast.RangeVar):
        leaf = next((x for x in leaves if x.location == item.location and x.location is not None), None)
        if leaf is None:
            return
        mine = out.setdefault(item.location, [])
        for cond in conds:
            text = _pushable_text(cond, leaf, leaves, whole)
            if text is not None:
                mine.append(text)
                if _own_text(cond, leaf, leaves, {}) is not None and _node_key(cond) is not None:
                    exact.setdefault(item.location, []).append(_node_key(cond))  # type: ignore[arg-type]
        return
    if not isinstance(item, ast.JoinExpr):
        return
    quals = _conjuncts(item.quals)
    kind = item.jointype
    if kind == JoinType.JOIN_INNER:
        _push(item.larg, conds + quals, leaves, out, whole, exact)
        _push(item.rarg, conds + quals, leaves, out, whole, exact)
    elif kind == JoinType.JOIN_LEFT:
        _push(item.larg, conds, leaves, out, whole, exact)
        _push(item.rarg, quals, leaves, out, whole, exact)
    elif kind == JoinType.JOIN_RIGHT:
        _push(item.larg, quals, leaves, out, whole, exact)
        _push(item.rarg, conds, leaves, out, whole, exact)
    # FULL (and anything else): nothing filters either side


def _pushable_text(cond: Any, leaf: _Leaf, leaves: list[_Leaf],
                   whole: Mapping[int, frozenset[str]] | None = None) -> str | None:
    """The conjunct over bare column names when it filters `leaf` alone and is safe; for an
    OR over several tables, the OR of what each disjunct implies of `leaf` alone."""
    text = _own_text(cond, leaf, leaves, whole or {})
    if text is None and isinstance(cond, ast.BoolExpr) and cond.boolop == 1:  # OR_EXPR
        return _implied_by_or(cond, leaf, leaves, whole or {})
    return text


def _implied_by_or(cond: ast.BoolExpr, leaf: _Leaf, leaves: list[_Leaf],
                   whole: Mapping[int, frozenset[str]]) -> str | None:
    """PostgreSQL's "extract restriction OR clauses": `(a1 AND j1) OR (a2 AND j2)`, where
    a1 and a2 filter `leaf` alone, implies `a1 OR a2` for it. A row the OR accepts makes
    some disjunct true, hence every conjunct of it, hence that disjunct's part for `leaf`;
    so the implied filter drops only rows the OR rejects (NULL and FALSE alike). None when
    some disjunct says nothing about `leaf` alone."""
    parts = []
    for disjunct in cond.args:
        mine = [t for t in (_pushable_text(c, leaf, leaves, whole) for c in _conjuncts(disjunct)) if t is not None]
        if not mine:
            return None
        parts.append(" AND ".join(dict.fromkeys(mine)))
    return "(" + " OR ".join(f"({p})" for p in dict.fromkeys(parts)) + ")"


def _own_text(cond: Any, leaf: _Leaf, leaves: list[_Leaf], whole: Mapping[int, frozenset[str]]) -> str | None:
    """The conjunct over bare column names when it filters `leaf` alone and is safe."""
    refs = []
    lists = [link for link in _nodes(cond, ast.SubLink) if _is_complete_list(link, whole)]
    skip = {id(link.subselect) for link in lists}
    for node in _nodes(cond, ast.Node, skip):
        if isinstance(node, ast.SubLink) and id(node.subselect) in skip:
            continue
        if not isinstance(node, _SAFE_NODES):
            return None
        if isinstance(node, ast.FuncCall) and not _is_safe_function(node):
            return None
        if isinstance(node, ast.TypeName) and _is_unsafe_type(node):
            return None
        if isinstance(node, ast.ColumnRef):
            refs.append(node)
    if not refs or not all(_resolves_to(ref, leaf, leaves) for ref in refs):
        return None
    stripped = _strip_qualifiers(cond)
    return "(" + str(RawStream()(stripped)) + ")"


def _is_complete_list(link: ast.SubLink, whole: Mapping[int, frozenset[str]]) -> bool:
    """`expr IN (SELECT c1, ... FROM t)`: t whole on every node (`whole`: location ->
    columns), a select list of t's bare columns and nothing else in the subquery. It means
    the same on every node, so it filters like a constant list (NULLs included: it is the
    same IN over the same rows)."""
    sub = link.subselect
    if link.subLinkType != SubLinkType.ANY_SUBLINK or not isinstance(sub, ast.SelectStmt):
        return False
    if sub.op or sub.whereClause or sub.groupClause or sub.havingClause or sub.limitCount or sub.limitOffset \
            or sub.withClause or sub.distinctClause or sub.windowClause or sub.valuesLists or sub.sortClause:
        return False
    items = sub.fromClause or ()
    if len(items) != 1 or not isinstance(items[0], ast.RangeVar) or items[0].location not in whole \
            or (items[0].alias is not None and items[0].alias.colnames):
        return False
    known = whole[items[0].location]
    for target in sub.targetList or ():
        val = target.val
        if not (isinstance(val, ast.ColumnRef) and len(val.fields) == 1 and isinstance(val.fields[0], ast.String)
                and val.fields[0].sval in known):
            return False
    return bool(sub.targetList)


def _is_safe_function(node: ast.FuncCall) -> bool:
    if node.agg_star or node.agg_distinct or node.over is not None or node.agg_filter is not None:
        return False
    names = [n.sval for n in node.funcname]
    if len(names) > 1 and names[0] != "pg_catalog":
        return False
    return names[-1].lower() in SAFE_FUNCTIONS


def _is_unsafe_type(node: ast.TypeName) -> bool:
    names = [n.sval.lower() for n in node.names or () if isinstance(n, ast.String)]
    return bool(names) and names[-1].startswith("reg")  # regclass & co. read the catalog


def _resolves_to(ref: ast.ColumnRef, leaf: _Leaf, leaves: list[_Leaf]) -> bool:
    fields = ref.fields or ()
    if not all(isinstance(f, ast.String) for f in fields):
        return False
    names = [f.sval for f in fields]
    if len(names) >= 2:
        return names[-2] == leaf.exposed and sum(1 for x in leaves if x.exposed == leaf.exposed) == 1 \
            and leaf.columns is not None and names[-1] in leaf.columns
    name = names[0]
    if leaf.columns is None or name not in leaf.columns:
        return False
    for other in leaves:
        if other is leaf:
            continue
        if other.columns is None or name in other.columns:
            return False
    return True


def _strip_qualifiers(cond: Any) -> Any:
    """A copy of the conjunct whose column references are bare column names."""
    copy = parse_sql("SELECT " + str(RawStream()(cond)))[0].stmt.targetList[0].val
    for node in _nodes(copy, ast.ColumnRef):
        node.fields = node.fields[-1:]
    return copy


def _filter_for(key: TableKey, refs: Mapping[int, TableKey],
                filters: Mapping[int, list[str]]) -> str | None:
    parts = []
    for location, table in refs.items():
        if table != key:
            continue
        conds = filters.get(location)
        if not conds:
            return None  # this reference sees every row
        parts.append(" AND ".join(dict.fromkeys(conds)))
    unique = list(dict.fromkeys(parts))
    if len(unique) == 1:
        return unique[0]
    return " OR ".join(f"({p})" for p in unique) if unique else None


# -- tree helpers ----------------------------------------------------------------------


def _conjuncts(node: Any) -> list[Any]:
    if node is None:
        return []
    if isinstance(node, ast.BoolExpr) and node.boolop == 0:  # AND_EXPR
        out = []
        for arg in node.args:
            out.extend(_conjuncts(arg))
        return out
    return [node]


def _nodes(root: Any, kind: type, skip: set[int] | None = None) -> Iterator[Any]:
    """Every node of `kind` under `root`, root included, depth first; not entering the
    nodes whose id() is in `skip`."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (tuple, list)):
            stack.extend(node)
            continue
        if not isinstance(node, ast.Node) or (skip and id(node) in skip):
            continue
        if isinstance(node, kind):
            yield node
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, (ast.Node, tuple, list)):
                stack.append(value)


# -- primary keys of copies -------------------------------------------------------------


def kept_primary_keys(sql: str, primary_keys: Mapping[TableKey, Sequence[str]],
                      needs: Mapping[TableKey, Needs]) -> dict[TableKey, tuple[str, ...]]:
    """Per copied table: the primary key its copy must carry. PostgreSQL lets a query that
    groups by a table's primary key name the table's other columns outside aggregates
    (functional dependency: `GROUP BY c.id` selecting `c.name`); over a copy without the
    key it would refuse that query (42803). Kept only where some GROUP BY lists every key
    column and the copy has them all."""
    grouped = _grouped_names(sql)
    out = {}
    for key, columns in primary_keys.items():
        need = needs.get(key)
        if not columns or need is None or not set(columns) <= grouped:
            continue
        if need.columns is None or set(columns) <= set(need.columns):
            out[key] = tuple(columns)
    return out


def _grouped_names(sql: str) -> frozenset[str]:
    """The column names (last field) every GROUP BY of `sql` lists directly, or by the
    position of an output column that is one (`SELECT c.id, c.name ... GROUP BY 1`)."""
    names = set()
    for select in _nodes(parse_sql(sql)[0].stmt, ast.SelectStmt):
        targets = select.targetList or ()
        for item in select.groupClause or ():
            if isinstance(item, ast.A_Const) and isinstance(item.val, ast.Integer) \
                    and 0 < item.val.ival <= len(targets):
                item = targets[item.val.ival - 1].val
            if isinstance(item, ast.ColumnRef) and isinstance(item.fields[-1], ast.String):
                names.add(item.fields[-1].sval)
    return frozenset(names)


# -- correlation keys ------------------------------------------------------------------


def correlation_keys(sql: str, refs: Mapping[int, TableKey],
                     columns: Mapping[TableKey, Sequence[str]]) -> dict[TableKey, list[tuple[str, ...]]]:
    """Per table: the column lists a subquery looks its rows up by (`inner.col = outer.col`
    conjuncts of a subquery's WHERE). A gathered copy indexed on them keeps a correlated
    subquery from scanning the whole copy once per outer row."""
    stmt = parse_sql(sql)[0].stmt
    out: dict[TableKey, list[tuple[str, ...]]] = {}
    joins = _joined_exists(stmt)
    for link in _nodes(stmt, ast.SubLink):
        sub = link.subselect
        if not isinstance(sub, ast.SelectStmt) or not sub.fromClause or id(link) in joins:
            continue
        leaves: list[_Leaf] = []
        for item in sub.fromClause:
            _leaves(item, refs, columns, leaves)
        per_leaf: dict[int, list[str]] = {}
        for cond in _conjuncts(sub.whereClause):
            if not (isinstance(cond, ast.A_Expr) and cond.kind == 0 and len(cond.name) == 1
                    and cond.name[0].sval == "=" and isinstance(cond.lexpr, ast.ColumnRef)
                    and isinstance(cond.rexpr, ast.ColumnRef)):
                continue
            for inner, outer in ((cond.lexpr, cond.rexpr), (cond.rexpr, cond.lexpr)):
                leaf = next((x for x in leaves if x.location is not None and _resolves_to(inner, x, leaves)), None)
                if leaf is not None and leaf.location is not None and _is_outer(outer, leaves):
                    per_leaf.setdefault(leaf.location, []).append(inner.fields[-1].sval)
        for location, cols in per_leaf.items():
            keys = out.setdefault(refs[location], [])
            key = tuple(dict.fromkeys(cols))
            if key not in keys:
                keys.append(key)
    return out


def _joined_exists(stmt: ast.Node) -> set[int]:
    """The EXISTS / NOT EXISTS subqueries PostgreSQL turns into a semi or anti join (a
    top-level WHERE conjunct over a plain subquery: no grouping, aggregate, window, limit,
    DISTINCT, set operation or CTE): they are not looked up row by row, so a copy they
    read needs no index (a hash join over a fresh small copy beats building one)."""
    out: set[int] = set()
    for select in _nodes(stmt, ast.SelectStmt):
        for cond in _conjuncts(select.whereClause):
            if isinstance(cond, ast.BoolExpr) and cond.boolop == 2 and len(cond.args) == 1:  # NOT
                cond = cond.args[0]
            if not isinstance(cond, ast.SubLink) or cond.subLinkType != SubLinkType.EXISTS_SUBLINK:
                continue
            sub = cond.subselect
            if isinstance(sub, ast.SelectStmt) and _is_plain_subquery(sub):
                out.add(id(cond))
    return out


def _is_plain_subquery(sub: ast.SelectStmt) -> bool:
    if sub.op != 0 or sub.groupClause or sub.havingClause or sub.limitCount or sub.limitOffset \
            or sub.windowClause or sub.distinctClause is not None or sub.withClause or sub.valuesLists:
        return False
    return not any(call.agg_star or call.agg_distinct or call.over is not None or call.agg_filter is not None
                   or call.funcname[-1].sval.lower() in ("count", "sum", "avg", "min", "max")
                   for call in _nodes(sub.targetList, ast.FuncCall))


def _is_outer(ref: ast.ColumnRef, leaves: list[_Leaf]) -> bool:
    """Whether a column reference of a subquery names a column of an enclosing query."""
    fields = ref.fields or ()
    if not fields or not all(isinstance(f, ast.String) for f in fields):
        return False
    names = [f.sval for f in fields]
    if len(names) >= 2:
        return not any(x.exposed == names[-2] for x in leaves)
    return all(x.columns is not None and names[0] not in x.columns for x in leaves)
