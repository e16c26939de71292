"""Rules on distributed tables run on the datanode that holds the row; actions that write
(or read) distributed tables there would ignore placement (regression replay, with.sql
bug6051): refused with 0A000, while rules that only block (DO INSTEAD NOTHING) work."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_rules_writing_distributed_tables_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE log (id int, v int) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE plain_log (id int, v int) DISTRIBUTE BY HASH (id)")
        for action in ("INSERT INTO log VALUES (new.id, new.v)", "INSERT INTO plain_log VALUES (new.id, new.v)",
                       "UPDATE log SET v = new.v WHERE id = new.id"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(f"CREATE RULE r AS ON INSERT TO t DO ALSO {action}")
        conn.execute("CREATE RULE keep AS ON DELETE TO t DO INSTEAD NOTHING")
        conn.execute("INSERT INTO t VALUES (1, 10)")
        conn.execute("DELETE FROM t WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM log").fetchone() == (0,)
