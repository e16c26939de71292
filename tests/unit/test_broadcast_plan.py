"""Broadcast exchange planning over TPC-H-shaped tables (pure: no server)."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze
from gridpg.planner.broadcast import BroadcastPlan, plan_broadcast
from gridpg.planner.gather import Needs, table_needs
from gridpg.sql.parse import parse_tree

GROUPS = ("dn1", "dn2")


def hash_table(name: str, column: str) -> DistTable:
    return DistTable("public", name, "hash", column, "int4", 1, 32, GROUPS)


TABLES = {
    "lineitem": hash_table("lineitem", "l_orderkey"),
    "orders": hash_table("orders", "o_orderkey"),
    "customer": hash_table("customer", "c_custkey"),
    "part": hash_table("part", "p_partkey"),
    "nation": DistTable("public", "nation", "replication", None, None, None, None, GROUPS),
    "logs": DistTable("public", "logs", "roundrobin", None, None, None, None, GROUPS),
}
COLUMNS = {
    ("public", "lineitem"): ["l_orderkey", "l_partkey", "l_quantity", "l_shipdate"],
    ("public", "orders"): ["o_orderkey", "o_custkey", "o_orderdate"],
    ("public", "customer"): ["c_custkey", "c_nationkey", "c_mktsegment"],
    ("public", "part"): ["p_partkey", "p_brand"],
    ("public", "nation"): ["n_nationkey", "n_name"],
    ("public", "logs"): ["log_id", "c_id"],
}
ROWS = {"lineitem": 600000, "orders": 150000, "customer": 15000, "part": 20000, "nation": 25, "logs": 1000}


def plan(sql: str, types: dict[tuple[str, str], dict[str, int]] | None = None) -> BroadcastPlan | str:
    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, COLUMNS)
    rows = {t.key: float(ROWS[t.name]) for t in refs.values()}
    return plan_broadcast(sql, refs, COLUMNS, needs, rows, lambda a, b: a.method == b.method == "hash",
                          lambda t: f"gp_bc_{t.name}", types)


def test_biggest_table_stays_with_its_colocated_partner_and_the_rest_is_broadcast() -> None:
    got = plan("SELECT n_name, sum(l_quantity) FROM customer, orders, lineitem, nation "
               "WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND c_nationkey = n_nationkey "
               "AND c_mktsegment = 'B' GROUP BY n_name")
    assert isinstance(got, BroadcastPlan)
    assert set(got.anchor) == {"orders", "lineitem"}
    assert [m.table.name for m in got.moves] == ["customer"]  # nation is replicated already
    # c_mktsegment filters the copy and nothing else reads it: it stays behind, its
    # conjunct reads true over the copy
    assert got.moves[0].needs.columns == ("c_custkey", "c_nationkey")
    assert got.moves[0].needs.filter == "(c_mktsegment = 'B')"
    assert "gridpg_shards.gp_bc_customer AS customer" in got.sql
    assert "c_mktsegment" not in got.sql and "AND TRUE" in got.sql
    assert "lineitem" in got.sql and "gridpg_shards.gp_bc_lineitem" not in got.sql


def test_correlated_subquery_on_the_distribution_column_stays_local() -> None:
    got = plan("SELECT count(*) FROM orders WHERE EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey)")
    assert isinstance(got, BroadcastPlan) and not got.moves


def test_in_subquery_grouped_by_the_distribution_column_stays_local() -> None:
    got = plan("SELECT count(*) FROM orders, customer WHERE c_custkey = o_custkey AND o_orderkey IN "
               "(SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 3)")
    assert isinstance(got, BroadcastPlan)
    assert [m.table.name for m in got.moves] == ["customer"]


def test_subquery_correlated_on_another_column_is_broadcast_or_refused() -> None:
    got = plan("SELECT sum(l_quantity) FROM lineitem, part WHERE p_partkey = l_partkey AND p_brand = 'x' "
               "AND l_quantity < (SELECT avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)")
    assert isinstance(got, str) and "costs more than gathering" in got


def test_anchor_never_on_the_nullable_side() -> None:
    got = plan("SELECT c_custkey, count(o_orderkey) FROM customer LEFT JOIN orders ON c_custkey = o_custkey "
               "GROUP BY c_custkey")
    assert isinstance(got, str) and "orders: the anchor is on the nullable side of a LEFT JOIN" in got
    got = plan("SELECT count(*) FROM customer FULL JOIN orders ON c_custkey = o_custkey")
    assert isinstance(got, str) and "FULL JOIN" in got


def test_roundrobin_anchor_has_no_colocated_partners() -> None:
    got = plan("SELECT count(*) FROM logs l JOIN customer c ON c.c_custkey = l.c_id")
    assert isinstance(got, BroadcastPlan) and got.anchor == ("customer",)


def test_anchor_inside_a_pass_through_subquery_in_from() -> None:
    got = plan("SELECT y, sum(v) FROM (SELECT extract(year FROM o_orderdate) AS y, l_quantity AS v "
               "FROM lineitem, orders, customer WHERE o_orderkey = l_orderkey AND c_custkey = o_custkey) x "
               "GROUP BY y")
    assert isinstance(got, BroadcastPlan) and set(got.anchor) == {"lineitem", "orders"}


def test_set_operations_and_locking_are_refused() -> None:
    assert isinstance(plan("SELECT o_orderkey FROM orders UNION SELECT c_custkey FROM customer"), str)
    assert isinstance(plan("SELECT 1 FROM orders, customer WHERE o_custkey = c_custkey FOR UPDATE"), str)


def test_not_in_is_never_made_local() -> None:
    """NOT IN is NULL when the subquery returns a NULL anywhere: each node must see all of it."""
    got = plan("SELECT count(*) FROM customer WHERE c_custkey NOT IN (SELECT l_orderkey FROM lineitem)")
    assert isinstance(got, str) or [m.table.name for m in got.moves] == ["lineitem"]
    got = plan("SELECT count(*) FROM orders WHERE o_orderkey NOT IN (SELECT l_orderkey FROM lineitem)")
    assert isinstance(got, str) or "lineitem" in [m.table.name for m in got.moves]


def test_grouped_from_subquery_keeps_its_groups_on_one_node() -> None:
    """TPC-H Q13's shape: the FROM subquery groups by the anchor's partitioning column, so
    the outer grouping can combine the nodes' rows (the subquery's groups are final)."""
    types = {("public", "customer"): {"c_custkey": 23}, ("public", "orders"): {"o_custkey": 23, "o_orderkey": 23}}
    sql = ("SELECT c_count, count(*) AS custdist FROM (SELECT c_custkey, count(o_orderkey) FROM customer "
           "LEFT OUTER JOIN orders ON c_custkey = o_custkey AND o_comment NOT LIKE '%x%' GROUP BY c_custkey) "
           "AS c_orders (c_custkey, c_count) GROUP BY c_count")
    got = plan(sql, types)
    assert isinstance(got, BroadcastPlan), got
    assert got.anchor == ("customer",)
    assert [(m.table.name, m.key) for m in got.moves] == [("orders", "o_custkey")]
    # grouped by another column: a group's rows are on several nodes
    other = sql.replace("GROUP BY c_custkey)", "GROUP BY c_nationkey)").replace("SELECT c_custkey,", "SELECT c_nationkey,")
    got = plan(other, types)
    assert isinstance(got, str) and "GROUP BY does not hold the anchor's partitioning column" in got
    # a window function over the grouped rows would need every group
    got = plan(sql.replace("count(o_orderkey) FROM", "rank() OVER (ORDER BY count(*)) FROM"), types)
    assert isinstance(got, str)


def test_a_table_read_only_by_exists_or_in_moves_without_duplicates() -> None:
    """TPC-H Q22's shape: orders only answers NOT EXISTS, so each distinct o_custkey moves once."""
    types = {("public", "customer"): {"c_custkey": 23, "c_nationkey": 23},
             ("public", "orders"): {"o_custkey": 23, "o_orderkey": 23, "o_orderdate": 1082}}
    got = plan("SELECT count(*) FROM customer WHERE c_nationkey > 3 AND NOT EXISTS "
               "(SELECT * FROM orders WHERE o_custkey = c_custkey)", types)
    assert isinstance(got, BroadcastPlan), got
    (move,) = got.moves
    assert move.distinct and move.key == "o_custkey"
    assert move.select_sql(["o_orderkey", "o_custkey", "o_orderdate"]) == 'SELECT DISTINCT o_custkey FROM public.orders'
    assert "Repartition DISTINCT public.orders (o_custkey)" in "\n".join(got.describe())
    # joined in FROM, or counted inside the subquery: duplicates matter
    got = plan("SELECT count(*) FROM customer, orders WHERE o_custkey = c_custkey", types)
    assert isinstance(got, BroadcastPlan) and not any(m.distinct for m in got.moves)
    got = plan("SELECT count(*) FROM customer WHERE 2 < (SELECT count(*) FROM orders WHERE o_custkey = c_custkey)",
               types)
    assert isinstance(got, str) or not any(m.distinct for m in got.moves)
    got = plan("SELECT count(*) FROM customer WHERE c_custkey IN (SELECT o_custkey FROM orders "
               "WHERE o_orderdate > '2020-01-01')", types)
    assert isinstance(got, BroadcastPlan) and all(m.distinct for m in got.moves)


