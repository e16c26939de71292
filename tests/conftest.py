"""Shared fixtures: one gridpg cluster and one plain PostgreSQL per test session.

Both are started with the product's own cluster code and stopped at the end. Tests that
need isolation take the `schema` fixture: a fresh schema and a connection whose
search_path points at it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import SUPERUSER, PgServer, find_pg_bin
from gridpg.cluster.topology import PortAllocator, build_default

# Coordinators started by the tests check every stamped routed cycle in full and fail
# loudly on a stale stamp (frontend/statements.py CHECK_STAMPS).
os.environ.setdefault("GRIDPG_CHECK_STAMPS", "1")


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# A run stopped with SIGTERM (`timeout`, a CI runner's cancel) ends as Ctrl-C does: the
# session fixtures' teardown stops their clusters, which otherwise outlive pytest.
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _interrupt)


def _free_base(start: int) -> int:
    return PortAllocator("127.0.0.1", start + (os.getpid() % 50) * 20).take()


@contextlib.contextmanager
def server_dir(prefix: str) -> Iterator[Path]:
    """A directory for servers that run as another user, outside pytest's basetemp: every
    new pytest session chmods `pytest-of-<user>` back to 0700, which would cut the servers
    of a concurrently running session off their own data."""
    path = Path(tempfile.mkdtemp(prefix=f"gridpg-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def gridpg_cluster() -> Iterator[Cluster]:
    with server_dir("cluster") as base:
        cluster = Cluster(base / "cluster")
        topology = build_default(datanodes=2, coordinators=2, port=_free_base(21000))
        cluster.create(topology, lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster
        finally:
            cluster.down(lambda _m: None)


@pytest.fixture(scope="session")
def plain_pg() -> Iterator[str]:
    """DSN of one plain PostgreSQL server, the oracle's reference."""
    with server_dir("plainpg") as directory:
        yield from _plain_pg(directory)


def _plain_pg(directory: Path) -> Iterator[str]:
    from gridpg.cluster.pgserver import make_reachable, run_as_user

    make_reachable(directory, run_as_user())
    password_file = directory / "password"
    password = secrets.token_urlsafe(16)
    password_file.write_text(password + "\n")
    port = _free_base(23000)
    server = PgServer(
        name="plain", data_dir=directory / "data", host="127.0.0.1", port=port,
        socket_dir=directory / "run", log_file=directory / "log" / "plain.log",
        bin_dir=find_pg_bin(), password_file=password_file,
    )
    server.init({"fsync": "off"})
    server.start()
    try:
        yield f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres"
    finally:
        server.stop("immediate")


@pytest.fixture()
def coordinator_dsn(gridpg_cluster: Cluster) -> str:
    return gridpg_cluster.dsn(0)


@pytest.fixture()
def schema(request: pytest.FixtureRequest, gridpg_cluster: Cluster) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    import re

    import psycopg

    name = "t_" + re.sub(r"[^a-z0-9_]", "_", request.node.name.lower(), flags=re.ASCII)[:40]
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(f'CREATE SCHEMA "{name}"')
        except psycopg.errors.DuplicateSchema:  # left by a test whose teardown failed
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def datanode_dsns(cluster: Cluster) -> dict[str, str]:
    """Direct DSNs of the datanode group primaries, for checking placement."""
    password = cluster.password()
    return {
        g.name: f"postgresql://{SUPERUSER}:{password}@{g.primary.host}:{g.primary.port}/postgres"
        for g in cluster.topology.groups
    }


def catalog_dsns(cluster: Cluster) -> dict[str, str]:
    password = cluster.password()
    return {
        c.catalog.name: f"postgresql://{SUPERUSER}:{password}@{c.catalog.host}:{c.catalog.port}/postgres"
        for c in cluster.topology.coordinators
    }




@pytest.fixture(scope="session")
def datanodes(gridpg_cluster: Cluster) -> dict[str, str]:
    """{group name: direct DSN of its primary}."""
    return datanode_dsns(gridpg_cluster)


@pytest.fixture(scope="session")
def catalogs(gridpg_cluster: Cluster) -> dict[str, str]:
    """{catalog server name: direct DSN}."""
    return catalog_dsns(gridpg_cluster)


def database_on(plain_dsn: str, name: str) -> str:
    """A fresh database on the plain PostgreSQL, for tests that want one to themselves."""
    import psycopg

    with psycopg.connect(plain_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return plain_dsn.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def plain_database(plain_pg: str, request: pytest.FixtureRequest) -> str:
    """A database of its own on the plain PostgreSQL, per test module."""
    return database_on(plain_pg, "m_" + request.module.__name__.rsplit(".", 1)[-1][:50])


def same_answers_as_plain(run: Callable[[tuple[str, str], str, bool], list[object]], statements: list[str],
                          gridpg_cluster: Cluster, plain_pg: str, schema: str) -> list[object]:
    """`run(dsns, schema, on_gridpg)` on plain PostgreSQL (both sessions on it), then on
    gridpg (one session per coordinator): the answers must be equal, statement by statement
    (`statements` names them in the failure). The plain side's schema is dropped after.
    Returns gridpg's answers."""
    plain = run((plain_pg, plain_pg), schema, False)
    try:
        grid = run((gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)), schema, True)
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    for index, (want, got) in enumerate(zip(plain, grid, strict=True)):
        assert want == got, (statements[index], want, got)
    return grid


@contextlib.contextmanager
def sessions_beside_plain(gridpg_dsns: list[str], plain_dsn: str, schema: str, setup: list[str],
                          settings: tuple[str, ...] = ()) -> Iterator[tuple[list[psycopg.Connection], psycopg.Connection]]:
    """Autocommit sessions on each of `gridpg_dsns` and on plain PostgreSQL, all in `schema`
    (made afresh on plain, the `schema` fixture's on gridpg), each given `settings` (SET
    statements); `setup` run through the first gridpg session and on plain PostgreSQL
    without a trailing DISTRIBUTE BY clause. Yields ([gridpg sessions], plain); the plain
    side's schema is dropped after."""
    with contextlib.ExitStack() as stack:
        plain = stack.enter_context(psycopg.connect(plain_dsn, autocommit=True))
        grids = [stack.enter_context(psycopg.connect(dsn, autocommit=True)) for dsn in gridpg_dsns]
        plain.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        plain.execute(f'CREATE SCHEMA "{schema}"')
        for conn in (*grids, plain):
            conn.execute(f'SET search_path TO "{schema}"')
            for setting in settings:
                conn.execute(setting)
        for sql in setup:
            grids[0].execute(sql)
            plain.execute(sql[: sql.index(" DISTRIBUTE BY")] if " DISTRIBUTE BY" in sql else sql)
        yield grids, plain
        plain.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_setup(conn: psycopg.Connection, statements: list[str], gridpg: bool, **names: str) -> None:
    """Run `statements` (formatted with `names`); on plain PostgreSQL without their
    trailing DISTRIBUTE BY clause."""
    for sql in statements:
        sql = sql.format(**names)
        conn.execute(sql if gridpg or "DISTRIBUTE" not in sql else sql[: sql.index(" DISTRIBUTE")])


def answer(conn: psycopg.Connection, sql: str, params: tuple[object, ...] | None = None) -> object:
    """A statement's rows, else its status, else its SQLSTATE."""
    try:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else cur.statusmessage
    except psycopg.Error as exc:
        return exc.sqlstate
