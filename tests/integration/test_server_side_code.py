"""Server-side code and temp tables: every case gives PostgreSQL's answer or a clear error.

Each test walks statements in lockstep on gridpg and on plain PostgreSQL (same schema,
same data). A step is either compared (rows, command status or SQLSTATE must be equal), or
expected REFUSED: gridpg must fail with 0A000, while PostgreSQL runs a stand-in that
fails with 0A000 too, so both transactions stay in step and every later comparison shows
that the refused statement left nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster

REFUSED = "refused"
GRIDPG_ONLY = "gridpg only"  # a gridpg function PostgreSQL does not have: must succeed
STAND_IN = "DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '0A000'; END $$"

SETUP = [
    ("CREATE TABLE t (id int PRIMARY KEY, v int)", None),
    ("CREATE TABLE ref (id int, note text) DISTRIBUTE BY REPLICATION", "CREATE TABLE ref (id int, note text)"),
    ("CREATE TABLE x (id int PRIMARY KEY, v text)", None),
    ("INSERT INTO t SELECT g, g * 10 FROM generate_series(1, 11) g", None),
    ("INSERT INTO ref VALUES (1, 'one'), (3, 'three')", None),
    ("INSERT INTO x VALUES (1, 'dist'), (2, 'dist')", None),
]


def _result(conn: psycopg.Connection[Any], sql: str) -> tuple[Any, ...]:
    try:
        cur = conn.execute(sql)
    except psycopg.Error as exc:
        return ("error", exc.sqlstate)
    if cur.description is None:
        return ("status", cur.statusmessage)
    rows = [tuple(r) for r in cur.fetchall()]
    if "order by" not in sql.lower():
        rows.sort(key=repr)
    return ("rows", rows)


def walk(gridpg: psycopg.Connection[Any], plain: psycopg.Connection[Any], steps: list[Any]) -> None:
    for step in steps:
        sql, expect = step if isinstance(step, tuple) else (step, "same")
        got = _result(gridpg, sql)
        if expect == GRIDPG_ONLY:
            assert got[0] != "error", f"{sql!r} failed on gridpg: {got}"
            continue
        if expect == REFUSED:
            assert got == ("error", "0A000"), f"{sql!r} should be refused with 0A000, got {got}"
            assert _result(plain, STAND_IN) == ("error", "0A000")
            continue
        want = _result(plain, sql)
        assert got == want, f"{sql!r}: gridpg {got} != PostgreSQL {want}"


@pytest.fixture()
def pair(gridpg_cluster: Cluster, plain_pg: str, schema: str,
         request: pytest.FixtureRequest) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    """(gridpg, plain PostgreSQL) connections on a fresh schema holding SETUP's data."""
    index = getattr(request, "param", 0)
    with psycopg.connect(plain_pg, autocommit=True) as plain, \
            psycopg.connect(gridpg_cluster.dsn(index), autocommit=True) as gridpg:
        plain.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        plain.execute(f'CREATE SCHEMA "{schema}"')
        for conn in (plain, gridpg):
            conn.execute(f'SET search_path TO "{schema}"')
        for grid_sql, plain_sql in SETUP:
            gridpg.execute(grid_sql)
            plain.execute(plain_sql or grid_sql)
        yield gridpg, plain
        plain.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


FUNCTIONS = [
    "CREATE FUNCTION add_row(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (i, i * 100); END $$",
    "CREATE FUNCTION cnt() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t $$",
    "CREATE FUNCTION cnt_atomic() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM t; END",
    "CREATE FUNCTION cnt_assign() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN n := (SELECT count(*) FROM t); RETURN n; END $$",
    "CREATE FUNCTION outer_f() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN cnt() + 1; END $$",
    "CREATE FUNCTION dyn_const() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN EXECUTE 'SELECT count(*) FROM ' || 't' INTO n; RETURN n; END $$",
    "CREATE FUNCTION dyn_any(tb text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN EXECUTE format('SELECT count(*) FROM %I', tb) INTO n; RETURN n; END $$",
    "CREATE FUNCTION note_of(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT note FROM ref WHERE id = i $$",
    'CREATE FUNCTION "MixedCase"() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM x $$',
    "CREATE FUNCTION pure(i int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT i * 2 $$",
    "CREATE FUNCTION pure_pl(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN pure(i) + 1; END $$",
    "CREATE PROCEDURE put(i int) LANGUAGE sql AS $$ INSERT INTO t VALUES (i, i) $$",
    "CREATE PROCEDURE noop(INOUT i int) LANGUAGE plpgsql AS $$ BEGIN i := i + 1; END $$",
]