def test_repartitioned_rows_are_cut_to_the_keys_the_filtered_anchor_has() -> None:
    """TPC-H Q17's shape: both lineitem references are equated to part's partitioning column
    (a join and a correlated subquery), so only lineitem rows of the filtered parts matter."""
    types = {("public", "part"): {"p_partkey": 23}, ("public", "lineitem"): {"l_partkey": 23, "l_orderkey": 23}}
    q17 = ("SELECT sum(l_quantity) FROM lineitem, part WHERE p_partkey = l_partkey AND p_brand = 'b23' "
           "AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)")
    got = plan(q17, types)
    assert isinstance(got, BroadcastPlan), got
    (move,) = got.moves
    assert move.key == "l_partkey" and move.reduce_by == "(p_brand = 'b23')"
    assert "whose l_partkey part has WHERE (p_brand = 'b23')" in "\n".join(got.describe())
    # the anchor unfiltered: nothing to cut by
    got = plan(q17.replace(" AND p_brand = 'b23'", ""), types)
    assert isinstance(got, str) or all(m.reduce_by is None for m in got.moves)
    # a reference of lineitem not equated to the anchor (an uncorrelated aggregate) keeps every row
    got = plan(q17.replace("WHERE l_partkey = p_partkey)", ") AND l_partkey > 0"), types)
    assert isinstance(got, str) or all(m.reduce_by is None for m in got.moves)


