"""One transaction timestamp across nodes: the coordinator's values of now() spliced into
the statement text.

In PostgreSQL `now()`, `CURRENT_TIMESTAMP`, `transaction_timestamp()`, `CURRENT_DATE`,
`LOCALTIMESTAMP`, `CURRENT_TIME`, `LOCALTIME` and the special inputs `'now'`, `'today'`,
`'tomorrow'`, `'yesterday'` all read the transaction's start; `statement_timestamp()` the
statement's. In gridpg each datanode and catalog server has a transaction of its own, so
each would answer its own start. Postgres-XL patched PostgreSQL to take the timestamp
from the GTM; gridpg runs stock PostgreSQL, so the coordinator fixes the values (at BEGIN
for a block, at the statement for one outside a block) and `pin_times` replaces each of
those calls in a query or DML statement by a typed literal of that instant
(`'2026-12-02 03:00:00.123456+00'::pg_catalog.timestamptz`, cast to the call's own type
on the node, so the session's TimeZone and DateStyle apply there as PostgreSQL applies
them). Output column names stay PostgreSQL's (`now`, `current_date`, ...).

Text surgery at the scanner's token offsets; nothing is re-deparsed. DDL is never
rewritten (a column default, a view or a function body keeps its call). Pure: no I/O.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

# Cheap test before any parse: text without these words has nothing to pin.
_MAY_MENTION = re.compile(r"now|current_|localtime|_timestamp|today|tomorrow|yesterday", re.IGNORECASE)

# Statements whose expressions are evaluated when they run (not stored).
_PINNED_KINDS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                           "DeclareCursorStmt", "CopyStmt", "CreateTableAsStmt"})

_TRANSACTION_CALLS = {"now", "transaction_timestamp"}
_STATEMENT_CALLS = {"statement_timestamp"}

# SQLValueFunction op -> (cast of the instant, the column name PostgreSQL gives it)
_VALUE_FUNCTIONS = {
    "SVFOP_CURRENT_DATE": ("pg_catalog.date", "current_date"),
    "SVFOP_CURRENT_TIME": ("pg_catalog.timetz", "current_time"),
    "SVFOP_CURRENT_TIME_N": ("pg_catalog.timetz", "current_time"),
    "SVFOP_CURRENT_TIMESTAMP": ("pg_catalog.timestamptz", "current_timestamp"),
    "SVFOP_CURRENT_TIMESTAMP_N": ("pg_catalog.timestamptz", "current_timestamp"),
    "SVFOP_LOCALTIME": ("pg_catalog.time", "localtime"),
    "SVFOP_LOCALTIME_N": ("pg_catalog.time", "localtime"),
    "SVFOP_LOCALTIMESTAMP": ("pg_catalog.timestamp", "localtimestamp"),
    "SVFOP_LOCALTIMESTAMP_N": ("pg_catalog.timestamp", "localtimestamp"),
}

# Special date/time inputs relative to the transaction start, as an expression of the
# instant L; and the cast targets they are pinned for.
_SPECIAL_INPUTS = {"now": "{L}", "today": "{L}::pg_catalog.date",
                   "tomorrow": "({L}::pg_catalog.date + 1)", "yesterday": "({L}::pg_catalog.date - 1)"}
_DATE_TYPES = frozenset({"timestamptz", "timestamp", "date"})
_TIME_TYPES = frozenset({"time", "timetz"})


@dataclass(frozen=True)
class TimePins:
    """The instants a statement's time functions take: the transaction's and the
    statement's, as ISO text in UTC; or, `from_setting`, the transaction's read on the node
    from the block's setting (`BLOCK_INSTANT`) and no statement instant at all."""

    transaction: str
    statement: str
    from_setting: bool = False


_ANY = TimePins("2000-01-01 00:00:00.000000+00", "2000-01-01 00:00:00.000000+00")

# The per-transaction setting each datanode's remote block is given the block's instant in
# (`SET LOCAL gridpg.xact_now = '...'`, with its BEGIN: txn/transaction.py), and the
# expression that reads it. A placeholder setting: every PostgreSQL accepts it unregistered.
# current_setting() and the text -> timestamptz cast are STABLE, as now() is: an index or a
# run-time partition pruning can use it. Unset (outside a block) it fails loudly: an
# unknown setting, or '' after an earlier block's value went.
SETTING = "gridpg.xact_now"
BLOCK_INSTANT = f"pg_catalog.current_setting('{SETTING}')::pg_catalog.timestamptz"
_FROM_SETTING = TimePins("", "", from_setting=True)


