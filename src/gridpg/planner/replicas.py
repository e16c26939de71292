"""Writes to REPLICATION tables must leave every replica equal. Pure.

A write to a reference table placed on several groups runs as the same statement on each
of them (pushdown, router, broadcast of what it reads, staged MERGE): whatever each node
computes for itself must come out equal everywhere, or the replicas differ and a later
read answers by whichever node serves it, silently. What a node may compute differently:

* a volatile function (`random()`, `clock_timestamp()`, `gen_random_uuid()`, ...): each
  node calls it once per row;
* a sub-select with LIMIT/OFFSET and no ORDER BY (or ordered by a volatile call): each
  node keeps the rows its own scan meets first (not so for the query of an EXISTS, which
  only counts them);
* an aggregate whose result depends on the input order (`string_agg`, `array_agg`,
  `json_agg`, ...) without an ORDER BY of its own.

`now()` and the other transaction-time calls are pinned to one instant by the coordinator
(sql/xact_time.py) and sequence calls come from the GTM (executor/update_nextval.py), so
neither counts here. A user's function counts when it is VOLATILE (the default of CREATE
FUNCTION): its name is in the catalog snapshot's `volatile_functions`. Such a write is
refused with 0A000 rather than run.
"""

from __future__ import annotations

import re
from typing import Any

from gridpg.catalog.model import DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.sql.xact_time import mentions_time

# PostgreSQL's built-in volatile functions whose value differs between two servers
# evaluating the same row (pg_proc.provolatile = 'v', minus those pinned or from the GTM).
VOLATILE_BUILTINS = frozenset({
    "random", "random_normal", "setseed", "gen_random_uuid", "uuidv4", "uuidv7",
    "clock_timestamp", "timeofday", "pg_backend_pid", "txid_current", "txid_current_if_assigned",
    "pg_current_xact_id", "pg_current_xact_id_if_assigned", "inet_server_addr",
    "inet_server_port", "pg_postmaster_start_time", "pg_current_wal_lsn", "pg_current_wal_insert_lsn",
})

# Aggregates whose value depends on the order their input arrives in.
ORDER_SENSITIVE_AGGREGATES = frozenset({
    "string_agg", "array_agg", "json_agg", "jsonb_agg", "json_agg_strict", "jsonb_agg_strict",
    "json_object_agg", "jsonb_object_agg", "json_object_agg_strict", "jsonb_object_agg_strict",
    "json_object_agg_unique", "jsonb_object_agg_unique", "json_object_agg_unique_strict",
    "jsonb_object_agg_unique_strict", "xmlagg",
})


def ensure_same_on_every_replica(body: Any, target: DistTable, what: str,
                                 user_volatile: frozenset[str] = frozenset()) -> None:
    """Refuse (0A000) a write that each replica of `target` would compute on its own when
    the replicas could come out different (see the module docstring). `user_volatile`:
    the VOLATILE functions outside pg_catalog, by name (CatalogSnapshot.volatile_functions)."""
    if target.method != "replication" or len(target.groups) < 2:
        return
    reason = replica_divergence(body, user_volatile)
    if reason is not None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'{what} of REPLICATION table "{target.name}" with {reason} is not supported by '
                      "gridpg: each node would compute its own value and the replicas would differ",
                      hint="Compute the value first (a literal or a parameter), or give the "
                           "sub-select an ORDER BY that fixes its rows; a function of yours that "
                           "gives the same value for the same arguments can be declared IMMUTABLE "
                           "or STABLE.")


_CALLED = re.compile(r'([a-z_][a-z0-9_$]*|"(?:[^"]|"")+")\s*\(')


def diverging_default(default: str | None, user_volatile: frozenset[str] = frozenset()) -> bool:
    """Whether a column default (its text from pg_get_expr) calls a function that each
    replica would evaluate to its own value: a volatile built-in, or one of the user's
    VOLATILE functions (`user_volatile`, by name)."""
    if not default:
        return False
    names = {m.group(1).strip('"').replace('""', '"').lower() for m in _CALLED.finditer(default.lower())}
    return not names.isdisjoint(VOLATILE_BUILTINS) or not names.isdisjoint(user_volatile)


