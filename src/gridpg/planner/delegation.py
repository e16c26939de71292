"""Distributed functions: a call delegated whole to the datanode that holds its key. Pure.

Citus's `create_distributed_function(fn, '$1', colocate_with => 't')` says: every row this
function touches has the distribution value its argument 1 carries, in tables colocated
with t. gridpg does not take that on trust: a function is delegated only when reading its
body proves it (`why_not_delegable`), so the datanode that holds the argument's shard
gives PostgreSQL's answer:

- every statement on a hash/modulo table colocated with t names it at its top level and
  pins its distribution column to the argument (`WHERE col = arg` for SELECT, UPDATE,
  DELETE; the argument in that column of every VALUES row for INSERT); UPDATE does not
  set the distribution column; the argument is never assigned in the body;
- replicated tables are only read (the datanode has a full copy); other distributed
  tables are not touched; no dynamic SQL, no language gridpg cannot read.

The declaration is kept in the function's own settings (`ALTER FUNCTION ... SET
gridpg.distribution_argument = 'N' SET gridpg.colocate_with = 'schema.table'`), so it
reaches every node with the DDL and survives pg_dump. A call is delegated when the
statement is exactly `SELECT fn(args)` or `CALL fn(args)`, with the distribution argument a
constant or a bound parameter; it runs on that node inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.planner import analyze
from gridpg.planner.calls import sequence_calls
from gridpg.planner.node_values import per_server_calls
from gridpg.planner.routines import Body, Resolver

CONFIG_ARGUMENT = "gridpg.distribution_argument"
CONFIG_COLOCATE = "gridpg.colocate_with"
WRITES = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


@dataclass(frozen=True)
class Delegation:
    argument: int  # 1-based position of the distribution argument
    colocate_with: str  # schema.table, as stored


@dataclass(frozen=True)
class Call:
    """`SELECT fn(args)` or `CALL fn(args)`: the only shapes delegated."""

    schema: str | None
    name: str
    args: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Argument:
    """How the body names the distribution argument."""

    position: int
    name: str | None
    function: str
    shadowed: str | None = None  # its name when a column hides it (only fn.name reaches it)
    aliases: tuple[tuple[str, str], ...] = ()  # qualified names that also carry it (NEW.col)
    # bare names that also carry it: PL/pgSQL's `w ALIAS FOR $1` (HammerDB's function set)
    names: tuple[str, ...] = ()


def parse_config(entries: list[str]) -> Delegation | None:
    """The delegation declared in pg_proc.proconfig entries (`name=value`)."""
    values = dict(e.split("=", 1) for e in entries if "=" in e)
    raw = values.get(CONFIG_ARGUMENT)
    colocate = values.get(CONFIG_COLOCATE)
    if not raw or not raw.isdigit() or not colocate:
        return None
    return Delegation(int(raw), colocate)


def call_of(tree: dict[str, Any]) -> Call | None:
    body = tree.get("SelectStmt")
    if body is not None:
        targets = body.get("targetList") or []
        others = [k for k, v in body.items()
                  if v and k not in ("targetList", "limitOption", "op")]
        if len(targets) != 1 or others:
            return None
        call = targets[0].get("ResTarget", {}).get("val", {}).get("FuncCall")
    else:
        call = (tree.get("CallStmt") or {}).get("funccall")
    if not isinstance(call, dict) or call.get("agg_star") or call.get("over"):
        return None
    names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
    schema = names[-2] if len(names) > 1 else None
    return Call(schema, names[-1], tuple(call.get("args", [])))


def argument_value(call: Call, position: int) -> analyze.Value | None:
    """The distribution argument of the call when it is a constant or a parameter."""
    if position > len(call.args):
        return None
    node = call.args[position - 1]
    if "NamedArgExpr" in node:
        return None
    return analyze.value_of(node)


def trigger_argument(function: str, column: str) -> Argument:
    """A row trigger's distribution value: NEW.col or OLD.col (in an INSERT's trigger OLD is
    NULL, which pins a statement to no row, or routes a row nowhere: an error)."""
    return Argument(0, None, function, None, (("new", column), ("old", column)))


def why_not_delegable(body: Body, argument: Argument, assigned: set[str], anchor: DistTable,
                      snapshot: CatalogSnapshot, resolve: Resolver, path: tuple[str, ...],
                      columns_of: Callable[[DistTable], list[str] | None],
                      drawn_of: Callable[[DistTable], frozenset[str]] = lambda t: frozenset()) -> str | None:
    """None when every statement of the body stays on the argument's node; else why not.
    `drawn_of` names a table's columns whose default draws from a sequence (serial,
    identity, a nextval() default): on a datanode that is the node's copy of the sequence,
    so a write leaving such a column to its default must not run there."""
    if body.unreadable:
        return body.unreadable
    if body.dynamic:
        return "it runs dynamic SQL"
    called = sorted((c[1] for c in sequence_calls(list(body.trees))))
    if called:  # (a datanode holds only a copy of the sequence)
        return f"it calls {called[0]}(), whose sequences are cluster-wide"
    own = sorted(name for tree in body.trees for name in per_server_calls(tree))
    if own:  # (an audit trigger's txid_current() stored each node's transaction id)
        return f"it calls {own[0]}(), whose value is the answering server's own"
    for name in (argument.name, *argument.names):
        if name and name.lower() in assigned:
            return f"it assigns its distribution argument {name}"
    for tree in body.trees:
        reason = _statement_reason(tree, argument, anchor, snapshot, resolve, path, columns_of, drawn_of)
        if reason is not None:
            return reason
    return None


def _statement_reason(tree: dict[str, Any], argument: Argument, anchor: DistTable,
                      snapshot: CatalogSnapshot, resolve: Resolver, path: tuple[str, ...],
                      columns_of: Callable[[DistTable], list[str] | None],
                      drawn_of: Callable[[DistTable], frozenset[str]]) -> str | None:
    kind = next(iter(tree), "")
    stmt = tree.get(kind, {})
    targets = _written_locations(tree)
    top = {id(rv) for rv in _top_level(stmt)}
    for rv in _range_vars(tree):
        ref = analyze.RelRef(rv.get("schemaname"), rv["relname"], rv.get("location", -1),
                             (rv.get("alias") or {}).get("aliasname"))
        table = resolve(ref, path)
        if table is None:
            continue
        label = f"{table.schema}.{table.name}"
        if table.method == "replication":
            if rv.get("location", -1) in targets:
                return f"it writes replicated table {label}"
            if not set(anchor.groups) <= set(table.groups):
                return f"replicated table {label} is not on every node of {anchor.name}"
            continue
        if table.method not in ("hash", "modulo") or not snapshot.colocated(anchor, table):
            return f"it touches {label}, which is not colocated with {anchor.schema}.{anchor.name}"
        if kind not in ("SelectStmt", *WRITES) or kind == "MergeStmt" or stmt.get("withClause"):
            return f"a {kind[:-4] or 'statement'} on {label} is not pinned to the distribution argument"
        if id(rv) not in top:
            return f"it reads {label} in a subquery"
        reason = _pin_reason(kind, stmt, rv, table, argument, columns_of, anchor) \
            or _sequence_default_reason(kind, stmt, table, columns_of, drawn_of(table))
        if reason is not None:
            return reason
    return None


def _sequence_default_reason(kind: str, stmt: dict[str, Any], table: DistTable,
                             columns_of: Callable[[DistTable], list[str] | None],
                             drawn: frozenset[str]) -> str | None:
    """Why a write would fill a column from the datanode's copy of its sequence: an INSERT
    leaving it out of its column list or giving DEFAULT for it, an UPDATE (or an upsert's
    DO UPDATE) setting it to DEFAULT. Before, an audit trigger's `INSERT INTO log (k, what)`
    into a bigserial table ran on the row's node: each node counted from 1 (duplicate ids)."""
    if not drawn or kind not in ("InsertStmt", "UpdateStmt"):
        return None
    label = f"{table.schema}.{table.name}"
    why = f"it leaves column {{}} of {label} to its default, which a datanode computes apart (a sequence, its own transaction)"
    if kind == "InsertStmt":
        named = [(c.get("ResTarget") or {}).get("name") or "" for c in stmt.get("cols", [])]
        cols = named or columns_of(table) or []
        left = sorted(d for d in drawn if d not in {c.lower() for c in cols})
        if left:
            return why.format(left[0])
        select = (stmt.get("selectStmt") or {}).get("SelectStmt") or {}
        for row in select.get("valuesLists") or []:
            items = row.get("List", {}).get("items", [])
            for index, col in enumerate(cols):
                item = items[index] if index < len(items) else {"SetToDefault": {}}
                if col.lower() in drawn and isinstance(item, dict) and "SetToDefault" in item:
                    return why.format(col)
        if stmt.get("override") == "OVERRIDING_USER_VALUE":
            return why.format(min(drawn))
    sets = stmt.get("targetList", []) if kind == "UpdateStmt" else \
        ((stmt.get("onConflictClause") or {}).get("targetList") or [])
    for target in sets:
        res = target.get("ResTarget") or {}
        if (res.get("name") or "").lower() in drawn and "SetToDefault" in (res.get("val") or {}):
            return why.format(res.get("name"))
    return None


