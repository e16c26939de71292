"""A SELECT over distributed tables calling user code that only reads replicated tables
(pagila's `SELECT inventory_held_by_customer(i.inventory_id) FROM inventory i ...`): it
runs where its plan evaluates the code on the datanodes alone, which hold the replicated
tables whole (executor/routines.NodeLocal): routed, pushed down, merged, or split in two
phases with the code in the partial step; inside a transaction it sees the transaction's
own writes to them. A plan that would call the code on the catalog server (which holds
them empty) runs whole there with the loopback instead, never answered from the empty
copies."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import answer, run_setup, same_answers_as_plain

SETUP = [
    "CREATE TABLE {s}.cr_item (id int PRIMARY KEY, kind int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.cr_kind (kind int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION",
    "INSERT INTO {s}.cr_item SELECT g, g % 3 FROM generate_series(1, 30) g",
    "INSERT INTO {s}.cr_kind VALUES (0, 'zero'), (1, 'one'), (2, 'two')",
    ("CREATE FUNCTION {s}.cr_label(k int) RETURNS text LANGUAGE plpgsql STABLE AS "
     "$$ BEGIN RETURN (SELECT label FROM {s}.cr_kind WHERE kind = k); END $$"),
    ("CREATE FUNCTION {s}.cr_upper(k int) RETURNS text LANGUAGE sql STABLE AS "
     "$$ SELECT upper(label) FROM {s}.cr_kind WHERE kind = k $$"),
]

SCRIPT = [
    (0, "SELECT id, {s}.cr_label(kind) FROM {s}.cr_item WHERE id = 7"),
    (0, "SELECT id, {s}.cr_label(kind) FROM {s}.cr_item WHERE id IN (1, 2, 3)"),
    (0, "SELECT id, {s}.cr_label(kind) FROM {s}.cr_item WHERE id < 6 ORDER BY id"),
    (1, "SELECT {s}.cr_upper(kind) AS k, count(*) FROM {s}.cr_item GROUP BY 1 ORDER BY 1"),
    (1, "SELECT id FROM {s}.cr_item WHERE {s}.cr_label(kind) = 'two' ORDER BY id DESC LIMIT 3"),
    (0, "BEGIN"),
    (0, "UPDATE {s}.cr_kind SET label = 'uno' WHERE kind = 1"),
    (0, "SELECT id, {s}.cr_label(kind) FROM {s}.cr_item WHERE kind = 1 AND id < 11 ORDER BY id"),
    (0, "ROLLBACK"),
    (1, "SELECT id, {s}.cr_label(kind) FROM {s}.cr_item WHERE kind = 1 AND id < 11 ORDER BY id"),
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        run_setup(first, SETUP, gridpg, s=schema)
        for node, sql in SCRIPT:
            out.append(answer((first, second)[node], sql.format(s=schema)))
    return out


def test_code_reading_replicated_tables_runs_on_the_nodes(gridpg_cluster: Cluster, plain_pg: str,
                                                         schema: str) -> None:
    answers = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert answers[7] == [(1, "uno"), (4, "uno"), (7, "uno"), (10, "uno")]


@pytest.mark.parametrize("sql", [
    "SELECT {s}.cr_label(max(kind) - 1) FROM {s}.cr_item",  # the final step would call it
    "SELECT {s}.cr_label(kind), rank() OVER (ORDER BY id) FROM {s}.cr_item ORDER BY id",  # gathered, windowed there
    "SELECT {s}.cr_label(1), count(*), sum(kind) FROM {s}.cr_item",
])
def test_code_the_catalog_server_would_run_runs_with_the_loopback(gridpg_cluster: Cluster, plain_pg: str,
                                                                  schema: str, sql: str) -> None:
    """Where the plan would call the code on the catalog server, the whole statement runs
    there with the loopback armed (executor/routines.py RoutineGuard.before), the replicated
    tables read through their shadows: PostgreSQL's rows, in a block after a write to them
    too; never an answer from the empty copies."""

    def run(dsns: tuple[str, str], name: str, gridpg: bool) -> list[object]:
        with psycopg.connect(dsns[0]) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
            run_setup(conn, SETUP, gridpg, s=name)
            conn.commit()
            out = [answer(conn, sql.format(s=name))]
            conn.execute(f"UPDATE {name}.cr_kind SET label = 'uno' WHERE kind = 1")
            out.append(answer(conn, sql.format(s=name)))
            conn.rollback()
            return out

    answers = same_answers_as_plain(run, [sql, sql], gridpg_cluster, plain_pg, schema)
    assert answers[0] != answers[1]
