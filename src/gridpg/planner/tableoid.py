"""`tableoid` of a distributed table's rows, as PostgreSQL gives it. Pure.

On a datanode the rows of a HASH table live in its shards (partitions in gridpg_shards),
so the node's own `tableoid` names a shard, not the user's table (or the user's partition,
whose leaves carry the shards). A query over distributed tables that reads `tableoid` is
rewritten before planning: each reference becomes a scalar subquery, evaluated on the node,
that maps a shard to the table it belongs to and keeps the column name `tableoid`. The
strategies that finish a statement on the coordinator over gathered copies (and moved
rows) cannot know where a row came from: `ensure_not_gathered` refuses them (0A000).
"""

from __future__ import annotations

from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident

MARKER = "gp_tableoid_c"
# A scalar subquery without relations (the strategies treat a relation in a subquery as a
# reason not to push a statement down), named `tableoid` as the column it replaces; MARKER
# tells a mapped text from the client's.
_MAPPING = (
    "(SELECT CASE WHEN {ref}::pg_catalog.regclass::pg_catalog.text LIKE 'gridpg\\_shards.%' THEN "
    "(SELECT {c}.relid::pg_catalog.oid FROM pg_catalog.pg_partition_ancestors({ref}) {c} OFFSET 1 LIMIT 1) "
    "ELSE {ref} END AS tableoid)"
)


def rewrite(sql: str, tree: dict[str, Any]) -> str | None:
    """`sql` with every `tableoid` column reference mapped, or None when it has none."""
    if "tableoid" not in sql.lower() or MARKER in sql:  # mapped already
        return None
    found: list[tuple[int, str | None]] = []
    _visit(tree, [], found)
    if not found:
        return None
    tokens = sqlparse.tokens(sql)
    replacements = []
    for location, qualifier in found:
        end = next((t.end + 1 for t in tokens if t.start >= location  # the scanner's end is inclusive
                    and sql[t.start:t.end + 1].strip('"').lower() == "tableoid"), None)
        if end is None:
            continue
        ref = sql[location:end] if qualifier is None else f"{qualifier}.tableoid"
        replacements.append((location, end, _MAPPING.format(c=MARKER, ref=ref)))
    if not replacements:
        return None
    return splice(sql, replacements)


def ensure_not_gathered(sql: str, strategy: str) -> None:
    """Refuse a strategy that would evaluate a mapped `tableoid` over gathered copies."""
    if MARKER in sql:
        raise PgError(FEATURE_NOT_SUPPORTED, f"tableoid of a distributed table's rows is not available "
                      f"when gridpg runs the statement by {strategy}",
                      hint="read tableoid in a query that each datanode can answer alone (no ORDER BY over "
                      "several nodes with *, no join of non-colocated tables)")


def _visit(node: Any, scope: list[str], found: list[tuple[int, str | None]]) -> None:
    """Collect (location, qualifier for an unqualified reference) of `tableoid` references;
    `scope` is the reference names of the innermost query level's FROM."""
    if isinstance(node, list):
        for item in node:
            _visit(item, scope, found)
        return
    if not isinstance(node, dict):
        return
    for kind in ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        if kind in node and isinstance(node[kind], dict):
            body = node[kind]
            inner = _scope(kind, body)
            for value in body.values():
                _visit(value, inner if inner else scope, found)
            return
    if "ColumnRef" in node:
        _column(node["ColumnRef"], scope, found)
        return
    for value in node.values():
        _visit(value, scope, found)


def _column(ref: dict[str, Any], scope: list[str], found: list[tuple[int, str | None]]) -> None:
    fields = [f.get("String", {}).get("sval") for f in ref.get("fields", [])]
    if not fields or fields[-1] != "tableoid":
        return
    if len(fields) == 1:
        if len(scope) == 1:  # else ambiguous: PostgreSQL says so
            found.append((ref.get("location", -1), quote_ident(scope[0])))
        return
    found.append((ref.get("location", -1), None))


def _scope(kind: str, body: dict[str, Any]) -> list[str]:
    """The reference names at this query level that can supply an unqualified `tableoid`:
    its relations. A subquery, function or CTE has no system columns (PostgreSQL resolves
    `tableoid` past them), unless it outputs a column of that name."""
    ctes = {c["CommonTableExpr"]["ctename"]: c for c in ((body.get("withClause") or {}).get("ctes") or [])
            if "CommonTableExpr" in c}
    names: list[str] = []
    if kind != "SelectStmt" and body.get("relation"):
        names.append(_refname(body["relation"]))
    if kind == "MergeStmt" and body.get("sourceRelation"):
        _from_names(body["sourceRelation"], names, ctes)
    for item in body.get("fromClause") or body.get("usingClause") or []:
        _from_names(item, names, ctes)
    return names


