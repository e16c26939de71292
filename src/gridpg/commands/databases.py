"""DROP DATABASE of a database that does not exist: PostgreSQL's answer.

A cluster serves one database, so CREATE/DROP DATABASE are refused (planner/utility.py,
0A000). A DROP of a name no server has is no such use: PostgreSQL answers it with a NOTICE
("does not exist, skipping") under IF EXISTS and 3D000 without, and scripts that begin
with `DROP DATABASE IF EXISTS x` (drop_if_exists.sql:303) met the refusal. Names the
catalog server knows keep the refusal; inside a transaction block PostgreSQL's 25001
comes first, for every name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator


def dropped_database(sql: str) -> tuple[str, bool] | None:
    """(name, IF EXISTS) of a DROP DATABASE statement, else None."""
    if sql[sqlparse.statement_start(sql):].lstrip()[:4].lower() != "drop" or "database" not in sql.lower():
        return None
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    body = tree.get("DropdbStmt")
    if not isinstance(body, dict) or not body.get("dbname"):
        return None
    return str(body["dbname"]), bool(body.get("missing_ok"))


async def is_known(coord: Coordinator, name: str) -> bool:
    """Whether the coordinator's catalog server has a database of that name."""
    rows = await coord.internal_query(coord.catalog_node, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database "
                                      f"WHERE datname = {quote_literal(name)})")
    return bool(rows) and rows[0][0] == "t"


def missing_answer(name: str, missing_ok: bool) -> str:
    """The NOTICE of a DROP DATABASE IF EXISTS of a missing database (raises 3D000 without)."""
    if not missing_ok:
        raise PgError("3D000", f'database "{name}" does not exist')
    return f'database "{name}" does not exist, skipping'
