"""OIDs in statements over distributed tables: where a datanode's own would show. Pure.

Every PostgreSQL server numbers its objects itself: the datanodes' OIDs of a user's table,
type, function or schema are not the catalog server's, which are the ones a client sees
(`pg_class`, `'t'::regclass::oid`). A statement the datanodes run evaluates `'t'::regclass`,
`to_regclass('t')`, `'f'::regproc` ... to the datanode's OID, and a column of type
regclass (regtype, regproc, ... or an array of them) of a distributed table holds the
datanode's OIDs: its input and output go by name, so each datanode stores its own number.

That is right wherever the value stays a name or meets another value of the same node:
an output column read as text (`SELECT r`, `'t'::regclass` in the select list, `r::text`),
a comparison `r = 't'::regclass`, `tableoid = 't'::regclass`, `r IN (...)`, `IS NULL`.
Anywhere else the number shows or meets a number the client got from the catalog server
(`'t'::regclass::oid` as an output, `oidcol = 't'::regclass`, `r::int`, `ORDER BY r`,
`min(r)`, a number stored into a regclass column, a regclass value stored into an oid
column, a parameter, a function that looks an object up by OID such as
`has_table_privilege(oidcol, 'select')` or `format_type(typcol, NULL)`): `hazard` names the
first such expression. A SELECT that has one
runs by the coordinator finish (its gathered copies carry regclass columns by name into
the catalog server, which evaluates everything with its own OIDs); a write that has one is
refused (0A000). The tableoid mappings of planner/tableoid.py stand for the node's OID of
a table and are left to that module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from gridpg.catalog.model import CatalogSnapshot
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.context import UNKNOWN, BoundParams, value_text
from gridpg.planner.tableoid import MARKER

REG_TYPES = frozenset({"regclass", "regtype", "regproc", "regprocedure", "regoper", "regoperator",
                       "regnamespace", "regrole", "regcollation", "regconfig", "regdictionary"})
TO_REG_FUNCTIONS = frozenset({"to_regclass", "to_regtype", "to_regproc", "to_regprocedure", "to_regoper",
                              "to_regoperator", "to_regnamespace", "to_regrole", "to_regcollation"})
# Functions that look an object up by its OID (or name): on a datanode an OID read from an
# oid column or computed there means that datanode's object, or none
LOOKUP_FUNCTIONS = frozenset({
    "has_table_privilege", "has_column_privilege", "has_any_column_privilege", "has_sequence_privilege",
    "has_function_privilege", "has_type_privilege", "has_schema_privilege", "has_database_privilege",
    "has_foreign_data_wrapper_privilege", "has_server_privilege", "has_language_privilege",
    "has_tablespace_privilege", "pg_has_role", "pg_get_viewdef", "pg_get_ruledef", "pg_get_indexdef",
    "pg_get_constraintdef", "pg_get_triggerdef", "pg_get_functiondef", "pg_get_function_arguments",
    "pg_get_function_identity_arguments", "pg_get_function_result", "pg_get_expr", "pg_get_partkeydef",
    "pg_get_statisticsobjdef", "pg_get_userbyid", "format_type", "obj_description", "col_description",
    "shobj_description", "pg_describe_object", "pg_identify_object", "pg_identify_object_as_address",
    "pg_relation_filenode", "pg_relation_filepath", "pg_table_is_visible", "pg_type_is_visible",
    "pg_function_is_visible", "pg_operator_is_visible", "pg_opclass_is_visible", "pg_opfamily_is_visible",
    "pg_collation_is_visible", "pg_conversion_is_visible", "pg_statistics_obj_is_visible",
    "pg_ts_parser_is_visible", "pg_ts_dict_is_visible", "pg_ts_template_is_visible",
    "pg_ts_config_is_visible", "pg_partition_root", "pg_partition_ancestors", "pg_partition_tree",
    "pg_index_column_has_property", "pg_index_has_property", "pg_indexam_has_property",
    "pg_sequence_last_value", "pg_get_serial_sequence",
})
_TEXT_TYPES = frozenset({"text", "varchar", "name", "bpchar"})
# Functions whose result shows an OID's number or its order
_NUMBER_FUNCTIONS = frozenset({"oid", "int2", "int4", "int8", "numeric", "float4", "float8", "min", "max",
                               "hashoid", "hashoidextended", "oidlarger", "oidsmaller", "greatest", "least"})
_EQUALITY = frozenset({"=", "<>", "!="})


_MAY_USE_OIDS = re.compile(r"reg|has_|pg_get_|format_type|_description|pg_identify|pg_describe|_is_visible"
                           r"|pg_relation_file|pg_partition_|_has_property|pg_sequence_last_value", re.IGNORECASE)


def may_use_oids(sql: str) -> bool:
    """A cheap test before reading the tree: the text may compute an OID on a datanode."""
    return _MAY_USE_OIDS.search(sql) is not None


def hazard(tree: dict[str, Any], kind: str, tables: Iterable[tuple[str, str, str]],
           snapshot: CatalogSnapshot, params: BoundParams | None = None) -> str | None:
    """The first expression of the statement whose value would be a datanode's OID where
    the client expects the catalog server's, as text for a message; None when there is none.
    `tables`: (exposed name, schema, name) of each distributed table reference; `params`:
    the bound values (None: a parameter assigned to an OID-typed column is a hazard)."""
    reader = _Reader(tables, snapshot, params)
    return reader.statement(tree, kind)


def ensure_no_hazard(tree: dict[str, Any], kind: str, tables: Iterable[tuple[str, str, str]],
                     snapshot: CatalogSnapshot, params: BoundParams | None = None) -> None:
    """Refuse a write (or a statement with row locks) that would use a datanode's OID."""
    found = hazard(tree, kind, tables, snapshot, params)
    if found is not None:
        raise_refusal(kind, found)