def _from_names(item: Any, names: list[str], ctes: dict[str, Any]) -> None:
    if not isinstance(item, dict):
        return
    if "RangeVar" in item:
        var = item["RangeVar"]
        cte = ctes.get(var.get("relname")) if not var.get("schemaname") else None
        if cte is None or _outputs_tableoid(cte["CommonTableExpr"], cte["CommonTableExpr"].get("ctequery")):
            names.append(_refname(var))
    elif "JoinExpr" in item:
        join = item["JoinExpr"]
        if join.get("alias"):
            names.append(join["alias"]["aliasname"])
            return
        _from_names(join.get("larg"), names, ctes)
        _from_names(join.get("rarg"), names, ctes)
    elif "RangeSubselect" in item or "RangeFunction" in item:
        body = item.get("RangeSubselect") or item.get("RangeFunction") or {}
        if _outputs_tableoid(body, body.get("subquery")):
            names.append((body.get("alias") or {}).get("aliasname", "?"))


def _outputs_tableoid(item: dict[str, Any], query: Any) -> bool:
    """Whether a subquery, CTE or function in FROM has an output column named tableoid
    (then an unqualified `tableoid` is ambiguous, as PostgreSQL says)."""
    alias = item.get("alias") or {}
    listed = alias.get("colnames") or item.get("aliascolnames") or []
    listed = [*listed, *(item.get("coldeflist") or [])]
    if any(_name_of(c) == "tableoid" for c in listed):
        return True
    while isinstance(query, dict) and "SelectStmt" in query:
        body = query["SelectStmt"]
        if body.get("larg"):
            query = {"SelectStmt": body["larg"]}
            continue
        return any(_target_name(t) == "tableoid" for t in body.get("targetList") or [])
    return False


def _name_of(node: Any) -> str | None:
    if isinstance(node, dict):
        if "String" in node:
            return node["String"].get("sval")
        if "ColumnDef" in node:
            return node["ColumnDef"].get("colname")
    return None


def _target_name(target: Any) -> str | None:
    res = target.get("ResTarget", {}) if isinstance(target, dict) else {}
    if res.get("name"):
        return str(res["name"])
    fields = (res.get("val") or {}).get("ColumnRef", {}).get("fields") or []
    return _name_of(fields[-1]) if fields else None


def _refname(rangevar: dict[str, Any]) -> str:
    rangevar = rangevar.get("RangeVar", rangevar)
    alias = rangevar.get("alias")
    return str(alias["aliasname"]) if alias else str(rangevar["relname"])


def has_user_sublink(node: Any) -> bool:
    """Whether `node` holds a subquery other than a `tableoid` mapping (which reads no
    relation and is evaluated per row on the node, so pushing it down is safe)."""
    if isinstance(node, list):
        return any(has_user_sublink(item) for item in node)
    if not isinstance(node, dict):
        return False
    if "SubLink" in node:
        return MARKER not in str(node["SubLink"])
    return any(has_user_sublink(value) for value in node.values())


def ensure_no_check_reads_tableoid(node: Any, table: str) -> None:
    """A CHECK constraint of a HASH table that reads `tableoid` would be checked on the
    datanodes, where each row's `tableoid` is its shard: it would pass or fail on the shard's
    name, not the table's. Refused (0A000) rather than checked against the wrong table."""
    for check in _check_constraints(node):
        if _reads_tableoid(check.get("raw_expr")):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot check constraint "{check.get("conname") or table + "_check"}" of '
                          f'distributed table "{table}": it reads tableoid, which on a datanode names a shard',
                          hint="Distribute the table by REPLICATION or ROUNDROBIN, or check without tableoid.")


def _check_constraints(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            out += _check_constraints(item)
    elif isinstance(node, dict):
        constraint = node.get("Constraint")
        if isinstance(constraint, dict) and constraint.get("contype") == "CONSTR_CHECK":
            out.append(constraint)
        for value in node.values():
            out += _check_constraints(value)
    return out


def _reads_tableoid(node: Any) -> bool:
    if isinstance(node, list):
        return any(_reads_tableoid(item) for item in node)
    if not isinstance(node, dict):
        return False
    ref = node.get("ColumnRef")
    if isinstance(ref, dict):
        fields = ref.get("fields") or []
        return bool(fields) and fields[-1].get("String", {}).get("sval") == "tableoid"
    return any(_reads_tableoid(value) for value in node.values())
