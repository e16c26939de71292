"""Reading views over distributed tables as a role granted only the view: PostgreSQL checks
the view owner's rights on the view's tables (the session's for a security_invoker view),
and `current_user` in the view is still the session's. gridpg plans such a query with the
views inlined, and where the plan runs the statement whole on the datanodes (router,
pushdown), splits it for two-phase aggregation or merges sorted pieces, the nodes get the
client's text with the views, which exist there too (planner/core._through_views); a view
whose rows are row-local is pushed down like its table (planner/pushdown
.row_local_subqueries). The same statements on plain PostgreSQL and on gridpg (both
coordinators) give the same rows and errors."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer, run_setup, same_answers_as_plain

SETUP = [
    "CREATE TABLE {s}.vg_t (id int PRIMARY KEY, secret text, pub text, grp int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.vg_kind (grp int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION",
    "INSERT INTO {s}.vg_t SELECT g, 's' || g, 'p' || g, g % 3 FROM generate_series(1, 40) g",
    "INSERT INTO {s}.vg_kind VALUES (0, 'zero'), (1, 'one'), (2, 'two')",
    "CREATE VIEW {s}.vg_pub AS SELECT id, pub, grp FROM {s}.vg_t WHERE id <= 30",
    "CREATE VIEW {s}.vg_mine AS SELECT id, pub, current_user AS who FROM {s}.vg_t WHERE id > 35",
    "CREATE VIEW {s}.vg_inv WITH (security_invoker = true) AS SELECT id, pub FROM {s}.vg_t",
    "CREATE ROLE {r} LOGIN",
    "GRANT USAGE ON SCHEMA {s} TO {r}",
    "GRANT SELECT ON {s}.vg_pub, {s}.vg_mine, {s}.vg_inv, {s}.vg_kind TO {r}",
]

SCRIPT = [
    (0, "SET ROLE {r}"),
    (0, "SELECT * FROM {s}.vg_pub WHERE id = 7"),
    (0, "SELECT count(*), min(id), max(pub) FROM {s}.vg_pub"),
    (0, "SELECT grp, count(*) FROM {s}.vg_pub GROUP BY grp ORDER BY grp"),
    (0, "SELECT v.id, v.pub FROM {s}.vg_pub v ORDER BY v.id DESC LIMIT 3"),
    (0, "SELECT v.id, k.label FROM {s}.vg_pub v JOIN {s}.vg_kind k ON k.grp = v.grp WHERE v.id < 5 ORDER BY 1"),
    (0, "/* report */ SELECT * FROM {s}.vg_mine ORDER BY id"),
    (0, "SELECT id, pub FROM {s}.vg_inv WHERE id = 1"),  # 42501: the invoker's rights
    (0, "SELECT count(*) FROM {s}.vg_t"),  # 42501
    (0, "RESET ROLE"),
    (1, "BEGIN"),
    (1, "SET LOCAL ROLE {r}"),
    (1, "SELECT count(*) FROM {s}.vg_pub WHERE grp = 2"),
    (1, "SELECT id FROM {s}.vg_pub ORDER BY id OFFSET 27"),
    (1, "ROLLBACK"),
    (1, "SELECT current_user = session_user"),
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    role = f"{schema}_reader"
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        try:
            run_setup(first, SETUP, gridpg, s=schema, r=role)
            for node, sql in SCRIPT:
                rows = answer((first, second)[node], sql.format(s=schema, r=role))
                out.append([tuple("<reader>" if v == role else v for v in r) for r in rows]
                           if isinstance(rows, list) else rows)
        finally:
            first.execute("RESET ROLE")
            first.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            first.execute(f"DROP ROLE IF EXISTS {role}")
    return out


def test_a_role_granted_only_the_view_reads_it(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    answers = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert answers.count("42501") == 2
    assert answers[6] == [(36, "p36", "<reader>"), (37, "p37", "<reader>"), (38, "p38", "<reader>"),
                          (39, "p39", "<reader>"), (40, "p40", "<reader>")]


def test_explain_shows_the_plan_that_runs_for_a_view(gridpg_cluster: Cluster, schema: str) -> None:
    """EXPLAIN of a query over a view plans it as running it does (it printed the catalog
    server's plan of its empty copies before)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.ve_t (id int, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"CREATE VIEW {schema}.ve_v AS SELECT id, v FROM {schema}.ve_t WHERE v > 0")
        lines = [r[0] for r in conn.execute(f"EXPLAIN SELECT count(*) FROM {schema}.ve_v")]
    assert lines[0] == "Distributed plan: two-phase", lines
    assert f"Remote SQL: SELECT count(*) AS p1 FROM {schema}.ve_v" in "\n".join(lines)
