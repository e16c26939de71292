"""Statement shapes Python database tools (psycopg2, pandas, Alembic, peewee, SQLModel,
Tortoise, Pony) send, reproduced with psycopg: each test names what gridpg did before it
was fixed. The tools themselves run in tests/compat/test_python_tools.py."""

from __future__ import annotations

import io

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
