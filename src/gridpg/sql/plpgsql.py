"""The SQL inside PL/pgSQL: every embedded statement and expression of a body. Pure.

PostgreSQL's own PL/pgSQL parser (through pglast) reads a `CREATE FUNCTION` / `CREATE
PROCEDURE` text or a DO block; `embedded_sql` returns the SQL it would run, each as a
statement text the SQL parser reads (expressions become `SELECT expr`). Dynamic SQL
(`EXECUTE`, `RETURN QUERY EXECUTE`, `FOR ... IN EXECUTE`, `OPEN ... FOR EXECUTE`) whose
text is a string constant is returned as that statement; any other dynamic text is
returned marked `dynamic`, since no static reading can say what it touches.

This module must not do I/O; the SQL parser stays in `sql.parse`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pglast import parser as pgparser

from gridpg.errors import SYNTAX_ERROR, PgError

# Keys whose PL/pgSQL expression is a dynamic statement text, not SQL to run as it is.
_DYNAMIC_KEYS = ("dynquery",)
_DYNAMIC_STATEMENTS = ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors")
_ASSIGN_TARGET = re.compile(r"^\s*[^:=]*?(:=|=)", re.DOTALL)


@dataclass(frozen=True)
class Embedded:
    """One piece of SQL of a body: a statement text, or a dynamic text's expression."""

    sql: str
    dynamic: bool = False


def parse(create_sql: str) -> Any:
    """PostgreSQL's PL/pgSQL parse (pglast's JSON, loaded) of a full CREATE FUNCTION /
    PROCEDURE text; 42601 when it cannot be read.

    pglast's parser runs without a catalog: a type named with a schema other than
    pg_catalog or public in the signature (`RETURNS SETOF blog.posts`, as
    pg_get_functiondef writes it) and any VARIADIC parameter make it fail although
    neither changes what the body runs. Such a text is read again with the signature
    simplified (`_plain_signature`); the body is never changed, so line numbers hold."""
    try:
        return json.loads(pgparser.parse_plpgsql_json(create_sql))
    except pgparser.ParseError as exc:
        plain = _plain_signature(create_sql)
        if plain != create_sql:
            try:
                return json.loads(pgparser.parse_plpgsql_json(plain))
            except pgparser.ParseError:
                pass
        raise PgError(SYNTAX_ERROR, f"cannot read PL/pgSQL body: {exc}") from exc


_KEEP_SCHEMAS = frozenset({"pg_catalog", "public"})


def _plain_signature(create_sql: str) -> str:
    """`create_sql` with VARIADIC dropped and each `schema.` before a type name of the
    signature removed (the routine's own name keeps its schema). The body, a string
    constant, is one token and left as it is."""
    toks = list(pgparser.scan(create_sql))
    cuts: list[tuple[int, int]] = []
    name_at = next((i + 1 for i, t in enumerate(toks) if t.name in ("FUNCTION", "PROCEDURE")), None)
    for i, tok in enumerate(toks):
        if tok.name == "VARIADIC":
            cuts.append((tok.start, tok.end + 1))
        elif (tok.name == "IDENT" and i != name_at and i + 2 < len(toks) and toks[i + 1].name == "ASCII_46"
              and toks[i + 2].name == "IDENT" and (i == 0 or toks[i - 1].name != "ASCII_46")
              and create_sql[tok.start:tok.end + 1].strip('"').lower() not in _KEEP_SCHEMAS):
            cuts.append((tok.start, toks[i + 1].end + 1))
    for start, end in reversed(cuts):
        create_sql = create_sql[:start] + create_sql[end:]
    return create_sql


def embedded_sql(create_sql: str) -> list[Embedded]:
    """The SQL a PL/pgSQL routine runs, from its full CREATE FUNCTION/PROCEDURE text."""
    out: list[Embedded] = []
    _walk(parse(create_sql), False, out)
    return out


def assigned_variables(create_sql: str) -> set[str]:
    """Names of the variables a PL/pgSQL body may change: assignment targets, INTO
    targets, loop variables (lowercase)."""
    out: set[str] = set()
    _assigned(parse(create_sql), out)
    return out


