"""Size functions over distributed tables, the pure part: which calls a statement makes and
the statement with each call answered from the cluster's sizes (commands/sizes.py gathers
them). No I/O.

`pg_relation_size(rel [, fork])`, `pg_table_size`, `pg_indexes_size`,
`pg_total_relation_size` (and Citus's `citus_relation_size`, `citus_table_size`,
`citus_total_relation_size`) of a distributed table, of an index on one, or of its TOAST
table or TOAST index, answer the cluster's physical size: the sum over the table's
datanode groups of its leaves' storage there (a HASH table's shards, the user's partition
leaf's shards), one copy of a REPLICATION table. Every other relation keeps PostgreSQL's own
answer from the catalog server (a partitioned table or index: 0, as in PostgreSQL).

A call becomes an expression that looks its argument up, by the catalog server's OID, in a
VALUES list of the cluster's sizes and falls back to the PostgreSQL function itself:

    COALESCE((SELECT gp_sz.b FROM (VALUES (16384::oid, 'main', 90112::bigint), ...)
              AS gp_sz(o, w, b) WHERE gp_sz.o = (ARG)::regclass::oid AND gp_sz.w = FORK),
             pg_catalog.pg_relation_size(ARG, FORK))

so the argument may be any expression the catalog server evaluates per row (`pg_class.oid`,
a parameter), and PostgreSQL's own call keeps its errors (an unknown relation, a bad fork
name). A bare call in a select list keeps its column name (`AS pg_relation_size`).

`pg_database_size(db)` of the session's database answers the catalog server's database
(the schema, gridpg's metadata) plus the datanodes' databases (one per datanode group: the
rows, their catalogs): the cluster's physical storage, as the relation sizes; another
database keeps the catalog server's answer:

    (pg_catalog.pg_database_size(ARG) + CASE WHEN (ARG)::text IN (current_database(), its oid)
     THEN <the datanodes' sum> ELSE 0 END)

`pg_tablespace_size(name or oid)` likewise answers the catalog server's tablespace plus the
datanode groups' tablespace of that name (CREATE TABLESPACE makes it on every server,
commands/tablespaces.py; the rows of a table in it are on the datanodes): a VALUES row per
tablespace under the catalog server's OID (the servers' OIDs differ) and one under its
name, so the argument is compared as text, outside any catalog scan (an argument `oid`
of `FROM pg_tablespace` stays the caller's column: psql's `\\db+`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gridpg.planner import analyze
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

# function -> (what it measures, the PostgreSQL function answering other relations)
FUNCTIONS: dict[str, tuple[str, str]] = {
    "pg_relation_size": ("relation", "pg_relation_size"),
    "pg_table_size": ("table", "pg_table_size"),
    "pg_indexes_size": ("indexes", "pg_indexes_size"),
    "pg_total_relation_size": ("total", "pg_total_relation_size"),
    "citus_relation_size": ("relation", "pg_relation_size"),
    "citus_table_size": ("table", "pg_table_size"),
    "citus_total_relation_size": ("total", "pg_total_relation_size"),
    "pg_database_size": ("database", "pg_database_size"),
    "pg_tablespace_size": ("tablespace", "pg_tablespace_size"),
}
# The key of the datanodes' summed database size among the sizes (no relation has OID 0)
DATABASE_KEY = 0

FORKS = ("main", "fsm", "vm", "init")
# what a size row measures: a fork of the relation, or a function's whole answer
MEASURES = (*FORKS, "table", "indexes", "total", "database", "tablespace")

# Oid -> measure -> bytes: the cluster's sizes of the catalog server's relations
Sizes = Mapping[int, Mapping[str, int]]


@dataclass(frozen=True)
class SizeCall:
    """One size-function call in a statement's text."""

    name: str  # the function's own name (without schema)
    start: int  # offset of the call's first character (its schema or name)
    end: int  # offset just past its closing parenthesis
    args: tuple[str, ...]  # each argument's text
    constant: bool  # no column, parameter or subquery in the arguments
    alias: str | None  # the column name to keep, when the call is a bare select-list item


def mentions(sql: str) -> bool:
    """A cheap test before parsing: the text may call a size function."""
    lowered = sql.lower()
    return "_size" in lowered and any(name in lowered for name in FUNCTIONS)


# Statements with code the catalog server runs (later, or a DO block now), where distributed
# tables are empty: their size calls must not be answered now (a view would keep today's
# sizes); commands/sizes.ensure_not_in_stored_code says which are refused.
_STORED_CODE = frozenset({"ViewStmt", "CreateFunctionStmt", "RuleStmt", "CreateTrigStmt", "CreatePolicyStmt",
                          "DoStmt"})


