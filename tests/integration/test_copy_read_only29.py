"""COPY FROM in a read-only transaction is refused before the client sends its data, as
PostgreSQL refuses it (25006 before CopyInResponse): psycopg's plain execute() of the COPY
then raises the error and the connection goes on. The datanodes refused it only once the
data came, and the execute() lost its connection."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

READ_ONLY = {
    "block": ["BEGIN READ ONLY"],
    "set_transaction": ["BEGIN", "SET TRANSACTION READ ONLY"],
    "default": ["SET default_transaction_read_only = on"],
    "characteristics": ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"],
}


def _copy_refused(dsn: str, schema: str, opening: list[str]) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE IF NOT EXISTS ro_items (id int PRIMARY KEY, v text)")
        for statement in opening:
            conn.execute(statement)
        try:
            conn.execute("COPY ro_items FROM STDIN")
            out.append("no error")
        except psycopg.Error as exc:
            out.append(exc.sqlstate)
        conn.execute("ROLLBACK") if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE else None
        conn.execute("RESET default_transaction_read_only")
        with conn.cursor().copy("COPY ro_items FROM STDIN") as copy:  # the connection goes on
            copy.write_row((len(opening), "written"))
        out.append(conn.execute("SELECT count(*) FROM ro_items").fetchone())
        conn.execute("DROP TABLE ro_items")
    return out


@pytest.mark.parametrize("how", sorted(READ_ONLY))
def test_copy_from_in_a_read_only_transaction_is_refused_before_the_data(
        gridpg_cluster: Cluster, plain_pg: str, schema: str, how: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    try:
        want = _copy_refused(plain_pg, schema, READ_ONLY[how])
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert want == ["25006", (1,)]
    assert _copy_refused(gridpg_cluster.dsn(0), schema, READ_ONLY[how]) == want
