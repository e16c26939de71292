"""The datanodes' text of CREATE / ALTER PUBLICATION (planner/utility.py) and the start of
the statement an EXPLAIN explains (planner/prepared.py): pure, no servers."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner.prepared import explained_start, is_session_statement
from gridpg.planner.utility import _publications_per_group
from gridpg.sql import parse as sqlparse


def test_create_publication_publishes_through_the_root_on_the_datanodes() -> None:
    out = _publications_per_group("CREATE PUBLICATION p FOR TABLE t WHERE (a > 1) WITH (publish = 'insert')",
                                  "CreatePublicationStmt", ["dn1", "dn2"])
    assert out is not None and set(out) == {"dn1", "dn2"}
    assert "WHERE (a > 1)" in out["dn1"]
    assert "publish = 'insert', publish_via_partition_root = TRUE" in out["dn1"]


def test_the_clients_publish_via_partition_root_stays_on_the_catalog_servers() -> None:
    out = _publications_per_group("ALTER PUBLICATION p SET (publish_via_partition_root = 0)",
                                  "AlterPublicationStmt", ["dn1"])
    assert out == {"dn1": "ALTER PUBLICATION p SET (publish_via_partition_root = TRUE)"}


def test_table_changes_and_other_statements_go_as_written() -> None:
    assert _publications_per_group("ALTER PUBLICATION p SET TABLE t (a, b)", "AlterPublicationStmt", ["dn1"]) is None
    assert _publications_per_group("CREATE TABLE t (a int)", "CreateStmt", ["dn1"]) is None


@pytest.mark.parametrize("sql", [
    "EXPLAIN CREATE TABLE x AS EXECUTE p(1)",
    "explain (costs off, analyze) create table x as execute p",
    "EXPLAIN ANALYZE VERBOSE CREATE TABLE x AS EXECUTE p(1, 'a')",
])
def test_explain_of_create_table_as_execute_is_a_session_statement(sql: str) -> None:
    tree = sqlparse.parse_tree(sql)
    assert is_session_statement(tree, "ExplainStmt")
    assert sql[explained_start(sql):].lower().startswith("create table x as execute")


def test_explain_of_create_table_as_select_is_not() -> None:
    sql = "EXPLAIN CREATE TABLE x AS SELECT 1"
    assert not is_session_statement(sqlparse.parse_tree(sql), "ExplainStmt")
    with pytest.raises(PgError):
        explained_start("EXPLAIN")