def set_local(instant: str) -> str:
    """The simple-protocol statement giving a transaction the instant (`SETTING`)."""
    return f"SET LOCAL {SETTING} = {quote_literal(instant)}"


def set_local_statement(instant: str) -> str:
    """`set_local` for the extended protocol, where a SET LOCAL outside BEGIN warns (the
    messages up to Sync are one transaction, but not a block): a query of no row and no
    column, whose answer is ParseComplete, BindComplete and CommandComplete only."""
    return f"SELECT WHERE pg_catalog.set_config('{SETTING}', {quote_literal(instant)}, true) IS NULL"


class _NotPinnable(Exception):
    """A statement_timestamp() where only the block's instant is at hand."""


# The catalog server's transaction start in `stamp`'s form.
READ_TRANSACTION_START = ("SELECT pg_catalog.to_char(pg_catalog.transaction_timestamp() AT TIME ZONE 'UTC', "
                          "'YYYY-MM-DD HH24:MI:SS.US') || '+00'")


def stamp(at: float | None = None) -> str:
    """An instant (default: now) as timestamptz input text in UTC, microseconds (taken
    at every BEGIN: the text up to the second is formatted once per second)."""
    micros = round((time.time() if at is None else at) * 1_000_000)
    second, fraction = divmod(micros, 1_000_000)
    global _last_second, _last_prefix
    if second != _last_second:
        _last_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
        _last_second = second
    return f"{_last_prefix}.{fraction:06d}+00"


_last_second = -1
_last_prefix = ""


_SPECIAL_LITERAL = re.compile(r"'\s*(now|today|tomorrow|yesterday)\s*'", re.IGNORECASE)


def has_special_input(sql: str) -> bool:
    """Whether the text holds a quoted 'now', 'today', 'tomorrow' or 'yesterday' (an
    untyped one is read by the column it is assigned to: the routed fast paths, which
    bind literals as parameters, must not take it)."""
    return _SPECIAL_LITERAL.search(sql) is not None


def may_mention_time(sql: str) -> bool:
    return _MAY_MENTION.search(sql) is not None


def pin_times(sql: str, pins: TimePins) -> str:
    """`sql` with its transaction- and statement-time calls replaced by `pins`' instants;
    `sql` itself when it has none, is not a query or DML statement, or does not parse
    (whoever runs it reports the syntax error)."""
    if not may_mention_time(sql):
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    kind = sqlparse.node_type(tree)
    if kind not in _PINNED_KINDS or (kind == "CreateTableAsStmt"
                                     and tree[kind].get("objtype") == "OBJECT_MATVIEW"):
        return sql
    return _apply(sql, list(_edits(sql, tree, pins)))


def pin_to_setting(sql: str) -> str | None:
    """`sql` with its transaction-time calls reading the block's instant from the node's
    setting (`BLOCK_INSTANT`): a text fixed once per statement, so a prepared statement
    keeps one node-side plan (executor/routed.py). None when it calls
    statement_timestamp(), whose instant is the statement's, not the block's."""
    try:
        return pin_times(sql, _FROM_SETTING)
    except _NotPinnable:
        return None


def pin_expression(expression: str, pins: TimePins) -> str | None:
    """A column default's text with its time calls pinned; None when it has none."""
    if not may_mention_time(expression):
        return None
    prefix, suffix = "VALUES (", ")"  # no select list: no column name added
    whole = prefix + expression + suffix
    pinned = pin_times(whole, pins)
    if pinned == whole:
        return None
    return pinned[len(prefix):-len(suffix)]


def statement_mentions_time(sql: str) -> bool:
    """Whether `pin_times` would change the statement."""
    return may_mention_time(sql) and pin_times(sql, _ANY) != sql


@lru_cache(maxsize=4096)
def mentions_time(expression: str) -> bool:
    """Whether an expression calls one of the transaction-time functions (asked for every
    column default of every INSERT: cached)."""
    return pin_expression(expression, _ANY) is not None


# -- edits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int  # exclusive
    text: str


