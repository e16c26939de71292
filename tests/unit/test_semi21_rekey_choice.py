"""Semi-joins, anti-joins and joins on no distribution column: the exchange planner may
repartition the anchor itself by the join or correlation key (pure: no server).

`sales` and `returns` are hashed by their ids; the statements relate `sales.shop` to
`returns.shop`, a column neither is distributed by. Keeping `sales` in place broadcasts
`returns` to every node (twice its bytes on two nodes); repartitioning both by the shop
moves half of each. `shops` is distributed by the shop itself: it stays, only `sales` moves."""

from __future__ import annotations

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze
from gridpg.planner.broadcast import BroadcastPlan, plan_broadcast, written_size
from gridpg.planner.estimates import TableEstimate
from gridpg.planner.gather import table_needs
from gridpg.sql.parse import parse_tree

GROUPS = ("dn1", "dn2")
INT4, INT8, TEXT = 23, 20, 25


def hashed(name: str, column: str, colocation: int) -> DistTable:
    return DistTable("public", name, "hash", column, "int4", colocation, 32, GROUPS)


TABLES = {
    "sales": hashed("sales", "sale_id", 1),
    "returns": hashed("returns", "ret_id", 1),
    "shops": hashed("shops", "shop", 2),
    "visits": DistTable("public", "visits", "roundrobin", None, None, None, None, GROUPS),
}
COLUMNS = {
    ("public", "sales"): ["sale_id", "shop", "amount", "region"],
    ("public", "returns"): ["ret_id", "shop", "reason", "big_shop"],
    ("public", "shops"): ["shop", "city"],
    ("public", "visits"): ["shop", "seen"],
}
TYPES = {
    ("public", "sales"): {"sale_id": INT4, "shop": INT4, "amount": INT4, "region": TEXT},
    ("public", "returns"): {"ret_id": INT4, "shop": INT4, "reason": TEXT, "big_shop": INT8},
    ("public", "shops"): {"shop": INT4, "city": TEXT},
    ("public", "visits"): {"shop": INT4, "seen": INT4},
}
LARGE = {"sales": TableEstimate(100000.0, 8), "returns": TableEstimate(200000.0, 8),
         "shops": TableEstimate(200000.0, 8), "visits": TableEstimate(200000.0, 8)}


def plan(sql: str, estimates: dict[str, TableEstimate] | None = None) -> BroadcastPlan | str:
    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, COLUMNS)
    given = {TABLES[name].key: value for name, value in (estimates or LARGE).items()}
    return plan_broadcast(sql, refs, COLUMNS, needs, given, lambda a, b: a.colocation_id == b.colocation_id,
                          lambda t: f"gp_bc_{t.name}", TYPES)


def moves(got: BroadcastPlan) -> dict[str, str | None]:
    return {m.table.name: m.key for m in got.moves}


SEMI_JOINS = [
    "SELECT count(*) FROM sales s WHERE EXISTS (SELECT 1 FROM returns r WHERE r.shop = s.shop)",
    "SELECT count(*) FROM sales s WHERE NOT EXISTS (SELECT 1 FROM returns r WHERE r.shop = s.shop)",
    "SELECT count(*) FROM sales WHERE shop IN (SELECT shop FROM returns WHERE reason <> 'x')",
    ("SELECT s.region, count(*) FROM sales s WHERE EXISTS (SELECT 1 FROM returns r WHERE r.shop = s.shop "
    "AND r.reason = 'late') GROUP BY s.region"),
]


