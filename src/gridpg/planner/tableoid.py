"""`tableoid` of a distributed table's rows, as PostgreSQL gives it. Pure.

On a datanode the rows of a HASH table live in its shards (partitions in gridpg_shards),
so the node's own `tableoid` names a shard, not the user's table (or the user's partition,
whose leaves carry the shards). A query over distributed tables that reads `tableoid` is
rewritten before planning: each reference becomes a scalar subquery, evaluated on the node,
that maps a shard to the table it belongs to and keeps the column name `tableoid`.

The node's answer is the node's OID of that table, right wherever it stays a name or is
compared with the node's own OIDs: `tableoid::regclass` as an output column (or cast on to
text), `tableoid = 't'::regclass`, `tableoid IN ('a'::regclass, ...)`, and the bare output
column that executor/tableoid_oids.py turns into the catalog server's OID by the table's
name. Anywhere else its number would show (`tableoid::int`, `ORDER BY tableoid`, a
comparison with a number, a subquery's output): such a reference is mapped with
NUMBER_MARKER, and only the coordinator finish runs the statement, over gathered copies
that carry each row's table (`GATHERED_COLUMN`, the catalog server's name of it) so that
the statement sees the catalog server's OIDs as PostgreSQL's clients do. A write that
needs that is refused (0A000), as is moving rows (`ensure_not_gathered`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident

MARKER = "gp_tableoid_c"
NUMBER_MARKER = MARKER + "n"  # a reference whose number the statement uses (contains MARKER)
# The column of a gathered copy that holds each row's table (`schema.name`, quoted as needed).
GATHERED_COLUMN = "gp_tableoid"
# What a gathered copy's rows add for that column, evaluated on the node.
GATHERED_EXPRESSION = ("(pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, "
                       "{mapping}, 0)).identity")
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
    numbers = number_refs(tree)
    tokens = sqlparse.tokens(sql)
    replacements = []
    for location, qualifier in found:
        end = next((t.end + 1 for t in tokens if t.start >= location  # the scanner's end is inclusive
                    and sql[t.start:t.end + 1].strip('"').lower() == "tableoid"), None)
        if end is None:
            continue
        ref = sql[location:end] if qualifier is None else f"{qualifier}.tableoid"
        marker = NUMBER_MARKER if location in numbers else MARKER
        replacements.append((location, end, _MAPPING.format(c=marker, ref=ref)))
    if not replacements:
        return None
    return splice(sql, replacements)


def gathered_mapping() -> str:
    """The column a gathered copy adds: its row's table, as the catalog server names it."""
    return GATHERED_EXPRESSION.format(mapping=_MAPPING.format(c=MARKER, ref="tableoid"))


def reads_number(sql: str) -> bool:
    """Whether a mapped statement uses a `tableoid` as a number (only the coordinator
    finish, with the catalog server's OIDs, answers it)."""
    return NUMBER_MARKER in sql


def ensure_no_number(sql: str, what: str) -> None:
    """Refuse a write whose `tableoid` would show the datanode's OID."""
    if reads_number(sql):
        raise PgError(FEATURE_NOT_SUPPORTED, f"{what} that uses tableoid of a distributed table's rows other than "
                      "as a name (tableoid::regclass) or in a comparison with one ('t'::regclass) is not "
                      "supported by gridpg: a datanode numbers its tables itself",
                      hint="compare tableoid with 'name'::regclass, or read tableoid::regclass")


def mapping_spans(sql: str) -> list[tuple[int, int, str | None]]:
    """(start, end, qualifier of its reference) of each `tableoid` mapping in a mapped
    statement (pure)."""
    if MARKER not in sql:
        return []
    tree = sqlparse.parse_tree(sql)
    tokens = sqlparse.tokens(sql)
    out = []
    for node in _walk(tree):
        sublink = node.get("SubLink") if isinstance(node, dict) else None
        if not isinstance(sublink, dict) or MARKER not in str(sublink.get("subselect")):
            continue
        mapped = _mapped_reference(sublink)
        start = int(sublink.get("location", -1))
        if mapped is None or out and start < out[-1][1]:
            continue  # a user's subquery around a mapping, or the subquery inside one
        first = next((i for i, tok in enumerate(tokens) if tok.start >= start), len(tokens))
        close = sqlparse.closing_paren(tokens, first)
        if close is not None:
            out.append((start, tokens[close].end + 1, mapped[-2] if len(mapped) >= 2 else None))
    return out


def _mapped_reference(sublink: dict[str, Any]) -> list[str] | None:
    """The names of the reference a mapping maps (its CASE's ELSE `q.tableoid`), None for
    another subquery."""
    select = (sublink.get("subselect") or {}).get("SelectStmt") or {}
    targets = select.get("targetList") or []
    if select.get("fromClause") or len(targets) != 1 or targets[0].get("ResTarget", {}).get("name") != "tableoid":
        return None
    case = targets[0]["ResTarget"].get("val", {}).get("CaseExpr") or {}
    fields = case.get("defresult", {}).get("ColumnRef", {}).get("fields") or []
    names = [f.get("String", {}).get("sval") for f in fields]
    return names if names and names[-1] == "tableoid" and MARKER in str(case.get("args")) else None


