"""postgres_fdw's row-by-row UPDATE and DELETE through the loopback, on distributed tables.

When a statement of server-side code cannot be sent whole (its SET or WHERE calls now(), a
user function, ...), postgres_fdw reads the rows with `SELECT ..., ctid FROM t WHERE ...
FOR UPDATE` and then sends `UPDATE t SET ... WHERE ctid = $1` (or DELETE) once per row. A
ctid names a row only within one table on one node: on a distributed table the same ctid
exists in every shard. So the loopback runs that SELECT on each datanode holding the
table, inside the caller's transaction, reading also each row's shard
(`tableoid::regclass`), and hands postgres_fdw a *row number* in place of the ctid
(`(n,1)`); the UPDATE or DELETE for that number goes to the node and shard the row came
from, by its real ctid (the row is locked FOR UPDATE by the same transaction, so its ctid
holds). A replicated table holds each row on every node under another ctid: its row
number stands for the row's primary key values, read with the row on the table's first
node, and the UPDATE or DELETE runs with `WHERE ctid = $1` replaced by the
key, as any statement of the code (the coordinator writes every node and fires the
table's triggers). A replicated table without a primary key is refused with 0A000, and so
are UPDATEs of the distribution column (the row would move). A row of a hash or modulo
table whose triggers the coordinator fires is written by an ordinary statement of the code
pinned to it, `WHERE ctid = '(b,i)' AND col = 'value'` (its distribution value, read with
the row: the router sends it to the row's node, where PostgreSQL prunes to its shard, in
which the ctid names it), so the triggers fire as for any statement; refused when that
value is NULL or the table has no distribution column.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.loopback import LoopbackRunner

_ROW_ID = re.compile(r"^\((\d+),1\)$")
_REFUSAL_HINT = ("Keep the statement's SET and WHERE to columns, constants and the routine's "
                 "variables (compute now(), random() or other functions into a variable first).")


class RowAddress(NamedTuple):
    """Where the row behind one row number is: a shard on a node by its ctid, or (`node`
    empty) the row of a replicated table on every node by its key (`key`, a predicate).
    `value`: the row's distribution value (text output), when its table has a column."""

    node: str
    relation: str
    ctid: str
    key: str = ""
    value: str | None = None


def is_by_ctid(stmt: dict[str, Any]) -> bool:
    """`... WHERE ctid = $1`: postgres_fdw's per-row UPDATE or DELETE."""
    where = stmt.get("whereClause", {}).get("A_Expr")
    if not isinstance(where, dict):
        return False
    left = where.get("lexpr", {}).get("ColumnRef", {}).get("fields", [])
    return bool(left) and left[-1].get("String", {}).get("sval") == "ctid" and "ParamRef" in where.get("rexpr", {})


async def select(runner: LoopbackRunner, query: str, request: ExecRequest) -> tuple[bytes, list[bytes]]:
    """Run the FOR UPDATE query on every node of its table; rows carry row numbers as ctids."""
    text = inline_params(query, request.params)
    tree = sqlparse.parse_tree(text)
    stmt = tree.get("SelectStmt", {})
    table = _table(runner, stmt.get("fromClause", []), "")
    ctid_at = _ctid_location(stmt)
    if table.method == "replication":
        return await _select_replicated(runner, text, ctid_at, table)
    # the distribution value too, when there is one: a row whose triggers the coordinator
    # fires is then written by a statement pinned to it (`modify`)
    pinned = bool(table.column) and table.method in _PINNED_METHODS
    read = (f"{_qualifier(stmt)}{quote_ident(table.column)}, " if pinned else "")
    # (the tree's locations count characters: sql/parse.parse_tree)
    text = f"{text[:ctid_at]}{read}tableoid::pg_catalog.regclass::pg_catalog.text, {text[ctid_at:]}"
    row_desc = b""
    rows: list[bytes] = []
    for node in table.groups:
        conn = await runner.txn.connection(node, wants_block=True)
        result = (await conn.simple_query(text))[-1]
        columns = result.columns
        rel_at = len(columns) - 2  # the shard's name, then its ctid: always last (see _ctid_location)
        extra_at = rel_at - pinned
        row_desc = codec.build_row_description(columns[:extra_at] + columns[rel_at + 1:])
        for row in result.rows:
            value = row[extra_at] if pinned else None
            runner.row_ids.append(RowAddress(node, row[rel_at] or "", row[rel_at + 1] or "", value=value))
            values = [*row[:extra_at], f"({len(runner.row_ids)},1)"]
            rows.append(codec.build_data_row([None if v is None else v.encode() for v in values]))
    return row_desc, rows


