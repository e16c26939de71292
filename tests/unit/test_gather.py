"""What the coordinator finish gathers of each table: columns and pushed filters (pure)."""

from __future__ import annotations

import pytest

from gridpg.planner import analyze
from gridpg.planner.gather import Needs, kept_primary_keys, table_needs
from gridpg.sql.parse import parse_tree

COLUMNS = {
    ("s", "users"): ["id", "name", "age", "city"],
    ("s", "logs"): ["log_id", "user_id", "level", "dur_ms"],
}


def needs(sql: str) -> dict[str, Needs]:
    refs = {r.location: ("s", r.name) for r in analyze.relations(parse_tree(sql)) if ("s", r.name) in COLUMNS}
    return {key[1]: value for key, value in table_needs(sql, refs, COLUMNS).items()}


def test_projection_and_single_table_filters() -> None:
    got = needs("SELECT u.name FROM users u JOIN logs l ON l.user_id = u.id WHERE l.level = 'error' AND u.age > 3")
    assert got["users"] == Needs(("id", "name", "age"), "(age > 3)")
    assert got["logs"] == Needs(("user_id", "level"), "(level = 'error')")


def test_count_star_keeps_one_column() -> None:
    assert needs("SELECT count(*) FROM users, logs")["users"].columns == ("id",)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM users u JOIN logs l ON l.user_id = u.id",
    "SELECT l FROM logs l JOIN users u ON u.id = l.user_id",
    "SELECT count(*) FROM users NATURAL JOIN logs",
])
def test_whole_rows_keep_every_column(sql: str) -> None:
    assert needs(sql)["logs"].columns is None


def test_alias_column_list_keeps_every_column() -> None:
    assert needs("SELECT x.c FROM logs x(a, b, c) JOIN users u ON u.id = x.b WHERE x.c = 'w'")["logs"] == Needs(None, None)


@pytest.mark.parametrize("sql", [
    "SELECT u.id FROM users u LEFT JOIN logs l ON l.user_id = u.id WHERE l.level IS NULL",
    "SELECT u.id FROM users u FULL JOIN logs l ON l.user_id = u.id AND l.level = 'x'",
    "SELECT u.id FROM users u JOIN logs l ON l.user_id = u.id WHERE l.dur_ms > (SELECT 1)",
    "SELECT u.id FROM users u JOIN logs l ON l.user_id = u.id WHERE l.dur_ms > random()",
    "SELECT u.id FROM users u, (SELECT 1 AS level) x, logs l WHERE level = 1",
    "SELECT id FROM users WHERE age > (SELECT avg(dur_ms) FROM logs WHERE user_id = id)",
])
def test_conditions_that_must_not_reach_logs(sql: str) -> None:
    assert needs(sql)["logs"].filter is None


def test_outer_join_pushes_on_conditions_to_the_nullable_side_only() -> None:
    got = needs("SELECT u.id FROM users u LEFT JOIN logs l ON l.user_id = u.id AND l.level = 'e' AND u.age > 5 "
                "WHERE u.city = 'oslo'")
    assert got["logs"].filter == "(level = 'e')"
    assert got["users"].filter == "(city = 'oslo')"


def test_references_with_different_filters_are_ored_and_an_unfiltered_one_wins() -> None:
    got = needs("SELECT 1 FROM logs a JOIN logs b ON b.log_id = a.log_id WHERE a.level = 'x' AND b.dur_ms > 2")
    assert got["logs"].filter == "((level = 'x')) OR ((dur_ms > 2))"
    got = needs("SELECT 1 FROM logs a WHERE a.level = 'x' AND EXISTS (SELECT 1 FROM logs b WHERE b.log_id = a.log_id)")
    assert got["logs"].filter is None


def test_select_sql_quotes_names() -> None:
    assert Needs(("Odd col",), "(x > 1)").select_sql("s", "T", []) == 'SELECT "Odd col" FROM s."T" WHERE (x > 1)'


def keys(sql: str) -> dict[str, list[tuple[str, ...]]]:
    from gridpg.planner.gather import correlation_keys

    refs = {r.location: ("s", r.name) for r in analyze.relations(parse_tree(sql)) if ("s", r.name) in COLUMNS}
    return {key[1]: value for key, value in correlation_keys(sql, refs, COLUMNS).items()}


def test_correlation_keys_are_the_inner_columns_of_outer_equalities() -> None:
    assert keys("SELECT id FROM users u WHERE age > (SELECT count(*) FROM logs WHERE user_id = u.id "
                "AND level = 'x')") == {"logs": [("user_id",)]}
    assert keys("SELECT id FROM users WHERE age > 1 OR EXISTS (SELECT 1 FROM logs l WHERE l.user_id = id "
                "AND l.log_id = age)") == {"logs": [("user_id", "log_id")]}
    assert keys("SELECT id FROM users WHERE EXISTS (SELECT count(*) FROM logs l WHERE l.user_id = id)") \
        == {"logs": [("user_id",)]}
    assert keys("SELECT id FROM users WHERE EXISTS (SELECT 1 FROM logs l WHERE l.user_id = id LIMIT 1)") \
        == {"logs": [("user_id",)]}
    assert keys("SELECT id FROM users WHERE id IN (SELECT user_id FROM logs)") == {}
    assert keys("SELECT 1 FROM users u JOIN logs l ON l.user_id = u.id") == {}


def test_exists_joined_by_postgresql_needs_no_lookup_index() -> None:
    """A top-level (NOT) EXISTS over a plain subquery becomes a semi/anti join on the node
    (TPC-H Q4, Q21, Q22): its copy is hashed, not probed per row, so it gets no index."""
    assert keys("SELECT id FROM users WHERE EXISTS (SELECT 1 FROM logs l WHERE l.user_id = id AND l.log_id = age)") == {}
    assert keys("SELECT id FROM users u WHERE age > 3 AND NOT EXISTS (SELECT * FROM logs WHERE user_id = u.id)") == {}


