"""Two-phase aggregation: split one aggregate SELECT into a partial and a final query.

Owns the rewrite of strategy 3 of the planner (DESIGN.md section 4). The *partial* query
runs unchanged on every datanode, over that node's part of each table; its rows are
loaded into one temporary table on the catalog server, which creates that table itself
(`CREATE TEMP TABLE <tmp> AS <partial> WITH NO DATA`, so column types are exact). The
*final* query reads only that temporary table: it combines the partial aggregates and
applies HAVING, ORDER BY, LIMIT/OFFSET, DISTINCT and every expression over aggregates.

Two shapes of partial query are produced:

* combine: the partial groups by the GROUP BY expressions (plus the arguments of any
  DISTINCT aggregate) and computes decomposable partial aggregates (count, sum, min, max,
  bool_and/or, sum+count for avg, count/sum/sum-of-squares for the variance family);
* raw: when string_agg or array_agg appear, the partial ships one row per input row
  (group keys and aggregate arguments) and the final query runs the original aggregates.

The result is only SQL text, made by pglast's deparser; a statement this module cannot
split exactly returns `NotApplicable` with a reason (the caller then uses a slower,
always-correct strategy). Pure: no I/O, no catalog access, no server round trips. It
must not guess: whatever cannot be proven equivalent without the catalog is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind, SetOperation, SubLinkType
from pglast.parser import ParseError
from pglast.stream import RawStream

from gridpg.sql.parse import parse_sql


@dataclass(frozen=True)
class TwoPhasePlan:
    partial_sql: str  # runs unchanged on every datanode
    final_sql: str  # runs on the catalog server, reading FROM the temp table


@dataclass(frozen=True)
class NotApplicable:
    reason: str  # human-readable, shown by EXPLAIN VERBOSE


def build_two_phase(sql: str, temp_table: str, complete_subqueries: bool = False,
                    final_from: bool = False,
                    foreign_type_columns: frozenset[str] = frozenset(),
                    shadowed_aggregates: frozenset[str] = frozenset()) -> TwoPhasePlan | NotApplicable:
    """Split `sql` (one SELECT) into a partial and a final query, or say why not.

    `temp_table` is an already-quoted name such as `pg_temp.gp_agg_1`; the final query
    reads from it. Raises ValueError only for a malformed `temp_table` (a caller bug).
    `complete_subqueries` says that every subquery sees, on each datanode, all the rows it
    needs (broadcast copies, or tables colocated on a correlation with the node's rows), so
    aggregates inside subqueries are exact there. `final_from` says that the rows of the
    statement's FROM subquery are final on each datanode (it groups by the partitioning
    column of an exchange's anchor: every group is complete on one node).
    `foreign_type_columns` names the columns whose type is not PostgreSQL's own (pgvector's
    vector, ...): avg and the variance family over them are not split (their partials are
    sums and casts of PostgreSQL's numeric types: `avg(embedding)` failed with 42883).
    `shadowed_aggregates` names PostgreSQL's aggregates that a user's function overloads
    (`CREATE AGGREGATE sum(text)`): a call of such a name, unqualified, may be the user's,
    whose partials PostgreSQL's combining step would misread (not split).
    """
    temp = _parse_temp_table(temp_table)
    try:
        stmt = _parse_select(sql)
        _ensure_splittable(stmt, complete_subqueries, final_from)
        _ensure_not_shadowed(stmt, shadowed_aggregates)
        return _Splitter(stmt, temp, foreign_type_columns=foreign_type_columns).build()
    except _Refusal as refusal:
        return NotApplicable(refusal.reason)


# -- what is supported -----------------------------------------------------------------

COMBINED = frozenset({
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every",
    "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop",
})
SHIPPED = frozenset({"string_agg", "array_agg"})  # need their input rows in the final step
SUPPORTED = COMBINED | SHIPPED

# Built-in aggregates we do not split; a call with aggregate syntax (*, DISTINCT, ORDER BY,
# FILTER, WITHIN GROUP) and any other name is refused too.
_UNSUPPORTED = frozenset({
    "percentile_cont", "percentile_disc", "mode", "rank", "dense_rank", "percent_rank",
    "cume_dist", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
    "json_agg_strict", "jsonb_agg_strict", "json_object_agg_strict",
    "jsonb_object_agg_strict", "json_object_agg_unique", "jsonb_object_agg_unique",
    "json_object_agg_unique_strict", "jsonb_object_agg_unique_strict", "xmlagg",
    "bit_and", "bit_or", "bit_xor", "corr", "covar_pop", "covar_samp", "regr_avgx",
    "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx",
    "regr_sxy", "regr_syy", "any_value", "range_agg", "range_intersect_agg",
})

# Plain functions allowed in the final query around aggregates and group keys. Anything
# else might be a user-defined aggregate, which would then run over partial rows.
SCALAR_FUNCTIONS = frozenset({
    "abs", "round", "trunc", "ceil", "ceiling", "floor", "sqrt", "cbrt", "power", "pow",
    "exp", "ln", "log", "log10", "mod", "sign", "div", "scale", "width_bucket",
    "numeric", "float8", "float4", "int4", "int8", "int2", "text", "date",
    "lower", "upper", "length", "char_length", "character_length", "octet_length",
    "concat", "concat_ws", "substr", "substring", "left", "right", "lpad", "rpad",
    "btrim", "ltrim", "rtrim", "replace", "format", "to_char", "to_number", "to_date",
    "to_timestamp", "md5", "initcap", "reverse", "repeat", "strpos", "position",
    "split_part", "starts_with", "date_trunc", "date_part", "extract", "age",
    "make_date", "timezone", "array_length", "cardinality", "array_to_string",
    "num_nonnulls", "num_nulls", "justify_days", "justify_hours", "justify_interval",
    "isfinite",
})

_VARIANCE_SAMPLE = frozenset({"stddev", "stddev_samp", "variance", "var_samp"})
_STDDEV = frozenset({"stddev", "stddev_samp", "stddev_pop"})
_VARIANCE_FAMILY = frozenset({"stddev", "stddev_samp", "stddev_pop", "variance",
                              "var_samp", "var_pop"})


class _Refusal(Exception):
    """Raised deep inside the tree walk; turned into NotApplicable at the entry point."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- parsing and the shape checks --------------------------------------------------------

def _parse_temp_table(temp_table: str) -> ast.RangeVar:
    try:
        stmts = parse_sql(f"SELECT FROM {temp_table}")  # already quoted by the caller
    except ParseError as exc:
        raise ValueError(f"bad temp table name {temp_table!r}: {exc}") from None
    from_clause = stmts[0].stmt.fromClause if len(stmts) == 1 else None
    if not from_clause or len(from_clause) != 1 or not isinstance(from_clause[0], ast.RangeVar):
        raise ValueError(f"bad temp table name {temp_table!r}")
    rel = from_clause[0]
    if rel.alias is not None or rel.catalogname:
        raise ValueError(f"bad temp table name {temp_table!r}")
    return rel


def _parse_select(sql: str) -> ast.SelectStmt:
    try:
        stmts = parse_sql(sql)
    except ParseError as exc:
        raise _Refusal(f"syntax error: {exc}") from None
    if len(stmts) != 1 or not isinstance(stmts[0].stmt, ast.SelectStmt):
        raise _Refusal("not a single SELECT statement")
    return stmts[0].stmt


def _ensure_splittable(stmt: ast.SelectStmt, complete_subqueries: bool = False,
                       final_from: bool = False) -> None:
    if stmt.op != SetOperation.SETOP_NONE:
        raise _Refusal("set operations (UNION/INTERSECT/EXCEPT) are not split")
    if stmt.valuesLists:
        raise _Refusal("VALUES lists are not split")
    if stmt.withClause is not None:
        raise _Refusal("WITH (common table expressions) is not split")
    if stmt.intoClause is not None:
        raise _Refusal("SELECT INTO is not split")
    if stmt.lockingClause:
        raise _Refusal("FOR UPDATE/SHARE is not split")
    if stmt.windowClause or any(_is_window_call(n) for n in _walk(stmt)):
        raise _Refusal("window functions are not split")
    if any(isinstance(n, ast.GroupingSet) for n in _walk(stmt.groupClause)) or stmt.groupDistinct:
        raise _Refusal("GROUPING SETS, ROLLUP and CUBE are not split")
    if any(isinstance(n, ast.GroupingFunc) for n in _walk(stmt)):
        raise _Refusal("GROUPING() is not split")
    if any(isinstance(n, ast.JsonArrayAgg | ast.JsonObjectAgg) for n in _walk(stmt)):
        raise _Refusal("JSON_ARRAYAGG / JSON_OBJECTAGG are not split")
    if any(isinstance(n, ast.JsonArrayQueryConstructor) for n in _walk(stmt)):
        # a subquery that is no SubLink in the raw tree: its aggregates are not the statement's
        raise _Refusal("JSON_ARRAY(SELECT ...) is not split")
    if not final_from:
        _ensure_from_is_row_local(stmt, complete_subqueries)
    _ensure_input_order_kept(stmt)
    _ensure_no_misplaced_aggregates(stmt, complete_subqueries)
    if not stmt.groupClause and not any(_is_aggregate(n) for n in _walk(_final_parts(stmt))):
        raise _Refusal("no aggregates and no GROUP BY: nothing to combine")


def _ensure_not_shadowed(stmt: ast.SelectStmt, shadowed: frozenset[str]) -> None:
    """No call, unqualified or of another schema than pg_catalog, of a name a user's
    function shares with PostgreSQL's aggregates: which one it resolves to depends on the
    argument types and the search_path, which the rewrite does not see."""
    for node in _walk(stmt):
        if isinstance(node, ast.FuncCall):
            schema, name = _func_name(node)
            if name in shadowed and schema != "pg_catalog":
                raise _Refusal(f"a function of the user's is also named {name}")


# Aggregates whose result depends on the order of their input rows.
_ORDER_SENSITIVE = frozenset({"array_agg", "string_agg", "json_agg", "jsonb_agg", "json_object_agg",
                              "jsonb_object_agg", "xmlagg", "json_agg_strict", "jsonb_agg_strict",
                              "json_object_agg_strict", "jsonb_object_agg_strict"})


def _ensure_input_order_kept(stmt: ast.SelectStmt) -> None:
    """`array_agg(x) FROM (SELECT x ... ORDER BY y) s`: PostgreSQL feeds the aggregate in the
    subquery's order, which users rely on; concatenated per-node partials would not keep it."""
    sorted_from = any(isinstance(n, ast.RangeSubselect) and isinstance(n.subquery, ast.SelectStmt)
                      and n.subquery.sortClause for n in _walk(stmt.fromClause, into_subqueries=False))
    if not sorted_from:
        return
    for node in _walk(_final_parts(stmt), into_subqueries=False):
        if isinstance(node, ast.FuncCall) and _func_name(node)[1] in _ORDER_SENSITIVE and not node.agg_order:
            raise _Refusal(f"{_func_name(node)[1]} takes its rows in the order of a sorted subquery")


def _ensure_from_is_row_local(stmt: ast.SelectStmt, complete_subqueries: bool = False) -> None:
    """Each datanode must see only its own rows: no rows produced on every node."""
    if not stmt.fromClause:
        raise _Refusal("no FROM clause: nothing distributed to aggregate")
    for node in _walk(stmt.fromClause, into_subqueries=False):
        if isinstance(node, ast.RangeFunction | ast.RangeTableFunc | ast.JsonTable):
            raise _Refusal("a function in FROM would produce its rows on every datanode")
        if isinstance(node, ast.RangeSubselect):
            _ensure_subquery_is_row_local(node.subquery, complete_subqueries)


def _ensure_subquery_is_row_local(sub: ast.Node, complete_subqueries: bool = False) -> None:
    if not isinstance(sub, ast.SelectStmt) or sub.op != SetOperation.SETOP_NONE:
        raise _Refusal("a set operation in FROM is not split")
    if sub.valuesLists:
        raise _Refusal("VALUES in FROM would produce its rows on every datanode")
    crosses_rows = (sub.groupClause or sub.distinctClause or sub.havingClause
                    or sub.limitCount or sub.limitOffset or sub.withClause)
    # With complete subqueries, aggregates inside a WHERE subquery of `sub` are exact.
    if crosses_rows or any(_is_aggregate(n) for n in _walk(sub, into_subqueries=not complete_subqueries)):
        raise _Refusal("a subquery in FROM groups, aggregates or limits rows per datanode")
    _ensure_from_is_row_local(sub, complete_subqueries)


def _ensure_no_misplaced_aggregates(stmt: ast.SelectStmt, complete_subqueries: bool = False) -> None:
    for name, part in (("WHERE", stmt.whereClause), ("FROM", stmt.fromClause),
                       ("GROUP BY", stmt.groupClause), ("LIMIT/OFFSET",
                       (stmt.limitCount, stmt.limitOffset))):
        if any(_is_aggregate(n) for n in _walk(part, into_subqueries=False)):
            raise _Refusal(f"aggregate in {name}")
    for node in _walk(stmt):
        if complete_subqueries:
            break
        if isinstance(node, ast.SubLink) and any(_is_aggregate(n) for n in _walk(node.subselect)):
            raise _Refusal("a subquery contains aggregates")


def _final_parts(stmt: ast.SelectStmt) -> tuple[Any, ...]:
    return (stmt.targetList, stmt.havingClause, stmt.sortClause, stmt.distinctClause)


# -- tree helpers ------------------------------------------------------------------------

def _walk(value: Any, into_subqueries: bool = True) -> Iterator[ast.Node]:
    """Every node under `value` (a node, a tuple of nodes, or None), depth first."""
    if isinstance(value, tuple | list):
        for item in value:
            yield from _walk(item, into_subqueries)
    elif isinstance(value, ast.Node):
        yield value
        if not into_subqueries and isinstance(value, ast.RangeSubselect | ast.SubLink):
            return
        for attr in value:
            yield from _walk(getattr(value, attr), into_subqueries)


def _map_children(node: ast.Node, fn: Callable[[Any], Any]) -> ast.Node:
    """A shallow copy of `node` whose child nodes are replaced by `fn(child)`."""
    out = copy.copy(node)
    for attr in node:
        value = getattr(node, attr)
        if isinstance(value, ast.Node):
            setattr(out, attr, fn(value))
        elif isinstance(value, tuple | list):
            setattr(out, attr, tuple(fn(v) if isinstance(v, ast.Node) else v for v in value))
    return out


def _func_name(call: ast.FuncCall) -> tuple[str | None, str]:
    names = [n.sval for n in call.funcname]
    return (names[-2] if len(names) > 1 else None), names[-1]


def _is_window_call(node: ast.Node) -> bool:
    return isinstance(node, ast.FuncCall) and node.over is not None


def _is_aggregate(node: ast.Node) -> bool:
    if isinstance(node, ast.JsonObjectAgg | ast.JsonArrayAgg):
        return True
    return isinstance(node, ast.FuncCall) and _aggregate_name(node) is not None


def _aggregate_name(call: ast.FuncCall) -> str | None:
    """The supported aggregate `call` is, None for a plain function; refuses the rest."""
    schema, name = _func_name(call)
    agg_syntax = bool(call.agg_star or call.agg_distinct or call.agg_order
                      or call.agg_filter is not None or call.agg_within_group)
    if call.over is not None:
        return None
    if schema not in (None, "pg_catalog") or (name not in SUPPORTED | _UNSUPPORTED):
        if agg_syntax:
            raise _Refusal(f"aggregate {name} is not supported")
        return None
    if name in _UNSUPPORTED:
        raise _Refusal(f"aggregate {name} is not supported")
    if call.agg_within_group or call.func_variadic:
        raise _Refusal(f"{name}: WITHIN GROUP / VARIADIC is not supported")
    return name


def _whole_row(node: ast.Node) -> bool:
    """`alias.*` (or `*`) as an expression: the whole row of a FROM item."""
    return isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.A_Star)


