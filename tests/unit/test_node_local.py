"""The criterion of node-local sub-selects (planner/node_local.py) and the plans of the
UPDATE/DELETE statements that read one (planner/writes.py): a sub-select that limits,
aggregates, de-duplicates or numbers rows across nodes never runs whole beside its
colocated partner on every node; it is evaluated over complete copies or refused. No
server: the golden tests' hand-made catalog."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner.context import BoundParams, CatalogView, SessionView
from gridpg.planner.core import Planner
from gridpg.planner.node_local import key_columns, not_node_local, output_keys, volatile_subselect
from gridpg.planner.plan import BroadcastWritePlan, PushdownPlan, RouterPlan, Strategy
from gridpg.sql.parse import parse_tree

from tests.unit.test_plan_golden import VIEWS, snapshot

KEYS = key_columns([("orders", "id")])


def _select(sql: str) -> dict:
    return parse_tree(sql)["SelectStmt"]


@pytest.mark.parametrize("sql", [
    "SELECT id FROM orders ORDER BY id LIMIT 1",
    "SELECT id FROM orders ORDER BY id OFFSET 3",
    "SELECT id FROM orders ORDER BY total FETCH FIRST 2 ROWS WITH TIES",
    "SELECT count(*) FROM orders",
    "SELECT customer, count(*) FROM orders GROUP BY customer",
    "SELECT customer FROM orders GROUP BY customer HAVING count(*) > 1",
    "SELECT DISTINCT customer FROM orders",
    "SELECT DISTINCT ON (customer) id FROM orders ORDER BY customer, id",
    "SELECT id, row_number() OVER (ORDER BY id) FROM orders",
    "SELECT id, rank() OVER (PARTITION BY customer ORDER BY id) FROM orders",
    "SELECT id, sum(total) OVER w FROM orders WINDOW w AS (PARTITION BY customer)",
    "SELECT id FROM orders UNION ALL SELECT id FROM orders",
    "SELECT id FROM (SELECT id FROM orders ORDER BY id LIMIT 1) s",
    "SELECT id FROM orders WHERE id IN (SELECT id FROM orders LIMIT 1)",
    "WITH x AS (SELECT id FROM orders) SELECT id FROM x",
    "SELECT id, count(*) FROM orders GROUP BY ROLLUP (id)",
    "SELECT id FROM orders, LATERAL generate_series(1, id) g",
])
def test_not_node_local(sql: str) -> None:
    assert not_node_local(_select(sql), keys=KEYS) is not None


@pytest.mark.parametrize("sql", [
    "SELECT id, total FROM orders WHERE total > 3",
    "SELECT id, count(*) FROM orders GROUP BY id",
    "SELECT orders.id, max(total) FROM orders GROUP BY customer, orders.id HAVING max(total) > 1",
    "SELECT DISTINCT id, customer FROM orders",
    "SELECT DISTINCT ON (id) id, total FROM orders ORDER BY id, total",
    "SELECT id, row_number() OVER (PARTITION BY id ORDER BY total) FROM orders",
    "SELECT id, sum(total) OVER w FROM orders WINDOW w AS (PARTITION BY customer, id)",
    "SELECT id, rank() OVER (w ORDER BY total) FROM orders WINDOW w AS (PARTITION BY id)",
    "SELECT id FROM orders WHERE random() < 0.5",
])
def test_node_local(sql: str) -> None:
    assert not_node_local(_select(sql), keys=KEYS) is None


def test_without_keys_grouping_and_distinct_are_refused() -> None:
    assert not_node_local(_select("SELECT id, count(*) FROM orders GROUP BY id")) is not None
    assert not_node_local(_select("SELECT DISTINCT ON (id) id FROM orders")) is not None
    assert not_node_local(_select("SELECT id FROM orders WHERE total > 1")) is None


def test_output_keys_follow_the_distribution_column_only() -> None:
    assert output_keys(_select("SELECT id, total FROM orders"), KEYS) == {"id"}
    assert output_keys(_select("SELECT id AS k, id + 1 AS id FROM orders"), KEYS) == {"k"}
    assert output_keys(_select("SELECT total AS id FROM orders"), KEYS) == set()
    assert output_keys(_select("SELECT * FROM orders"), KEYS) == {"id"}
    assert output_keys(_select("SELECT total, id FROM orders"), KEYS, ["a", "b"]) == {"b"}
    assert output_keys(_select("SELECT o.id FROM orders o"), key_columns([("o", "id")])) == {"id"}


def test_volatile_subselect() -> None:
    assert volatile_subselect(parse_tree("UPDATE orders SET total = 1 WHERE id IN "
                                         "(SELECT id FROM orders ORDER BY random() LIMIT 1)"))
    assert volatile_subselect(parse_tree("UPDATE orders SET total = (SELECT nextval('s'))"))
    assert not volatile_subselect(parse_tree("UPDATE orders SET total = random()"))
    assert not volatile_subselect(parse_tree("UPDATE orders SET total = (SELECT myschema.random())"))


def _plan(sql: str):  # type: ignore[no-untyped-def]
    return Planner().plan(sql, CatalogView(snapshot(), VIEWS), SessionView(("public",)), BoundParams.from_texts([]))


@pytest.mark.parametrize("sql", [
    # the sub-select picks, counts or numbers rows of the whole table
    "WITH nx AS (SELECT id FROM orders ORDER BY id LIMIT 1) UPDATE orders SET total = 0 FROM nx "
    "WHERE orders.id = nx.id",
    "WITH nx AS (SELECT id FROM orders ORDER BY id LIMIT 2) DELETE FROM orders USING nx WHERE orders.id = nx.id",
    "WITH nx AS (SELECT id FROM orders ORDER BY id OFFSET 2) DELETE FROM orders USING nx WHERE orders.id = nx.id",
    "UPDATE orders SET total = 0 FROM (SELECT id FROM orders ORDER BY id DESC LIMIT 1) s WHERE s.id = orders.id",
    "UPDATE orders SET total = 0 FROM (SELECT count(*) c FROM orders) s WHERE orders.id = s.c",
    "UPDATE orders o SET total = 0 FROM (SELECT DISTINCT ON (customer) id FROM orders ORDER BY customer, id) s "
    "WHERE s.id = o.id",
    "UPDATE orders SET total = 0 FROM (SELECT id, row_number() OVER (ORDER BY id) rn FROM orders) s "
    "WHERE s.id = orders.id AND s.rn = 2",
    "UPDATE orders SET total = 0 FROM (SELECT order_id FROM items ORDER BY order_id "
    "FETCH FIRST 1 ROWS WITH TIES) s WHERE s.order_id = orders.id",
    "UPDATE orders SET total = 0 FROM (SELECT id FROM orders UNION SELECT order_id FROM items) s "
    "WHERE s.id = orders.id",
    "UPDATE orders SET total = 0 FROM (SELECT id FROM (SELECT id FROM orders LIMIT 1) a) s WHERE s.id = orders.id",
    # the distribution column is not passed through, or the CTE hides the table's name
    "WITH nx AS (SELECT id + 1 AS id FROM orders) UPDATE orders SET total = 0 FROM nx WHERE orders.id = nx.id",
    "WITH items AS (SELECT order_id FROM items ORDER BY order_id LIMIT 1) UPDATE orders SET total = 0 "
    "FROM items WHERE orders.id = items.order_id",
    "WITH nx(id) AS (SELECT total FROM orders) UPDATE orders SET total = 0 FROM nx WHERE orders.id = nx.id",
    # a node-local CTE read again by a SubLink, where it would be one node's rows
    "WITH nx AS (SELECT id FROM orders) UPDATE orders SET total = 0 FROM nx WHERE orders.id = nx.id "
    "AND (SELECT count(*) FROM nx) > 3",
    "DELETE FROM orders WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT 1 OFFSET 3)",
])
def test_writes_over_whole_table_subselects_are_not_pushed_down(sql: str) -> None:
    assert isinstance(_plan(sql), BroadcastWritePlan)


@pytest.mark.parametrize("sql", [
    "WITH nx AS (SELECT id FROM orders WHERE total > 5) UPDATE orders SET total = 0 FROM nx WHERE orders.id = nx.id",
    "UPDATE orders SET total = s.n FROM (SELECT order_id, count(*) n FROM items GROUP BY order_id) s "
    "WHERE s.order_id = orders.id",
    "UPDATE orders SET total = 0 FROM (SELECT DISTINCT ON (id) id FROM orders ORDER BY id, total) s "
    "WHERE s.id = orders.id",
    "DELETE FROM orders USING (SELECT order_id AS k, rank() OVER (PARTITION BY order_id ORDER BY qty) r "
    "FROM items) s WHERE s.k = orders.id AND s.r = 1",
    "WITH nx AS (SELECT i.order_id FROM items i JOIN orders o ON o.id = i.order_id) "
    "DELETE FROM orders USING nx WHERE orders.id = nx.order_id",
    "WITH nx(k) AS (SELECT id FROM orders) UPDATE orders SET total = 0 FROM nx WHERE orders.id = nx.k",
])
def test_writes_over_node_local_subselects_are_pushed_down(sql: str) -> None:
    assert isinstance(_plan(sql), PushdownPlan)


def test_volatile_subselect_in_a_write_on_several_nodes_is_refused() -> None:
    with pytest.raises(PgError) as err:
        _plan("UPDATE orders SET total = 0 WHERE id IN (SELECT id FROM orders ORDER BY random() LIMIT 1)")
    assert err.value.sqlstate == "0A000"
    with pytest.raises(PgError):
        _plan("UPDATE orders SET total = (SELECT random())")
    assert isinstance(_plan("UPDATE orders SET total = random()"), PushdownPlan)


@pytest.mark.parametrize("sql", [
    # a FROM item naming a CTE is no table: the CTE's table is not pinned by the statement's
    # own `orders.id = 3`, even under the same name
    "WITH nx AS (SELECT id FROM orders ORDER BY id LIMIT 1) SELECT * FROM orders JOIN nx USING (id) "
    "WHERE orders.id = 3",
    "WITH nx AS (SELECT count(*) c FROM orders) SELECT * FROM orders, nx WHERE orders.id = 3",
    "WITH nx AS (SELECT order_id FROM items ORDER BY order_id LIMIT 1) SELECT * FROM orders JOIN nx "
    "ON nx.order_id = orders.id WHERE orders.id = 3",
    "WITH nx AS (SELECT id FROM orders ORDER BY id LIMIT 1) UPDATE orders SET total = 0 FROM nx "
    "WHERE orders.id = nx.id AND orders.id = 3",
])
def test_a_cte_over_a_sharded_table_is_not_routed_with_its_statement(sql: str) -> None:
    assert not isinstance(_plan(sql), RouterPlan)


def test_a_cte_without_tables_does_not_stop_the_router() -> None:
    assert isinstance(_plan("WITH v(k) AS (VALUES (3)) SELECT * FROM orders, v WHERE orders.id = 3"), RouterPlan)


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM orders WHERE id = (SELECT (random() * 9)::int + 1)",
    "SELECT * FROM orders WHERE id IN (SELECT id FROM nation ORDER BY random() LIMIT 1)",
    "SELECT count(*) FROM orders o JOIN (SELECT id FROM nation ORDER BY random() LIMIT 1) s USING (id)",
])
def test_a_select_with_a_volatile_subselect_is_not_run_on_every_node(sql: str) -> None:
    plan = _plan(sql)
    assert plan.strategy is Strategy.COORDINATOR_FINISH, plan.describe()


def test_a_volatile_pick_from_a_reference_table_in_a_write_is_refused() -> None:
    with pytest.raises(PgError) as err:
        _plan("UPDATE orders SET total = 0 FROM (SELECT id FROM nation ORDER BY random() LIMIT 1) s "
              "WHERE s.id = orders.id")
    assert err.value.sqlstate == "0A000"
