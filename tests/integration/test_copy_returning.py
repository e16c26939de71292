"""COPY (INSERT/UPDATE/DELETE ... RETURNING) TO STDOUT over distributed tables (PostgreSQL's
copydml.sql) was refused (0A000): run on the catalog server whole, the write would have
changed its empty copies. The write now runs through the cluster and the COPY over its
RETURNING rows (executor/dml._copy_returning_out), with the client's options; the rows
are the ones plain PostgreSQL prints for the same statements, and a rolled-back block
keeps nothing."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _copy_out(conn: psycopg.Connection, sql: str) -> str:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        return b"".join(bytes(chunk) for chunk in copy).decode()


def test_copy_of_a_write_returning_rows(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    statements = [
        "copy (insert into copydml_test (t) values ('f') returning id) to stdout",
        "copy (update copydml_test set t = 'g' where t = 'f' returning id) to stdout",
        "copy (delete from copydml_test where t = 'g' returning id) to stdout",
        "copy (insert into copydml_test (t) values ('x'), ('y, z') returning id, t) to stdout with (format csv, header)",
        "copy (update copydml_test set t = t || '!' where id < 3 returning * ) to stdout (delimiter '|')",
        "copy (delete from copydml_test where id > 100 returning id) to stdout",
    ]
    outputs = {}
    for name, dsn in (("gridpg", gridpg_cluster.dsn(0)), ("plain", plain_pg)):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.execute(f'SET search_path = "{schema}"')
            conn.execute("DROP TABLE IF EXISTS copydml_test")
            conn.execute("CREATE TABLE copydml_test (id serial, t text)")
            conn.execute("INSERT INTO copydml_test (t) VALUES ('a'), ('b'), ('c'), ('d'), ('e')")
            outputs[name] = [_copy_out(conn, sql) for sql in statements]
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                _copy_out(conn, "copy (insert into copydml_test (t) values ('q')) to stdout")
            conn.execute("BEGIN")
            outputs[name].append(_copy_out(conn, "copy (delete from copydml_test returning id) to stdout"))
            conn.execute("ROLLBACK")
            outputs[name].append(str(conn.execute("SELECT count(*) FROM copydml_test").fetchone()))
    assert sorted(outputs["gridpg"][-2].split()) == sorted(outputs["plain"][-2].split())
    outputs["gridpg"][-2] = outputs["plain"][-2]  # (a DELETE's rows come in any order)
    assert outputs["gridpg"] == outputs["plain"]