def stores_code(sql: str) -> bool:
    """Whether `sql` defines a view, function, rule, trigger or policy, or is a DO block."""
    try:
        tree = sqlparse.parse_tree(sql)
    except Exception:  # noqa: BLE001 - not ours to report: PostgreSQL's error follows
        return False
    return next(iter(tree), "") in _STORED_CODE


def is_prepare(sql: str) -> bool:
    """Whether `sql` is a PREPARE: its calls are answered when it is executed."""
    try:
        tree = sqlparse.parse_tree(sql)
    except Exception:  # noqa: BLE001 - not ours to report: PostgreSQL's error follows
        return False
    return next(iter(tree), "") == "PrepareStmt"


def called_in_body(body: str, functions: Collection[str] = FUNCTIONS.keys()) -> str | None:
    """The first size function (or of `functions`) a routine's body calls (its text: SQL or
    PL/pgSQL), or None. Read by PostgreSQL's scanner, so names in comments and string
    constants do not count."""
    lowered = body.lower()
    if not any(name in lowered for name in functions):
        return None
    try:
        toks = sqlparse.tokens(body)
    except Exception:  # noqa: BLE001 - PL/pgSQL the SQL scanner cannot read
        toks = []
    words = [body[t.start:t.end + 1].strip('"').lower() for t in toks]
    for index, word in enumerate(words[:-1]):
        if word in functions and words[index + 1] == "(":
            return word
    return None


def stored_call(sql: str, functions: Collection[str] = FUNCTIONS.keys()) -> str | None:
    """The size function that code `sql` stores (or a DO block runs) calls, where the
    catalog server would answer it for its empty copies; None for a view (answered when
    read: the coordinator inlines it) or code without one."""
    tree = sqlparse.parse_tree(sql)
    kind, body = next(iter(tree.items()))
    if kind == "ViewStmt":
        return None
    options = body.get("options") or body.get("args") or [] if isinstance(body, dict) else []
    texts = [sql] if kind != "DoStmt" else []
    for option in options:
        element = option.get("DefElem", {}) if isinstance(option, dict) else {}
        if element.get("defname") == "as":
            arg = element.get("arg") or {}
            items = arg.get("List", {}).get("items") or [arg]
            texts += [i.get("String", {}).get("sval") or "" for i in items if isinstance(i, dict)]
    return next((name for name in (called_in_body(t, functions) for t in texts) if name), None)


def find_calls(sql: str, functions: Collection[str] = FUNCTIONS.keys()) -> list[SizeCall]:
    """The outermost calls of one statement (none when it does not parse) of the size
    functions, or of `functions` (names in pg_catalog)."""
    try:
        tree = sqlparse.parse_tree(sql)
    except Exception:  # noqa: BLE001 - the statement's own run reports its syntax error
        return []
    bare = {id(t["val"]["FuncCall"]): t for t in _nodes(tree, "ResTarget")
            if "FuncCall" in t.get("val", {}) and not t.get("name")}
    found: list[SizeCall] = []
    toks = sqlparse.tokens(sql)
    for call in _nodes(tree, "FuncCall"):
        name = _function_name(call, functions)
        if name is None or call.get("agg_star") or call.get("over") or call.get("func_variadic"):
            continue
        found.append(_size_call(sql, toks, call, name, id(call) in bare))
    found.sort(key=lambda c: c.start)
    outer: list[SizeCall] = []
    for call in found:
        if not outer or call.start >= outer[-1].end:
            outer.append(call)
    return outer


def rewrite(sql: str, calls: list[SizeCall], sizes: Sizes) -> str:
    """`sql` with each call answered from `sizes` where its argument is one of them."""
    if not sizes:  # no distributed relation: PostgreSQL's own calls (Citus's names mapped)
        return _splice(sql, calls, [_fallback(c) for c in calls])
    values = _values(sizes)
    return _splice(sql, calls, [_lookup_expression(c, values) for c in calls])


def lookup_select(calls: list[SizeCall], sizes: Sizes) -> str:
    """A one-row SELECT of every call's value (constant arguments), for statements that run
    on the datanodes: each call is evaluated once on the catalog server."""
    values = _values(sizes) if sizes else ""
    items = [_lookup_expression(c, values) if values else _fallback(c) for c in calls]
    return "SELECT " + ", ".join(items)


