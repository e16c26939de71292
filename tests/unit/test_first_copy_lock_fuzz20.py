"""h-fuzz20: the first-node lock of a REPLICATION table's UPDATE/DELETE finds the FROM/USING
list by the parse tree's items, not by the first top-level FROM after SET: a top-level
`IS DISTINCT FROM` in SET or WHERE made `SELECT 1 FROM t,  WHERE ...` (42601)."""

from __future__ import annotations

import pytest

from gridpg.planner.writes import first_copy_lock
from gridpg.sql import parse as sqlparse

CASES = [
    ("UPDATE r SET v = 1 WHERE r.s IS DISTINCT FROM 'a'",
     "SELECT count(*) FROM (SELECT 1 FROM r WHERE r.s IS DISTINCT FROM 'a' FOR NO KEY UPDATE OF r) AS gridpg_first_copy"),
    ("UPDATE r SET f = a IS DISTINCT FROM b",
     "SELECT count(*) FROM (SELECT 1 FROM r FOR NO KEY UPDATE OF r) AS gridpg_first_copy"),
    ("UPDATE r SET f = a IS DISTINCT FROM b FROM (SELECT FROM u) q WHERE r.k IS NOT DISTINCT FROM 2",
     ("SELECT count(*) FROM (SELECT 1 FROM r, (SELECT FROM u) q WHERE r.k IS NOT DISTINCT FROM 2 "
      "FOR NO KEY UPDATE OF r) AS gridpg_first_copy")),
    ("DELETE FROM r USING u JOIN w USING (k) WHERE r.s IS DISTINCT FROM u.s",
     ("SELECT count(*) FROM (SELECT 1 FROM r, u JOIN w USING (k) WHERE r.s IS DISTINCT FROM u.s "
      "FOR UPDATE OF r) AS gridpg_first_copy")),
]


@pytest.mark.parametrize("sql, expected", CASES)
def test_distinct_from_is_no_from_list(sql: str, expected: str) -> None:
    assert first_copy_lock(sql) == expected
    sqlparse.parse_tree(expected)