def _column(name: str) -> ast.ColumnRef:
    return ast.ColumnRef(fields=(ast.String(name),))


def _bare_name(node: ast.Node) -> str | None:
    if isinstance(node, ast.ColumnRef) and len(node.fields) == 1:
        field_ = node.fields[0]
        return field_.sval if isinstance(field_, ast.String) else None
    return None


def _position(node: ast.Node) -> int | None:
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        return int(node.val.ival)
    return None


def _is_constant(node: ast.Node) -> bool:
    if isinstance(node, ast.TypeCast):
        return _is_constant(node.arg)
    return isinstance(node, ast.A_Const)


# -- templates: fixed SQL parsed once, placeholders replaced by AST nodes ---------------

def _template(expr_sql: str) -> ast.Node:
    return parse_sql(f"SELECT {expr_sql}")[0].stmt.targetList[0].val


def _fill(template: ast.Node, **columns: ast.Node) -> ast.Node:
    def replace(node: ast.Node) -> ast.Node:
        name = _bare_name(node)
        if name is not None and name.startswith("__"):
            return copy.deepcopy(columns[name[2:]])
        return _map_children(node, replace)

    return replace(template)


_T_COUNT = _template("coalesce(sum(__p), 0)::bigint")
_T_AVG = _template("sum(__s) / nullif(sum(__c), 0)")
_IS_FLOAT4 = "pg_catalog.pg_typeof(__x) = 'pg_catalog.float4'::pg_catalog.regtype"
# avg(float4) accumulates in float8 (float4_accum), sum(float4) in float4: a float4 sum
# per node would round every partial to 7 digits. So the partial of avg also sums x in
# float8 when x is float4 (NULL otherwise). `x * 1::float8` rather than `x::float8`: it
# parses for every input type of avg (interval has no cast to float8), and it is exact.
_T_PART_SUM_FLOAT8 = _template(
    f"sum(CASE WHEN {_IS_FLOAT4} THEN __x * 1::pg_catalog.float8 END)")
