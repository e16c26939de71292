"""Everyday triggers beyond what a corpus file shows (h-trig24): the same statements on
gridpg and plain PostgreSQL through the extended protocol (bound parameters), each
datanode's copy of a REPLICATION table read directly and found equal, the transaction's
instant stored by BEFORE ROW triggers on every node, an error raised midway through a
multi-row write undoing it on every copy, and two sessions racing for the rows an UPDATE
that reads another table changes (never a lost update). The corpus part is
tests/oracle/corpus/99_user_triggers24.sql.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import sessions_beside_plain

SETUP = [
    "CREATE TABLE acct (id int PRIMARY KEY, email text UNIQUE, plan int, credit int NOT NULL DEFAULT 0, "
    "created_at timestamptz, updated_at timestamptz)",  # two unique keys: REPLICATION
    "CREATE TABLE plans (id int PRIMARY KEY, paid bool NOT NULL)",
    "CREATE TABLE items (id int PRIMARY KEY, acct_id int, qty int, updated_at timestamptz)",
    ("CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "IF TG_OP = 'INSERT' THEN NEW.created_at := now(); END IF; NEW.updated_at := CURRENT_TIMESTAMP; "
     "IF NEW.credit < 0 THEN RAISE EXCEPTION 'credit of % below zero', NEW.id USING ERRCODE = 'U0042'; END IF; "
     "RETURN NEW; END $$"),
    ("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); "
     "RETURN NEW; END $$"),
    "CREATE TRIGGER acct_stamp BEFORE INSERT OR UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION stamp()",
    "CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()",
    "INSERT INTO plans SELECT g, g % 2 = 0 FROM generate_series(1, 4) g",
    "INSERT INTO acct (id, email, plan) SELECT g, 'a' || g, 1 + g % 4 FROM generate_series(1, 30) g",
    "INSERT INTO items SELECT g, 1 + g % 30, g FROM generate_series(1, 60) g",
]


@pytest.fixture()
def both(gridpg_cluster: Cluster, plain_pg: str,
         schema: str) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """(gridpg, plain PostgreSQL) sessions in the test's schema, SETUP run on each."""
    settings = ("SET client_min_messages TO warning",)
    with sessions_beside_plain([gridpg_cluster.dsn(0)], plain_pg, schema, SETUP, settings) as ((grid,), plain):
        yield grid, plain


def _same(both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], sql: str,
          params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    """The statement on both sides with bound parameters (extended protocol): the same rows
    (as sorted lists) or the same SQLSTATE."""
    answers = []
    for conn in both:
        try:
            cur = conn.execute(sql, params, prepare=True)
            answers.append(("rows", sorted(cur.fetchall(), key=repr) if cur.description else cur.rowcount))
        except psycopg.Error as exc:
            answers.append(("error", exc.sqlstate))
    assert answers[0] == answers[1], f"{sql}: gridpg {answers[0]}, plain {answers[1]}"
    return answers[0][1] if answers[0][0] == "rows" else []


def _copies(datanodes: dict[str, str], schema: str, table: str) -> list[list[tuple[Any, ...]]]:
    """Each datanode's copy of a REPLICATION table, whole and ordered."""
    out = []
    for dsn in datanodes.values():
        with psycopg.connect(dsn) as node:
            out.append(node.execute(f'SELECT * FROM "{schema}".{table} ORDER BY 1').fetchall())
    return out


def test_replicated_updated_at_with_where_on_other_tables(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], datanodes: dict[str, str],
        schema: str) -> None:
    grid, plain = both
    # the known failure: refused with 0A000 before (the WHERE reads another table)
    upd = "UPDATE acct SET credit = credit + %s WHERE plan IN (SELECT id FROM plans WHERE paid = %s) " \
          "RETURNING id, credit, updated_at > created_at AS touched"
    _same(both, upd, (5, True))
    for conn in both:
        conn.execute("BEGIN")
    _same(both, upd, (1, False))
    _same(both, "SELECT count(*), count(DISTINCT updated_at), bool_and(updated_at = now()) FROM acct "
                "WHERE credit = 1")
    _same(both, "UPDATE acct SET credit = credit * 2 FROM plans p WHERE p.id = acct.plan AND p.paid "
                "AND acct.id < %s RETURNING acct.id, acct.credit", (10,))
    _same(both, "INSERT INTO acct (id, email, plan) VALUES (%s, %s, 2) ON CONFLICT (id) DO UPDATE "
                "SET credit = acct.credit + 100 RETURNING id, credit, updated_at = now(), created_at = now()",
          (3, "a3"))
    _same(both, "INSERT INTO acct (id, email, plan) SELECT id + 100, 'p' || id, id FROM plans WHERE paid "
                "RETURNING id, updated_at = now() AND created_at = now()")
    _same(both, "DELETE FROM acct WHERE id IN (SELECT id + 100 FROM plans WHERE NOT paid) RETURNING id")
    for conn in both:
        conn.execute("COMMIT")
    _same(both, "SELECT id, email, plan, credit FROM acct ORDER BY id")
    _same(both, "SELECT count(DISTINCT updated_at) FILTER (WHERE credit = 1) FROM acct")
    first, *others = _copies(datanodes, schema, "acct")
    assert first and all(copy == first for copy in others), "the replicas differ"
    assert grid.execute("SELECT count(*) FROM acct").fetchone() == (len(first),)
    del plain