def test_functions_reading_or_writing_distributed_tables(pair: Any) -> None:
    """SELECT / CALL / DO whose code reads or writes distributed tables run through the
    loopback (PostgreSQL's answer); what the loopback cannot reach is refused."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        *FUNCTIONS,
        "SELECT add_row(42)",
        "SELECT * FROM t WHERE id = 42",
        "SELECT cnt()",
        "SELECT cnt_atomic()",  # bound to the catalog server's empty copy: runs as a twin (executor/twins.string_body)
        "SELECT cnt_assign()",
        "SELECT outer_f()",  # nested call
        "SELECT dyn_const()",  # constant dynamic SQL is read
        "SELECT dyn_any('t')",  # dynamic SQL: every table of the path is shadowed
        "SELECT note_of(1), note_of(2)",  # reads a replicated table only: runs on a datanode
        "CALL noop(1)",
        'SELECT "MixedCase"()',
        # a SELECT over distributed tables whose code reads them too runs whole through
        # the loopback: its own tables' unqualified names reach the shadows as well
        "SELECT id, cnt() FROM t WHERE id = 1",
        "SELECT t.id, cnt_assign(), x.v FROM t JOIN x ON x.id = t.id ORDER BY t.id",
        "SELECT id FROM t WHERE cnt() > id ORDER BY id",
        ("SELECT id, cnt() FROM public.t", "same"),  # not the schema's t: nothing distributed
        "SELECT id, note_of(id) FROM t ORDER BY id",  # merged: called on the nodes only
        "SELECT note_of(id) FROM ref ORDER BY 1",  # routed to a node holding ref
        # the final step, on the catalog server, would call it over an empty ref: the whole
        # statement runs there with the loopback instead
        "SELECT note_of(max(id)) FROM t",
        "SELECT note_of(min(id)), count(*) FROM t",
        "CALL put(77)",
        "DO $$ BEGIN INSERT INTO t VALUES (88, 1); END $$",
        "DO $$ BEGIN PERFORM cnt(); END $$",
        "/* app */ select   ADD_ROW(43)",
        "SELECT cnt(), add_row(g) FROM generate_series(200, 203) g ORDER BY 2",
        ("SELECT add_row(200)", "same"),  # duplicate key: 23505 on both
        "SELECT * FROM t ORDER BY id",
        # Code that touches no distributed table runs as before.
        "SELECT pure(21), pure_pl(20)",
        "SELECT id, pure(v) FROM t ORDER BY id",
        "SELECT sum(pure_pl(id)) FROM t",
        "CALL noop(41)",
        "DO $$ BEGIN PERFORM pure(1); END $$",
    ])


def test_functions_inside_transactions(pair: Any) -> None:
    gridpg, plain = pair
    walk(gridpg, plain, [
        *FUNCTIONS,
        "BEGIN",
        "INSERT INTO t VALUES (100, 1)",
        "SELECT add_row(101)",
        "SELECT cnt()",  # the transaction's own writes
        "SELECT add_row(100)",  # duplicate key: 23505 on both
        "SELECT 1",  # both in an aborted transaction: 25P02
        "ROLLBACK",
        "SELECT count(*), sum(v) FROM t",
        "BEGIN",
        "INSERT INTO t VALUES (102, pure(51))",
        "SELECT pure_pl(v) FROM t WHERE id = 102",
        "COMMIT",
        "SELECT * FROM t WHERE id >= 100 ORDER BY id",
        "BEGIN",
        "SAVEPOINT s",
        "CALL put(103)",
        "SELECT * FROM t WHERE id >= 100 ORDER BY id",
        "ROLLBACK TO SAVEPOINT s",
        "INSERT INTO t VALUES (104, 4)",
        "COMMIT",
        "SELECT * FROM t WHERE id >= 100 ORDER BY id",
        # A function reading a replicated table sees the transaction's own writes.
        "BEGIN",
        "INSERT INTO ref VALUES (9, 'nine')",
        "SELECT note_of(9)",
        "SELECT t.id, cnt() FROM t WHERE t.id >= 100 ORDER BY t.id",  # whole, through the loopback
        "ROLLBACK",
        "SELECT note_of(9)",
        # DDL in the same transaction: the function is created and checked in it, and runs
        # (the catalog server decides the block's 2PC: test_code_after_ddl23.py).
        "BEGIN",
        "CREATE FUNCTION late() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM x $$",
        "SELECT late()",
        "ROLLBACK",
        # CREATE OR REPLACE changes the verdict.
        "CREATE FUNCTION flip() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
        "SELECT flip()",
        "CREATE OR REPLACE FUNCTION flip() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM t $$",
        "SELECT flip()",
    ])


def test_triggers_defaults_views_and_aggregates(pair: Any) -> None:
    gridpg, plain = pair
    walk(gridpg, plain, [
        *FUNCTIONS,
        # A row trigger that only changes NEW fires where the rows are: PostgreSQL's answer.
        "CREATE FUNCTION double_v() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v * 2; RETURN NEW; END $$",
        "CREATE TRIGGER dbl BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION double_v()",
        "INSERT INTO t VALUES (20, 1), (21, 2), (22, 3)",
        "UPDATE t SET v = 5 WHERE id = 21",
        "SELECT * FROM t WHERE id >= 20 ORDER BY id",
        # Moving rows between nodes would fire DELETE/INSERT triggers instead of UPDATE ones.
        ("UPDATE t SET id = id + 100 WHERE id = 20", REFUSED),
        # A statement-level trigger fires once, on the coordinator (not once per datanode).
        "CREATE FUNCTION say() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'statement'; RETURN NULL; END $$",
        "CREATE TRIGGER st AFTER INSERT ON x FOR EACH STATEMENT EXECUTE FUNCTION say()",
        "INSERT INTO x VALUES (10, 'a'), (11, 'b'), (12, 'c')",
        "DROP TRIGGER st ON x",
        "DELETE FROM x WHERE id >= 10",
        "INSERT INTO x VALUES (10, 'a'), (11, 'b'), (12, 'c')",
        "SELECT * FROM x ORDER BY id",
        # A row trigger reading a replicated table runs on the datanodes, which hold it whole.
        "CREATE FUNCTION tag_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v + coalesce((SELECT max(id) FROM ref), 0); RETURN NEW; END $$",
        "CREATE TRIGGER tn BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION tag_note()",
        "INSERT INTO t VALUES (40, 1), (41, 2)",
        "SELECT * FROM t WHERE id >= 40 ORDER BY id",
        "DROP TRIGGER tn ON t",
        # A trigger that writes a replicated table: fired by the coordinator, which writes
        # every copy (COPY is not done that way: refused).
        "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ref VALUES (NEW.id, 'audit'); RETURN NEW; END $$",
        "CREATE TRIGGER aud AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION audit()",
        "INSERT INTO t VALUES (30, 1)",
        ("COPY t FROM '/nonexistent/rows.txt'", REFUSED),  # (FROM STDIN: tests/integration/test_copy_firing.py)
        "DROP TRIGGER aud ON t",
        "INSERT INTO t VALUES (32, 1)",
        # An UPDATE OF trigger: an UPDATE of other columns fires nothing, here or there
        "CREATE TABLE w (id int PRIMARY KEY, a int, b int)",
        "INSERT INTO w VALUES (1, 1, 1), (2, 2, 2)",
        "CREATE TRIGGER aud_a AFTER UPDATE OF a ON w FOR EACH ROW EXECUTE FUNCTION audit()",
        "UPDATE w SET b = b + 10",
        "UPDATE w SET a = a + 10 WHERE id = 2",
        "SELECT * FROM w ORDER BY id",
        "SELECT * FROM ref ORDER BY id, note",
        # A trigger reading a distributed table.
        "CREATE FUNCTION limit_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF (SELECT count(*) FROM x) > 100 THEN RAISE EXCEPTION 'full'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER lim BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION limit_rows()",
        "INSERT INTO t VALUES (31, 1)",  # fired by the coordinator before the row is stored
        ("INSERT INTO t SELECT id + 40, v FROM t WHERE id < 3", REFUSED),  # (rows made from tables)
        "UPDATE t SET v = 0 WHERE id = 1",  # fires no INSERT trigger: runs as planned
        "DROP TRIGGER lim ON t",
        # A column default calling such a function.
        "CREATE TABLE d (id int PRIMARY KEY, n bigint DEFAULT cnt())",
        # (run whole on the catalog server, the default evaluated there through the loopback,
        # the row reaching d through its shadow)
        "INSERT INTO d (id) VALUES (1)",
        "INSERT INTO d VALUES (2, 5)",
        "INSERT INTO d (id, n) VALUES (2, 5)",  # the default is not evaluated
        "INSERT INTO d (id, n) VALUES (3, DEFAULT)",
        # ... but not when d has a statement-level INSERT trigger: the rows reach d one
        # INSERT each, which would fire it once per row
        "CREATE FUNCTION per_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO x VALUES (600 + (SELECT count(*) FROM x), 'st'); RETURN NULL; END $$",
        "CREATE TRIGGER d_st AFTER INSERT ON d FOR EACH STATEMENT EXECUTE FUNCTION per_statement()",
        ("INSERT INTO d (id) VALUES (4), (5)", REFUSED),
        "DROP TRIGGER d_st ON d",
        # nor with OVERRIDING: the shadow's INSERT could not carry it (428C9 otherwise)
        "CREATE TABLE di (id int GENERATED ALWAYS AS IDENTITY, n bigint)",
        ("INSERT INTO di OVERRIDING SYSTEM VALUE VALUES (7, cnt())", REFUSED),
        "INSERT INTO di (n) VALUES (cnt())",
        "SELECT * FROM di",
        "INSERT INTO d (id) VALUES (4), (5)",
        "UPDATE d SET n = 6 WHERE id = 2",
        ("UPDATE d SET n = DEFAULT WHERE id = 2", REFUSED),
        "SELECT * FROM d",  # reading it runs no default
        # A view calling one: inlined, the statement runs whole through the loopback.
        "CREATE VIEW v AS SELECT id, cnt() AS c FROM x",
        "SELECT * FROM v ORDER BY id",
        # An aggregate whose transition function reads a distributed table.
        "CREATE FUNCTION acc(s bigint, i int) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN s + i + (SELECT count(*) FROM x); END $$",
        "CREATE AGGREGATE weird(int) (SFUNC = acc, STYPE = bigint, INITCOND = '0')",
        "SELECT weird(id) FROM generate_series(1, 3) id",  # on the catalog server, through the loopback
        # An operator whose function reads one.
        "CREATE FUNCTION near(a int, b int) RETURNS bool LANGUAGE sql AS $$ SELECT abs(a - b) < (SELECT count(*) FROM x) $$",
        "CREATE OPERATOR ~~~ (LEFTARG = int, RIGHTARG = int, FUNCTION = near)",
        "SELECT 1 ~~~ 2",
        "SELECT id FROM t WHERE id ~~~ 3 ORDER BY id",  # whole, through the loopback
        "CREATE FUNCTION near_pure(a int, b int) RETURNS bool LANGUAGE sql AS $$ SELECT abs(a - b) < 2 $$",
        "CREATE OPERATOR ~~! (LEFTARG = int, RIGHTARG = int, FUNCTION = near_pure)",
        "SELECT id FROM t WHERE id ~~! 3 ORDER BY id",
        "SELECT * FROM t ORDER BY id",
    ])


def test_search_path_and_schemas_of_function_bodies(pair: Any, schema: str) -> None:
    gridpg, plain = pair
    walk(gridpg, plain, [
        f'CREATE FUNCTION pinned() RETURNS bigint LANGUAGE sql SET search_path = "{schema}" AS $$ SELECT count(*) FROM t $$',
        "SELECT pinned()",  # its own path: run as a twin with the shadows on it
        f'CREATE FUNCTION qualified() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM "{schema}".t $$',
        "SELECT qualified()",  # its twin names the shadow
        # a SELECT naming a distributed table with its schema beside such code: the
        # statement itself names the shadow (executor/twins.redirect_statement)
        f'SELECT id, qualified() FROM "{schema}".t ORDER BY id',
        f'SELECT t.id, qualified() FROM "{schema}"."t" AS t WHERE t.id < 3 ORDER BY 1',
        "SELECT id, qualified() FROM t WHERE id < 3 ORDER BY id",
        "CREATE FUNCTION catalog_only() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'no such' $$",
        "SELECT catalog_only()",
        # a read-only block (PostgREST's GET) cannot take the twin: refused, saying why;
        # outside a block the twin is made READ WRITE, also under default_transaction_read_only
        "CREATE FUNCTION plain_cnt() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t $$",
        "BEGIN READ ONLY",
        "SELECT plain_cnt()",  # no twin: runs
        ("SELECT qualified()", REFUSED),
        "ROLLBACK",
        "SET default_transaction_read_only = on",
        ("SELECT pinned()", REFUSED),
        "RESET default_transaction_read_only",
        "SELECT qualified()",
    ])


TEMP_STEPS = [
    # pg_temp first: a temp table hides the distributed table of the same name.
    "CREATE TEMP TABLE x AS SELECT 1 AS id, 'temp'::text AS v",
    "SELECT * FROM x",
    "SELECT count(*) FROM x",
    "SELECT * FROM x WHERE id = 1",
    "CREATE TEMP TABLE tt (id int, w text)",
    "INSERT INTO tt VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    # Joins with distributed and replicated tables.
    "SELECT tt.id, t.v FROM tt JOIN t USING (id) ORDER BY tt.id",
    "SELECT tt.id, ref.note FROM tt JOIN ref USING (id) ORDER BY tt.id",
    "SELECT tt.id, t.v FROM tt LEFT JOIN t ON t.id = tt.id + 9 ORDER BY tt.id",
    "SELECT count(*) FROM t WHERE id IN (SELECT id FROM tt)",
    # Kept across transactions.
    "BEGIN",
    "INSERT INTO tt VALUES (4, 'd')",
    "COMMIT",
    "BEGIN",
    "INSERT INTO tt VALUES (5, 'e')",
    "ROLLBACK",
    "SELECT * FROM tt ORDER BY id",
    # ON COMMIT behaviour.
    "CREATE TEMP TABLE cd (id int) ON COMMIT DELETE ROWS",
    "BEGIN",
    "INSERT INTO cd VALUES (1)",
    "SELECT count(*) FROM cd",
    "COMMIT",
    "SELECT count(*) FROM cd",
    "BEGIN",
    "CREATE TEMP TABLE dd (id int) ON COMMIT DROP",
    "INSERT INTO dd VALUES (1)",
    "SELECT * FROM dd",
    "COMMIT",
    "SELECT * FROM dd",
    # Filled from distributed tables, and writing them back.
    "CREATE TEMP TABLE ct AS SELECT id, v FROM t WHERE id > 8",
    "SELECT * FROM ct ORDER BY id",
    "SELECT id INTO TEMP si FROM t WHERE id < 3",
    "SELECT * FROM si ORDER BY id",
    "INSERT INTO tt SELECT id, 'from t' FROM t WHERE id > 9",
    "SELECT * FROM tt ORDER BY id, w",
    "UPDATE ct SET v = t.v + 1 FROM t WHERE t.id = ct.id - 1",
    "SELECT * FROM ct ORDER BY id",
    "INSERT INTO t SELECT id + 1000, id FROM tt",
    "SELECT count(*) FROM t WHERE id > 1000",
    # UPDATE/DELETE of distributed tables reading temp tables: the temp rows are shipped.
    "DELETE FROM t USING tt WHERE t.id = tt.id + 1000 AND tt.id > 10",
    "UPDATE t SET v = 0 WHERE id IN (SELECT id FROM tt)",
    "UPDATE t SET v = tt.id * 7 FROM tt WHERE t.id = tt.id + 1000 RETURNING t.id, t.v",
    "DELETE FROM t WHERE id = 1001 AND EXISTS (SELECT 1 FROM tt WHERE tt.id = 1)",
    "BEGIN",
    "DELETE FROM t WHERE id IN (SELECT id + 1000 FROM tt)",
    "SELECT count(*) FROM t WHERE id > 1000",
    "ROLLBACK",
    "SELECT * FROM t WHERE id > 1000 ORDER BY id",
    "SELECT count(*), sum(v) FROM t",
    # Qualified names.
    "SELECT count(*) FROM pg_temp.tt",
    # A temp table hides a view over distributed tables too.
    "CREATE VIEW big AS SELECT id, v FROM t WHERE v > 50",
    "SELECT count(*) FROM big",
    "CREATE TEMP TABLE big AS SELECT 7 AS id",
    "SELECT * FROM big",
    "DROP TABLE big",
    "SELECT count(*) FROM big",
    "DROP TABLE tt",
    "SELECT * FROM x",
    "DROP TABLE x",
    "SELECT * FROM x ORDER BY id",
    "CREATE TEMP TABLE x (id int, v text)",
    "SELECT * FROM x",
    "DISCARD TEMP",
    "SELECT * FROM x ORDER BY id",
    "SELECT * FROM ct",
]


@pytest.mark.parametrize("pair", [0, 1], indirect=True, ids=["coordinator1", "coordinator2"])
def test_temp_tables(pair: Any) -> None:
    gridpg, plain = pair
    walk(gridpg, plain, TEMP_STEPS)


def test_temp_tables_are_private_and_kept(gridpg_cluster: Cluster, schema: str) -> None:
    """Other sessions never see a session's temp table, however the pool is shared; the
    session keeps it across many transactions; DISCARD ALL drops it."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as owner:
        owner.execute(f'SET search_path TO "{schema}"')
        owner.execute("CREATE TABLE mine (n int)")  # a distributed table the temp one hides
        owner.execute("CREATE TABLE k (id int PRIMARY KEY)")
        owner.execute("CREATE TEMP TABLE mine (n int)")
        owner.execute("INSERT INTO mine VALUES (7)")
        for round_ in range(5):
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute(f'SET search_path TO "{schema}"')
                assert _result(other, "SELECT * FROM pg_temp.mine") == ("error", "42P01")
                assert _result(other, "SELECT count(*) FROM mine") == ("rows", [(0,)])
                other.execute(f'INSERT INTO "{schema}".k VALUES ({round_})')
            with owner.transaction():
                owner.execute("INSERT INTO mine VALUES (%s)", (round_,))
        assert owner.execute("SELECT count(*) FROM mine").fetchone()[0] == 6
        owner.execute("DISCARD ALL")
        assert _result(owner, "SELECT * FROM pg_temp.mine") == ("error", "42P01")
    with psycopg.connect(dsn, autocommit=True) as after:
        assert _result(after, "SELECT * FROM pg_temp.mine") == ("error", "42P01")