def number_refs(tree: dict[str, Any]) -> set[int]:
    """Locations of the `tableoid` references whose value the statement uses as a number
    (see the module's docstring); the others are names or compared with names."""
    out: set[int] = set()
    kind, body = next(iter(tree.items()))
    top = body.get("targetList") if kind == "SelectStmt" and body.get("op") in (None, "SETOP_NONE") else \
        (body.get("returningClause") or {}).get("exprs") or body.get("returningList")
    top_ids = {id(t) for t in top or []}
    select = (body.get("selectStmt") or {}).get("SelectStmt") if kind == "InsertStmt" else None
    if select and select.get("op") in (None, "SETOP_NONE"):  # the values an INSERT ... SELECT stores
        top_ids |= {id(t) for t in select.get("targetList") or []}
    _classify(tree, [], top_ids, out)
    if kind == "SelectStmt":
        _sorted_outputs(body, out)
    return out


def _classify(node: Any, path: list[Any], top_ids: set[int], out: set[int]) -> None:
    if isinstance(node, list):
        for item in node:
            _classify(item, path, top_ids, out)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("ColumnRef")
    if isinstance(ref, dict):
        fields = ref.get("fields") or []
        if fields and fields[-1].get("String", {}).get("sval") == "tableoid" and not _named(path, top_ids):
            out.add(int(ref.get("location", -1)))
        return
    wrapper = len(node) == 1 and next(iter(node))[:1].isupper()  # {"TypeCast": {...}}, not its body
    if wrapper:
        path.append(node)
    for value in node.values():
        _classify(value, path, top_ids, out)
    if wrapper:
        path.pop()


_TEXT_TYPES = frozenset({"text", "varchar", "name", "bpchar"})


def _named(path: list[Any], top_ids: set[int]) -> bool:
    """Whether the reference whose ancestors are `path` (outermost first) is used as a name
    or compared with a name's OID, both answered alike on a datanode."""
    parents = [p for p in reversed(path) if not (isinstance(p, dict) and "List" in p)]
    casts = []
    index = 0
    while index < len(parents) and "TypeCast" in parents[index]:
        casts.append(_type_name(parents[index]["TypeCast"]))
        index += 1
    if "regclass" in casts and any(c in _TEXT_TYPES for c in casts[casts.index("regclass"):]):
        return True  # a name as text
    parent = parents[index] if index < len(parents) else {}
    if casts in ([], ["regclass"], ["oid"], ["regclass", "oid"]) and _compared_with_name(parent):
        return True
    if casts == ["regclass"] and id(parent) in top_ids:
        return True  # an output column, printed as a name (unless sorted on: _sorted_outputs)
    if not casts and "FuncCall" in parent:
        return _function_name(parent["FuncCall"]) == "pg_identify_object"  # tableoid_oids' lookup
    if not casts and "CaseExpr" in parent:  # tableoid_oids' ELSE: a table it does not list
        return "pg_identify_object" in str(parent["CaseExpr"].get("arg"))
    return False


def _type_name(cast: dict[str, Any]) -> str:
    names = (cast.get("typeName") or {}).get("names") or []
    return str(names[-1].get("String", {}).get("sval")) if names else ""


def _function_name(call: dict[str, Any]) -> str:
    names = call.get("funcname") or []
    return str(names[-1].get("String", {}).get("sval")) if names else ""


def _compared_with_name(parent: dict[str, Any]) -> bool:
    """`= / <> / IN` whose other side is only `'name'::regclass` constants (maybe ::oid)."""
    expr = parent.get("A_Expr")
    if not isinstance(expr, dict) or expr.get("kind") not in ("AEXPR_OP", "AEXPR_IN"):
        return False
    operator = (expr.get("name") or [{}])[-1].get("String", {}).get("sval")
    if operator not in ("=", "<>", "!="):
        return False
    sides = [expr.get("lexpr"), expr.get("rexpr")]
    others = [s for s in sides if "tableoid" not in str(s)]
    if len(others) != 1:
        return False
    other = others[0]
    items = other["List"].get("items") or [] if isinstance(other, dict) and "List" in other else [other]
    return bool(items) and all(_regclass_constant(i) for i in items)


def _regclass_constant(node: Any) -> bool:
    while isinstance(node, dict) and "TypeCast" in node and _type_name(node["TypeCast"]) == "oid":
        node = node["TypeCast"].get("arg")
    if not (isinstance(node, dict) and "TypeCast" in node and _type_name(node["TypeCast"]) == "regclass"):
        return False
    return "A_Const" in (node["TypeCast"].get("arg") or {})