async def _select_replicated(runner: LoopbackRunner, text: str, ctid_at: int,
                             table: DistTable) -> tuple[bytes, list[bytes]]:
    """The FOR UPDATE query on the table's first node (every node holds every row; the
    writes that follow lock the others), each row's primary key read with it."""
    conn = await runner.txn.connection(table.groups[0], wants_block=True)
    relation = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    keys = [row[0] or "" for row in (await conn.simple_query(
        "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
        f"AND a.attnum = ANY (i.indkey) WHERE i.indrelid = {quote_literal(relation)}::pg_catalog.regclass "
        "AND i.indisprimary ORDER BY pg_catalog.array_position(i.indkey::pg_catalog.int2[], a.attnum)"))[-1].rows]
    if not keys:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "gridpg cannot run this UPDATE or DELETE of server-side code on a replicated "
                      "table without a primary key row by row (by ctid): each node holds the row "
                      "under another ctid", hint=_REFUSAL_HINT)
    read_keys = "".join(f"{quote_ident(k)}::pg_catalog.text, " for k in keys)
    result = (await conn.simple_query(f"{text[:ctid_at]}{read_keys}{text[ctid_at:]}"))[-1]
    key_at = len(result.columns) - 1 - len(keys)
    rows: list[bytes] = []
    for row in result.rows:
        key = " AND ".join(f"{quote_ident(k)} = {quote_literal(v or '')}" for k, v in zip(keys, row[key_at:-1]))
        runner.row_ids.append(RowAddress("", relation, "", key))
        values = [*row[:key_at], f"({len(runner.row_ids)},1)"]
        rows.append(codec.build_data_row([None if v is None else v.encode() for v in values]))
    return codec.build_row_description(result.columns[:key_at] + result.columns[-1:]), rows


async def modify(runner: LoopbackRunner, kind: str, stmt: dict[str, Any], request: ExecRequest) -> None:
    """UPDATE/DELETE ... WHERE ctid = $1 for one row number: on the row's node and shard,
    or, for a replicated table, by its key as any statement of the code (triggers too)."""
    table = _table(runner, [stmt.get("relation") and {"RangeVar": stmt["relation"]}], kind)
    address = _address(runner, stmt, request)
    if not address.node:
        await runner.dispatcher.run(dataclasses.replace(
            request, sql=_by_key(stmt, request, address.key), params=[], param_formats=[], param_oids=[],
            decode_oids=[]))
        return
    if kind == "UpdateStmt" and table.column and any(
            t.get("ResTarget", {}).get("name") == table.column for t in stmt.get("targetList", [])):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot update the distribution column of "
                      f"{table.schema}.{table.name} row by row from server-side code", hint=_REFUSAL_HINT)
    # The statement's triggers and defaults are checked as any statement's would be.
    from gridpg.executor.run import search_path

    verdict = await runner.coord.routine_guard.check(runner.dispatcher, request.sql,
                                                     list(search_path(runner.dispatcher)))
    if verdict is not None and not isinstance(verdict, str):  # triggers the coordinator fires
        if address.value is None:
            raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot fire the triggers of {table.schema}."
                          f"{table.name} for a row changed by server-side code row by row", hint=_REFUSAL_HINT)
        # a statement of the code like any other, pinned to the row's node by its
        # distribution value and to the row by its ctid within that value's shard
        pin = f"ctid = {quote_literal(address.ctid)} AND {quote_ident(table.column or '')} = " \
              f"{quote_literal(address.value)}"
        await runner.dispatcher.run(dataclasses.replace(
            request, sql=_by_key(stmt, request, pin), params=[], param_formats=[], param_oids=[],
            decode_oids=[]))
        return
    param = stmt["whereClause"]["A_Expr"]["rexpr"]["ParamRef"].get("number", 1)
    params = list(request.params)
    params[param - 1] = address.ctid.encode()
    # The table comes before any parameter: retarget the text the tree's locations are of.
    text = inline_params(_retarget(request.sql, stmt["relation"]["location"], address.relation), params)
    conn = await runner.txn.connection(address.node, wants_block=True)
    runner.caller.txn.mark_written(address.node)
    result = (await conn.simple_query(text))[-1]
    if request.simple and result.columns:
        runner.session.send(codec.build_row_description(result.columns))
    for row in result.rows:
        runner.session.send(codec.build_data_row([None if v is None else v.encode() for v in row]))
    runner.session.send(codec.build_command_complete(result.tag))


