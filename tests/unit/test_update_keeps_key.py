"""Whether an UPDATE assigns its table's distribution column (planner/writes.py
`updates_column`): a value a top-level WHERE conjunct equates the column with keeps every
row on its node (Citus's multi_modifications.sql, h-citus14: such UPDATEs with a FROM were
refused as moves, 0A000)."""

from __future__ import annotations

import pytest

from gridpg.planner.writes import updates_column
from gridpg.sql import parse as sqlparse


def _body(sql: str) -> dict:
    return sqlparse.parse_tree(sql)["UpdateStmt"]


@pytest.mark.parametrize("sql", [
    "UPDATE d1 SET a = d1.a",
    "UPDATE d1 SET a = d2.a FROM d2 WHERE d1.a = d2.a",
    "UPDATE d1 SET a = d2.a FROM d2 WHERE d2.a = d1.a AND d1.b = d2.c AND (d2.c > 5 OR d2.c < 0)",
    "UPDATE d1 t SET a = s.a, b = 1 FROM d2 s WHERE s.a = t.a",
    "UPDATE d1 SET a = b WHERE a = b",
    "WITH cte AS (SELECT a FROM d1) UPDATE d1 SET a = cte.a FROM cte WHERE d1.a = cte.a",
    # the constant a WHERE conjunct gives the column (Citus's modification_correctness.sql:65, h-citus15)
    "UPDATE d1 SET b = 5, a = 5, c = 5 FROM (SELECT * FROM d1 LIMIT 10) t2 WHERE t2.b = d1.c AND d1.a = 5",
    "UPDATE d1 SET a = 'x' WHERE 'x' = a",
    "UPDATE d1 SET a = -7 WHERE b > 0 AND d1.a = -7",
])
def test_a_value_equated_with_the_column_keeps_it(sql: str) -> None:
    assert not updates_column(_body(sql), "a")


@pytest.mark.parametrize("sql", [
    "UPDATE d1 SET a = d1.b",
    "UPDATE d1 SET a = d2.a FROM d2",
    "UPDATE d1 SET a = d2.a FROM d2 WHERE d1.a != d2.a",
    "UPDATE d1 SET a = d2.a FROM d2 WHERE d1.a = d2.a OR d1.a > d2.a",
    "UPDATE d1 SET a = d2.b FROM d2 WHERE d1.a = d2.a",
    "UPDATE d1 SET a = d2.a + 0 FROM d2 WHERE d1.a = d2.a",
    "UPDATE d1 SET a = d2.a FROM d2 WHERE d1.b = d2.a",
    "UPDATE d1 SET a = d2.a FROM d2 WHERE NOT (d1.a = d2.a)",
    "UPDATE d1 SET a = 5 FROM d2 WHERE d1.a = 6",
    "UPDATE d1 SET a = 5 WHERE d1.a = '5'",
    "UPDATE d1 SET a = 5 WHERE d1.a = 5 OR d1.b = 1",
    "UPDATE d1 SET a = 5 WHERE d1.b = 5",
    "UPDATE d1 SET a = NULL WHERE d1.a = NULL",
    "UPDATE d1 SET a = 5.0 WHERE d1.a = 5",
])
def test_any_other_value_is_an_assignment(sql: str) -> None:
    assert updates_column(_body(sql), "a")
