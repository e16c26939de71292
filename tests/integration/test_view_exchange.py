"""A query over a view whose definition no single-node strategy runs (a GROUP BY over a
join, read with a filter on top) is planned with the view inlined, and the exchange and
subplan planners get that inlined text. They got the client's, which names no
distributed table, so every such view was gathered whole into the catalog server; and in
server-side code (a function reading the view, as `pg_restore` of an application's
schema brings them) the gather needed the catalog server inside the caller's
transaction, which is busy running the code: every call failed with 0A000. Rights stay
PostgreSQL's: a role granted only the view reads it."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer, run_setup, same_answers_as_plain

SETUP = [
    "CREATE TABLE {s}.vx_orders (id int PRIMARY KEY, customer int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.vx_items (order_id int, sku text, qty int, PRIMARY KEY (order_id, sku)) "
    "DISTRIBUTE BY HASH (order_id)",
    "CREATE TABLE {s}.vx_products (sku text PRIMARY KEY, price numeric) DISTRIBUTE BY REPLICATION",
    "INSERT INTO {s}.vx_orders SELECT g, g % 7 FROM generate_series(1, 60) g",
    "INSERT INTO {s}.vx_products SELECT 'p' || g, g * 1.5 FROM generate_series(1, 5) g",
    "INSERT INTO {s}.vx_items SELECT o, 'p' || k, o % 4 + k FROM generate_series(1, 60) o, generate_series(1, 3) k",
    "CREATE VIEW {s}.vx_totals AS SELECT o.id, o.customer, sum(i.qty * p.price) AS total FROM {s}.vx_orders o "
    "JOIN {s}.vx_items i ON i.order_id = o.id JOIN {s}.vx_products p ON p.sku = i.sku GROUP BY o.id, o.customer",
    "CREATE FUNCTION {s}.vx_customer_total(c int) RETURNS numeric LANGUAGE sql STABLE AS "
    "$$ SELECT coalesce(sum(total), 0) FROM {s}.vx_totals WHERE customer = c $$",
    "CREATE FUNCTION {s}.vx_biggest(c int) RETURNS int LANGUAGE plpgsql STABLE AS "
    "$$ BEGIN RETURN (SELECT id FROM {s}.vx_totals WHERE customer = c ORDER BY total DESC, id LIMIT 1); END $$",
    "CREATE ROLE {r} LOGIN",
    "GRANT USAGE ON SCHEMA {s} TO {r}",
    "GRANT SELECT ON {s}.vx_totals TO {r}",
]

SCRIPT = [
    (0, "SELECT * FROM {s}.vx_totals WHERE customer = 3 ORDER BY id"),
    (1, "SELECT customer, count(*), sum(total) FROM {s}.vx_totals GROUP BY customer ORDER BY customer"),
    (0, "SELECT {s}.vx_customer_total(3), {s}.vx_customer_total(5), {s}.vx_biggest(2)"),
    (1, "SELECT c, {s}.vx_customer_total(c) FROM generate_series(0, 7) c ORDER BY c"),
    (0, "BEGIN"),
    (0, "INSERT INTO {s}.vx_items VALUES (3, 'p5', 100)"),
    (0, "SELECT {s}.vx_customer_total(3), {s}.vx_biggest(3)"),
    (0, "ROLLBACK"),
    (0, "SET ROLE {r}"),
    (0, "SELECT id, total FROM {s}.vx_totals WHERE customer = 4 ORDER BY total DESC, id LIMIT 3"),
    (0, "SELECT count(*) FROM {s}.vx_orders"),  # 42501
    (0, "RESET ROLE"),
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    role = f"{schema}_vx"
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        try:
            run_setup(first, SETUP, gridpg, s=schema, r=role)
            for node, sql in SCRIPT:
                out.append(answer((first, second)[node], sql.format(s=schema, r=role)))
        finally:
            first.execute("RESET ROLE")
            first.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            first.execute(f"DROP ROLE IF EXISTS {role}")
    return out


def test_views_over_grouped_joins_as_postgresql(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    answers = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert answers.count("42501") == 1
    assert isinstance(answers[2], list) and answers[2][0][0] > 0


def test_a_view_over_a_grouped_join_is_staged_not_gathered(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        run_setup(conn, SETUP[:3] + SETUP[6:7], True, s=schema, r="")
        lines = [r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {schema}.vx_totals WHERE customer = 3")]
    assert lines[0].startswith("Distributed plan: exchange"), lines
    assert not any("Gather from" in line for line in lines), lines
