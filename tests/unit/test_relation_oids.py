"""A datanode's relation OIDs and column numbers in RowDescriptions -> the catalog server's
(catalog/relation_oids.py, pgwire.codec.map_row_description)."""

from __future__ import annotations

from gridpg.catalog.relation_oids import build_column_map
from gridpg.pgwire import codec

CATALOG = [("20000", "app", "acct", None, None, '["id", null, "name"]'),
           ("20010", "app", "tag", None, None, '["id", "label"]')]
NODE = [("30000", "app", "acct", None, None, '["id", "name"]'),  # rebuilt: no dropped column
        ("30001", "gridpg_shards", "acct_1", "app", "acct", '["id", "name"]'),
        ("30020", "app", "tag", None, None, '["id", "label"]'),
        ("30030", "gridpg_shards", "gp_scratch_1", None, None, '["x"]')]


def test_shards_and_copies_are_named_by_the_catalogs_relation() -> None:
    mapped = build_column_map(CATALOG, NODE)
    assert mapped == {30000: (20000, {1: 1, 2: 3}), 30001: (20000, {1: 1, 2: 3}), 30020: (20010, None)}


def test_row_description_columns_are_mapped_and_unknown_relations_cleared() -> None:
    columns = [codec.Column("name", 30001, 2, 25), codec.Column("label", 30020, 2, 25),
               codec.Column("x", 30030, 1, 23), codec.Column("n", 0, 0, 20000), codec.Column("c", 1259, 2, 19)]
    message = codec.map_row_description(codec.build_row_description(columns), {20000: 16500},
                                        build_column_map(CATALOG, NODE))
    got = [(c.table_oid, c.attnum, c.type_oid) for c in codec.parse_row_description(message[5:])]
    assert got == [(20000, 3, 25), (20010, 2, 25), (0, 0, 23), (0, 0, 16500), (1259, 2, 19)]