def ensure_no_diverging_defaults(target: DistTable, columns: Any, given: Any, what: str,
                                 user_volatile: frozenset[str] = frozenset(), times: bool = False) -> None:
    """Refuse (0A000) a write that leaves a column of a REPLICATION table on several groups
    to a default such as gen_random_uuid() that each node would evaluate for itself;
    `times`: also one reading the transaction's time (now(): a write whose text the
    coordinator does not pin, a COPY, takes each node's own transaction start)."""
    if target.method != "replication" or len(target.groups) < 2:
        return
    for column in columns:
        if column.name not in given and not column.sequence and (
                diverging_default(column.default, user_volatile)
                or (times and column.default and mentions_time(column.default))):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'{what} into REPLICATION table "{target.name}" leaving column "{column.name}" '
                          f"to its default ({column.default}) is not supported by gridpg: each node would "
                          "compute its own value and the replicas would differ",
                          hint="Give the column's value in the statement (INSERT ... VALUES evaluates "
                               "it once).")


def replica_divergence(body: Any, user_volatile: frozenset[str] = frozenset()) -> str | None:
    """What in `body` two nodes may compute differently, or None."""
    counted = _exists_queries(body)
    for node in analyze._walk(body):
        if not isinstance(node, dict):
            continue
        if "FuncCall" in node:
            call = node["FuncCall"]
            schema, called = _function_name(call)
            # unqualified: the search path may find pg_catalog's or the user's, so both count
            name = called if schema in (None, "pg_catalog") else None
            if name in VOLATILE_BUILTINS:
                return f"the volatile function {name}()"
            if schema != "pg_catalog" and called in user_volatile:
                return f"the VOLATILE function {called}()"
            if name in ORDER_SENSITIVE_AGGREGATES and not call.get("agg_order") and "over" not in call:
                return f"{name}() without an ORDER BY of its own"
        elif "SelectStmt" in node:
            select = node["SelectStmt"]
            if (select.get("limitCount") or select.get("limitOffset")) and not select.get("sortClause") \
                    and id(select) not in counted:
                return "LIMIT/OFFSET in a sub-select without ORDER BY"
    return None


def _exists_queries(body: Any) -> set[int]:
    """The ids of the SELECTs that are an EXISTS (...) whole (Django's `Exists()` adds
    LIMIT 1): EXISTS depends on how many rows they have, which LIMIT and OFFSET cut
    alike whichever rows a node meets first. Their own sub-selects are not among them."""
    found = set()
    for node in analyze._walk(body):
        if isinstance(node, dict) and "SubLink" in node and node["SubLink"].get("subLinkType") == "EXISTS_SUBLINK":
            subselect = node["SubLink"].get("subselect") or {}
            if "SelectStmt" in subselect:
                found.add(id(subselect["SelectStmt"]))
    return found


def _function_name(call: dict[str, Any]) -> tuple[str | None, str | None]:
    """(schema, name) of a called function, lowercased; schema None when unqualified."""
    names = [n["String"]["sval"].lower() for n in call.get("funcname", []) if "String" in n]
    if not names:
        return None, None
    return (names[0] if len(names) > 1 else None), names[-1]


def diverging_column_fill(body: dict[str, Any], user_volatile: frozenset[str] = frozenset()) -> str | None:
    """The column an ALTER TABLE (its parse tree body) fills, in the rows the table has,
    with a value each replica would compute for itself: ADD COLUMN ... DEFAULT random(),
    ALTER COLUMN ... TYPE ... USING clock_timestamp(); else None."""
    for item in body.get("cmds") or []:
        cmd = item.get("AlterTableCmd") or {}
        column = (cmd.get("def") or {}).get("ColumnDef") or {}
        if cmd.get("subtype") == "AT_AddColumn":
            filled = [(c.get("Constraint") or {}).get("raw_expr") for c in column.get("constraints") or []
                      if (c.get("Constraint") or {}).get("contype") == "CONSTR_DEFAULT"]
        elif cmd.get("subtype") == "AT_AlterColumnType":
            filled = [column.get("raw_default")]
        else:
            continue
        if any(node and replica_divergence(node, user_volatile) for node in filled):
            return str(column.get("colname") or cmd.get("name") or "?")
    return None
