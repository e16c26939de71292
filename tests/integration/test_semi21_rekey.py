"""Semi-joins, anti-joins and joins on no distribution column, on a live cluster, against
plain PostgreSQL: the exchange repartitions both sides by the correlation key (EXPLAIN
says so) where it broadcast or gathered before, and every answer, NULLs included, is
PostgreSQL's. NOT IN is never repartitioned: a NULL anywhere in its subquery, or an
empty subquery, decides every row's answer.

`ledger` (10,000 rows) and `refunds` (60,000) are hashed by their ids and related by
`shop`, which neither is distributed by: NULL shops on both sides, shops on one side only.
`outlets` is hashed by its shop: it stays in place and only `ledger` moves."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg")

SCHEMA = "t_semi21"
LEDGER = 10000
SETUP = [
    "CREATE TABLE ledger (id int PRIMARY KEY, shop int, amount int)",
    "CREATE TABLE refunds (id int PRIMARY KEY, shop int, cost int)",
    "CREATE TABLE outlets (shop int PRIMARY KEY, city text)",
    (f"INSERT INTO ledger SELECT i, CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7) % 16000 END, i % 100 "
    f"FROM generate_series(1, {LEDGER}) i"),
    ("INSERT INTO refunds SELECT i, CASE WHEN i % 101 = 0 THEN NULL ELSE (i * 3) % 50000 END, i % 50 "
    "FROM generate_series(1, 60000) i"),
    "INSERT INTO outlets SELECT i, 'c' || (i % 10) FROM generate_series(0, 49999, 2) i",
    "ANALYZE ledger", "ANALYZE refunds", "ANALYZE outlets",
]
DISTRIBUTION = {"ledger": "HASH (id)", "refunds": "HASH (id)", "outlets": "HASH (shop)"}

EXISTS = "SELECT count(*), sum(amount) FROM ledger l WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.shop = l.shop)"
NOT_EXISTS = ("SELECT count(*), sum(amount), count(shop) FROM ledger l "
              "WHERE NOT EXISTS (SELECT 1 FROM refunds r WHERE r.shop = l.shop)")
REPARTITIONED = [
    EXISTS,
    NOT_EXISTS,
    "SELECT count(*), sum(amount) FROM ledger WHERE shop IN (SELECT shop FROM refunds)",
    ("SELECT l.shop, count(*) FROM ledger l WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.shop = l.shop "
    "AND r.cost > 10) GROUP BY l.shop ORDER BY 2 DESC, 1 LIMIT 7"),
    ("SELECT count(*) FROM ledger l WHERE l.amount < 50 AND EXISTS (SELECT 1 FROM refunds r "
    "WHERE r.shop = l.shop) AND NOT EXISTS (SELECT 1 FROM refunds r2 WHERE r2.shop = l.shop AND r2.cost = 7)"),
]
NOT_IN = [
    # a NULL in the subquery: no row is TRUE
    "SELECT count(*) FROM ledger WHERE shop NOT IN (SELECT shop FROM refunds)",
    # no NULL in it: rows whose shop has no refund, never a NULL shop
    "SELECT count(*), count(shop) FROM ledger WHERE shop NOT IN (SELECT shop FROM refunds WHERE shop IS NOT NULL)",
    # an empty subquery: every row, NULL shops included
    "SELECT count(*), count(shop) FROM ledger WHERE shop NOT IN (SELECT shop FROM refunds WHERE cost > 1000)",
    # IN compared with false: false keeps a row, NULL (no match, a NULL in the subquery) rejects it
    "SELECT count(*) FROM ledger WHERE (shop IN (SELECT shop FROM refunds)) = false",
    "SELECT count(*) FROM outlets WHERE (shop IN (SELECT shop FROM refunds)) = false",
    "SELECT count(*) FROM outlets WHERE (shop IN (SELECT shop FROM refunds WHERE shop IS NOT NULL)) = false",
    # NOT IN beside a repartitioned EXISTS
    ("SELECT count(*) FROM ledger l WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.shop = l.shop) "
    "AND l.amount NOT IN (SELECT cost FROM refunds WHERE shop > 49000)"),
]
OTHERS = [
    "SELECT count(*), sum(l.amount + r.cost) FROM ledger l JOIN refunds r ON r.shop = l.shop",
    "SELECT count(*), sum(l.amount) FROM ledger l LEFT JOIN refunds r ON r.shop = l.shop WHERE r.id IS NULL",
    "SELECT count(*) FROM ledger l WHERE EXISTS (SELECT 1 FROM outlets o WHERE o.shop = l.shop AND o.city <> 'c3')",
]


@pytest.fixture(scope="module")
def both(gridpg_cluster, plain_pg) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    dsns = (gridpg_cluster.dsn(0), plain_pg)
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
            conn.execute(f"SET search_path = {SCHEMA}")
            for sql in SETUP:
                table = sql.split()[2] if sql.startswith("CREATE TABLE") else None
                if dsn != plain_pg and table in DISTRIBUTION:
                    sql += f" DISTRIBUTE BY {DISTRIBUTION[table]}"
                conn.execute(sql)
    yield dsns
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET search_path = {SCHEMA}")
        out = conn.execute(sql).fetchall()
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in out]


def explain(dsn: str, sql: str) -> str:
    return "\n".join(r[0] for r in rows(dsn, "EXPLAIN " + sql))


def test_semi_and_anti_joins_on_another_column_are_repartitioned_on_both_sides(both) -> None:  # type: ignore[no-untyped-def]
    gridpg, plain = both
    for sql in REPARTITIONED:
        plan = explain(gridpg, sql)
        assert "Partitioned by hash(ledger.shop) like ledger" in plan, plan
        assert "Repartition t_semi21.ledger" in plan and "Repartition DISTINCT t_semi21.refunds" in plan, plan
        assert "coordinator-finish" not in plan and "Broadcast" not in plan, plan
        assert rows(gridpg, sql) == rows(plain, sql), sql


def test_a_table_distributed_by_the_key_stays_in_place(both) -> None:  # type: ignore[no-untyped-def]
    gridpg, plain = both
    sql = OTHERS[2]
    plan = explain(gridpg, sql)
    assert "Partitioned by hash(ledger.shop) like outlets" in plan and "stays in place: outlets" in plan, plan
    assert "Repartition t_semi21.ledger" in plan and "t_semi21.outlets" not in plan, plan
    assert rows(gridpg, sql) == rows(plain, sql)


def test_not_in_keeps_postgresqls_null_semantics(both) -> None:  # type: ignore[no-untyped-def]
    gridpg, plain = both
    answers = [rows(plain, sql) for sql in NOT_IN]
    assert answers[0] == [(0,)] and answers[2] == [(LEDGER, LEDGER - LEDGER // 97)]  # the cases hold
    assert answers[4] == [(0,)] and answers[5] != [(0,)]
    for sql, expected in zip(NOT_IN, answers):
        assert rows(gridpg, sql) == expected, sql
    # the NOT IN's own table is never repartitioned by its column
    assert "Partitioned by" not in explain(gridpg, NOT_IN[0])


def test_joins_and_outer_joins_on_another_column_answer_as_postgresql(both) -> None:  # type: ignore[no-untyped-def]
    gridpg, plain = both
    for sql in OTHERS:
        assert rows(gridpg, sql) == rows(plain, sql), sql


def test_not_exists_keeps_the_rows_whose_key_is_null(both) -> None:  # type: ignore[no-untyped-def]
    gridpg, plain = both
    expected = rows(plain, NOT_EXISTS)
    count, _, with_shop = expected[0]
    assert count - with_shop == LEDGER // 97  # every NULL shop has no refund
    assert rows(gridpg, NOT_EXISTS) == expected
