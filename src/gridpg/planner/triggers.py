"""Triggers fired by the coordinator: their definitions, the datanode guard, the firing SQL. Pure.

A trigger of a distributed table whose function reads or writes tables the datanode
cannot serve correctly (another distributed table, a replicated one) is fired by the
coordinator on its catalog server, inside the caller's distributed transaction, with the
loopback armed (executor/triggers.py). For that, the same trigger must *not* fire on the
datanodes for that statement. Every trigger gridpg creates on a datanode therefore carries
a guard in front of its WHEN condition:

    WHEN (pg_catalog.strpos(coalesce(pg_catalog.current_setting('gridpg.skip_triggers',
          true), ''), 'gpskip_<token>') = 0 AND (<the user's condition>))

where the token is random per trigger (it follows the trigger through renames). The
coordinator sets `gridpg.skip_triggers` (locally, for that one statement) to the tokens of
the triggers it fires itself, reading them back from each datanode's `pg_trigger`; a
trigger without its guard on some node is refused (0A000), never fired twice.

The coordinator fires a trigger through a *twin* of its PL/pgSQL function: the same body
as an ordinary function whose parameters are the trigger's variables (`new`, `old`,
`tg_op`, `tg_argv`, ...), so the body runs unchanged, with PostgreSQL's own NEW/OLD/TG_*
values, WHEN condition and name order.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

SKIP_SETTING = "gridpg.skip_triggers"
TOKEN_PREFIX = "gpskip_"
TWIN_SCHEMA = "gridpg_tg"
_TOKEN = re.compile(r"gpskip_([0-9a-f]{16})")

# pg_trigger.tgtype bits
ROW, BEFORE, INSERT, DELETE, UPDATE, TRUNCATE, INSTEAD = 1, 2, 4, 8, 16, 32, 64
EVENT_BITS = {"INSERT": INSERT, "UPDATE": UPDATE, "DELETE": DELETE, "TRUNCATE": TRUNCATE}

# The twin's parameters: PL/pgSQL's trigger variables, in this order.
TWIN_PARAMETERS = ("new record, old record, tg_op text, tg_name name, tg_when text, tg_level text, "
                   "tg_relid oid, tg_table_name name, tg_table_schema name, tg_relname name, "
                   "tg_nargs integer, tg_argv text[]")


@dataclass(frozen=True)
class Trigger:
    """One user trigger of a table, as the catalog server has it."""

    name: str
    function_oid: int
    tgtype: int
    enabled: str  # pg_trigger.tgenabled: O, D, R, A
    definition: str  # pg_get_triggerdef
    columns: tuple[str, ...] = ()  # UPDATE OF
    args: tuple[str, ...] = ()
    constraint: bool = False  # CREATE CONSTRAINT TRIGGER
    new_table: str | None = None  # REFERENCING NEW TABLE AS ...
    old_table: str | None = None  # REFERENCING OLD TABLE AS ...

    @property
    def transition(self) -> bool:
        return bool(self.new_table or self.old_table)

    @property
    def is_row(self) -> bool:
        return bool(self.tgtype & ROW)

    @property
    def is_before(self) -> bool:
        return bool(self.tgtype & BEFORE)

    @property
    def is_instead(self) -> bool:
        return bool(self.tgtype & INSTEAD)

    def fires_on(self, event: str, targets: frozenset[str] | None = None) -> bool:
        """Whether it may fire for this event (`targets`: an UPDATE's SET columns): any
        state but disabled, as ENABLE REPLICA ones fire under session_replication_role =
        replica (executor/triggers.py picks by the session's role at the write)."""
        if self.enabled == "D" or not self.tgtype & EVENT_BITS[event]:
            return False
        if event == "UPDATE" and self.columns and targets is not None:
            return bool(set(self.columns) & targets)
        return True

    @property
    def when(self) -> str | None:
        return split_definition(self.definition)[1]


def new_token() -> str:
    return secrets.token_hex(8)


def split_definition(definition: str) -> tuple[str, str | None, str]:
    """(text up to and including FOR EACH ROW|STATEMENT, the WHEN expression or None, the
    rest from EXECUTE on) of a `pg_get_triggerdef` text, read by PostgreSQL's scanner."""
    toks = sqlparse.tokens(definition)
    depth = 0
    for i, tok in enumerate(toks):
        if tok.name == "ASCII_40":
            depth += 1
        elif tok.name == "ASCII_41":
            depth -= 1
        elif depth == 0 and tok.name == "FOR" and i + 2 < len(toks) and toks[i + 1].name == "EACH":
            head_end = toks[i + 2].end + 1
            rest = toks[i + 3:]
            if rest and rest[0].name == "WHEN":
                close = sqlparse.closing_paren(rest, 1)
                if close is None:
                    raise ValueError("unbalanced parentheses in a trigger definition")
                when = definition[rest[1].start + 1:rest[close].start].strip()
                return definition[:head_end], when, definition[rest[close].end + 1:].lstrip()
            return definition[:head_end], None, definition[head_end:].lstrip()
    raise ValueError(f"not a trigger definition: {definition[:80]}")


def guard(token: str) -> str:
    """The WHEN condition that keeps a trigger from firing on a datanode while the
    coordinator fires it itself."""
    setting = f"pg_catalog.current_setting({quote_literal(SKIP_SETTING)}, true)"
    return f"pg_catalog.strpos(coalesce({setting}, ''), {quote_literal(TOKEN_PREFIX + token)}) = 0"


def guarded_definition(definition: str, token: str, replace: bool = False) -> str:
    """A `pg_get_triggerdef` text with the guard in front of its WHEN condition (for the
    datanodes). `replace`: as CREATE OR REPLACE TRIGGER."""
    head, when, rest = split_definition(definition)
    if any(t.name == "INSTEAD" for t in sqlparse.tokens(head)):
        return definition  # a view's INSTEAD OF trigger: no WHEN allowed, never fired here
    condition = guard(token) + (f" AND ({when})" if when else "")
    text = f"{head} WHEN ({condition}) {rest}"
    if replace:
        text = re.sub(r"^CREATE (CONSTRAINT )?TRIGGER", lambda m: f"CREATE OR REPLACE {m.group(1) or ''}TRIGGER",
                      text, count=1)
    return text


def token_of(definition: str) -> str | None:
    """The guard token a datanode's trigger definition carries, if any."""
    _, when, _ = split_definition(definition)
    found = _TOKEN.search(when or "")
    return found.group(1) if found else None


def skip_value(tokens: list[str]) -> str:
    """The value of gridpg.skip_triggers that keeps these triggers off a datanode."""
    return ",".join(TOKEN_PREFIX + t for t in tokens)


def twin_name(function_oid: int, source: str, config: str) -> str:
    digest = hashlib.sha256(f"{function_oid}\0{source}\0{config}".encode()).hexdigest()[:16]
    return f"f{function_oid}_{digest}"


def twin_sql(name: str, source: str, search_path: tuple[str, ...] | None = None) -> str:
    """The twin of a PL/pgSQL trigger function: its body, the trigger variables as
    parameters; it returns what the body returns (AFTER triggers' value is ignored). A
    function declared with `SET search_path` gets `search_path` (its path with the
    loopback's shadow schemas put before its schemas, executor/triggers.py)."""
    own = "" if search_path is None else \
        " SET search_path TO " + (", ".join(quote_literal(e) for e in search_path) or "''")
    return (f"CREATE OR REPLACE FUNCTION {TWIN_SCHEMA}.{quote_ident(name)}({TWIN_PARAMETERS}) "
            f"RETURNS record LANGUAGE plpgsql{own} AS {_dollar(source)}")


def _dollar(source: str) -> str:
    tag = "gridpg"
    while f"${tag}$" in source:
        tag += "x"
    return f"${tag}${source}${tag}$"


@dataclass(frozen=True)
class Firing:
    """One trigger as the coordinator fires it: its twin and the values of TG_*."""

    trigger: Trigger
    twin: str
    relid: int
    schema: str
    table: str


def fire_sql(firings: list[Firing], event: str, timing: str, level: str, qualified: str,
             new: str | None, old: str | None) -> str:
    """One statement firing `firings` in order for one row (or the statement): each WHEN
    condition read on the row, each twin called with PostgreSQL's trigger variables."""
    new_row = f"{quote_literal(new)}::{qualified}" if new is not None else f"NULL::{qualified}"
    old_row = f"{quote_literal(old)}::{qualified}" if old is not None else f"NULL::{qualified}"
    calls = []
    for f in firings:
        args = f.trigger.args
        argv = "'{}'::text[]" if not args else \
            quote_literal(f"[0:{len(args) - 1}]=" + _array_text(args)) + "::text[]"
        call = (f"{TWIN_SCHEMA}.{quote_ident(f.twin)}({new_row}, {old_row}, {quote_literal(event)}, "
                f"{quote_literal(f.trigger.name)}, {quote_literal(timing)}, {quote_literal(level)}, "
                f"{f.relid}::oid, {quote_literal(f.table)}, {quote_literal(f.schema)}, "
                f"{quote_literal(f.table)}, {len(args)}, {argv}) IS NULL")
        when = f.trigger.when
        calls.append(f"CASE WHEN {when} THEN {call} END" if when else call)
    # (a WHEN condition may read new.tableoid / old.tableoid: the trigger's table, as its
    # rows are read from it; before, 42703 "column new.tableoid does not exist". Only
    # then: a whole-row `new` keeps the table's columns alone)
    relid = f", {firings[0].relid}::oid AS tableoid" if any(_reads_tableoid(f) for f in firings) else ""
    return (f"SELECT {', '.join(calls)} FROM (SELECT ({new_row}).*{relid}) AS new, "
            f"(SELECT ({old_row}).*{relid}) AS old")


def _reads_tableoid(firing: Firing) -> bool:
    return "tableoid" in (firing.trigger.when or "").lower()


def before_row_sql(firings: list[Firing], qualified: str, new: str | None, event: str = "INSERT",
                   old: str | None = None, fixed: tuple[str, ...] = ()) -> str:
    """One statement firing BEFORE ROW triggers in order for one row: each trigger's WHEN
    read on the row as the previous trigger returned it (and on OLD), its twin given that
    row; the row as the last one returns it, as text (NULL: a trigger skipped the row, and
    the later ones do not fire, as in PostgreSQL). For DELETE the row is OLD, which a
    trigger only lets through (any non-NULL result) or skips. With `fixed` columns, a second
    column says whether the resulting row keeps OLD's values in them."""
    old_row = f"{quote_literal(old)}::{qualified}" if old is not None else f"NULL::{qualified}"
    deleting = event == "DELETE"
    start = old if deleting else new
    parts = [f"(SELECT {quote_literal(start or '')}::{qualified} AS v) AS s0"]
    for i, f in enumerate(firings, 1):
        args = f.trigger.args
        argv = "'{}'::text[]" if not args else \
            quote_literal(f"[0:{len(args) - 1}]=" + _array_text(args)) + "::text[]"
        row = f"s{i - 1}.v"
        twin = (f"{TWIN_SCHEMA}.{quote_ident(f.twin)}({f'NULL::{qualified}' if deleting else row}, {old_row}, "
                f"{quote_literal(event)}, {quote_literal(f.trigger.name)}, 'BEFORE', 'ROW', {f.relid}::oid, "
                f"{quote_literal(f.table)}, {quote_literal(f.schema)}, {quote_literal(f.table)}, {len(args)}, "
                f"{argv})::text")
        call = f"CASE WHEN {twin} IS NULL THEN NULL ELSE {row} END" if deleting else f"({twin})::{qualified}"
        when = f" WHEN NOT coalesce(({f.trigger.when}), false) THEN {row}" if f.trigger.when else ""
        scope = [] if deleting else [f"(SELECT ({row}).*) AS new"]
        if old is not None:
            relid = f", {f.relid}::oid AS tableoid" if _reads_tableoid(f) else ""
            scope.append(f"(SELECT ({old_row}).*{relid}) AS old")
        parts.append(f"LATERAL (SELECT CASE WHEN {row}::text IS NULL THEN NULL{when} ELSE {call} END AS v "
                     f"FROM {', '.join(scope)} OFFSET 0) AS s{i}")
    last = f"s{len(firings)}.v"
    kept = ""
    if fixed:
        same = " AND ".join(f"({last}).{quote_ident(c)} IS NOT DISTINCT FROM ({old_row}).{quote_ident(c)}"
                            for c in fixed)
        kept = f", {last}::text IS NULL OR ({same})"
    return f"SELECT {last}::text{kept} FROM {', '.join(parts)}"


def _array_text(items: tuple[str, ...]) -> str:
    quoted = ['"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items]
    return "{" + ",".join(quoted) + "}"
