"""Calls of user code reading the session's temp tables, in writes of distributed tables.

A session's temp tables exist on its pinned catalog connection only (`frontend/temps.py`);
an INSERT, UPDATE, DELETE or MERGE of a distributed table runs on the datanodes, where a
call such as `WHERE id = p('min')`, `p` reading a temp table, fails (42P01). As Citus
evaluates function calls of a modification on the coordinator, such a call is evaluated
here once, on the session's catalog connection (in the session's transaction, where the
temp tables are), and replaced by its value as a typed literal before the statement is
planned: its routing then sees the value (the distribution key pinned by it routes).

One evaluation is PostgreSQL's answer when the call's arguments use no column of the
statement's rows (constants, bound parameters, other such calls) and its code, followed
through all it calls, writes nothing and reads no distributed or replicated table. A
STABLE or IMMUTABLE function is evaluated once per statement by PostgreSQL anyway; a
VOLATILE one is evaluated per row, which gives the same value each time when it only
reads the session's temp tables (no other session can change them; this one is busy with
the statement) and calls no volatile built-in (random, nextval, clock_timestamp ...).
A set-returning call (or any call that is a FROM item) is evaluated into an array and put
back as `pg_catalog.unnest(array)`, which yields the same rows wherever PostgreSQL allows
a set-returning function. Otherwise the statement is refused with 0A000 naming the
routine and why, not left to fail on a datanode. Values are never cached: each execution (a PREPAREd statement, a bound
one) evaluates again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.routines import TempCode
from gridpg.planner import analyze, tempnames
from gridpg.planner.calls import SEQUENCE_FUNCTIONS
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.planner.core import Analysis

WRITES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")
_WORDS = {"InsertStmt": "INSERT into", "UpdateStmt": "UPDATE of", "DeleteStmt": "DELETE from",
          "MergeStmt": "MERGE into"}
# Call forms one value cannot stand for
_CALL_CLAUSES = ("over", "agg_filter", "agg_order", "agg_within_group", "agg_star", "agg_distinct")
_VOLATILE_SQL = ("SELECT DISTINCT p.proname FROM pg_catalog.pg_proc p WHERE p.pronamespace = "
                 "'pg_catalog'::pg_catalog.regnamespace AND p.provolatile = 'v' AND p.proname IN ({names})")


@dataclass(frozen=True)
class _Call:
    """One call in the statement's text to evaluate here."""

    start: int
    end: int  # (exclusive)
    node: dict[str, Any]
    code: TempCode
    alias: str | None = None  # an output column's name, which the call gave it (PostgreSQL's)
    # A set-returning call, or any call in FROM: its rows, put back as `unnest(array)`
    as_set: bool = False


async def with_temp_calls_evaluated(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                                    path: list[str]) -> ExecRequest | None:
    """The request with every call of temp-reading code evaluated and replaced by its value,
    or None when the statement has no such call (or is not such a write). Raises 0A000 when
    a call cannot be evaluated once."""
    if analysis.kind not in WRITES or not analysis.resolved or analysis.resolved[0].table is None:
        return None
    temps = tempnames.temp_names(path)
    if not temps:
        return None
    sql = analysis.sql or request.sql
    guard = dispatcher.coord.routine_guard
    codes = await guard.temp_code_calls(dispatcher, sql, tuple(path), temps)
    sub_selects = values_read_temps(analysis.tree, path)
    if not sub_selects and not any(code.reads_temp for code in codes.values()):
        return None
    target = analysis.resolved[0].table
    what = f"{_WORDS[analysis.kind]} distributed table {target.schema}.{target.name}"
    calls = _calls_to_evaluate(sql, codes, what, path if sub_selects else None)
    if not calls:
        return None
    if request.params and not request.simple and any(analyze.has_node(c.node, "ParamRef") for c in calls):
        from gridpg.executor.multi import inline_params

        sql = await inline_params(dispatcher, request, sql)  # (the values as typed literals)
        request = dataclasses.replace(request, params=[], param_formats=[], param_oids=[], decode_oids=[])
        calls = _calls_to_evaluate(sql, codes, what, path if sub_selects else None)
    await _ensure_not_volatile(dispatcher, sql, calls, codes, what)
    values = await _evaluate(dispatcher, sql, calls)
    texts = [v if c.alias is None else f"{v} AS {quote_ident(c.alias)}" for c, v in zip(calls, values, strict=True)]
    return dataclasses.replace(request, sql=splice(sql, [(c.start, c.end, t) for c, t in zip(calls, texts, strict=True)]))


