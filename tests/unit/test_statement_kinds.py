"""Transaction control and SET/RESET are recognised by the parse, whatever text precedes them."""

from __future__ import annotations

import pytest

from gridpg.sql import parse


@pytest.mark.parametrize(
    ("sql", "kind", "chain"),
    [
        ("/* app:web */ rollback", "rollback", False),
        ("-- c\nROLLBACK", "rollback", False),
        ("commit /* x */", "commit", False),
        ("END", "commit", False),
        ("  ABORT", "rollback", False),
        ("ROLLBACK AND NO CHAIN", "rollback", False),
        ("/* a /* nested */ b */ rollback and chain", "rollback", True),
        ("-- one\n-- two\n/* three */ COMMIT WORK", "commit", False),
        ("/*x*/ROLLBACK TO SAVEPOINT s1", "rollback_to", False),
        ("rollback to s1", "rollback_to", False),
        ("/* x */ begin isolation level repeatable read", "begin", False),
        ("/* x */ set transaction read only", "set_transaction", False),
        ("/* x */ prepare transaction 'g'", "prepare", False),
        ("-- tm\nCOMMIT PREPARED 'g'", "commit_prepared", False),
        ("rollback prepared 'g'", "rollback_prepared", False),
    ],
)
def test_transaction_control_by_parse(sql: str, kind: str, chain: bool) -> None:
    control = parse.transaction_control(sql)
    assert control is not None
    assert control.kind == kind
    assert control.chain is chain


@pytest.mark.parametrize(
    "sql",
    [
        "select 'rollback'",
        "/* rollback */ select 1",
        "-- commit\nselect 1",
        "set transaction_isolation = 'read committed'",
        "set search_path = x",
        "endx",
    ],
)
def test_not_transaction_control(sql: str) -> None:
    assert parse.transaction_control(sql) is None


def test_prepared_transaction_identifier() -> None:
    control = parse.transaction_control("/* xa */ PREPARE TRANSACTION 'a b''c'")
    assert control is not None and control.name == "a b'c"


def test_savepoint_name_after_comment() -> None:
    control = parse.transaction_control("/* c */ rollback to savepoint \"S 1\"")
    assert control is not None and control.name == "S 1"


@pytest.mark.parametrize(
    ("sql", "name", "reset", "local"),
    [
        ("/* c */ set search_path = a", "search_path", False, False),
        ("-- c\nRESET ALL", "all", True, False),
        ("/**/ set local work_mem = '1MB'", "work_mem", False, True),
        ("reset work_mem", "work_mem", True, False),
    ],
)
def test_set_statement_after_comments(sql: str, name: str, reset: bool, local: bool) -> None:
    setting = parse.set_statement(sql)
    assert setting is not None
    assert (setting.name, setting.reset, setting.is_local) == (name, reset, local)


def test_statement_start() -> None:
    assert parse.statement_start("select 1") == 0
    assert parse.statement_start("  /* a */\n-- b\n  x") == 17
    assert parse.statement_start("/* only */") == len("/* only */")
