"""The relation a PL/pgSQL trigger reads in TG_TABLE_NAME & co., as datanodes must see it. Pure.

A row trigger of a HASH table fires on a datanode for the shard that holds the row: a
partition named `gridpg_shards."public.t_17"`. PL/pgSQL fills TG_TABLE_NAME, TG_RELNAME,
TG_TABLE_SCHEMA and TG_RELID from that partition, so a generic audit trigger
(`INSERT INTO audit VALUES (TG_TABLE_NAME, ...)`, `EXECUTE format('... %I.%I',
TG_TABLE_SCHEMA, TG_TABLE_NAME)`) recorded the shard's name where PostgreSQL gives the
user's table: a wrong answer without an error.

The CREATE FUNCTION text a datanode gets for a PL/pgSQL trigger function therefore reads
each of these variables through the shard's parent: when the trigger's relation is in
the shard schema, the table it is a partition of (the user's table, or the user's own
partition for a partitioned table), else the relation itself (replicated and round-robin
tables are plain tables on each node). Each reference is replaced in place by PostgreSQL's
scanner tokens of the body, on its own line, so error line numbers stay the same; the
catalog server keeps the function as written (the coordinator fires triggers there with
the user table's values already).

This module must not do I/O.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import parser as pgparser

from gridpg.sql.parse import scan_code
from gridpg.sql.xact_time import SETTING as XACT_SETTING

SHARD_SCHEMA = "gridpg_shards"

# The user's relation: the shard's parent when the trigger fired on a shard.
_RELID = ("COALESCE((SELECT gp_i.inhparent FROM pg_catalog.pg_inherits gp_i "
          "JOIN pg_catalog.pg_class gp_s ON gp_s.oid = gp_i.inhrelid "
          "JOIN pg_catalog.pg_namespace gp_n ON gp_n.oid = gp_s.relnamespace "
          f"WHERE gp_i.inhrelid = tg_relid AND gp_n.nspname = '{SHARD_SCHEMA}'), tg_relid)")
_REPLACEMENTS = {
    "tg_relid": f"({_RELID})",
    "tg_table_name": f"(SELECT gp_c.relname FROM pg_catalog.pg_class gp_c WHERE gp_c.oid = {_RELID})",
    "tg_relname": f"(SELECT gp_c.relname FROM pg_catalog.pg_class gp_c WHERE gp_c.oid = {_RELID})",
    "tg_table_schema": ("(SELECT gp_n.nspname FROM pg_catalog.pg_class gp_c JOIN pg_catalog.pg_namespace gp_n "
                        f"ON gp_n.oid = gp_c.relnamespace WHERE gp_c.oid = {_RELID})"),
}
_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")


def for_datanodes(create_sql: str, tree: dict[str, Any]) -> str | None:
    """The CREATE FUNCTION text for the datanodes (`tree`: its parse, sql.parse's form),
    or None when it is the client's text unchanged (not a PL/pgSQL trigger function, or
    no TG_ relation variable read)."""
    body = tree.get("CreateFunctionStmt") or {}
    if not _returns_trigger(body) or _language(body) != "plpgsql":
        return None
    span = _body_span(create_sql)
    if span is None:
        return None
    start, end, quote = span
    source = create_sql[start:end]
    if quote == "'":
        source = source.replace("''", "'")
    rewritten = rewrite_body(source)
    if rewritten is None:
        return None
    return create_sql[:start - len(quote)] + _dollar(rewritten) + create_sql[end + len(quote):]


def rewrite_body(source: str) -> str | None:
    """A PL/pgSQL body with each read of a TG_ relation variable and of the transaction's
    time replaced; None when it reads none (a TG_ variable that the body declares itself,
    which then hides it, is left alone)."""
    try:
        toks = scan_code(source)
    except pgparser.ParseError:
        return None
    names = [_identifier(source, t) if t.name == "IDENT" else None for t in toks]
    cuts = _time_cuts(source, toks, names)
    if any(toks[i - 1].name in ("DECLARE", "ASCII_59") and names[i] in _REPLACEMENTS
           for i in range(1, len(toks))) and any(t.name == "DECLARE" for t in toks):
        return _cut(source, cuts)  # a declaration of that name: the user's own variable
    for i, tok in enumerate(toks):
        if names[i] not in _REPLACEMENTS:
            continue
        if i > 0 and toks[i - 1].name == "ASCII_46":
            continue  # qualified (`block.tg_relid`, `t.tg_table_name`): not the variable
        if i + 1 < len(toks) and toks[i + 1].name in ("ASCII_46", "COLON_EQUALS"):
            continue
        cuts.append((tok.start, tok.end + 1, _REPLACEMENTS[names[i]]))
    return _cut(source, cuts)


def pin_time_reads(source: str) -> str:
    """A PL/pgSQL body with its reads of the transaction's time replaced alone (the twins
    the coordinator fires on its catalog server, executor/triggers.py: their TG_ values
    are the user table's already); `source` itself when it has none."""
    try:
        toks = scan_code(source)
    except pgparser.ParseError:
        return source
    names = [_identifier(source, t) if t.name == "IDENT" else None for t in toks]
    return _cut(source, _time_cuts(source, toks, names)) or source


def without_time_reads(source: str) -> str:
    """A PL/pgSQL body with the reads of the transaction's time that the datanodes' copies
    and the twins read from the coordinator's instant taken out (what is left may still
    read other clocks: statement_timestamp(), a 'now' literal)."""
    try:
        toks = scan_code(source)
    except pgparser.ParseError:
        return source
    names = [_identifier(source, t) if t.name == "IDENT" else None for t in toks]
    cuts = [(begin, finish, "") for begin, finish, _ in _time_cuts(source, toks, names)]
    return _cut(source, cuts) or source


