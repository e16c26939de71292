"""A reload after DDL reads what changed (h-ddl23): a node's relations grouped and read
again only where changed (catalog/relation_oids.NodeRelations), the snapshot's shards
decoded again only for the tables whose shards changed (catalog/store.ShardPieces); each
must give exactly what a full read gives."""

from __future__ import annotations

from gridpg.catalog import relation_oids, store
from gridpg.catalog.relation_oids import (
    NodeRelations,
    build_column_map,
    build_grouped_column_map,
    catalog_columns,
)

CATALOG = [("20000", "app", "acct", None, None, '["id", null, "name"]'),
           ("20010", "app", "tag", None, None, '["id", "label"]')]
NODE = [("30000", "app", "acct", None, None, '["id", "name"]'),
        ("30001", "gridpg_shards", "acct_1", "app", "acct", '["id", "name"]'),
        ("30002", "gridpg_shards", "acct_2", "app", "acct", '["id", "name"]'),
        ("30003", "gridpg_shards", "acct_3", "app", "acct", '["id", null, "name"]'),
        ("30020", "app", "tag", None, None, '["id", "label"]'),
        ("30030", "gridpg_shards", "gp_scratch_1", None, None, '["x"]')]
GROUPS = [("{30000,30001,30002}", "app", "acct", '["id", "name"]'),
          ("{30003}", "app", "acct", '["id", null, "name"]'),
          ("{30020}", "app", "tag", '["id", "label"]'),
          ("{30030}", "gridpg_shards", "gp_scratch_1", '["x"]')]
ADDRESS = ("127.0.0.1", "5432")


def test_grouped_rows_give_the_map_of_the_rows_one_by_one() -> None:
    expected = build_column_map(CATALOG, NODE)
    assert expected[30003] == (20000, None) and expected[30001] == (20000, {1: 1, 2: 3})
    assert build_grouped_column_map(catalog_columns(CATALOG), GROUPS) == expected


def test_a_node_read_again_where_changed_keeps_the_rest_and_forgets_the_dropped() -> None:
    known = NodeRelations()
    assert known.is_full_read_due() and "age(" not in known.read_sql(True)
    assert known.apply(True, ADDRESS, ("sys/1", "700", "{30000,30001,30002,30003,30020,30030}"), GROUPS)
    assert known.column_map(catalog_columns(CATALOG)) == build_column_map(CATALOG, NODE)
    assert not known.is_full_read_due()
    assert "pg_catalog.age('700'::pg_catalog.xid)" in known.read_sql(False)
    # tag renamed to label2's table, shard 30002 dropped, a new relation 30040
    changed = [("{30020}", "app", "tag2", '["id", "label"]'), ("{30040}", "app", "tag", '["id", "label"]')]
    assert known.apply(False, ADDRESS, ("sys/1", "705", "{30000,30001,30003,30020,30030,30040}"), changed)
    assert known.horizon == 705 and 30002 not in known.relations
    node = [r for r in NODE if r[0] not in ("30002", "30020")]
    node += [("30020", "app", "tag2", None, None, '["id", "label"]'), ("30040", "app", "tag", None, None, '["id", "label"]')]
    assert known.column_map(catalog_columns(CATALOG)) == build_column_map(CATALOG, node)


def test_a_partial_read_of_another_server_or_an_older_snapshot_is_refused() -> None:
    known = NodeRelations()
    known.apply(True, ADDRESS, ("sys/1", "700", "{30000}"), GROUPS[:1])
    before = dict(known.relations)
    assert not known.apply(False, ADDRESS, ("sys/2", "710", "{}"), [])  # restarted or replaced
    assert not known.apply(False, ("127.0.0.1", "5433"), ("sys/1", "710", "{}"), [])  # failover
    assert not known.apply(False, ADDRESS, ("sys/1", "690", "{}"), [])  # went back
    assert known.relations == before and known.horizon == 700
    assert known.apply(False, ADDRESS, ("sys/1", str(700 + 2**31 - 1), "{30000}"), [])  # wrapped forward
    assert known.apply(True, ADDRESS, ("sys/2", "5", "{}"), [])  # a full read takes anything
    assert known.relations == {}


def test_a_full_read_comes_now_and_then() -> None:
    known = NodeRelations()
    for i in range(relation_oids.FULL_READ_EVERY):
        assert known.is_full_read_due() == (i == 0)
        known.apply(i == 0, ADDRESS, ("sys/1", str(700 + i), "{}"), [])
    assert known.is_full_read_due()


def test_shards_of_unchanged_tables_are_reused_and_equal_a_fresh_decode() -> None:
    doc = {"nodes": [], "datanode_groups": [], "node_groups": [], "colocations": [], "tables": [],
           "shards": [["s", "a", [[0, "g1", None], [1, "g2", 100]]], ["s", "b", [[0, "g2", None]]]]}
    pieces = store.ShardPieces()
    first = store.build_snapshot(1, doc, pieces)
    assert [(s.table, s.remainder, s.group, s.size_bytes) for s in first.shards] == [
        ("a", 0, "g1", None), ("a", 1, "g2", 100), ("b", 0, "g2", None)]
    doc["shards"] = [["s", "a", [[0, "g1", None], [1, "g2", 100]]], ["s", "b", [[0, "g1", None]]]]
    second = store.build_snapshot(2, doc, pieces)
    assert second.shards[0] is first.shards[0]  # table a unchanged: the same values
    assert second == store.build_snapshot(2, doc) and second.shard_group("s", "b", 0) == "g1"
    doc["shards"] = doc["shards"][:1]
    assert store.build_snapshot(3, doc, pieces).shards_of("s", "b") == []
    assert set(pieces.by_table) == {("s", "a")}
