"""planner/scope.py: PostgreSQL's rule that an aliased join hides the tables inside it."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner.scope import ensure_references_visible
from gridpg.sql.parse import parse_tree


@pytest.mark.parametrize("sql", [
    "SELECT * FROM (a JOIN b USING (i)) AS x WHERE x.t = 1",
    "SELECT * FROM a JOIN b USING (i) WHERE a.t = 1",
    "SELECT * FROM a JOIN b USING (i) AS j WHERE a.t = 1 AND j.i = 2",  # a USING alias hides nothing
    "SELECT * FROM (a JOIN b ON a.i = b.i) AS x WHERE x.i = 1",  # ON sees the join's inputs
    "SELECT * FROM (a JOIN b USING (i)) AS x, generate_series(1, 2) a WHERE a.t = 1",
    "SELECT * FROM (a JOIN b USING (i)) AS x, a() WHERE a.t = 1",
    "SELECT * FROM (a JOIN b USING (i)) AS x JOIN a ON a.i = x.i WHERE a.t = 1",
    "SELECT * FROM a WHERE EXISTS (SELECT 1 FROM (b JOIN c USING (i)) AS x WHERE a.i = x.i)",
    "SELECT s.a.t FROM s.a",
    "SELECT (c).f FROM t",  # a composite column's field
    "UPDATE a SET t = b.t FROM b WHERE a.i = b.i",
    "WITH w AS (SELECT 1 AS i) SELECT w.i FROM (w JOIN b USING (i)) AS x, w",
])
def test_visible_references_pass(sql: str) -> None:
    ensure_references_visible(parse_tree(sql))


@pytest.mark.parametrize(("sql", "table"), [
    ("SELECT * FROM (J1_TBL JOIN J2_TBL USING (i)) AS x WHERE J1_TBL.t = 'one'", "j1_tbl"),
    ("SELECT j1_tbl.* FROM (J1_TBL JOIN J2_TBL USING (i)) AS x", "j1_tbl"),
    ("SELECT * FROM t WHERE k IN (SELECT a.k FROM (a JOIN b USING (k)) x)", "a"),
    ("SELECT * FROM (SELECT * FROM (a JOIN b USING (k)) x ORDER BY b.k) s", "b"),
    ("UPDATE t SET v = 1 FROM (a JOIN b USING (k)) x WHERE a.k = t.k", "a"),
    ("INSERT INTO t SELECT a.k FROM (a JOIN b USING (k)) x", "a"),
    ("SELECT x.i FROM ((a JOIN b USING (i)) AS y JOIN c USING (i)) AS x WHERE y.i = 1", "y"),
])
def test_hidden_references_are_42P01(sql: str, table: str) -> None:
    with pytest.raises(PgError) as caught:
        ensure_references_visible(parse_tree(sql))
    assert caught.value.sqlstate == "42P01"
    assert f'"{table}"' in caught.value.message
