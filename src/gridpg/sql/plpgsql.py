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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pglast import parser as pgparser

from gridpg.errors import SYNTAX_ERROR, PgError
from gridpg.sql.parse import scan_code

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

    pglast's parser runs without a catalog, and a text PostgreSQL compiles may fail there
    although what the body runs is plain: a type named with a schema other than pg_catalog
    or public in the signature (`RETURNS SETOF blog.posts`, as pg_get_functiondef writes
    it) or a VARIADIC parameter; a type it does not know is taken for a composite, so an
    array of one (`jobs job_spec[]`, parameter or variable) is refused as `_record`, and a
    variable of one (an enum, a domain) cannot be one of several INTO targets. Such a text
    is read again after `_readable`'s rewrite for the error; only type names change, each
    on its own line, so line numbers and every embedded statement hold."""
    text = create_sql
    for _ in range(_MAX_REREADS):
        try:
            return json.loads(pgparser.parse_plpgsql_json(text))
        except pgparser.ParseError as exc:
            readable = _readable(text, str(exc))
            if readable is None:
                # (only once no rewrite applies: `r.f` of a %ROWTYPE variable is "not a
                # known variable" to pglast alone)
                invalid = _compile_error(str(exc))
                if invalid is not None:
                    raise invalid from exc
                raise PgError(SYNTAX_ERROR, f"cannot read PL/pgSQL body: {exc}") from exc
            text = readable
    raise PgError(SYNTAX_ERROR, "cannot read PL/pgSQL body: too many types it does not know")


class CompileError(PgError):
    """PostgreSQL's own error compiling the body (its PL/pgSQL grammar, which pglast runs,
    found it without a catalog): PostgreSQL raises it before the code runs."""


# Errors of PL/pgSQL's grammar that do not depend on the catalog, with PostgreSQL's
# SQLSTATE (pl_gram.y); pglast appends ", at index N" to a syntax error's message.
_COMPILE_ERRORS = (
    (re.compile(r"^(syntax error at (or near .*|end of input))(, at index \d+)?$"), "42601"),
    (re.compile(r'^variable ".*" is declared CONSTANT$'), "22005"),
    (re.compile(r'^variable ".*" must have a default value, since it\'s declared NOT NULL$'), "22004"),
    (re.compile(r'^".*" is not a known variable$'), "42601"),
    (re.compile(r"^RETURN cannot have a parameter in function returning void$"), "42804"),
    (re.compile(r"^too (few|many) parameters specified for RAISE$"), "42601"),
)


def _compile_error(message: str) -> CompileError | None:
    for pattern, sqlstate in _COMPILE_ERRORS:
        match = pattern.match(message)
        if match:
            text = match.group(1) if sqlstate == "42601" and match.re is _COMPILE_ERRORS[0][0] else message
            return CompileError(sqlstate, text)
    return None


_MAX_REREADS = 12
_PSEUDO_ARRAY = re.compile(r'variable "([^"]+)" has pseudo-type _record')
_NOT_SCALAR = re.compile(r'"([^"]+)" is not a scalar variable')
_NOT_KNOWN = re.compile(r'^"([^"]+\.[^"]+)" is not a known variable$')


def _readable(create_sql: str, error: str) -> str | None:
    """The text to read after `error`, or None when no rewrite helps."""
    plain = _plain_signature(create_sql)
    if plain != create_sql:
        return plain
    if "cannot accept type _record" in error:
        return _text_array_parameters(create_sql)
    if "LookupExplicitNamespace" in error:
        return _unqualified_declarations(create_sql)
    if "cannot return type _record" in error:
        return _text_array_result(create_sql)
    if "request for type OID 0" in error:
        return _retype_declarations(create_sql, _text_array_of_row_type, catalog_types=True)
    match = _NOT_KNOWN.search(error)
    if match and (own := _unqualified_own_name(create_sql, match.group(1))) is not None:
        return own
    if match:  # `s.f` of a variable whose row type pglast cannot look up: a record to it
        name = match.group(1).split(".")[0].strip('"').lower()
        return _retype_declarations(create_sql, lambda var, type_text: "record" if var == name and (
            "%" in type_text or not _is_scalar_type(type_text)) and type_text.strip().lower() != "record"
            else None, catalog_types=True)
    for pattern, as_type in ((_PSEUDO_ARRAY, "text[]"), (_NOT_SCALAR, "text")):
        match = pattern.search(error)
        if match:
            return _retype_variable(create_sql, match.group(1).lower(), as_type)
    if "record variable cannot be part of multiple-item INTO list" in error:
        return _scalar_unknown_types(create_sql)
    return None


def _unqualified_own_name(create_sql: str, target: str) -> str | None:
    """`create_sql` with the schema dropped from the routine's own name when `target`
    (`name.param`, an assignment or INTO target) is qualified with that name; None otherwise.
    PL/pgSQL labels the outer block with the routine's name, never its schema, but pglast's
    parser takes the label from the name as written, so `public.new_order`, as
    pg_get_functiondef writes every routine, made DBT-2's `INTO new_order.i_price` (a
    RETURNS TABLE column) "not a known variable"."""
    toks = scan_code(create_sql)
    at = next((i + 1 for i, t in enumerate(toks) if t.name in ("FUNCTION", "PROCEDURE")), None)
    if at is None or at + 2 >= len(toks) or toks[at + 1].name != "ASCII_46" or toks[at + 2].name != "IDENT":
        return None
    own = create_sql[toks[at + 2].start:toks[at + 2].end + 1].strip('"')
    if own.lower() != target.split(".")[0].strip('"').lower():
        return None
    return create_sql[:toks[at].start] + create_sql[toks[at + 2].start:]


def _text_array_parameters(create_sql: str) -> str | None:
    """`create_sql` with each array type of the parameter list whose element type is an
    identifier, maybe schema-qualified (`jobs job_spec[]`, not `integer[]`), read as
    `text[]`; None when it has none."""
    toks = scan_code(create_sql)
    opened = next((i for i, t in enumerate(toks) if t.name == "ASCII_40"), None)
    if opened is None:
        return None
    cuts: list[tuple[int, int]] = []
    depth = 0
    for i in range(opened, len(toks)):
        name = toks[i].name
        depth += (name == "ASCII_40") - (name == "ASCII_41")
        if depth == 0:
            break
        if depth != 1 or name != "ASCII_91" or toks[i - 1].name != "IDENT":
            continue
        first = i - 1
        if first >= 2 and toks[first - 1].name == "ASCII_46" and toks[first - 2].name == "IDENT":
            first -= 2
        last = i
        while last + 1 < len(toks) and toks[last].name != "ASCII_93":
            last += 1
        while last + 2 < len(toks) and toks[last + 1].name == "ASCII_91":  # more dimensions
            last += 2 + (toks[last + 2].name == "ICONST")
        cuts.append((toks[first].start, toks[last].end + 1))
    if not cuts:
        return None
    for begin, end in reversed(cuts):
        create_sql = create_sql[:begin] + "text[]" + create_sql[end:]
    return create_sql


def _text_array_result(create_sql: str) -> str | None:
    """`create_sql` with the array type it RETURNS, when its element type is an identifier
    (`RETURNS uint2[]`, `RETURNS SETOF app.pair[]`), read as `text[]`; None otherwise."""
    toks = scan_code(create_sql)
    at = next((i for i, t in enumerate(toks) if t.name == "RETURNS"), None)
    if at is None:
        return None
    first = at + 1 + (at + 1 < len(toks) and toks[at + 1].name == "SETOF")
    last = first
    while last + 2 < len(toks) and toks[last].name == "IDENT" and toks[last + 1].name == "ASCII_46":
        last += 2
    if last >= len(toks) - 1 or toks[last].name != "IDENT" or toks[last + 1].name != "ASCII_91":
        return None
    end = last + 1
    while end + 1 < len(toks) and toks[end].name == "ASCII_91":
        end += 1 + (toks[end + 1].name == "ICONST")
        if end >= len(toks) or toks[end].name != "ASCII_93":
            return None
        end += 1
    return create_sql[:toks[first].start] + "text[]" + create_sql[toks[end - 1].end + 1:]


def _text_array_of_row_type(_var: str, type_text: str) -> str | None:
    """`text[]` for an array of a catalog-decided type (`t%ROWTYPE[]`, `v%TYPE[]`, `v%TYPE
    ARRAY`), which pglast's parser cannot look up."""
    squeezed = re.sub(r"\s+", "", type_text).lower()
    return "text[]" if "%" in squeezed and (squeezed.endswith("]") or squeezed.endswith("array")) else None