def _pin_reason(kind: str, stmt: dict[str, Any], rv: dict[str, Any], table: DistTable,
                argument: Argument, columns_of: Callable[[DistTable], list[str] | None],
                anchor: DistTable) -> str | None:
    label = f"{table.schema}.{table.name}"
    column = table.column or ""
    if kind == "InsertStmt":
        return _insert_reason(stmt, table, argument, columns_of, anchor)
    if kind == "UpdateStmt" and any(
            (t.get("ResTarget") or {}).get("name") == column for t in stmt.get("targetList", [])):
        return f"it updates the distribution column of {label}"
    names = {rv["relname"], *([rv["alias"]["aliasname"]] if rv.get("alias") else [])}
    argument = _unambiguous(argument, [columns_of(table) or [column]])
    for cond in analyze.conjuncts(stmt.get("whereClause")):
        expr = cond.get("A_Expr") or {}
        ops = [n.get("String", {}).get("sval") for n in expr.get("name", [])]
        if expr.get("kind") != "AEXPR_OP" or ops != ["="]:
            continue
        for left, right in ((expr.get("lexpr"), expr.get("rexpr")), (expr.get("rexpr"), expr.get("lexpr"))):
            col = analyze.column_ref(left or {})
            if col and col[-1] == column and (len(col) == 1 or col[-2] in names) \
                    and _is_argument(right, argument):
                return None
    return f"a statement on {label} is not pinned by {column} = the distribution argument"


