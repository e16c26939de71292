"""Cases found by replaying PostgreSQL's PL/pgSQL, trigger and function regression files
through gridpg (issue 12): each gives PostgreSQL's answer or a clear SQLSTATE error.

Steps walk in lockstep on gridpg and plain PostgreSQL (`test_server_side_code.walk`): a
compared step must give the same rows, status or SQLSTATE; a REFUSED one fails on gridpg
with 0A000 while PostgreSQL runs a stand-in failing alike.
"""

from __future__ import annotations

from typing import Any

from tests.integration.test_server_side_code import REFUSED, pair, walk  # noqa: F401 - pair is a fixture


def test_moving_rows_keeps_referencing_rows(pair: Any) -> None:
    """An UPDATE of the distribution column moves rows as DELETE and INSERT: a foreign key
    with ON DELETE CASCADE deleted the referencing rows (PostgreSQL cascades the UPDATE),
    silently. A key whose ON UPDATE CASCADE writes the child's distribution column makes
    tables gridpg placed REPLICATION tables (h-inherit19), so the UPDATE and its cascade run
    as in PostgreSQL (it was refused before); NO ACTION keys fail as in PostgreSQL when
    rows reference the moved ones, and rows nothing references move."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE refd (a int PRIMARY KEY, b text)",
        "CREATE TABLE kids (a int, b text, FOREIGN KEY (a) REFERENCES refd ON UPDATE CASCADE ON DELETE CASCADE)",
        "INSERT INTO refd VALUES (1, 'one'), (2, 'two'), (3, 'three')",
        "INSERT INTO kids VALUES (1, 'one a'), (1, 'one b'), (2, 'two a')",
        "UPDATE refd SET a = 11 WHERE b = 'one'",
        "SELECT * FROM kids ORDER BY a, b",
        "SELECT * FROM refd ORDER BY a",
        "CREATE TABLE plainref (a int PRIMARY KEY, b text)",
        "CREATE TABLE plainkids (a int REFERENCES plainref, b text)",
        "INSERT INTO plainref VALUES (1, 'x'), (2, 'y')",
        "INSERT INTO plainkids VALUES (1, 'k')",
        "UPDATE plainref SET a = 12 WHERE a = 1",
        "UPDATE plainref SET a = 13 WHERE a = 2",
        "SELECT * FROM plainref ORDER BY a",
        "SELECT * FROM plainkids ORDER BY a",
    ])


def test_moving_rows_fires_update_triggers_only(pair: Any) -> None:
    """Rows that move (UPDATE of the distribution column) are deleted and inserted on the
    datanodes: their DELETE / INSERT statement triggers fired there (a BEFORE DELETE one
    wrote a log row PostgreSQL never writes), and a table with only INSERT triggers had its
    UPDATE refused. PostgreSQL's UPDATE fires UPDATE triggers alone."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE mv (a int, b int)",
        "CREATE TABLE mv_log (op text)",
        "CREATE FUNCTION mv_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO mv_log VALUES (TG_OP || ' ' || TG_WHEN || ' ' || TG_LEVEL); RETURN NULL; END $$",
        "CREATE TRIGGER mv_upd AFTER UPDATE ON mv FOR EACH STATEMENT EXECUTE FUNCTION mv_log()",
        "CREATE TRIGGER mv_ins AFTER INSERT ON mv FOR EACH STATEMENT EXECUTE FUNCTION mv_log()",
        "CREATE TRIGGER mv_del BEFORE DELETE ON mv FOR EACH STATEMENT EXECUTE FUNCTION mv_log()",
        "INSERT INTO mv SELECT g, g FROM generate_series(1, 8) g",
        "UPDATE mv SET a = a + 10",
        "SELECT op, count(*) FROM mv_log GROUP BY op ORDER BY op",
        "SELECT * FROM mv ORDER BY a",
        "CREATE TABLE mv_ins_only (a int)",
        "CREATE TRIGGER mv_ins_s BEFORE INSERT ON mv_ins_only EXECUTE FUNCTION mv_log()",
        "CREATE TRIGGER mv_ins_r AFTER INSERT ON mv_ins_only FOR EACH ROW EXECUTE FUNCTION mv_log()",
        "INSERT INTO mv_ins_only VALUES (1), (2), (3)",
        "UPDATE mv_ins_only SET a = a + 20 WHERE a > 1",
        "SELECT * FROM mv_ins_only ORDER BY a",
        "SELECT op, count(*) FROM mv_log GROUP BY op ORDER BY op",
    ])


def test_row_by_row_writes_of_code_fire_the_coordinators_triggers(pair: Any) -> None:
    """postgres_fdw updates row by row (by ctid) when a statement of code calls a user
    function in its WHERE; the table's triggers, which the coordinator fires (they write a
    table distributed otherwise), refused it (0A000). The row is now written by a statement
    pinned to its distribution value and ctid, its triggers fired as for any statement;
    a row whose distribution value is NULL stays refused."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE acct (id int, bal int)",
        "CREATE TABLE acct_log (note text, id int)",
        "CREATE FUNCTION acct_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO acct_log "
        "VALUES (TG_OP || ' ' || OLD.bal || '->' || NEW.bal, NEW.id); RETURN NEW; END $$",
        "CREATE TRIGGER acct_t AFTER UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION acct_trg()",
        "CREATE FUNCTION lim() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 3; END $$",
        "CREATE FUNCTION bump() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE acct SET bal = bal + 1 WHERE id < lim() OR id IS NULL; END $$",
        "INSERT INTO acct SELECT g, g * 10 FROM generate_series(1, 5) g",
        "SELECT bump()",
        "SELECT * FROM acct ORDER BY id",
        "SELECT * FROM acct_log ORDER BY id, note",
        "BEGIN",
        "SELECT bump()",
        "SELECT * FROM acct_log ORDER BY id, note",
        "ROLLBACK",
        "SELECT count(*) FROM acct_log",
        "INSERT INTO acct VALUES (NULL, 0)",
        ("SELECT bump()", REFUSED),
        "SELECT * FROM acct ORDER BY id",
        "SELECT count(*) FROM acct_log",
    ])
