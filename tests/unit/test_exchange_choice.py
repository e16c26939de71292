"""The exchange planner's choices from the estimates handed to it (pure: no server).

planner/estimates.py lists the EXPLAINs the planner needs; the executor gathers them
(executor/estimates.py); planner/broadcast.plan_broadcast and
planner/estimates.small_in_subqueries decide from the values alone. Here the values are
written by hand, and each choice flips when its estimate crosses the line."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze
from gridpg.planner.broadcast import REDUCTION_LIMIT, BroadcastPlan, plan_broadcast
from gridpg.planner.estimates import (
    SMALL_IN_ROWS,
    Estimate,
    TableEstimate,
    in_subquery_requests,
    small_in_subqueries,
    table_estimates,
    table_requests,
)
from gridpg.planner.gather import table_needs
from gridpg.sql.parse import parse_tree

GROUPS = ("dn1", "dn2")
INT4 = 23


def hash_table(name: str, column: str) -> DistTable:
    return DistTable("public", name, "hash", column, "int4", 1, 32, GROUPS)


TABLES = {
    "orders": hash_table("orders", "o_orderkey"),
    "customer": hash_table("customer", "c_custkey"),
    "part": hash_table("part", "p_partkey"),
    "nation": DistTable("public", "nation", "replication", None, None, None, None, GROUPS),
    "scratch": DistTable("gridpg_shards", "gp_cte_1", "replication", None, None, None, None, GROUPS),
}
COLUMNS = {
    ("public", "orders"): ["o_orderkey", "o_custkey", "o_comment"],
    ("public", "customer"): ["c_custkey", "c_nationkey", "c_phone", "c_acctbal"],
    ("public", "part"): ["p_partkey", "p_brand"],
    ("public", "nation"): ["n_nationkey", "n_name"],
    ("gridpg_shards", "gp_cte_1"): ["k"],
}
TYPES = {("public", "orders"): {"o_orderkey": INT4, "o_custkey": INT4},
         ("public", "customer"): {"c_custkey": INT4, "c_nationkey": INT4},
         ("public", "part"): {"p_partkey": INT4}}

Q22 = ("SELECT count(*) FROM customer WHERE c_acctbal > 7000 AND "
       "NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)")


def refs_of(sql: str) -> dict[int, DistTable]:
    return {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}


def plan(sql: str, estimates: dict[str, TableEstimate | float]) -> BroadcastPlan | str:
    refs = refs_of(sql)
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, COLUMNS)
    given = {TABLES[name].key: value for name, value in estimates.items()}
    return plan_broadcast(sql, refs, COLUMNS, needs, given, lambda a, b: a.method == b.method == "hash",
                          lambda t: f"gp_bc_{t.name}", TYPES)


def test_the_planner_asks_per_table_for_its_filtered_rows_and_for_a_filtered_sharded_table_its_size() -> None:
    sql = "SELECT n_name, count(*) FROM customer, nation, scratch WHERE c_nationkey = n_nationkey AND k = c_custkey " \
          "AND c_acctbal > 10 GROUP BY n_name"
    refs = refs_of(sql)
    tables = {t.key: t for t in refs.values()}
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, COLUMNS)
    got = {(r.kind, r.subject): (r.group, r.sql, r.nodes, r.in_block) for r in table_requests(tables, needs, COLUMNS)}
    assert got == {
        ("filtered", "public.customer"): ("dn1", ("SELECT c_custkey, c_nationkey, c_acctbal FROM public.customer "
                                          "WHERE (c_acctbal > 10)"), 2, False),
        ("whole", "public.customer"): ("dn1", "SELECT 1 FROM public.customer", 2, False),
        ("filtered", "public.nation"): ("dn1", "SELECT n_nationkey, n_name FROM public.nation", 1, False),
        # a subplan's result: only the statement's own block sees it
        ("filtered", "gridpg_shards.gp_cte_1"): ("dn1", "SELECT k FROM gridpg_shards.gp_cte_1", 1, True),
    }
    answers = {("filtered", "public.customer"): Estimate(300.0, 14), ("whole", "public.customer"): Estimate(9000.0, 4)}
    assert table_estimates(tables, answers) == {
        ("public", "customer"): TableEstimate(300.0, 14, 9000.0),
        ("public", "nation"): TableEstimate(0.0, 0, None),  # no answer: nothing known
        ("gridpg_shards", "gp_cte_1"): TableEstimate(0.0, 0, None),
    }


def test_the_anchor_is_the_biggest_table_in_bytes_not_in_rows() -> None:
    sql = "SELECT count(*) FROM customer, part WHERE c_acctbal > p_partkey"
    by_rows = plan(sql, {"customer": 15000.0, "part": 20000.0})
    assert isinstance(by_rows, BroadcastPlan) and by_rows.anchor == ("part",)
    by_bytes = plan(sql, {"customer": TableEstimate(15000.0, 40), "part": TableEstimate(20000.0, 4)})
    assert isinstance(by_bytes, BroadcastPlan) and by_bytes.anchor == ("customer",)
    assert [m.table.name for m in by_bytes.moves] == ["part"] and by_bytes.moves[0].width == 4
    assert by_bytes.moved_size == 20000 * 4 * 2 and by_bytes.gathered_size == 15000 * 40 + 20000 * 4


def test_moving_more_bytes_than_a_coordinator_finish_gathers_is_refused() -> None:
    sql = "SELECT count(*) FROM customer, part, orders WHERE c_acctbal > p_partkey AND o_comment > p_brand"
    # two broadcast to two nodes (twice their bytes) against all three gathered once
    same = {"customer": TableEstimate(10000.0, 10), "part": TableEstimate(10000.0, 10)}
    got = plan(sql, {**same, "orders": TableEstimate(10000.0, 10)})
    assert isinstance(got, str) and "costs more than gathering" in got and "bytes" in got
    wide = plan(sql, {**same, "orders": TableEstimate(10000.0, 30)})
    assert isinstance(wide, BroadcastPlan) and wide.anchor == ("orders",)
    assert wide.moved_size == 400000 and wide.gathered_size == 500000


def test_a_repartition_is_cut_by_the_anchor_keys_only_when_they_are_few() -> None:
    few = plan(Q22, {"customer": TableEstimate(19000.0, 12), "orders": TableEstimate(1500000.0, 4, 1500000.0)})
    assert isinstance(few, BroadcastPlan) and few.anchor == ("customer",)
    (move,) = few.moves
    assert (move.table.name, move.key, move.distinct) == ("orders", "o_custkey", True)
    assert move.reduce_by == "(c_acctbal > 7000)" and not move.scan_once
    many = plan(Q22, {"customer": TableEstimate(REDUCTION_LIMIT + 1.0, 12),
                      "orders": TableEstimate(1500000.0, 4, 1500000.0)})
    assert isinstance(many, BroadcastPlan) and many.moves[0].reduce_by is None
    # keys as many as the rows they would cut: no reduction either
    same = plan(Q22, {"customer": TableEstimate(3000.0, 12), "orders": TableEstimate(3000.0, 4)})
    assert isinstance(same, BroadcastPlan) and same.moves[0].reduce_by is None


def test_a_filtered_repartition_reads_each_source_once_when_its_rows_are_few_against_the_table() -> None:
    sql = "SELECT count(*) FROM customer, orders WHERE o_custkey = c_custkey AND o_comment LIKE '%x%'"
    once = plan(sql, {"customer": TableEstimate(150000.0, 8), "orders": TableEstimate(40000.0, 8, 1500000.0)})
    assert isinstance(once, BroadcastPlan) and once.anchor == ("customer",)
    assert once.moves[0].key == "o_custkey" and once.moves[0].scan_once
    assert "one scan per source, kept by partition on load" in "\n".join(once.describe())
    # filtered rows sent to both nodes would outnumber the table: one split read per destination
    split = plan(sql, {"customer": TableEstimate(1600000.0, 8), "orders": TableEstimate(800000.0, 8, 1500000.0)})
    assert isinstance(split, BroadcastPlan) and not split.moves[0].scan_once
    unknown = plan(sql, {"customer": TableEstimate(150000.0, 8), "orders": TableEstimate(40000.0, 8)})
    assert isinstance(unknown, BroadcastPlan) and not unknown.moves[0].scan_once


def test_explain_prints_the_estimates_behind_the_choice() -> None:
    got = plan(Q22, {"customer": TableEstimate(19000.0, 12), "orders": TableEstimate(1500000.0, 4, 1500000.0)})
    assert isinstance(got, BroadcastPlan)
    assert got.describe() == [
        "  Anchor (stays on dn1, dn2): customer",
        ("  Repartition DISTINCT public.orders (o_custkey) whose o_custkey customer has WHERE (c_acctbal > 7000) "
        "by hash(o_custkey) like customer to dn1, dn2 as gridpg_shards.gp_bc_orders, ~1500000 rows x 4 bytes"),
        "  Rows moved: ~750000, ~3000000 bytes (a coordinator finish: ~1519000, ~6228000 bytes)",
    ]


def test_in_subqueries_run_first_when_estimated_small() -> None:
    texts = ["SELECT p_partkey FROM part WHERE p_brand = 'x'", "SELECT o_custkey FROM orders",
             "SELECT o_custkey FROM orders WHERE o_orderkey = $1"]
    pairs = [(t, t.replace("SELECT", "SELECT DISTINCT", 1)) for t in texts]
    requests = in_subquery_requests(pairs, GROUPS)
    assert [(r.subject, r.sql, r.group, r.nodes) for r in requests] == [
        (texts[0], pairs[0][1], "dn1", 2), (texts[1], pairs[1][1], "dn1", 2)]
    answers = {("in", texts[0]): Estimate(SMALL_IN_ROWS, 4), ("in", texts[1]): Estimate(SMALL_IN_ROWS + 1.0, 4)}
    assert small_in_subqueries(pairs, answers) == [texts[0]]
    assert small_in_subqueries(pairs, {}) == []
    assert in_subquery_requests(pairs, ()) == ()
