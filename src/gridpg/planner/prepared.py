"""Which statements are about the client session's own prepared statements and cursors,
and where their parts sit in the text. Pure: no I/O.

PostgreSQL keeps `PREPARE`d statements and cursors in the backend of one session. The
catalog server's backends are pooled and hold distributed tables empty, so these
statements must not reach it as they are: the coordinator keeps prepared statements per
client session and runs `EXECUTE` through the normal distributed path
(executor/prepared.py). This module reads the statements; the executor runs them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, SYNTAX_ERROR, PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

SESSION_KINDS = frozenset({"PrepareStmt", "ExecuteStmt", "DeallocateStmt"})
_COMMENTS = ("C_COMMENT", "SQL_COMMENT")


def is_session_statement(tree: dict[str, Any], kind: str) -> bool:
    """PREPARE, EXECUTE, DEALLOCATE, and EXPLAIN / CREATE TABLE AS / EXPLAIN CREATE TABLE
    AS of an EXECUTE."""
    if kind in SESSION_KINDS:
        return True
    if kind in ("ExplainStmt", "CreateTableAsStmt"):
        query = tree[kind].get("query") or {}
        if kind == "ExplainStmt" and "CreateTableAsStmt" in query:  # EXPLAIN CREATE TABLE ... AS EXECUTE
            query = query["CreateTableAsStmt"].get("query") or {}
        return "ExecuteStmt" in query
    return False


@dataclass(frozen=True)
class ExecuteSpan:
    """Where an `EXECUTE name [(args)]` clause sits in a statement's text."""

    start: int  # offset of the EXECUTE keyword
    end: int  # offset just past the clause (after `)` or the name)
    args: str | None  # the text between the parentheses, None without them
    args_start: int  # offset of the first character of `args`


def prepared_body(sql: str) -> tuple[int, int, int]:
    """For `PREPARE name [(types)] AS statement`: (name start, name end, statement start)."""
    toks = _code_tokens(sql)
    if len(toks) < 3:
        raise PgError(SYNTAX_ERROR, "syntax error in PREPARE")
    name = toks[1]
    index = 2
    if _text(sql, toks[index]) == "(":
        index = _matching(sql, toks, index) + 1
    if index + 1 >= len(toks) or _text(sql, toks[index]).lower() != "as":
        raise PgError(SYNTAX_ERROR, "syntax error in PREPARE: AS expected")
    return name.start, name.end + 1, toks[index + 1].start


def execute_span(sql: str, kind: str) -> ExecuteSpan:
    """The EXECUTE clause of an EXECUTE, EXPLAIN ... EXECUTE or CREATE TABLE ... AS EXECUTE."""
    toks = _code_tokens(sql)
    index = _execute_index(sql, toks, kind)
    name_index = index + 1
    after = name_index + 1
    if after < len(toks) and _text(sql, toks[after]) == "(":
        close = _matching(sql, toks, after)
        args_start = toks[after].end + 1
        return ExecuteSpan(toks[index].start, toks[close].end + 1, sql[args_start : toks[close].start],
                           args_start)
    end = toks[name_index].end + 1
    return ExecuteSpan(toks[index].start, end, None, end)


def explained_start(sql: str) -> int:
    """Offset of the statement an `EXPLAIN [ANALYZE] [VERBOSE] [(options)] statement`
    explains: its first word outside the options' parentheses that is not an option."""
    depth = 0
    for i, tok in enumerate(_code_tokens(sql)):
        text = _text(sql, tok)
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and i > 0 and text.lower() not in ("analyze", "analyse", "verbose"):
            return int(tok.start)
    raise PgError(SYNTAX_ERROR, "syntax error: a statement to EXPLAIN expected")


def _execute_index(sql: str, toks: list[Any], kind: str) -> int:
    if kind == "ExecuteStmt":
        return 0
    depth = 0
    previous = ""
    for i, tok in enumerate(toks):
        text = _text(sql, tok)
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and tok.name == "EXECUTE" and (kind == "ExplainStmt" or previous == "as"):
            return i
        previous = text.lower()
    raise PgError(SYNTAX_ERROR, "syntax error: EXECUTE expected")


def _code_tokens(sql: str) -> list[Any]:
    return [t for t in sqlparse.tokens(sql) if t.name not in _COMMENTS]


def _text(sql: str, tok: Any) -> str:
    return sql[tok.start : tok.end + 1]


def _matching(sql: str, toks: list[Any], open_index: int) -> int:
    """Index of the `)` that closes the `(` at open_index."""
    close = sqlparse.closing_paren(toks, open_index)
    if close is None:
        raise PgError(SYNTAX_ERROR, "syntax error: unbalanced parentheses")
    return close


def first_keyword(sql: str) -> str:
    """The statement's first word, lowercased, after whitespace and comments (cheap: no
    scanner), for the few places that must recognise EXECUTE without a parse."""
    pos, n = 0, len(sql)
    while pos < n:
        ch = sql[pos]
        if ch.isspace() or ch == "(":
            pos += 1
        elif sql.startswith("--", pos):
            newline = sql.find("\n", pos)
            pos = n if newline < 0 else newline + 1
        elif sql.startswith("/*", pos):
            pos = sqlparse.comment_end(sql, pos)
        else:
            break
    end = pos
    while end < n and (sql[end].isalnum() or sql[end] == "_"):
        end += 1
    return sql[pos:end].lower()


