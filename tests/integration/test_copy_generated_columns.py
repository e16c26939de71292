"""COPY t TO STDOUT without a column list leaves out generated columns, as PostgreSQL
does ("all columns of the table except generated columns"). gridpg copied `SELECT *` from
each node, stored and virtual generated columns included: the extra columns silently
changed an export, and reading it back with COPY t FROM STDIN failed (22P04, extra data
after last expected column). Compared with plain PostgreSQL, text, CSV and binary, and
the dump read back into the table."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE gv (id int PRIMARY KEY, a int, s int GENERATED ALWAYS AS (a + 1) STORED, "
    "v int GENERATED ALWAYS AS (a * 10) VIRTUAL)",
    "INSERT INTO gv (id, a) SELECT g, g * 3 FROM generate_series(1, 20) g",
]
COPIES = [
    "COPY gv TO STDOUT",
    "COPY gv TO STDOUT (FORMAT csv, HEADER)",
    "COPY gv (a, id) TO STDOUT",
    "COPY (SELECT * FROM gv) TO STDOUT",
]


def _run(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            conn.execute(sql)
        for sql in COPIES:
            with conn.cursor().copy(sql) as copy:
                lines = bytes(b"".join(copy)).splitlines()
            out.append((sql, lines[:1] if "HEADER" in sql else [], sorted(lines)))
        with conn.cursor().copy("COPY gv TO STDOUT (FORMAT binary)") as copy:
            binary = bytes(b"".join(copy))
        out.append(("binary field count", int.from_bytes(binary[19:21], "big")))
        with conn.cursor().copy("COPY gv TO STDOUT") as copy:
            dump = bytes(b"".join(copy))
        conn.execute("DELETE FROM gv")
        with conn.cursor().copy("COPY gv FROM STDIN") as copy:
            copy.write(dump)
        out.append(conn.execute("SELECT count(*), sum(s), sum(v) FROM gv").fetchone())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_copy_to_leaves_out_generated_columns(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _run(plain_pg, schema)
    assert _run(gridpg_cluster.dsn(0), schema) == expected
    assert expected[-1] == (20, 650, 6300)
