"""CREATE EXTENSION of an extension whose install runs update scripts that drop objects
(hstore 1.7--1.8 drops an operator, intarray 1.4--1.5 and cube 1.3--1.4 too): the catalog
server's guard against DDL in server-side code (executor/code_ddl.py) took the script's
DROP for a user function's and stopped it, and the client got "current transaction is
aborted" (25P02), the capture's SAVEPOINT failing after it. An extension script's drops are
part of the CREATE/ALTER EXTENSION, which gridpg runs on every node itself. Compared with
plain PostgreSQL, the extension's operators used on a distributed table."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

STATEMENTS = [
    "CREATE EXTENSION intarray SCHEMA {schema}",
    "CREATE TABLE tagged (id int PRIMARY KEY, tags int[])",
    "INSERT INTO tagged SELECT g, ARRAY[g % 3, g % 5, 7] FROM generate_series(1, 30) g",
    "SELECT count(*) FROM tagged WHERE tags @@ '1 & 2'::query_int",
    "SELECT id, sort(tags), icount(tags) FROM tagged WHERE id IN (4, 9) ORDER BY id",
    "SELECT count(*) FROM tagged WHERE tags && ARRAY[4]",
    "DROP EXTENSION intarray CASCADE",
]


def _run(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in STATEMENTS:
            try:
                cur = conn.execute(sql.format(schema=f'"{schema}"'))
                out.append(cur.fetchall() if cur.description else cur.statusmessage)
            except psycopg.Error as exc:
                out.append((exc.sqlstate, str(exc).splitlines()[0]))
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_create_extension_whose_update_script_drops_objects(gridpg_cluster: Cluster, plain_pg: str,
                                                            schema: str) -> None:
    expected = _run(plain_pg, schema)
    assert expected[0] == "CREATE EXTENSION"
    assert _run(gridpg_cluster.dsn(0), schema) == expected