def test_distributed_functions_are_delegated_to_the_node_of_their_key(pair: Any) -> None:
    """create_distributed_function: calls run whole on the datanode holding their key, in
    the caller's transaction; bodies that could not stay on that node are refused."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE u (id int PRIMARY KEY, n int)",
        "INSERT INTO u SELECT g, 0 FROM generate_series(1, 50) g",
        "CREATE FUNCTION add_row(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (i, i * 100); UPDATE u SET n = n + 1 WHERE id = i; END $$",
        ("SELECT create_distributed_function('add_row(int)', '$1', colocate_with => 't')", GRIDPG_ONLY),
        "SELECT add_row(42)",
        "SELECT add_row(43)",
        "SELECT * FROM t WHERE id > 40 ORDER BY id",
        "SELECT * FROM u WHERE n > 0 ORDER BY id",
        "BEGIN",
        "SELECT add_row(44)",
        "SELECT count(*) FROM t",
        "ROLLBACK",
        "BEGIN",
        "SELECT add_row(45)",
        "COMMIT",
        "SELECT * FROM t WHERE id > 40 ORDER BY id",
        ("SELECT add_row(42)", "same"),  # duplicate key: 23505 on both
        "CREATE FUNCTION get_v(k int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT v FROM t WHERE id = k $$",
        ("SELECT create_distributed_function('get_v(int)', 'k', 't')", GRIDPG_ONLY),
        "SELECT get_v(42)",
        "SELECT get_v(7)",
        "SELECT get_v(9999)",
        "SELECT get_v(42), get_v(7)",  # not a lone call: through the loopback
        "SELECT get_v(id) FROM t WHERE id = 3",  # whole, through the loopback
        "CREATE FUNCTION note(k int) RETURNS text LANGUAGE sql AS $$ SELECT t.v || ref.note FROM t, ref WHERE t.id = k AND ref.id = k $$",
        ("SELECT create_distributed_function('note(int)', '$1', 't')", GRIDPG_ONLY),
        "SELECT note(1)",
        "CREATE PROCEDURE put(i int) LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (i, 7); END $$",
        ("SELECT create_distributed_function('put(int)', '$1', 't')", GRIDPG_ONLY),
        "CALL put(500)",
        "SELECT * FROM t WHERE id = 500",
        # Bodies that would leave the key's node are refused at declaration.
        "CREATE FUNCTION total(i int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t $$",
        ("SELECT create_distributed_function('total(int)', '$1', 't')", REFUSED),
        "CREATE FUNCTION to_ref(i int) RETURNS void LANGUAGE sql AS $$ INSERT INTO ref VALUES (i, 'x') $$",
        ("SELECT create_distributed_function('to_ref(int)', '$1', 't')", REFUSED),
        "CREATE FUNCTION shifty(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN i := i + 1; INSERT INTO t VALUES (i, 0); END $$",
        ("SELECT create_distributed_function('shifty(int)', '$1', 't')", REFUSED),
        "CREATE TABLE w (k text PRIMARY KEY, v int)",  # not colocated with t
        "CREATE FUNCTION other(i int) RETURNS int LANGUAGE sql AS $$ SELECT v FROM w WHERE k = i::text $$",
        ("SELECT create_distributed_function('other(int)', '$1', 't')", REFUSED),
        "CREATE FUNCTION colocated(i int) RETURNS text LANGUAGE sql AS $$ SELECT v FROM x WHERE id = i $$",
        ("SELECT create_distributed_function('colocated(int)', '$1', 't')", GRIDPG_ONLY),
        "SELECT colocated(2)",
        # A replaced body loses the declaration: refused, never run on the wrong node.
        "CREATE OR REPLACE FUNCTION get_v(k int) RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM t $$",
        "SELECT get_v(5)",  # checked again: through the loopback
        "SELECT * FROM t ORDER BY id",
    ])


def test_a_distributed_function_s_key_cast_to_another_type_is_not_delegated_by_its_text(pair: Any) -> None:
    """`f('k3 '::char(3))` passes 'k3' to a text parameter: delegated by the text as
    written, the call ran on another node and found nothing (NULL, silently)."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE kw (k text PRIMARY KEY, v int)",
        "INSERT INTO kw SELECT 'k' || g, g FROM generate_series(1, 40) g",
        "CREATE FUNCTION get_kw(key text) RETURNS int LANGUAGE sql STABLE AS $$ SELECT v FROM kw WHERE k = key $$",
        ("SELECT create_distributed_function('get_kw(text)', 'key', 'kw')", GRIDPG_ONLY),
        "SELECT get_kw('k3')",
        # 'k3 ' and 'k9 ' hash to shards 4 and 9, 'k3' and 'k9' to 31 and 26; 'k4  ' to 26,
        # 'k4' to 9: another node under either placement of the 32 shards on two groups
        "SELECT get_kw('k3 '::char(3))",
        "SELECT get_kw('k9 '::char(3))",
        "SELECT get_kw('k4  '::bpchar)",
        "SELECT get_kw('k7'::varchar)",
    ])


