"""sql/lazy_initplans.py: the sub-selects of conditions wrapped so postgres_fdw keeps them
local (computed when a row needs them), the rest of the text unchanged."""

from gridpg.sql.lazy_initplans import rewrite

WRAP = "CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN "


def test_condition_sub_select_wrapped() -> None:
    sql = "SELECT * FROM e WHERE a < (SELECT nextval('s'))"
    assert rewrite(sql) == f"SELECT * FROM e WHERE a < {WRAP}(SELECT nextval('s')) END"


def test_nested_array_and_join_conditions() -> None:
    sql = "SELECT x FROM e JOIN f ON e.a = ANY (ARRAY(SELECT b FROM g WHERE b > ((SELECT 2))))"
    assert rewrite(sql) == (f"SELECT x FROM e JOIN f ON e.a = ANY ({WRAP}ARRAY(SELECT b FROM g "
                            f"WHERE b > {WRAP}((SELECT 2)) END) END)")


def test_select_list_exists_in_and_set_left_alone() -> None:
    for sql in ("SELECT (SELECT 1), k FROM e WHERE EXISTS (SELECT 1) AND a IN (SELECT 3)",
                "UPDATE t SET a = (SELECT 1)", "SELECT 1", "SELECT (SELECT 1) FROM t",
                "SELECT * FROM e WHERE a < (SELECT"):
        assert rewrite(sql) == sql


def test_unnamed_column_of_a_derived_table_keeps_its_name() -> None:
    sql = "SELECT * FROM e WHERE a < (SELECT s.nextval FROM (SELECT (SELECT nextval('s'))) s)"
    assert rewrite(sql) == f"SELECT * FROM e WHERE a < {WRAP}(SELECT s.nextval FROM (SELECT (SELECT nextval('s'))) s) END"