def _apply(sql: str, edits: list[_Edit]) -> str:
    if not edits:
        return sql
    out, at = [], 0
    for edit in sorted(edits, key=lambda e: e.start):
        if edit.start < at:
            continue  # nested in an edit already made (cannot happen for these nodes)
        out.append(sql[at:edit.start])
        out.append(edit.text)
        at = edit.end
    out.append(sql[at:])
    return "".join(out)


def _edits(sql: str, tree: dict[str, Any], pins: TimePins) -> Iterator[_Edit]:
    toks = sqlparse.tokens(sql)
    starts = {t.start: i for i, t in enumerate(toks)}
    in_from = _from_calls(tree)
    for node, named in _walk(tree, None):
        from_name = in_from.get(id(node), "-")
        if from_name is None:
            continue  # see _from_calls
        edit = _edit_for(sql, node, toks, starts, pins)
        if edit is None:
            continue
        if from_name != "-":
            alias = f" AS {quote_ident(from_name)}" if from_name else ""
            edit = _Edit(edit.start, edit.end, f"pg_catalog.unnest(ARRAY[{edit.text}]){alias}")
        elif named is not None:
            edit = _Edit(edit.start, edit.end, f"{edit.text} AS {quote_ident(named)}")
        yield edit


def _from_calls(tree: dict[str, Any]) -> dict[int, str | None]:
    """The calls standing as a FROM item themselves (`FROM current_date`, `FROM now() t`),
    where a literal is no valid syntax: each is pinned as `unnest(ARRAY[literal])`, a
    function with the same one row; without an alias of the user's it is named as
    PostgreSQL names the call's range and column (`AS "current_date"`), which maps to that
    name ('' with the user's alias). Where that name cannot follow the call (WITH
    ORDINALITY without an alias, ROWS FROM) the call keeps its text, mapped to None: the
    node's own transaction start, apart from the coordinator's by the time between the
    two BEGINs."""
    calls: dict[int, str | None] = {}
    for node, _ in _walk(tree, None):
        rf = node.get("RangeFunction")
        if not isinstance(rf, dict):
            continue
        functions = rf.get("functions", [])
        single = not rf.get("is_rowsfrom") and len(functions) == 1
        for item in functions:
            items = item.get("List", {}).get("items", []) if isinstance(item, dict) else []
            if not items or not isinstance(items[0], dict):
                continue
            if single and rf.get("alias"):
                calls[id(items[0])] = ""
            elif single and not rf.get("ordinality"):
                calls[id(items[0])] = _default_name(items[0])
            else:
                calls[id(items[0])] = None
    return calls


def _walk(node: Any, name: str | None) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every dict node, with the output column name PostgreSQL would give it when it is a
    select list item without AS whose name comes from the node itself."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, None)
        return
    if not isinstance(node, dict):
        return
    yield node, name
    for key, value in node.items():
        if key == "ResTarget" and isinstance(value, dict) and value.get("val") is not None \
                and "name" not in value and "indirection" not in value:
            inner = value["val"]
            yield from _walk(inner, _default_name(inner))
            continue
        yield from _walk(value, None)


def _default_name(node: dict[str, Any]) -> str | None:
    if "FuncCall" in node:
        names = [n["String"]["sval"] for n in node["FuncCall"].get("funcname", []) if "String" in n]
        return names[-1] if names else None
    if "SQLValueFunction" in node:
        return _VALUE_FUNCTIONS.get(node["SQLValueFunction"].get("op", ""), (None, None))[1]
    return None  # a cast's name is its type's, which the pinned text keeps


def _edit_for(sql: str, node: dict[str, Any], toks: list[Any], starts: dict[int, int],
              pins: TimePins) -> _Edit | None:
    if "FuncCall" in node:
        return _function_edit(node["FuncCall"], toks, starts, pins)
    if "SQLValueFunction" in node:
        return _value_function_edit(node["SQLValueFunction"], toks, starts, pins)
    if "TypeCast" in node:
        return _special_input_edit(sql, node["TypeCast"], toks, starts, pins)
    return None


def _literal(instant: str) -> str:
    return f"'{instant}'::pg_catalog.timestamptz"


def _instant_sql(pins: TimePins, statement: bool = False) -> str:
    """The SQL of the transaction's (or the statement's) instant under `pins`."""
    if pins.from_setting:
        if statement:
            raise _NotPinnable
        return BLOCK_INSTANT
    return _literal(pins.statement if statement else pins.transaction)


