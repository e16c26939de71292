"""Golden planning tests: statement in, printed plan out, from a hand-made catalog, with no
server. Each tests/unit/golden/*.txt holds cases separated by lines of `====`: optional
`-- params: a, b` / `-- search_path: s1, s2` lines, the statement, a `----` line, and the
printed plan (its lines, then EXPLAIN VERBOSE's reasons). Refresh after an intended change
with GRIDPG_UPDATE_GOLDEN=1 and read the diff."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gridpg.catalog.model import CatalogSnapshot, Colocation, DistTable, Shard, place_shards
from gridpg.errors import PgError
from gridpg.planner.context import BoundParams, CatalogView, SessionView
from gridpg.planner.core import Planner
from gridpg.planner.plan import DistributedPlan, Plan

GOLDEN = Path(__file__).parent / "golden"
GROUPS = ("dn1", "dn2")


def _hash(name: str, column: str, colocation: int, schema: str = "public") -> DistTable:
    return DistTable(schema, name, "hash", column, "integer", colocation, 4, GROUPS)


def snapshot() -> CatalogSnapshot:
    tables = (
        _hash("orders", "id", 1),
        _hash("items", "order_id", 1),
        _hash("customers", "id", 2),
        DistTable("public", "nation", "replication", None, None, None, None, GROUPS),
        DistTable("public", "counters", "modulo", "id", "integer", None, None, GROUPS),
        DistTable("public", "events", "roundrobin", None, None, None, None, GROUPS),
        _hash("accounts", "id", 1, schema="bank"),
    )
    shards = tuple(
        Shard(t.schema, t.name, remainder, group)
        for t in tables if t.method == "hash"
        for remainder, group in place_shards(4, GROUPS).items()
    )
    return CatalogSnapshot(
        epoch=7, colocations=(Colocation(1, 4, "integer"), Colocation(2, 4, "integer")),
        tables=tables, shards=shards,
    )


VIEWS = {
    ("public", "big_orders"): "SELECT o.id, o.total FROM public.orders o WHERE o.total > 100",
    ("public", "local_view"): "SELECT 1 AS one",
}


def render(plan: Plan) -> str:
    lines = plan.describe()
    if isinstance(plan, DistributedPlan):
        lines += plan.describe_reasons()
    return "\n".join(lines)


def plan_text(case: str, catalog: CatalogView) -> str:
    params: list[str | None] = []
    path = ("public",)
    lines = case.strip().splitlines()
    while lines and lines[0].startswith("-- "):
        key, _, value = lines.pop(0)[3:].partition(":")
        items = [v.strip() for v in value.split(",")]
        if key == "params":
            params = [None if v == "NULL" else v for v in items]
        elif key == "search_path":
            path = tuple(items)
    sql = "\n".join(lines)
    try:
        plan = Planner().plan(sql, catalog, SessionView(path), BoundParams.from_texts(params))
    except PgError as exc:
        return f"ERROR {exc.sqlstate}: {exc.message}"
    return render(plan)


def cases(path: Path) -> list[tuple[str, str]]:
    out = []
    for block in path.read_text().split("\n====\n"):
        lines = block.strip("\n").splitlines()
        if lines:
            cut = lines.index("----")
            out.append(("\n".join(lines[:cut]), "\n".join(lines[cut + 1:])))
    return out


FILES = sorted(GOLDEN.glob("*.txt"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_plans(path: Path) -> None:
    catalog = CatalogView(snapshot(), VIEWS)
    found = [(statement, plan_text(statement, catalog)) for statement, _ in cases(path)]
    if os.environ.get("GRIDPG_UPDATE_GOLDEN"):
        path.write_text("\n====\n".join(f"{s.strip()}\n----\n{p}\n" for s, p in found))
    assert [p for _, p in found] == [e for _, e in cases(path)]


def test_the_golden_files_cover_the_strategies() -> None:
    text = "".join(p.read_text() for p in FILES)
    for shown in ("plan: router", "plan: pushdown", "plan: merge\n", "plan: two-phase",
                  "plan: coordinator-finish", "plan: broadcast", "plan: move-rows",
                  "plan: insert", "plan: utility", "plan: catalog", "Not router:", "Not pushdown:",
                  "Not merge:", "Not two-phase:"):
        assert shown in text, shown


def test_planning_takes_milliseconds() -> None:
    catalog = CatalogView(snapshot(), VIEWS)
    statements = [s for path in FILES for s, _ in cases(path)]
    start = time.perf_counter()
    for statement in statements:
        plan_text(statement, catalog)
    per_statement = (time.perf_counter() - start) / len(statements)
    assert per_statement < 0.02, per_statement


def test_a_cached_plan_gets_fresh_scratch_names() -> None:
    """Plans hold placeholders; binding replaces them, so one plan runs twice safely."""
    from gridpg.planner.plan import bind_scratch

    planner = Planner()
    catalog = CatalogView(snapshot(), VIEWS)
    plan = planner.plan("SELECT * FROM orders o JOIN customers c ON o.customer = c.id", catalog,
                        SessionView())
    assert isinstance(plan, DistributedPlan) and len(plan.scratch) == 2
    first = bind_scratch(plan, {s.placeholder: f"{s.placeholder}_x1" for s in plan.scratch})
    second = bind_scratch(plan, {s.placeholder: f"{s.placeholder}_x2" for s in plan.scratch})
    assert first.final_sql != second.final_sql
    assert "gp_gather_s1_x1" in (first.final_sql or "") and "gp_gather_s2_x2" in (second.final_sql or "")
    assert [g.temp for g in first.gather] == ["gp_gather_s1_x1", "gp_gather_s2_x1"]
    assert first.scratch == () and plan.scratch  # the plan itself is unchanged


def test_placeholders_avoid_names_in_the_statement() -> None:
    catalog = CatalogView(snapshot(), VIEWS)
    sql = "SELECT o.*, 'gp_gather_s1' FROM orders o JOIN customers c ON o.customer = c.id"
    plan = Planner().plan(sql, catalog, SessionView())
    assert isinstance(plan, DistributedPlan)
    assert [s.placeholder for s in plan.scratch] == ["gp_gather_s2", "gp_gather_s3"]


def test_multi_node_plans_are_cached_per_pinned_nodes() -> None:
    planner = Planner()
    catalog = CatalogView(snapshot(), VIEWS)
    join = "SELECT * FROM orders o JOIN customers c ON o.customer = c.id"
    assert planner.plan(join, catalog, SessionView()) is planner.plan(join, catalog, SessionView())
    pinned = "SELECT * FROM orders WHERE id IN ($1, $2) ORDER BY id"
    one_node = planner.plan(pinned, catalog, SessionView(), BoundParams.from_texts(["1", "2"]))
    two_nodes = planner.plan(pinned, catalog, SessionView(), BoundParams.from_texts(["1", "7"]))
    assert isinstance(one_node, DistributedPlan) and isinstance(two_nodes, DistributedPlan)
    assert one_node.strategy.value == "router" and two_nodes.groups == ("dn1", "dn2")
    again = planner.plan(pinned, catalog, SessionView(), BoundParams.from_texts(["2", "7"]))
    assert again is two_nodes
    other_path = planner.plan(join, catalog, SessionView(("bank", "public")))
    assert other_path is not planner.plan(join, catalog, SessionView())
    private = CatalogView(snapshot(), VIEWS, cacheable=False)
    assert planner.plan(join, private, SessionView()) is not planner.plan(join, private, SessionView())
    planner.invalidate()
    assert planner.cache == {}


def test_simple_protocol_literals_route_through_the_literal_free_form() -> None:
    """Statements with inlined literals share one analysis; each execution routes by its
    own values (42 lives on dn1, 7 on dn2)."""
    planner = Planner()
    catalog = CatalogView(snapshot(), VIEWS)
    first = planner.plan("SELECT * FROM orders WHERE id = 42", catalog, SessionView(), simple=True)
    second = planner.plan("SELECT * FROM orders WHERE id = 7", catalog, SessionView(), simple=True)
    assert isinstance(first, DistributedPlan) and isinstance(second, DistributedPlan)
    assert (first.strategy.value, first.groups) == ("router", ("dn1",))
    assert (second.strategy.value, second.groups) == ("router", ("dn2",))
    assert ("normalized", "SELECT * FROM orders WHERE id = $1", ("public",)) in planner.cache
    spread = planner.plan("SELECT * FROM orders WHERE id IN (42, 7)", catalog, SessionView(), simple=True)
    assert isinstance(spread, DistributedPlan) and spread.groups == ("dn1", "dn2")
