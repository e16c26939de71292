"""Dynamic SQL of server-side code handed to the loopback's redirect first. Pure.

Code the catalog server runs with the loopback armed reaches distributed tables through
their shadows, found by the armed search path; a name written with its schema in SQL text
made at run time (`EXECUTE format('INSERT INTO %I.%I ...', TG_TABLE_SCHEMA, ...)`,
`EXECUTE 'UPDATE public.t ...'`) would name the catalog server's empty copy instead. The
body of a twin (a routine's, a trigger function's, a DO block's) therefore gets each dynamic
statement's text expression wrapped in `gridpg.loopback_redirect(..., rows)` (rows: whether
the code reads the statement's rows), which asks the
coordinator (executor/loopback.py `REDIRECT_FUNCTION`, frontend/loopback.py) for the same
text with each `schema.table` of a distributed table naming its shadow schema.

The expression is cut with PostgreSQL's scanner (strings, quoted names and nested dollar
quotes are single tokens) where PL/pgSQL cuts it: after `EXECUTE`, up to `INTO`, `USING`,
`;` or `LOOP` outside parentheses; every cut must be one of the expressions PL/pgSQL's own
parser found (`plpgsql.dynamic_texts`), and all of them must be found, else nothing is
wrapped (the call is still watched: a name that reaches a copy fails the statement).

This module must not do I/O.
"""

from __future__ import annotations

import re
from collections import Counter

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql

REDIRECT_FUNCTION = "gridpg.loopback_redirect"

# a dynamic text's expression that may make a name with its schema: a dot (`%I.%I`,
# `'public.' || t`, `quote_ident(s) || '.' || ...`), text put in as it is (`%s` of a
# regclass, `'FROM ' || tbl`), a regclass, a schema's name; not a constant text nor
# `format()` putting names in only with %I (quote_ident makes one name of a dotted text).
# Or a MERGE or an upsert, which the coordinator runs (executor/dynamic_text.py), or an
# EXECUTE of the session's prepared statement, which the coordinator holds
# (planner/prepared.execute_as_statement).
_MAY_QUALIFY = re.compile(r"\.|%s|\|\||regclass|schema|relid|merge|conflict|\bexecute\b", re.IGNORECASE)
# and one that may be DDL, which runs captured (executor/code_ddl.py): a twin, a temporary
# function, would keep its transaction from PREPARE
_MAY_BE_DDL = re.compile(r"\b(create|alter|drop|comment|grant|revoke|security|refresh|import|reindex)\b",
                         re.IGNORECASE)

# what may come just before a dynamic statement's EXECUTE: a statement's start, or the
# words of `FOR r IN EXECUTE`, `RETURN QUERY EXECUTE` and `OPEN c FOR EXECUTE`
_BEFORE = frozenset((";", "begin", "then", "else", "loop", ">>", "in", "query", "for"))
_ENDS = frozenset(("into", "using", ";", "loop"))


def wrap_dynamic(body: str, expected: list[str]) -> str | None:
    """`body` (a PL/pgSQL body's text) with each dynamic statement's text expression
    wrapped in the redirect; `body` itself when `expected` is empty; None when the cuts
    do not match `expected` exactly."""
    if not expected:
        return body
    try:
        tokens = sqlparse.tokens(body)
    except PgError:  # (the scanner's own error: left to PostgreSQL to report)
        return None
    words = [body[t.start:t.end + 1].lower() for t in tokens]
    cuts: list[tuple[int, int, bool]] = []
    for i, word in enumerate(words):
        if word != "execute" or i == 0 or words[i - 1] not in _BEFORE or i + 1 >= len(words):
            continue
        depth, j = 0, i + 1
        while j < len(words):
            if depth == 0 and words[j] in _ENDS and j > i + 1:
                break
            depth += words[j] in ("(", "[")
            depth -= words[j] in (")", "]")
            j += 1
        # (the code reads the statement's rows: FOR ... IN, RETURN QUERY, OPEN ... FOR, INTO)
        rows = words[i - 1] in ("in", "query", "for") or "into" in _rest_of_statement(words, j)
        cuts.append((tokens[i + 1].start, tokens[j - 1].end + 1, rows))
    found = Counter(body[a:b].strip() for a, b, _ in cuts)
    if found != Counter(e.strip() for e in expected):
        return None
    cuts = [(a, b, rows) for a, b, rows in cuts if not _wrapped(body[a:b].strip())]
    for start, end, rows in sorted(cuts, reverse=True):
        flag = "true" if rows else "false"
        body = f"{body[:start]}{REDIRECT_FUNCTION}({body[start:end]}, {flag}){body[end:]}"
    return body


def _rest_of_statement(words: list[str], at: int) -> list[str]:
    """The words from `at` up to the end of the statement (`;` outside parentheses)."""
    depth, out = 0, []
    for word in words[at:]:
        if depth == 0 and word == ";":
            break
        depth += word in ("(", "[")
        depth -= word in (")", "]")
        if depth == 0:
            out.append(word)
    return out


def wrap_body(create_sql: str, body: str) -> str:
    """`body`, the body of the PL/pgSQL routine `create_sql` defines, with its dynamic
    statements' texts wrapped in the redirect; unchanged when it has none, when PL/pgSQL's
    parser cannot read it, or when the cuts do not match the parser's."""
    try:
        expected = plpgsql.dynamic_texts(create_sql)
    except PgError:
        return body
    wrapped = wrap_dynamic(body, expected)
    return body if wrapped is None else wrapped


def _wrapped(expression: str) -> bool:
    """Whether an expression is one wrap_dynamic made (a body rewritten twice, a DO block
    whose names are redirected after its dynamic texts)."""
    return expression.startswith(f"{REDIRECT_FUNCTION}(") and expression.endswith(")")


def may_name_schemas(language: str, create_sql: str) -> bool:
    """Whether a PL/pgSQL routine's dynamic statements may name tables with their schema
    (or MERGE, or upsert) and none may be DDL (by their expressions' text; any other routine is left as it is)."""
    if language.lower() != "plpgsql" or not create_sql:
        return False
    try:
        texts = plpgsql.dynamic_texts(create_sql)
    except PgError:
        return False
    return any(_MAY_QUALIFY.search(t) for t in texts) and not any(_MAY_BE_DDL.search(t) for t in texts)