def with_values(sql: str, calls: list[SizeCall], answers: list[str | None]) -> str:
    """`sql` with each call replaced by its value as a bigint literal."""
    texts = ["NULL::bigint" if a is None else f"{int(a)}::bigint" for a in answers]
    return _splice(sql, calls, texts)


# -- helpers -----------------------------------------------------------------------


def _nodes(node: Any, kind: str) -> Iterator[dict[str, Any]]:
    return (item[kind] for item in analyze._walk(node)
            if isinstance(item, dict) and isinstance(item.get(kind), dict))


def _function_name(call: dict[str, Any], functions: Collection[str]) -> str | None:
    names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
    if len(names) == 2 and names[0] in ("pg_catalog", "citus"):
        names = names[1:]
    if len(names) != 1 or names[0] not in functions:
        return None
    return str(names[0])


def _size_call(sql: str, toks: list[Any], call: dict[str, Any], name: str, is_bare: bool) -> SizeCall:
    start = int(call.get("location", 0))
    opening = next(i for i, t in enumerate(toks) if t.start >= start and sql[t.start] == "(")
    depth, args, arg_start, end = 0, [], toks[opening].end + 1, len(sql)
    for tok in toks[opening:]:
        char = sql[tok.start] if tok.end == tok.start else " "
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth == 0:
                args.append(sql[arg_start:tok.start].strip())
                end = tok.end + 1
                break
        elif char == "," and depth == 1:
            args.append(sql[arg_start:tok.start].strip())
            arg_start = tok.end + 1
    constant = not any(True for arg in call.get("args", [])
                       for kind in ("ColumnRef", "ParamRef", "SubLink") for _ in _nodes(arg, kind))
    return SizeCall(name, start, end, tuple(a for a in args if a), constant, name if is_bare else None)


def _values(sizes: Sizes) -> str:
    rows = [f"({int(oid)}::pg_catalog.oid, {quote_literal(what)}, {int(b)}::bigint)"
            for oid, measures in sorted(sizes.items()) for what, b in sorted(measures.items())]
    return ", ".join(rows)


def _lookup_expression(call: SizeCall, values: str) -> str:
    kind, _ = FUNCTIONS[call.name]
    rel = call.args[0] if call.args else "NULL"
    if kind == "database":
        return (f"({_fallback(call)} + CASE WHEN ({rel})::pg_catalog.text IN (pg_catalog.current_database()::pg_catalog.text, "
                "(SELECT gp_db.oid::pg_catalog.text FROM pg_catalog.pg_database gp_db "
                "WHERE gp_db.datname = pg_catalog.current_database())) "
                f"THEN COALESCE((SELECT gp_sz.b FROM (VALUES {values}) AS gp_sz(o, w, b) "
                f"WHERE gp_sz.o = {DATABASE_KEY} AND gp_sz.w = 'database'), 0) ELSE 0 END)")
    if kind == "tablespace":  # by OID, or by name (measure "tablespace:<name>"): servers' OIDs differ
        return (f"({_fallback(call)} + COALESCE((SELECT gp_sz.b FROM (VALUES {values}) AS gp_sz(o, w, b) "
                f"WHERE gp_sz.w = 'tablespace:' || ({rel})::pg_catalog.text "
                f"OR (gp_sz.w = 'tablespace' AND gp_sz.o::pg_catalog.text = ({rel})::pg_catalog.text) LIMIT 1), 0))")
    if kind == "relation":
        what = f"({call.args[1]})::text" if len(call.args) > 1 else "'main'"
    else:
        what = quote_literal(kind)
    return (f"COALESCE((SELECT gp_sz.b FROM (VALUES {values}) AS gp_sz(o, w, b) "
            f"WHERE gp_sz.o = ({rel})::pg_catalog.regclass::pg_catalog.oid AND gp_sz.w = {what}), "
            f"{_fallback(call)})")


def _fallback(call: SizeCall) -> str:
    """PostgreSQL's own call (a Citus name maps to the PostgreSQL function; its
    `fail_on_error` argument is dropped)."""
    kind, function = FUNCTIONS[call.name]
    args = call.args[:2] if kind == "relation" else call.args[:1]
    return f"pg_catalog.{function}({', '.join(args)})"


def _splice(sql: str, calls: list[SizeCall], texts: list[str]) -> str:
    return splice(sql, [(call.start, call.end, f"{text} AS {quote_ident(call.alias)}" if call.alias else text)
                        for call, text in zip(calls, texts, strict=True)])
