"""planner.catalog_oids: which expressions over distributed tables would show a datanode's
OID where PostgreSQL gives the catalog server's (issue 12, no silent wrong answer)."""

from __future__ import annotations

import pytest

from gridpg.catalog.model import CatalogSnapshot
from gridpg.planner.catalog_oids import hazard
from gridpg.planner.context import BoundParams
from gridpg.sql.parse import node_type, parse_tree

SNAPSHOT = CatalogSnapshot(epoch=1, reg_columns=frozenset({("public", "st", "r", 2), ("public", "st", "ty", 4),
                                                           ("public", "st", "rs", 6)}))
TABLES = [("st", "public", "st")]


def _hazard(sql: str, params: BoundParams | None = None) -> str | None:
    tree = parse_tree(sql)
    return hazard(tree, node_type(tree), TABLES, SNAPSHOT, params)


@pytest.mark.parametrize("sql", [
    "SELECT r, ty FROM st",
    "SELECT r, 'st'::regclass, ty::text, * FROM st",
    "SELECT * FROM st WHERE r = 'st'::regclass",
    "SELECT * FROM st WHERE r <> to_regclass('st')",
    "SELECT count(*) FROM st WHERE r IN ('st', 'x'::regclass)",
    "SELECT * FROM st WHERE r IS NULL AND ty IS NOT NULL",
    "SELECT id FROM st UNION SELECT id FROM st WHERE r = 'a'::regclass",
    "INSERT INTO st VALUES (1, 'st')",
    "INSERT INTO st (id, r, rs) VALUES (1, 'st'::regclass, '{a,b}'), (2, NULL, ARRAY['a'])",
    "INSERT INTO st (id, r) SELECT id, r FROM st",
    "UPDATE st SET r = 'x' WHERE id = 1",
    "DELETE FROM st WHERE r = 'st'::regclass",
    "SELECT a FROM other WHERE b = 5",
    "SELECT id FROM st WHERE has_table_privilege('st', 'select')",
    "INSERT INTO st (id) VALUES (nextval('s'::regclass))",      # looked up where it is computed
    "SELECT format_type(ty, NULL), has_table_privilege(r, 'select') FROM st",
    "SELECT format_type(23, NULL), pg_describe_object('pg_class'::regclass, r, 0) FROM st",
])
def test_names_stay_on_the_datanodes(sql: str) -> None:
    assert _hazard(sql) is None


@pytest.mark.parametrize("sql", [
    "SELECT * FROM st WHERE o = 'st'::regclass",           # an oid column: the catalog's numbers
    "SELECT 'st'::regclass::oid FROM st",
    "SELECT * FROM st WHERE o = to_regclass('st')",
    "SELECT 'f(int)'::regprocedure::oid, id FROM st",
    "SELECT r::oid FROM st",
    "SELECT * FROM st ORDER BY r",
    "SELECT r FROM st ORDER BY 1",
    "SELECT min(r) FROM st",
    "SELECT * FROM st WHERE r = 18434",
    "SELECT * FROM st WHERE r = '18434'::regclass",       # a number in quotes is an OID
    "SELECT x FROM (SELECT r AS x FROM st) s",
    "SELECT * FROM st WHERE st.r::int > 5",
    "INSERT INTO st VALUES (1, 18434)",                    # positions: r is the second column
    "INSERT INTO st (r) VALUES ('123')",
    "INSERT INTO st (id, o) VALUES (1, 'st'::regclass)",
    "INSERT INTO st (id, o) SELECT id, r FROM st",
    "INSERT INTO st (id, r) VALUES (1, $1)",
    "UPDATE st SET o = 'x'::regclass",
    "DELETE FROM st WHERE r::oid = 5",
    "SELECT id FROM st WHERE has_table_privilege(o, 'select')",
    "SELECT format_type(o, NULL) FROM st",
    "SELECT int8('st'::regclass) FROM st",
    "SELECT pg_get_userbyid(owner) FROM st",
])
def test_numbers_are_found(sql: str) -> None:
    assert _hazard(sql) is not None


def test_a_parameter_stored_into_a_column_of_oids_is_read() -> None:
    sql = "INSERT INTO st (id, r) VALUES ($1, $2)"
    assert _hazard(sql, BoundParams.from_texts(["1", "st"])) is None
    assert _hazard(sql, BoundParams.from_texts(["1", "18434"])) is not None
    assert _hazard(sql) is not None  # values not known yet