def test_distributed_function_with_bound_parameters(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE acct (id bigint PRIMARY KEY, balance numeric)")
        conn.execute("INSERT INTO acct SELECT g, 100 FROM generate_series(1, 20) g")
        conn.execute("CREATE FUNCTION debit(a bigint, amount numeric) RETURNS numeric LANGUAGE plpgsql AS $$ "
                     "DECLARE b numeric; BEGIN UPDATE acct SET balance = balance - amount WHERE id = a "
                     "RETURNING balance INTO b; RETURN b; END $$")
        conn.execute("SELECT create_distributed_function('debit(bigint, numeric)', 'a', 'acct')")
        for key in range(1, 21):
            assert conn.execute("SELECT debit(%s, %s)", (key, key)).fetchone()[0] == 100 - key
        assert conn.execute("SELECT sum(balance) FROM acct").fetchone()[0] == 2000 - 210


def test_event_trigger_writing_a_distributed_table_refuses_ddl(pair: Any) -> None:
    """An event trigger fires on every server a DDL statement reaches: one that writes a
    distributed table would write it once per server."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE ddl_log (id serial, tag text)",
        "CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ddl_log (tag) VALUES (tg_tag); END $$",
        "CREATE EVENT TRIGGER log_all ON ddl_command_end EXECUTE FUNCTION log_ddl()",
        ("CREATE TABLE after_trigger (id int)", REFUSED),
        "ALTER EVENT TRIGGER log_all DISABLE",
        "CREATE TABLE after_trigger (id int)",
        "SELECT count(*) FROM ddl_log",
        "DROP EVENT TRIGGER log_all",
    ])


@pytest.mark.parametrize("pair", [0, 1], indirect=True, ids=["coordinator1", "coordinator2"])
def test_loopback_cases(pair: Any, schema: str) -> None:
    """Every way server-side code meets distributed tables through the loopback: PostgreSQL's
    answer, or 0A000 where the shadows cannot reach the table."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        *FUNCTIONS,
        "CREATE VIEW big AS SELECT id, v FROM t WHERE v > 50",
        "CREATE FUNCTION big_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM big $$",
        "SELECT big_count()",  # a view over a distributed table, shadowed too
        "CREATE FUNCTION stamp(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET v = v + pure_pl(1) WHERE id = i; DELETE FROM x WHERE id = i AND length(v) > pure_pl(0); END $$",
        "SELECT stamp(1), stamp(2)",  # not sent whole by postgres_fdw: row by row (by ctid)
        "SELECT * FROM t WHERE id <= 2 ORDER BY id",
        "SELECT * FROM x ORDER BY id",
        # The statements code sends are checked as the client's are: a trigger writing a
        # replicated table is fired by the coordinator for a whole statement (on a catalog
        # connection of its own), and for postgres_fdw's row-by-row (by ctid) writes, each
        # row then written by a statement pinned to its distribution value and ctid.
        "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ref VALUES (NEW.id, 'audit'); RETURN NEW; END $$",
        "CREATE TRIGGER aud AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION audit()",
        "CREATE FUNCTION bump1(i int) RETURNS void LANGUAGE sql AS $$ UPDATE t SET v = v + 1 WHERE id = i $$",
        "SELECT stamp(3)",
        "SELECT * FROM t WHERE id <= 3 ORDER BY id",
        "SELECT bump1(3)",
        "SELECT * FROM ref ORDER BY id, note",
        "DROP TRIGGER aud ON t",
        "SELECT bump1(3)",
        "CREATE FUNCTION ref_touch(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE ref SET note = note || pure_pl(i)::text WHERE id = i; END $$",
        ("SELECT ref_touch(1)", REFUSED),  # a replicated row by ctid: another ctid on each node
        "CREATE FUNCTION ref_add(i int) RETURNS void LANGUAGE sql AS $$ INSERT INTO ref VALUES (i, 'added') $$",
        "SELECT ref_add(5)",
        "SELECT * FROM ref ORDER BY id",
        "CREATE TABLE s (id serial PRIMARY KEY, v int)",
        "CREATE FUNCTION s_add(i int) RETURNS void LANGUAGE sql AS $$ INSERT INTO s (v) VALUES (i) $$",
        "SELECT s_add(1)",  # a serial default inside code: the cluster's sequence (gridpg_lb_calls.nextval)
        "CREATE FUNCTION s_put(i int) RETURNS void LANGUAGE sql AS $$ INSERT INTO s (id, v) VALUES (i, i) $$",
        "SELECT s_put(7)",
        "SELECT * FROM s",
        "CREATE FUNCTION definer() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT count(*) FROM t $$",
        "SELECT definer()",  # SECURITY DEFINER: as its owner
        "CREATE FUNCTION widen() RETURNS void LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE t ADD COLUMN w int; END $$",
        "SELECT widen()",  # DDL in code: distributed DDL (executor/code_ddl.py)
        "SELECT * FROM t ORDER BY id",
        "CREATE FUNCTION locked() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN LOCK TABLE t IN SHARE MODE; RETURN (SELECT count(*) FROM t); END $$",
        ("SELECT locked()", REFUSED),  # a lock on a shadow locks nothing on the nodes
        "SELECT * FROM t WHERE id = 1",
        "CREATE FUNCTION paths() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('search_path', 'public', true); RETURN (SELECT count(*) FROM t); END $$",
        ("SELECT paths()", REFUSED),
        f'CREATE FUNCTION calls_pinned() RETURNS bigint LANGUAGE plpgsql SET search_path = "{schema}" AS $$ BEGIN RETURN cnt(); END $$',
        "SELECT calls_pinned()",  # its own search_path passes to cnt(): the twin's, shadowed
        "SELECT id, cnt() FROM t WHERE id = 3",  # reads t itself too: whole, through the loopback
        "SELECT cnt() FROM t",
        "INSERT INTO t SELECT 300, cnt()",  # whole, its row through t's shadow
        "SELECT * FROM t WHERE id = 300",
        # Errors inside code undo everything it did, on every node.
        "CREATE FUNCTION half(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (i, 0); INSERT INTO x VALUES (i, 'x'); RAISE EXCEPTION 'stop' USING ERRCODE = 'P0001'; END $$",
        "SELECT half(400)",
        "SELECT count(*) FROM t WHERE id = 400",
        "BEGIN",
        "SAVEPOINT a",
        "SELECT half(401)",
        "ROLLBACK TO SAVEPOINT a",
        "SELECT add_row(402)",
        "SELECT cnt()",
        "COMMIT",
        "SELECT id FROM t WHERE id >= 400 ORDER BY id",
        "SELECT * FROM t ORDER BY id",
    ])


