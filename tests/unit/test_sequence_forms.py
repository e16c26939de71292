"""Pure parts of sequences, user 2PC and the Citus functions: which statement forms are
served, refused or rewritten, and how arguments bind."""

from __future__ import annotations

import pytest

from gridpg.commands import redistribute, sequences
from gridpg.errors import PgError
from gridpg.sql.parse import parse_tree
from gridpg.txn import prepared


@pytest.mark.parametrize(
    ("sql", "form"),
    [
        ("SELECT nextval('s')", "nextval"),
        ("SELECT pg_catalog.setval('s', 5, false)", "setval"),
        ("SELECT lastval()", "lastval"),
        ("SELECT nextval('s'), currval('s')", "*"),
        ("SELECT nextval('s') + 1 AS x", "*"),
        ("SELECT nextval(pg_get_serial_sequence('t', 'id'))", "*"),
        ("SELECT 1", None),
        ("SELECT nextval('s') FROM t", None),
        ("SELECT myschema.nextval('s')", None),
    ],
)
def test_sequence_call_forms(sql: str, form: str | None) -> None:
    call = sequences.sequence_call(parse_tree(sql))
    assert (call[0] if call else None) == form


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nextval('s') FROM generate_series(1, 3)",
        "UPDATE t SET v = nextval('s')",
        "INSERT INTO t SELECT nextval('s')",
        "SELECT 1 WHERE currval('s') > 0",
        "DELETE FROM t WHERE id = lastval()",
        "INSERT INTO t VALUES (1) RETURNING nextval('s')",
    ],
)
def test_per_row_forms_are_refused(sql: str) -> None:
    with pytest.raises(PgError) as info:
        sequences.ensure_supported(sql)
    assert info.value.sqlstate == "0A000"


@pytest.mark.parametrize(
    "sql",
    ["SELECT nextval('s'), currval('s')", "INSERT INTO t VALUES (nextval('s'), 1)",
     "CREATE TABLE t (id int DEFAULT nextval('s'))", "SELECT 'nextval(x)' FROM t",
     "ALTER TABLE t ALTER id SET DEFAULT nextval('s')"],
)
def test_served_forms_pass(sql: str) -> None:
    sequences.ensure_supported(sql)


def test_call_spans_and_arguments() -> None:
    sql = "SELECT setval('s', (SELECT 3), true), nextval('a''b')"
    spans = sequences.call_spans(sql, [7, 38])
    assert [sql[a:b] for a, b in spans] == ["setval('s', (SELECT 3), true)", "nextval('a''b')"]
    assert sequences.split_arguments("'s', (SELECT 3, 4), ARRAY[1, 2]") == ["'s'", "(SELECT 3, 4)", "ARRAY[1, 2]"]


def test_citus_arguments_bind_as_citus_does() -> None:
    bound = redistribute.bind_arguments("create_distributed_table", ["t", "id", "hash", "other"], {})
    assert bound == {"table_name": "t", "distribution_column": "id", "distribution_type": "hash",
                     "colocate_with": "other", "shard_count": None}
    bound = redistribute.bind_arguments("create_distributed_table", ["t", "id"], {"shard_count": "4"})
    assert bound["colocate_with"] == "default" and bound["shard_count"] == "4"
    # alter_distributed_table.sql: colocate_with => 'None' is Citus's 'none' (no case)
    assert redistribute.bind_arguments("create_distributed_table", ["t", "a"],
                                       {"colocate_with": "None"})["colocate_with"] == "none"
    assert redistribute.bind_arguments("alter_distributed_table", ["t"],
                                       {"colocate_with": "DEFAULT"})["colocate_with"] == "default"
    assert redistribute.bind_arguments("create_distributed_table", ["t", "a"],
                                       {"colocate_with": "Other"})["colocate_with"] == "Other"
    with pytest.raises(PgError) as info:
        redistribute.bind_arguments("create_distributed_table", ["t"], {"nonsense": "1"})
    assert info.value.sqlstate == "42883"
    with pytest.raises(PgError):
        redistribute.bind_arguments("create_reference_table", [], {})


def test_prepared_identifiers() -> None:
    assert prepared.node_gid("xa 1") == "gridpg-u:xa 1"
    assert not prepared.node_gid("gridpg_1_coord1").startswith("gridpg_")  # outside recovery's namespace
    with pytest.raises(PgError) as info:
        prepared.node_gid("x" * 200)
    assert info.value.sqlstate == "22023"
    empty = prepared._values_subquery([])
    assert "WHERE false" in empty
    one = prepared._values_subquery([("7", "it's", "2026-01-01 00:00:00+00", "u", "postgres")])
    assert "'it''s'" in one and "v.transaction::xid AS transaction" in one