def _retype_variable(create_sql: str, name: str, as_type: str) -> str | None:
    """`create_sql` with the declared type of the body's variable `name` (every DECLARE of
    that name) replaced by `as_type`; None when no declaration of it is found."""
    return _retype_declarations(create_sql, lambda var, _type: as_type if var == name else None)


def _scalar_unknown_types(create_sql: str) -> str | None:
    """`create_sql` with each variable the parser takes for a composite only because it
    does not know its type (an enum, a domain: `s job_status`) declared `text`; not a
    `record`, nor a variable whose fields the body reads (`r.id`)."""
    body = _body_token(create_sql)
    text = create_sql[body.start:body.end + 1] if body is not None else ""

    def scalar(var: str, type_text: str) -> str | None:
        if type_text.strip().lower() == "record" or _is_scalar_type(type_text):
            return None
        if re.search(rf'(?<![\w$"]){re.escape(var)}\s*\.', text, re.IGNORECASE):
            return None
        return "text"
    return _retype_declarations(create_sql, scalar)


@lru_cache(maxsize=256)
def _is_scalar_type(type_text: str) -> bool:
    """Whether pglast's PL/pgSQL parser takes a variable of this type for a scalar."""
    probe = ("CREATE FUNCTION pg_temp.gridpg_probe() RETURNS void LANGUAGE plpgsql AS $gridpg$ "
             f"DECLARE a int; b {type_text}; BEGIN SELECT 1, 2 INTO a, b; END $gridpg$")
    try:
        pgparser.parse_plpgsql_json(probe)
    except pgparser.ParseError:
        return False
    return True


