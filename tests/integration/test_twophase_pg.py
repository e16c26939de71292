"""Two-phase aggregation against a real PostgreSQL: the split must give the same answer.

One server plays every part: schema `whole` holds all rows (the reference, and the catalog
server's view of the definitions), schemas n1, n2, n3 hold a random split of them (the
datanodes; some parts empty). For each query of the corpus: run it on `whole` (expected);
run the partial query on each of n1..n3; create the temp table from the partial query
`WITH NO DATA`, COPY the partial rows into it, run the final query; compare rows (as a
multiset unless the query orders), values exactly (numeric scale included; float8 within
1e-12 relative), and output column names and types.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from gridpg.planner.twophase import NotApplicable, TwoPhasePlan, build_two_phase

psycopg = pytest.importorskip("psycopg")

TEMP = "pg_temp.gp_agg_1"
NODES = ("n1", "n2", "n3")

COLUMNS = """
    id int, g int, k text, i int, b bigint, n numeric(10,2), m numeric, f float8,
    s text, flag bool, d date, sm smallint
"""

CORPUS = [
    # count / sum / avg over every type
    "SELECT count(*) FROM t",
    "SELECT count(i), count(s), count(flag), count(d) FROM t",
    "SELECT sum(i), sum(b), sum(n), sum(m), sum(f), sum(sm) FROM t",
    "SELECT avg(i), avg(b), avg(n), avg(m), avg(f), avg(sm) FROM t",
    "SELECT g, count(*), sum(i), avg(i) FROM t GROUP BY g",
    "SELECT g, avg(n), avg(m), avg(f) FROM t GROUP BY g",
    "SELECT k, sum(b), avg(b) FROM t GROUP BY k",
    "SELECT g, k, count(*) FROM t GROUP BY g, k",
    "SELECT g, k, count(*) FROM t GROUP BY 1, 2",
    "SELECT count(*), sum(i), avg(i), min(i), max(i) FROM t WHERE false",
    "SELECT count(*), sum(n), avg(m), stddev(i), bool_and(flag) FROM e",
    "SELECT g, count(*) FROM e GROUP BY g",
    "SELECT g, sum(i) FROM t WHERE i > 1000000 GROUP BY g",
    # min / max
    "SELECT min(i), max(i), min(n), max(m), min(f), max(f) FROM t",
    "SELECT min(s), max(s), min(d), max(d), min(k) FROM t",
    "SELECT g, min(s), max(d), min(b) FROM t GROUP BY g",
    "SELECT g, max(sm), min(n) FROM t GROUP BY g",
    # booleans
    "SELECT bool_and(flag), bool_or(flag), every(flag) FROM t",
    "SELECT g, bool_and(flag), bool_or(flag), every(flag) FROM t GROUP BY g",
    "SELECT k, every(i > 0) FROM t GROUP BY k",
    # variance family
    "SELECT stddev(i), stddev_samp(i), stddev_pop(i) FROM t",
    "SELECT variance(i), var_samp(i), var_pop(i) FROM t",
    "SELECT stddev(n), variance(n), stddev_pop(m), var_pop(m) FROM t",
    "SELECT stddev(f), variance(f), stddev_pop(f), var_pop(f) FROM t",
    "SELECT stddev(b), var_samp(b), stddev(sm) FROM t",
    "SELECT g, stddev(i), variance(n), var_pop(f) FROM t GROUP BY g",
    "SELECT k, stddev_samp(m), stddev_pop(n) FROM t GROUP BY k",
    "SELECT id % 7, stddev(i), variance(i) FROM t GROUP BY id % 7",
    "SELECT stddev(i) FROM t WHERE id = 3",
    "SELECT variance(i), var_pop(i) FROM t WHERE id IN (3, 4) AND i IS NOT NULL",
    "SELECT g, variance(n) FROM t WHERE g = 1 AND id < 12 GROUP BY g",
    # string_agg / array_agg
    "SELECT g, string_agg(s, ',' ORDER BY s, id) FROM t GROUP BY g",
    "SELECT g, array_agg(i ORDER BY i NULLS FIRST, id) FROM t GROUP BY g",
    "SELECT string_agg(k, '|' ORDER BY id DESC) FROM t",
    "SELECT array_agg(d ORDER BY d, id) FILTER (WHERE flag) FROM t",
    "SELECT g, string_agg(DISTINCT k, ';' ORDER BY k) FROM t GROUP BY g",
    "SELECT g, array_agg(DISTINCT flag ORDER BY flag) FROM t GROUP BY g",
    "SELECT k, count(*), string_agg(s, '' ORDER BY id) FROM t GROUP BY k",
    "SELECT array_agg(id ORDER BY id) FROM t WHERE false",
    "SELECT g, array_agg(n ORDER BY n DESC NULLS LAST, id), sum(i) FROM t GROUP BY g",
    # DISTINCT aggregates
    "SELECT count(DISTINCT k) FROM t",
    "SELECT count(DISTINCT g), count(DISTINCT k), count(*) FROM t",
    "SELECT g, count(DISTINCT k), sum(DISTINCT i) FROM t GROUP BY g",
    "SELECT sum(DISTINCT n), avg(DISTINCT m), avg(DISTINCT i) FROM t",
    "SELECT g, count(DISTINCT i % 5), max(i) FROM t GROUP BY g",
    "SELECT count(DISTINCT k) FILTER (WHERE i > 0), count(*) FILTER (WHERE i > 0) FROM t",
    "SELECT k, stddev(DISTINCT i), count(DISTINCT d) FROM t GROUP BY k",
    # FILTER
    "SELECT count(*) FILTER (WHERE flag), sum(i) FILTER (WHERE g = 1) FROM t",
    "SELECT g, avg(n) FILTER (WHERE i > 0), stddev(i) FILTER (WHERE k = 'a') FROM t GROUP BY g",
    "SELECT g, min(s) FILTER (WHERE flag), bool_or(flag) FILTER (WHERE i < 0) FROM t GROUP BY g",
    "SELECT count(i) FILTER (WHERE false), sum(i) FILTER (WHERE false) FROM t",
    # GROUP BY expressions
    "SELECT g % 2, count(*) FROM t GROUP BY g % 2",
    "SELECT lower(k), count(*) FROM t GROUP BY lower(k)",
    "SELECT date_trunc('month', d), count(*), sum(i) FROM t GROUP BY 1",
    "SELECT extract(year FROM d), max(i) FROM t GROUP BY extract(year FROM d)",
    "SELECT t.g, count(*) FROM t GROUP BY g",
    "SELECT g, g + 1, g * 2 AS twice, count(*) FROM t GROUP BY g",
    "SELECT flag, count(*) FROM t GROUP BY flag",
    "SELECT 1, i::text, count(*) FROM t GROUP BY i",
    "SELECT g FROM t GROUP BY g",
    "SELECT k, d FROM t WHERE id < 40 GROUP BY k, d",
    "SELECT id % 3 AS r, sum(i) FROM t GROUP BY id % 3",
    "SELECT coalesce(k, 'none'), count(*) FROM t GROUP BY coalesce(k, 'none')",
    "SELECT CASE WHEN i > 0 THEN 'pos' ELSE 'other' END, count(*) FROM t GROUP BY 1",
    # HAVING
    "SELECT g, count(*) FROM t GROUP BY g HAVING count(*) > 40",
    "SELECT g, sum(i) FROM t GROUP BY g HAVING avg(n) > 0",
    "SELECT k FROM t GROUP BY k HAVING max(i) > 500 AND min(i) < 0",
    "SELECT g, count(*) FROM t GROUP BY g HAVING stddev(i) IS NOT NULL",
    "SELECT count(*) FROM t HAVING count(*) > 1000000",
    "SELECT count(*) FROM t HAVING count(*) > 0",
    "SELECT g FROM t GROUP BY g HAVING g > 2",
    # ORDER BY, LIMIT, OFFSET
    "SELECT g, count(*) FROM t GROUP BY g ORDER BY count(*) DESC, g",
    "SELECT g, sum(i) AS total FROM t GROUP BY g ORDER BY total NULLS FIRST, g",
    "SELECT g, count(*) FROM t GROUP BY g ORDER BY 2, 1 LIMIT 3",
    "SELECT g, count(*) FROM t GROUP BY g ORDER BY g NULLS LAST LIMIT 2 OFFSET 1",
    "SELECT k, avg(i) FROM t GROUP BY k ORDER BY avg(i) DESC NULLS LAST, k",
    "SELECT g, max(i) FROM t GROUP BY g ORDER BY max(i) - min(i), g",
    "SELECT g, count(*) FROM t GROUP BY g ORDER BY count, g",
    ("SELECT g, count(*) FROM t GROUP BY g ORDER BY sum(n) DESC NULLS FIRST, g"
     " FETCH FIRST 2 ROWS WITH TIES"),
    "SELECT k, count(*) FROM t GROUP BY k ORDER BY k DESC OFFSET 2",
    # DISTINCT
    "SELECT DISTINCT count(*) FROM t GROUP BY g",
    "SELECT DISTINCT g % 2, max(flag::int) FROM t GROUP BY g",
    "SELECT DISTINCT ON (g % 2) g % 2, g, count(*) FROM t GROUP BY g ORDER BY g % 2, g",
    # expressions over aggregates, names
    "SELECT sum(i) / count(*) FROM t",
    "SELECT g, sum(n) / count(*), sum(i)::numeric / nullif(count(i), 0) FROM t GROUP BY g",
    "SELECT round(avg(i), 2), round(avg(n), 1), trunc(avg(f)) FROM t",
    "SELECT coalesce(max(i), 0), coalesce(sum(n), 0) AS s FROM t WHERE g = 6",
    "SELECT g, max(i) - min(i) AS spread, count(*) * 2 FROM t GROUP BY g",
    "SELECT count(*)::int, sum(i)::text, avg(i)::float8 AS af FROM t",
    "SELECT g, CASE WHEN count(*) > 40 THEN 'big' ELSE 'small' END FROM t GROUP BY g",
    "SELECT g, greatest(max(i), 0), least(min(i), 0), nullif(count(*), 0) FROM t GROUP BY g",
    "SELECT 1, 'x', count(*) FROM t",
    "SELECT g, count(*) AS \"Count It\", sum(i) AS \"select\" FROM t GROUP BY g",
    "SELECT g, k, sum(b) FILTER (WHERE b > 0) + sum(i) FROM t GROUP BY g, k",
    "SELECT max(s) || '!' , upper(min(k)) FROM t",
    "SELECT g, avg(i) * 2, stddev(n) + 0 FROM t GROUP BY g",
    # joins and subqueries that stay node-local
    "SELECT t.g, count(*), sum(u.i) FROM t JOIN t AS u ON u.id = t.id GROUP BY t.g",
    "SELECT x.g, count(*) FROM (SELECT g, i FROM t WHERE i > 0) AS x GROUP BY x.g",
    "SELECT g, count(*) FROM t WHERE id IN (SELECT id FROM t WHERE flag) GROUP BY g",
    "SELECT g, count(*) FROM t WHERE EXISTS (SELECT 1 FROM e WHERE e.id = t.id) GROUP BY g",
]


# -- the server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_dsn(plain_database: str) -> str:
    """A database of its own on the session's plain PostgreSQL (the product's cluster code)."""
    return plain_database


# -- the data ----------------------------------------------------------------------------

def _rows(count: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for rid in range(1, count + 1):
        g = rng.choice([1, 2, 3, 4, 5, 6, None])
        if g == 6:  # an all-NULL group
            rows.append((rid, 6, None, None, None, None, None, None, None, None, None, None))
            continue
        maybe = lambda v: None if rng.random() < 0.1 else v
        rows.append((
            rid, g, maybe(rng.choice("abcd")), maybe(rng.randint(-1000, 1000)),
            maybe(rng.randint(-10**15, 10**15)),
            maybe(Decimal(rng.randint(-99999, 99999)) / 100),
            maybe(Decimal(rng.randint(-10**6, 10**6)) / 10 ** rng.randint(0, 4)),
            maybe(rng.randint(-4000, 4000) / 4), maybe(rng.choice(["x", "yy", "Zz", "", "é"])),
            maybe(rng.random() < 0.6), maybe(date(2020, 1, 1) + timedelta(days=rng.randint(0, 900))),
            maybe(rng.randint(-300, 300)),
        ))
    return rows


@pytest.fixture(scope="module")
def conn(pg_dsn: str) -> Iterator[Any]:
    with psycopg.connect(pg_dsn, autocommit=True) as connection:
        rows = _rows(400, seed=20240518)
        rng = random.Random(7)
        parts: dict[str, list[tuple[Any, ...]]] = {name: [] for name in NODES}
        for row in rows:  # n3 stays empty: a datanode without rows of t
            parts[rng.choice(NODES[:2])].append(row)
        for schema, schema_rows in [("whole", rows), *parts.items()]:
            connection.execute(f"CREATE SCHEMA {schema}")
            connection.execute(f"CREATE TABLE {schema}.t ({COLUMNS})")
            connection.execute(f"CREATE TABLE {schema}.e ({COLUMNS})")
            with connection.cursor() as cur, cur.copy(f"COPY {schema}.t FROM STDIN") as copy:
                for row in schema_rows:
                    copy.write_row(row)
        yield connection


# -- simulation --------------------------------------------------------------------------

def _run(conn: Any, schema: str, sql: str) -> tuple[list[tuple[Any, ...]], list[Any]]:
    conn.execute(f"SET search_path = {schema}")
    cur = conn.execute(sql)
    return cur.fetchall(), [(d.name, d.type_code) for d in cur.description]


def _run_two_phase(conn: Any, plan: TwoPhasePlan) -> tuple[list[tuple[Any, ...]], list[Any]]:
    conn.execute("SET search_path = whole")
    conn.execute(f"DROP TABLE IF EXISTS {TEMP}")
    conn.execute(f"CREATE TEMP TABLE {TEMP.split('.')[1]} AS {plan.partial_sql} WITH NO DATA")
    for node in NODES:
        conn.execute(f"SET search_path = {node}")
        chunks = []
        with conn.cursor() as cur, cur.copy(f"COPY ({plan.partial_sql}) TO STDOUT") as out:
            chunks = [bytes(chunk) for chunk in out]
        with conn.cursor() as cur, cur.copy(f"COPY {TEMP} FROM STDIN") as into:
            for chunk in chunks:
                into.write(chunk)
    return _run(conn, "whole", plan.final_sql)


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return ("numeric", str(value))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return (type(value).__name__, value)


def _sort_key(row: tuple[Any, ...]) -> str:
    return repr(tuple(_canonical(v) if not isinstance(v, float) else round(v, 6) for v in row))


def _same_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-300)
    return _canonical(expected) == _canonical(actual)


def _assert_same_rows(sql: str, expected: list[tuple[Any, ...]],
                      actual: list[tuple[Any, ...]]) -> None:
    if "ORDER BY" not in sql:
        expected, actual = sorted(expected, key=_sort_key), sorted(actual, key=_sort_key)
    assert len(expected) == len(actual), (expected, actual)
    for want, got in zip(expected, actual, strict=True):
        assert len(want) == len(got)
        assert all(_same_value(w, g) for w, g in zip(want, got, strict=True)), (want, got)


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 80
    assert len(set(CORPUS)) == len(CORPUS)


@pytest.mark.parametrize("sql", CORPUS)
def test_two_phase_matches_postgres(conn: Any, sql: str) -> None:
    plan = build_two_phase(sql, TEMP)
    assert isinstance(plan, TwoPhasePlan), plan
    expected, expected_columns = _run(conn, "whole", sql)
    actual, actual_columns = _run_two_phase(conn, plan)
    assert actual_columns == expected_columns, (plan.final_sql, expected_columns, actual_columns)
    _assert_same_rows(sql, expected, actual)


@pytest.mark.parametrize("sql", [
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY i) FROM t",
    "SELECT g, sum(i) OVER () FROM t GROUP BY g, i",
    "SELECT g, k, count(*) FROM t GROUP BY ROLLUP (g, k)",
    "SELECT count(DISTINCT (g, k)) FROM t",
    "SELECT g % 2 AS parity, count(*) FROM t GROUP BY parity",
])
def test_refused_queries_still_run_on_postgres(conn: Any, sql: str) -> None:
    """The refusals are real queries (the fallback strategy will run them)."""
    assert isinstance(build_two_phase(sql, TEMP), NotApplicable)
    _run(conn, "whole", sql)
