"""MERGE ... RETURNING whose INSERT action gives rows that belong on another node than the
source row is decided on (h-left25), compared with plain PostgreSQL: the moved rows are
returned by their INSERT where they land (defaults and a BEFORE trigger applied), in text
and binary results and over the simple protocol; a RETURNING list that reads the source
is refused (0A000) before any row reaches the client, and nothing is written (it was
refused after the nodes' rows had been sent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.pq import ExecStatus

from gridpg.cluster.control import Cluster
from tests.conftest import sessions_beside_plain

SETUP = [
    "CREATE TABLE mt (k int PRIMARY KEY, v int, note text DEFAULT 'dflt') DISTRIBUTE BY HASH (k)",
    "CREATE TABLE ms (k int, v int) DISTRIBUTE BY HASH (v)",
    "CREATE FUNCTION tenfold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v * 10; RETURN NEW; END $$",
    "CREATE TRIGGER mt_tenfold BEFORE INSERT ON mt FOR EACH ROW EXECUTE FUNCTION tenfold()",
    "INSERT INTO mt SELECT g, 0 FROM generate_series(1, 20) g",
    "INSERT INTO ms SELECT g, g FROM generate_series(1, 40) g",
]
MERGE = ("MERGE INTO mt t USING ms s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v "
         "WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k + 1000, s.v) RETURNING {}")

Pair = tuple[psycopg.Connection[Any], psycopg.Connection[Any]]


@pytest.fixture()
def sessions(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[Pair]:
    with sessions_beside_plain([gridpg_cluster.dsn(0)], plain_pg, schema, SETUP) as ((grid,), plain):
        yield grid, plain


def _table(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM mt ORDER BY k").fetchall()


@pytest.mark.parametrize("binary", [False, True])
def test_moved_rows_are_returned(sessions: Pair, binary: bool) -> None:
    answers = []
    for conn in sessions:
        with conn.cursor(binary=binary) as cur:
            cur.execute(MERGE.format("merge_action(), t.k, t.v * 2 AS doubled, note, t.*"))
            answers.append((cur.statusmessage, sorted(cur.fetchall()), _table(conn)))
    assert answers[0] == answers[1]
    assert answers[0][0] == "MERGE 40"


def test_moved_rows_over_the_simple_protocol(sessions: Pair) -> None:
    answers = []
    for conn in sessions:
        pg = conn.pgconn
        pg.send_query(MERGE.format("merge_action(), t.k, t.v, note").encode())
        rows, tags = [], []
        while (result := pg.get_result()) is not None:
            assert result.status == ExecStatus.TUPLES_OK, result.error_message
            rows += [tuple(result.get_value(r, c) for c in range(result.nfields)) for r in range(result.ntuples)]
            tags.append(result.command_status)
        answers.append((tags, sorted(rows), _table(conn)))
    assert answers[0] == answers[1]


def test_a_list_reading_the_source_is_refused_before_any_row(sessions: Pair) -> None:
    grid = sessions[0]
    before = _table(grid)
    pg = grid.pgconn
    pg.send_query(MERGE.format("t.k, s.v").encode())
    pg.set_single_row_mode()
    statuses = []
    while (result := pg.get_result()) is not None:
        statuses.append((result.status, result.error_field(psycopg.pq.DiagnosticField.SQLSTATE)))
    assert statuses == [(ExecStatus.FATAL_ERROR, b"0A000")]
    assert _table(grid) == before
    # rows that stay on their node still return the source's columns
    with grid.cursor() as cur:
        cur.execute("MERGE INTO mt t USING ms s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v "
                    "WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v) RETURNING t.k, s.v")
        assert sorted(cur.fetchall())[:2] == [(1, 1), (2, 2)]
