"""planner/router.static: what pins a statement to one node, read from its parse tree
(pure; no server)."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze, router
from gridpg.planner.plan import NotApplicable, Strategy
from gridpg.planner.pushdown import Resolved
from gridpg.sql import parse as sqlparse

REF = DistTable("public", "ref", "replication", None, None, None, None, ("dn1", "dn2"))


def _static(sql: str, tables: dict[str, DistTable]) -> router.RouterSpec | NotApplicable:
    tree = sqlparse.parse_tree(sql)
    resolved = [Resolved(r, tables.get(r.name)) for r in analyze.relations(tree)]
    return router.static(tree[sqlparse.node_type(tree)], resolved, False)


def test_a_statement_without_tables_is_not_routed_and_does_not_fail() -> None:
    # what EXPLAIN plans after `SELECT (SELECT count(*) FROM dist) c` ran its subplan:
    # the value is in place and no table is left (it raised IndexError, ending the session)
    for sql in ("SELECT 12000 AS c", "SELECT x FROM (VALUES (1)) v(x) WHERE x < 5", "SELECT * FROM local_only"):
        got = _static(sql, {})
        assert isinstance(got, NotApplicable)
        assert got.strategy is Strategy.ROUTER


def test_reference_tables_still_route_to_a_common_node() -> None:
    got = _static("SELECT * FROM ref WHERE a = 1", {"ref": REF})
    assert isinstance(got, router.RouterSpec) and got.fixed_group == "dn1"