def _sorted_outputs(body: dict[str, Any], out: set[int]) -> None:
    """An output column that holds a `tableoid` (a regclass sorts by its OID), named by
    position or name in ORDER BY: its references sort by number."""
    targets = body.get("targetList") or []
    for item in body.get("sortClause") or []:
        key = item.get("SortBy", {}).get("node") or {}
        chosen = None
        if "A_Const" in key and "ival" in key["A_Const"]:
            position = int(key["A_Const"]["ival"].get("ival", 0))
            chosen = targets[position - 1] if 0 < position <= len(targets) else None
        elif "ColumnRef" in key:
            fields = key["ColumnRef"].get("fields") or []
            name = fields[-1].get("String", {}).get("sval") if len(fields) == 1 else None
            chosen = next((t for t in targets if name and _target_name(t) == name), None)
        val = (chosen or {}).get("ResTarget", {}).get("val") or {}
        if not val or ("TypeCast" in val and _type_name(val["TypeCast"]) in _TEXT_TYPES):
            continue  # a name as text sorts alike everywhere
        for node in _walk(val):
            ref = node.get("ColumnRef") if isinstance(node, dict) else None
            if isinstance(ref, dict) and (ref.get("fields") or [{}])[-1].get("String", {}).get("sval") == "tableoid":
                out.add(int(ref.get("location", -1)))


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


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
            for key, value in body.items():
                if key in ("larg", "rarg") and isinstance(value, dict):  # a set operation's branches
                    value = {"SelectStmt": value}
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
    """A CHECK constraint or a generated column of a HASH table that reads `tableoid` would
    be checked or computed on the datanodes, where each row's `tableoid` is its shard: it
    would pass or fail on the shard's name, not the table's, and store the shard's (a
    generated column `tableoid::regclass` read back `gridpg_shards."s.t_7"`). Refused
    (0A000) rather than computed against the wrong table. `node`: a CREATE TABLE's
    elements or an ALTER TABLE's commands."""
    for check in _constraints(node, "CONSTR_CHECK"):
        if _reads_tableoid(check.get("raw_expr")):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot check constraint "{check.get("conname") or table + "_check"}" of '
                          f'distributed table "{table}": it reads tableoid, which on a datanode names a shard',
                          hint="Distribute the table by REPLICATION or ROUNDROBIN, or check without tableoid.")
    for column, expr in _generation_expressions(node):
        if _reads_tableoid(expr):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot compute generated column "{column}" of distributed table '
                          f'"{table}": it reads tableoid, which on a datanode names a shard',
                          hint="Distribute the table by REPLICATION or ROUNDROBIN, or compute it without tableoid.")


def needs_unsharded_table(elements: Any, table: str, columns: Collection[str]) -> bool:
    """Whether a CREATE TABLE's elements hold what a HASH table's shards cannot carry: a
    CHECK constraint or generated column reading `tableoid` (the shard's, refused by
    `ensure_no_check_reads_tableoid`), or a CHECK over the whole row (`t.*`, or the bare
    table name that is no column: the shards, partitions of the datanode's table, refuse
    it with "cannot convert whole-row table reference"). A table placed by default is then
    placed without shards (commands/ddl.py)."""
    checks = [c.get("raw_expr") for c in _constraints(elements, "CONSTR_CHECK")]
    return (any(_reads_tableoid(c) for c in checks)
            or any(_reads_tableoid(e) for _, e in _generation_expressions(elements))
            or any(_reads_whole_row(c, table, columns) for c in checks))


def _reads_whole_row(node: Any, table: str, columns: Collection[str]) -> bool:
    if isinstance(node, list):
        return any(_reads_whole_row(item, table, columns) for item in node)
    if not isinstance(node, dict):
        return False
    ref = node.get("ColumnRef")
    if isinstance(ref, dict):
        fields = ref.get("fields") or []
        if fields and "A_Star" in fields[-1]:
            return True
        return len(fields) == 1 and fields[0].get("String", {}).get("sval") == table and table not in columns
    if "SubLink" in node:
        return False  # a sub-select's own tables (PostgreSQL refuses sub-selects in CHECK anyway)
    return any(_reads_whole_row(value, table, columns) for value in node.values())


def _constraints(node: Any, contype: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            out += _constraints(item, contype)
    elif isinstance(node, dict):
        constraint = node.get("Constraint")
        if isinstance(constraint, dict) and constraint.get("contype") == contype:
            out.append(constraint)
        for value in node.values():
            out += _constraints(value, contype)
    return out


def _generation_expressions(node: Any) -> list[tuple[str, Any]]:
    """(column, expression) of the generated columns a CREATE TABLE's elements or an ALTER
    TABLE's commands define (ADD COLUMN ... GENERATED, ALTER COLUMN ... SET EXPRESSION)."""
    out: list[tuple[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            out += _generation_expressions(item)
    elif isinstance(node, dict):
        column = node.get("ColumnDef")
        if isinstance(column, dict):
            out += [(column.get("colname", "?"), c.get("raw_expr"))
                    for c in _constraints(column.get("constraints"), "CONSTR_GENERATED")]
            return out
        cmd = node.get("AlterTableCmd")
        if isinstance(cmd, dict) and cmd.get("subtype") == "AT_SetExpression":
            out.append((cmd.get("name", "?"), cmd.get("def")))
        for value in node.values():
            out += _generation_expressions(value)
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
