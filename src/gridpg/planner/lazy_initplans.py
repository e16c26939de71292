"""Uncorrelated sub-selects with side effects kept lazy over the loopback's shadows.

PostgreSQL computes an uncorrelated scalar or ARRAY sub-select (an InitPlan) when a row
first needs its value: over no rows, or rows that an earlier condition already dropped,
never. Over a shadow (executor/loopback.py: a postgres_fdw foreign table reaching a
distributed table through the coordinator), postgres_fdw ships a condition comparing a
column with the sub-select's value to the remote side as a parameter, and computes every
parameter before it opens its remote cursor, rows or not: `SELECT * FROM empty WHERE a <
(SELECT nextval('s'))` drew a value that PostgreSQL never draws, and the next nextval()
was one higher than PostgreSQL's, silently.

`rewrite` wraps each such sub-select of a condition (WHERE, HAVING, JOIN ... ON, MERGE's
ON) that calls a volatile built-in (a sequence's nextval/setval, random(), ...) or a
routine of the user's with side effects (by name: executor/routines.side_effect_names) as `CASE WHEN pg_catalog.statement_timestamp() IS
NOT NULL THEN (SELECT ...) END`: the same value and type, but a stable function that the
planner does not fold and postgres_fdw does not ship, so the condition stays on the
catalog server, evaluated row by row as PostgreSQL's executor does, the sub-select when
first needed. A sub-select without such a call is left to be shipped: its value is the
same whenever it is computed (a VOLATILE function that only reads included), and the remote side then filters (by an index) instead of
sending every row through the loopback; computed first, it may raise an error of
evaluation (22012) where PostgreSQL would not reach it: loud, left (docs/architecture.md,
h-silent28). A sub-select that is a select list's item without a name is never wrapped
(its column's name comes from it).

The same shipping changed the order of a WHERE's conditions: PostgreSQL evaluates a
scan's conditions cheapest first (`order_qual_clauses`), postgres_fdw those it ships on
the remote side before any it keeps; `WHERE md5(k::text) = 'x' AND k < nextval('s')`
drew a value per row in PostgreSQL (the nextval() condition is the cheaper) and none over
a shadow. In a SELECT whose WHERE calls a sequence's nextval/setval per row, each
condition but the cheapest kind (a column compared with a constant or a column, IS
[NOT] NULL: PostgreSQL evaluates those before any function call, and shipped they still
come first) is wrapped alike (`_conditions_in_order`): not shipped, each costing the same
more, so the catalog server orders them as PostgreSQL orders them over the table itself.
(A user's function costs 100 unless declared otherwise: PostgreSQL evaluates it after
shippable conditions anyway. An UPDATE or DELETE, or a SELECT that locks rows, is left:
conditions kept local would have postgres_fdw lock every row it fetches.) Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast
from pglast.enums.parsenodes import A_Expr_Kind
from pglast.enums.primnodes import BoolExprType, NullTestType
from pglast.stream import RawStream

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.node_local import VOLATILE_BUILTINS as NODE_VOLATILE
from gridpg.planner.replicas import VOLATILE_BUILTINS as REPLICA_VOLATILE
from gridpg.sql import parse as sqlparse

# Where a sub-select's value is compared row by row: a condition postgres_fdw may ship.
_CONDITIONS = ("whereClause", "havingClause", "quals", "joinCondition")
# The sub-selects computed once, as an InitPlan, when uncorrelated (EXISTS gates the whole
# plan, in PostgreSQL too; IN and ALL become joins or per-row subplans, never shipped).
_ONCE = ("EXPR_SUBLINK", "ARRAY_SUBLINK")
_VOLATILE = NODE_VOLATILE | REPLICA_VOLATILE
# pg_catalog's, and the loopback's stand-ins for the sequence functions (gridpg_lb_calls)
_BUILTIN_SCHEMAS = (None, "pg_catalog", "gridpg_lb_calls")
# Functions whose calls PostgreSQL's executor must make exactly as often as it does (cost
# 1, so their conditions come before most others; a user's cost 100: after them)
_SIDE_EFFECTS = frozenset({"nextval", "setval"})
_COMPARISONS = frozenset({"=", "<>", "!=", "<", ">", "<=", ">="})
AEXPR_OP = A_Expr_Kind.AEXPR_OP
_OPEN = "CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN "
_CLOSE = " END"


def rewrite(sql: str, side_effects: frozenset[str] = frozenset()) -> str:
    """`sql` with the volatile sub-selects of its conditions kept lazy (module docstring;
    `side_effects`: the user's routines with side effects, by lower-case name); `sql`
    itself when it has none, or does not parse (PostgreSQL's own error then)."""
    sql = _conditions_in_order(sql)
    if sql.lower().count("select") < 2:
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    starts = sorted({link["location"] for link in _condition_sublinks(tree, False)
                     if _calls_volatile(link.get("subselect"), side_effects)})
    if not starts:
        return sql
    toks = sqlparse.tokens(sql)
    pieces: list[tuple[int, str]] = []
    for start in starts:
        first = next((i for i, tok in enumerate(toks) if tok.start >= start), len(toks))
        close = sqlparse.closing_paren(toks, first)
        if close is None:
            return sql
        pieces += [(start, _OPEN), (toks[close].end + 1, _CLOSE)]
    out, pos = [], 0
    for at, text in sorted(pieces, key=lambda p: p[0]):
        out += [sql[pos:at], text]
        pos = at
    out.append(sql[pos:])
    return "".join(out)


def is_kept_local(node: dict[str, Any]) -> bool:
    """Whether `node` (a parse tree node) is `rewrite`'s wrapper: postgres_fdw computes what
    is inside it on the catalog server, never as a parameter of a remote statement
    (planner/routines.py then need not refuse code called there)."""
    case = node.get("CaseExpr")
    if not isinstance(case, dict) or case.get("arg") or case.get("defresult") or len(case.get("args") or []) != 1:
        return False
    test = ((case["args"][0].get("CaseWhen") or {}).get("expr") or {}).get("NullTest") or {}
    call = (test.get("arg") or {}).get("FuncCall") or {}
    names = [n.get("String", {}).get("sval") for n in call.get("funcname") or []]
    return test.get("nulltesttype") == "IS_NOT_NULL" and names == ["pg_catalog", "statement_timestamp"] \
        and not call.get("args")


def _conditions_in_order(sql: str) -> str:
    """`sql` with the conditions of each SELECT's WHERE that calls a sequence function per
    row wrapped alike, but the cheapest kind: kept on the catalog server in PostgreSQL's
    order (module docstring)."""
    lowered = sql.lower()
    if not any(name in lowered for name in _SIDE_EFFECTS):
        return sql
    try:
        sqlparse.parse_tree(sql)  # (PostgreSQL's syntax error, as PgError, before pglast's)
    except PgError:
        return sql
    stmt = sqlparse.parse_sql(sql)[0].stmt
    changed = False
    for node in list(sqlparse.ast_nodes(stmt, ast.Node)):
        if not isinstance(node, ast.SelectStmt) or node.whereClause is None or node.lockingClause:
            continue
        where = node.whereClause
        conditions = list(where.args) if isinstance(where, ast.BoolExpr) and where.boolop == BoolExprType.AND_EXPR \
            else [where]
        if len(conditions) > 1 and any(_side_effect_per_row(c) for c in conditions):
            node.whereClause = ast.BoolExpr(boolop=BoolExprType.AND_EXPR, args=tuple(
                c if _is_cheapest(c) else _kept(c) for c in conditions))
            changed = True
    return str(RawStream()(stmt)) if changed else sql


def _is_cheapest(condition: ast.Node) -> bool:
    """A condition PostgreSQL evaluates before any that calls a function: a column, a column
    compared with a constant or another column by a built-in comparison, IS [NOT] NULL."""
    def plain(node: Any) -> bool:
        if isinstance(node, ast.TypeCast):
            return isinstance(node.arg, ast.A_Const)
        return isinstance(node, (ast.ColumnRef, ast.A_Const))

    if isinstance(condition, (ast.NullTest, ast.BooleanTest)):
        return isinstance(condition.arg, ast.ColumnRef)
    if isinstance(condition, ast.A_Expr) and condition.kind == AEXPR_OP and len(condition.name) == 1:
        return condition.name[0].sval in _COMPARISONS and plain(condition.lexpr) and plain(condition.rexpr)
    return isinstance(condition, ast.ColumnRef)


def _side_effect_per_row(condition: ast.Node) -> bool:
    """Whether a condition calls a sequence function outside its sub-selects."""
    stack: list[Any] = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, ast.SubLink):
            continue
        elif isinstance(node, ast.Node):
            if isinstance(node, ast.FuncCall):
                names = [n.sval.lower() for n in node.funcname if isinstance(n, ast.String)]
                schema = names[0] if len(names) > 1 else None
                if names and schema in _BUILTIN_SCHEMAS and names[-1] in _SIDE_EFFECTS:
                    return True
            stack.extend(getattr(node, attr) for attr in node)
    return False


def _kept(condition: ast.Node) -> ast.CaseExpr:
    """`CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN condition END`."""
    name = (ast.String(sval="pg_catalog"), ast.String(sval="statement_timestamp"))
    test = ast.NullTest(arg=ast.FuncCall(funcname=name, funcformat=0), nulltesttype=NullTestType.IS_NOT_NULL)
    return ast.CaseExpr(args=(ast.CaseWhen(expr=test, result=condition),))


def _condition_sublinks(node: Any, in_condition: bool) -> Iterator[dict[str, Any]]:
    """The sub-selects computed once that sit in a condition, at any depth, but those
    naming a select list's column."""
    if isinstance(node, list):
        for item in node:
            yield from _condition_sublinks(item, in_condition)
        return
    if not isinstance(node, dict):
        return
    target = node.get("ResTarget")
    if isinstance(target, dict) and not target.get("name") and "SubLink" in (target.get("val") or {}):
        yield from _condition_sublinks(target["val"]["SubLink"], in_condition)  # its inside only
        return
    link = node.get("SubLink")
    if isinstance(link, dict) and in_condition and link.get("subLinkType") in _ONCE \
            and isinstance(link.get("location"), int):
        yield link
    for key, value in node.items():
        if isinstance(value, (dict, list)):
            yield from _condition_sublinks(value, in_condition or key in _CONDITIONS)


def _calls_volatile(tree: Any, side_effects: frozenset[str]) -> bool:
    """Whether `tree` calls a volatile built-in or a routine of `side_effects`."""
    for node in analyze._walk(tree):
        if isinstance(node, dict) and "FuncCall" in node:
            names = [n["String"]["sval"].lower() for n in node["FuncCall"].get("funcname", []) if "String" in n]
            if not names:
                continue
            schema = names[0] if len(names) > 1 else None
            if (schema in _BUILTIN_SCHEMAS and names[-1] in _VOLATILE) \
                    or (schema != "pg_catalog" and names[-1] in side_effects):
                return True
    return False
