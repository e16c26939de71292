"""planner/shadow_rows.typed_whole_rows (h-small25): whole-row uses of shadows, cast."""

from gridpg.planner.shadow_rows import typed_whole_rows

TABLES = {"p": ("s", "person")}
COLUMNS = {"p": {"name", "age"}}


def test_attribute_notation_and_whole_rows_are_cast() -> None:
    sql = "SELECT p.name, (p.hobbies).name, f(p), p FROM person p WHERE p.age > 1"
    assert typed_whole_rows(sql, TABLES, COLUMNS) == (
        "SELECT p.name, ((ROW(p.*)::s.person).hobbies).name, f((ROW(p.*)::s.person)),"
        " (ROW(p.*)::s.person) AS p FROM person p WHERE p.age > 1")


def test_columns_are_left_alone() -> None:
    sql = "SELECT name, p.age FROM person p"
    assert typed_whole_rows(sql, TABLES, COLUMNS) == sql
    # a one-name reference that is also a column means the column
    assert typed_whole_rows("SELECT name FROM person name", {"name": ("s", "person")},
                            {"name": {"name", "age"}}) == "SELECT name FROM person name"


def test_star_as_a_value_is_cast_but_not_in_select_lists_or_row() -> None:
    tables, columns = {"h": ("s", "hobbies_r")}, {"h": {"name", "person"}}
    assert typed_whole_rows("SELECT h.*, ROW(h.*), f(h.*) FROM hobbies_r h", tables, columns) == (
        "SELECT h.*, ROW(h.*), f((ROW(h.*)::s.hobbies_r)) FROM hobbies_r h")


def test_table_type_names_get_the_tables_schema() -> None:
    # on the armed path the bare name finds the shadow's type first (42846)
    sql = "SELECT CAST(h.age AS int), NULL::person[] FROM person h"
    assert typed_whole_rows(sql, {"h": ("s", "person")}, {"h": {"name", "age"}}) == (
        "SELECT CAST(h.age AS int), NULL::s.person[] FROM person h")
