"""Rules of distributed tables whose actions write or notify, applied by the coordinator
(planner/rules.py; their rows against PostgreSQL's: tests/oracle/corpus/99_rules_that_write.sql).
Here what the oracle cannot see: such a rule lives on the catalog servers only (a rule
that does not write stays on the datanodes), its NOTIFY reaches a listener of the
coordinator, EXPLAIN shows the statements the rules make, a prepared write (the fast
paths) is expanded too, and a rule loop is PostgreSQL's 42P17 with nothing written."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import primaries


def test_rules_that_write(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as listener:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        conn.execute("CREATE TABLE log (id int, v int)")
        conn.execute("CREATE RULE t_log AS ON INSERT TO t DO ALSO INSERT INTO log VALUES (new.id, new.v)")
        conn.execute("CREATE RULE t_quiet AS ON DELETE TO t WHERE old.v < 0 DO INSTEAD NOTHING")
        conn.execute("CREATE RULE t_note AS ON UPDATE TO t DO ALSO NOTIFY t_changed")
        for dsn in primaries(gridpg_cluster).values():
            with psycopg.connect(dsn, autocommit=True) as node:
                rules = [r[0] for r in node.execute(
                    "SELECT rulename FROM pg_rules WHERE schemaname = %s ORDER BY 1", (schema,))]
                assert rules == ["t_quiet"], rules  # (writes nothing: applied where the rows are)
        plan = [r[0] for r in conn.execute("EXPLAIN INSERT INTO t VALUES (1, 1)")]
        assert plan[0].startswith("Distributed plan: rules"), plan
        assert any("Rule action" in line and "log" in line for line in plan), plan
        for i in range(1, 4):  # prepared: the fast paths must not send it to one node as it is
            conn.execute("INSERT INTO t VALUES (%s, %s)", (i, i * 10), prepare=True)
        assert conn.execute("SELECT id, v FROM log ORDER BY id").fetchall() == [(1, 10), (2, 20), (3, 30)]
        listener.execute("LISTEN t_changed")
        conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
        notes = list(listener.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in notes] == ["t_changed"]
        conn.execute("UPDATE t SET v = -1 WHERE id = 2")
        assert conn.execute("DELETE FROM t WHERE id IN (2, 3)").rowcount == 1  # (row 2 kept by the rule)
        assert conn.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,)]
        conn.execute("CREATE TABLE a (id int)")
        conn.execute("CREATE TABLE b (id int)")
        conn.execute("CREATE RULE a_b AS ON INSERT TO a DO ALSO INSERT INTO b VALUES (new.id)")
        conn.execute("CREATE RULE b_a AS ON INSERT TO b DO ALSO INSERT INTO a VALUES (new.id)")
        with pytest.raises(psycopg.errors.InvalidObjectDefinition):
            conn.execute("INSERT INTO a VALUES (1)")
        assert conn.execute("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").fetchone() == (0, 0)
        conn.execute("DROP RULE t_log ON t")
        conn.execute("INSERT INTO t VALUES (9, 9)")
        assert conn.execute("SELECT count(*) FROM log WHERE id = 9").fetchone() == (0,)