def test_hash_table_updated_at_is_the_transaction_instant(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], gridpg_cluster: Cluster,
        datanodes: dict[str, str], schema: str) -> None:
    grid, _ = both
    # a block whose catalog server joined first (pg_sleep runs there), both coordinators
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f'SET search_path TO "{schema}"')
        for conn in (grid, other):
            with conn.transaction():
                conn.execute("SELECT pg_sleep(0.05)")
                conn.execute("UPDATE items SET qty = qty + 1 WHERE id %% 3 = %s", (0 if conn is grid else 1,))
                conn.execute("UPDATE items SET qty = qty + 1 WHERE id = %s", (2 if conn is grid else 4,))
                stored = conn.execute("SELECT count(*), count(DISTINCT updated_at), bool_and(updated_at = now()), "
                                      "min(updated_at) FROM items WHERE updated_at > now() - interval '1 hour' "
                                      "AND updated_at >= now()").fetchone()
                assert stored is not None and stored[1:3] == (1, True), stored
    # outside a block: every row of one statement, on every datanode, gets one instant
    _same(both, "UPDATE items SET qty = 0 RETURNING qty")
    instants = set()
    for dsn in datanodes.values():
        with psycopg.connect(dsn) as node:
            instants |= {r[0] for r in node.execute(f'SELECT DISTINCT updated_at FROM "{schema}".items')}
    assert len(instants) == 1, instants


def test_error_midway_undoes_every_copy(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], datanodes: dict[str, str],
        schema: str) -> None:
    grid, plain = both
    before = _copies(datanodes, schema, "acct")
    # rows of id 1..29 pass, id 30 raises U0042: nothing of the statement stays
    _same(both, "UPDATE acct SET credit = credit - id + 29 WHERE plan IN (SELECT id FROM plans) RETURNING id")
    assert _copies(datanodes, schema, "acct") == before
    for conn in both:
        conn.execute("BEGIN")
    _same(both, "UPDATE acct SET credit = 7 WHERE id IN (SELECT id FROM plans) RETURNING id")
    for conn in both:
        conn.execute("SAVEPOINT s")
    _same(both, "UPDATE acct SET credit = -1 WHERE id IN (SELECT id FROM plans WHERE paid)")
    for conn in both:
        conn.execute("ROLLBACK TO SAVEPOINT s")
    _same(both, "SELECT id, credit FROM acct WHERE credit <> 0 ORDER BY id")
    for conn in both:
        conn.execute("ROLLBACK")
    _same(both, "SELECT count(*) FROM acct WHERE credit <> 0")
    assert _copies(datanodes, schema, "acct") == before
    del grid, plain


def test_two_sessions_never_lose_an_update(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], gridpg_cluster: Cluster,
        datanodes: dict[str, str], schema: str) -> None:
    grid, _ = both
    upd = "UPDATE acct SET credit = credit + 1 WHERE id IN (SELECT id FROM plans WHERE id = 2)"
    outcomes: list[str] = []
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f'SET search_path TO "{schema}"')
        grid.execute("BEGIN")
        grid.execute(upd)

        def second() -> None:
            try:
                other.execute(upd)
                outcomes.append("ok")
            except psycopg.errors.SerializationFailure:
                outcomes.append("40001")  # (PostgreSQL would wait and update the new row)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(1.0)
        grid.execute("COMMIT")
        thread.join(30)
        assert not thread.is_alive()
    credit = grid.execute("SELECT credit FROM acct WHERE id = 2").fetchone()
    assert outcomes in (["ok"], ["40001"])
    assert credit == ((2,) if outcomes == ["ok"] else (1,)), (outcomes, credit)
    first, *others = _copies(datanodes, schema, "acct")
    assert all(copy == first for copy in others)


def test_clock_and_random_never_diverge_between_copies(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], datanodes: dict[str, str],
        schema: str) -> None:
    grid, _ = both
    grid.execute("CREATE FUNCTION jitter() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                 "NEW.updated_at := clock_timestamp(); NEW.credit := NEW.credit + (random() * 0)::int; "
                 "RETURN NEW; END $$")
    grid.execute("CREATE TRIGGER acct_jitter BEFORE INSERT OR UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION jitter()")
    ran = refused = 0
    for sql in ["UPDATE acct SET credit = 1 WHERE id = 5",
                "UPDATE acct SET credit = 2 WHERE plan IN (SELECT id FROM plans WHERE paid)",
                "UPDATE acct SET credit = 3",
                "INSERT INTO acct (id, email, plan) VALUES (200, 'x', 1)",
                "INSERT INTO acct (id, email, plan) SELECT id + 300, 'q' || id, 1 FROM plans",
                "INSERT INTO acct (id, email, plan) VALUES (5, 'a5', 1) ON CONFLICT (id) DO UPDATE SET credit = 9"]:
        try:
            grid.execute(sql)
            ran += 1
        except psycopg.errors.FeatureNotSupported:
            refused += 1
        first, *others = _copies(datanodes, schema, "acct")
        assert all(copy == first for copy in others), f"replicas differ after {sql}"
    assert ran >= 3 and refused >= 1, (ran, refused)
