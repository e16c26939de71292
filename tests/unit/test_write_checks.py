"""Pure checks of issue 12's write answers: MultiAssignRef sub-selects kept once
(sql/parse.py), what two replicas may compute differently (planner/replicas.py) and where
ctid compares rows of several shards (planner/row_ids.py)."""

from __future__ import annotations

import pytest

from gridpg.planner import analyze, replicas, row_ids
from gridpg.sql.parse import parse_sql, parse_tree


def test_multi_assignment_sub_select_is_walked_once() -> None:
    sql = "UPDATE t SET (a, b) = (SELECT x, y FROM s WHERE s.k = t.id), c = 1"
    tree = parse_tree(sql)
    ranges = [n for n in analyze._walk(tree) if isinstance(n, dict) and "RangeVar" in n]
    assert len(ranges) == 1  # s once (the target is "relation"), not once per column
    from pglast.stream import RawStream

    assert RawStream()(parse_sql(sql)[0].stmt) == \
        "UPDATE t SET ( a, b) = (SELECT x, y FROM s WHERE s.k = t.id), c = 1"


@pytest.mark.parametrize(("sql", "reason"), [
    ("UPDATE r SET v = random()", "random()"),
    ("UPDATE r SET v = pg_catalog.clock_timestamp()", "clock_timestamp()"),
    ("UPDATE r SET v = (SELECT v FROM s LIMIT 1)", "LIMIT/OFFSET"),
    ("DELETE FROM r WHERE id IN (SELECT id FROM s OFFSET 2)", "LIMIT/OFFSET"),
    ("UPDATE r SET n = (SELECT string_agg(x, ',') FROM s)", "string_agg()"),
    ("UPDATE r SET v = 1", None),
    ("UPDATE r SET v = (SELECT v FROM s ORDER BY id LIMIT 1), t = now()", None),
    ("UPDATE r SET n = (SELECT string_agg(x, ',' ORDER BY x) FROM s)", None),
    ("UPDATE r SET v = myschema.random()", None),
    # Django's Exists() adds LIMIT 1: EXISTS only counts the rows
    ("UPDATE r SET v = v + 1 WHERE EXISTS (SELECT 1 AS a FROM s WHERE s.k = r.id LIMIT 1)", None),
    ("DELETE FROM r WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.k = r.id OFFSET 2)", None),
    ("UPDATE r SET v = 1 WHERE EXISTS (SELECT 1 FROM (SELECT k FROM s LIMIT 1) q WHERE q.k = r.id)", "LIMIT/OFFSET"),
    ("UPDATE r SET v = 1 WHERE EXISTS (SELECT 1 FROM s WHERE s.k = (SELECT k FROM s LIMIT 1) LIMIT 1)",
     "LIMIT/OFFSET"),
    ("UPDATE r SET v = 1 WHERE id IN (SELECT k FROM s LIMIT 1)", "LIMIT/OFFSET"),
])
def test_replica_divergence(sql: str, reason: str | None) -> None:
    found = replicas.replica_divergence(parse_tree(sql))
    assert (found is None) if reason is None else (reason in (found or ""))


def test_diverging_defaults() -> None:
    assert replicas.diverging_default("gen_random_uuid()")
    assert replicas.diverging_default("(clock_timestamp() + '1 day'::interval)")
    assert not replicas.diverging_default("now()")
    assert not replicas.diverging_default("'x'::text")
    assert not replicas.diverging_default(None)


@pytest.mark.parametrize(("sql", "kind", "uses"), [
    ("SELECT ctid, * FROM t ORDER BY ctid", "SelectStmt", False),
    ("SELECT * FROM t WHERE ctid = '(0,1)'", "SelectStmt", True),
    ("SELECT count(*) FROM (SELECT ctid FROM t) x", "SelectStmt", True),
    ("DELETE FROM t WHERE ctid IN (SELECT min(ctid) FROM t GROUP BY k)", "DeleteStmt", True),
    ("UPDATE t SET v = 1 WHERE id = 1 RETURNING ctid", "UpdateStmt", False),
])
def test_uses_ctid(sql: str, kind: str, uses: bool) -> None:
    assert row_ids.uses_ctid(parse_tree(sql)[kind], kind) is uses


@pytest.mark.parametrize(("sql", "kind", "combines"), [
    # shown only: as is, cast, a part of it; ORDER BY without LIMIT only orders the output
    ("SELECT ctid, * FROM t ORDER BY ctid", "SelectStmt", False),
    ("SELECT ctid::text, (ctid::text::point)[0] AS blk, id FROM t", "SelectStmt", False),
    ("DELETE FROM t WHERE id > 3 RETURNING ctid", "DeleteStmt", False),
    ("SELECT count(*) FROM t a JOIN t b ON a.id = b.id WHERE a.ctid < b.ctid", "SelectStmt", False),
    # combined over shards: each shard's (0,1) counted once, the first rows of every shard
    ("SELECT count(DISTINCT ctid) FROM t", "SelectStmt", True),
    ("SELECT k, min(ctid), max(ctid) FROM t GROUP BY k", "SelectStmt", True),
    ("SELECT DISTINCT ctid FROM t", "SelectStmt", True),
    ("SELECT ctid::text AS c, count(*) FROM t GROUP BY c", "SelectStmt", True),
    ("SELECT ctid FROM t ORDER BY ctid LIMIT 3", "SelectStmt", True),
    ("SELECT id FROM t ORDER BY ctid OFFSET 5", "SelectStmt", True),
    ("SELECT id, row_number() OVER (ORDER BY ctid) FROM t", "SelectStmt", True),
    ("SELECT id, ctid = '(0,1)' FROM t", "SelectStmt", True),
    ("SELECT count(*) FILTER (WHERE ctid = '(0,1)') FROM t", "SelectStmt", True),
    ("UPDATE t SET v = 1 WHERE id > 3 RETURNING ctid = '(0,1)'", "UpdateStmt", True),
])
def test_combines_shown_ctids(sql: str, kind: str, combines: bool) -> None:
    assert row_ids.combines_shown_ctids(parse_tree(sql)[kind], kind) is combines