def _insert_reason(stmt: dict[str, Any], table: DistTable, argument: Argument,
                   columns_of: Callable[[DistTable], list[str] | None], anchor: DistTable) -> str | None:
    label = f"{table.schema}.{table.name}"
    argument = _unambiguous(argument, [columns_of(table) or [table.column or ""]])
    cols = [(c.get("ResTarget") or {}).get("name") for c in stmt.get("cols", [])] or columns_of(table)
    rows = ((stmt.get("selectStmt") or {}).get("SelectStmt") or {}).get("valuesLists")
    if not cols or not rows or table.column not in cols:
        return f"an INSERT into {label} does not give the distribution argument as {table.column}"
    index = cols.index(table.column)
    for row in rows:
        items = _expanded_record(row.get("List", {}).get("items", []), argument, columns_of(anchor))
        if index >= len(items) or not _is_argument(items[index], argument):
            return f"an INSERT into {label} does not give the distribution argument as {table.column}"
    return None


def _expanded_record(items: list[Any], argument: Argument, anchor_columns: list[str] | None) -> list[Any]:
    """A row trigger's VALUES items with `NEW.*` / `OLD.*` written out as the trigger
    table's columns in order, as PostgreSQL expands them (`INSERT INTO child VALUES
    (NEW.*)`, the inheritance-partitioning trigger of the manual)."""
    if argument.position != 0 or not anchor_columns:  # (a function's argument: no record)
        return items
    records = {a.lower() for a, _ in argument.aliases}
    out: list[Any] = []
    for item in items:
        fields = ((item or {}).get("ColumnRef") or {}).get("fields") or [] if isinstance(item, dict) else []
        if len(fields) == 2 and "A_Star" in fields[1] \
                and str((fields[0].get("String") or {}).get("sval", "")).lower() in records:
            out.extend({"ColumnRef": {"fields": [fields[0], {"String": {"sval": c}}]}} for c in anchor_columns)
        else:
            out.append(item)
    return out