def _function_edit(call: dict[str, Any], toks: list[Any], starts: dict[int, int],
                   pins: TimePins) -> _Edit | None:
    names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
    if call.get("args") or call.get("agg_star") or call.get("over") or not names \
            or (len(names) == 2 and names[0] != "pg_catalog") or len(names) > 2:
        return None
    if names[-1] not in _TRANSACTION_CALLS and names[-1] not in _STATEMENT_CALLS:
        return None
    first = starts.get(call.get("location", -1))
    if first is None:
        return None
    close = _next_token(toks, first, "ASCII_41")
    if close is None:
        return None
    instant = _instant_sql(pins, statement=names[-1] in _STATEMENT_CALLS)
    return _Edit(toks[first].start, toks[close].end + 1, f"({instant})")


def _value_function_edit(value: dict[str, Any], toks: list[Any], starts: dict[int, int],
                         pins: TimePins) -> _Edit | None:
    op = value.get("op", "")
    found = _VALUE_FUNCTIONS.get(op)
    first = starts.get(value.get("location", -1))
    if found is None or first is None:
        return None
    cast, _ = found
    last = first
    if op.endswith("_N"):
        close = _next_token(toks, first, "ASCII_41")
        if close is None:
            return None
        last = close
        cast = f"{cast}({int(value.get('typmod', 0))})"  # (0 is left out of the tree)
    return _Edit(toks[first].start, toks[last].end + 1, f"({_instant_sql(pins)}::{cast})")


def _special_input_edit(sql: str, cast: dict[str, Any], toks: list[Any], starts: dict[int, int],
                        pins: TimePins) -> _Edit | None:
    const = (cast.get("arg") or {}).get("A_Const") or {}
    text = ((const.get("sval") or {}).get("sval") or "").strip().lower()
    type_name = cast.get("typeName") or {}
    names = [n["String"]["sval"] for n in type_name.get("names", []) if "String" in n]
    target = names[-1] if names else ""
    if text not in _SPECIAL_INPUTS or type_name.get("arrayBounds") or not (
            target in _DATE_TYPES or (target in _TIME_TYPES and text == "now")):
        return None
    at = starts.get(const.get("location", -1))
    if at is None or toks[at].name != "SCONST":
        return None
    expression = _SPECIAL_INPUTS[text].format(L=_instant_sql(pins))
    type_at = type_name.get("location", -1)
    if 0 <= type_at < toks[at].start:  # `timestamptz 'now'`: the type name comes first
        spelled = sql[type_at:toks[at - 1].end + 1]  # (to its last token: not a comment after it)
        return _Edit(type_at, toks[at].end + 1, f"CAST({expression} AS {spelled})")
    return _Edit(toks[at].start, toks[at].end + 1, f"({expression})")


def _next_token(toks: list[Any], index: int, name: str) -> int | None:
    for position in range(index, min(len(toks), index + 8)):
        if toks[position].name == name:
            return position
    return None


# -- column defaults ---------------------------------------------------------------------


# date/time column types (pg_type oids) that read the special inputs as of the transaction
_TIME_COLUMN_TYPES = {1082: "pg_catalog.date", 1114: "pg_catalog.timestamp", 1184: "pg_catalog.timestamptz"}


