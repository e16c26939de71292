"""In-doubt 2PC transactions of a coordinator that died between PREPARE and COMMIT PREPARED
are resolved when it starts again: committed where the GTM logged the decision, rolled
back where it did not; nothing stays prepared."""

from __future__ import annotations

import asyncio

import psycopg

from gridpg.cluster import processes
from gridpg.cluster.control import Cluster
from gridpg.gtm.client import GtmClient


def _prepare(dsn: str, schema: str, gid: str, value: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {schema}.r VALUES (%s)", (value,))
        conn.execute(f"PREPARE TRANSACTION '{gid}'")


def test_restart_resolves_in_doubt_transactions(gridpg_cluster: Cluster, schema: str,
                                                datanodes: dict[str, str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.r (v int) DISTRIBUTE BY ROUNDROBIN")
    first, second = sorted(datanodes)[:2]
    coordinator = gridpg_cluster.topology.coordinators[0].name
    committed, aborted = f"gridpg_900000001_{coordinator}", f"gridpg_900000002_{coordinator}"
    # The "crash": both transactions prepared on both nodes; only one decision was logged.
    for node in (first, second):
        _prepare(datanodes[node], schema, committed, 1)
        _prepare(datanodes[node], schema, aborted, 2)
    gtm = gridpg_cluster.topology.gtm

    async def log_decision() -> None:
        client = GtmClient(gtm.host, gtm.port)
        try:
            await client.txn_log_commit(committed, [first, second])
        finally:
            await client.close()

    asyncio.run(log_decision())
    processes.stop(gridpg_cluster.dir, coordinator)
    gridpg_cluster.up(lambda _m: None)
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'gridpg_9000000%'").fetchall() == []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        values = sorted(r[0] for r in conn.execute(f"SELECT v FROM {schema}.r"))
    assert values == [1, 1]
