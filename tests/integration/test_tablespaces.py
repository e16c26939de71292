"""CREATE / ALTER / DROP TABLESPACE on every server, and tables in tablespaces (h-tblspc18).

CREATE and DROP TABLESPACE run outside transactions, server by server
(commands/tablespaces.py); before, gridpg ran them inside its DDL transaction, where every
server refused them with 25001 (test_setup.sql:28 of PostgreSQL's regression suite)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

IN_PLACE = "SET allow_in_place_tablespaces = on"


def _spaces(dsn: str, name: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT spcname, pg_get_userbyid(spcowner), spcoptions::text, spcacl::text "
                            "FROM pg_tablespace WHERE spcname = %s", (name,)).fetchall()


def _everywhere(catalogs: dict[str, str], datanodes: dict[str, str], name: str) -> dict[str, list[tuple[object, ...]]]:
    return {server: _spaces(dsn, name) for server, dsn in {**catalogs, **datanodes}.items()}


@pytest.fixture()
def conn(coordinator_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(coordinator_dsn, autocommit=True) as c:
        c.execute(IN_PLACE)
        yield c


def test_create_alter_drop_reach_every_server(conn: psycopg.Connection, catalogs: dict[str, str],
                                              datanodes: dict[str, str]) -> None:
    conn.execute("CREATE TABLESPACE tblspc18_a LOCATION '' WITH (random_page_cost = 3.0)")
    try:
        seen = _everywhere(catalogs, datanodes, "tblspc18_a")
        assert all(rows and rows[0][2] == "{random_page_cost=3.0}" for rows in seen.values()), seen
        conn.execute("ALTER TABLESPACE tblspc18_a SET (seq_page_cost = 1.1)")
        conn.execute("ALTER TABLESPACE tblspc18_a RENAME TO tblspc18_b")
        seen = _everywhere(catalogs, datanodes, "tblspc18_b")
        assert all(rows and "seq_page_cost=1.1" in str(rows[0][2]) for rows in seen.values()), seen
    finally:
        conn.execute("DROP TABLESPACE IF EXISTS tblspc18_a")
        conn.execute("DROP TABLESPACE IF EXISTS tblspc18_b")
    assert not any(_everywhere(catalogs, datanodes, "tblspc18_b").values())


def test_inside_a_block_fails_with_25001_before_any_server(conn: psycopg.Connection, catalogs: dict[str, str],
                                                            datanodes: dict[str, str]) -> None:
    conn.execute("BEGIN")
    with pytest.raises(psycopg.errors.ActiveSqlTransaction, match="CREATE TABLESPACE cannot run inside"):
        conn.execute("CREATE TABLESPACE tblspc18_blk LOCATION ''")
    conn.execute("ROLLBACK")
    assert not any(_everywhere(catalogs, datanodes, "tblspc18_blk").values())


def test_failure_on_a_datanode_is_undone_and_said(conn: psycopg.Connection, catalogs: dict[str, str],
                                                  datanodes: dict[str, str]) -> None:
    last = max(datanodes)
    with psycopg.connect(datanodes[last], autocommit=True) as node:
        node.execute(IN_PLACE)
        node.execute("CREATE TABLESPACE tblspc18_dup LOCATION ''")
    try:
        with pytest.raises(psycopg.errors.DuplicateObject) as info:
            conn.execute("CREATE TABLESPACE tblspc18_dup LOCATION ''")
        assert f"failed on {last}" in str(info.value)
        assert "dropped again" in (info.value.diag.message_detail or "")
        others = {s: rows for s, rows in _everywhere(catalogs, datanodes, "tblspc18_dup").items() if s != last}
        assert not any(others.values()), others
    finally:
        conn.execute("DROP TABLESPACE IF EXISTS tblspc18_dup")
    assert not any(_everywhere(catalogs, datanodes, "tblspc18_dup").values())


def test_drop_of_a_tablespace_a_datanode_still_uses_is_restored(conn: psycopg.Connection, catalogs: dict[str, str],
                                                                datanodes: dict[str, str]) -> None:
    conn.execute("CREATE ROLE tblspc18_owner")
    conn.execute("CREATE ROLE tblspc18_user")
    conn.execute("CREATE TABLESPACE tblspc18_used OWNER tblspc18_owner LOCATION '' WITH (random_page_cost = 2.5)")
    conn.execute("GRANT CREATE ON TABLESPACE tblspc18_used TO tblspc18_user")
    before = _everywhere(catalogs, datanodes, "tblspc18_used")
    last = max(datanodes)
    with psycopg.connect(datanodes[last], autocommit=True) as node:
        node.execute("CREATE TABLE tblspc18_only_here (i int) TABLESPACE tblspc18_used")
    try:
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as info:
            conn.execute("DROP TABLESPACE tblspc18_used")
        assert f"failed on {last}" in str(info.value)
        assert _everywhere(catalogs, datanodes, "tblspc18_used") == before
    finally:
        with psycopg.connect(datanodes[last], autocommit=True) as node:
            node.execute("DROP TABLE IF EXISTS tblspc18_only_here")
        conn.execute("DROP TABLESPACE IF EXISTS tblspc18_used")
        conn.execute("DROP ROLE tblspc18_owner")
        conn.execute("DROP ROLE tblspc18_user")


def test_real_location_on_a_shared_host_is_refused(conn: psycopg.Connection, tmp_path: object,
                                                   catalogs: dict[str, str], datanodes: dict[str, str]) -> None:
    with pytest.raises(psycopg.errors.InvalidObjectDefinition):  # PostgreSQL's own verdict first (42P17)
        conn.execute("CREATE TABLESPACE tblspc18_rel LOCATION 'relative'")
    with pytest.raises(psycopg.errors.UndefinedFile):  # 58P01 from the coordinator's catalog server
        conn.execute("CREATE TABLESPACE tblspc18_loc LOCATION '/no/such/tblspc18'")
    assert not any(_everywhere(catalogs, datanodes, "tblspc18_loc").values())


def test_hash_table_shards_follow_the_table(conn: psycopg.Connection, schema: str, datanodes: dict[str, str]) -> None:
    conn.execute("CREATE TABLESPACE tblspc18_t LOCATION ''")
    try:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE h (id int, v text) TABLESPACE tblspc18_t DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE INDEX h_v ON h (v) TABLESPACE tblspc18_t")
        conn.execute("INSERT INTO h SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g")
        size = conn.execute("SELECT pg_tablespace_size('tblspc18_t')").fetchone()
        assert size is not None and int(size[0]) > 1_000_000  # the datanodes' rows, not the empty copy
        conn.execute("ALTER TABLE h SET TABLESPACE pg_default")
        conn.execute("ALTER INDEX h_v SET TABLESPACE pg_default")
        for dsn in datanodes.values():
            with psycopg.connect(dsn, autocommit=True) as node:
                left = node.execute("SELECT count(*) FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace "
                                    "WHERE t.spcname = 'tblspc18_t'").fetchone()
                assert left == (0,)  # every shard and shard index moved
        assert conn.execute("SELECT count(*) FROM h").fetchone() == (5000,)
        conn.execute("DROP TABLE h")
    finally:
        conn.execute("DROP TABLESPACE tblspc18_t")


def _on_datanodes(datanodes: dict[str, str], space: str) -> dict[str, int]:
    """Relations per kind in `space` on the first datanode."""
    with psycopg.connect(datanodes[min(datanodes)], autocommit=True) as node:
        return dict(node.execute("SELECT c.relkind, count(*) FROM pg_class c JOIN pg_tablespace t "
                                 "ON t.oid = c.reltablespace WHERE t.spcname = %s GROUP BY 1", (space,)).fetchall())


def test_rebuilt_table_keeps_its_tablespaces(conn: psycopg.Connection, schema: str, datanodes: dict[str, str]) -> None:
    """ALTER COLUMN TYPE of the distribution column rebuilds the table on the datanodes
    (commands/retype.py): the rebuilt shards and shard indexes had gone to pg_default."""
    conn.execute("CREATE TABLESPACE tblspc18_re LOCATION ''")
    try:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE re (id int PRIMARY KEY USING INDEX TABLESPACE tblspc18_re, v text) "
                     "TABLESPACE tblspc18_re DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE INDEX re_v ON re (v) TABLESPACE tblspc18_re")
        conn.execute("CREATE INDEX re_v2 ON re (v)")
        conn.execute("INSERT INTO re SELECT g, 'x' FROM generate_series(1, 100) g")
        before = _on_datanodes(datanodes, "tblspc18_re")
        assert before.get("r", 0) > 0 and before.get("i", 0) > 0
        conn.execute("ALTER TABLE re ALTER id TYPE bigint")
        assert _on_datanodes(datanodes, "tblspc18_re") == before
        conn.execute("ALTER TABLE re ALTER id TYPE text")
        assert _on_datanodes(datanodes, "tblspc18_re") == before
        # a unique constraint beside the primary key on the same column: one index on the
        # datanodes' partitioned copy after the rebuild (the move of the other failed, 42P01)
        conn.execute("ALTER TABLE re ADD CONSTRAINT re_u UNIQUE (id) USING INDEX TABLESPACE tblspc18_re")
        conn.execute("ALTER TABLE re ALTER id TYPE varchar")
        assert _on_datanodes(datanodes, "tblspc18_re")["r"] == before["r"]
        assert conn.execute("SELECT count(*) FROM re").fetchone() == (100,)
        conn.execute("DROP TABLE re")
    finally:
        conn.execute("DROP TABLESPACE tblspc18_re")
