"""`UPDATE t SET col = DEFAULT` of a column whose default reads the transaction time,
given the transaction's instant before planning.

`SET updated_at = DEFAULT` (`DEFAULT now()`) was evaluated by each datanode with its own
transaction start: in a block, the rows of one statement got one instant per node, none
of them the block's `now()` (`count(DISTINCT updated_at)` 2, `updated_at = now()` false,
where PostgreSQL gives 1 and true). As for INSERT (`dml._pin_time_defaults`), the item is
written as the default's expression with its time calls pinned (sql/xact_time.py). The
row form `SET (a, b) = (1, DEFAULT)` is left as it was (each node's own start).
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
    body = tree.get("UpdateStmt")
    if not isinstance(body, dict):
        return sql
    items = _default_items(body)
    if not items:
        return sql
    from gridpg.executor.exchange import _resolved_refs

    target = _resolved_refs(dispatcher, sql).get((body.get("relation") or {}).get("location", -1))
    if target is None:
        return sql  # not distributed: the catalog server's own transaction time
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    timed = {c.name: c.default for c in columns if c.default and not c.sequence and xact_time.mentions_time(c.default)}
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


def _default_items(body: dict[str, Any]) -> list[tuple[str, int]]:
    """(column, location of DEFAULT) of the SET items written `col = DEFAULT`."""
    out = []
    for item in body.get("targetList") or []:
        res = item.get("ResTarget") if isinstance(item, dict) else None
        if not isinstance(res, dict) or res.get("indirection"):
            continue
        default = (res.get("val") or {}).get("SetToDefault")
        if isinstance(default, dict) and "location" in default and res.get("name"):
            out.append((str(res["name"]), int(default["location"])))
    return out