def _address(runner: LoopbackRunner, stmt: dict[str, Any], request: ExecRequest) -> RowAddress:
    """The row behind the row number postgres_fdw binds for `ctid = $n`."""
    param = stmt["whereClause"]["A_Expr"]["rexpr"]["ParamRef"].get("number", 1)
    value = request.params[param - 1] if len(request.params) >= param else None
    match = _ROW_ID.match(value.decode() if value else "")
    if match is None or not 0 < int(match.group(1)) <= len(runner.row_ids):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot find the row postgres_fdw names by ctid")
    return runner.row_ids[int(match.group(1)) - 1]


def _by_key(stmt: dict[str, Any], request: ExecRequest, key: str) -> str:
    """The statement with `ctid = $n` replaced by the row's key and its other parameters
    written in: a statement of the code like any other, which the coordinator runs on
    every node of the replicated table and whose triggers it fires."""
    where = stmt["whereClause"]["A_Expr"]
    start = int(where["lexpr"]["ColumnRef"]["location"])
    param_at = int(where["rexpr"]["ParamRef"]["location"])
    sql = request.sql  # (the tree's locations count characters: sql/parse.parse_tree)
    param = re.compile(r"\$\d+").match(sql, param_at)
    if param is None:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot find the row postgres_fdw names by ctid")
    sql = f"{sql[:start]}({key}){sql[param.end():]}"
    return inline_params(sql, list(request.params))


def inline_params(sql: str, params: list[bytes | None]) -> str:
    """`$n` replaced by the text value as a literal (untyped, as an unspecified parameter
    is), found by PostgreSQL's scanner (whose offsets count characters); NULL for NULL."""
    out, last = [], 0
    for start, end, index in sqlparse.param_spans(sql):
        value = params[index] if index < len(params) else None
        out.append(sql[last:start])
        out.append("NULL" if value is None else quote_literal(value.decode()))
        last = end
    out.append(sql[last:])
    return "".join(out)


def _table(runner: LoopbackRunner, from_clause: list[Any], kind: str) -> DistTable:
    refs = [f.get("RangeVar") for f in from_clause if isinstance(f, dict)]
    if len(refs) != 1 or not isinstance(refs[0], dict):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run this statement of server-side code "
                      "row by row (by ctid)", hint=_REFUSAL_HINT)
    ref = analyze.RelRef(refs[0].get("schemaname"), refs[0].get("relname", ""), -1, None)
    planner = runner.coord.planner
    table = planner.resolve(runner.snapshot(), ref, []) if planner is not None else None
    if table is None:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run this statement of server-side code "
                      "row by row (by ctid)", hint=_REFUSAL_HINT)
    return table


# a table whose rows a distribution value pins to one node and one shard
_PINNED_METHODS = ("hash", "modulo")


def _qualifier(stmt: dict[str, Any]) -> str:
    """`alias.` of the query's only table (postgres_fdw writes `r1.ctid`), else empty."""
    targets = stmt.get("targetList", [])
    fields = (targets[-1].get("ResTarget", {}).get("val", {}).get("ColumnRef", {}).get("fields", [])
              if targets else [])
    if len(fields) == 2:
        return f"{quote_ident(fields[0].get('String', {}).get('sval', ''))}."
    return ""


def _ctid_location(stmt: dict[str, Any]) -> int:
    """Where the last target, `ctid`, starts (postgres_fdw puts it last: see
    deparseSelectSql / the row mark's junk column)."""
    targets = stmt.get("targetList", [])
    last = targets[-1].get("ResTarget", {}) if targets else {}
    fields = last.get("val", {}).get("ColumnRef", {}).get("fields", [])
    if not fields or fields[-1].get("String", {}).get("sval") != "ctid":
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run this statement of server-side code "
                      "row by row (by ctid)", hint=_REFUSAL_HINT)
    return int(last["location"])


def _retarget(sql: str, location: int, relation: str) -> str:
    """The statement with its table name (at `location`, maybe schema-qualified) replaced by
    the shard's."""
    toks = [t for t in sqlparse.tokens(sql) if t.start >= location]
    end = toks[0].end
    if len(toks) >= 3 and toks[1].name == "ASCII_46":
        end = toks[2].end
    return sql[:location] + relation + sql[end + 1:]