def _unambiguous(argument: Argument, column_lists: list[list[str]]) -> Argument:
    """The argument as the body may name it: a bare name that is also a column of the table
    is the column in SQL (and in PL/pgSQL under #variable_conflict use_column), so then
    only `$n` or `fn.name` name the argument."""
    hidden = {c.lower() for cols in column_lists for c in cols}
    names = tuple(n for n in argument.names if n.lower() not in hidden)
    if argument.name and argument.name.lower() in hidden:
        return Argument(argument.position, None, argument.function, argument.name, argument.aliases, names)
    return argument if names == argument.names else replace(argument, names=names)


def _is_argument(node: Any, argument: Argument) -> bool:
    if not isinstance(node, dict):
        return False
    if "TypeCast" in node:
        return _is_argument(node["TypeCast"].get("arg"), argument)
    param = node.get("ParamRef")
    if param is not None:
        return int(param.get("number", 0)) == argument.position
    col = analyze.column_ref(node)
    if col is None:
        return False
    lowered = [c.lower() for c in col]
    if argument.name is not None and lowered == [argument.name.lower()]:
        return True
    if len(lowered) == 1 and lowered[0] in {n.lower() for n in argument.names}:
        return True
    if any(lowered == [a.lower(), b.lower()] for a, b in argument.aliases):
        return True
    qualified = argument.name or argument.shadowed
    return qualified is not None and lowered == [argument.function.lower(), qualified.lower()]


def _range_vars(node: Any) -> Iterator[dict[str, Any]]:
    """Every RangeVar, also the bare ones of DML targets."""
    for item in analyze._walk(node):
        if not isinstance(item, dict):
            continue
        if "RangeVar" in item:
            yield item["RangeVar"]
        for kind in WRITES:
            relation = (item.get(kind) or {}).get("relation")
            if isinstance(relation, dict):
                yield relation


def _written_locations(tree: dict[str, Any]) -> set[int]:
    out = set()
    for item in analyze._walk(tree):
        if isinstance(item, dict):
            for kind in WRITES:
                relation = (item.get(kind) or {}).get("relation")
                if isinstance(relation, dict):
                    out.add(relation.get("location", -1))
            for rv in (item.get("TruncateStmt") or {}).get("relations", []):
                out.add(rv.get("RangeVar", {}).get("location", -1))
    return out


def _top_level(stmt: dict[str, Any]) -> list[dict[str, Any]]:
    """RangeVars of the statement's own target, FROM and USING (joins included)."""
    out = []
    relation = stmt.get("relation")
    if isinstance(relation, dict):
        out.append(relation)
    stack = [*(stmt.get("fromClause") or []), *(stmt.get("usingClause") or [])]
    while stack:
        item = stack.pop()
        if "RangeVar" in item:
            out.append(item["RangeVar"])
        elif "JoinExpr" in item:
            stack.extend(x for x in (item["JoinExpr"].get("larg"), item["JoinExpr"].get("rarg")) if x)
    return out