def pin_insert_defaults(sql: str, tree: dict[str, Any], table_columns: list[str],
                        pinned: dict[str, str], pins: TimePins | None = None,
                        column_types: dict[str, int] | None = None, returning_ok: bool = False) -> str | None:
    """An INSERT ... VALUES (or DEFAULT VALUES) with the columns whose defaults read the
    transaction time (`pinned`: column -> pinned default text) given explicitly, so the
    datanodes store the coordinator's instant rather than each its own now(); and with
    the untyped special inputs ('now', 'today', ...) of its date/time columns
    (`column_types`: column -> type oid) as the instant too. None when nothing changes or
    the statement is of another form (its defaults stay the nodes'). `returning_ok`: an
    INSERT ... SELECT with RETURNING is given them too, in its SELECT's target list (a
    statement the catalog server runs whole: a temp table's, executor/temp_defaults.py)."""
    body = tree.get("InsertStmt") or {}
    toks = sqlparse.tokens(sql)
    relation_at = (body.get("relation") or {}).get("location", -1)
    after = [i for i, t in enumerate(toks) if t.start > relation_at]
    if body.get("selectStmt") is None:
        return _default_values(sql, toks, after, pinned)
    select = (body.get("selectStmt") or {}).get("SelectStmt") or {}
    rows = [r.get("List", {}).get("items", []) for r in select.get("valuesLists") or []]
    if not rows and not select.get("valuesLists"):
        return _select_source(sql, toks, after, body, select, table_columns, pinned, returning_ok)
    if not rows or select.get("withClause"):
        return None
    cols = [c["ResTarget"]["name"] for c in body.get("cols") or []]
    width = len(rows[0])
    listed = cols or table_columns[:width]
    if width > len(table_columns) or len(listed) != width or len(set(listed)) != width:
        return None  # PostgreSQL's own error comes from the node
    values_at = next((i for i in after if toks[i].name in ("VALUES", "OVERRIDING")), None)
    if values_at is None:
        return None
    edits = list(_default_item_edits(rows, listed, toks, pinned))
    if pins is not None and column_types:
        edits.extend(_special_item_edits(rows, listed, toks, pins, column_types))
    missing = [name for name in pinned if name not in listed]
    if missing:
        edits.extend(_column_list_edits(toks, after, values_at, cols, listed, missing))
        edits.extend(_row_edits(toks, values_at, len(rows), [pinned[n] for n in missing]))
    return _apply(sql, edits) if edits else None


def _select_source(sql: str, toks: list[Any], after: list[int], body: dict[str, Any], select: dict[str, Any],
                   table_columns: list[str], pinned: dict[str, str], returning_ok: bool = False) -> str | None:
    """INSERT ... SELECT: the columns whose defaults read the time it does not list are
    added, their values given by wrapping the query (`SELECT gp_src.*, <instants> FROM
    (<query>) AS gp_src`). None when its width is unknown without a column list (`*`, a
    set operation), or it has ON CONFLICT, RETURNING or OVERRIDING (kept the nodes' own
    time there)."""
    cols = [c["ResTarget"]["name"] for c in body.get("cols") or []]
    if not cols:
        targets = select.get("targetList") or []
        if select.get("op", "SETOP_NONE") != "SETOP_NONE" or any(
                "A_Star" in str(t) for t in targets):
            return None
        cols = table_columns[:len(targets)]
        listed_given = False
    else:
        listed_given = True
    missing = [name for name in pinned if name not in cols]
    returning = bool(body.get("returningClause") or body.get("returningList"))
    if not missing or body.get("onConflictClause") or (returning and not returning_ok) \
            or any(toks[i].name == "OVERRIDING" for i in after):
        return None
    start = next((i for i in after if toks[i].name in ("SELECT", "WITH", "ASCII_40", "TABLE")
                  and (not listed_given or toks[i].name != "ASCII_40" or i > _columns_close(toks, after))), None)
    if start is None:
        return None
    # (to the last token: a `--` comment ending the statement would swallow the `)` after it)
    last = len(toks) - 1 - (toks[-1].name == "ASCII_59")
    query = sql[toks[start].start:toks[last].end + 1]
    names = ", ".join(quote_ident(n) for n in [*cols, *missing])
    values = ", ".join(pinned[n] for n in missing)
    if listed_given:
        close = _columns_close(toks, after)
        head = sql[:toks[close].start] + ", " + ", ".join(quote_ident(n) for n in missing) + ") "
    else:
        head = sql[:toks[start].start] + f"({names}) "
    end = _target_list_end(toks, start) if select.get("op", "SETOP_NONE") == "SETOP_NONE" else None
    if returning and end is None:
        return None  # (the wrapped query below would take the RETURNING list in)
    if end is not None:
        # The instants join the SELECT's own target list: wrapped in a subquery, an untyped
        # literal ('paid' for an enum column) would be resolved as text and refused.
        cut = toks[end].start if end < len(toks) else len(sql.rstrip().rstrip(";"))
        targets_end = toks[end - 1].end + 1  # (its last token: not a comment after it)
        return f"{head}{sql[toks[start].start:targets_end]}, {values} {sql[cut:].rstrip().rstrip(';')}".rstrip()
    return f"{head}SELECT gp_src.*, {values} FROM ({query}) AS gp_src"


