"""COPY ... FROM STDIN (HEADER MATCH) checks the header line as PostgreSQL does (the check
runs on the catalog server's copy of the table), and the HEADER option is validated."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

CASES: list[tuple[str, list[bytes]]] = [
    ("(format csv, header match)", [b"a,B c\n1,x\n"]),
    ("(format csv, header match)", [b"a,b\n1,x\n"]),
    ("(format csv, header match)", [b"a\n1,x\n"]),
    ("(format text, header match)", [b"a\tB c\n2\tx\n"]),
    ("(format text, header match)", [b"a\tB\n1\tx\n"]),
    ("(format csv, header match)", [b'"a","B c"\n3,x\n']),
    ("(header match)", [b"a\tB c\tz\n"]),
    ("(format csv, header match, null 'N')", [b"N,B c\n"]),
    ("(format csv, header 2)", [b"a,B c\n"]),
    ("(format binary, header match)", []),
    ("(format csv, header true)", [b"zz,yy\n4,y\n"]),
    ("(format csv, header match)", [b"a,", b"B c\n5,", b"q\n"]),
    ("(format csv, header 0)", [b"6,z\n"]),
    ('(format csv, header match) -- columns listed', [b"B c,a\nw,7\n"]),
    # the old syntax psql's \copy passes on: the header was stored as a row, NULL's string
    # and FORCE NOT NULL's columns were lost on the way to the nodes (a syntax error there)
    ("CSV HEADER", [b"a,B c\n8,h\n"]),
    ("WITH CSV HEADER DELIMITER ';' NULL 'N' QUOTE '|'", [b"a;B c\n9;N\n10;|x;y|\n"]),
    ('CSV FORCE NOT NULL "B c"', [b"11,\n"]),
    ("(format csv, force_null *)", [b'12,""\n']),
    ("(format csv, force_not_null *)", [b"13,\n"]),
]


def _run(dsn: str, schema: str, distribute: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(f'CREATE TABLE hm (a int, "B c" text){distribute}')
        for options, pieces in CASES:
            columns = ' ("B c", a)' if "columns listed" in options else ""
            try:
                with conn.cursor().copy(f"COPY hm{columns} FROM STDIN {options}") as copy:
                    for piece in pieces:
                        copy.write(piece)
                out.append((options, "ok"))
            except psycopg.Error as exc:
                out.append((options, exc.sqlstate, str(exc).splitlines()[0]))
        out.append(conn.execute("SELECT a, \"B c\", \"B c\" IS NULL FROM hm ORDER BY a").fetchall())
        for options in ("CSV HEADER FORCE QUOTE *", "(format csv, force_quote *)", "WITH CSV QUOTE '|' FORCE QUOTE a"):
            with conn.cursor().copy(f"COPY hm TO STDOUT {options}") as copy:
                out.append(sorted(bytes(b"".join(copy)).splitlines()))
    return out


@pytest.mark.parametrize("coordinator", [0, 1])
def test_header_match_as_postgresql(gridpg_cluster: Cluster, plain_pg: str, schema: str, coordinator: int) -> None:
    expected = _run(plain_pg, f"{schema}_{coordinator}", "")
    got = _run(gridpg_cluster.dsn(coordinator), schema, " DISTRIBUTE BY HASH (a)")
    assert got == expected
    assert sum(1 for row in got if len(row) == 3 and row[1] == "22P04") == 5
