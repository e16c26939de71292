"""Column defaults a write to a REPLICATION table would leave each replica to evaluate.

The planner sees the statement, not the table's column defaults, so this check runs at
execution, where the columns are read (planner/replicas.py has the rest of the rule):
`SET col = DEFAULT` (UPDATE, MERGE, INSERT ... ON CONFLICT DO UPDATE) of a column whose
default is `gen_random_uuid()` or `clock_timestamp()`, and a MERGE ... INSERT that leaves
such a column to its default, would store another value on every node; in a MERGE so would
a default reading the transaction's time (`now()`), which each node takes from its own
transaction's start. They are refused
with 0A000; INSERT ... VALUES evaluates such defaults once instead (executor/values.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, replicas
from gridpg.sql import xact_time
from gridpg.sql.parse import node_type, parse_tree

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher


async def ensure_replica_defaults(dispatcher: Dispatcher, sql: str) -> None:
    """Refuse (0A000) a write leaving a REPLICATION table's volatile default to each node."""
    lowered = sql.lower()
    if "default" not in lowered and "merge" not in lowered:
        return
    tree = parse_tree(sql)
    kind = node_type(tree)
    if kind not in ("UpdateStmt", "MergeStmt", "InsertStmt"):
        return
    body = tree[kind]
    from gridpg.executor.exchange import _resolved_refs

    target = _resolved_refs(dispatcher, sql).get((body.get("relation") or {}).get("location", -1))
    if target is None or target.method != "replication" or len(target.groups) < 2:
        return
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    user_volatile = dispatcher.runner.snapshot().volatile_functions
    # a MERGE's statement runs on every node as it is (merge-staged): a default reading the
    # transaction's time is each node's own start there too (INSERT and UPDATE pin it)
    timed = kind == "MergeStmt"
    diverging = {c.name: c.default for c in columns
                 if not c.sequence and (replicas.diverging_default(c.default, user_volatile)
                                        or (timed and xact_time.mentions_time(c.default or "")))}
    if not diverging:
        return
    name = _left_to_default(body, kind, diverging, [c.name for c in columns])
    if name is not None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'{kind[:-4].upper()} of REPLICATION table "{target.name}" leaving column "{name}" to its '
                      f"default ({diverging[name]}) is not supported by gridpg: each node would compute its "
                      "own value and the replicas would differ",
                      hint="Give the column a value (a literal or a parameter) instead of its default.")


def _left_to_default(body: dict[str, Any], kind: str, diverging: dict[str, Any], names: list[str]) -> str | None:
    parts: Any = body.get("onConflictClause") if kind == "InsertStmt" else body
    for node in analyze._walk(parts):
        if isinstance(node, dict) and isinstance(node.get("ResTarget"), dict):
            res = node["ResTarget"]
            if res.get("name") in diverging and "SetToDefault" in (res.get("val") or {}):
                return str(res["name"])
        if isinstance(node, dict) and isinstance(node.get("MergeWhenClause"), dict):
            clause = node["MergeWhenClause"]
            if clause.get("commandType") != "CMD_INSERT":
                continue
            given = [t["ResTarget"]["name"] for t in clause.get("targetList") or []] or names
            values = clause.get("values") or []
            for index, column in enumerate(given):
                if column in diverging and (index >= len(values) or "SetToDefault" in values[index]):
                    return column
            missing = [c for c in diverging if c not in given]
            if missing:
                return missing[0]
    return None
