"""planner/leafwise.py: the datanodes' shard-by-shard text of CLUSTER, ALTER TABLE ... CLUSTER
ON / SET WITHOUT CLUSTER and REINDEX of a HASH table. Pure, no servers; what the text does on
PostgreSQL is checked in tests/oracle/corpus/98_maintenance_stats_cluster.sql."""

from __future__ import annotations

from gridpg.planner import leafwise
from gridpg.planner.context import CatalogView, SessionView
from gridpg.sql.parse import parse_tree


def _alter(sql: str) -> str | None:
    return leafwise.alter_cluster_text(sql, parse_tree(sql)["AlterTableStmt"], "s", "t")


def test_an_alter_without_cluster_commands_keeps_its_text() -> None:
    assert _alter("ALTER TABLE t ADD COLUMN c int") is None


def test_cluster_on_marks_the_shard_indexes_of_the_named_index_in_the_tables_schema() -> None:
    text = _alter("ALTER TABLE t CLUSTER ON \"My Idx\"")
    assert text is not None and text.startswith("DO $gridpg_leaves$") and ";\n" not in text
    assert "pg_partition_tree(pg_catalog.to_regclass('s.\"My Idx\"'))" in text
    assert "format('ALTER TABLE %s CLUSTER ON %I', r.tab, r.idx)" in text


def test_other_commands_run_on_the_table_and_the_marks_follow_in_order() -> None:
    text = _alter("ALTER TABLE t CLUSTER ON i, ADD COLUMN c int, SET WITHOUT CLUSTER")
    assert text is not None
    parts = text.split(";\n")
    assert parts[0] == "ALTER TABLE t ADD COLUMN c integer"
    assert "CLUSTER ON %I" in parts[1] and "SET WITHOUT CLUSTER" in parts[2]
    assert "to_regclass('s.t')" in parts[2]


def test_cluster_uses_each_shards_part_of_the_index() -> None:
    text = leafwise.cluster_leaves("s", "t_b")
    assert "to_regclass('s.t_b')" in text and "format('CLUSTER %s USING %I', r.tab, r.idx)" in text
    assert "USING ERRCODE = 'XX000'" in text  # an index missing on a datanode is an error, not a skip


def test_reindex_keeps_the_statements_options_for_each_shard() -> None:
    table = leafwise.reindex_leaves("REINDEX (VERBOSE) TABLE s.t", "s", "t", index=False)
    assert "EXECUTE 'REINDEX (VERBOSE) TABLE ' || r.tab::text" in table
    index = leafwise.reindex_leaves("REINDEX INDEX i", "s", "i", index=True)
    assert "EXECUTE 'REINDEX INDEX ' || r.leaf::text" in index and "to_regclass('s.i')" in index


def test_the_planner_sends_cluster_marks_of_a_hash_table_to_its_shards() -> None:
    from gridpg.catalog.model import CatalogSnapshot, DistTable
    from gridpg.planner.plan import UtilityPlan
    from gridpg.planner.utility import plan_utility

    table = DistTable("public", "t", "hash", "a", "int4", 1, 4, ("dn1", "dn2"))
    replicated = DistTable("public", "r", "replication", None, None, None, None, ("dn1", "dn2"))
    catalog = CatalogView(CatalogSnapshot(epoch=1, tables=(table, replicated)))
    session = SessionView(search_path=("public",))
    sql = "ALTER TABLE t CLUSTER ON t_b"
    plan = plan_utility(sql, parse_tree(sql), "AlterTableStmt", None, catalog, session)
    assert isinstance(plan, UtilityPlan) and plan.group_sql is not None
    assert set(plan.group_sql) == {"dn1", "dn2"} and "CLUSTER ON %I" in plan.group_sql["dn1"]
    sql = "ALTER TABLE r CLUSTER ON r_pkey"  # a plain table on every node: the text as written
    plan = plan_utility(sql, parse_tree(sql), "AlterTableStmt", None, catalog, session)
    assert isinstance(plan, UtilityPlan) and plan.group_sql is None


def test_index_storage_options_go_to_the_shards_indexes() -> None:
    sql = "ALTER INDEX s.ix_w SET (fillfactor = 70)"
    text = leafwise.index_options_text(sql, parse_tree(sql)["AlterTableStmt"])
    assert text is not None and text.startswith("DO $gridpg_leaves$")
    assert "pg_partition_tree(pg_catalog.to_regclass('s.ix_w'))" in text
    assert "' SET (fillfactor = 70)'" in text and "EXECUTE 'ALTER INDEX s.ix_w SET (fillfactor = 70)'" in text
    for other in ("ALTER TABLE t SET (fillfactor = 70)", "ALTER INDEX ix RENAME TO ix2",
                  "ALTER INDEX ix ALTER COLUMN 1 SET STATISTICS 100"):
        tree = parse_tree(other)
        assert leafwise.index_options_text(other, tree.get("AlterTableStmt") or {}) is None, other
