"""planner/lazy_initplans.py: the volatile sub-selects of conditions wrapped so that
postgres_fdw keeps them local (computed when a row needs them), the rest of the text
unchanged."""

from gridpg.planner.lazy_initplans import rewrite

WRAP = "CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN "
LB = "gridpg_lb_calls.nextval('public.s'::text::pg_catalog.regclass)"


def test_condition_sub_select_wrapped() -> None:
    sql = f"SELECT * FROM e WHERE a < (SELECT {LB} AS nextval)"
    assert rewrite(sql) == f"SELECT * FROM e WHERE a < {WRAP}(SELECT {LB} AS nextval) END"


def test_nested_array_and_join_conditions() -> None:
    sql = "SELECT x FROM e JOIN f ON e.a = ANY (ARRAY(SELECT b FROM g WHERE b > ((SELECT random()))))"
    assert rewrite(sql) == (f"SELECT x FROM e JOIN f ON e.a = ANY ({WRAP}ARRAY(SELECT b FROM g "
                            f"WHERE b > {WRAP}((SELECT random())) END) END)")


def test_user_volatile_functions_by_name() -> None:
    sql = "SELECT * FROM e WHERE a < (SELECT s.bump(1))"
    assert rewrite(sql) == sql
    assert rewrite(sql, frozenset({"bump"})) == f"SELECT * FROM e WHERE a < {WRAP}(SELECT s.bump(1)) END"
    assert rewrite("SELECT * FROM e WHERE a < (SELECT pg_catalog.bump(1))", frozenset({"bump"})) \
        == "SELECT * FROM e WHERE a < (SELECT pg_catalog.bump(1))"


def test_pure_select_list_exists_in_and_set_left_alone() -> None:
    for sql in ("SELECT (SELECT nextval('s')), k FROM e WHERE EXISTS (SELECT nextval('s')) "
                "AND a IN (SELECT nextval('s'))",
                "UPDATE t SET a = (SELECT nextval('s'))", "SELECT 1", "SELECT (SELECT 1) FROM t",
                "SELECT * FROM e WHERE a < (SELECT max(b) FROM g)",  # shipped: filtered remotely
                "SELECT * FROM e WHERE a < (SELECT"):
        assert rewrite(sql) == sql


def test_unnamed_column_of_a_derived_table_keeps_its_name() -> None:
    sql = "SELECT * FROM e WHERE a < (SELECT s.nextval FROM (SELECT (SELECT nextval('s'))) s)"
    assert rewrite(sql) == f"SELECT * FROM e WHERE a < {WRAP}(SELECT s.nextval FROM (SELECT (SELECT nextval('s'))) s) END"


def test_where_with_a_sequence_call_per_row_kept_in_order() -> None:
    sql = "SELECT k FROM w WHERE md5(k::text) = 'x' AND k < nextval('s')"
    keep = "CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN "
    assert rewrite(sql) == (f"SELECT k FROM w WHERE {keep}md5(CAST(k AS text)) = 'x' END "
                            f"AND {keep}k < nextval('s') END")
    # the cheapest conditions stay shipped: PostgreSQL evaluates them first too
    sql = "SELECT * FROM t WHERE id = 5 AND x < nextval('s') AND v IS NULL AND d > '2020-01-01'::date"
    assert rewrite(sql) == (f"SELECT * FROM t WHERE id = 5 AND {keep}x < nextval('s') END AND v IS NULL "
                            "AND d > CAST('2020-01-01' AS date)")
    for alone in ("SELECT k FROM w WHERE k < nextval('s')",  # (one condition: no order to keep)
                  "SELECT k FROM w WHERE k > 1 AND k < random()",  # (no side effect)
                  "SELECT k FROM w WHERE md5(k) = 'x' AND k < nextval('s') FOR UPDATE",  # (locks)
                  "UPDATE w SET v = 1 WHERE md5(k) = 'x' AND bump(k) > 0",
                  "SELECT k FROM w WHERE k > 1 AND k < (SELECT max(x) FROM s) AND nextval_x(k) > 0"):
        assert rewrite(alone, frozenset({"bump"})) == alone