def raise_refusal(kind: str, found: str) -> None:
    what = kind[:-4].upper() if kind.endswith("Stmt") else kind
    raise PgError(FEATURE_NOT_SUPPORTED, f"{what} over distributed tables with {found} is not supported by "
                  "gridpg: each datanode numbers its tables, types and functions itself",
                  hint="Compare or store such values by name (a regclass column with 't' or 't'::regclass), "
                       "or read them in a SELECT, which the coordinator answers with the catalog's OIDs.")


class _Reader:
    def __init__(self, tables: Iterable[tuple[str, str, str]], snapshot: CatalogSnapshot,
                 params: BoundParams | None) -> None:
        self.by_exposed: dict[str, Mapping[str, int]] = {}
        self.by_table: dict[tuple[str, str], Mapping[str, int]] = {}
        for exposed, schema, name in tables:
            columns = snapshot.reg_columns_of(schema, name)
            self.by_exposed[exposed] = columns
            self.by_table[(schema, name)] = columns
        self.names = frozenset(c for cols in self.by_exposed.values() for c in cols)
        self.params = params

    # -- the statement's parts --------------------------------------------------------

    def statement(self, tree: dict[str, Any], kind: str) -> str | None:
        body = tree.get(kind) or {}
        if kind == "SelectStmt":
            return self._select(body, outputs_safe=not body.get("lockingClause"))
        rest = {k: v for k, v in body.items() if k not in ("selectStmt", "targetList", "returningClause",
                                                          "returningList")}
        returning = body.get("returningClause", {}).get("exprs") if isinstance(body.get("returningClause"), dict) \
            else body.get("returningList")
        found = self._outputs(returning or [])
        if found is None and kind == "InsertStmt":
            found = self._insert(body)
        if found is None and kind == "UpdateStmt":
            target = body.get("relation") or {}
            pairs = [((t.get("ResTarget") or {}).get("name"), (t.get("ResTarget") or {}).get("val"))
                     for t in body.get("targetList") or []]
            found = self._assignments(pairs, self._columns_of(target))
        return found or self._find(rest)

    def _select(self, body: dict[str, Any], outputs_safe: bool) -> str | None:
        if body.get("op", "SETOP_NONE") != "SETOP_NONE":
            return self._select(body.get("larg", {}).get("SelectStmt", {}), outputs_safe) \
                or self._select(body.get("rarg", {}).get("SelectStmt", {}), outputs_safe) \
                or self._find({k: v for k, v in body.items() if k not in ("larg", "rarg")})
        targets = body.get("targetList") or []
        rest = {k: v for k, v in body.items() if k != "targetList"}
        found = self._outputs(targets) if outputs_safe else self._find(targets)
        return found or self._sorted_output(body) or self._find(rest)

    def _outputs(self, targets: list[Any]) -> str | None:
        """Output columns: a name-valued one is sent as its name (text), as the client's
        server would."""
        for item in targets:
            val = (item.get("ResTarget") or {}).get("val")
            if val is None or self._is_name(val) or self._is_text_of_name(val):
                continue
            found = self._find(val)
            if found is not None:
                return found
        return None

    def _sorted_output(self, body: dict[str, Any]) -> str | None:
        """ORDER BY an output column holding OIDs by position or name: they sort by number."""
        targets = body.get("targetList") or []
        for item in body.get("sortClause") or []:
            key = (item.get("SortBy") or {}).get("node") or {}
            chosen = None
            number = (key.get("A_Const") or {}).get("ival")
            if isinstance(number, dict) and 0 < number.get("ival", 0) <= len(targets):
                chosen = targets[number["ival"] - 1].get("ResTarget", {})
            fields = (key.get("ColumnRef") or {}).get("fields") or []
            if len(fields) == 1 and "String" in fields[0]:
                chosen = next((t.get("ResTarget", {}) for t in targets
                               if t.get("ResTarget", {}).get("name") == fields[0]["String"]["sval"]), None)
            if chosen and self._is_name(chosen.get("val") or {}):
                return "ORDER BY a column of OIDs (they sort by number)"
        return None

    def _insert(self, body: dict[str, Any]) -> str | None:
        columns = self._columns_of(body.get("relation") or {})
        names = [(c.get("ResTarget") or {}).get("name") for c in body.get("cols") or []]
        by_position = {p: c for c, p in columns.items()}

        def target(i: int) -> str | None:
            return names[i] if names else by_position.get(i + 1)

        select = (body.get("selectStmt") or {}).get("SelectStmt") or {}
        if select.get("valuesLists"):
            for row in select["valuesLists"]:
                items = row.get("List", {}).get("items") or []
                found = self._assignments([(target(i), v) for i, v in enumerate(items)], columns)
                if found is not None:
                    return found
            return self._find({k: v for k, v in select.items() if k != "valuesLists"})
        if not select or select.get("op", "SETOP_NONE") != "SETOP_NONE":
            return self._find(select)
        targets = [(t.get("ResTarget") or {}).get("val") for t in select.get("targetList") or []]
        return self._assignments([(target(i), v) for i, v in enumerate(targets)], columns) \
            or self._find({k: v for k, v in select.items() if k != "targetList"})

    def _assignments(self, pairs: list[tuple[str | None, Any]], columns: Mapping[str, int]) -> str | None:
        """Values stored into columns (column name or None, value): into an OID-typed
        column only names (a string that is not a number, a cast of one, a column of the
        same kind, NULL, DEFAULT); into any other column no value computed from a
        datanode's OIDs."""
        for name, val in pairs:
            if not isinstance(val, dict):
                continue
            if name is not None and name in columns:
                if not self._is_stored_name(val):
                    return "a value that is not a name stored into a column of OIDs"
                continue
            if not self._is_star(val):
                found = self._find(val)
                if found is not None:
                    return found
        return None

    # -- expressions ------------------------------------------------------------------

    def _find(self, node: Any) -> str | None:
        """The first expression under `node` that uses a datanode's OID as a number."""
        if isinstance(node, list):
            for item in node:
                found = self._find(item)
                if found is not None:
                    return found
            return None
        if not isinstance(node, dict):
            return None
        if "A_Expr" in node and self._is_node_comparison(node["A_Expr"]):
            return None
        if "NullTest" in node and self._is_node_value(node["NullTest"].get("arg") or {}):
            return None
        if _is_tableoid_mapping(node):
            return None  # a tableoid mapping: planner/tableoid.py decides
        if self._is_text_of_name(node):
            return None
        if "TypeCast" in node and _type_name(node["TypeCast"]) in REG_TYPES:
            if _is_tableoid_mapping(node["TypeCast"].get("arg") or {}):
                return None  # tableoid::regclass: a name (planner/tableoid.py)
            return f"a cast to {_type_name(node['TypeCast'])}"
        if "FuncCall" in node:
            return self._call(node["FuncCall"])
        if "ColumnRef" in node and self._is_reg_column(node["ColumnRef"]):
            return "a column of OIDs (regclass, regtype, ...) used as a number"
        if "SelectStmt" in node:
            return self._select(node["SelectStmt"], outputs_safe=False)
        for value in node.values():
            found = self._find(value)
            if found is not None:
                return found
        return None

    def _call(self, call: dict[str, Any]) -> str | None:
        """A function call: one given a value of its own node's OIDs (`nextval('s'::regclass)`,
        `format_type(typcol, NULL)`) looks the object up on that node, where the OID means
        it; a lookup given another OID (an oid column's, a number) or a function that
        shows or orders the number (`oid()`, `int8()`, `min()`, `max()`) does not."""
        name = _function_name(call)
        if name in TO_REG_FUNCTIONS:
            return f"{name}()"
        args = call.get("args") or []
        if name in LOOKUP_FUNCTIONS and not all(_is_name_literal(a) or _is_null(a) or _is_builtin_number(a)
                                                or _is_tableoid_mapping(a) or self._is_name(a) for a in args):
            return f"{name}() of an OID"
        rest = {k: v for k, v in call.items() if k != "args"}
        if name in _NUMBER_FUNCTIONS:
            return self._find(args) or self._find(rest)
        return self._find([a for a in args if not self._is_name(a)]) or self._find(rest)

    def _is_node_comparison(self, expr: dict[str, Any]) -> bool:
        """`a = b`, `a <> b`, `a IN (...)`, `a IS [NOT] DISTINCT FROM b` over values of the
        same datanode (each side read or computed there)."""
        op = [n["String"]["sval"] for n in expr.get("name") or [] if "String" in n]
        kind = expr.get("kind")
        if kind in ("AEXPR_OP", "AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT") and op and op[-1] in _EQUALITY:
            sides = [expr.get("lexpr"), expr.get("rexpr")]
        elif kind == "AEXPR_IN":
            right = expr.get("rexpr") or {}
            sides = [expr.get("lexpr"), *((right.get("List") or {}).get("items") or [None])]
        else:
            return False
        values = [s for s in sides if not (isinstance(s, dict) and _is_null(s))]
        nodes = [s for s in values if isinstance(s, dict) and self._is_node_value(s)]
        # a quoted name beside them is read as one of them (`r IN ('a', 'b')`)
        return bool(nodes) and all(s in nodes or (isinstance(s, dict) and _is_name_literal(s)) for s in values)

    def _is_node_value(self, node: dict[str, Any]) -> bool:
        """A value that is a datanode's OID on every side of a comparison: an OID-typed
        column, a name cast to a reg type (or that cast made an oid), a tableoid mapping."""
        if "TypeCast" in node and _type_name(node["TypeCast"]) == "oid":
            return self._is_name(node["TypeCast"].get("arg") or {})
        if _is_tableoid_mapping(node):
            return True
        return self._is_name(node)

    def _is_name(self, node: dict[str, Any]) -> bool:
        """A value of a reg type that its node computes from a name (sent out as that name)."""
        if "ColumnRef" in node:
            return self._is_reg_column(node["ColumnRef"])
        if "TypeCast" in node and _type_name(node["TypeCast"]) in REG_TYPES:
            arg = node["TypeCast"].get("arg") or {}
            elements = (arg.get("A_ArrayExpr") or {}).get("elements")
            return _is_name_literal(arg) or _is_tableoid_mapping(arg) \
                or (bool(elements) and all(_is_name_literal(e) for e in elements))
        if "FuncCall" in node and _function_name(node["FuncCall"]) in TO_REG_FUNCTIONS:
            args = node["FuncCall"].get("args") or []
            return len(args) == 1 and _is_name_literal(args[0])
        return False

    def _is_text_of_name(self, node: dict[str, Any]) -> bool:
        cast = node.get("TypeCast") if isinstance(node, dict) else None
        return isinstance(cast, dict) and _type_name(cast) in _TEXT_TYPES and self._is_name(cast.get("arg") or {})

    def _is_stored_name(self, node: dict[str, Any]) -> bool:
        """A value an OID-typed column may take on a datanode: its name, NULL, DEFAULT, a
        column of the same kind, a parameter whose value is not a number."""
        if "SetToDefault" in node:
            return True
        if "A_Const" in node:
            return _is_null(node) or _is_name_literal(node)
        if "A_ArrayExpr" in node:
            return all(self._is_stored_name(e) for e in node["A_ArrayExpr"].get("elements") or [])
        if "ParamRef" in node:
            return self._param_is_name(int(node["ParamRef"].get("number", 0)))
        return self._is_name(node) or self._is_text_of_name(node)

    def _param_is_name(self, number: int) -> bool:
        if self.params is None or number <= 0:
            return False
        text = value_text(analyze.Value(param=number), self.params)
        return text is None or (text is not UNKNOWN and not str(text).strip().isdigit())

    def _is_reg_column(self, ref: dict[str, Any]) -> bool:
        fields = [f["String"]["sval"] for f in ref.get("fields") or [] if "String" in f]
        if not fields or len(fields) != len(ref.get("fields") or []) or fields[-1] not in self.names:
            return False
        if len(fields) == 1:
            return True
        return fields[-1] in self.by_exposed.get(fields[-2], {})

    def _is_star(self, node: dict[str, Any]) -> bool:
        fields = (node.get("ColumnRef") or {}).get("fields") or []
        return bool(fields) and "A_Star" in fields[-1]

    def _columns_of(self, relation: dict[str, Any]) -> Mapping[str, int]:
        name = relation.get("relname")
        schema = relation.get("schemaname")
        if schema is not None:
            return self.by_table.get((schema, name), {})
        return self.by_exposed.get((relation.get("alias") or {}).get("aliasname") or name, {})


