"""Planning a MERGE whose source is staged on the target's nodes (planner/merge_staged.py):
the staging key taken from the ON condition, the statement cut into its parts, and the
forms refused because no node could decide them."""

from __future__ import annotations

import pytest

from gridpg.catalog.model import DistTable
from gridpg.errors import PgError
from gridpg.planner.merge_staged import staged_merge

PROD = DistTable("public", "prod", "hash", "sku", "text", 1, 8, ("dn1", "dn2"))


def test_the_key_is_the_source_side_of_the_distribution_column_equality() -> None:
    plan = staged_merge("MERGE INTO prod p USING staging s ON s.qty > 0 AND p.sku = s.sku "
                        "WHEN MATCHED THEN UPDATE SET qty = s.qty", PROD)
    assert plan.key_sql == "s.sku" and plan.alias == "s" and not plan.needs_key
    plan = staged_merge("MERGE INTO prod USING (VALUES ('a', 1)) AS v(code, n) ON lower(v.code) = prod.sku "
                        "WHEN NOT MATCHED THEN INSERT (sku) VALUES (lower(v.code))", PROD)
    assert plan.key_sql == "lower(v.code)" and plan.needs_key


def test_no_key_without_an_equality_on_the_distribution_column() -> None:
    for on in ("p.qty = s.qty", "p.sku = s.sku OR p.qty = 1", "p.sku = random()::text || s.sku",
               "p.sku = (SELECT max(sku) FROM x)"):
        try:
            plan = staged_merge(f"MERGE INTO prod p USING staging s ON {on} WHEN MATCHED THEN DELETE", PROD)
        except PgError as exc:
            raise AssertionError(on) from exc
        assert plan.key_sql is None and plan.sublinks == ("SELECT" in on), on


def test_an_insert_without_a_key_is_decided_by_the_coordinator() -> None:
    """NOT MATCHED ... INSERT with no equality on the distribution column (an upsert on a
    natural key): the source goes to every node, the coordinator keeps the rows no node
    matched on the first node only, and each inserted row moves to its own node."""
    plan = staged_merge("MERGE INTO prod p USING staging s ON p.qty = s.qty WHEN MATCHED THEN DELETE "
                        "WHEN NOT MATCHED AND s.qty > 1 THEN INSERT (sku, qty) VALUES (s.sku, s.qty) "
                        "WHEN NOT MATCHED THEN INSERT (sku) VALUES (lower(s.sku))", PROD)
    assert plan.key_sql is None and not plan.needs_key and plan.unmatched_once
    assert plan.moved_inserts == (1, 2)
    assert plan.match_sql == "FROM prod AS p WHERE p.qty = s.qty"
    keyed = staged_merge("MERGE INTO prod p USING staging s ON p.sku = s.sku "
                         "WHEN NOT MATCHED THEN INSERT (sku) VALUES (s.sku)", PROD)
    assert not keyed.unmatched_once and keyed.match_sql == ""


def test_an_insert_leaving_the_key_to_its_default_waits_for_the_executor() -> None:
    """identity.sql:491: the distribution column left to its default. The planner cannot
    tell a sequence's default (served: the executor draws the values and plans again with
    them named) from another (refused when run): it marks the actions."""
    plan = staged_merge("MERGE INTO prod p USING s ON p.sku = s.sku WHEN MATCHED THEN DELETE "
                        "WHEN NOT MATCHED THEN INSERT (qty) VALUES (s.qty)", PROD)
    assert plan.defaulted_key == (1,) and plan.moved_inserts == ()


def test_the_statement_is_cut_at_its_top_level_keywords() -> None:
    sql = ("WITH m AS (SELECT sku, 1 AS on_hand FROM x WHERE sku IN (SELECT sku FROM y)) "
           "MERGE INTO prod AS p USING m ON p.sku = m.sku WHEN MATCHED THEN DELETE")
    plan = staged_merge(sql, PROD)
    assert plan.with_text.startswith("WITH m AS (") and plan.head == "MERGE INTO prod AS p "
    assert plan.source_text.strip() == "m" and plan.tail.startswith("ON p.sku = m.sku")


@pytest.mark.parametrize("sql", [
    # without a key, the rows no node matches are decided by the coordinator, which
    # evaluates ON on each node twice: a call or a sub-select there is refused
    "MERGE INTO prod p USING s ON p.qty = s.qty + random() WHEN NOT MATCHED THEN INSERT (sku) VALUES (s.sku)",
    "MERGE INTO prod p USING s ON p.qty = (SELECT max(qty) FROM x) WHEN NOT MATCHED THEN INSERT (sku) VALUES (s.sku)",
    "MERGE INTO prod p USING s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET sku = s.sku || 'x'",
    "MERGE INTO prod p USING a JOIN b ON a.k = b.k ON p.sku = a.sku WHEN MATCHED THEN DELETE",
])
def test_forms_no_node_can_decide_are_refused(sql: str) -> None:
    with pytest.raises(PgError) as err:
        staged_merge(sql, PROD)
    assert err.value.sqlstate == "0A000"