async def explain_with_temp_calls_evaluated(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                                            path: list[str]) -> ExecRequest | None:
    """EXPLAIN [ANALYZE] of such a write: the EXPLAIN of the write with its calls evaluated
    (the plan shows their values, as the write runs; EXPLAIN without ANALYZE evaluates them
    too, which writes nothing), or None when the explained statement has no such call."""
    query = (analysis.tree.get("ExplainStmt") or {}).get("query") or {}
    if sqlparse.node_type(query) not in WRITES or not tempnames.temp_names(path):
        return None
    sql = analysis.sql or request.sql
    start = explained_start(sql)
    planner = dispatcher.coord.planner
    if start is None or planner is None:
        return None
    from gridpg.executor.run import catalog_view, session_view

    inner = dataclasses.replace(request, sql=sql[start:])
    evaluated = await with_temp_calls_evaluated(
        dispatcher, inner, planner.analysis(inner.sql, catalog_view(dispatcher), session_view(dispatcher)), path)
    if evaluated is None:
        return None
    return dataclasses.replace(evaluated, sql=sql[:start] + evaluated.sql)


def explained_start(sql: str) -> int | None:
    """Where the statement EXPLAIN explains begins: after EXPLAIN, its parenthesized options
    or its ANALYZE / VERBOSE words."""
    toks = sqlparse.tokens(sql)
    i = next((n for n, t in enumerate(toks) if sql[t.start:t.end + 1].lower() == "explain"), None)
    if i is None:
        return None
    i += 1
    if i < len(toks) and toks[i].name == "ASCII_40":
        close = sqlparse.closing_paren(toks, i)
        if close is None:
            return None
        i = close + 1
    while i < len(toks) and sql[toks[i].start:toks[i].end + 1].lower() in ("analyze", "analyse", "verbose"):
        i += 1
    return toks[i].start if i < len(toks) else None


def values_read_temps(tree: dict[str, Any], path: list[str]) -> bool:
    """An INSERT ... VALUES whose rows hold sub-selects over the session's temp tables."""
    select = ((tree.get("InsertStmt") or {}).get("selectStmt") or {}).get("SelectStmt") or {}
    lists = select.get("valuesLists")
    return bool(lists) and any(tempnames.shadows(path, r.schema, r.name) for r in analyze.relations(lists))


def _calls_to_evaluate(sql: str, codes: dict[tuple[str | None, str], TempCode], what: str,
                       values_path: list[str] | None = None) -> list[_Call]:
    """The outermost calls of temp-reading code, checked (with `values_path`, also the
    sub-selects over temp tables alone in an INSERT's VALUES rows, which PostgreSQL
    evaluates once); raises 0A000 for one that cannot be evaluated once before routing."""
    tree = sqlparse.parse_tree(sql)
    toks = sqlparse.tokens(sql)
    out: list[_Call] = []
    named: dict[int, str] = {}  # FuncCalls that are a whole output column without a name
    # FuncCalls that are the one function of a FROM item (`FROM f() [AS alias]`): the name
    # to give `unnest(...)` when the item has no alias of its own
    sole: dict[int, str | None] = {}

    def visit(node: Any, in_from: bool, in_values: bool = False) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, in_from, in_values)
            return
        if not isinstance(node, dict):
            return
        sublink = node.get("SubLink")
        if in_values and values_path is not None and isinstance(sublink, dict):
            found = _temp_sub_select(sql, toks, sublink, codes, values_path, what)
            if found is not None:
                out.append(found)
                return
        target = node.get("ResTarget")
        if isinstance(target, dict) and not target.get("name") and "FuncCall" in (target.get("val") or {}):
            named[id(target["val"]["FuncCall"])] = _name(target["val"]["FuncCall"])[1]
        item = node.get("RangeFunction")
        functions = item.get("functions") or [] if isinstance(item, dict) else []
        if isinstance(item, dict) and len(functions) == 1 and not item.get("is_rowsfrom") \
                and not item.get("coldeflist"):
            first = ((functions[0].get("List") or {}).get("items") or [{}])[0] or {}
            if isinstance(first.get("FuncCall"), dict):
                sole[id(first["FuncCall"])] = None if item.get("alias") else _name(first["FuncCall"])[1]
        call = node.get("FuncCall")
        if isinstance(call, dict):
            code = codes.get(_name(call))
            if code is not None and code.reads_temp:
                checked = _checked(sql, toks, call, code, codes, in_from and id(call) not in sole, what)
                as_set = id(call) in sole or code.returns_set
                alias = sole[id(call)] if id(call) in sole else named.get(id(call))
                out.append(dataclasses.replace(checked, alias=alias, as_set=as_set))
                return
        for key, value in node.items():
            visit(value, in_from or key == "functions", in_values or key == "valuesLists")

    visit(tree, False)
    return out


