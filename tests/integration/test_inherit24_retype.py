"""ALTER TABLE ... ALTER COLUMN ... TYPE of the distribution column of an inheritance
tree's root (h-inherit24, commands/retype_tree.py): refused before (0A000). Each test
fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import datanode_dsns


def test_retyped_tree_rows_sit_on_the_nodes_of_their_new_hash(gridpg_cluster: Cluster, schema: str) -> None:
    """text -> integer USING changes every value's hash: the rows that now belong to another
    node's shards moved there (the datanodes' placement CHECK, made again for the new type,
    holds on every member), point reads find each row, and the metadata of every member
    names the new type."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE rt24_p (k text, v int)")
        conn.execute("CREATE TABLE rt24_c (w int) INHERITS (rt24_p)")
        conn.execute("INSERT INTO rt24_p SELECT g::text, g FROM generate_series(1, 200) g")
        conn.execute("INSERT INTO rt24_c SELECT g::text, g, g FROM generate_series(201, 400) g")
        conn.execute("ALTER TABLE rt24_p ALTER COLUMN k TYPE int USING k::int * 3")
        for k in (3, 300, 600, 1200):
            assert conn.execute("SELECT count(*) FROM rt24_p WHERE k = %s", (k,)).fetchone() == (1,)
        assert conn.execute("SELECT count(*), sum(k) FROM rt24_p").fetchone() == (400, 3 * 400 * 401 // 2)
        assert conn.execute("SELECT column_type FROM gridpg.dist_table WHERE schema_name = %s ORDER BY 1",
                            (schema,)).fetchall() == [("int4",), ("int4",)]
    total = 0
    for dsn in datanode_dsns(gridpg_cluster).values():
        with psycopg.connect(dsn, autocommit=True) as node:
            checks = node.execute(
                "SELECT conrelid::regclass::text, convalidated FROM pg_constraint WHERE conname = 'gridpg_placement' "
                "AND connamespace = %s::regnamespace ORDER BY 1", (schema,)).fetchall()
            assert [c[1] for c in checks] == [True, True], checks
            total += node.execute(f'SELECT count(*) FROM "{schema}".rt24_p').fetchone()[0]
    assert total == 400


def test_retyping_a_tree_that_would_fire_triggers_or_actions_is_refused(gridpg_cluster: Cluster,
                                                                         schema: str) -> None:
    """A member's own triggers and a foreign key referencing a member would run for the
    rows moved between nodes (a DELETE and an INSERT there): refused (0A000), the tree
    unchanged; a type change of a child's inherited column keeps PostgreSQL's 42P16."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE rt24_t (k int PRIMARY KEY, v int)")
        conn.execute("CREATE TABLE rt24_tc () INHERITS (rt24_t)")
        conn.execute("INSERT INTO rt24_tc VALUES (1, 1), (2, 2)")
        conn.execute("CREATE FUNCTION rt24_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER rt24_g BEFORE INSERT ON rt24_tc FOR EACH ROW EXECUTE FUNCTION rt24_f()")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="a member has triggers"):
            conn.execute("ALTER TABLE rt24_t ALTER COLUMN k TYPE bigint")
        conn.execute("DROP TRIGGER rt24_g ON rt24_tc")
        conn.execute("CREATE TABLE rt24_ref (k int REFERENCES rt24_t (k))")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="foreign keys refer to its members"):
            conn.execute("ALTER TABLE rt24_t ALTER COLUMN k TYPE bigint")
        with pytest.raises(psycopg.errors.InvalidTableDefinition):
            conn.execute("ALTER TABLE rt24_tc ALTER COLUMN k TYPE bigint")
        conn.execute("DROP TABLE rt24_ref")
        conn.execute("ALTER TABLE rt24_t ALTER COLUMN k TYPE bigint")
        assert conn.execute("SELECT pg_typeof(k)::text, count(*) FROM rt24_t GROUP BY 1").fetchall() == [("bigint", 2)]
