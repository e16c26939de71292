"""Shapes the cluster tests share: a private cluster for a module whose faults would harm
the session's shared one, direct connections to its servers, the prepared transactions
left on them, and client sessions in a test's schema on one or both coordinators.

The session's shared cluster and plain PostgreSQL are `tests/conftest.py`'s fixtures; a
module that kills, stops or fails over servers makes its own here, with the topology
changes it needs (no monitor when the test runs recovery itself, no automatic failover
when it fails over itself, one worker when it stops the one process that holds a block).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import psycopg

from gridpg.cluster.control import Cluster
from gridpg.cluster.topology import PortAllocator, build_default
from tests.conftest import server_dir


@contextlib.contextmanager
def private_cluster(prefix: str, port_start: int, *, datanodes: int = 2, coordinators: int = 1,
                    standbys: int = 0, workers: int | None = None, monitor: bool | None = None,
                    failover: bool | None = None) -> Iterator[Cluster]:
    """A cluster of the module's own under a fresh directory, up until the block ends.
    `port_start` keeps modules apart (each process takes its own range above it); the
    first coordinator's `workers`, `monitor` and automatic `failover` as given, else
    `build_default`'s."""
    with server_dir(prefix) as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", port_start + (os.getpid() % 50) * 20).take()
        topology = build_default(datanodes=datanodes, coordinators=coordinators, standbys=standbys, port=base)
        if workers is not None:
            topology.coordinators[0].workers = workers
        if monitor is not None:
            topology.monitor = monitor
        if failover is not None:
            topology.failover = failover
        cluster.create(topology, lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            yield cluster
        finally:
            cluster.down(lambda _m: None)


def server_dsn(cluster: Cluster, port: int) -> str:
    """A superuser's DSN of one of the cluster's servers on this machine."""
    return f"host=127.0.0.1 port={port} dbname=postgres user=postgres password={cluster.password()}"


def primaries(cluster: Cluster) -> dict[str, str]:
    """{datanode group: DSN of its primary}, as the cluster's topology has it now."""
    return {g.name: server_dsn(cluster, g.primary.port) for g in cluster.topology.groups}


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    """`sql` on its own autocommit connection: its rows (none for a command)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description is not None else []


def prepared_gids(dsn: str, like: str = "%") -> list[str]:
    """The GIDs of the server's prepared transactions matching the LIKE pattern."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [str(r[0]) for r in conn.execute("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE %s", (like,))]


def prepared_on(dsns: dict[str, str]) -> list[tuple[str, str]]:
    """(server, GID) of every prepared transaction left on the servers."""
    return [(name, gid) for name, dsn in dsns.items() for gid in prepared_gids(dsn)]


@contextlib.contextmanager
def session(dsn: str, schema: str | None = None) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit client session, with the test's schema first on its search_path."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if schema is not None:
            conn.execute(f'SET search_path TO "{schema}"')
        yield conn


@contextlib.contextmanager
def two_sessions(cluster: Cluster, schema: str) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """A session on each of the first two coordinators, both in the test's schema."""
    with session(cluster.dsn(0), schema) as first, session(cluster.dsn(1), schema) as second:
        yield first, second


def create_in_schema(cluster: Cluster, schema: str, statements: list[str]) -> str:
    """Run a module's setup statements (`{s}` is the test's schema) on the first
    coordinator; the schema, for the tests' own statements."""
    with psycopg.connect(cluster.dsn(0), autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql.format(s=schema))
    return schema