def test_dynamic_sql_in_server_side_code(pair: Any, schema: str) -> None:
    """SQL text made at run time (EXECUTE format(...), EXECUTE ... USING) reaches the
    distributed tables of the session's schemas through their shadows, inside the caller's
    transaction (TRUNCATE too); whatever it would do to the catalog server's own copies
    instead (a schema-qualified name) fails the statement and leaves nothing behind. DDL
    runs as distributed DDL."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        ("CREATE FUNCTION dyn_count(tb text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
        "BEGIN EXECUTE format('SELECT count(*) FROM %I', tb) INTO n; RETURN n; END $$"),
        "SELECT dyn_count('t'), dyn_count('x'), dyn_count('ref')",
        ("CREATE FUNCTION dyn_put(tb text, i int) RETURNS void LANGUAGE plpgsql AS $$ "
        "BEGIN EXECUTE format('INSERT INTO %I (id, v) VALUES ($1, $2)', tb) USING i, i * 3; END $$"),
        "SELECT dyn_put('t', 500)",
        "BEGIN",
        "SELECT dyn_put('t', 501)",
        "SELECT count(*) FROM t WHERE id >= 500",  # the caller sees the code's write
        "ROLLBACK",
        "SELECT id, v FROM t WHERE id >= 500 ORDER BY id",
        ("DO $$ DECLARE n int; BEGIN EXECUTE 'UPDATE t SET v = v + 1 WHERE id < $1' USING 4; "
        "GET DIAGNOSTICS n = ROW_COUNT; IF n <> 3 THEN RAISE EXCEPTION 'rows %', n; END IF; END $$"),
        "SELECT id, v FROM t WHERE id < 4 ORDER BY id",
        ("CREATE FUNCTION dyn_temp() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN "
        "EXECUTE 'CREATE TEMP TABLE IF NOT EXISTS scratch (k int)'; "
        "EXECUTE 'INSERT INTO scratch SELECT id FROM t WHERE id < 5'; "
        "EXECUTE 'SELECT count(*) FROM scratch' INTO n; RETURN n; END $$"),
        "SELECT dyn_temp()",  # temporary objects of the call are the session's own
        ("CREATE FUNCTION upper_of(a text) RETURNS text LANGUAGE plpgsql AS $$ DECLARE r text; "
        "BEGIN EXECUTE 'SELECT upper($1)' INTO r USING a; RETURN r; END $$"),
        "SELECT upper_of('abc')",
        # What the shadows cannot catch fails; nothing it did stays.
        ("CREATE FUNCTION dyn_qualified(tb text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
        f"BEGIN INSERT INTO t VALUES (600, 0); EXECUTE format('SELECT count(*) FROM %I.%I', '{schema}', tb) INTO n; RETURN n; END $$"),
        "SELECT dyn_qualified('t')",  # its text asks for the shadows (h-code21, plpgsql_dynamic.py)
        ("CREATE FUNCTION dyn_inner(tb text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
         f"BEGIN INSERT INTO t VALUES (601, 0); EXECUTE format('SELECT count(*) FROM %I.%I', '{schema}', tb) INTO n; RETURN n; END $$"),
        ("CREATE FUNCTION dyn_outer(tb text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
         "BEGIN EXECUTE 'SELECT dyn_inner($1)' INTO n USING tb; RETURN n + 1; END $$"),
        ("SELECT dyn_outer('t')", REFUSED),  # called from dynamic text: run as it is, watched
        ("CREATE FUNCTION dyn_ddl(n text) RETURNS void LANGUAGE plpgsql AS $$ "
        "BEGIN EXECUTE format('CREATE TABLE %I (k int)', n); END $$"),
        "SELECT dyn_ddl('made_by_code')",  # DDL from dynamic text: distributed DDL (code_ddl.py)
        "INSERT INTO made_by_code VALUES (1), (2)",
        "SELECT * FROM made_by_code ORDER BY k",
        ("CREATE FUNCTION dyn_truncate(tb text) RETURNS void LANGUAGE plpgsql AS $$ "
        "BEGIN EXECUTE 'TRUNCATE ' || quote_ident(tb); END $$"),
        "SELECT dyn_truncate('x')",  # the datanodes truncate (commands/code_truncate.py)
        "SELECT count(*) FROM t WHERE id IN (600, 601)",
        "SELECT * FROM x ORDER BY id",
        "SELECT count(*) FROM pg_class WHERE relname = 'made_by_code'",
    ])


def test_loopback_extended_protocol_and_concurrency(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """Bound parameters, many sessions at once (their loopbacks reach whichever worker of the
    coordinator took them), and sessions committing and rolling back interleaved."""
    import threading

    dsns = [gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)]
    with psycopg.connect(dsns[0], autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, balance int)")
        conn.execute("INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 40) g")
        conn.execute("CREATE FUNCTION move(a int, b int, n int) RETURNS int LANGUAGE plpgsql AS $$ "
                     "BEGIN UPDATE acct SET balance = balance - n WHERE id = a; "
                     "UPDATE acct SET balance = balance + n WHERE id = b; "
                     "RETURN (SELECT sum(balance) FROM acct); END $$")
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            with psycopg.connect(dsns[index % 2]) as c:
                c.execute(f'SET search_path TO "{schema}"')
                for step in range(6):
                    a, b = (index * 7 + step) % 40 + 1, (index * 11 + step * 3) % 40 + 1
                    total = c.execute("SELECT move(%s, %s, %s)", (a, b, step + 1)).fetchone()[0]
                    assert total == 40000, total
                    if step % 3 == 2:
                        c.rollback()
                    else:
                        c.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not errors, errors
    with psycopg.connect(dsns[1], autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        assert conn.execute("SELECT sum(balance), count(*) FROM acct").fetchone() == (40000, 40)
        changed = conn.execute("SELECT count(*) FROM acct WHERE balance <> 1000").fetchone()[0]
        assert changed > 0
        # a SELECT over the table calling such code, bound and prepared: through the loopback
        # whole (postgres_fdw's CLOSE of its scan comes when the portal is dropped, after
        # the call: it was refused, "the loopback's function call has ended")
        conn.execute("CREATE FUNCTION total() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT sum(balance) FROM acct $$")
        for _ in range(3):
            assert conn.execute("SELECT id, total() FROM acct WHERE id = %s", (7,), prepare=True) \
                .fetchall() == [(7, 40000)]


def test_loopback_refuses_strangers(gridpg_cluster: Cluster) -> None:
    """A connection that claims to be a loopback without the secret or a live token gets
    nothing (28000 / 28P01), and the session it named is untouched."""
    import urllib.parse

    url = urllib.parse.urlsplit(gridpg_cluster.dsn(0))
    fake = "gridpg-lb:0:" + "0" * 32
    for password in (url.password, "wrong"):
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(host=url.hostname, port=url.port, user=url.username, password=password,
                            dbname="postgres", application_name=fake, connect_timeout=10)
        assert "loopback" in str(info.value) or "password" in str(info.value)


def test_triggers_writing_colocated_tables_pinned_to_the_row(pair: Any) -> None:
    """A row trigger of a distributed table may write other distributed tables when every
    statement of it is pinned to the row's distribution value (it runs on the row's node);
    any other trigger touching distributed tables is refused, never run on the wrong node."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE audit (id int, op text, v int)",
        "CREATE TABLE other (k text PRIMARY KEY, n int)",
        "CREATE FUNCTION aud() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO audit VALUES (OLD.id, TG_OP, OLD.v); RETURN OLD; END IF; INSERT INTO audit VALUES (NEW.id, TG_OP, NEW.v); UPDATE audit SET v = v + 1 WHERE id = NEW.id AND op = 'UPDATE'; RETURN NEW; END $$",
        "CREATE TRIGGER a AFTER INSERT OR UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION aud()",
        "INSERT INTO t SELECT g, g FROM generate_series(20, 40) g",
        "UPDATE t SET v = v + 1 WHERE id < 25",
        "UPDATE t SET v = v + 1 WHERE id < 23",
        "DELETE FROM t WHERE id > 37",
        "SELECT op, count(*), sum(v) FROM audit GROUP BY op ORDER BY op",
        "BEGIN",
        "INSERT INTO t VALUES (50, 5)",
        "ROLLBACK",
        "SELECT count(*) FROM audit WHERE id = 50",
        "UPDATE t SET id = 51 WHERE id = 20",  # the row moves: AFTER UPDATE fired by the coordinator
        # AFTER triggers whose writes leave the row's node: the coordinator fires them.
        "CREATE FUNCTION shifted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.id + 1, 'x', 0); RETURN NEW; END $$",
        "CREATE TRIGGER s AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION shifted()",
        "INSERT INTO t VALUES (60, 1)",
        "DROP TRIGGER s ON t",
        "INSERT INTO other VALUES ('x', 0)",
        "CREATE FUNCTION elsewhere() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE other SET n = n + 1 WHERE k = 'x'; RETURN NEW; END $$",
        "CREATE TRIGGER e AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION elsewhere()",
        "INSERT INTO t VALUES (61, 1)",
        "SELECT * FROM other",
        ("COPY t FROM '/nonexistent/rows.txt'", REFUSED),  # (FROM STDIN: tests/integration/test_copy_firing.py)
        "DROP TRIGGER e ON t",
        "CREATE FUNCTION moves() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := NEW.id + 1; INSERT INTO audit VALUES (NEW.id, 'm', 0); RETURN NEW; END $$",
        "CREATE TRIGGER m BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION moves()",
        # (fired by the coordinator before the row is stored: stored as 63, where 63 lives)
        "INSERT INTO t VALUES (62, 1)",
        "SELECT id FROM t WHERE id IN (62, 63)",
        "DROP TRIGGER m ON t",
        "INSERT INTO t VALUES (64, 1)",
        "SELECT * FROM audit WHERE id >= 60 ORDER BY id",
        "SELECT * FROM t ORDER BY id",
    ])


