"""CREATE SCHEMA with schema elements, split into statements gridpg runs one by one.

`CREATE SCHEMA s CREATE TABLE t (...) CREATE VIEW v AS ... CREATE INDEX ... GRANT ...` is
one statement to PostgreSQL, which runs the elements itself (parse_utilcmd.c,
`transformCreateSchemaStmtElements`; schemacmds.c). Sent whole to the catalog server, the
tables it makes are that server's plain tables: not distributed, their rows stored on
one coordinator's catalog server and invisible through the others. So the statement is
split here, as PostgreSQL splits it, and each part goes through gridpg like any DDL:

- the elements in PostgreSQL's order: sequences, tables, views, indexes, triggers, grants;
- an element's own object is created in the new schema (one naming another schema:
  42P15, PostgreSQL's error);
- PostgreSQL runs the elements with the new schema first in search_path: an unqualified
  name of a relation an element creates (REFERENCES t, PARTITION OF t, a view's FROM t,
  ON t, nextval('seq')) is qualified with the schema, which is where PostgreSQL finds it;
  other names resolve through the session's search_path, as there;
- `AUTHORIZATION role`: PostgreSQL creates the elements as that role; here they are
  created, then given to it (`ALTER ... OWNER TO`).

Pure: parses and prints, runs nothing (frontend/statements.py runs the parts, in one
transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident

_ORDER = ("CreateSeqStmt", "CreateStmt", "ViewStmt", "IndexStmt", "CreateTrigStmt", "GrantStmt")
_TARGET = {"CreateSeqStmt": "sequence", "CreateStmt": "relation", "ViewStmt": "view",
           "IndexStmt": "relation", "CreateTrigStmt": "relation"}
_OWNER_KIND = {"CreateSeqStmt": "SEQUENCE", "CreateStmt": "TABLE", "ViewStmt": "VIEW"}
_SELF_ROLES = ("ROLESPEC_CURRENT_ROLE", "ROLESPEC_CURRENT_USER")


@dataclass(frozen=True)
class SchemaElements:
    """A CREATE SCHEMA's parts: `head` (the CREATE SCHEMA alone), the schema's name (None
    when it is named after `AUTHORIZATION CURRENT_ROLE` and the like: the caller asks
    the server), and the statements of the elements for a schema name."""

    head: str
    schema: str | None
    _source: str

    def statements(self, schema: str) -> list[str]:
        return _element_statements(self._source, schema)


def split(sql: str) -> SchemaElements | None:
    """The parts of `sql` when it is a CREATE SCHEMA with schema elements, else None."""
    if not _may_be_create_schema(sql):
        return None
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    body = tree.get("CreateSchemaStmt")
    if not body or not body.get("schemaElts"):
        return None
    stmt = sqlparse.parse_sql(sql)[0].stmt
    schema = stmt.schemaname
    if schema is None and stmt.authrole.roletype.name == "ROLESPEC_CSTRING":
        schema = stmt.authrole.rolename
    return SchemaElements(_print(_without_elements(stmt)), schema, sql)


def _may_be_create_schema(sql: str) -> bool:
    words = sql[sqlparse.statement_start(sql):sqlparse.statement_start(sql) + 40].lower().split()
    return words[:2] == ["create", "schema"]


def _without_elements(stmt: Any) -> Any:
    stmt.schemaElts = None
    return stmt


def _element_statements(sql: str, schema: str) -> list[str]:
    stmt = sqlparse.parse_sql(sql)[0].stmt
    elements = sorted(stmt.schemaElts, key=lambda e: _ORDER.index(type(e).__name__))
    created: set[str] = set()
    out: list[str] = []
    owner = None if stmt.authrole is None or stmt.authrole.roletype.name in _SELF_ROLES \
        else _role_text(stmt.authrole)
    for element in elements:
        kind = type(element).__name__
        target = getattr(element, _TARGET[kind]) if kind in _TARGET else None
        if target is not None:
            _ensure_in_schema(target, schema)
            target.schemaname = schema
            if kind in _OWNER_KIND:
                created.add(target.relname)
        _qualify_created(schema, created)(element)
        out.append(_print(element))
        if owner is not None and kind in _OWNER_KIND and target is not None:
            out.append(f"ALTER {_OWNER_KIND[kind]} {quote_ident(schema)}.{quote_ident(target.relname)} "
                       f"OWNER TO {owner}")
    return out


def _ensure_in_schema(target: Any, schema: str) -> None:
    if target.schemaname is not None and target.schemaname != schema:
        raise PgError("42P15", f"CREATE specifies a schema ({target.schemaname}) different from "
                      f"the one being created ({schema})")


def _role_text(role: Any) -> str:
    name = role.roletype.name
    if name == "ROLESPEC_SESSION_USER":
        return "SESSION_USER"
    return quote_ident(role.rolename)


def _print(node: Any) -> str:
    from pglast.stream import RawStream

    return str(RawStream()(node))


def _qualify_created(schema: str, created: set[str]) -> Any:
    from pglast.visitors import Visitor

    class Qualify(Visitor):  # type: ignore[misc]
        """Unqualified names of relations the schema's elements create, qualified (names a
        WITH of the element defines are left: there they name the WITH query)."""

        def __init__(self) -> None:
            super().__init__()
            self.ctes: set[str] = set()

        def __call__(self, node: Any) -> Any:
            self.ctes = {c.ctename for c in _all_nodes(node, "CommonTableExpr")}
            return super().__call__(node)

        def visit_RangeVar(self, _ancestors: Any, node: Any) -> None:
            if node.schemaname is None and node.relname in created and node.relname not in self.ctes:
                node.schemaname = schema

        def visit_FuncCall(self, _ancestors: Any, node: Any) -> None:
            # nextval('seq') and its kin: the regclass is read with the schema first
            names = [n.sval for n in node.funcname]
            if names[-1] not in ("nextval", "currval", "setval") or not node.args:
                return
            first = node.args[0]
            value = getattr(getattr(first, "val", None), "sval", None)
            if type(first).__name__ == "A_Const" and value in created:
                first.val.sval = f"{quote_ident(schema)}.{quote_ident(value)}"

    return Qualify()


def _all_nodes(node: Any, kind: str) -> list[Any]:
    from pglast.visitors import Visitor

    found: list[Any] = []

    class Collect(Visitor):  # type: ignore[misc]
        def visit(self, _ancestors: Any, n: Any) -> None:
            if type(n).__name__ == kind:
                found.append(n)

    Collect()(node)
    return found

