"""The rules by which a key or foreign key holds under a table's placement (pure part of
commands/default_placement.py): each datanode checks them over its own rows only."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.catalog.store import build_snapshot
from gridpg.commands.default_placement import (
    altered_relation,
    foreign_key_holds,
    keys_hold,
    replicated,
)
from gridpg.sql.parse import parse_tree

GROUPS = ("dn1", "dn2")


def _hash(name: str, column: str, colocation: int = 1) -> DistTable:
    return DistTable("public", name, "hash", column, "int4", colocation, 4, GROUPS, by_default=True)


def _snapshot(*tables: DistTable):  # type: ignore[no-untyped-def]
    return build_snapshot(1, {
        "nodes": [], "datanode_groups": list(GROUPS), "node_groups": [],
        "colocations": [[1, 4, "int4"], [2, 4, "int4"]],
        "tables": [[t.schema, t.name, t.method, t.column, t.column_type, t.colocation_id, t.shard_count,
                    list(t.groups), t.by_default] for t in tables],
        "shards": [],
    })


def test_unique_keys_need_the_distribution_column() -> None:
    table = _hash("t", "id")
    assert keys_hold(table, [["id"], ["id", "code"]])
    assert not keys_hold(table, [["id"], ["app_label", "model"]])
    assert not keys_hold(table, [["id"], None])  # a unique index on an expression
    assert keys_hold(replicated(table), [["id"], ["code"], None])
    roundrobin = DistTable("public", "r", "roundrobin", None, None, None, None, GROUPS)
    assert keys_hold(roundrobin, []) and not keys_hold(roundrobin, [["id"]])


def test_foreign_keys_need_the_parent_on_the_childs_node() -> None:
    author, book = _hash("author", "id"), _hash("book", "id")
    chapter = _hash("chapter", "book_id")
    snapshot = _snapshot(author, book, chapter)
    to_author = (["author_id"], "public", "author", ["id"])
    assert not foreign_key_holds(snapshot, book, to_author)  # book's rows are placed by their own id
    assert foreign_key_holds(snapshot, chapter, (["book_id"], "public", "book", ["id"]))  # colocated
    assert not foreign_key_holds(snapshot, _hash("chapter", "book_id", 2), (["book_id"], "public", "book", ["id"]))
    assert foreign_key_holds(_snapshot(replicated(author), book), book, to_author)
    assert not foreign_key_holds(snapshot, replicated(book), to_author)  # a reference table refers to one


def test_a_self_reference_holds_only_when_replicated() -> None:
    emp = _hash("emp", "id")
    boss = (["boss"], "public", "emp", ["id"])
    assert not foreign_key_holds(_snapshot(), emp, boss)  # also before the table is in the snapshot
    assert foreign_key_holds(_snapshot(), replicated(emp), boss)


def test_the_changed_relation_is_read_from_the_parse_tree() -> None:
    assert altered_relation(parse_tree('/* m */ ALTER TABLE "S"."T" ADD UNIQUE (a)'))["relname"] == "T"
    assert altered_relation(parse_tree("CREATE UNIQUE INDEX i ON t (lower(e))"))["relname"] == "t"
    assert altered_relation(parse_tree("DROP TABLE t")) is None
