"""`schema.table.column` references lose their schema where they name an unaliased FROM
item (planner/qualnames.py), so scratch copies named after the table still match them."""

from __future__ import annotations

import pytest

from gridpg.planner import qualnames
from gridpg.sql.parse import parse_tree


@pytest.mark.parametrize(("sql", "expected"), [
    ('SELECT q.a.id, "Q"."A".* FROM q.a JOIN "Q"."A" ON true',
     'SELECT a.id, "A".* FROM q.a JOIN "Q"."A" ON true'),
    ("UPDATE q.a SET v = q.a.v + q.b.w FROM q.b WHERE q.a.b_id = q.b.id RETURNING q.a.id",
     "UPDATE q.a SET v = a.v + b.w FROM q.b WHERE a.b_id = b.id RETURNING a.id"),
    ("SELECT (SELECT max(q.b.w) FROM q.b WHERE q.b.id = q.a.b_id) FROM q.a /* q.a.x */",
     "SELECT (SELECT max(b.w) FROM q.b WHERE b.id = a.b_id) FROM q.a /* q.a.x */"),
    ("SELECT q.a.id FROM q.a x", None),  # aliased: PostgreSQL itself refuses q.a.id there
    ("SELECT a.id, a.c.f FROM q.a", None),  # a composite field: not schema.table.column
    ("SELECT 'q.a.id' FROM q.a", None),
])
def test_schema_qualifiers_are_dropped_where_they_name_a_from_item(sql: str, expected: str | None) -> None:
    assert qualnames.rewrite(sql, parse_tree(sql)) == expected