def test_both_sides_are_repartitioned_by_the_key_when_a_broadcast_writes_more() -> None:
    for sql in SEMI_JOINS:
        got = plan(sql)
        assert isinstance(got, BroadcastPlan), (sql, got)
        assert moves(got) == {"sales": "shop", "returns": "shop"}, sql
        assert got.rekeyed == "sales.shop" and got.anchor_table == TABLES["sales"] and got.anchor == ()
        # broadcasting `returns` (twice 1.6 MB) moves more than a coordinator finish gathers
        # (2.4 MB): before, both were gathered; now every row of both lands in a copy once
        assert written_size(got) == 800000 + 1600000 and got.kept_size is None, sql
        assert got.moved_size == 0.5 * (800000 + 1600000), sql  # what crosses the network
        assert "gridpg_shards.gp_bc_sales" in got.sql and "gridpg_shards.gp_bc_returns" in got.sql
        text = "\n".join(got.describe())
        assert "Partitioned by hash(sales.shop) like sales on dn1, dn2 (~2400000 bytes written into copies; " \
               "no anchor can stay in place)" in text
        assert "Repartition public.sales (shop" in text and "by hash(shop) like sales" in text
        assert "Repartition DISTINCT public.returns (shop" in text


def test_a_join_on_two_nodes_still_broadcasts_the_smaller_side() -> None:
    # repartitioning both writes every row of both; a broadcast writes the smaller twice
    got = plan("SELECT s.region, count(*) FROM sales s JOIN returns r ON r.shop = s.shop GROUP BY s.region")
    assert isinstance(got, BroadcastPlan) and got.rekeyed is None and got.anchor == ("returns",)
    assert moves(got) == {"sales": None}


def test_a_small_side_is_still_broadcast() -> None:
    got = plan(SEMI_JOINS[0], {**LARGE, "returns": TableEstimate(1000.0, 8)})
    assert isinstance(got, BroadcastPlan) and got.rekeyed is None
    assert got.anchor == ("sales",) and moves(got) == {"returns": None}


def test_a_table_distributed_by_the_key_stays_and_only_the_other_side_moves() -> None:
    got = plan("SELECT count(*) FROM sales s WHERE EXISTS (SELECT 1 FROM shops h WHERE h.shop = s.shop "
               "AND h.city = 'a')")
    assert isinstance(got, BroadcastPlan), got
    assert got.rekeyed == "sales.shop" and got.anchor_table == TABLES["shops"] and got.anchor == ("shops",)
    assert moves(got) == {"sales": "shop"}
    assert got.describe()[0].startswith("  Partitioned by hash(sales.shop) like shops on dn1, dn2 (~")
    assert got.describe()[0].endswith("; stays in place: shops")


def test_not_in_is_never_made_local_its_nulls_need_the_whole_subquery() -> None:
    got = plan("SELECT count(*) FROM sales WHERE shop NOT IN (SELECT shop FROM returns)")
    # a repartitioned `returns` would leave each node its own NULLs and its own emptiness
    # (no key to repartition by is offered: the whole subquery is broadcast or gathered)
    assert isinstance(got, str) and "costs more than gathering" in got and "by hash" not in got
    small = plan("SELECT count(*) FROM sales WHERE shop NOT IN (SELECT shop FROM returns)",
                 {**LARGE, "returns": TableEstimate(1000.0, 8)})
    assert isinstance(small, BroadcastPlan) and small.rekeyed is None and moves(small) == {"returns": None}
    # beside a semi-join that is repartitioned, the NOT IN's table is still broadcast whole
    both = plan("SELECT count(*) FROM sales s WHERE EXISTS (SELECT 1 FROM returns r WHERE r.shop = s.shop) "
                "AND s.amount NOT IN (SELECT seen FROM visits)", {**LARGE, "visits": TableEstimate(100.0, 4)})
    assert isinstance(both, BroadcastPlan) and both.rekeyed == "sales.shop"
    assert moves(both) == {"sales": "shop", "returns": "shop", "visits": None}


def test_keys_of_other_types_do_not_repartition_together() -> None:
    # returns.big_shop is bigint: hashed with another function, its rows would land elsewhere
    got = plan("SELECT count(*) FROM sales s WHERE EXISTS (SELECT 1 FROM returns r WHERE r.big_shop = s.shop)")
    # so moving `sales` by shop leaves `returns` to be broadcast: more than gathering both
    assert isinstance(got, str) and "sales by hash(shop) like sales: moving ~450000 rows" in got