def body_source(create_sql: str) -> str | None:
    """The body of a CREATE FUNCTION text (pg_get_functiondef's) as its source, unquoted;
    None for a form without one (`_body_span`)."""
    span = _body_span(create_sql)
    if span is None:
        return None
    start, end, quote = span
    source = create_sql[start:end]
    return source.replace("''", "'") if quote == "'" else source


PINNED_MARK = f"current_setting('{XACT_SETTING}', true)"


def _cut(source: str, cuts: list[tuple[int, int, str]]) -> str | None:
    if not cuts:
        return None
    for begin, finish, text in sorted(cuts, reverse=True):
        source = source[:begin] + text + source[finish:]
    return source


# The transaction's time as the coordinator fixed it for the whole distributed transaction
# (sql/xact_time.py: `SET LOCAL gridpg.xact_now` with each node's BEGIN), else this
# server's own transaction start (a transaction the coordinator did not open, a RESET ALL)
_INSTANT = (f"(CASE WHEN pg_catalog.current_setting('{XACT_SETTING}', true) <> '' "
            f"THEN pg_catalog.current_setting('{XACT_SETTING}', true)::pg_catalog.timestamptz "
            "ELSE pg_catalog.now() END)")
# keyword -> the type the instant is cast to (PostgreSQL's SQLValueFunction results)
_TIME_KEYWORDS = {"CURRENT_TIMESTAMP": "pg_catalog.timestamptz", "CURRENT_DATE": "pg_catalog.date",
                  "CURRENT_TIME": "pg_catalog.timetz", "LOCALTIMESTAMP": "pg_catalog.timestamp",
                  "LOCALTIME": "pg_catalog.time"}
_TIME_CALLS = frozenset({"now", "transaction_timestamp"})


def _time_cuts(source: str, toks: list[Any], names: list[str | None]) -> list[tuple[int, int, str]]:
    """Where the body reads the transaction's time (`now()`, `transaction_timestamp()`,
    `pg_catalog.now()`, CURRENT_TIMESTAMP, CURRENT_DATE, LOCALTIMESTAMP, ... with or without a
    precision): each replaced by the coordinator's instant, so a BEFORE ROW trigger setting
    `NEW.updated_at := now()` stores one value on every datanode and every replica, the
    value the client's own now() answers (h-trig24). statement_timestamp() and the clock
    functions are not the transaction's and stay as written."""
    cuts = []
    n = len(toks)
    for i, tok in enumerate(toks):
        if tok.name in _TIME_KEYWORDS:
            if i > 0 and toks[i - 1].name == "ASCII_46":
                continue
            end, cast = tok.end + 1, _TIME_KEYWORDS[tok.name]
            if i + 3 < n and toks[i + 1].name == "ASCII_40" and toks[i + 2].name == "ICONST" \
                    and toks[i + 3].name == "ASCII_41":
                end = toks[i + 3].end + 1
                cast += f"({source[toks[i + 2].start:toks[i + 2].end + 1]})"
            cuts.append((tok.start, end, f"({_INSTANT}::{cast})"))
        elif names[i] in _TIME_CALLS and i + 2 < n and toks[i + 1].name == "ASCII_40" \
                and toks[i + 2].name == "ASCII_41":
            start = tok.start
            if i > 0 and toks[i - 1].name == "ASCII_46":
                if i < 2 or names[i - 2] != "pg_catalog":
                    continue  # another schema's function of that name
                start = toks[i - 2].start
            cuts.append((start, toks[i + 2].end + 1, _INSTANT))
    return cuts


def _identifier(source: str, tok: Any) -> str:
    raw = source[tok.start:tok.end + 1]
    return raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower()


def _returns_trigger(body: dict[str, Any]) -> bool:
    names = (body.get("returnType") or {}).get("names") or []
    last = names[-1].get("String", {}).get("sval") if names else None
    return last == "trigger" and not (body.get("returnType") or {}).get("arrayBounds")


def _language(body: dict[str, Any]) -> str | None:
    for option in body.get("options") or []:
        elem = option.get("DefElem") or {}
        if elem.get("defname") == "language":
            return str((elem.get("arg") or {}).get("String", {}).get("sval", "")).lower()
    return None


def _body_span(create_sql: str) -> tuple[int, int, str] | None:
    """(start, end, quote) of the body's content after AS: `quote` is its dollar tag or
    `'` (a standard string); None for any other form (E'', U&'', a SQL-standard body)."""
    toks = scan_code(create_sql)
    for i, tok in enumerate(toks[:-1]):
        if tok.name != "AS" or toks[i + 1].name != "SCONST":
            continue
        if i + 2 < len(toks) and toks[i + 2].name == "ASCII_44":
            return None  # AS 'obj_file', 'link_symbol': a C function
        const = toks[i + 1]
        raw = create_sql[const.start:const.end + 1]
        match = _DOLLAR_TAG.match(raw)
        if match:
            tag = match.group(0)
            return const.start + len(tag), const.end + 1 - len(tag), tag
        if raw.startswith("'") and raw.endswith("'"):
            return const.start + 1, const.end, "'"
        return None
    return None


def _dollar(source: str) -> str:
    tag = "gridpg"
    while f"${tag}$" in source:
        tag += "x"
    return f"${tag}${source}${tag}$"
