"""Which prepared statements frontend/fast_cycle.py treats as transaction control: those
run by the StatementRunner itself (BEGIN, COMMIT, ...), never planned as routed cycles."""

from __future__ import annotations

import pytest

from gridpg.frontend.statements import StatementRunner


@pytest.mark.parametrize("sql", ["BEGIN", "begin isolation level repeatable read", "START TRANSACTION",
                                 "COMMIT", "END", "/* app */ commit", "ROLLBACK", "SAVEPOINT s1",
                                 "ROLLBACK TO SAVEPOINT s1", "RELEASE s1", "COMMIT AND CHAIN",
                                 "PREPARE TRANSACTION 'x'"])
def test_transaction_control(sql: str) -> None:
    assert StatementRunner.is_transaction_control(sql)


@pytest.mark.parametrize("sql", ["SELECT 1", "UPDATE t SET a = 1 WHERE id = $1", "SET search_path = x",
                                 "INSERT INTO begin_log VALUES ($1)", "SELECT 'COMMIT'"])
def test_not_transaction_control(sql: str) -> None:
    assert not StatementRunner.is_transaction_control(sql)
