"""planner/matview.py: what PostgreSQL refuses on a materialized view is refused over
the datanodes' plain table too (pure; no server)."""

from __future__ import annotations

import pytest

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.matview import ensure_readable
from gridpg.planner.pushdown import Resolved
from gridpg.sql import parse as sqlparse

MV = DistTable("public", "mv", "replication", None, None, None, None, ("dn1", "dn2"))
T = DistTable("public", "t", "replication", None, None, None, None, ("dn1", "dn2"))


def _check(sql: str, unpopulated: bool = False) -> None:
    snapshot = CatalogSnapshot(epoch=1, tables=(MV, T), matviews=frozenset({MV.key}),
                               unpopulated=frozenset({MV.key}) if unpopulated else frozenset())
    tree = sqlparse.parse_tree(sql)
    by_name = {"mv": MV, "t": T}
    resolved = [Resolved(r, by_name.get(r.name)) for r in analyze.relations(tree)]
    ensure_readable(tree, sqlparse.node_type(tree), resolved, snapshot)


@pytest.mark.parametrize(("sql", "code"), [
    ("INSERT INTO mv VALUES (1)", "42809"),
    ("UPDATE mv SET a = 1", "42809"),
    ("DELETE FROM mv", "42809"),
    # PostgreSQL's 0A000 "cannot execute MERGE on relation" (merge.sql:117; 42809 before)
    ("MERGE INTO mv USING t ON true WHEN MATCHED THEN DELETE", "0A000"),
    ("SELECT * FROM mv FOR UPDATE", "42809"),
    ("SELECT * FROM t JOIN mv m ON true FOR SHARE OF m", "42809"),
])
def test_refused(sql: str, code: str) -> None:
    with pytest.raises(PgError) as err:
        _check(sql)
    assert err.value.sqlstate == code


def test_reads() -> None:
    _check("SELECT * FROM mv JOIN t USING (a)")
    _check("SELECT * FROM t JOIN mv ON true FOR UPDATE OF t")
    _check("INSERT INTO t SELECT * FROM mv")
    with pytest.raises(PgError) as err:
        _check("SELECT count(*) FROM t WHERE a IN (SELECT a FROM mv)", unpopulated=True)
    assert err.value.sqlstate == "55000" and "REFRESH" in (err.value.hint or "")
    _check("SELECT * FROM t", unpopulated=True)