def inline_params(sql: str, texts: list[str | None], type_names: list[str],
                  unnamed: set[int] | frozenset[int] = frozenset()) -> str:
    """`sql` with each `$n` replaced by its value as a typed literal (CREATE TABLE AS, which
    has no bound parameters; EXECUTE with values of the user's own types); those at the
    offsets `unnamed` (output columns without a name) keep PostgreSQL's `?column?`."""
    replacements = []
    for start, end, index in sqlparse.param_spans(sql):
        value = texts[index] if index < len(texts) else None
        literal = "NULL" if value is None else quote_literal(value)
        label = ' AS "?column?"' if start in unnamed else ""
        replacements.append((start, end, f"CAST({literal} AS {type_names[index]}){label}"))
    return splice(sql, replacements)


_INEXACT = {700, 701, 1700}  # float4, float8, numeric
_TEXTS = {25, 1043}  # text, varchar
_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]{0,18})")
FIRST_NORMAL_OID = 16384  # PostgreSQL's FirstNormalObjectId: OIDs below are built in, the same on every server


def constant_values(args: list[dict[str, Any]], oids: list[int]) -> list[str | None] | None:
    """The text values of EXECUTE arguments that are plain constants whose text PostgreSQL's
    own coercion would keep unchanged (a string literal into text, integers into
    integer and numeric types, `true`/`false` into bool, NULL); None when any argument needs
    PostgreSQL to evaluate or coerce it (one round trip spared on the common case)."""
    out: list[str | None] = []
    for arg, oid in zip(args, oids):
        value = _constant_text(arg.get("A_Const"), oid) if oid < FIRST_NORMAL_OID else False
        if value is False:
            return None
        out.append(value)  # type: ignore[arg-type]
    return out


def _constant_text(const: dict[str, Any] | None, oid: int) -> str | None | bool:
    """The constant's text for a parameter of type `oid`, or False when it needs evaluating."""
    if const is None:
        return False
    if const.get("isnull"):
        return None
    if "sval" in const:
        # text as it is; into other types only when already in canonical form (the router
        # hashes the text it is given: '0x1F' or ' 7' must reach it as PostgreSQL reads them)
        text = str(const["sval"].get("sval", ""))
        if oid in _TEXTS or (oid in (20, 23) and _CANONICAL_INT.fullmatch(text)):
            return text
        return False
    if "boolval" in const:
        return ("true" if const["boolval"].get("boolval") else "false") if oid == 16 else False
    if "ival" in const:
        number = int(const["ival"].get("ival", 0))
        if oid in _INEXACT or oid in (20, 23) or (oid == 21 and -32768 <= number <= 32767):
            return str(number)
        return False
    if "fval" in const:
        text = str(const["fval"].get("fval", ""))
        if oid == 1700 or (oid == 20 and _CANONICAL_INT.fullmatch(text)):
            return text
    return False


def execute_as_statement(sql: str, name: str, statement_sql: str, type_names: list[str],
                         kind: str = "ExecuteStmt") -> str:
    """The statement `EXECUTE name(args)` (`sql`) runs, as text: the prepared statement's
    own text with each `$n` replaced by `CAST((arg n) AS type n)`; for `EXPLAIN [options]
    EXECUTE ...` (`kind` ExplainStmt), the EXPLAIN of that text.

    Server-side code that runs `EXECUTE 'EXECUTE name(...)'` runs on the catalog server,
    which does not hold the session's prepared statements (they are the coordinator's,
    executor/prepared.py): the loopback's redirect hands it this text instead
    (frontend/loopback.py `_redirect`). PostgreSQL evaluates each argument once; an
    argument that calls a function or holds a subquery and whose parameter occurs more
    than once would be evaluated once per occurrence here, and is refused."""
    span = execute_span(sql, kind)
    if not type_names:  # PostgreSQL ignores arguments given to a statement without parameters
        return sql[:span.start] + statement_sql + sql[span.end:]
    args = _top_level_items(span.args) if span.args is not None else []
    if len(args) != len(type_names):
        raise PgError(SYNTAX_ERROR, f'wrong number of parameters for prepared statement "{name}"',
                      detail=f"Expected {len(type_names)} parameters but got {len(args)}.")
    params = sqlparse.param_spans(statement_sql)
    uses = Counter(index for _, _, index in params)
    for index, arg in enumerate(args):
        if uses[index] > 1 and _is_evaluated(arg):
            raise PgError(FEATURE_NOT_SUPPORTED, f'EXECUTE of prepared statement "{name}" inside server-side '
                          f"code with argument {index + 1} computed by a function or subquery is not supported",
                          hint="Pass the argument's value, or compute it into a variable first.")
    replacements = []
    for start, end, index in params:
        if index >= len(args):
            raise PgError("42P02", f"there is no parameter ${index + 1}")
        replacements.append((start, end, f"CAST(({args[index]}) AS {type_names[index]})"))
    return sql[:span.start] + splice(statement_sql, replacements) + sql[span.end:]


def _top_level_items(text: str) -> list[str]:
    """`text` cut at its commas outside parentheses and brackets (strings are tokens)."""
    items, depth, start = [], 0, 0
    for tok in sqlparse.tokens(text):
        word = text[tok.start:tok.end + 1]
        depth += word in ("(", "[")
        depth -= word in (")", "]")
        if word == "," and depth == 0:
            items.append(text[start:tok.start].strip())
            start = tok.end + 1
    items.append(text[start:].strip())
    return [] if items == [""] else items


def _is_evaluated(arg: str) -> bool:
    """Whether an argument calls a function or runs a subquery (a value that may differ
    each time it is evaluated)."""
    tree = sqlparse.parse_tree(f"SELECT {arg}")
    return _has_key(tree, ("FuncCall", "SubLink"))


def _has_key(node: Any, keys: tuple[str, ...]) -> bool:
    if isinstance(node, dict):
        return any(k in node for k in keys) or any(_has_key(v, keys) for v in node.values())
    if isinstance(node, list):
        return any(_has_key(v, keys) for v in node)
    return False
