"""planner/explain_options: EXPLAIN's option list refused as PostgreSQL refuses it (22023),
for the EXPLAINs gridpg answers itself (Citus's pg13.sql:93, h-citus14: `EXPLAIN (WAL)
INSERT ...` printed a plan)."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner import explain_options
from gridpg.sql import parse as sqlparse


def _options(sql: str) -> list:
    return sqlparse.parse_tree(sql)["ExplainStmt"].get("options")


@pytest.mark.parametrize("sql, message", [
    ("EXPLAIN (WAL) SELECT 1", "EXPLAIN option WAL requires ANALYZE"),
    ("EXPLAIN (ANALYZE off, WAL true) SELECT 1", "EXPLAIN option WAL requires ANALYZE"),
    ("EXPLAIN (TIMING) SELECT 1", "EXPLAIN option TIMING requires ANALYZE"),
    ("EXPLAIN (SERIALIZE) SELECT 1", "EXPLAIN option SERIALIZE requires ANALYZE"),
    ("EXPLAIN (SERIALIZE binary, COSTS off) SELECT 1", "EXPLAIN option SERIALIZE requires ANALYZE"),
    ("EXPLAIN (ANALYZE, GENERIC_PLAN) SELECT 1", "EXPLAIN options ANALYZE and GENERIC_PLAN cannot be used together"),
])
def test_refused_as_postgresql_refuses(sql: str, message: str) -> None:
    with pytest.raises(PgError) as err:
        explain_options.ensure_valid(_options(sql))
    assert err.value.sqlstate == "22023" and str(err.value.message) == message


@pytest.mark.parametrize("sql", [
    "EXPLAIN SELECT 1", "EXPLAIN (ANALYZE, WAL) SELECT 1", "EXPLAIN (TIMING 0) SELECT 1",
    "EXPLAIN (ANALYZE 1, TIMING off, SERIALIZE text) SELECT 1", "EXPLAIN (SERIALIZE none) SELECT 1",
    "EXPLAIN (GENERIC_PLAN, COSTS OFF) SELECT 1", "EXPLAIN (COSTS OFF, NODES OFF) SELECT 1",
    "EXPLAIN (WAL maybe) SELECT 1",  # not a boolean: PostgreSQL's own error, not this module's
])
def test_accepted(sql: str) -> None:
    explain_options.ensure_valid(_options(sql))
