"""One now() in a COPY FROM STDIN (h-left25), compared with plain PostgreSQL: every row of
one COPY holds the same instant in a column's `DEFAULT now()` (and CURRENT_DATE, and a
`timestamp` column's local time) and in a BEFORE ROW trigger's `NEW.updated_at := now()`,
on a hash table whose rows land on both datanodes, a REPLICATION table on both and one
placed on one datanode; outside a block and inside one (where it is also the block's
now()); text, CSV and binary data. Times are compared as facts, never as values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import sessions_beside_plain

TABLES = {
    "ch": "DISTRIBUTE BY HASH (id)",
    "cr": "DISTRIBUTE BY REPLICATION",
    "c1": "DISTRIBUTE BY REPLICATION TO NODE (dn1)",
}
SETUP = [
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$",
    *[f"CREATE TABLE {t} (id int PRIMARY KEY, v text, created_at timestamptz DEFAULT now(), "
      f"local_at timestamp(3) DEFAULT now(), day date DEFAULT CURRENT_DATE, updated_at timestamptz) {clause}"
      for t, clause in TABLES.items()],
    *[f"CREATE TRIGGER {t}_touch BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION touch()" for t in TABLES],
]
FACTS = ("SELECT count(*), count(DISTINCT created_at), bool_and(created_at = updated_at), "
         "bool_and(local_at = created_at::timestamp(3)), bool_and(day = created_at::date) FROM {t}")

Pair = tuple[psycopg.Connection[Any], psycopg.Connection[Any]]


@pytest.fixture()
def sessions(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[Pair]:
    """(gridpg, plain PostgreSQL) in the test's schema, in a time zone apart from UTC."""
    settings = ("SET TimeZone = 'America/Sao_Paulo'",)
    with sessions_beside_plain([gridpg_cluster.dsn(0)], plain_pg, schema, SETUP, settings) as ((grid,), plain):
        yield grid, plain


def _copy(conn: psycopg.Connection[Any], table: str, fmt: str, first: int) -> None:
    rows = [(i, f"v{i}" if i % 3 else 'a,"b"\tc\\d') for i in range(first, first + 40)]
    with conn.cursor() as cur:
        if fmt == "binary":
            with cur.copy(f"COPY {table} (id, v) FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(["int4", "text"])
                for row in rows:
                    copy.write_row(row)
        elif fmt == "csv":
            with cur.copy(f"COPY {table} (id, v) FROM STDIN (FORMAT csv)") as copy:
                for i, v in rows:
                    copy.write(f'{i},"{v.replace(chr(34), chr(34) * 2)}"\n'.encode() if i % 3 == 0 else f"{i},{v}\n".encode())
        else:
            with cur.copy(f"COPY {table} (id, v) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def _facts(conn: psycopg.Connection[Any], table: str) -> tuple[Any, ...]:
    row = conn.execute(FACTS.format(t=table)).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
def test_one_now_in_a_copy(sessions: Pair, fmt: str) -> None:
    """Outside a block: 40 rows, one instant in every default and trigger, on every node."""
    for table in TABLES:
        answers = []
        for conn in sessions:
            _copy(conn, table, fmt, 1)
            answers.append(_facts(conn, table))
        assert answers[0] == answers[1] == (40, 1, True, True, True), table
        values = [conn.execute(f"SELECT v FROM {table} ORDER BY id").fetchall() for conn in sessions]
        assert values[0] == values[1]


@pytest.mark.parametrize("fmt", ["text", "csv", "binary"])
def test_one_now_in_copies_of_a_block(sessions: Pair, fmt: str) -> None:
    """Inside a block: two COPYs and an INSERT hold the block's now()."""
    for table in TABLES:
        answers = []
        for conn in sessions:
            with conn.transaction():
                _copy(conn, table, fmt, 1)
                conn.execute(f"INSERT INTO {table} (id, v) VALUES (500, 'x')")
                _copy(conn, table, fmt, 100)
                same = conn.execute(f"SELECT bool_and(created_at = now()) FROM {table}").fetchone()
            answers.append((*_facts(conn, table), same))
        assert answers[0] == answers[1] == (81, 1, True, True, True, (True,)), table


def test_a_short_record_reads_as_the_clients(sessions: Pair) -> None:
    """A node's error about a record the coordinator lengthened quotes the client's record."""
    errors = []
    for conn in sessions:
        with pytest.raises(psycopg.Error) as caught, conn.transaction(), conn.cursor() as cur, \
                cur.copy("COPY ch (id, v) FROM STDIN") as copy:
            copy.write(b"1\tx\textra\n")
        diag = caught.value.diag
        errors.append((diag.sqlstate, diag.message_primary, (diag.context or "").splitlines()[0]))
    assert errors[0] == errors[1]


def test_a_distribution_column_left_to_its_time_default(sessions: Pair) -> None:
    """Its one value is known before routing now (0A000 before): the rows are found where
    a statement naming the value is routed."""
    grid, plain = sessions
    answers = []
    for conn, clause in ((grid, " DISTRIBUTE BY HASH (ts)"), (plain, "")):
        conn.execute(f"CREATE TABLE cd (ts timestamptz DEFAULT now(), v int){clause}")
        with conn.cursor() as cur, cur.copy("COPY cd (v) FROM STDIN") as copy:
            for i in range(10):
                copy.write_row((i,))
        ts = conn.execute("SELECT min(ts) FROM cd").fetchone()
        assert ts is not None
        answers.append(conn.execute("SELECT count(*), count(DISTINCT ts) FROM cd WHERE ts = %s", ts).fetchone())
    assert answers[0] == answers[1] == (10, 1)
