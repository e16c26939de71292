"""Helpers for the real-client checks: DSNs that land in the test's schema."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import find_pg_bin

CACHE = Path("/tmp/gridpg-ci-cache")


def with_search_path(dsn: str, schema: str) -> str:
    """The DSN with `options=-c search_path=<schema>` added (libpq URL syntax)."""
    options = urllib.parse.quote(f"-c search_path={schema}")
    return dsn + ("&" if "?" in dsn else "?") + f"options={options}"


def dsn_parts(dsn: str) -> dict[str, str]:
    parsed = urllib.parse.urlsplit(dsn)
    return {
        "host": parsed.hostname or "127.0.0.1", "port": str(parsed.port or 5432),
        "user": urllib.parse.unquote(parsed.username or ""),
        "password": urllib.parse.unquote(parsed.password or ""),
        "database": parsed.path.lstrip("/") or "postgres",
    }


@pytest.fixture()
def plain_schema(plain_pg: str, schema: str) -> Iterator[str]:
    """The test's schema name on the plain PostgreSQL too (scripts run against both)."""
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture()
def sdsn(gridpg_cluster: Cluster, schema: str) -> str:
    """Coordinator 1's DSN, search_path set to the test's schema."""
    return with_search_path(gridpg_cluster.dsn(0), schema)


@pytest.fixture(scope="session")
def psql_bin() -> Path:
    return Path(find_pg_bin()) / "psql"


@pytest.fixture()
def poison_dsn(gridpg_cluster: Cluster) -> str:
    """A fresh schema reached through coordinator 2, for xfail tests of bugs that leave
    pooled datanode connections broken: they then spoil no other test (which use
    coordinator 1). The schema is not dropped (that may fail on the broken pool)."""
    import secrets

    import psycopg

    name = "px_" + secrets.token_hex(4)
    dsn = gridpg_cluster.dsn(1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return with_search_path(dsn, name)
