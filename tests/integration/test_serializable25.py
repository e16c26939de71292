"""SERIALIZABLE past one datanode stays refused (h-refuse25): each datanode checks
serializability only over its own reads and writes, so a write skew across two nodes would
commit both sides where PostgreSQL gives 40001 (Citus runs it anyway, serializable per shard;
Postgres-XC/XL never offered SERIALIZABLE). The refusal says so: 0A000 naming the nodes,
why, and what to do instead; nothing of the transaction commits. On one node it is
PostgreSQL's own."""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture()
def grid(coordinator_dsn: str, schema: str) -> psycopg.Connection:
    with psycopg.connect(coordinator_dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE oncall (id int PRIMARY KEY, on_duty bool) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO oncall SELECT g, true FROM generate_series(1, 40) g")
        yield conn


def test_a_second_datanode_is_refused_with_the_reason(grid: psycopg.Connection) -> None:
    grid.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
    grid.execute("UPDATE oncall SET on_duty = false WHERE id = 1")
    with pytest.raises(psycopg.errors.FeatureNotSupported) as raised:
        grid.execute("SELECT count(*) FROM oncall WHERE on_duty")  # every datanode
    diag = raised.value.diag
    assert "only one datanode" in (diag.message_primary or "")
    assert "write skew" in (diag.message_detail or "") and "40001" in (diag.message_detail or "")
    assert "REPEATABLE READ" in (diag.message_hint or "") and "FOR UPDATE" in (diag.message_hint or "")
    grid.execute("ROLLBACK")
    assert grid.execute("SELECT count(*) FROM oncall WHERE NOT on_duty").fetchone() == (0,)


def test_one_datanode_runs_serializable(grid: psycopg.Connection) -> None:
    with grid.transaction():
        grid.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        assert grid.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        grid.execute("UPDATE oncall SET on_duty = false WHERE id = 2")
        assert grid.execute("SELECT on_duty FROM oncall WHERE id = 2").fetchone() == (False,)