def _type_name(cast: dict[str, Any]) -> str:
    names = [n["String"]["sval"] for n in (cast.get("typeName") or {}).get("names") or [] if "String" in n]
    return names[-1].lower() if names else ""


def _function_name(call: dict[str, Any]) -> str:
    names = [n["String"]["sval"] for n in call.get("funcname") or [] if "String" in n]
    if not names or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
        return ""
    return names[-1].lower()


def _is_tableoid_mapping(node: dict[str, Any]) -> bool:
    """A `tableoid` reference as planner/tableoid.py maps it: the node's OID of the table."""
    return "SubLink" in node and MARKER in str(node["SubLink"].get("subselect"))


def _is_builtin_number(node: dict[str, Any]) -> bool:
    """A number below FirstNormalObjectId (16384): a built-in object's OID (the same on every
    server of one PostgreSQL version) or a sub-id such as a column number."""
    value = ((node.get("A_Const") or {}).get("ival") or {}) if isinstance(node, dict) else {}
    return "A_Const" in node and isinstance(value, dict) and 0 <= int(value.get("ival", 0)) < 16384 \
        and "sval" not in node["A_Const"] and "fval" not in node["A_Const"]


def _is_null(node: dict[str, Any]) -> bool:
    return bool((node.get("A_Const") or {}).get("isnull"))


def _is_name_literal(node: dict[str, Any]) -> bool:
    """A string constant that names an object (a number in quotes is an OID: it is not)."""
    text = ((node.get("A_Const") or {}).get("sval") or {}).get("sval") if isinstance(node, dict) else None
    return isinstance(text, str) and not text.strip().isdigit() and text.strip() not in ("", "-")