def test_an_insert_of_another_key_is_moved() -> None:
    """Decided where its source row is staged; a row of another node is written to an
    outbox there and moved after (executor/merge_moves.py), a row of the node inserted
    by the action itself; an INSERT of the staged key stays as it is."""
    from gridpg.planner.merge_staged import with_moved_inserts

    sql = ("MERGE INTO prod p USING s ON p.sku = s.sku WHEN MATCHED THEN DELETE "
           "WHEN NOT MATCHED AND s.qty > 0 THEN INSERT (sku, qty) VALUES (s.sku || 'x', s.qty) "
           "WHEN NOT MATCHED AND s.qty < -5 THEN DO NOTHING "
           "WHEN NOT MATCHED THEN INSERT (qty, sku) VALUES (0, s.sku)")
    plan = staged_merge(sql, PROD)
    assert plan.key_sql == "s.sku" and plan.moved_inserts == (1,) and plan.needs_key
    node, boxes = with_moved_inserts(sql, plan.moved_inserts, ["gridpg_shards.o"], "sku",
                                     lambda value: f"mine({value})")
    assert boxes == [(["sku", "qty"], "")]
    assert node.startswith("WITH gp_moved_0 AS (INSERT INTO gridpg_shards.o (sku, qty) SELECT s.sku || 'x', "
                           "s.qty FROM s WHERE NOT EXISTS (SELECT 1 FROM prod AS p WHERE p.sku = s.sku) "
                           "AND (s.qty > 0) AND NOT (mine(s.sku || 'x'))) MERGE INTO prod AS p")
    assert ("WHEN NOT MATCHED BY TARGET AND s.qty > 0 AND mine(s.sku || 'x') THEN INSERT (sku, qty) "
            "VALUES (s.sku || 'x', s.qty) WHEN NOT MATCHED BY TARGET AND s.qty > 0 THEN DO NOTHING "
            "WHEN NOT MATCHED BY TARGET AND s.qty < -5 THEN DO NOTHING") in node
    assert "INSERT (qty, sku) VALUES (0, s.sku)" in node
    # a later action fires only where the earlier ones' conditions do not hold
    node, _ = with_moved_inserts(sql.replace("VALUES (0, s.sku)", "VALUES (0, s.sku || 'y')"), (1, 3),
                                 ["o1", "o2"], "sku", lambda value: "true")
    assert "AND (s.qty > 0) IS NOT TRUE AND (s.qty < -5) IS NOT TRUE AND NOT (true))" in node
    assert node.endswith("WHEN NOT MATCHED BY TARGET AND TRUE THEN INSERT (qty, sku) VALUES (0, s.sku || 'y') "
                         "WHEN NOT MATCHED BY TARGET THEN DO NOTHING")
    # a key the ON condition pins to a constant stages every source row on its node
    plan = staged_merge("MERGE INTO prod p USING s ON p.sku = 'k1' WHEN NOT MATCHED THEN "
                        "INSERT (sku) VALUES ('k1')", PROD)
    assert plan.key_sql == "'k1'" and plan.moved_inserts == ()


def test_replicated_and_modulo_targets() -> None:
    replicated = DistTable("public", "r", "replication", None, None, 2, None, ("dn1", "dn2"))
    # every source row to every replica, inserts too (each replica holds every target row)
    plan = staged_merge("MERGE INTO r USING s ON r.id = s.id WHEN MATCHED THEN DELETE "
                        "WHEN NOT MATCHED THEN INSERT VALUES (s.id)", replicated)
    assert plan.key_sql is None and not plan.needs_key
    modulo = DistTable("public", "m", "modulo", "id", "int4", 3, None, ("dn1", "dn2"))
    assert staged_merge("MERGE INTO m USING s ON m.id = s.id WHEN MATCHED THEN DELETE", modulo).key_sql is None
    with pytest.raises(PgError) as err:
        staged_merge("MERGE INTO m USING s ON m.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id)", modulo)
    assert "MODULO" in err.value.message


def test_an_update_setting_the_key_to_what_on_equates_it_with_keeps_the_row() -> None:
    # multi_modifications.sql:544 (Citus, h-citus14): 0A000 "the row would move" before
    for sql in ("MERGE INTO prod p USING s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET sku = s.sku, qty = 1",
                "MERGE INTO prod USING s ON (s.qty > 0 AND s.code = prod.sku) WHEN MATCHED THEN UPDATE SET sku = s.code"):
        assert staged_merge(sql, PROD).key_sql is not None, sql
    for sql in ("MERGE INTO prod p USING s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET sku = s.code",
                "MERGE INTO prod p USING s ON p.sku = s.sku OR p.sku = s.code WHEN MATCHED THEN UPDATE SET sku = s.code"):
        with pytest.raises(PgError) as err:
            staged_merge(sql, PROD)
        assert err.value.sqlstate == "0A000", sql
