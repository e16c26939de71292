"""ALTER SEQUENCE without RESTART inside a transaction block reaches the GTM's sequence at
COMMIT; a value of that sequence in the same block would follow the old definition
(PostgreSQL: the new one), so it is refused (0A000) and the block can go on after a
ROLLBACK; after COMMIT the values follow the new definition, as in PostgreSQL. (With
RESTART the block is served by the catalog server's restarted sequence:
tests/oracle/corpus/99_probe5_findings.sql.)"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_values_of_a_sequence_altered_in_the_block_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE SEQUENCE s")
        conn.execute("CREATE TABLE t (id int DEFAULT nextval('s') PRIMARY KEY, v int)")
        conn.commit()
        assert conn.execute("SELECT nextval('s')").fetchone() == (1,)
        conn.commit()
        conn.execute("ALTER SEQUENCE s INCREMENT BY 10")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("SELECT nextval('s')")
        conn.rollback()
        conn.execute("ALTER SEQUENCE s INCREMENT BY 10")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("INSERT INTO t (v) VALUES (1)")
        conn.rollback()
        conn.execute("ALTER SEQUENCE s INCREMENT BY 10")
        conn.commit()
        assert conn.execute("INSERT INTO t (v) VALUES (2) RETURNING id").fetchone() == (11,)
        assert conn.execute("SELECT nextval('s')").fetchone() == (21,)
        conn.commit()