def _checked(sql: str, toks: list[Any], call: dict[str, Any], code: TempCode,
             codes: dict[tuple[str | None, str], TempCode], in_from: bool, what: str) -> _Call:
    def refuse(why: str) -> PgError:
        return PgError(
            FEATURE_NOT_SUPPORTED,
            f"gridpg cannot run {code.title} in this {what}: it reads this session's temporary "
            f"tables, and {why}",
            detail="The session's temporary tables exist only on its own connection to the "
                   "coordinator's catalog server, not on the datanodes that run the statement: "
                   "gridpg evaluates such a call there once, before routing, when that gives "
                   "PostgreSQL's answer.",
            hint="Take the value first (SELECT the function's result in the client, or into a "
                 "variable) and use it in the statement.",
        )

    if in_from:
        raise refuse("it is called in FROM beside other functions (ROWS FROM) or with a column definition list")
    if any(call.get(key) for key in _CALL_CLAUSES):
        raise refuse("it is called as an aggregate or window function")
    if code.blocker is not None:
        raise refuse(code.blocker)
    args = [call.get("args") or []]
    column = next((n["ColumnRef"] for n in analyze._walk(args) if isinstance(n, dict) and "ColumnRef" in n), None)
    if column is not None:
        name = ".".join(f.get("String", {}).get("sval", "*") for f in column.get("fields", []))
        raise refuse(f"its arguments use column {name} of the statement's rows, so PostgreSQL evaluates it "
                     "for each row")
    if analyze.has_node(args, "SubLink"):
        raise refuse("its arguments hold a sub-select")
    for node in analyze._walk(args):
        inner = node.get("FuncCall") if isinstance(node, dict) else None
        if isinstance(inner, dict):
            inner_code = codes.get(_name(inner))
            if inner_code is not None and inner_code.blocker is not None:
                raise refuse(f"its argument calls {inner_code.title}, which cannot be evaluated once: "
                             f"{inner_code.blocker}")
    start = int(call.get("location", -1))
    first = next((i for i, t in enumerate(toks) if t.start == start), None)
    close = None if first is None else sqlparse.closing_paren(toks, first)
    if close is None:
        raise refuse("gridpg cannot find the call in the statement's text")
    return _Call(start, toks[close].end + 1, call, code)


_ONE_VALUE_SUBLINKS = ("EXPR_SUBLINK", "ARRAY_SUBLINK", "EXISTS_SUBLINK")


def _temp_sub_select(sql: str, toks: list[Any], sublink: dict[str, Any],
                     codes: dict[tuple[str | None, str], TempCode], path: list[str], what: str) -> _Call | None:
    """A sub-select of a VALUES row reading the session's temp tables alone (VALUES has no
    outer row it could be correlated with), as one value to evaluate; None when it is not."""
    refs = analyze.relations(sublink.get("subselect") or {})
    if sublink.get("subLinkType") not in _ONE_VALUE_SUBLINKS or not refs \
            or not all(tempnames.shadows(path, r.schema, r.name) for r in refs):
        return None
    for node in analyze._walk(sublink):
        inner = node.get("FuncCall") if isinstance(node, dict) else None
        if not isinstance(inner, dict):
            continue
        schema, name = _name(inner)
        code = codes.get((schema, name))
        why = code.blocker if code is not None else (
            f"it calls {name}(), whose sequences are cluster-wide"
            if name.lower() in SEQUENCE_FUNCTIONS and schema in (None, "pg_catalog") else None)
        if why is not None:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"gridpg cannot run a sub-select over temporary tables in this {what}: {why}")
    start = int(sublink.get("location", -1))
    first = next((i for i, t in enumerate(toks) if t.start == start), None)
    close = None if first is None else sqlparse.closing_paren(toks, first)
    if close is None:
        return None
    code = TempCode("a sub-select", True, None, False, False, frozenset())
    return _Call(start, toks[close].end + 1, sublink, code)