def assigned_targets(create_sql: str) -> set[str]:
    """The full targets of a PL/pgSQL body's assignments (`new.id`, `arr[1]` as `arr`),
    lowercase."""
    out: set[str] = set()
    stack: list[Any] = [parse(create_sql)]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            assign = node.get("PLpgSQL_stmt_assign")
            if isinstance(assign, dict):
                query = str(assign.get("expr", {}).get("PLpgSQL_expr", {}).get("query", ""))
                match = _ASSIGN_TARGET.match(query)
                if match:
                    target = query[: match.start(1)].split("[")[0]
                    out.add(".".join(p.strip().strip('"') for p in target.split(".")).lower())
            stack.extend(node.values())
    return out


def _assigned(node: Any, out: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _assigned(item, out)
        return
    if not isinstance(node, dict):
        return
    assign = node.get("PLpgSQL_stmt_assign")
    if isinstance(assign, dict):
        query = str(assign.get("expr", {}).get("PLpgSQL_expr", {}).get("query", ""))
        match = _ASSIGN_TARGET.match(query)
        if match:
            out.add(query[: match.start(1)].strip().split("[")[0].split(".")[0].strip('"').lower())
    for key in ("target", "var"):
        target = node.get(key)
        if isinstance(target, dict):
            for kind in ("PLpgSQL_var", "PLpgSQL_rec", "PLpgSQL_row"):
                item = target.get(kind)
                if isinstance(item, dict):
                    out.add(str(item.get("refname", "")).lower())
                    out.update(str(f.get("name", "")).lower() for f in item.get("fields", []))
    for value in node.values():
        _assigned(value, out)


def do_block_function(body: str) -> str:
    """A DO block's body as the CREATE FUNCTION text the PL/pgSQL parser reads."""
    tag = "gp"
    while f"${tag}$" in body:
        tag += "x"
    return f"CREATE FUNCTION pg_temp.gridpg_do() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}$"


def _walk(node: Any, dynamic: bool, out: list[Embedded]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, dynamic, out)
        return
    if not isinstance(node, dict):
        return
    expr = node.get("PLpgSQL_expr")
    if isinstance(expr, dict):
        out.append(_expression(expr, dynamic))
        return
    for key, value in node.items():
        if key in _DYNAMIC_STATEMENTS and isinstance(value, dict):
            _walk({k: v for k, v in value.items() if k != "query"}, False, out)
            _walk(value.get("query"), True, out)
        else:
            _walk(value, dynamic or key in _DYNAMIC_KEYS, out)


def _expression(expr: dict[str, Any], dynamic: bool) -> Embedded:
    """The SQL text of one PL/pgSQL expression, by its parse mode (PostgreSQL's
    RawParseMode: 0 a statement, 2 an expression, 3-5 an assignment `target := expr`)."""
    query = str(expr.get("query", ""))
    mode = int(expr.get("parseMode", 0))
    if mode >= 3:
        query = _ASSIGN_TARGET.sub("", query, count=1)
        mode = 2
    if mode != 0:
        query = f"SELECT {query}"
    if not dynamic:
        return Embedded(query)
    constant = _string_constant(query)
    return Embedded(constant, False) if constant is not None else Embedded(query, True)


def _string_constant(select_sql: str) -> str | None:
    """The value of `SELECT 'text'` (also `'a' || 'b'`), or None when it is not constant."""
    try:
        tree = json.loads(pgparser.parse_sql_json(select_sql))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
    except (pgparser.ParseError, KeyError, IndexError):
        return None
    if len(target) != 1:
        return None
    return _fold(target[0]["ResTarget"].get("val"))


def _fold(node: Any) -> str | None:
    if not isinstance(node, dict):
        return None
    const = node.get("A_Const")
    if const is not None:
        value = const.get("sval")
        return value.get("sval", "") if isinstance(value, dict) else None
    expr = node.get("A_Expr")
    if expr is not None and expr.get("kind") == "AEXPR_OP":
        names = [n.get("String", {}).get("sval") for n in expr.get("name", [])]
        if names == ["||"]:
            left, right = _fold(expr.get("lexpr")), _fold(expr.get("rexpr"))
            if left is not None and right is not None:
                return left + right
    type_cast = node.get("TypeCast")
    if type_cast is not None:
        return _fold(type_cast.get("arg"))
    return None
