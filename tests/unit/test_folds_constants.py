"""executor/routed.folds_constants: literal-free forms that must keep their literals,
since PostgreSQL folds an expression of them (and raises its error) when it plans."""

from __future__ import annotations

import pytest

from gridpg.executor.routed import folds_constants, literal_types


@pytest.mark.parametrize("text", [
    "SELECT $1/$2 FROM t WHERE id = $3",
    "UPDATE t SET n = $1/$2 WHERE id = $3",
    "SELECT * FROM t WHERE d > $1::date - $2",
    "DELETE FROM t WHERE id = $1 AND n > sqrt(-$2)",
])
def test_expressions_of_literals_keep_their_literals(text: str) -> None:
    assert folds_constants(text)


@pytest.mark.parametrize("text", [
    "SELECT * FROM t WHERE id = $1",
    "UPDATE t SET a = a + $1 WHERE id = $2",
    "INSERT INTO t VALUES ($1, $2)",
    "SELECT * FROM t WHERE id IN ($1, $2)",
    "SELECT lower(name), now() FROM t WHERE id = -$1",
])
def test_literals_compared_or_stored_become_parameters(text: str) -> None:
    assert not folds_constants(text)


def test_literal_types_refuses_a_folding_form() -> None:
    assert literal_types("SELECT 1/0 FROM t WHERE id = 7", "SELECT $1/$2 FROM t WHERE id = $3") is None
    assert literal_types("SELECT n FROM t WHERE id = 7", "SELECT n FROM t WHERE id = $1") == (23,)