def _name(call: dict[str, Any]) -> tuple[str | None, str]:
    names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
    return (names[-2] if len(names) > 1 else None, names[-1] if names else "")


async def _ensure_not_volatile(dispatcher: Dispatcher, sql: str, calls: list[_Call],
                               codes: dict[tuple[str | None, str], TempCode], what: str) -> None:
    """Refuse a call whose value PostgreSQL would compute row by row differently: VOLATILE
    code calling a volatile built-in, or an argument calling one."""
    names: set[str] = set()
    for c in calls:
        if c.code.volatile:
            names |= c.code.builtins
        for node in analyze._walk(c.node.get("args") or []):
            inner = node.get("FuncCall") if isinstance(node, dict) else None
            if isinstance(inner, dict):
                schema, name = _name(inner)
                inner_code = codes.get((schema, name))
                if inner_code is None and schema in (None, "pg_catalog"):
                    names.add(name.lower())
                elif inner_code is not None and inner_code.volatile:
                    names |= inner_code.builtins
    if not names:
        return
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    rows = await conn.query(_VOLATILE_SQL.format(names=", ".join(quote_literal(n) for n in sorted(names))))
    volatile = sorted(str(r[0]) for r in rows if r[0])
    if not volatile:
        return
    for c in calls:
        if (c.code.volatile and volatile[0] in c.code.builtins) or any(
                isinstance(n, dict) and "FuncCall" in n and _name(n["FuncCall"])[1].lower() in volatile
                for n in analyze._walk(c.node.get("args") or [])):
            raise PgError(
                FEATURE_NOT_SUPPORTED,
                f"gridpg cannot run {c.code.title} in this {what}: it reads this session's temporary "
                f"tables and is VOLATILE or called with a volatile argument, calling {volatile[0]}(), so "
                "PostgreSQL evaluates it for each row with another value",
                hint="Take the value first (SELECT the function's result in the client, or into a "
                     "variable) and use it in the statement, or declare the function STABLE.")


async def _evaluate(dispatcher: Dispatcher, sql: str, calls: list[_Call]) -> list[str]:
    """Each call's value as a typed literal, from one evaluation on the session's catalog
    connection (in its transaction: it sees the temp tables and the block's own writes)."""
    items = ", ".join((f"ARRAY(SELECT {sql[c.start:c.end]})" if c.as_set else sql[c.start:c.end]) + f" AS v{i}"
                      for i, c in enumerate(calls))
    outs = ", ".join(f"s.v{i}::pg_catalog.text, pg_catalog.pg_typeof(s.v{i})::pg_catalog.oid, "
                     + _TYPE_CHECK.format(value=f"s.v{i}", element="e.typelem" if c.as_set else "e.oid")
                     for i, c in enumerate(calls))
    # (OFFSET 0: the sub-select is not flattened, so each call runs once, not once per use)
    query = f"SELECT {outs} FROM (SELECT {items} OFFSET 0) AS s"
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    try:
        rows = await conn.query(query)
    except PgError as exc:
        if exc.fields:  # (its position is in the query above, not the client's)
            exc.fields = {k: v for k, v in exc.fields.items() if k not in ("P", "q", "p")}
        raise
    row = rows[0]
    for i, c in enumerate(calls):
        if row[3 * i + 2] in ("t", "true"):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"gridpg cannot run {c.code.title} in this statement: it reads this session's "
                          "temporary tables and returns a value of type record or of a temporary type, "
                          "which the datanodes cannot read back")
    oids = [int(row[3 * i + 1] or 0) for i in range(len(calls))]
    types = await dispatcher.coord.type_names(oids, dispatcher=dispatcher)
    return [(f"pg_catalog.unnest(CAST({quote_literal(row[3 * i])} AS {types[i]}))" if c.as_set
             else f"CAST({quote_literal(row[3 * i])} AS {types[i]})") for i, c in enumerate(calls)]


# Whether a value's type (or its array's element type) is a pseudo-type (record) or one
# of the session's temporary types: its text cannot be cast back on a datanode
_TYPE_CHECK = ("(SELECT t.typtype = 'p' OR t.typnamespace = pg_catalog.pg_my_temp_schema() "
               "FROM pg_catalog.pg_type e JOIN pg_catalog.pg_type t ON t.oid = {element} "
               "WHERE e.oid = pg_catalog.pg_typeof({value}))::pg_catalog.text")