def _unqualified_declarations(create_sql: str) -> str | None:
    """`create_sql` with the schema dropped from the body's declared types
    (`v blog.status` -> `v status`) but pg_catalog's and public's."""
    def unqualified(_var: str, type_text: str) -> str | None:
        head, dot, tail = type_text.partition(".")
        if not dot or head.strip('"').lower() in _KEEP_SCHEMAS:
            return None
        return tail.strip()
    return _retype_declarations(create_sql, unqualified)


def declared_types(create_sql: str) -> dict[str, str]:
    """The type each variable of the body's DECLARE sections is declared with, as written
    (lowercase names; the last declaration of a name wins); %TYPE/%ROWTYPE left out."""
    body = _body_token(create_sql)
    if body is None:
        return {}
    text = create_sql[body.start:body.end + 1]
    return {var: text[begin:end] for var, begin, end in _declarations(text)}


def _retype_declarations(create_sql: str, new_type: Callable[[str, str], str | None],
                         catalog_types: bool = False) -> str | None:
    """`create_sql` with each declared type of the body that `new_type(variable, type
    text)` answers replaced by its answer (%TYPE / %ROWTYPE types offered too when
    `catalog_types`); None when it answered none."""
    body = _body_token(create_sql)
    if body is None:
        return None
    text = create_sql[body.start:body.end + 1]
    cuts: list[tuple[int, int, str]] = []
    for var, begin, end in _declarations(text, catalog_types):
        replacement = new_type(var, text[begin:end])
        if replacement is not None and "\n" not in text[begin:end]:  # keep every line where it was
            cuts.append((begin, end, replacement))
    if not cuts:
        return None
    for begin, end, replacement in reversed(cuts):
        text = text[:begin] + replacement + text[end:]
    return create_sql[:body.start] + text + create_sql[body.end + 1:]


