"""Unique keys hold cluster-wide or are refused (commands/ddl._ensure_keys_fit): a ROUNDROBIN
table on several groups takes no PRIMARY KEY / UNIQUE (CREATE TABLE, ALTER TABLE ADD,
CREATE UNIQUE INDEX), a MODULO table none without its distribution column, also when
added later. Before, `INSERT INTO rr VALUES (1, 1), (1, 2)` into a ROUNDROBIN table with a
primary key stored both rows (one per node) where PostgreSQL raises 23505."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.mark.parametrize("statements", [
    ["CREATE TABLE {s}.rr (id int PRIMARY KEY, v int) DISTRIBUTE BY ROUNDROBIN"],
    ["CREATE TABLE {s}.rr (id int, v int UNIQUE) DISTRIBUTE BY ROUNDROBIN"],
    ["CREATE TABLE {s}.rr (id int, v int) DISTRIBUTE BY ROUNDROBIN", "ALTER TABLE {s}.rr ADD PRIMARY KEY (id)"],
    ["CREATE TABLE {s}.rr (id int, v int) DISTRIBUTE BY ROUNDROBIN", "CREATE UNIQUE INDEX ON {s}.rr (v)"],
    ["CREATE TABLE {s}.mo (id int, v int) DISTRIBUTE BY MODULO (id)", "ALTER TABLE {s}.mo ADD UNIQUE (v)"],
    ["CREATE TABLE {s}.mo (id int, v int) DISTRIBUTE BY MODULO (id)", "CREATE UNIQUE INDEX ON {s}.mo ((v + id))"],
])
def test_keys_a_node_cannot_enforce_are_refused(gridpg_cluster: Cluster, schema: str, statements: list[str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        for sql in statements[:-1]:
            conn.execute(sql.format(s=schema))
        with pytest.raises(psycopg.errors.InvalidTableDefinition):
            conn.execute(statements[-1].format(s=schema))


def test_keys_that_hold_are_kept(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.rr (id int, v int) DISTRIBUTE BY ROUNDROBIN")
        conn.execute(f"CREATE INDEX ON {s}.rr (v)")  # not unique: fine
        conn.execute(f"CREATE TABLE {s}.mo (id int, v int) DISTRIBUTE BY MODULO (id)")
        conn.execute(f"ALTER TABLE {s}.mo ADD UNIQUE (id, v)")
        conn.execute(f"INSERT INTO {s}.mo VALUES (1, 1), (2, 1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"INSERT INTO {s}.mo VALUES (1, 1)")
        conn.execute(f"CREATE TABLE {s}.one (id int, v int) DISTRIBUTE BY ROUNDROBIN TO NODE (dn1)")
        conn.execute(f"ALTER TABLE {s}.one ADD PRIMARY KEY (id)")  # one node checks every row
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"INSERT INTO {s}.one VALUES (1, 1), (1, 2)")