# The variance family over integers and numeric works in exact numeric in PostgreSQL
# (numeric_accum), over floats in float8 (float8_accum, Youngs-Cramer): a float converted
# to numeric keeps 15 digits, not its binary value, so the floats keep to float8 here too.
# Each input feeds one of the two (the other's partials are NULL): per node, count, the
# numeric sums of x and x*x, the float8 sum of x, and PostgreSQL's own float8 Sxx (as
# var_pop * count).
_IS_FLOAT = ("pg_catalog.pg_typeof(__x) IN ('pg_catalog.float4'::pg_catalog.regtype,"
             " 'pg_catalog.float8'::pg_catalog.regtype)")
_NUMERIC_X = f"(CASE WHEN {_IS_FLOAT} THEN NULL ELSE __x::pg_catalog.numeric END)"
_FLOAT_X = f"(CASE WHEN {_IS_FLOAT} THEN __x::pg_catalog.float8 END)"
_T_PART_SUM_NUMERIC = _template(f"sum({_NUMERIC_X})")
_T_PART_SUM_SQUARES = _template(f"sum({_NUMERIC_X} * {_NUMERIC_X})")
_T_PART_SUM_FLOAT = _template(f"sum({_FLOAT_X})")
_T_PART_SXX_FLOAT = _template(f"var_pop({_FLOAT_X}) * count({_FLOAT_X})")
_T_PART_COUNT = _template("count(__x)")
_T_PART_SUM = _template("sum(__x)")
_VAR_NUM = "(sum(__n) * sum(__q) - sum(__s) * sum(__s))"
# PostgreSQL takes the square root at the variance's own scale; numeric's sqrt() picks
# its scale itself, so take it 20 digits finer and round back (double rounding then
# differs only if those 20 digits are exactly 50000000000000000000). A NaN quotient (an
# infinite or NaN input: PostgreSQL's stddev is then NaN) has no scale: NaN stays NaN at
# any scale, and a NULL scale would make the whole stddev NULL.
_SQRT = "round(sqrt(round({q}, coalesce(scale({q}), 0) + 20)), coalesce(scale({q}), 0))"


