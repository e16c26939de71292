"""Statement shapes Python database tools (psycopg2, pandas, Alembic, peewee, SQLModel,
Tortoise, Pony) send, reproduced with psycopg: each test names what gridpg did before it
was fixed. The tools themselves run in tests/compat/test_python_tools.py."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import psycopg
import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(60)


def _connect(cluster: Cluster, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(cluster.dsn(0), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


def test_copy_of_a_query_then_ddl_in_one_transaction(gridpg_cluster: Cluster, schema: str) -> None:
    """psycopg2's `copy_expert("COPY (SELECT ...) TO STDOUT")`, then `CREATE TABLE ... (LIKE
    ...)` and COPY FROM in the same transaction (the backup-a-table idiom): the query's
    gathered rows sat in temp tables on the transaction's catalog connection, and the DDL's
    2PC failed at COMMIT (0A000 "cannot PREPARE a transaction that has operated on temporary
    objects"): the whole transaction was lost. In a READ ONLY block the same COPY failed
    with 25006."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TABLE account (id serial PRIMARY KEY, email text UNIQUE, balance numeric(12,2))")
        conn.execute("CREATE TABLE event (id bigserial PRIMARY KEY, amount int)")
        conn.execute("INSERT INTO account (email, balance) SELECT 'u' || g, g FROM generate_series(1, 20) g")
        conn.execute("INSERT INTO event (amount) SELECT g FROM generate_series(1, 20) g")
        for source in ("account", "event"):
            conn.execute("BEGIN")
            with conn.cursor().copy(f"COPY (SELECT * FROM {source} ORDER BY id) TO STDOUT") as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            assert len(data.splitlines()) == 20
            conn.execute(f"CREATE TABLE {source}_copy (LIKE {source} INCLUDING DEFAULTS)")
            with conn.cursor().copy(f"COPY {source}_copy FROM STDIN") as copy:
                copy.write(data)
            conn.execute("COMMIT")
            assert conn.execute(f"SELECT count(*), sum(id) FROM {source}_copy").fetchone() == (20, 210)
        conn.execute("BEGIN READ ONLY")
        out = io.BytesIO()
        with conn.cursor().copy("COPY (SELECT id FROM event WHERE amount > 15 ORDER BY id) TO STDOUT") as copy:
            for chunk in copy:
                out.write(bytes(chunk))
        conn.execute("COMMIT")
        assert out.getvalue() == b"16\n17\n18\n19\n20\n"


def test_alembic_version_update_beside_ddl_in_one_transaction(gridpg_cluster: Cluster, schema: str) -> None:
    """Alembic's migration: DDL, then `UPDATE alembic_version SET version_num = ...`, whose
    key (the table's distribution column) moves the row; its copy on the catalog server was
    a temp table in the block, and COMMIT failed (0A000 "cannot PREPARE a transaction that
    has operated on temporary objects"). As a role that is no superuser, and nothing left
    in the catalog server's shard schema afterwards."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("DROP ROLE IF EXISTS pytools_mover")
        conn.execute("CREATE ROLE pytools_mover")
        conn.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO pytools_mover")
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('r2')")
        conn.execute("ALTER TABLE alembic_version OWNER TO pytools_mover")
        try:
            conn.execute("SET ROLE pytools_mover")
            for n in range(3, 7):
                conn.execute("BEGIN")
                if n % 2:
                    conn.execute(f"CREATE TABLE t{n} (id serial PRIMARY KEY, v text)")
                row = conn.execute("UPDATE alembic_version SET version_num = %s WHERE version_num = %s "
                                   "RETURNING version_num", (f"r{n}", f"r{n - 1}")).fetchone()
                assert row == (f"r{n}",)
                if not n % 2:
                    conn.execute(f"CREATE INDEX ix_t{n - 1} ON t{n - 1} (v)")
                conn.execute("COMMIT")
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("r6",)]
            conn.execute("RESET ROLE")
            rows = conn.execute("EXECUTE DIRECT ON (catalog1) 'SELECT count(*) FROM pg_catalog.pg_class c "
                                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = ''gridpg_shards'''").fetchall()
            assert rows == [(0,)]
        finally:
            conn.execute("RESET ROLE")
            conn.execute("DROP TABLE IF EXISTS alembic_version, t3, t5")
            conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM pytools_mover")
            conn.execute("DROP ROLE pytools_mover")


def test_copy_in_the_extended_protocol(gridpg_cluster: Cluster, schema: str) -> None:
    """pg8000 sends every statement, COPY included, as Parse, Sync, Describe, Sync, Bind,
    Execute, Flush, (CopyData, CopyDone,) Sync. COPY of a distributed table so sent was
    refused (0A000: pg8000's users could not COPY at all), and `COPY (SELECT ... FROM
    <distributed table>) TO STDOUT` left the catalog server's connection in COPY OUT and
    failed with 08006 "connection to node catalog1 was lost"."""
    pg8000 = pytest.importorskip("pg8000.native")
    u = urlsplit(gridpg_cluster.dsn(0))
    con = pg8000.Connection(u.username, host=u.hostname, port=u.port, password=u.password, database="postgres")
    try:
        con.run(f"SET search_path TO {schema}")
        con.run("CREATE TABLE author (id serial PRIMARY KEY, name text)")
        con.run("COPY author (id, name) FROM STDIN", stream=io.StringIO("".join(f"{i}\ta{i}\n" for i in range(1, 41))))
        assert con.row_count == 40
        con.run("COPY author FROM STDIN WITH (FORMAT csv, HEADER)", stream=io.StringIO("id,name\n41,x\n42,y\n"))
        assert con.run("SELECT count(*), sum(id) FROM author") == [[42, 903]]
        with pytest.raises(pg8000.DatabaseError) as info:  # a duplicate key on one node: nothing copied
            con.run("COPY author FROM STDIN", stream=io.StringIO("43\tz\n7\tdup\n"))
        assert info.value.args[0]["C"] == "23505"
        out = io.StringIO()
        con.run("COPY author TO STDOUT", stream=out)
        assert con.row_count == 42 and sorted(out.getvalue().splitlines())[:2] == ["1\ta1", "10\ta10"]
        out = io.StringIO()
        con.run("COPY (SELECT id, name FROM author WHERE id > 38 ORDER BY id) TO STDOUT WITH (FORMAT csv)", stream=out)
        assert out.getvalue() == "39,a39\n40,a40\n41,x\n42,y\n" and con.row_count == 4
        with pytest.raises(pg8000.DatabaseError) as info:
            con.run("COPY (SELECT 1 / (id - id) FROM author) TO STDOUT", stream=io.StringIO())
        assert info.value.args[0]["C"] == "22012"
        con.run("BEGIN")
        con.run("COPY author FROM STDIN", stream=io.StringIO("100\tin block\n"))
        con.run("ROLLBACK")
        assert con.run("SELECT count(*) FROM author") == [[42]]
    finally:
        con.close()


def test_subplan_then_exchange_after_ddl_in_a_block_does_not_hang(gridpg_cluster: Cluster, schema: str) -> None:
    """A migration's `CREATE TABLE ...` then `SELECT ... WHERE id NOT IN (SELECT ... FROM
    other) ORDER BY 1` in one block: the IN subquery runs first into scratch tables, and the
    exchange after it asked the datanodes' row estimates in two batches at once, both on the
    block's own connection of a node (one batch reads the scratch table only the block sees,
    the other does not; after DDL both go to the block's connection): each waited for the
    other's answer, and the statement hung with the block's locks held."""
    import asyncio

    async def run() -> list[tuple[str]]:
        aconn = await psycopg.AsyncConnection.connect(gridpg_cluster.dsn(0), autocommit=True)
        async with aconn:
            await aconn.execute(f"SET search_path TO {schema}")
            await aconn.execute("CREATE TABLE author (id serial PRIMARY KEY, name text)")
            await aconn.execute("CREATE TABLE post (id serial PRIMARY KEY, author_id int, score int)")
            await aconn.execute("INSERT INTO author (name) SELECT 'a' || g FROM generate_series(1, 12) g")
            await aconn.execute("INSERT INTO post (author_id, score) SELECT 1 + g % 12, g % 7 FROM generate_series(1, 60) g")
            await aconn.execute("BEGIN")
            await aconn.execute("CREATE TABLE migrated (id int PRIMARY KEY)")
            cur = await aconn.execute("SELECT a.name FROM author a WHERE a.id NOT IN "
                                      "(SELECT author_id FROM post WHERE score = 6) ORDER BY 1")
            rows = await cur.fetchall()
            await aconn.execute("COMMIT")
            return rows

    rows = asyncio.run(asyncio.wait_for(run(), 30))
    assert rows == [("a10",), ("a12",), ("a3",), ("a5",)]
