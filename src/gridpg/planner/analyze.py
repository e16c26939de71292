"""Reading what a statement touches and how it is pinned, from its JSON parse tree. Pure.

`relations` lists every table reference (not CTE names) with its text location;
`pinning_values` finds, for a given column set, the top-level `col = value` and
`col IN (values)` conditions of a WHERE clause, where a value is a constant or a parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

Tree = dict[str, Any]


@dataclass(frozen=True)
class RelRef:
    schema: str | None
    name: str
    location: int
    alias: str | None


@dataclass(frozen=True)
class Value:
    """A constant (text form, None for NULL) or a parameter number, possibly under a cast."""

    text: str | None = None
    param: int = 0  # $n, 0 when a constant
    # The cast's type as written: PostgreSQL's internal name for the SQL spellings
    # (`integer` -> int4, `char(3)` -> bpchar), `schema.name` for a qualified one, `"char"`
    # for the one-byte type; None: no cast.
    cast: str | None = None
    cast_typmods: bool = False  # the cast has type modifiers (varchar(3), numeric(5,1)...)

    def cast_keeps_value(self, column_type: str) -> bool:
        """Whether `col = value` compares the column with this text read as the column's
        own type: no cast, or one to the column's type (or between integer types, or text
        and varchar) without modifiers. Any other cast may change the value first (bpchar
        drops trailing blanks, ::int rounds 1.5, ::date drops the time, varchar(3) cuts):
        hashing the text as the column's type would pick another shard than the row's."""
        cast = self.cast
        if cast is None:
            return True
        if self.cast_typmods or cast == '"char"' or "." in cast:
            return False
        from gridpg.planner.hashing import canonical_type_name

        try:
            want, have = canonical_type_name(cast), canonical_type_name(column_type)
        except (ValueError, KeyError):
            return False
        return want == have or {want, have} <= _INTEGERS or {want, have} <= _TEXTS

    def param_type_keeps_value(self, oids: Sequence[int], column_type: str) -> bool:
        """`param_keeps_value` for this value when it is a parameter whose type `oids` gives
        (by position; none there: inferred as the column's), against the cast's type when
        it has one (the parameter is converted to it first); True for a constant."""
        if not self.param or self.param > len(oids):
            return True
        return param_keeps_value(oids[self.param - 1], self.cast or column_type)


_INTEGERS = frozenset(("int2", "int4", "int8"))
_TEXTS = frozenset(("text", "varchar"))
# Built-in types a parameter may be declared with (Parse) or described as, by OID.
_PARAM_TYPES = {16: "bool", 17: "bytea", 18: '"char"', 19: "name", 20: "int8", 21: "int2", 23: "int4",
                25: "text", 26: "oid", 114: "json", 700: "float4", 701: "float8", 869: "inet",
                1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp",
                1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric", 2950: "uuid",
                3802: "jsonb"}


def param_keeps_value(oid: int, column_type: str) -> bool:
    """`Value.cast_keeps_value` for a parameter of type `oid` (0, unknown: the column's type
    is inferred for it): a parameter declared timestamptz against a timestamp column, or
    bpchar against a text one, is compared as converted, not as its text read as the column's."""
    if oid in (0, 705):
        return True
    name = _PARAM_TYPES.get(oid)
    return name is not None and Value(cast=name).cast_keeps_value(column_type)


def relations(tree: Any) -> list[RelRef]:
    """All RangeVars of the statement, excluding references to CTEs where those are in scope.

    A WITH clause's names are visible to the statement's body and to later CTEs (and, with
    RECURSIVE, to every CTE of the clause); a CTE body may read a table of its own name.
    """
    out: list[RelRef] = []
    _collect(tree, frozenset(), out)
    out.sort(key=lambda r: r.location)
    target = _dml_target(tree)
    if target is not None:
        out.sort(key=lambda r: r.location != target)
    return out


def _collect(node: Any, hidden: frozenset[str], out: list[RelRef]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, hidden, out)
        return
    if not isinstance(node, dict):
        return
    if "RangeVar" in node:
        _add_range_var(node["RangeVar"], hidden, out)
        return
    if "LockingClause" in node:  # FOR UPDATE OF a: names FROM items, not relations
        return
    if "relname" in node and "relpersistence" in node:
        _add_range_var(node, hidden, out)  # InsertStmt/UpdateStmt.relation: a bare RangeVar
        return
    with_clause = node.get("withClause")
    if isinstance(with_clause, dict) and "ctes" in with_clause:
        ctes = [c["CommonTableExpr"] for c in with_clause["ctes"] if "CommonTableExpr" in c]
        names = [c["ctename"] for c in ctes]
        recursive = bool(with_clause.get("recursive"))
        for index, cte in enumerate(ctes):
            visible = set(names) if recursive else set(names[:index])
            _collect(cte.get("ctequery"), hidden | visible, out)
        rest = {k: v for k, v in node.items() if k != "withClause"}
        _collect(list(rest.values()), hidden | set(names), out)
        return
    for value in node.values():
        _collect(value, hidden, out)


def _add_range_var(rv: dict[str, Any], hidden: frozenset[str], out: list[RelRef]) -> None:
    schema = rv.get("schemaname")
    if schema is None and rv["relname"] in hidden:
        return
    alias = rv.get("alias", {}).get("aliasname") if rv.get("alias") else None
    out.append(RelRef(schema, rv["relname"], rv.get("location", -1), alias))


def _dml_target(tree: Any) -> int | None:
    """The text location of an INSERT/UPDATE/DELETE/MERGE target relation."""
    if not isinstance(tree, dict):
        return None
    for kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        body = tree.get(kind)
        if body is not None:
            return int(body["relation"].get("location", -1))
    return None


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def has_modifying_cte(tree: Any) -> bool:
    """A WITH entry that is an INSERT/UPDATE/DELETE/MERGE (a data-modifying CTE)."""
    for node in _walk(tree):
        if isinstance(node, dict) and "CommonTableExpr" in node:
            query = node["CommonTableExpr"].get("ctequery") or {}
            if any(kind in query for kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")):
                return True
    return False


def has_node(tree: Any, *kinds: str) -> bool:
    for node in _walk(tree):
        if isinstance(node, dict):
            for kind in kinds:
                if kind in node:
                    return True
    return False


def conjuncts(where: Tree | None) -> list[Tree]:
    if not where:
        return []
    boolexpr = where.get("BoolExpr")
    if boolexpr is not None and boolexpr["boolop"] == "AND_EXPR":
        out: list[Tree] = []
        for arg in boolexpr["args"]:
            out.extend(conjuncts(arg))
        return out
    return [where]


def column_ref(node: Tree) -> tuple[str, ...] | None:
    ref = node.get("ColumnRef")
    if ref is None:
        return None
    fields = []
    for f in ref["fields"]:
        if "String" not in f:
            return None
        fields.append(f["String"]["sval"])
    return tuple(fields)


def value_of(node: Tree) -> Value | None:
    """A constant or parameter, possibly under one cast; None for anything else."""
    cast = None
    typmods = False
    if "TypeCast" in node:
        tc = node["TypeCast"]
        names = [n["String"]["sval"] for n in tc["typeName"]["names"] if "String" in n]
        if tc["typeName"].get("arrayBounds"):
            return None
        if len(names) > 1 and names[0] != "pg_catalog":
            cast = ".".join(names)
        elif names == ["char"]:  # (the SQL spelling char(n) is pg_catalog.bpchar)
            cast = '"char"'
        else:
            cast = names[-1] if names else None
        typmods = bool(tc["typeName"].get("typmods"))
        node = tc["arg"]
    if "ParamRef" in node:
        return Value(param=node["ParamRef"]["number"], cast=cast, cast_typmods=typmods)
    const = node.get("A_Const")
    if const is None:
        return None
    if const.get("isnull"):
        return Value(None, cast=cast, cast_typmods=typmods)
    for key in ("ival", "fval", "sval", "boolval", "bsval"):
        if key in const:
            inner = const[key]
            raw = inner.get(key, 0 if key == "ival" else False if key == "boolval" else "")
            if key == "boolval":
                return Value("true" if raw else "false", cast=cast, cast_typmods=typmods)
            return Value(str(raw), cast=cast, cast_typmods=typmods)
    return None


def pinning_values(
    where: Tree | None, matches: Any
) -> dict[Any, list[Value]]:
    """{key: values} for top-level `col = v` / `col IN (v, ...)`, where matches(colref) -> key."""
    found: dict[Any, list[Value]] = {}
    for cond in conjuncts(where):
        expr = cond.get("A_Expr")
        if expr is None:
            continue
        name = [n["String"]["sval"] for n in expr.get("name", []) if "String" in n]
        if name != ["="]:
            continue
        if expr["kind"] == "AEXPR_OP":
            pair = _col_value(expr.get("lexpr"), expr.get("rexpr")) or _col_value(
                expr.get("rexpr"), expr.get("lexpr")
            )
            if pair is None:
                continue
            key = matches(pair[0])
            if key is not None and key not in found:
                found[key] = [pair[1]]
        elif expr["kind"] == "AEXPR_IN":
            col = column_ref(expr.get("lexpr") or {})
            items = (expr.get("rexpr") or {}).get("List", {}).get("items", [])
            values = [value_of(i) for i in items]
            if col is None or not values or any(v is None for v in values):
                continue
            key = matches(col)
            if key is not None and key not in found:
                found[key] = [v for v in values if v is not None]
    return found


def _col_value(left: Tree | None, right: Tree | None) -> tuple[tuple[str, ...], Value] | None:
    if not left or not right:
        return None
    col = column_ref(left)
    if col is None:
        return None
    value = value_of(right)
    if value is None:
        return None
    return col, value


def equi_join_pairs(tree: Tree) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """`a.x = b.y` column pairs from WHERE conjuncts and JOIN ... ON conditions."""
    pairs = []
    sources = conjuncts(tree.get("whereClause"))
    for node in _walk(tree.get("fromClause", [])):
        if isinstance(node, dict) and "JoinExpr" in node:
            sources.extend(conjuncts(node["JoinExpr"].get("quals")))
    for cond in sources:
        expr = cond.get("A_Expr")
        if expr is None or expr["kind"] != "AEXPR_OP":
            continue
        name = [n["String"]["sval"] for n in expr.get("name", []) if "String" in n]
        if name != ["="]:
            continue
        left = column_ref(expr.get("lexpr") or {})
        right = column_ref(expr.get("rexpr") or {})
        if left and right:
            pairs.append((left, right))
    return pairs