_AFTER_TARGETS = frozenset({"FROM", "INTO", "WHERE", "GROUP_P", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET",
                            "FETCH", "FOR", "UNION", "INTERSECT", "EXCEPT", "RETURNING", "ASCII_59"})


def _target_list_end(toks: list[Any], start: int) -> int | None:
    """The token index right after the target list of the plain SELECT whose query starts
    at `start` (its SELECT, or the WITH before it): the first clause keyword at the
    query's own depth, or len(toks) when the target list ends the text. None for other
    shapes (a parenthesized query, TABLE)."""
    depth = 0
    select_at = None
    for i in range(start, len(toks)):
        name = toks[i].name
        if name == "ASCII_40":
            depth += 1
        elif name == "ASCII_41":
            depth -= 1
        elif depth == 0 and name == "SELECT" and select_at is None:
            select_at = i
        elif depth == 0 and select_at is not None and name in _AFTER_TARGETS:
            return i
    return len(toks) if select_at is not None and depth == 0 else None


def _columns_close(toks: list[Any], after: list[int]) -> int:
    """The token index of the `)` closing the INSERT's column list (it starts right after
    the table name)."""
    depth = 0
    for i in after:
        if toks[i].name == "ASCII_40":
            depth += 1
        elif toks[i].name == "ASCII_41":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _default_values(sql: str, toks: list[Any], after: list[int], pinned: dict[str, str]) -> str | None:
    at = next((i for i in after if toks[i].name == "DEFAULT" and i + 1 < len(toks)
               and toks[i + 1].name == "VALUES"), None)
    if at is None or not pinned:
        return None
    names = ", ".join(quote_ident(n) for n in pinned)
    values = ", ".join(pinned.values())
    return _apply(sql, [_Edit(toks[at].start, toks[at + 1].end + 1, f"({names}) VALUES ({values})")])


def _default_item_edits(rows: list[list[Any]], listed: list[str], toks: list[Any],
                        pinned: dict[str, str]) -> Iterator[_Edit]:
    starts = {t.start: t for t in toks}
    for items in rows:
        for name, item in zip(listed, items):
            if "SetToDefault" not in item or name not in pinned:
                continue
            token = starts.get(item["SetToDefault"].get("location", -1))
            if token is not None and token.name == "DEFAULT":
                yield _Edit(token.start, token.end + 1, pinned[name])


def _special_item_edits(rows: list[list[Any]], listed: list[str], toks: list[Any], pins: TimePins,
                        column_types: dict[str, int]) -> Iterator[_Edit]:
    """`'now'`, `'today'`, ... written untyped for a date/time column: PostgreSQL reads
    them as of the transaction's start when it assigns them to the column."""
    starts = {t.start: t for t in toks}
    for items in rows:
        for name, item in zip(listed, items):
            const = item.get("A_Const") or {}
            text = ((const.get("sval") or {}).get("sval") or "").strip().lower()
            token = starts.get(const.get("location", -1))
            if text not in _SPECIAL_INPUTS or column_types.get(name) not in _TIME_COLUMN_TYPES \
                    or token is None or token.name != "SCONST":
                continue
            expression = _SPECIAL_INPUTS[text].format(L=_literal(pins.transaction))
            yield _Edit(token.start, token.end + 1, f"({expression})")


def _column_list_edits(toks: list[Any], after: list[int], values_at: int, cols: list[str],
                       listed: list[str], missing: list[str]) -> Iterator[_Edit]:
    added = ", ".join(quote_ident(n) for n in missing)
    if cols:
        close = max((i for i in after if i < values_at and toks[i].name == "ASCII_41"), default=None)
        if close is not None:
            yield _Edit(toks[close].start, toks[close].start, f", {added}")
        return
    names = ", ".join(quote_ident(n) for n in listed)
    joined = f"{names}, {added}" if names else added
    yield _Edit(toks[values_at].start, toks[values_at].start, f"({joined}) ")


def _row_edits(toks: list[Any], values_at: int, count: int, expressions: list[str]) -> Iterator[_Edit]:
    depth, found = 0, 0
    added = ", " + ", ".join(expressions)
    for token in toks[values_at + 1:]:
        if token.name == "ASCII_40":
            depth += 1
        elif token.name == "ASCII_41":
            depth -= 1
            if depth == 0:
                yield _Edit(token.start, token.start, added)
                found += 1
                if found == count:
                    return
