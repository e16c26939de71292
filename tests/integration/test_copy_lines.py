"""COPY ... FROM STDIN over distributed tables speaks of the client's lines, as PostgreSQL
does (executor/copylines.py): the per-row notices of ON_ERROR ignore with LOG_VERBOSITY
verbose (one per skipped row, in line order, then the count), LOG_VERBOSITY silent and
default, an error's context `COPY t, line N, column c: ...` (a datanode counts only its
share of the lines), REJECT_LIMIT stopping at the cluster's row, with HEADER, CSV
records over several lines, NULLs, a vectorised block of many lines, REPLICATION and
ROUNDROBIN tables and a text distribution key. Each case is compared with plain PostgreSQL:
notices (severity, message, context), the error (SQLSTATE, message, context) and the rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from gridpg.cluster.control import Cluster


def _text_rows(count: int, bad: set[int], null_at: frozenset[int] = frozenset()) -> bytes:
    out = []
    for i in range(1, count + 1):
        value = "x" if i in bad else ("\\N" if i in null_at else str(i * 3))
        out.append(f"{i}\t{value}\tt{i}\n")
    return "".join(out).encode()


_CSV_MULTILINE = (b'1,2,"one\nline two"\n2,x,"two"\n3,4,"three\nand\nmore"\n4,y,"four\nfour"\n'
                  b'5,6,five\n6,,six\n7,z,"seven"\n')
_MANY = _text_rows(3000, {17, 640, 641, 1999, 2999})

# (table's distribution, COPY options, data)
CASES = [
    ("HASH (a)", "(ON_ERROR ignore, LOG_VERBOSITY verbose)", _text_rows(60, {7, 8, 30, 59})),
    ("HASH (a)", "(ON_ERROR ignore)", _text_rows(60, {7, 8, 30, 59})),
    ("HASH (a)", "(ON_ERROR ignore, LOG_VERBOSITY silent)", _text_rows(60, {7, 8, 30, 59})),
    ("HASH (a)", "(ON_ERROR ignore, LOG_VERBOSITY verbose, HEADER true)", b"a\tb\tc\n" + _text_rows(40, {3, 33})),
    ("HASH (a)", "(ON_ERROR ignore, LOG_VERBOSITY verbose, REJECT_LIMIT 3)", _text_rows(60, {7, 8, 30, 59})),
    ("HASH (a)", "(ON_ERROR ignore, LOG_VERBOSITY verbose, REJECT_LIMIT 4)", _text_rows(60, {7, 8, 30, 59})),
    ("HASH (a)", "(ON_ERROR ignore, LOG_VERBOSITY verbose)", _MANY),
    ("HASH (a)", "", _MANY),
    ("HASH (a)", "", _text_rows(50, {44})),
    ("HASH (a)", "(ON_ERROR ignore)", _text_rows(50, {3}, null_at=frozenset({37}))),
    ("HASH (a)", "(HEADER true)", b"a\tb\tc\n" + _text_rows(50, {41})),
    ("HASH (a)", "(FORMAT csv, ON_ERROR ignore, LOG_VERBOSITY verbose)", _CSV_MULTILINE),
    ("HASH (a)", "(FORMAT csv)", _CSV_MULTILINE),
    ("HASH (c)", "(ON_ERROR ignore, LOG_VERBOSITY verbose)", _text_rows(60, {5, 50})),
    ("REPLICATION", "(ON_ERROR ignore, LOG_VERBOSITY verbose, HEADER true)", b"h\n" + _text_rows(30, {4, 20})),
    ("REPLICATION", "", _text_rows(30, {25})),
    ("ROUNDROBIN", "(ON_ERROR ignore, LOG_VERBOSITY verbose)", _text_rows(30, {2, 3, 29})),
    ("ROUNDROBIN", "", _text_rows(30, {21})),
]


def _run(dsn: str, schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        notices: list[tuple[str | None, ...]] = []
        conn.add_notice_handler(lambda d: notices.append((d.severity, d.message_primary, d.context)))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for number, (distribution, options, data) in enumerate(CASES):
            table = f"c{number}"
            conn.execute(f"CREATE TABLE {table} (a int, b int NOT NULL, c text)"
                         + (f" DISTRIBUTE BY {distribution}" if gridpg else ""))
            notices.clear()
            try:
                with conn.cursor().copy(f"COPY {table} FROM STDIN {options}") as copy:
                    copy.write(data)
                outcome: tuple[object, ...] = ("ok",)
            except psycopg.Error as exc:
                outcome = (exc.sqlstate, exc.diag.message_primary, exc.diag.context)
            rows = conn.execute(f"SELECT count(*), sum(a), sum(b) FROM {table}").fetchone()
            out.append((distribution, options, outcome, list(notices), rows))
    return out


def _as_plain_postgresql(run: Callable[[str, str, bool], list[object]], cluster: Cluster, plain_pg: str,
                         schema: str) -> list[object]:
    """`run`'s cases on plain PostgreSQL, then on gridpg, which must give the same outcome
    case by case; gridpg's."""
    try:
        expected = run(plain_pg, schema, False)
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    got = run(cluster.dsn(0), schema, True)
    for want, have in zip(expected, got, strict=True):
        assert have == want
    return got


