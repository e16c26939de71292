"""planner/alias_columns: a column alias list on a distributed table becomes a subquery
(pure; no server)."""

from __future__ import annotations

import pytest

from gridpg.catalog.model import DistTable
from gridpg.errors import PgError
from gridpg.planner import alias_columns, analyze
from gridpg.planner.pushdown import Resolved
from gridpg.sql import parse as sqlparse

A = DistTable("public", "a", "hash", "id", "integer", 1, 32, ("dn1", "dn2"))
B = DistTable("s", "B", "hash", "id", "integer", 1, 32, ("dn1", "dn2"))


def _rewrite(sql: str) -> str | None:
    tree = sqlparse.parse_tree(sql)
    tables = {"a": A, "B": B}
    resolved = [Resolved(r, tables.get(r.name)) for r in analyze.relations(tree)]
    return alias_columns.rewrite(sql, tree, resolved)


def test_an_alias_list_on_a_distributed_table_becomes_a_subquery() -> None:
    # `x.id` is a's second column: matched by name, the router pinned by a value of it
    assert _rewrite("SELECT * FROM a AS x(k, id) WHERE id = 3") == \
        "SELECT * FROM (SELECT * FROM a) AS x(k, id) WHERE id = 3"
    assert _rewrite('SELECT count(*) FROM c JOIN s."B" y ( "K" , id ) ON c.id = y.id') == \
        'SELECT count(*) FROM c JOIN (SELECT * FROM s."B") AS y("K", id) ON c.id = y.id'
    got = _rewrite("SELECT 1 FROM t WHERE EXISTS (SELECT 1 FROM a x(k) WHERE x.k = t.k)")
    assert got == "SELECT 1 FROM t WHERE EXISTS (SELECT 1 FROM (SELECT * FROM a) AS x(k) WHERE x.k = t.k)"
    assert sqlparse.parse_tree(got)  # still one statement


def test_without_an_alias_list_nothing_changes() -> None:
    for sql in ("SELECT * FROM a AS x WHERE id = 3", "SELECT * FROM t AS x(k, id) WHERE id = 3",
                "SELECT * FROM (SELECT * FROM a) AS x(k, id)", "SELECT * FROM generate_series(1, 3) g(id), a"):
        assert _rewrite(sql) is None, sql


@pytest.mark.parametrize("sql", [
    "SELECT * FROM ONLY a AS x(k, id)",
    "SELECT * FROM a AS x(k, id) TABLESAMPLE SYSTEM (50)",
    "SELECT * FROM a AS x(k, id) WHERE id = 1 FOR UPDATE",
    "SELECT x.ctid FROM a AS x(k, id)",
])
def test_forms_the_subquery_would_read_otherwise_are_refused(sql: str) -> None:
    with pytest.raises(PgError) as info:
        _rewrite(sql)
    assert info.value.sqlstate == "0A000"
