"""COPY FROM STDIN routes each record by its distribution value as the datanodes will read
it: with the client's QUOTE, ESCAPE, NULL and DELIMITER. With the default `"` assumed, a
record quoted with `'` was cut at the delimiter inside its quotes and sent to a node that
refused it (23514 "no partition ... found for row"); with the NULL string ignored, a NULL
key was hashed as its text; and a CSV record with an escaped quote and a newline inside
was cut in two."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

CASES: list[tuple[str, str, str]] = [
    ("c3", r"(format csv, quote '''', escape '\')", "1,'it\\'s',x\n2,'two\nlines, \\'q\\'',y\n3,NA,z\n"),
    ("c3", "(format csv, null 'NA')", '4,NA,"NA"\n5,"x\ny",NA\n'),
    ("c3", "(null 'nil', delimiter '|')", "6|nil|c\n7|\\N|nil\n"),
    ("c4", "(format csv, quote '''', null 'NA')", "'k,1',1\nNA,2\n'NA',3\n'',4\n"),
    ("c4", r"(format csv, escape '\')", '"a\\"b",5\n"c\\\\",6\n"d\nx",7\n'),
    ("c4", "(format csv, quote '|', delimiter ';')", "|p;q|;8\n|r||s|;9\n"),
    ("c4", "WITH CSV DELIMITER ';' QUOTE '|'", "|t;u|;10\n"),
    ("c4", "(null '')", "\t11\nz\t12\n"),
    ("c5 (k, n)", r"(format csv, quote '''', escape '\')", "'a\\',\nb',1\n'c',2\n"),
    ("c5 (k, n)", "(format csv, delimiter ';', quote '''')", "'x;y';3\n'z''w';4\n"),
]


def _run(dsn: str, schema: str, distribute: dict[str, str]) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(f"CREATE TABLE c3 (id int PRIMARY KEY, v text, w text){distribute.get('c3', '')}")
        conn.execute(f"CREATE TABLE c4 (k text, n int){distribute.get('c4', '')}")
        conn.execute(f"CREATE TABLE c5 (id serial PRIMARY KEY, k text, n int){distribute.get('c5', '')}")
        for target, options, data in CASES:
            try:
                with conn.cursor().copy(f"COPY {target} FROM STDIN {options}") as copy:
                    copy.write(data)
                out.append((target, options, "ok"))
            except psycopg.Error as exc:
                out.append((target, options, exc.sqlstate, str(exc).splitlines()[0]))
        for query in ("SELECT * FROM c3 ORDER BY id", "SELECT * FROM c4 ORDER BY n", "SELECT k, n FROM c5 ORDER BY n"):
            out.append(conn.execute(query).fetchall())
    return out


@pytest.mark.parametrize("coordinator", [0, 1])
def test_records_routed_as_the_nodes_read_them(gridpg_cluster: Cluster, plain_pg: str, schema: str,
                                               coordinator: int) -> None:
    expected = _run(plain_pg, f"{schema}_{coordinator}", {})
    got = _run(gridpg_cluster.dsn(coordinator), schema,
               {"c3": " DISTRIBUTE BY HASH (id)", "c4": " DISTRIBUTE BY HASH (k)", "c5": " DISTRIBUTE BY HASH (id)"})
    assert got == expected
    assert all(row[2] == "ok" for row in got[:len(CASES)])