def test_copy_speaks_of_the_clients_lines(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    got: list[Any] = _as_plain_postgresql(_run, gridpg_cluster, plain_pg, schema)
    # the cases tell apart what they must: per-row notices, errors with a line, a limit
    assert any(len(case[3]) > 2 for case in got)
    assert any(case[2][0] == "22P02" and "line" in (case[2][2] or "") for case in got)
    assert any("REJECT_LIMIT" in str(case[2][1:2]) for case in got)


# (the table's columns, gridpg's distribution, the COPY's column list, its options, data):
# the coordinator appends the left-out identity/serial values to each record, which a
# record short of fields must not show (the error names the client's missing column, the
# context quotes the client's record)
FILLED = [
    ("id int GENERATED ALWAYS AS IDENTITY, a int, b text", "HASH (id)", "(a, b)", "(FORMAT csv)", b"1,x\n2\n"),
    ("id int GENERATED ALWAYS AS IDENTITY, a int, b text", "HASH (a)", "(a, b)", "(FORMAT csv)", b"1,x\n2\n"),
    ("id int GENERATED ALWAYS AS IDENTITY, a int, b text", "HASH (id)", "(a, b)", "(FORMAT csv)", b"1,x,y\n"),
    ("id int GENERATED ALWAYS AS IDENTITY, a int, b text", "HASH (id)", "(a, b)", "", b"1\tx\n2\n3\tz\n"),
    ("id bigserial, a int, b text, c int", "HASH (id)", "(a, b, c)", "", b"1\tx\t1\n2\n"),
    ("id bigserial, a int, b text, c int", "HASH (a)", "(a, b, c)", "(FORMAT csv)", b"1,x,1\n2,y\n"),
    ("id serial, k serial, a int, b text", "HASH (k)", "(a, b)", "", b"1\tx\n2\n"),
    ("id int GENERATED BY DEFAULT AS IDENTITY, a int, b text", "HASH (id)", "(a, b)", "", b"x\n"),
]


def _run_filled(dsn: str, schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for number, (columns, distribution, listed, options, data) in enumerate(FILLED):
            table = f"f{number}"
            conn.execute(f"CREATE TABLE {table} ({columns})" + (f" DISTRIBUTE BY {distribution}" if gridpg else ""))
            try:
                with conn.cursor().copy(f"COPY {table} {listed} FROM STDIN {options}") as copy:
                    copy.write(data)
                outcome: tuple[object, ...] = ("ok",)
            except psycopg.Error as exc:
                outcome = (exc.sqlstate, exc.diag.message_primary, exc.diag.context)
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            out.append((columns, listed, options, outcome, rows))
    return out


def test_copy_errors_do_not_show_the_values_the_coordinator_appended(
        gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    got: list[Any] = _as_plain_postgresql(_run_filled, gridpg_cluster, plain_pg, schema)
    assert sum(1 for case in got if case[3][0] == "22P04") >= 5  # missing and extra data
