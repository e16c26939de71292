"""Cuts the exchange planner makes below its exchanges (pure: no server).

- A local table equated to a small, selective broadcast copy reads only that copy's keys
  (planner/broadcast.is_key_filter_worth), where its node says a btree index leads with
  the column (planner/estimates.probe_requests; executor/estimates reads the answer).
- A moved table equated to a replicated table reads only the rows whose value the
  replicated table has under its own conditions (with_replicated_semi_joins).

TPC-H Q08's shape is the golden case: lineitem read for part's 1,451 keys, a fifth of
customer broadcast."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze
from gridpg.planner.broadcast import (
    KEY_FILTER_ROWS,
    BroadcastPlan,
    key_filter_probes,
    merge_over_final_groups,
    plan_broadcast,
    with_replicated_semi_joins,
)
from gridpg.planner.estimates import Estimate, TableEstimate, probe_requests, table_estimates
from gridpg.planner.gather import Needs, table_needs
from gridpg.sql.parse import parse_tree

GROUPS = ("dn1", "dn2")
INT4 = 23


def hash_table(name: str, column: str, colocation: int) -> DistTable:
    return DistTable("public", name, "hash", column, "int4", colocation, 32, GROUPS)


def replicated(name: str) -> DistTable:
    return DistTable("public", name, "replication", None, None, None, None, GROUPS)


TABLES = {
    "lineitem": hash_table("lineitem", "l_orderkey", 1),
    "orders": hash_table("orders", "o_orderkey", 1),
    "customer": hash_table("customer", "c_custkey", 2),
    "part": hash_table("part", "p_partkey", 3),
    "nation": replicated("nation"),
    "region": replicated("region"),
}
COLUMNS = {
    ("public", "lineitem"): ["l_orderkey", "l_partkey", "l_extendedprice"],
    ("public", "orders"): ["o_orderkey", "o_custkey", "o_orderdate"],
    ("public", "customer"): ["c_custkey", "c_nationkey"],
    ("public", "part"): ["p_partkey", "p_type"],
    ("public", "nation"): ["n_nationkey", "n_name", "n_regionkey"],
    ("public", "region"): ["r_regionkey", "r_name"],
}
TYPES = {("public", "lineitem"): {"l_orderkey": INT4, "l_partkey": INT4},
         ("public", "orders"): {"o_orderkey": INT4, "o_custkey": INT4},
         ("public", "customer"): {"c_custkey": INT4, "c_nationkey": INT4},
         ("public", "part"): {"p_partkey": INT4}}
COMPLETE = frozenset({("public", "nation"), ("public", "region")})

Q08 = ("SELECT sum(l_extendedprice) FROM part, lineitem, orders, customer, nation n1, region "
       "WHERE p_partkey = l_partkey AND l_orderkey = o_orderkey AND o_custkey = c_custkey "
       "AND c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey AND r_name = 'AMERICA' "
       "AND p_type = 'ECONOMY ANODIZED STEEL'")
PART_FEW = TableEstimate(1451.0, 4, 200000.0)
LINEITEM = TableEstimate(6000000.0, 20, None, frozenset({"l_partkey"}))
CUSTOMER = TableEstimate(30000.0, 8, 150000.0)


def refs_of(sql: str) -> dict:
    return {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}


def needs_of(sql: str) -> dict:
    refs = refs_of(sql)
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, COLUMNS, COMPLETE)
    return with_replicated_semi_joins(sql, refs, COLUMNS, needs, COMPLETE)


def plan(sql: str, estimates: dict[str, TableEstimate]) -> BroadcastPlan | str:
    given = {TABLES[name].key: value for name, value in estimates.items()}
    return plan_broadcast(sql, refs_of(sql), COLUMNS, needs_of(sql), given,
                          lambda a, b: a.method == b.method == "hash" and a.colocation_id == b.colocation_id,
                          lambda t: f"gp_bc_{t.name}", TYPES)


def test_q08_lineitem_reads_only_the_keys_of_the_broadcast_parts() -> None:
    got = plan(Q08, {"part": PART_FEW, "lineitem": LINEITEM, "orders": TableEstimate(450000.0, 12),
                     "customer": CUSTOMER})
    assert isinstance(got, BroadcastPlan) and got.anchor == ("lineitem", "orders")
    assert ("(SELECT * FROM public.lineitem WHERE l_partkey = ANY(ARRAY(SELECT DISTINCT p_partkey FROM "
            "gridpg_shards.gp_bc_part ORDER BY 1))) AS lineitem") in got.sql
    assert "  Key filter: lineitem.l_partkey read only for the keys of part.p_partkey (~1451 of ~200000 rows; " \
           "an index serves the lookup)" in got.describe()
    # the node's planner underestimates what joins the key list: the copies it may probe are indexed
    assert {m.table.name: m.lookups for m in got.moves} == {"part": ("p_partkey",), "customer": ("c_custkey",)}
    without = plan(Q08, {"part": TableEstimate(1451.0, 4, None), "lineitem": LINEITEM, "customer": CUSTOMER})
    assert isinstance(without, BroadcastPlan) and all(not m.lookups for m in without.moves)


def test_the_key_filter_flips_on_rows_share_and_index() -> None:
    rest = {"lineitem": LINEITEM, "orders": TableEstimate(450000.0, 12), "customer": CUSTOMER}
    cases = {
        "many": TableEstimate(KEY_FILTER_ROWS + 1.0, 4, 10000000.0),
        "unselective": TableEstimate(1451.0, 4, 20000.0),  # over 5% of its table
        "table size unknown": TableEstimate(1451.0, 4, None),
    }
    for why, part in cases.items():
        got = plan(Q08, {**rest, "part": part})
        assert isinstance(got, BroadcastPlan) and "ANY(ARRAY(" not in got.sql, why
    no_index = plan(Q08, {**rest, "part": PART_FEW, "lineitem": TableEstimate(6000000.0, 20)})
    assert isinstance(no_index, BroadcastPlan) and "ANY(ARRAY(" not in no_index.sql
    at_limit = plan(Q08, {**rest, "part": TableEstimate(KEY_FILTER_ROWS, 4, 20 * KEY_FILTER_ROWS)})
    assert isinstance(at_limit, BroadcastPlan) and "ANY(ARRAY(" in at_limit.sql


def test_no_key_filter_from_an_outer_join_condition_or_where_a_system_column_is_read() -> None:
    est = {"part": PART_FEW, "lineitem": LINEITEM}
    outer = plan("SELECT l_orderkey, p_partkey FROM lineitem LEFT JOIN part ON p_partkey = l_partkey "
                 "AND p_type = 'x'", est)
    assert isinstance(outer, BroadcastPlan) and "ANY(ARRAY(" not in outer.sql
    inner = plan("SELECT l_orderkey FROM lineitem JOIN part ON p_partkey = l_partkey WHERE p_type = 'x'", est)
    assert isinstance(inner, BroadcastPlan) and "ANY(ARRAY(" in inner.sql
    system = plan("SELECT lineitem.ctid FROM lineitem JOIN part ON p_partkey = l_partkey WHERE p_type = 'x'", est)
    assert isinstance(system, BroadcastPlan) and "ANY(ARRAY(" not in system.sql


def test_an_aliased_reference_keeps_its_alias() -> None:
    got = plan("SELECT l.l_orderkey FROM lineitem AS l, part p WHERE p.p_partkey = l.l_partkey AND p.p_type = 'x'",
               {"part": PART_FEW, "lineitem": LINEITEM})
    assert isinstance(got, BroadcastPlan)
    assert got.sql == ("SELECT l.l_orderkey FROM (SELECT * FROM public.lineitem WHERE l_partkey = ANY(ARRAY("
                       "SELECT DISTINCT p_partkey FROM gridpg_shards.gp_bc_part ORDER BY 1))) AS l, gridpg_shards.gp_bc_part AS p "
                       "WHERE p.p_partkey = l.l_partkey AND TRUE")


def test_the_nodes_are_asked_whether_an_index_leads_with_each_equated_column() -> None:
    refs = refs_of(Q08)
    probes = key_filter_probes(Q08, refs, COLUMNS, TYPES)
    assert set(probes) == {(("public", "part"), "p_partkey"), (("public", "lineitem"), "l_partkey"),
                           (("public", "lineitem"), "l_orderkey"), (("public", "orders"), "o_orderkey"),
                           (("public", "orders"), "o_custkey"), (("public", "customer"), "c_custkey")}
    tables = {t.key: t for t in refs.values()}
    requests = {r.subject: r for r in probe_requests(tables, probes)}
    assert requests["public.lineitem.l_partkey"].sql == \
        "SELECT l_partkey FROM public.lineitem ORDER BY l_partkey LIMIT 1"
    answers = {("probe", "public.lineitem.l_partkey"): Estimate(1.0, 4, indexed=True),
               ("probe", "public.lineitem.l_orderkey"): Estimate(1.0, 4, indexed=False)}
    got = table_estimates(tables, answers, COLUMNS)
    assert got[("public", "lineitem")].indexed == frozenset({"l_partkey"})
    assert got[("public", "part")].indexed == frozenset()


def test_q08_customer_moves_only_the_rows_of_the_region_s_nations() -> None:
    assert needs_of(Q08)[("public", "customer")] == Needs(
        ("c_custkey", "c_nationkey"),
        "c_nationkey IN (SELECT n1.n_nationkey FROM public.nation AS n1, public.region AS region "
        "WHERE (n1.n_regionkey = r_regionkey) AND (r_name = 'AMERICA'))")


def test_no_replicated_cut_without_a_condition_twice_read_or_across_an_outer_join() -> None:
    bare = "SELECT count(*) FROM orders, customer, nation WHERE o_custkey = c_custkey AND c_nationkey = n_nationkey"
    assert needs_of(bare)[("public", "customer")].filter is None
    twice = ("SELECT count(*) FROM customer c1, customer c2, nation WHERE c1.c_nationkey = n_nationkey "
             "AND n_name = 'x' AND c2.c_custkey = c1.c_custkey")
    assert needs_of(twice)[("public", "customer")].filter is None
    outer = ("SELECT count(*) FROM customer LEFT JOIN nation ON c_nationkey = n_nationkey AND n_name = 'x'")
    assert needs_of(outer)[("public", "customer")].filter is None
    where = ("SELECT count(*) FROM customer LEFT JOIN nation ON c_nationkey = n_nationkey WHERE n_name = 'x' "
             "AND c_nationkey = n_nationkey")
    assert needs_of(where)[("public", "customer")].filter == (
        "c_nationkey IN (SELECT nation.n_nationkey FROM public.nation AS nation WHERE (n_name = 'x'))")


def test_a_statement_grouped_by_the_anchor_partitioning_column_has_final_groups_on_each_node() -> None:
    est = {"lineitem": LINEITEM, "orders": TableEstimate(450000.0, 12), "customer": CUSTOMER}
    q03 = ("SELECT l_orderkey, sum(l_extendedprice) AS revenue, o_orderdate FROM customer, orders, lineitem "
           "WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND c_nationkey = 3 "
           "GROUP BY l_orderkey, o_orderdate ORDER BY revenue DESC, o_orderdate LIMIT 10")
    got = plan(q03, est)
    assert isinstance(got, BroadcastPlan) and got.groups_final
    assert "  The statement groups by the anchor's partitioning column: its groups are final on each node" \
        in got.describe()
    other = plan(q03.replace("GROUP BY l_orderkey, o_orderdate", "GROUP BY o_orderdate, l_orderkey + 0")
                 .replace("SELECT l_orderkey,", "SELECT l_orderkey + 0 AS k,"), est)
    assert isinstance(other, BroadcastPlan) and not other.groups_final
    inner = plan(f"SELECT count(*) FROM ({q03.split(' ORDER BY')[0]}) AS x", est)
    assert isinstance(inner, BroadcastPlan) and not inner.groups_final
    rollup = plan(q03.replace("GROUP BY l_orderkey, o_orderdate", "GROUP BY ROLLUP (l_orderkey, o_orderdate)"), est)
    assert isinstance(rollup, BroadcastPlan) and not rollup.groups_final


def test_final_groups_are_merged_by_their_output_names() -> None:
    assert merge_over_final_groups(
        "SELECT k, sum(v) AS value, max(w) FROM t GROUP BY k HAVING sum(v) > 3 ORDER BY value DESC, 1 LIMIT 10 OFFSET 2"
    ) == ("SELECT k, value, max FROM (SELECT k, sum(v) AS value, max(w) FROM t GROUP BY k HAVING sum(v) > 3) "
          "AS gp_groups ORDER BY value DESC, 1 LIMIT 10 OFFSET 2")
    assert merge_over_final_groups("SELECT k, sum(v) FROM t GROUP BY k ORDER BY sum(v)") is None  # not an output name
    assert merge_over_final_groups("SELECT k, v + 1 FROM t GROUP BY k, v ORDER BY 1") is None  # ?column?
    assert merge_over_final_groups("SELECT k, sum(v), sum(w) FROM t GROUP BY k ORDER BY 1") is None  # two "sum"
    assert merge_over_final_groups("SELECT k FROM t GROUP BY k ORDER BY k FETCH FIRST 2 ROWS WITH TIES") is None


def test_an_order_by_naming_an_output_column_through_its_table_reads_the_output_name() -> None:
    assert merge_over_final_groups("SELECT f.id, sum(f.v) AS total FROM f GROUP BY f.id ORDER BY total, f.id") == (
        "SELECT id, total FROM (SELECT f.id, sum(f.v) AS total FROM f GROUP BY f.id) AS gp_groups ORDER BY total, id")
    assert merge_over_final_groups("SELECT f.id FROM f, s GROUP BY f.id, s.id ORDER BY s.id") is None
