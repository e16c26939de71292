"""UPDATE of the distribution column moves rows through a temp copy on the session's
catalog connection (executor/multi.py `move_rows`). A move that fails (a role without
DELETE on the table, a duplicate key) left that copy behind on a pooled connection: it
showed in pg_class, and a later DROP OWNED BY of the role, run as a two-phase commit,
failed with 0A000 ("operated on temporary objects"). And `SET id = id`, which ORMs write
when they set every column, is no move at all: it needed DELETE and INSERT rights."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _leftovers(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM pg_catalog.pg_class WHERE relname LIKE 'gp\\_move\\_%'").fetchone()
    assert row is not None
    return int(row[0])


def test_failed_moves_leave_no_copy(gridpg_cluster: Cluster, schema: str) -> None:
    role = f"{schema}_u"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE acc (id int PRIMARY KEY, owner text, bal int)")
        conn.execute("INSERT INTO acc SELECT g, 'o' || g, 100 FROM generate_series(1, 20) g")
        before = _leftovers(conn)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE acc SET id = id + 1 WHERE id = 5")
        conn.execute(f"CREATE ROLE {role}")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT SELECT, UPDATE (id, bal) ON acc TO {role}")
        conn.execute(f"SET ROLE {role}")
        # no move: the column keeps its value, UPDATE rights are enough (as in PostgreSQL)
        cur = conn.execute("UPDATE acc SET id = id, bal = 1 WHERE id = 6")
        assert cur.rowcount == 1
        cur = conn.execute("UPDATE acc AS a SET id = a.id, bal = a.bal + 1 WHERE id IN (6, 7)")
        assert cur.rowcount == 2
        # a real move needs DELETE and INSERT on the nodes here (documented), and fails cleanly
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE acc SET id = id + 100 WHERE id = 8")
        conn.execute("RESET ROLE")
        assert _leftovers(conn) == before
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
        assert conn.execute("SELECT id, bal FROM acc WHERE id IN (5, 6, 7, 8) ORDER BY id").fetchall() == [
            (5, 100), (6, 2), (7, 101), (8, 100)]


def test_a_failed_move_leaves_no_copy_of_what_its_set_reads(gridpg_cluster: Cluster, schema: str) -> None:
    """A move whose SET sub-select reads a HASH table copies that table to the catalog
    server first (a shard-schema table there, as in a block). The copy was made before the
    catalog server's block opened, so when the move then failed (a duplicate key) the
    rollback undid its DROP and not its CREATE, and the copy stayed."""
    from tests.conftest import catalog_dsns

    def copies() -> int:
        total = 0
        for dsn in catalog_dsns(gridpg_cluster).values():
            with psycopg.connect(dsn, autocommit=True) as cat:
                row = cat.execute("SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                                  "ON n.oid = c.relnamespace WHERE n.nspname = 'gridpg_shards' "
                                  "AND c.relname LIKE 'gp\\_gather\\_%'").fetchone()
                total += int(row[0]) if row else 0
        return total

    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE doc (did int PRIMARY KEY, cid int) DISTRIBUTE BY HASH (did)")
        conn.execute("CREATE TABLE cat (cid int PRIMARY KEY) DISTRIBUTE BY HASH (cid)")
        conn.execute("INSERT INTO doc SELECT g, g FROM generate_series(1, 10) g")
        conn.execute("INSERT INTO cat VALUES (66), (77)")
        before = copies()
        with pytest.raises(psycopg.errors.UniqueViolation):  # both rows get the same new key
            conn.execute("UPDATE doc SET did = (SELECT max(c.cid) FROM cat c WHERE c.cid > doc.cid) "
                         "WHERE did IN (4, 7)")
        assert copies() == before
        assert conn.execute("SELECT count(*), sum(did) FROM doc").fetchone() == (10, 55)
