"""commands/retype.py's pure decisions: which ALTER TABLE changes a distribution column's
type, and when the rows can stay on their datanode (the partition hash of each value is the
same under the new type, checked here against planner/hashing.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridpg.catalog.model import DistTable
from gridpg.commands import retype
from gridpg.errors import PgError
from gridpg.planner.hashing import partition_hash
from gridpg.sql.parse import parse_tree

TABLE = DistTable("public", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))


def _body(sql: str) -> dict:  # type: ignore[type-arg]
    return parse_tree(sql)["AlterTableStmt"]


def test_retyped_table_only_for_the_distribution_column_of_a_hash_table() -> None:
    assert retype.retyped_table(parse_tree("ALTER TABLE t ALTER COLUMN id TYPE bigint"), [TABLE]) == TABLE
    assert retype.retyped_table(parse_tree("ALTER TABLE t ALTER id TYPE text, ALTER v TYPE text"), [TABLE]) == TABLE
    assert retype.retyped_table(parse_tree("ALTER TABLE t ALTER COLUMN v TYPE bigint"), [TABLE]) is None
    assert retype.retyped_table(parse_tree("ALTER TABLE t DROP COLUMN id"), [TABLE]) is None
    replicated = DistTable("public", "t", "replication", None, None, None, None, ("dn1", "dn2"))
    assert retype.retyped_table(parse_tree("ALTER TABLE t ALTER COLUMN id TYPE bigint"), [replicated]) is None


def test_other_subcommands_are_refused() -> None:
    retype.ensure_supported_commands(_body("ALTER TABLE t ALTER id TYPE bigint, ALTER v SET DEFAULT 1, "
                                           "ALTER v DROP NOT NULL"), "id")
    with pytest.raises(PgError) as caught:
        retype.ensure_supported_commands(_body("ALTER TABLE t ALTER id TYPE bigint, ADD COLUMN z int"), "id")
    assert caught.value.sqlstate == "0A000"


@pytest.mark.parametrize(("sql", "old", "kept"), [
    ('ALTER TABLE t ALTER COLUMN "id" TYPE bigint USING "id"::bigint', "int4", True),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint", "int4", True),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint USING t.id", "int4", True),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint USING CAST(id::int2 AS int8)", "int4", True),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint USING id + 1", "int4", False),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint USING v::bigint", "int4", False),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint USING id::text::bigint", "int4", False),
    ("ALTER TABLE t ALTER COLUMN id TYPE text USING id::int4::text", "text", False),  # '007' -> '7'
    ("ALTER TABLE t ALTER COLUMN id TYPE varchar USING id::varchar(3)", "text", False),  # truncates
    ("ALTER TABLE t ALTER COLUMN id TYPE text COLLATE \"C\"", "varchar", False),
    ("ALTER TABLE t ALTER COLUMN id TYPE text USING id::name", "varchar", False),
    ("ALTER TABLE t ALTER COLUMN id TYPE bigint USING myschema.int8(id)", "int4", False),
])
def test_keeps_values(sql: str, old: str, kept: bool) -> None:
    assert retype.keeps_values(_body(sql), "id", old) is kept


@pytest.mark.parametrize(("old", "new", "typmod", "alike"), [
    ("int4", "int8", -1, True), ("int8", "int2", -1, True), ("int2", "int4", -1, True),
    ("text", "varchar", -1, True), ("varchar", "text", -1, True), ("name", "text", -1, True),
    ("text", "varchar", 24, False), ("text", "name", -1, False), ("text", "bpchar", -1, False),
    ("int4", "numeric", -1, False), ("int4", "text", -1, False), ("numeric", "numeric", -1, True),
    ("numeric", "numeric", 655366, False), ("date", "timestamp", -1, False),
])
def test_hashes_alike(old: str, new: str, typmod: int, alike: bool) -> None:
    assert retype.hashes_alike(old, new, typmod) is alike


@pytest.mark.parametrize("value", [0, 1, -1, -5, 12345, -2147483648, 2147483647, 32767, -32768])
def test_integer_family_hashes_equal(value: int) -> None:
    """What the in-place path relies on (PostgreSQL's integer_ops: hashint2/4/8extended agree)."""
    assert partition_hash("int4", value) == partition_hash("int8", value)
    if -32768 <= value <= 32767:
        assert partition_hash("int2", value) == partition_hash("int8", value)
    assert partition_hash("int4", value) != partition_hash("numeric", Decimal(value)) or value == 0


@pytest.mark.parametrize("value", ["", "abc", "with trailing  ", "Ünïcode"])
def test_text_family_hashes_equal(value: str) -> None:
    assert partition_hash("text", value) == partition_hash("varchar", value) == partition_hash("name", value)
    assert partition_hash("text", "ab ") != partition_hash("bpchar", "ab ")


def test_drop_of_the_distribution_column_gets_a_hint() -> None:
    error = PgError("42P16", 'cannot drop column "id" because it is part of the partition key of relation "t"',
                    fields={"C": "42P16", "M": "cannot drop column"})
    retype.explain_dropped_distribution_column(error, parse_tree("ALTER TABLE t DROP COLUMN id"), [TABLE])
    assert error.fields is not None and "alter_distributed_table" in error.fields["H"]
    other = PgError("42P16", "x", fields={"C": "42P16"})
    retype.explain_dropped_distribution_column(other, parse_tree("ALTER TABLE t DROP COLUMN v"), [TABLE])
    assert other.fields == {"C": "42P16"} and other.hint is None