def _declarations(text: str, catalog_types: bool = False) -> list[tuple[str, int, int]]:
    """(variable, start, end) of each declared type of a body's DECLARE sections, by
    PostgreSQL's scanner; %TYPE / %ROWTYPE types (the catalog decides) left out unless
    `catalog_types`."""
    try:
        toks = scan_code(text)
    except pgparser.ParseError:
        return []
    out: list[tuple[str, int, int]] = []
    declaring = False  # inside a DECLARE section: from DECLARE to its block's BEGIN
    for i, tok in enumerate(toks[:-1]):
        if tok.name in ("DECLARE", "BEGIN_P"):
            declaring = tok.name == "DECLARE"
            continue
        if not declaring or toks[i - 1].name not in ("ASCII_59", "DECLARE"):
            continue  # a declaration opens the section or follows another
        first = i + 1
        if toks[first].name == "IDENT" and text[toks[first].start:toks[first].end + 1].lower() == "constant":
            first += 1
        last = first
        while last < len(toks) and toks[last].name not in _DECLARATION_ENDS:
            last += 1
        if last == first or last == len(toks) or (
                not catalog_types and any(t.name == "ASCII_37" for t in toks[first:last])):
            continue
        out.append((text[tok.start:tok.end + 1].strip('"').lower(), toks[first].start, toks[last - 1].end + 1))
    return out


# what ends a declaration's type: `;`, `:=`, `=`, DEFAULT, NOT NULL, COLLATE
_DECLARATION_ENDS = frozenset({"ASCII_59", "COLON_EQUALS", "ASCII_61", "DEFAULT", "NOT", "COLLATE"})


def _body_token(create_sql: str) -> Any:
    """Where the body is in `create_sql`: the content of the dollar-quoted string after AS
    (inclusive bounds, as pglast's tokens); None when there is none."""
    toks = scan_code(create_sql)
    for i, tok in enumerate(toks[:-1]):
        if tok.name == "AS" and toks[i + 1].name == "SCONST":
            const = toks[i + 1]
            raw = create_sql[const.start:const.end + 1]
            match = re.match(r"\$[A-Za-z_0-9]*\$", raw)
            if not match:
                return None
            tag = len(match.group(0))
            return _Span(const.start + tag, const.end - tag)
    return None


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


_KEEP_SCHEMAS = frozenset({"pg_catalog", "public"})


def _plain_signature(create_sql: str) -> str:
    """`create_sql` with VARIADIC dropped and each `schema.` before a type name of the
    signature removed (the routine's own name keeps its schema). The body, a string
    constant, is one token and left as it is."""
    toks = scan_code(create_sql)
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


def dynamic_texts(create_sql: str) -> list[str]:
    """The expressions giving the text of each dynamic statement of a PL/pgSQL body
    (`EXECUTE`, `FOR ... IN EXECUTE`, `RETURN QUERY EXECUTE`, `OPEN ... FOR EXECUTE`), as
    PL/pgSQL's parser cut them from the source, in no particular order."""
    out: list[str] = []
    stack: list[Any] = [parse(create_sql)]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and (key in _DYNAMIC_KEYS or (
                        key == "query" and any(k in _DYNAMIC_STATEMENTS for k in node))):
                    continue  # (collected below, from the statement)
                stack.append(value)
            for kind in _DYNAMIC_STATEMENTS:
                statement = node.get(kind)
                if isinstance(statement, dict):
                    out.append(str(statement.get("query", {}).get("PLpgSQL_expr", {}).get("query", "")))
            for kind in ("PLpgSQL_stmt_return_query", "PLpgSQL_stmt_open"):
                statement = node.get(kind)
                if isinstance(statement, dict) and isinstance(statement.get("dynquery"), dict):
                    out.append(str(statement["dynquery"].get("PLpgSQL_expr", {}).get("query", "")))
    return out