def test_conjuncts_the_moved_copy_satisfies_read_true() -> None:
    """TPC-H Q13: the nullable side's ON conjunct filters the move, reads true over the copy
    and its column does not move; the anchor's own conjuncts and the join stay as written."""
    sql = ("SELECT c_count, count(*) FROM (SELECT c_custkey, count(o_orderkey) FROM customer LEFT OUTER JOIN orders "
           "ON c_custkey = o_custkey AND o_orderdate > '1995-01-01' WHERE c_mktsegment <> 'X' GROUP BY c_custkey) "
           "AS c_orders (c_custkey, c_count) GROUP BY c_count")
    got = plan(sql, {("public", "customer"): {"c_custkey": 23}, ("public", "orders"): {"o_custkey": 23}})
    assert isinstance(got, BroadcastPlan), got
    (move,) = got.moves
    assert move.table.name == "orders" and move.key == "o_custkey"
    assert move.needs == Needs(("o_orderkey", "o_custkey"), "(o_orderdate > '1995-01-01')")
    assert "ON c_custkey = o_custkey AND TRUE" in got.sql and "c_mktsegment <> 'X'" in got.sql


def test_conjuncts_stay_when_the_copy_serves_several_references() -> None:
    """Two references of one table share one copy filtered by the OR of their filters: a
    row of it need not satisfy either reference's own conjuncts."""
    got = plan("SELECT count(*) FROM customer c1, customer c2, lineitem l WHERE l.l_partkey = c1.c_custkey "
               "AND l.l_quantity = c2.c_custkey AND c1.c_mktsegment = 'A' AND c2.c_mktsegment = 'B'")
    assert isinstance(got, BroadcastPlan), got
    assert got.moves[0].needs.filter == "((c_mktsegment = 'A')) OR ((c_mktsegment = 'B'))"
    assert "c1.c_mktsegment = 'A'" in got.sql and "c2.c_mktsegment = 'B'" in got.sql
