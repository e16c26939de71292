"""Unique keys and exclusion constraints of inheritance members (h-inherit24): the members
of an inheritance tree over a HASH table are plain tables on the datanodes, where no
partitioned parent refuses a key without the distribution column, so each node checked
such a key over its own rows only. Each test fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_a_key_without_the_distribution_column_of_an_inheritance_member_is_refused(
        gridpg_cluster: Cluster, schema: str) -> None:
    """`CREATE UNIQUE INDEX ON child (b)` and `CREATE TABLE c (UNIQUE (b)) INHERITS (p)` of a
    tree distributed by `a` succeeded, and rows with equal `b` on two nodes both went in
    (PostgreSQL refuses the second: 23505), silently. Refused now (0A000); keys with the
    distribution column still work and are enforced."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE k24_parent (a int PRIMARY KEY, b text)")
        conn.execute("CREATE TABLE k24_child (a int PRIMARY KEY) INHERITS (k24_parent)")
        for sql in ("CREATE UNIQUE INDEX ON k24_child (b)",
                    "ALTER TABLE k24_child ADD CONSTRAINT k24_b UNIQUE (b)",
                    "CREATE UNIQUE INDEX ON k24_child (lower(b))",
                    "CREATE TABLE k24_other (c int, UNIQUE (b)) INHERITS (k24_parent)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match='does not include the distribution column "a"'):
                conn.execute(sql)
        conn.execute("CREATE UNIQUE INDEX ON k24_child (b, a)")
        conn.execute("CREATE TABLE k24_third (c int, UNIQUE (c, a)) INHERITS (k24_parent)")
        for a in range(1, 9):  # equal b on every node: allowed, the keys hold `a`
            conn.execute("INSERT INTO k24_child VALUES (%s, 'same')", (a,))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO k24_child VALUES (3, 'same')")
        assert conn.execute("SELECT count(*) FROM k24_parent").fetchone() == (8,)
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename IN ('k24_child', 'k24_other')"
                            ).fetchone() == (2,)


def test_a_key_that_needs_a_replicated_tree_replicates_the_tree(gridpg_cluster: Cluster, schema: str) -> None:
    """inherit.sql:1029: `ALTER TABLE parent ADD CONSTRAINT ... EXCLUDE ((1) WITH =)` of a tree
    gridpg placed by default tried to make the parent a REPLICATION table alone, and the
    rebuild's DROP failed on the datanodes (2BP01 "cannot drop table ... because other
    objects depend on it"). The whole tree becomes REPLICATION in place
    (commands/tree_replication.py) and the key holds over every row; a tree whose member
    has triggers is refused with the reason (0A000), unchanged."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE k24_p2 (a int PRIMARY KEY, b text)")
        conn.execute("CREATE TABLE k24_c2 () INHERITS (k24_p2)")
        conn.execute("INSERT INTO k24_p2 VALUES (1, 'x')")
        conn.execute("INSERT INTO k24_c2 SELECT g, 'y' FROM generate_series(2, 40) g")
        conn.execute("ALTER TABLE k24_p2 ADD CONSTRAINT k24_p2_excl EXCLUDE ((1) WITH =)")
        assert conn.execute("SELECT method FROM gridpg.dist_table WHERE table_name IN ('k24_p2', 'k24_c2')"
                            ).fetchall() == [("replication",), ("replication",)]
        for a in (2, 3, 5, 8):  # whichever node the parent's row was on
            with pytest.raises(psycopg.errors.ExclusionViolation):
                conn.execute("INSERT INTO k24_p2 VALUES (%s + 100, 'z')", (a,))
        conn.execute("INSERT INTO k24_c2 VALUES (41, 'y')")
        assert conn.execute("SELECT count(*), count(DISTINCT a) FROM k24_p2").fetchone() == (41, 41)
        conn.execute("CREATE TABLE k24_p3 (a int PRIMARY KEY, b text)")
        conn.execute("CREATE TABLE k24_c3 () INHERITS (k24_p3)")
        conn.execute("CREATE FUNCTION k24_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER k24_g BEFORE INSERT ON k24_c3 FOR EACH ROW EXECUTE FUNCTION k24_f()")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="member of an inheritance tree"):
            conn.execute("ALTER TABLE k24_p3 ADD CONSTRAINT k24_p3_b UNIQUE (b)")
        assert conn.execute("SELECT method FROM gridpg.dist_table WHERE table_name IN ('k24_p3', 'k24_c3')"
                            ).fetchall() == [("hash",), ("hash",)]


def test_a_bytea_tree_keeps_rows_on_their_nodes(gridpg_cluster: Cluster, schema: str) -> None:
    """The members of a tree are plain tables on the datanodes, kept to their node's shards by
    the placement CHECK; a bytea distribution column had none, so `UPDATE view SET key = ...`
    through an updatable view (written in place on each node) left rows on nodes their new
    hash does not choose, and point reads missed them (PostgreSQL finds each), silently.
    Refused by the CHECK now, as for the other types, with what and why (0A000, not the
    CHECK's 23514 about a constraint the user never made); every row is still found."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE by24_p (b bytea, ok bool)")
        conn.execute("CREATE TABLE by24_c () INHERITS (by24_p)")
        conn.execute("INSERT INTO by24_c SELECT convert_to('k' || g, 'UTF8'), true FROM generate_series(1, 20) g")
        conn.execute("CREATE VIEW by24_v AS SELECT * FROM by24_p WHERE ok")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="would have to move to another datanode"):
            conn.execute("UPDATE by24_v SET b = b || '\\x00'::bytea WHERE ok")
        conn.execute("CREATE TABLE by24_d (d date, ok bool)")
        conn.execute("CREATE TABLE by24_dc () INHERITS (by24_d)")
        conn.execute("INSERT INTO by24_dc SELECT '2024-01-01'::date + g, true FROM generate_series(1, 20) g")
        conn.execute("CREATE VIEW by24_dv AS SELECT * FROM by24_d WHERE ok")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match='a row of "by24_dc"'):
            conn.execute("UPDATE by24_dv SET d = d + 100")
        conn.execute("UPDATE by24_dv SET ok = NOT ok WHERE d < '2024-01-05'")
        for k in range(1, 21):
            assert conn.execute("SELECT count(*) FROM by24_p WHERE b = %s", (f"k{k}".encode(),)).fetchone() == (1,)
