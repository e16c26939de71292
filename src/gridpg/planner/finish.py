"""Strategy 4, the coordinator finish: what no other strategy handles. Each distributed
table is gathered into a catalog temp table (a scratch placeholder) and the statement,
its table references pointed at those, runs on the catalog server. Always correct; slow
for big tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pglast import ast

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, tableoid
from gridpg.planner.plan import (
    SCRATCH_SCHEMA,
    CoordinatorFinishPlan,
    GatherTable,
    NotApplicable,
    ScratchNames,
)
from gridpg.planner.pushdown import Resolved
from gridpg.planner.text import quote, relation_span, splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_qualified


def coordinator_finish(sql: str, resolved: list[Resolved], reasons: tuple[NotApplicable, ...],
                       scratch: ScratchNames | None = None) -> CoordinatorFinishPlan:
    scratch = scratch or ScratchNames(sql)
    temps: dict[tuple[str, str, bool], GatherTable] = {}
    replacements: list[tuple[int, int, str]] = []
    tokens = sqlparse.tokens(sql)
    only = _only_locations(sql)
    keys: dict[str, tuple[str, str, bool]] = {}  # reference name -> its copy
    spans: list[tuple[int, int, analyze.RelRef, tuple[str, str, bool]]] = []
    for r in resolved:
        if r.table is None:
            continue
        key = (r.table.schema, r.table.name, r.ref.location in only)  # ONLY t: a copy without children
        if key not in temps:
            temp = scratch.new("gather")
            groups = r.table.groups[:1] if r.table.method == "replication" else r.table.groups
            temps[key] = GatherTable(r.table.schema, r.table.name, temp, tuple(groups), only=key[2])
        keys[r.ref.alias or r.ref.name] = key
        start, end = relation_span(sql, tokens, r.ref)
        spans.append((start, end, r.ref, key))
    replacements += _schema_qualified_columns(sql, tokens, {(k[0], k[1]) for k in temps})
    replacements += _gathered_tableoids(sql, keys, temps)
    whole_rows = _whole_row_names(sql)
    for start, end, ref, key in spans:
        copy = f"pg_temp.{temps[key].temp}"
        if (ref.alias or ref.name) in whole_rows and not temps[key].tableoid:
            copy = _typed_rows(copy, key[0], key[1])
        alias = "" if ref.alias else f" AS {quote(ref.name)}"
        replacements.append((start, end, copy + alias))
    final = splice(sql, replacements)
    return CoordinatorFinishPlan((), False, final, tuple(temps.values()), reasons=reasons,
                                 scratch=tuple(scratch.made))


def typed_attribute_rows(final_sql: str, gather: Sequence[GatherTable], shapes: Mapping[str, Sequence[str]]) -> str:
    """`final_sql` with the copies read in attribute notation typed as their tables' rows.

    `p.hobbies`, where the copy has no column `hobbies`, is PostgreSQL's `hobbies(p)`: a
    function of the table's row type, which the copy's own type is not (42703,
    misc.sql:196). Which names are columns is known only once the copies are made
    (`shapes`: each copy's columns); gather.table_needs then copied every column, in the
    table's order, as `_typed_rows` needs."""
    by_temp = {t.temp: t for t in gather if not t.tableoid}
    if not any(t in final_sql for t in by_temp):
        return final_sql
    stmt = parse_sql(final_sql)[0].stmt
    copies: dict[str, list[ast.RangeVar]] = {}  # exposed name -> its copies' references
    for node in sqlparse.ast_nodes(stmt, ast.RangeVar):
        if node.relname in by_temp:
            copies.setdefault(node.alias.aliasname if node.alias else node.relname, []).append(node)
    typed: dict[int, ast.RangeVar] = {}
    for ref in sqlparse.ast_nodes(stmt, ast.ColumnRef):
        fields = ref.fields or ()
        if len(fields) != 2 or not all(isinstance(f, ast.String) for f in fields):
            continue
        for node in copies.get(fields[0].sval, ()):
            if fields[1].sval not in shapes.get(node.relname, ()):
                typed[node.location] = node
    replacements = []
    for location, node in typed.items():
        end = final_sql.index(node.relname, location) + len(node.relname)
        end += final_sql[end:end + 1] == '"'
        table = by_temp[node.relname]
        replacements.append((location, end, _typed_rows(final_sql[location:end], table.schema, table.name)))
    return splice(final_sql, replacements)


def _whole_row_names(sql: str) -> set[str]:
    """Names the statement uses as whole-row values: a one-field column reference (`t`,
    also a column's name: then the typed rows below cost time, never an answer) or `t.*`
    inside an expression."""
    out: set[str] = set()
    tree = sqlparse.parse_tree(sql)
    targets = {id((t.get("ResTarget", {}).get("val") or {}).get("ColumnRef"))
               for node in analyze._walk(tree) if isinstance(node, dict) and "SelectStmt" in node
               for t in node["SelectStmt"].get("targetList") or []}
    for node in analyze._walk(tree):
        ref = node.get("ColumnRef") if isinstance(node, dict) else None
        if not isinstance(ref, dict):
            continue
        fields = ref.get("fields") or []
        if len(fields) == 1 and "String" in fields[0]:
            out.add(fields[0]["String"]["sval"])
        elif len(fields) == 2 and "A_Star" in fields[1] and "String" in fields[0] and id(ref) not in targets:
            out.add(fields[0]["String"]["sval"])
    return out


def _typed_rows(copy: str, schema: str, name: str) -> str:
    """The copy's rows as values of the table's own row type, so that a whole-row reference
    has that type (PostgREST's computed columns `f(t)` take it: the copy's type matches no
    such function): a function in FROM whose result is the table's type. The copy holds
    every column, in the table's order, when the statement uses whole rows
    (gather.table_needs)."""
    if schema == SCRATCH_SCHEMA:
        # a CTE or subquery run first: its scratch table is no type on the catalog server
        # (42704), and PostgreSQL's whole row of a CTE is an anonymous record, as a
        # subquery's is
        return f"(SELECT * FROM {copy})"
    typ = quote_qualified(schema, name)
    return f"pg_catalog.unnest(ARRAY(SELECT ROW(g.*)::{typ} FROM {copy} AS g))"


def _only_locations(sql: str) -> set[int]:
    """Locations of the relations the statement reads with ONLY."""
    return {int(n["RangeVar"].get("location", -1)) for n in analyze._walk(sqlparse.parse_tree(sql))
            if isinstance(n, dict) and isinstance(n.get("RangeVar"), dict) and not n["RangeVar"].get("inh")}


def _gathered_tableoids(sql: str, keys: dict[str, tuple[str, str, bool]],
                        temps: dict[tuple[str, str, bool], GatherTable]) -> list[tuple[int, int, str]]:
    """Each `tableoid` mapping (planner/tableoid.py) of a gathered table's reference reads
    the row's table from its copy, as the catalog server's OID: the final statement runs
    there, where the copy's own `tableoid` is the temp table's. The copies so read are
    marked in `temps` (they carry the column); `keys`: reference name -> its copy."""
    out = []
    for start, end, qualifier in tableoid.mapping_spans(sql):
        key = keys.get(qualifier or "")
        if key is None:
            continue  # a catalog table's, evaluated there as it is
        temps[key] = dataclasses.replace(temps[key], tableoid=True)
        column = f"{quote(qualifier or '')}.{tableoid.GATHERED_COLUMN}"
        out.append((start, end, f"(SELECT {column}::pg_catalog.regclass::pg_catalog.oid AS tableoid)"))
    return out


def _schema_qualified_columns(sql: str, tokens: list[Any],
                              tables: set[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """`schema.table.column` references to gathered tables lose the schema (the temp table
    keeps the table's name as its alias)."""
    if not tables:
        return []
    out = []
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return []
    starts = {tok.start: i for i, tok in enumerate(tokens)}
    for node in analyze._walk(tree):
        if not isinstance(node, dict) or "ColumnRef" not in node:
            continue
        names = [f.get("String", {}).get("sval") for f in node["ColumnRef"]["fields"]]
        if len(names) != 3 or (names[0], names[1]) not in tables:
            continue
        index = starts.get(node["ColumnRef"]["location"])
        if index is None or index + 2 >= len(tokens):
            continue
        out.append((tokens[index].start, tokens[index + 2].start, ""))  # drop "schema."
    return out


def expand_stars(sql: str, columns: dict[str, list[str]]) -> str:
    """`sql` (a final statement) with `*` and `alias.*` over the gathered copies named in
    `columns` (temp name -> the table's columns the copy holds) spelled out, so that the
    copy's added `tableoid` column stays out of the answer (pure). A whole-row reference to
    such a copy, or `*` over it beside other FROM items, is refused (0A000)."""
    if not columns:
        return sql
    tree = sqlparse.parse_tree(sql)
    tokens = sqlparse.tokens(sql)
    replacements: list[tuple[int, int, str]] = []
    for node in analyze._walk(tree):
        body = node.get("SelectStmt") if isinstance(node, dict) else None
        if not isinstance(body, dict):
            continue
        aliases = _copy_aliases(body.get("fromClause") or [], columns)
        if not aliases:
            continue
        for target in body.get("targetList") or []:
            replacements += _star_target(sql, tokens, target.get("ResTarget", {}), body, aliases)
        _ensure_no_whole_row(body, aliases)
    return splice(sql, replacements)


def _copy_aliases(items: list[Any], columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """alias -> columns of the gathered copies among a FROM list's relations (joins too)."""
    out: dict[str, list[str]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        if "JoinExpr" in item:
            out.update(_copy_aliases([item["JoinExpr"].get("larg"), item["JoinExpr"].get("rarg")], columns))
        var = item.get("RangeVar")
        if isinstance(var, dict) and var.get("schemaname") in ("pg_temp", SCRATCH_SCHEMA) and var.get("relname") in columns:
            out[(var.get("alias") or {}).get("aliasname") or var["relname"]] = columns[var["relname"]]
    return out


def _star_target(sql: str, tokens: list[Any], target: dict[str, Any], body: dict[str, Any],
                 aliases: dict[str, list[str]]) -> list[tuple[int, int, str]]:
    ref = (target.get("val") or {}).get("ColumnRef")
    if not isinstance(ref, dict) or "A_Star" not in str(ref.get("fields")):
        return []
    names = [f.get("String", {}).get("sval") for f in ref["fields"]]
    if len(names) == 1:  # `*`: only over the copy alone
        from_clause = body.get("fromClause") or []
        if len(from_clause) != 1 or "RangeVar" not in from_clause[0] or len(aliases) != 1:
            raise _star_refused()
        alias = next(iter(aliases))
    elif names[-2] in aliases:
        alias = str(names[-2])
    else:
        return []
    start = int(ref.get("location", -1))
    end = next((t.end + 1 for t in tokens if t.start >= start and sql[t.start:t.end + 1] == "*"), None)
    if end is None:
        raise _star_refused()
    return [(start, end, ", ".join(f"{quote(alias)}.{quote(c)}" for c in aliases[alias]))]


def _ensure_no_whole_row(body: dict[str, Any], aliases: dict[str, list[str]]) -> None:
    """A whole-row reference (`t`, `t.*` inside an expression) would hold the added column."""
    for node in analyze._walk({k: v for k, v in body.items() if k != "fromClause"}):
        ref = node.get("ColumnRef") if isinstance(node, dict) else None
        if not isinstance(ref, dict):
            continue
        names = [f.get("String", {}).get("sval") if "String" in f else "*" for f in ref.get("fields") or []]
        whole = len(names) == 1 and names[0] in aliases and names[0] not in aliases[names[0]]
        starred = len(names) == 2 and names[1] == "*" and names[0] in aliases and not _is_target(body, ref)
        if whole or starred:
            raise _star_refused()


def _is_target(body: dict[str, Any], ref: dict[str, Any]) -> bool:
    return any((t.get("ResTarget", {}).get("val") or {}).get("ColumnRef") is ref for t in body.get("targetList") or [])


def _star_refused() -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot read tableoid of a distributed table's rows beside a "
                   "whole-row reference or * over several FROM items when it finishes the statement on the "
                   "coordinator", hint="name the columns")
