"""planner/shard_route.py: a routed statement's text naming its pinned table's shard."""

from __future__ import annotations

import pytest

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze
from gridpg.planner.pushdown import Resolved
from gridpg.planner.shard_route import ShardText, shard_text
from gridpg.sql import parse as sqlparse

T = DistTable("public", "t", "hash", "k", "int4", 1, 4, ("dn1", "dn2"))
U = DistTable("public", "u", "hash", "k", "int4", 1, 4, ("dn1", "dn2"))


def _text(sql: str) -> ShardText | str:
    tree = sqlparse.parse_tree(sql)
    kind = sqlparse.node_type(tree)
    tables = {"t": T, "u": U}
    resolved = [Resolved(r, tables.get(r.name)) for r in analyze.relations(tree)]
    return shard_text(sql, tree, kind, resolved, T)


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT v FROM t WHERE k = $1", 'SELECT v FROM gridpg_shards."public.t_3" AS t WHERE k = $1'),
    ("SELECT x.v FROM public.t x WHERE x.k = $1 FOR UPDATE OF x",
     'SELECT x.v FROM gridpg_shards."public.t_3" x WHERE x.k = $1 FOR UPDATE OF x'),
    ("UPDATE t SET v = v + $2 WHERE k = $1 RETURNING *",
     'UPDATE gridpg_shards."public.t_3" AS t SET v = v + $2 WHERE k = $1 RETURNING *'),
    ("DELETE FROM t AS d WHERE d.k = $1", 'DELETE FROM gridpg_shards."public.t_3" AS d WHERE d.k = $1'),
    ("SELECT t.*, u.v FROM t JOIN u USING (k) WHERE t.k = $1",
     'SELECT t.*, u.v FROM gridpg_shards."public.t_3" AS t JOIN u USING (k) WHERE t.k = $1'),
])
def test_the_reference_is_replaced_by_the_shard(sql: str, expected: str) -> None:
    found = _text(sql)
    assert isinstance(found, ShardText)
    assert found.text(3) == expected


@pytest.mark.parametrize(("sql", "reason"), [
    ("SELECT t FROM t WHERE k = $1", "a whole-row reference"),
    ("SELECT f(t.*) FROM t WHERE k = $1", "a whole-row reference"),
    ("SELECT ROW(x.*) FROM t x WHERE k = $1", "a whole-row reference"),
    ("SELECT public.t.v FROM public.t WHERE k = $1", "a column qualified with its schema"),
    ("SELECT tableoid FROM t WHERE k = $1", "reads tableoid"),
    ("UPDATE t SET k = $2 WHERE k = $1", "updates the distribution column"),
    ("SELECT a.v FROM t a JOIN t b USING (k) WHERE a.k = $1", "the table is referenced more than once"),
    ("INSERT INTO t VALUES ($1)", "not a SELECT, UPDATE or DELETE"),
])
def test_texts_that_would_read_the_shard_differently_are_refused(sql: str, reason: str) -> None:
    assert _text(sql) == reason


def test_a_long_name_is_the_shard_table_name() -> None:
    from gridpg.catalog.model import shard_table_name

    long = DistTable("s" * 30, "t" * 40, "hash", "k", "int4", 1, 4, ("dn1",))
    sql = f'SELECT 1 FROM {"s" * 30}.{"t" * 40} WHERE k = $1'
    tree = sqlparse.parse_tree(sql)
    resolved = [Resolved(r, long) for r in analyze.relations(tree)]
    found = shard_text(sql, tree, "SelectStmt", resolved, long)
    assert isinstance(found, ShardText)
    name = shard_table_name("s" * 30, "t" * 40, 2)
    assert len(name.encode()) <= 63
    assert found.text(2) == f'SELECT 1 FROM gridpg_shards.{name} AS {"t" * 40} WHERE k = $1'
