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