def _var_quotient(sample: bool) -> str:
    denominator = "(sum(__n) * (sum(__n) - 1))" if sample else "(sum(__n) * sum(__n))"
    return f"({_VAR_NUM} / {denominator})"


_T_VARIANCE = {
    (sample, stddev): _template(
        f"coalesce(min(__t), CASE WHEN sum(__n) <= {1 if sample else 0} THEN NULL"
        f" WHEN {_VAR_NUM} <= 0 THEN 0 ELSE "
        + (_SQRT.format(q=_var_quotient(sample)) if stddev else _var_quotient(sample))
        + " END)")
    for sample in (True, False) for stddev in (True, False)
}
# Combining float8 states as float8_combine does, for any number of them: the sum of the
# nodes' Sxx plus the spread of the nodes' means, each weighted by its count. The spread
# is taken around a reference `c` near the group's node means (a window over the partial
# rows of the group, see _group_reference), through e = sum - n * c per node, as
# sum(e / n * e) - sum(e) / sum(n) * sum(e) (divided first: e^2 would overflow before
# the Sxx does), which does not cancel as the same around zero would.
# `c` is the smallest node mean, rounded to an integer when every input of the group is
# one: then n * c and e are exact (integers below 2^53), as PostgreSQL's per-row
# Youngs-Cramer accumulation is on such data (the unrounded mean lost 8 digits of a
# var_pop over 1e10 + 4k).
_E = "(__fs - __n * __c)"
_FLOAT_SXX = (f"(sum(__fq) + greatest(sum({_E} / __n * {_E})"
              f" - sum({_E}) / sum(__n) * sum({_E}), 0))")


def _float_variance(sample: bool, stddev: bool) -> str:
    quotient = (f"CASE WHEN sum(__n) <= 1 THEN NULL ELSE {_FLOAT_SXX} / (sum(__n) - 1) END" if sample
                else f"CASE WHEN sum(__n) = 0 THEN NULL ELSE {_FLOAT_SXX} / sum(__n) END")
    return f"sqrt({quotient})" if stddev else f"({quotient})"


_T_FLOAT_VARIANCE = {(sample, stddev): _template(_float_variance(sample, stddev))
                     for sample in (True, False) for stddev in (True, False)}
_T_GROUP_REFERENCE = _template("CASE WHEN bool_and(__fi) OVER () THEN round(min(__fs / nullif(__n, 0)) OVER ())"
                               " ELSE min(__fs / nullif(__n, 0)) OVER () END")
_T_PART_INTEGRAL_FLOAT = _template(f"bool_and({_FLOAT_X} = pg_catalog.trunc({_FLOAT_X}))")
_FALSE = _template("false")
_T_ROW_PRESENT = _template("(__r IS DISTINCT FROM NULL) OR NULL")


# -- the splitter ------------------------------------------------------------------------

@dataclass
class _PartialColumn:
    name: str
    expr: ast.Node
    grouped: bool
    key: ast.Node | None = None  # normalized expression, for reuse


