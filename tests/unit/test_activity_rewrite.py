"""Cluster views put in place of their names (planner/cluster_views.py; pure)."""

from __future__ import annotations

from gridpg.planner.analyze import relations
from gridpg.planner.cluster_views import VIEWS, rewrite, values_subquery, view_refs
from gridpg.sql.parse import parse_tree


def refs(sql: str):  # type: ignore[no-untyped-def]
    return view_refs(relations(parse_tree(sql)))


def test_only_unqualified_view_names_are_taken() -> None:
    assert [r.name for r in refs("SELECT * FROM gridpg_stat_activity")] == ["gridpg_stat_activity"]
    assert refs("SELECT * FROM public.gridpg_stat_activity") == []
    assert refs("SELECT * FROM pg_stat_activity") == []
    sql = "WITH gridpg_lock_waits AS (SELECT 1) SELECT * FROM gridpg_lock_waits"
    assert refs(sql) == []  # a CTE of that name hides the view


def test_rewrite_keeps_the_rest_of_the_statement() -> None:
    sql = "SELECT 'é', pid FROM gridpg_stat_activity a JOIN gridpg_lock_waits ON true WHERE a.gxid > 1"
    found = refs(sql)
    row = ["coord1", 7, "coord1", 3, "client", "u", "app", None, "idle", None, None, None, None, "q'x"]
    out = rewrite(sql, found, {"gridpg_stat_activity": [row], "gridpg_lock_waits": []})
    assert out.startswith("SELECT 'é', pid FROM (SELECT v.c0::text AS coordinator")
    assert ") a JOIN (SELECT NULL::text AS node" in out
    assert "WHERE false) AS gridpg_lock_waits ON true WHERE a.gxid > 1" in out
    assert "'q''x'::pg_catalog.text" in out
    parse_tree(out)  # still valid SQL


def test_values_subquery_has_every_column_typed() -> None:
    text = values_subquery("gridpg_lock_waits", [[None] * len(VIEWS["gridpg_lock_waits"])])
    assert "v.c1::bigint AS waiting_gxid" in text and "v.c10::timestamptz AS waiting_since" in text
    parse_tree(text)
