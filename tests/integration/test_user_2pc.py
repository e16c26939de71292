"""The client's own two-phase commit (what XA transaction managers use): PREPARE
TRANSACTION over any number of nodes, COMMIT/ROLLBACK PREPARED from any coordinator,
pg_prepared_xacts showing each identifier once, and a prepared transaction surviving a
coordinator restart (the restart-time 2PC recovery leaves it alone)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.sql.quote import quote_literal

SCRIPT = [
    "CREATE TABLE acct (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)",
    "BEGIN", "INSERT INTO acct SELECT g, g FROM generate_series(1, 20) g",
    "PREPARE TRANSACTION 'it2pc-one'",
    "SELECT count(*) FROM acct",
    "SELECT gid, owner, database FROM pg_prepared_xacts WHERE gid LIKE 'it2pc%' ORDER BY gid",
    "BEGIN", "INSERT INTO acct VALUES (100, 100)", "PREPARE TRANSACTION 'it2pc-one'",
    "SELECT count(*) FROM acct",
    "PREPARE TRANSACTION 'it2pc-outside'",
    "BEGIN", "SELECT 1 / 0", "PREPARE TRANSACTION 'it2pc-failed'",
    "BEGIN", "PREPARE TRANSACTION 'it2pc-empty'",
    "BEGIN", "UPDATE acct SET v = -1 WHERE id = 3", "/* xa */ PREPARE TRANSACTION 'it2pc-two'",
    "SELECT gid FROM pg_catalog.pg_prepared_xacts p WHERE p.gid LIKE 'it2pc%' ORDER BY 1",
    "BEGIN", "COMMIT PREPARED 'it2pc-one'", "ROLLBACK",
    "COMMIT PREPARED 'it2pc-one'",
    "COMMIT PREPARED 'it2pc-one'",
    "SELECT count(*), sum(v) FROM acct",
    "ROLLBACK PREPARED 'it2pc-two'",
    "ROLLBACK PREPARED 'it2pc-empty'",
    "SELECT count(*), sum(v) FROM acct",
    "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'it2pc%'",
]


def _run(dsn: str, schema: str, script: list[str], plain: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for sql in script:
            text = sql.replace(" DISTRIBUTE BY HASH (id)", "") if plain else sql
            try:
                cur = conn.execute(text, prepare=False)
                out.append((sql, cur.statusmessage, cur.fetchall() if cur.description else None))
            except psycopg.Error as exc:
                out.append((sql, "error", exc.sqlstate))
                if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                    conn.execute("ROLLBACK")
    return out


def test_script_agrees_with_postgresql(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _run(plain_pg, schema, SCRIPT, plain=True)
    try:
        assert _run(gridpg_cluster.dsn(0), schema, SCRIPT, plain=False) == expected
    finally:  # a failed script leaves prepared transactions whose locks would hang teardown
        _roll_back_leftovers(gridpg_cluster.dsn(0), "it2pc%")


def _roll_back_leftovers(dsn: str, like: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for (gid,) in conn.execute("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE %s", (like,)).fetchall():
            conn.execute(f"ROLLBACK PREPARED {quote_literal(gid)}")


def _prepared_on_nodes(dsns: dict[str, str], like: str) -> list[str]:
    out = []
    for dsn in dsns.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out += [r[0] for r in conn.execute("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE %s", (like,))]
    return out


def test_prepared_survives_coordinator_restart_and_commits_elsewhere(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.t (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {schema}.t SELECT generate_series(1, 40)")
        conn.execute("PREPARE TRANSACTION 'restart-me'")
    assert len(_prepared_on_nodes(datanodes, "%restart-me")) == len(datanodes)  # every datanode
    coordinator = gridpg_cluster.topology.coordinators[0].name
    processes.stop(gridpg_cluster.dir, coordinator)
    gridpg_cluster.up(lambda _m: None)  # restarts it: its in-doubt recovery runs
    assert len(_prepared_on_nodes(datanodes, "%restart-me")) == len(datanodes)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        seen = [r[0] for r in two.execute("SELECT gid FROM pg_prepared_xacts")]
        assert seen.count("restart-me") == 1
        assert one.execute(f"SELECT count(*) FROM {schema}.t").fetchone() == (0,)
        two.execute("COMMIT PREPARED 'restart-me'")
        assert one.execute(f"SELECT count(*) FROM {schema}.t").fetchone() == (40,)
        assert "restart-me" not in [r[0] for r in one.execute("SELECT gid FROM pg_prepared_xacts")]
    assert _prepared_on_nodes(datanodes, "%restart-me") == []


def test_only_the_owner_or_a_superuser_finishes(gridpg_cluster: Cluster, schema: str) -> None:
    password = "pw_2pc_owner"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS twopc_a")
        conn.execute("DROP ROLE IF EXISTS twopc_b")
        conn.execute(f"CREATE ROLE twopc_a LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE ROLE twopc_b LOGIN PASSWORD '{password}'")
    rest = gridpg_cluster.dsn(0).split("@", 1)[1]
    with psycopg.connect(f"postgresql://twopc_a:{password}@{rest}", autocommit=True) as a:
        a.execute("BEGIN")
        a.execute("PREPARE TRANSACTION 'owned-by-a'")
    with psycopg.connect(f"postgresql://twopc_b:{password}@{rest}", autocommit=True) as b, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        b.execute("COMMIT PREPARED 'owned-by-a'")
    with psycopg.connect(f"postgresql://twopc_a:{password}@{rest}", autocommit=True) as a:
        a.execute("ROLLBACK PREPARED 'owned-by-a'")
