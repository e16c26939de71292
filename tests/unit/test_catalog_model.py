"""The pure catalog model: placement, colocation choice, snapshot lookups, quoting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridpg.catalog import store
from gridpg.catalog.model import (
    CatalogError,
    CatalogSnapshot,
    Colocation,
    DatanodeGroup,
    DistTable,
    Node,
    Shard,
    build_datanode_groups,
    find_or_create_colocation,
    place_shards,
)


def hash_table(
    name: str, colocation_id: int | None, groups: tuple[str, ...] = ("g1", "g2")
) -> DistTable:
    return DistTable("public", name, "hash", "id", "integer", colocation_id, 4, groups)


def snapshot() -> CatalogSnapshot:
    nodes = (
        Node("c1", "coordinator", "127.0.0.1", 5432, None),
        Node("dn1", "datanode", "127.0.0.1", 7001, "g1"),
        Node("dn1s", "datanode", "127.0.0.1", 7002, "g1", "secondary"),
        Node("dn2", "datanode", "127.0.0.1", 7003, "g2"),
        Node("dn3s", "datanode", "127.0.0.1", 7004, "g3", "secondary"),
    )
    tables = (hash_table("a", 1), hash_table("b", 1), hash_table("c", 2, ("g3",)))
    shards = tuple(
        Shard("public", t.name, r, group)
        for t in tables
        for r, group in place_shards(4, t.groups).items()
    )
    return CatalogSnapshot(
        epoch=3,
        nodes=nodes,
        datanode_group_list=tuple(build_datanode_groups(["g1", "g2", "g3"], nodes)),
        colocations=(Colocation(1, 4, "integer"), Colocation(2, 4, "integer")),
        tables=tables,
        shards=tuple(reversed(shards)),
    )


def test_place_shards_round_robin() -> None:
    assert place_shards(5, ["g1", "g2"]) == {0: "g1", 1: "g2", 2: "g1", 3: "g2", 4: "g1"}
    assert place_shards(1, ["g1", "g2"]) == {0: "g1"}
    with pytest.raises(CatalogError):
        place_shards(0, ["g1"])
    with pytest.raises(CatalogError):
        place_shards(4, [])


@given(st.integers(1, 200), st.lists(st.text(min_size=1), min_size=1, max_size=8, unique=True))
def test_place_shards_is_balanced(count: int, groups: list[str]) -> None:
    placement = place_shards(count, groups)
    assert sorted(placement) == list(range(count))
    loads = [list(placement.values()).count(g) for g in groups]
    assert max(loads) - min(loads) <= 1


def test_find_or_create_colocation() -> None:
    existing = [Colocation(1, 32, "integer"), Colocation(4, 32, "text")]
    assert find_or_create_colocation(existing, 32, "text").colocation.id == 4
    assert not find_or_create_colocation(existing, 32, "text").is_new
    fresh = find_or_create_colocation(existing, 16, "text")
    assert fresh.is_new and fresh.colocation == Colocation(5, 16, "text")
    assert find_or_create_colocation([], 8, "uuid").colocation == Colocation(1, 8, "uuid")
    assert find_or_create_colocation([], 8, "uuid", taken_ids=[9]).colocation.id == 10


def test_snapshot_lookups() -> None:
    snap = snapshot()
    assert snap.table("public", "a") == hash_table("a", 1)
    assert snap.table("public", "zz") is None
    assert [s.remainder for s in snap.shards_of("public", "a")] == [0, 1, 2, 3]
    assert snap.shards_of("public", "zz") == []
    assert snap.shard_group("public", "a", 1) == "g2"
    assert snap.shard_group("public", "c", 1) == "g3"
    with pytest.raises(CatalogError) as info:
        snap.shard_group("public", "a", 9)
    assert info.value.sqlstate == "42704"
    assert snap.primary_of("g1").name == "dn1"
    with pytest.raises(CatalogError, match="has no primary"):
        snap.primary_of("g3")
    with pytest.raises(CatalogError, match="does not exist"):
        snap.primary_of("nope")


def test_datanode_groups_are_built_from_nodes() -> None:
    assert snapshot().datanode_groups() == [
        DatanodeGroup("g1", "dn1", ("dn1s",)),
        DatanodeGroup("g2", "dn2", ()),
        DatanodeGroup("g3", None, ("dn3s",)),
    ]


def test_colocated() -> None:
    snap = snapshot()
    a, b, c = (snap.table("public", n) for n in "abc")
    assert a and b and c
    assert snap.colocated(a, b) and snap.colocated(a, a)
    assert not snap.colocated(a, c)
    rr = DistTable("public", "rr", "roundrobin", None, None, None, None, ("g1", "g2"))
    rr2 = DistTable("public", "rr2", "roundrobin", None, None, None, None, ("g1", "g2"))
    assert not snap.colocated(rr, rr2) and snap.colocated(rr, rr)
    m1 = DistTable("public", "m1", "modulo", "k", "integer", None, None, ("g1", "g2"))
    m2 = DistTable("public", "m2", "modulo", "j", "integer", None, None, ("g1", "g2"))
    m3 = DistTable("public", "m3", "modulo", "j", "integer", None, None, ("g2", "g1"))
    assert snap.colocated(m1, m2) and not snap.colocated(m1, m3)
    r1 = DistTable("public", "r1", "replication", None, None, None, None, ("g1", "g2"))
    r2 = DistTable("public", "r2", "replication", None, None, None, None, ("g2", "g1"))
    assert snap.colocated(r1, r2) and not snap.colocated(r1, a)
    unassigned = hash_table("u", None)
    assert not snap.colocated(unassigned, hash_table("v", None))


def test_colocation_for_respects_groups() -> None:
    snap = snapshot()
    assert snap.colocation_for(4, "integer", ["g2", "g1"]).colocation.id == 1
    assert snap.colocation_for(4, "integer", ["g3"]).colocation.id == 2
    other = snap.colocation_for(4, "integer", ["g1"])
    assert other.is_new and other.colocation.id == 3
    assert snap.placement_of_colocation(1) == {0: "g1", 1: "g2", 2: "g1", 3: "g2"}
    assert snap.placement_of_colocation(99) is None


def test_snapshot_is_frozen_and_comparable() -> None:
    snap = snapshot()
    with pytest.raises(AttributeError):
        snap.epoch = 4  # type: ignore[misc]
    assert snap == snapshot()


WEIRD = ['a"b', "a'b", "semi;colon", "Mixed Case", "ünï", "back\\slash", "$$"]


@pytest.mark.parametrize("name", WEIRD)
def test_quote_ident(name: str) -> None:
    quoted = store.quote_ident(name)
    assert quoted.startswith('"') and quoted.endswith('"')
    assert quoted[1:-1].replace('""', '"') == name


def test_quote_literal() -> None:
    assert store.quote_literal("it's") == "'it''s'"
    assert store.quote_literal("a\\b") == "E'a\\\\b'"
    assert store.quote_literal(None) == "NULL"
    assert store.quote_literal(True) == "true"
    assert store.quote_literal(42) == "42"
    assert store.quote_text_array([]) == "'{}'::text[]"
    assert store.quote_text_array(["a", "b'c"]) == "ARRAY['a', 'b''c']::text[]"
    with pytest.raises(CatalogError):
        store.quote_literal("nul\x00")


def test_sql_builders_quote_everything() -> None:
    sql = store.sql_delete_dist_table("s'; DROP TABLE x; --", "t")
    assert "schema_name = 's''; DROP TABLE x; --'" in sql
    node = Node("n'1", "datanode", "h", 1, "g'1")
    assert "'g''1'" in store.sql_insert_node(node) and "'n''1'" in store.sql_insert_node(node)
    with pytest.raises(CatalogError):
        store.sql_update_node("n")
    with pytest.raises(CatalogError):
        store.sql_insert_shards([])
