"""Aggregates the planner has no name for (user-defined ones, regr_*) are combined across
nodes: found by the regression replay, where `SELECT regr_sxx(b, a) FROM aggtest` over a
distributed table returned one row per datanode."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import database_on

SETUP = [
    "CREATE FUNCTION {s}.add2(int8, int4) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT $1 + $2'",
    "CREATE AGGREGATE {s}.mysum(int4) (SFUNC = {s}.add2, STYPE = int8, INITCOND = '0')",
    "CREATE TABLE {s}.t (id int PRIMARY KEY, g int, a float8, b float8)",
    "INSERT INTO {s}.t SELECT i, i % 3, i * 1.5, i * i FROM generate_series(1, 60) i",
]
QUERIES = [
    "SELECT {s}.mysum(id) FROM {s}.t",
    "SELECT regr_sxx(b, a), regr_syy(b, a), regr_slope(b, a) FROM {s}.t",
    "SELECT {s}.mysum(id) FROM {s}.t ORDER BY 1 LIMIT 1",
    "SELECT g, {s}.mysum(id) FROM {s}.t GROUP BY g ORDER BY g",
    "SELECT count(*) FILTER (WHERE g = 1) FROM {s}.t",
    "SELECT x FROM (SELECT {s}.mysum(id) AS x FROM {s}.t) s JOIN {s}.t u ON u.id = 1",
]


@pytest.fixture(scope="module")
def plain(plain_pg: str) -> str:
    return database_on(plain_pg, "user_aggregates")


@pytest.mark.parametrize("query", QUERIES)
def test_user_and_unlisted_aggregates_equal_postgresql(gridpg_cluster: Cluster, schema: str, plain: str,
                                                       query: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as grid, \
            psycopg.connect(plain, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg.execute(f'CREATE SCHEMA "{schema}"')
        for statement in SETUP:
            grid.execute(statement.format(s=schema))
            pg.execute(statement.format(s=schema))
        sql = query.format(s=schema)
        expected = pg.execute(sql).fetchall()
        got = grid.execute(sql).fetchall()
        assert len(got) == len(expected), (sql, got, expected)
        for mine, theirs in zip(got, expected):
            assert mine == pytest.approx(theirs, rel=1e-9), sql
