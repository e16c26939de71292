"""UPDATE/DELETE through a view over a distributed table that reads other distributed
tables (FROM, USING, sub-selects), and their EXPLAIN. The statements were refused (0A000)
and `EXPLAIN UPDATE view ... FROM t` closed the client's connection (an assertion in the
planner of distributed writes, which took the view for the table). The statements now
run with the tables read broadcast to the view's nodes (tests/oracle/corpus/99_lead17_findings.sql
compares their rows with PostgreSQL's); EXPLAIN shows that plan, and a write through a
view that gridpg still refuses is refused by its EXPLAIN too, the session going on."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_explain_of_writes_through_views_reading_tables(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE base (a int PRIMARY KEY, b int)")
        conn.execute("CREATE TABLE other (id int, delta int)")
        conn.execute("INSERT INTO base SELECT g, g FROM generate_series(1, 10) g")
        conn.execute("INSERT INTO other VALUES (3, 1), (4, 2)")
        conn.execute("CREATE VIEW v AS SELECT * FROM base WHERE a > 0")
        plan = [r[0] for r in conn.execute(
            "EXPLAIN (COSTS OFF) UPDATE v SET b = b + o.delta FROM other o WHERE v.a = o.id")]
        assert plan[0] == "Distributed plan: broadcast", plan
        assert any("Gather" in line and "other" in line for line in plan), plan
        plan = [r[0] for r in conn.execute("EXPLAIN (COSTS OFF) DELETE FROM v USING other WHERE v.a = other.id")]
        assert plan[0] == "Distributed plan: broadcast", plan
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # a WITH: still refused, as the statement is
            conn.execute("EXPLAIN (COSTS OFF) WITH o AS (SELECT * FROM other) UPDATE v SET b = 0 FROM o WHERE v.a = o.id")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("WITH o AS (SELECT * FROM other) UPDATE v SET b = 0 FROM o WHERE v.a = o.id")
        assert conn.execute("UPDATE v SET b = b + o.delta FROM other o WHERE v.a = o.id").rowcount == 2
        assert conn.execute("SELECT a, b FROM base WHERE a IN (3, 4) ORDER BY a").fetchall() == [(3, 4), (4, 6)]
