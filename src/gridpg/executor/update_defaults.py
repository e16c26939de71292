"""`UPDATE t SET col = DEFAULT` (also in ON CONFLICT DO UPDATE and MERGE's UPDATE) of a
column whose default reads the transaction time, given the transaction's instant before
planning.

`SET updated_at = DEFAULT` (`DEFAULT now()`) was evaluated by each datanode with its own
transaction start: in a block, the rows of one statement got one instant per node, none
of them the block's `now()` (`count(DISTINCT updated_at)` 2, `updated_at = now()` false,
where PostgreSQL gives 1 and true). As for INSERT (`dml._pin_time_defaults`), the item is
written as the default's expression with its time calls pinned (sql/xact_time.py), in
the row form `SET (a, b) = (1, DEFAULT)` too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.planner.text import splice
from gridpg.sql import xact_time
from gridpg.sql.parse import parse_tree

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

_KEYWORD = "default"


async def pin_update_time_defaults(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with its `col = DEFAULT` items of time defaults pinned (unchanged otherwise)."""
    try:
        tree = parse_tree(sql)
    except PgError:
        return sql  # reported where it is planned
    kind = next(iter(tree), "")
    body = tree.get(kind)
    if kind not in _PARTS or not isinstance(body, dict):
        return sql
    items = _default_items(body.get(_PARTS[kind]))
    if not items:
        return sql
    from gridpg.executor.exchange import _resolved_refs

    target = _resolved_refs(dispatcher, sql).get((body.get("relation") or {}).get("location", -1))
    if target is None:
        # not distributed: the catalog server's own transaction time, unless the session's
        # temp table is written where the statement's instant is not that (h-left25)
        from gridpg.executor import temp_defaults

        if not dispatcher.runner.temps.pinned or not temp_defaults.should_pin(dispatcher, sql):
            return sql
        timed = dict(await temp_defaults.timed_defaults(dispatcher, body.get("relation") or {}))
    else:
        columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
        timed = {c.name: c.default for c in columns if c.has_time_default}
    items = [(name, location) for name, location in items if name in timed]
    if not items:
        return sql
    await dispatcher.runner.txn.read_block_instant(dispatcher.coord.catalog_node)
    pins = dispatcher.runner.txn.time_pins()
    replacements = []
    for name, location in items:
        expression = xact_time.pin_expression(timed[name] or "", pins)
        if expression and sql[location:location + len(_KEYWORD)].lower() == _KEYWORD:
            replacements.append((location, location + len(_KEYWORD), f"({expression})"))
    return splice(sql, replacements) if replacements else sql


# Where a statement's SET items are: UPDATE's list, INSERT's ON CONFLICT DO UPDATE, the
# UPDATE actions of MERGE.
_PARTS = {"UpdateStmt": "targetList", "InsertStmt": "onConflictClause", "MergeStmt": "mergeWhenClauses"}


def _default_items(part: Any) -> list[tuple[str, int]]:
    """(column, location of DEFAULT) of the SET items written `col = DEFAULT` or
    `(a, col) = (..., DEFAULT)` in this part of the statement."""
    out: list[tuple[str, int]] = []
    row: list[str | None] = []  # (a, b) = (x, DEFAULT): the row's source is on its last target
    for res in _res_targets(part):
        name = None if res.get("indirection") else res.get("name")
        val = res.get("val") or {}
        multi = val.get("MultiAssignRef")
        if isinstance(multi, dict):
            row.append(name)
            if "source" not in multi:
                continue
            args = ((multi.get("source") or {}).get("RowExpr") or {}).get("args") or []
            for column, arg in zip(row, args):
                default = arg.get("SetToDefault") if isinstance(arg, dict) else None
                if column and isinstance(default, dict) and "location" in default:
                    out.append((str(column), int(default["location"])))
            row = []
            continue
        default = val.get("SetToDefault")
        if name and isinstance(default, dict) and "location" in default:
            out.append((str(name), int(default["location"])))
    return out


def _res_targets(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [res for item in node for res in _res_targets(item)]
    if not isinstance(node, dict):
        return []
    if isinstance(node.get("ResTarget"), dict):
        return [node["ResTarget"]]
    return [res for value in node.values() for res in _res_targets(value)]
