"""Bound parameters in the index predicate of an INSERT's ON CONFLICT target, made literals.

`INSERT ... ON CONFLICT (name, kind) WHERE kind = $4 DO UPDATE ...` (SQLAlchemy's
`on_conflict_do_update(index_elements=..., index_where=t.c.kind == 'x')`) names a partial
unique index by its predicate. PostgreSQL infers the index when it plans the statement,
with the parameter's value at hand in the custom plan it makes for a client's statement.
The datanodes plan gridpg's statements generically (`DATANODE_OPTIONS`
plan_cache_mode), where `$4` has no value, so no index was inferred: 42P10 "there is no
unique or exclusion constraint matching the ON CONFLICT specification". Here those
parameters become typed literals in the predicate's text; the statement keeps its other
parameters (all declared with their types, so one no longer used is no error).

It must not change anything else of the statement.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.prepared import FIRST_NORMAL_OID
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def inline_arbiter_params(dispatcher: Dispatcher, request: ExecRequest) -> ExecRequest:
    """`request` with the parameters of its ON CONFLICT index predicate as literals."""
    sql = request.sql
    if request.simple or not request.params:
        return request
    numbers = {int(n["ParamRef"]["number"]) for n in analyze._walk(_arbiter_predicate(sql))
               if isinstance(n, dict) and "ParamRef" in n}
    span = _predicate_span(sql)
    if not numbers or span is None:
        return request
    from gridpg.executor.multi import params_as_text

    oids, _ = await dispatcher.describe(sql, request.param_oids)
    if len(oids) < max(numbers) or any(oids[n - 1] >= FIRST_NORMAL_OID for n in numbers):
        return request  # a user's type: left as it was (refused by the datanode, loud)
    names = await dispatcher.coord.type_names(oids, dispatcher=dispatcher)
    texts = await params_as_text(dispatcher, request, oids)
    pieces = []
    for tok in sqlparse.tokens(sql):
        if tok.name == "PARAM" and span[0] <= tok.start < span[1]:
            index = int(sql[tok.start + 1 : tok.end + 1]) - 1
            value = "NULL" if texts[index] is None else quote_literal(str(texts[index]))
            pieces.append((tok.start, tok.end + 1, f"CAST({value} AS {names[index]})"))
    if not pieces:
        return request
    return replace(request, sql=splice(sql, pieces), param_oids=list(oids))


def _predicate_span(sql: str) -> tuple[int, int] | None:
    """(start, end) of the text between `ON CONFLICT (...) WHERE` and its `DO`."""
    toks = sqlparse.tokens(sql)
    words = [sql[t.start : t.end + 1].lower() for t in toks]
    for i in range(1, len(toks)):
        if words[i] != "conflict" or words[i - 1] != "on":
            continue
        close = sqlparse.closing_paren(toks, i + 1)
        if close is None or close + 1 >= len(toks) or words[close + 1] != "where":
            return None
        depth = 0
        for j in range(close + 2, len(toks)):
            depth += words[j] == "("
            depth -= words[j] == ")"
            if depth == 0 and words[j] == "do":
                return toks[close + 1].end + 1, toks[j].start
        return None
    return None



def has_index_predicate(sql: str) -> bool:
    """Whether `sql` is an INSERT whose ON CONFLICT target has an index predicate
    (`ON CONFLICT (id) WHERE kind = 'live'`). The prepared fast path leaves it to the
    general path: it sends the statement's literal-free form (or its parameters) to be
    planned generically, where no partial index is inferred (42P10, also for the literal
    form over a hash table)."""
    return _arbiter_predicate(sql) is not None


def _arbiter_predicate(sql: str) -> object:
    """The parse tree of an INSERT's `ON CONFLICT (...) WHERE <predicate>`, or None."""
    if "conflict" not in sql.lower():
        return None
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    infer = ((tree.get("InsertStmt") or {}).get("onConflictClause") or {}).get("infer") or {}
    return infer.get("whereClause") or None
