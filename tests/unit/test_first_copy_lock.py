"""The query that locks a REPLICATION table's rows on its first node before a write to
every copy (planner/writes.first_copy_lock): the statement's own WITH, target, FROM/USING
and WHERE, locking only the target, and valid SQL whatever the statement's layout."""

from __future__ import annotations

import pytest

from gridpg.planner.writes import first_copy_lock
from gridpg.sql import parse as sqlparse

CASES = [
    ("UPDATE t SET n = n + 1 WHERE k = 'a'",
     "SELECT count(*) FROM (SELECT 1 FROM t WHERE k = 'a' FOR NO KEY UPDATE OF t) AS gridpg_first_copy"),
    ("WITH c AS (SELECT 1 AS k) UPDATE ONLY s.t AS x SET n = $1 FROM c WHERE x.k = c.k RETURNING n",
     ("WITH c AS (SELECT 1 AS k) SELECT count(*) FROM (SELECT 1 FROM ONLY s.t AS x, c WHERE x.k = c.k "
      "FOR NO KEY UPDATE OF x) AS gridpg_first_copy")),
    ('update "Odd T" o set n = (select max(n) from u where u.k = o.k) where o.k in (select k from z)',
     ('SELECT count(*) FROM (SELECT 1 FROM "Odd T" o where o.k in (select k from z) '
      "FOR NO KEY UPDATE OF o) AS gridpg_first_copy")),
    ('UPDATE "Odd T" SET n = 1',
     'SELECT count(*) FROM (SELECT 1 FROM "Odd T" FOR NO KEY UPDATE OF "Odd T") AS gridpg_first_copy'),
    ("UPDATE t SET (a, b) = (SELECT 1, 2 FROM u) WHERE k = 3",
     "SELECT count(*) FROM (SELECT 1 FROM t WHERE k = 3 FOR NO KEY UPDATE OF t) AS gridpg_first_copy"),
    ("DELETE FROM t USING u WHERE t.k = u.k RETURNING t.*",
     "SELECT count(*) FROM (SELECT 1 FROM t, u WHERE t.k = u.k FOR UPDATE OF t) AS gridpg_first_copy"),
    ("DELETE FROM ONLY t AS a WHERE a.k = $1",
     "SELECT count(*) FROM (SELECT 1 FROM ONLY t AS a WHERE a.k = $1 FOR UPDATE OF a) AS gridpg_first_copy"),
    ("DELETE FROM t", "SELECT count(*) FROM (SELECT 1 FROM t FOR UPDATE OF t) AS gridpg_first_copy"),
]


@pytest.mark.parametrize("sql, expected", CASES)
def test_the_lock_reads_the_statements_rows(sql: str, expected: str) -> None:
    assert first_copy_lock(sql) == expected
    sqlparse.parse_tree(expected)


def test_comments_do_not_swallow_the_clauses_after_them() -> None:
    sql = "/* app */ DELETE FROM t -- the table\n USING u -- joined\n WHERE t.k = u.k -- match\n;"
    lock = first_copy_lock(sql)
    assert lock is not None
    tree = sqlparse.parse_tree(lock)["SelectStmt"]
    inner = tree["fromClause"][0]["RangeSubselect"]["subquery"]["SelectStmt"]
    assert len(inner["fromClause"]) == 2 and "whereClause" in inner and "lockingClause" in inner


def test_where_current_of_has_no_lock() -> None:
    assert first_copy_lock("UPDATE t SET n = 1 WHERE CURRENT OF c") is None
    assert first_copy_lock("DELETE FROM t WHERE CURRENT OF c") is None
