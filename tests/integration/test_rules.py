"""Rules on distributed tables. A rule whose actions write (regression replay, with.sql
bug6051) was refused with 0A000: run on the datanode that holds the row, its actions would
have ignored placement. The coordinator now applies such rules (planner/rules.py), so a
rule writing a REPLICATION table writes every copy and one writing a HASH table puts each
row where it belongs; rules that only block (DO INSTEAD NOTHING) act on the datanodes."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import primaries


def test_rules_writing_distributed_tables_respect_placement(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE log (id int, v int) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE plain_log (id int, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE RULE r1 AS ON INSERT TO t DO ALSO INSERT INTO log VALUES (new.id, new.v)")
        conn.execute("CREATE RULE r2 AS ON INSERT TO t DO ALSO INSERT INTO plain_log VALUES (new.id, new.v)")
        conn.execute("CREATE RULE r3 AS ON INSERT TO t DO ALSO UPDATE log SET v = v + 1 WHERE id = new.id")
        conn.execute("CREATE RULE keep AS ON DELETE TO t DO INSTEAD NOTHING")
        conn.execute("INSERT INTO t SELECT g, g * 10 FROM generate_series(1, 20) g")
        conn.execute("DELETE FROM t WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (20,)
        assert conn.execute("SELECT count(*), sum(v) FROM log").fetchone() == (20, 2120)
        assert conn.execute("SELECT count(*), sum(v) FROM plain_log").fetchone() == (20, 2100)
        groups = primaries(gridpg_cluster)
        held = 0
        for dsn in groups.values():
            with psycopg.connect(dsn, autocommit=True) as node:
                node.execute(f"SET search_path = {schema}")
                assert node.execute("SELECT count(*), sum(v) FROM log").fetchone() == (20, 2120)
                held += node.execute("SELECT count(*) FROM plain_log").fetchone()[0]
        assert held == 20  # each row once, on the node its key names