def test_a_round_robin_anchor_follows_the_partitions_of_the_table_keyed_by_the_column() -> None:
    got = plan("SELECT count(*) FROM visits v WHERE EXISTS (SELECT 1 FROM shops h WHERE h.shop = v.shop)")
    assert isinstance(got, BroadcastPlan) and got.rekeyed == "visits.shop" and moves(got) == {"visits": "shop"}


def test_grouping_by_the_key_is_final_on_each_node() -> None:
    got = plan("SELECT s.shop, count(*) FROM sales s WHERE EXISTS (SELECT FROM returns r WHERE r.shop = s.shop) "
               "GROUP BY s.shop ORDER BY 2 DESC, 1 LIMIT 5")
    assert isinstance(got, BroadcastPlan) and got.rekeyed == "sales.shop" and got.groups_final


def test_few_distinct_keys_are_broadcast_distinct_many_are_repartitioned() -> None:
    # `returns` is read only by the EXISTS: a broadcast moves its distinct shops, which the
    # planner asks for (a "distinct" estimate) and weighs instead of all its rows
    few = plan(SEMI_JOINS[0], {**LARGE, "returns": TableEstimate(200000.0, 8, None, frozenset(), 10000.0)})
    assert isinstance(few, BroadcastPlan) and few.rekeyed is None and moves(few) == {"returns": None}
    assert few.moves[0].distinct and few.moves[0].rows == 10000.0 and few.moved_size == 2 * 10000 * 8
    many = plan(SEMI_JOINS[0], {**LARGE, "returns": TableEstimate(200000.0, 8, None, frozenset(), 150000.0)})
    assert isinstance(many, BroadcastPlan) and many.rekeyed == "sales.shop"
    assert written_size(many) == 100000 * 8 + 150000 * 8 and many.kept_size == 2 * 150000 * 8


def test_the_distinct_rows_are_asked_for_tables_read_only_for_existence() -> None:
    from gridpg.planner.broadcast import semi_join_tables
    from gridpg.planner.estimates import table_requests

    sql = SEMI_JOINS[0]
    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    semi = semi_join_tables(sql, refs)
    assert semi == {("public", "returns")}
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, COLUMNS)
    tables = {t.key: t for t in refs.values()}
    got = {(r.kind, r.subject): r.sql for r in table_requests(tables, needs, COLUMNS, semi)}
    assert got[("distinct", "public.returns")] == "SELECT DISTINCT shop FROM public.returns"
    assert ("distinct", "public.sales") not in got
    # a table also read outside a semi-join is not asked
    join = "SELECT count(*) FROM sales s JOIN returns r ON r.shop = s.shop"
    assert semi_join_tables(join, {r.location: TABLES[r.name] for r in analyze.relations(
        parse_tree(join)) if r.name in TABLES}) == frozenset()


def test_an_in_compared_with_false_is_not_made_local() -> None:
    # `(k IN (...)) = false` keeps a row that IN answers false and rejects one it answers
    # NULL (no match, a NULL in the subquery): each node would see only its own NULLs.
    # Before, `returns` was repartitioned by shop here and rows with no match were kept.
    positive = plan("SELECT count(*) FROM shops WHERE shop IN (SELECT shop FROM returns)")
    assert isinstance(positive, BroadcastPlan) and moves(positive) == {"returns": "shop"}
    for sql in ("SELECT count(*) FROM shops WHERE (shop IN (SELECT shop FROM returns)) = false",
                "SELECT count(*) FROM shops WHERE false = (shop IN (SELECT shop FROM returns))"):
        got = plan(sql)
        assert isinstance(got, BroadcastPlan) and moves(got) == {"returns": None} and got.rekeyed is None, sql
