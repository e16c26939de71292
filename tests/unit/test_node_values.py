"""planner.node_values: calls a datanode would answer for itself are refused in statements
over distributed tables (issue 12, no silent wrong answer)."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner.node_values import ensure_none
from gridpg.sql.parse import node_type, parse_tree


def _check(sql: str) -> None:
    tree = parse_tree(sql)
    ensure_none(tree, node_type(tree))


@pytest.mark.parametrize("sql", [
    "SELECT txid_current(), count(*) FROM t",
    "SELECT id FROM t WHERE xid = pg_catalog.pg_current_xact_id()",
    "UPDATE t SET v = pg_postmaster_start_time()::text",
    "INSERT INTO t SELECT id, txid_current() FROM u",
    "INSERT INTO t VALUES (1) RETURNING pg_current_snapshot()",
    "INSERT INTO t VALUES (txid_current())",  # evaluated in a transaction of its own
    "SELECT current_setting('data_directory') FROM t",
    "SELECT current_setting($1) FROM t",
    "DELETE FROM t WHERE id IN (SELECT pg_my_temp_schema()::int)",
])
def test_refused(sql: str) -> None:
    with pytest.raises(PgError) as info:
        _check(sql)
    assert info.value.sqlstate == "0A000"


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM t",
    "SELECT current_setting('work_mem') FROM t",      # settings reach the datanodes
    "SELECT s.txid_current() FROM t",                 # the user's own function
    "INSERT INTO t VALUES (1) RETURNING xmin = pg_current_xact_id()::xid",  # the row's own node
])
def test_allowed(sql: str) -> None:
    _check(sql)