def test_or_of_ands_implies_each_tables_own_disjuncts() -> None:
    """PostgreSQL's "extract restriction OR clauses" (TPC-H Q19): every disjunct names both
    tables, yet each implies a filter of each table alone."""
    got = needs("SELECT count(*) FROM users u, logs l WHERE (l.user_id = u.id AND u.age < 30 AND l.level = 'e') "
                "OR (l.user_id = u.id AND u.city = 'oslo' AND l.dur_ms > 5 AND l.level = 'w')")
    assert got["users"].filter == "(((age < 30)) OR ((city = 'oslo')))"
    assert got["logs"].filter == "(((level = 'e')) OR ((dur_ms > 5) AND (level = 'w')))"


@pytest.mark.parametrize("sql", [
    # a disjunct with nothing of logs alone: any logs row may satisfy it
    "SELECT 1 FROM users u, logs l WHERE (l.user_id = u.id AND l.level = 'e') OR (l.user_id = u.id AND u.age < 3)",
    # on the nullable side's WHERE: IS NULL of a null-extended row
    "SELECT 1 FROM users u LEFT JOIN logs l ON l.user_id = u.id WHERE (l.level IS NULL AND u.age < 3) OR l.dur_ms > 1",
    # under NOT, an OR is an AND of negations: nothing is implied of one table
    "SELECT 1 FROM users u, logs l WHERE l.user_id = u.id AND NOT ((l.level = 'e' AND u.age < 3) OR l.dur_ms > 1)",
])
def test_or_that_implies_nothing_of_logs(sql: str) -> None:
    assert needs(sql)["logs"].filter is None


def test_or_in_a_left_joins_on_filters_the_nullable_side_only() -> None:
    got = needs("SELECT 1 FROM users u LEFT JOIN logs l ON l.user_id = u.id AND ((l.level = 'e' AND u.age < 3) "
                "OR (l.level = 'w' AND u.age > 60))")
    assert got["logs"].filter == "(((level = 'e')) OR ((level = 'w')))"
    assert got["users"].filter is None


def test_in_list_over_a_complete_table_filters_like_constants() -> None:
    """`x IN (SELECT c FROM t)`, t whole on every node (replicated, a subplan's result):
    the same list everywhere, so it filters below an exchange; not when t is partitioned."""
    columns = {**COLUMNS, ("s", "cities"): ["city", "coastal"]}
    sql = "SELECT 1 FROM users u JOIN logs l ON l.user_id = u.id WHERE u.city IN (SELECT city FROM cities)"
    refs = {r.location: ("s", r.name) for r in analyze.relations(parse_tree(sql))}
    complete = table_needs(sql, refs, columns, frozenset({("s", "cities")}))
    assert complete[("s", "users")].filter == "(city IN (SELECT city FROM cities))"
    assert table_needs(sql, refs, columns)[("s", "users")].filter is None
    for other in ("SELECT city FROM cities WHERE coastal", "SELECT lower(city) FROM cities",
                  "SELECT city FROM cities LIMIT 3", "SELECT age FROM cities"):
        text = sql.replace("SELECT city FROM cities", other)
        refs = {r.location: ("s", r.name) for r in analyze.relations(parse_tree(text))}
        assert table_needs(text, refs, columns, frozenset({("s", "cities")}))[("s", "users")].filter is None, other


# -- the primary key a copy keeps ------------------------------------------------------


def kept(sql: str, keys: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    by_table = {("s", name): cols for name, cols in keys.items()}
    got = needs(sql)
    return {k[1]: v for k, v in kept_primary_keys(sql, by_table, {("s", n): got[n] for n in got}).items()}


def test_a_copy_keeps_the_key_its_group_by_lists() -> None:
    sql = "SELECT u.id, u.name, count(*) FROM s.users u JOIN s.logs l ON l.user_id = u.id GROUP BY u.id"
    assert kept(sql, {"users": ["id"], "logs": ["log_id"]}) == {"users": ("id",)}


def test_no_key_without_a_group_by_naming_all_of_it() -> None:
    assert kept("SELECT u.name FROM s.users u JOIN s.logs l ON l.user_id = u.id", {"users": ["id"]}) == {}
    sql = "SELECT u.city, count(*) FROM s.users u JOIN s.logs l ON l.user_id = u.id GROUP BY u.city"
    assert kept(sql, {"users": ["id"]}) == {}
    sql = "SELECT l.level, count(*) FROM s.logs l GROUP BY l.log_id"
    assert kept(sql, {"logs": ["log_id", "user_id"]}) == {}


def test_a_key_grouped_by_position_counts() -> None:
    # dvdrental's questions: `SELECT (customer.customer_id), first_name || ... GROUP BY 1`
    sql = ("SELECT (u.id), u.name || ' ' || u.city AS who, count(l.dur_ms) "
           "FROM s.users u LEFT JOIN s.logs l ON l.user_id = u.id GROUP BY 1 ORDER BY 3")
    assert kept(sql, {"users": ["id"]}) == {"users": ("id",)}
    assert kept(sql.replace("GROUP BY 1", "GROUP BY 2"), {"users": ["id"]}) == {}
    assert kept(sql.replace("GROUP BY 1", "GROUP BY 7"), {"users": ["id"]}) == {}


def test_a_key_in_a_subquery_group_by_counts() -> None:
    sql = ("SELECT count(*) FROM (SELECT u.id, u.name, max(l.dur_ms) FROM s.users u "
           "LEFT JOIN s.logs l ON l.user_id = u.id GROUP BY u.id) x")
    assert kept(sql, {"users": ["id"]}) == {"users": ("id",)}