@dataclass
class _Splitter:
    stmt: ast.SelectStmt
    temp: ast.RangeVar
    columns: list[_PartialColumn] = field(default_factory=list)
    combined: list[tuple[ast.Node, ast.Node]] = field(default_factory=list)
    row_casts: list[tuple[ast.RowExpr, str]] = field(default_factory=list)
    # window columns over the partial rows: (fs, n) column names -> (name, expression)
    group_refs: dict[tuple[str, str], tuple[str, ast.Node]] = field(default_factory=dict)
    windows: list[ast.WindowDef] = field(default_factory=list)
    raw: bool = False
    output_names: list[str] = field(default_factory=list)
    foreign_type_columns: frozenset[str] = frozenset()

    def build(self) -> TwoPhasePlan:
        stmt = self.stmt
        self.raw = any(isinstance(n, ast.FuncCall) and _is_shipped(n) for n in _walk(_final_parts(stmt)))
        self.output_names = [_output_name(t) for t in stmt.targetList]
        group_columns = [self._group_key(e) for e in self._group_exprs()]
        targets = tuple(ast.ResTarget(name=name, val=self._final(t.val))
                        for name, t in zip(self.output_names, stmt.targetList, strict=True))
        having = self._final(stmt.havingClause) if stmt.havingClause else None
        sort = tuple(self._final_sort(s) for s in stmt.sortClause or ()) or None
        distinct = self._final_distinct(stmt.distinctClause)
        group_columns += [c.name for c in self.columns if c.name.startswith("f")]
        group_columns = list(dict.fromkeys(group_columns))
        final = ast.SelectStmt(
            targetList=targets,
            fromClause=(self._final_from(group_columns),),
            whereClause=None,
            groupClause=tuple(_column(c) for c in group_columns) or None,
            havingClause=having,
            sortClause=sort,
            distinctClause=distinct,
            limitCount=_ensure_constant_limit(stmt.limitCount),
            limitOffset=_ensure_constant_limit(stmt.limitOffset),
            limitOption=stmt.limitOption,
            op=SetOperation.SETOP_NONE,
        )
        self._fill_row_casts()
        return TwoPhasePlan(_deparse(self._partial_stmt()), _deparse(final))

    def _final_from(self, group_columns: list[str]) -> ast.Node:
        """The temp table, with the reference points of float variances beside its columns."""
        if not self.group_refs:
            return copy.deepcopy(self.temp)
        for window in self.windows:
            window.partitionClause = tuple(_column(c) for c in group_columns) or None
        targets = (ast.ResTarget(val=ast.ColumnRef(fields=(ast.A_Star(),))),) + tuple(
            ast.ResTarget(name=name, val=reference) for name, reference in self.group_refs.values())
        rows = ast.SelectStmt(targetList=targets, fromClause=(copy.deepcopy(self.temp),),
                              op=SetOperation.SETOP_NONE)
        return ast.RangeSubselect(subquery=rows, alias=ast.Alias(aliasname="partials"))

    # -- the partial query --

    def _partial_stmt(self) -> ast.SelectStmt:
        grouped = [i + 1 for i, c in enumerate(self.columns) if c.grouped]
        return ast.SelectStmt(
            targetList=tuple(ast.ResTarget(name=c.name, val=c.expr) for c in self.columns),
            fromClause=self.stmt.fromClause,
            whereClause=self.stmt.whereClause,
            groupClause=tuple(_integer(i) for i in grouped) if grouped and not self.raw else None,
            op=SetOperation.SETOP_NONE,
        )

    def _add_column(self, prefix: str, expr: ast.Node, grouped: bool,
                    key: ast.Node | None = None) -> str:
        if key is not None:
            for column in self.columns:
                if column.key is not None and column.key == key and column.grouped == grouped:
                    return column.name
        if isinstance(expr, ast.RowExpr):
            raise _Refusal("a row-valued expression cannot be a column of the temp table")
        name = f"{prefix}{len(self.columns) + 1}"
        self.columns.append(_PartialColumn(name, expr, grouped, key))
        return name

    # -- GROUP BY --

    def _group_exprs(self) -> list[ast.Node]:
        exprs = []
        for item in self.stmt.groupClause or ():
            position = _position(item)
            if position is not None:
                exprs.append(self._target_at(position))
                continue
            name = _bare_name(item)
            if name is not None:
                self._ensure_not_output_alias(name, item)
            exprs.append(item)
        for expr in exprs:
            if any(isinstance(n, ast.SubLink) for n in _walk(expr)):
                raise _Refusal("a subquery in GROUP BY is not split")
        return exprs

    def _target_at(self, position: int) -> ast.Node:
        targets = self.stmt.targetList
        if not 1 <= position <= len(targets):
            raise _Refusal(f"GROUP BY position {position} is not in the select list")
        expr = targets[position - 1].val
        if any(_is_aggregate(n) for n in _walk(expr)):
            raise _Refusal("GROUP BY position refers to an aggregate")
        return expr

    def _ensure_not_output_alias(self, name: str, item: ast.Node) -> None:
        """`GROUP BY x` means an input column x if one exists, else the output column x.
        Without the catalog we know an input column x exists only when the output
        column's own expression reads a column x (as in `x::text`)."""
        for out_name, target in zip(self.output_names, self.stmt.targetList, strict=True):
            if out_name != name or self._normalize(target.val) == self._normalize(item):
                continue
            if not any(isinstance(n, ast.ColumnRef) and isinstance(n.fields[-1], ast.String)
                       and n.fields[-1].sval == name
                       for n in _walk(target.val, into_subqueries=False)):
                raise _Refusal(f"GROUP BY {name} may name an input or an output column")

    def _dependent(self, node: ast.ColumnRef) -> str:
        """A column used outside the aggregates that is no GROUP BY expression: valid in
        PostgreSQL only when functionally dependent on the GROUP BY (a primary key's
        table). The partial query selects it under the original GROUP BY, so the node
        checks that rule and fails as PostgreSQL would; the final query, over a temp table
        without the key, groups by it too (which changes no group)."""
        if self.raw:
            raise _Refusal(f"column {_deparse(node)} is used outside an aggregate but is not"
                           " a GROUP BY expression")
        return self._add_column("f", node, grouped=False, key=self._normalize(node))

    def _group_key(self, expr: ast.Node) -> str:
        return self._add_column("g", expr, grouped=True, key=self._normalize(expr, qualify=True))

    def _group_column(self, node: ast.Node) -> str | None:
        """The group key column `node` is. A GROUP BY expression's key has its bare names
        qualified (`_normalize`); an expression written as the GROUP BY expression is
        written is that key too (`date_trunc('month', starttime)` in both, beside
        `b.starttime` in a join condition: one expression in PostgreSQL, and the nodes
        check its bare names in GROUP BY). A bare name beside a qualified GROUP BY (`amount`
        beside `GROUP BY o.amount`) stays apart: it may be ambiguous, which the nodes tell."""
        key = self._normalize(node)
        for column in self.columns:
            if column.name.startswith("g") and (column.key == key or self._normalize(column.expr) == key):
                return column.name
        return None

    def _normalize(self, node: ast.Node, qualify: bool = False) -> ast.Node:
        """Column references compared the way PostgreSQL resolves them: with a single
        table in FROM, `t.a` and `a` are the same column; with several, a bare `a` of a
        GROUP BY expression (`qualify`) is `t.a` when the statement qualifies `a` by `t`
        alone (`GROUP BY to_char(d, ...)` beside `to_char(c.d, ...)`: `c.d` exists, so a
        bare `d` is `c.d` or ambiguous). The GROUP BY expression goes to the datanodes as
        written, so an ambiguous one fails there as it would in PostgreSQL; a bare name
        elsewhere stays apart from the group keys and is checked there the same way."""
        if not self._single_relation():
            return self._qualify(node) if qualify else node

        def strip(n: ast.Node) -> ast.Node:
            if isinstance(n, ast.ColumnRef) and len(n.fields) > 1:
                return ast.ColumnRef(fields=(n.fields[-1],))
            if isinstance(n, ast.SubLink):
                return n
            return _map_children(n, strip)

        return strip(node)

    def _qualify(self, node: ast.Node) -> ast.Node:
        qualifiers = self._qualifiers()

        def qualify(n: ast.Node) -> ast.Node:
            if isinstance(n, ast.ColumnRef) and len(n.fields) == 1 and isinstance(n.fields[0], ast.String):
                qualifier = qualifiers.get(n.fields[0].sval)
                return n if qualifier is None else ast.ColumnRef(fields=(qualifier, n.fields[0]))
            if isinstance(n, ast.SubLink):
                return n
            return _map_children(n, qualify)

        return qualify(node)

    def _qualifiers(self) -> dict[str, ast.String]:
        """{column name: its one qualifier} over the statement's own level, leaving out
        the columns a JOIN ... USING or NATURAL JOIN merges (a bare name is the merged column)."""
        seen: dict[str, set[str]] = {}
        fields: dict[str, ast.String] = {}
        merged: set[str] = set()
        stmt = self.stmt
        level = (stmt.fromClause, stmt.targetList, stmt.whereClause, stmt.groupClause, stmt.havingClause,
                 stmt.sortClause, stmt.distinctClause)
        for n in _walk(level, into_subqueries=False):
            if isinstance(n, ast.JoinExpr):
                if n.isNatural:
                    return {}
                merged.update(u.sval for u in n.usingClause or () if isinstance(u, ast.String))
            if isinstance(n, ast.ColumnRef) and len(n.fields) == 2 \
                    and all(isinstance(f, ast.String) for f in n.fields):
                seen.setdefault(n.fields[1].sval, set()).add(n.fields[0].sval)
                fields[n.fields[1].sval] = n.fields[0]
        return {name: fields[name] for name, quals in seen.items() if len(quals) == 1 and name not in merged}

    def _single_relation(self) -> bool:
        from_clause = self.stmt.fromClause
        return len(from_clause) == 1 and isinstance(from_clause[0], ast.RangeVar)

    # -- the final query --

    def _final(self, node: ast.Node) -> ast.Node:
        column = self._group_column(node)
        if column is not None:
            return _column(column)
        if isinstance(node, ast.FuncCall):
            name = _aggregate_name(node)
            if name is not None:
                return self._combined(node, name)
            _ensure_scalar_function(node)
        if isinstance(node, ast.ColumnRef):
            return _column(self._dependent(node))
        if isinstance(node, ast.SubLink):
            raise _Refusal("a subquery outside the aggregates cannot run on the catalog server")
        if isinstance(node, ast.ParamRef):
            raise _Refusal("a parameter outside the aggregates is not split")
        if isinstance(node, ast.SQLValueFunction):
            raise _Refusal("a session/time value outside the aggregates is not split")
        return _map_children(node, self._final)

    def _final_sort(self, sort: ast.SortBy) -> ast.SortBy:
        out = copy.copy(sort)
        out.node = self._final_output_ref(sort.node)
        return out

    def _final_output_ref(self, node: ast.Node) -> ast.Node:
        """ORDER BY / DISTINCT ON: a bare name of an output column or a position is kept
        (the final query has the same output columns); anything else is rewritten."""
        if _position(node) is not None or _bare_name(node) in self.output_names:
            return node
        return self._final(node)

    def _final_distinct(self, distinct: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if not distinct or all(item is None for item in distinct):
            return distinct
        return tuple(self._final_output_ref(item) for item in distinct)

    # -- aggregates --

    def _combined(self, call: ast.FuncCall, name: str) -> ast.Node:
        key = self._normalize(call)
        for seen, final in self.combined:
            if seen == key:
                return final  # shared, not copied: row casts are filled in place later
        if any(_is_aggregate(n) for n in _walk((call.args, call.agg_order, call.agg_filter))):
            raise _Refusal("nested aggregate calls")
        _ensure_arity(call, name)
        if (name == "avg" or name in _VARIANCE_FAMILY) and self.foreign_type_columns and any(
                isinstance(n, ast.ColumnRef) and isinstance(n.fields[-1], ast.String)
                and n.fields[-1].sval in self.foreign_type_columns for n in _walk(call.args)):
            raise _Refusal(f"{name} over a column of a type that is not PostgreSQL's own")
        if name in ("min", "max") and any(isinstance(a, ast.RowExpr) for a in call.args or ()):
            # its partial would be a column of pseudo-type record (42P16)
            raise _Refusal(f"{name} of a row constructor is not split")
        if self.raw or call.agg_distinct:
            final = self._shipped(call)
        elif name == "count":
            final = _fill(_T_COUNT, p=self._partial(call))
        elif name == "sum":
            column = self._partial(call)
            final = self._cast_like_partial(column.fields[0].sval, _fill(_T_PART_SUM, x=column))
        elif name == "avg":
            final = self._avg(call)
        elif name in _VARIANCE_FAMILY:
            final = self._variance(call, name)
        else:
            combine = {"every": "bool_and"}.get(name, name)
            final = ast.FuncCall(funcname=(ast.String(combine),), args=(self._partial(call),),
                                 funcformat=call.funcformat)
        self.combined.append((key, final))
        return final

    def _partial(self, call: ast.FuncCall) -> ast.ColumnRef:
        return _column(self._add_column("p", call, grouped=False, key=self._normalize(call)))

    def _partial_of(self, template: ast.Node, call: ast.FuncCall,
                    agg_filter: ast.Node | None = None) -> ast.ColumnRef:
        """A partial aggregate made from `template` over the argument of `call`."""
        partial = _fill(template, x=call.args[0])
        assert isinstance(partial, ast.FuncCall)
        partial.agg_filter = agg_filter if agg_filter is not None else call.agg_filter
        return self._partial(partial)

    def _avg(self, call: ast.FuncCall) -> ast.Node:
        """sum/count per node, except over float4: there the float8 sum, typed like avg's
        result through a typed NULL `t` (float8 for float4, numeric for the integers, whose
        float8 sum is NULL and must not make the whole expression float8)."""
        typed_null = copy.deepcopy(call)
        typed_null.agg_filter = copy.deepcopy(_FALSE)
        typed_null.agg_order = None
        t = self._partial(typed_null)  # first: avg(money) fails as PostgreSQL's does
        count = self._partial_of(_T_PART_COUNT, call)
        exact = _fill(_T_AVG, s=self._partial_of(_T_PART_SUM_FLOAT8, call), c=count)
        plain = _fill(_T_AVG, s=self._partial_of(_T_PART_SUM, call), c=count)
        return ast.CoalesceExpr(args=(self._cast_like_partial(t.fields[0].sval, exact), plain))

    def _cast_like_partial(self, name: str, value: ast.Node) -> ast.Node:
        """`value` typed like the partial column `name`: summing bigint partials of
        sum(int4) gives numeric, but PostgreSQL's sum(int4) is bigint. Casting a ROW to the
        temp table's row type and taking the field converts to the column's exact type,
        whatever it is."""
        row = ast.RowExpr(args=(value,), row_format="COERCE_EXPLICIT_CALL")
        self.row_casts.append((row, name))  # the full row is filled in at the end
        type_name = ast.TypeName(names=tuple(ast.String(part) for part in (
            self.temp.schemaname, self.temp.relname) if part))
        return ast.A_Indirection(arg=ast.TypeCast(arg=row, typeName=type_name),
                                 indirection=(ast.String(name),))

    def _fill_row_casts(self) -> None:
        for row, name in self.row_casts:
            (value,) = row.args
            row.args = tuple(value if c.name == name else ast.A_Const(isnull=True)
                             for c in self.columns)

    def _variance(self, call: ast.FuncCall, name: str) -> ast.Node:
        """Over integers and numeric: count, sum(x::numeric) and sum(x::numeric * x::numeric)
        per node, then PostgreSQL's own formula in numeric (numeric_stddev_internal). Over
        floats: per node count, float8 sum and Sxx, combined as float8_combine does. The
        result is typed like the original aggregate via a typed NULL of its result type."""
        typed_null = copy.deepcopy(call)
        typed_null.agg_filter = copy.deepcopy(_FALSE)
        typed_null.agg_order = None
        # t first: variance(interval) fails as PostgreSQL's does, not at a cast
        t = self._partial(typed_null)
        n = self._partial_of(_T_PART_COUNT, call)
        numeric = _fill(_T_VARIANCE[(name in _VARIANCE_SAMPLE, name in _STDDEV)], t=t, n=n,
                        s=self._partial_of(_T_PART_SUM_NUMERIC, call),
                        q=self._partial_of(_T_PART_SUM_SQUARES, call))
        fs = self._partial_of(_T_PART_SUM_FLOAT, call)
        sxx = _fill(_T_PART_SXX_FLOAT, x=call.args[0])
        assert isinstance(sxx, ast.A_Expr)
        for aggregate in (sxx.lexpr, sxx.rexpr):
            aggregate.agg_filter = call.agg_filter
        fq = self._partial(sxx)
        floats = _fill(_T_FLOAT_VARIANCE[(name in _VARIANCE_SAMPLE, name in _STDDEV)],
                       n=n, fs=fs, fq=fq,
                       c=self._group_reference(fs, n, self._partial_of(_T_PART_INTEGRAL_FLOAT, call)))
        return ast.CoalesceExpr(args=(self._cast_like_partial(t.fields[0].sval, floats), numeric))

    def _group_reference(self, fs: ast.ColumnRef, n: ast.ColumnRef,
                         integral: ast.ColumnRef) -> ast.ColumnRef:
        """A column of the final query's input: the smallest node mean of the group the
        partial row belongs to, rounded when `integral` (every input an integer) holds on
        every node of the group (windows partitioned by the group columns, set once they
        are all known)."""
        key = (fs.fields[0].sval, n.fields[0].sval)
        if key not in self.group_refs:
            reference = _fill(_T_GROUP_REFERENCE, fs=fs, n=n, fi=integral)
            self.windows.extend(w for w in _walk(reference) if isinstance(w, ast.WindowDef))
            self.group_refs[key] = (f"w{len(self.group_refs) + 1}", reference)
        return _column(self.group_refs[key][0])

    def _shipped(self, call: ast.FuncCall) -> ast.FuncCall:
        """The aggregate itself, run in the final step over shipped argument values."""
        out = copy.copy(call)
        args = call.args or ()
        if any(_whole_row(a) for a in args):
            # `alias.*` in a target list expands to the columns: it cannot be shipped as
            # one value. count(alias.*) counts the rows whose whole-row value is not NULL
            # (an outer join's null-extended side), which `IS DISTINCT FROM NULL` tells
            # apart from a row of NULL fields; other uses keep the slower strategy.
            if _aggregate_name(call) != "count" or call.agg_distinct:
                raise _Refusal("a whole-row value as an aggregate argument is not shipped")
            args = (_fill(_T_ROW_PRESENT, r=args[0]),)
        out.args = tuple(self._value(a) for a in args) or None
        if call.agg_order:
            out.agg_order = tuple(_with_node(s, self._value(s.node)) for s in call.agg_order)
        if call.agg_filter is not None:
            out.agg_filter = self._value(call.agg_filter)
        return out

    def _value(self, expr: ast.Node) -> ast.Node:
        if _is_constant(expr):
            return copy.deepcopy(expr)
        return _column(self._add_column("v", expr, grouped=True, key=self._normalize(expr)))


# -- small helpers -----------------------------------------------------------------------

def _is_shipped(call: ast.FuncCall) -> bool:
    """Whether `call` needs its input rows in the final step: string_agg/array_agg, and a
    float sum (avg, variance) in a given order (`sum(x ORDER BY y)`), which PostgreSQL
    adds up in that order and partial sums per node would round differently."""
    name = _aggregate_name(call)
    return name in SHIPPED or bool(call.agg_order and not call.agg_distinct and name in _ORDERED_SUMS)


_ORDERED_SUMS = frozenset({"sum", "avg"}) | _VARIANCE_FAMILY


def _ensure_arity(call: ast.FuncCall, name: str) -> None:
    nargs = len(call.args or ())
    expected = {"string_agg": 2, "count": 0 if call.agg_star else 1}.get(name, 1)
    if nargs != expected:
        raise _Refusal(f"{name} with {nargs} arguments is not split")


def _ensure_scalar_function(call: ast.FuncCall) -> None:
    schema, name = _func_name(call)
    if schema not in (None, "pg_catalog") or name not in SCALAR_FUNCTIONS:
        raise _Refusal(f"function {name} over aggregates or group keys is not known to be"
                       " a plain function")


def _ensure_constant_limit(node: ast.Node | None) -> ast.Node | None:
    if node is None:
        return None
    if any(isinstance(n, ast.ColumnRef | ast.SubLink | ast.ParamRef) for n in _walk(node)):
        raise _Refusal("LIMIT/OFFSET must be constants to be split")
    return node


def _with_node(sort: ast.SortBy, node: ast.Node) -> ast.SortBy:
    out = copy.copy(sort)
    out.node = node
    return out


def _integer(value: int) -> ast.A_Const:
    return ast.A_Const(isnull=False, val=ast.Integer(value))


def _deparse(node: ast.Node) -> str:
    return str(RawStream()(node))


# -- output column names (PostgreSQL's FigureColname, on the raw parse tree) -------------

def _output_name(target: ast.ResTarget) -> str:
    if isinstance(target.val, ast.ColumnRef) and isinstance(target.val.fields[-1], ast.A_Star):
        raise _Refusal("* in the select list of an aggregate query is not split")
    if target.name:
        return str(target.name)
    return figure_name(target.val) or "?column?"


def figure_name(node: ast.Node | None) -> str | None:
    """The name PostgreSQL gives an output column that has no alias (None: `?column?`)."""
    return _figure_name(node)[0]


_SIMPLE_NAMES: dict[type, str] = {
    ast.GroupingFunc: "grouping", ast.A_ArrayExpr: "array", ast.RowExpr: "row",
    ast.CoalesceExpr: "coalesce", ast.XmlSerialize: "xmlserialize",
    ast.JsonParseExpr: "json", ast.JsonScalarExpr: "json_scalar",
    ast.JsonSerializeExpr: "json_serialize", ast.JsonObjectConstructor: "json_object",
    ast.JsonArrayConstructor: "json_array", ast.JsonArrayQueryConstructor: "json_array",
    ast.JsonObjectAgg: "json_objectagg", ast.JsonArrayAgg: "json_arrayagg",
    ast.MergeSupportFunc: "merge_action",
}


def _figure_name(node: ast.Node | None) -> tuple[str | None, int]:
    """(name, strength) as parse_target.c's FigureColnameInternal computes them."""
    if node is None:
        return None, 0
    if type(node) in _SIMPLE_NAMES:
        return _SIMPLE_NAMES[type(node)], 2
    if isinstance(node, ast.ColumnRef):
        names = [f.sval for f in node.fields if isinstance(f, ast.String)]
        return (names[-1], 2) if names else (None, 0)
    if isinstance(node, ast.A_Indirection):
        names = [f.sval for f in node.indirection if isinstance(f, ast.String)]
        return (names[-1], 2) if names else _figure_name(node.arg)
    if isinstance(node, ast.FuncCall):
        return node.funcname[-1].sval, 2
    if isinstance(node, ast.A_Expr):
        return ("nullif", 2) if node.kind == A_Expr_Kind.AEXPR_NULLIF else (None, 0)
    if isinstance(node, ast.TypeCast):
        name, strength = _figure_name(node.arg)
        if strength <= 1 and node.typeName is not None:
            return node.typeName.names[-1].sval, 1
        return name, strength
    if isinstance(node, ast.CollateClause):
        return _figure_name(node.arg)
    if isinstance(node, ast.CaseExpr):
        name, strength = _figure_name(node.defresult)
        return ("case", 1) if strength <= 1 else (name, strength)
    return _figure_special_name(node)


def _subquery_column_name(query: ast.Node | None) -> tuple[str | None, int]:
    """The name of a scalar subquery's column (its leftmost SELECT's first target), as
    the subquery itself names it; unknown for `*`."""
    while isinstance(query, ast.SelectStmt) and query.op != SetOperation.SETOP_NONE:
        query = query.larg
    if not isinstance(query, ast.SelectStmt) or not query.targetList:
        return None, 0
    target = query.targetList[0]
    if target.name:
        return target.name, 2
    if isinstance(target.val, ast.ColumnRef) and isinstance(target.val.fields[-1], ast.A_Star):
        return None, 0
    return figure_name(target.val) or "?column?", 2


def _figure_special_name(node: ast.Node) -> tuple[str | None, int]:
    if isinstance(node, ast.MinMaxExpr):
        return ("greatest" if node.op.name == "IS_GREATEST" else "least"), 2
    if isinstance(node, ast.SQLValueFunction):
        return node.op.name.removeprefix("SVFOP_").removesuffix("_N").lower(), 2
    if isinstance(node, ast.SubLink):
        kind = node.subLinkType
        if kind == SubLinkType.EXISTS_SUBLINK:
            return "exists", 2
        if kind == SubLinkType.ARRAY_SUBLINK:
            return "array", 2
        if kind == SubLinkType.EXPR_SUBLINK:  # the subquery's one column's name
            return _subquery_column_name(node.subselect)
        return None, 0
    if isinstance(node, ast.XmlExpr):
        op = node.op.name
        return (None, 0) if op == "IS_DOCUMENT" else (op.removeprefix("IS_").lower(), 2)
    if isinstance(node, ast.JsonFuncExpr):
        return node.op.name.removesuffix("_OP").lower(), 2
    return None, 0