def test_loopback_runs_as_the_callers_role(gridpg_cluster: Cluster, schema: str) -> None:
    """A role without superuser rights runs its code through the loopback; the statements
    run with its privileges on the datanodes (42501 for a table it may not read)."""
    import urllib.parse

    role = f"lb_{schema[-20:]}"
    url = urllib.parse.urlsplit(gridpg_cluster.dsn(0))
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as admin:
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'pw'")
        admin.execute(f'GRANT ALL ON SCHEMA "{schema}" TO "{role}"')
        admin.execute(f'CREATE TABLE "{schema}".secret (id int PRIMARY KEY)')
        try:
            with psycopg.connect(host=url.hostname, port=url.port, user=role, password="pw",
                                 dbname="postgres", autocommit=True) as conn:
                conn.execute(f'SET search_path TO "{schema}"')
                conn.execute("CREATE TABLE mine (id int PRIMARY KEY, v int)")
                conn.execute("INSERT INTO mine SELECT g, g FROM generate_series(1, 10) g")
                conn.execute("CREATE FUNCTION madd(i int) RETURNS bigint LANGUAGE plpgsql AS $$ "
                             "BEGIN INSERT INTO mine VALUES (i, i); RETURN (SELECT sum(v) FROM mine); END $$")
                assert conn.execute("SELECT madd(11)").fetchone() == (66,)
                conn.execute("CREATE FUNCTION peek() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM secret $$")
                assert _result(conn, "SELECT peek()") == ("error", "42501")
                conn.execute('DROP TABLE mine; DROP FUNCTION madd(int); DROP FUNCTION peek()')
        finally:
            admin.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM "{role}"')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_truncate_in_server_side_code(pair: Any) -> None:
    """A function's (or DO block's) TRUNCATE of distributed tables empties them on the
    datanodes inside the caller's transaction (Citus's reload_tables() of
    insert_select_single_shard_table.sql: 0A000 "needs the catalog server inside the
    caller's transaction" before); a table a foreign key still references fails as in
    PostgreSQL (0A000); RESTART IDENTITY stays refused."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE ta (a int, b int)",
        "CREATE TABLE tb (a int, b int)",
        "CREATE TABLE tr (id int PRIMARY KEY)",
        "CREATE TABLE tf (x int, rid int REFERENCES tr (id))",
        "INSERT INTO tr VALUES (1), (2)",
        "INSERT INTO tf VALUES (1, 1)",
        "INSERT INTO ta SELECT g, g FROM generate_series(1, 20) g",
        ("CREATE FUNCTION reload() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE ta, tb; "
         "INSERT INTO ta SELECT i, i FROM generate_series(1, 8) i; "
         "INSERT INTO tb SELECT i, i FROM generate_series(2, 5) i; END $$"),
        "SELECT reload()",
        "SELECT count(*), sum(a) FROM ta",
        "SELECT count(*), sum(a) FROM tb",
        "BEGIN",
        "INSERT INTO ta VALUES (100, 100)",
        "SELECT reload()",
        "SELECT count(*), sum(a) FROM ta",
        "ROLLBACK",
        "SELECT count(*), sum(a) FROM ta",
        "BEGIN",
        "INSERT INTO ta VALUES (100, 100)",
        "SAVEPOINT s",
        "SELECT reload()",
        "ROLLBACK TO s",
        "SELECT count(*), sum(a) FROM ta",
        "COMMIT",
        "SELECT count(*), sum(a) FROM ta",
        "CREATE FUNCTION trunc_r() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE tr; END $$",
        "SELECT trunc_r()",  # tf references tr: 0A000 on both
        "SELECT count(*) FROM tr",
        "CREATE FUNCTION trunc_rf() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE tr, tf; END $$",
        "SELECT trunc_rf()",
        "SELECT count(*) FROM tr",
        "SELECT count(*) FROM tf",
        "DO $$ BEGIN TRUNCATE ta; END $$",
        "SELECT count(*) FROM ta",
        "CREATE FUNCTION trunc_restart() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE ta RESTART IDENTITY; END $$",
        ("SELECT trunc_restart()", REFUSED),
        "CREATE MATERIALIZED VIEW tmv AS SELECT a FROM ta",
        "CREATE FUNCTION trunc_mv() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE tmv'; END $$",
        ("SELECT trunc_mv()", REFUSED),  # (PostgreSQL: 42809; its datanode table is a plain one)
        # a single-shard table (on one group) with a HASH one: each node truncates its own (42P01 before)
        "CREATE TABLE tn (a int, b int)",
        ("SELECT create_distributed_table('tn', null, colocate_with => 'none')", GRIDPG_ONLY),
        "INSERT INTO tn VALUES (1, 1)",
        "INSERT INTO ta VALUES (1, 1)",
        "TRUNCATE tn, ta",
        "INSERT INTO tn VALUES (2, 2)",
        ("CREATE FUNCTION trunc_n() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE ta, tn; "
         "INSERT INTO tn VALUES (3, 3); END $$"),
        "SELECT trunc_n()",
        "SELECT * FROM tn",
        "SELECT count(*) FROM ta",
    ])
