"""Triggers the coordinator fires (executor/triggers.py): the rows their functions write are
where their distribution values say, on every node, read directly from each datanode; the
forms gridpg cannot fire are refused with 0A000 and leave nothing behind.

The answers themselves are compared with plain PostgreSQL in
tests/oracle/corpus/88_triggers_coordinator.sql.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.integration.test_server_side_code import REFUSED, pair, walk  # noqa: F401  (fixture)

AUDIT = [
    "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount int)",
    "CREATE TABLE audit_log (audit_id int PRIMARY KEY, order_id int, op text, amount int)",
    "CREATE TABLE per_customer (customer text PRIMARY KEY, n int NOT NULL)",
    "CREATE TABLE seen (order_id int, op text) DISTRIBUTE BY REPLICATION",
    # the audit id is its own key: the audit row lands on another node than the order
    ("CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE k int; BEGIN "
     "SELECT coalesce(max(audit_id), 0) + 1 INTO k FROM audit_log; "
     "INSERT INTO audit_log VALUES (k, coalesce(NEW.id, OLD.id), TG_OP, coalesce(NEW.amount, OLD.amount)); "
     "INSERT INTO seen VALUES (coalesce(NEW.id, OLD.id), TG_OP); RETURN NULL; END $$"),
    ("CREATE FUNCTION count_customer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "UPDATE per_customer SET n = n + 1 WHERE customer = NEW.customer; "
     "IF NOT FOUND THEN INSERT INTO per_customer VALUES (NEW.customer, 1); END IF; RETURN NULL; END $$"),
    "CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION audit()",
    "CREATE TRIGGER count_customer AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION count_customer()",
]


def _remainders(conn: psycopg.Connection[Any], schema: str, table: str) -> list[tuple[str, int]]:
    """(the row's key as text, the remainder of the shard holding it) for every row of a
    hash table on one datanode."""
    rows = conn.execute(
        f'SELECT t.{"audit_id" if table == "audit_log" else "customer"}::text, '
        "pg_catalog.pg_get_expr(c.relpartbound, c.oid) "
        f'FROM "{schema}".{table} t JOIN pg_catalog.pg_class c ON c.oid = t.tableoid').fetchall()
    out = []
    for key, bound in rows:
        found = re.search(r"remainder (\d+)", bound or "")
        assert found, f"{table} row {key} is not in a shard partition: {bound}"
        out.append((key, int(found.group(1))))
    return out


def test_rows_written_by_fired_triggers_are_on_their_nodes(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        for c in (conn, other):
            c.execute(f'SET search_path TO "{schema}"')
        for sql in AUDIT:
            conn.execute(sql)
        conn.execute("INSERT INTO orders SELECT g, 'c' || (g % 7), g * 10 FROM generate_series(1, 40) g")
        other.execute("UPDATE orders SET amount = amount + 1 WHERE id % 3 = 0")
        with conn.transaction():
            conn.execute("DELETE FROM orders WHERE id > 35")
        with pytest.raises(psycopg.errors.UniqueViolation), other.transaction():
            other.execute("INSERT INTO orders VALUES (100, 'c1', 1)")
            other.execute("INSERT INTO orders VALUES (100, 'c1', 1)")  # rolls back the first too
        audits = conn.execute("SELECT count(*), count(DISTINCT audit_id) FROM audit_log").fetchone()
        assert audits == (40 + 13 + 5, 40 + 13 + 5)
        assert conn.execute("SELECT sum(n) FROM per_customer").fetchone() == (40,)
        # each row found by a routed lookup of its key (the router goes to one node only)
        for (key,) in conn.execute("SELECT audit_id FROM audit_log").fetchall():
            assert conn.execute("SELECT count(*) FROM audit_log WHERE audit_id = %s", (key,)).fetchone() == (1,)
    with psycopg.connect(next(iter(catalogs.values()))) as cat:
        placed = {(table, r): g for table, r, g in cat.execute(
            "SELECT table_name, remainder, datanode_group FROM gridpg.shard WHERE schema_name = %s", (schema,))}
    per_node: dict[str, set[str]] = {}
    seen: list[list[tuple[Any, ...]]] = []
    for group, dsn in datanodes.items():
        with psycopg.connect(dsn) as node:
            for table in ("audit_log", "per_customer"):
                for key, remainder in _remainders(node, schema, table):
                    assert placed[(table, remainder)] == group, f"{table} {key} on {group}"
                    per_node.setdefault(table, set()).add(key)
            seen.append(sorted(node.execute(f'SELECT * FROM "{schema}".seen').fetchall()))
    assert len(per_node["audit_log"]) == 58 and len(per_node["per_customer"]) == 7
    assert all(rows == seen[0] for rows in seen) and len(seen[0]) == 58  # every replica whole


def test_forms_not_fired_by_the_coordinator_are_refused(pair: Any) -> None:  # noqa: F811
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE audit (id int, op text)",
        "CREATE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (coalesce(NEW.id, OLD.id) + 1000, TG_OP); RETURN NEW; END $$",
        # a BEFORE row trigger writing elsewhere: fired by the coordinator on the rows of an
        # INSERT ... VALUES before they are stored, and row by row for UPDATE and DELETE
        # (executor/row_writes.py, UPDATE ... FROM too); refused where an INSERT's rows come
        # from tables, and where a trigger changes the distribution column (the row would
        # move)
        "CREATE TRIGGER b BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION log_it()",
        "INSERT INTO t VALUES (90, 1), (91, 2) RETURNING id, v",
        ("INSERT INTO t SELECT id + 500, 1 FROM t WHERE id < 3", REFUSED),
        "UPDATE t SET v = 2 WHERE id = 90 RETURNING id, v",
        "UPDATE t SET v = 3 FROM x WHERE x.id = t.id RETURNING t.id, t.v",  # (FROM: h-trig24)
        "CREATE FUNCTION move_it() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.id := NEW.id + 1000; RETURN NEW; END $$",
        "CREATE TRIGGER c_move BEFORE UPDATE ON t FOR EACH ROW WHEN (NEW.v = 77) EXECUTE FUNCTION move_it()",
        ("UPDATE t SET v = 77 WHERE id IN (90, 91)", REFUSED),
        "DROP TRIGGER c_move ON t",
        "SELECT * FROM t WHERE id >= 90 ORDER BY id",
        "SELECT * FROM audit ORDER BY id, op",
        "DROP TRIGGER b ON t",
        "CREATE TRIGGER bd BEFORE DELETE ON t FOR EACH ROW EXECUTE FUNCTION log_it()",
        "DELETE FROM t WHERE id = 90 RETURNING id",
        "DROP TRIGGER bd ON t",
        "DELETE FROM t WHERE id IN (90, 91)",
        "CREATE TRIGGER a AFTER INSERT OR UPDATE OR DELETE ON t FOR EACH ROW EXECUTE FUNCTION log_it()",
        "INSERT INTO t VALUES (100, 1)",
        "UPDATE t SET id = id + 1 WHERE id IN (1, 100) RETURNING id, v",  # rows move: UPDATE triggers only
        "UPDATE t SET id = id - 1 WHERE id IN (2, 101)",
        "SET session_replication_role = replica",  # ENABLE ALWAYS triggers only
        "INSERT INTO t VALUES (300, 3)",
        "ALTER TABLE t ENABLE ALWAYS TRIGGER a",
        "INSERT INTO t VALUES (301, 3)",
        "RESET session_replication_role",
        "ALTER TABLE t ENABLE TRIGGER a",
        "INSERT INTO t VALUES (100, 2), (102, 2) ON CONFLICT (id) DO UPDATE SET v = 3",  # INSERT and UPDATE triggers
        "INSERT INTO t VALUES (100, 2) ON CONFLICT (id) DO NOTHING",
        "UPDATE t SET v = v + 1 WHERE id IN (1, 100) RETURNING old.v AS was, new.v, id",  # PostgreSQL 18's OLD/NEW
        ("COPY t FROM '/nonexistent/rows.txt'", REFUSED),  # (FROM STDIN: tests/integration/test_copy_firing.py)
        "WITH d AS (SELECT 1) UPDATE t SET v = 5 WHERE id = 100",  # (a WITH of SELECT entries: h-queue17)
        "SELECT * FROM audit ORDER BY id, op",
        # a trigger function that is SECURITY DEFINER, or calls one, or sets its own search_path
        "CREATE FUNCTION log_def() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN INSERT INTO audit VALUES (-1, 'def'); END $$",
        "CREATE FUNCTION calls_def() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM log_def(); RETURN NULL; END $$",
        "CREATE TRIGGER d AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION calls_def()",
        ("INSERT INTO t VALUES (400, 1)", REFUSED),
        "DROP TRIGGER d ON t",
        "CREATE FUNCTION own_path() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$ BEGIN RETURN NULL; END $$",
        "CREATE TRIGGER p AFTER INSERT ON t FOR EACH STATEMENT EXECUTE FUNCTION own_path()",
        "INSERT INTO t VALUES (401, 1)",  # its twin runs with its own path (the shadows on it)
        "DROP TRIGGER p ON t",
        # an upsert in a routine the trigger function calls (the trigger's own twin runs its
        # upserts; the routine called directly runs as its twin)
        "CREATE TABLE tally (k int PRIMARY KEY, n int)",
        "CREATE FUNCTION tally_up(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO tally VALUES (i % 3, 1) ON CONFLICT (k) DO UPDATE SET n = tally.n + 1; END $$",
        "CREATE FUNCTION calls_tally() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM tally_up(NEW.id); RETURN NULL; END $$",
        "CREATE TRIGGER u AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION calls_tally()",
        ("INSERT INTO t VALUES (402, 1)", REFUSED),
        "DROP TRIGGER u ON t",
        "SELECT tally_up(1), tally_up(4)",
        "SELECT * FROM tally",
        # a write by server-side code (itself run through the loopback)
        "CREATE FUNCTION bump(i int) RETURNS void LANGUAGE sql AS $$ UPDATE t SET v = v + 1 WHERE id = i $$",
        # (its triggers fired by the coordinator on a catalog connection of their own)
        "SELECT bump(100)",
        "SELECT * FROM t WHERE id = 100",
        "SELECT * FROM audit ORDER BY id, op",
        "BEGIN",
        "DO $$ BEGIN PERFORM bump(100); PERFORM bump(1); END $$",
        "SELECT * FROM audit ORDER BY id, op",
        "ROLLBACK",
        "SELECT * FROM audit ORDER BY id, op",
        "DROP TRIGGER a ON t",
        # transition tables (fired by the coordinator), TRUNCATE triggers
        "CREATE FUNCTION count_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit SELECT count(*), 'stmt' FROM new_rows; RETURN NULL; END $$",
        "CREATE TRIGGER n AFTER INSERT ON t REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_new()",
        "INSERT INTO t VALUES (200, 1), (201, 2)",  # the transition table: a temp table of that name
        "DROP TRIGGER n ON t",
        "CREATE FUNCTION on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (0, TG_OP); RETURN NULL; END $$",
        "CREATE TRIGGER tr AFTER TRUNCATE ON x FOR EACH STATEMENT EXECUTE FUNCTION on_truncate()",
        ("TRUNCATE x RESTART IDENTITY", REFUSED),
        ("TRUNCATE ONLY x", REFUSED),
        ("TRUNCATE x, t", REFUSED),
        "SELECT count(*) FROM x",
        "BEGIN",
        "TRUNCATE x",  # fired by the coordinator, once
        "SELECT count(*) FROM x",
        "ROLLBACK",
        "SELECT count(*) FROM x",
        "SELECT * FROM audit ORDER BY id, op",
    ])


def test_triggers_of_writes_made_by_triggers(pair: Any) -> None:  # noqa: F811
    """A trigger's write whose table has triggers the coordinator fires (a comment counter
    updating posts, whose audit trigger writes a third table): fired too, level by level,
    each on a catalog connection of its own, all in the client's transaction."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE posts (id int PRIMARY KEY, n int DEFAULT 0, touched text)",
        "CREATE TABLE comments (id int PRIMARY KEY, post_id int)",
        "CREATE TABLE log (id bigserial PRIMARY KEY, what text)",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := 'yes'; RETURN NEW; END $$",
        "CREATE TRIGGER p_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch()",
        "CREATE FUNCTION counted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF TG_OP = 'INSERT' THEN UPDATE posts SET n = n + 1 WHERE id = NEW.post_id;"
        " ELSE UPDATE posts SET n = n - 1 WHERE id = OLD.post_id; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER c_count AFTER INSERT OR DELETE ON comments FOR EACH ROW EXECUTE FUNCTION counted()",
        "CREATE FUNCTION logged() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO log (what) VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || NEW.id || ' n=' || NEW.n); RETURN NULL; END $$",
        "CREATE TRIGGER p_log AFTER UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION logged()",
        "INSERT INTO posts (id) VALUES (1), (2)",
        "INSERT INTO comments VALUES (10, 1), (11, 1), (12, 2)",
        "DELETE FROM comments WHERE id = 11",
        "SELECT * FROM posts ORDER BY id",
        "SELECT what FROM log ORDER BY id",
        "BEGIN",
        "INSERT INTO comments VALUES (13, 2)",
        "SAVEPOINT s",
        "INSERT INTO comments VALUES (14, 2)",
        "ROLLBACK TO SAVEPOINT s",
        "SELECT * FROM posts ORDER BY id",
        "ROLLBACK",
        "SELECT * FROM posts ORDER BY id",
        "SELECT what FROM log ORDER BY id",
        # a trigger whose write fails fails the client's statement, and nothing of it stays
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.n > 1 THEN RAISE EXCEPTION 'too many' USING ERRCODE = '22023'; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER p_boom AFTER UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION boom()",
        "INSERT INTO comments VALUES (15, 1)",
        "SELECT * FROM posts ORDER BY id",
        "SELECT count(*) FROM comments",
        "SELECT what FROM log ORDER BY id",
        "DROP TRIGGER p_boom ON posts",
        # runaway recursion (posts -> comments -> posts ...): 54001 on both
        "CREATE FUNCTION again() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO comments VALUES (1000 + NEW.n, NEW.id); RETURN NULL; END $$",
        "CREATE TRIGGER p_again AFTER UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION again()",
        "INSERT INTO comments VALUES (16, 2)",
        "SELECT * FROM posts ORDER BY id",
        "SELECT count(*) FROM comments",
    ])


def test_constraint_triggers_of_hash_tables_named_in_set_constraints(pair: Any) -> None:  # noqa: F811
    """A HASH table's constraint trigger fires on its shards, whose copies of it live in
    gridpg_shards on the datanodes: SET CONSTRAINTS by name would miss them (the check
    stayed immediate), so naming one is refused; ALL reaches them."""
    gridpg, plain = pair
    gridpg.execute("CREATE TABLE ct (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
    plain.execute("CREATE TABLE ct (id int PRIMARY KEY, v int)")
    walk(gridpg, plain, [
        "CREATE FUNCTION big_v() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.v > 100 THEN "
        "RAISE EXCEPTION 'big %', NEW.id USING ERRCODE = '23514'; END IF; RETURN NULL; END $$",
        "CREATE CONSTRAINT TRIGGER ck AFTER INSERT ON ct DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION big_v()",
        "BEGIN",
        "INSERT INTO ct VALUES (1, 1)",
        ("SET CONSTRAINTS ck DEFERRED", REFUSED),
        "ROLLBACK",
        "BEGIN",
        "SET CONSTRAINTS ALL DEFERRED",
        "INSERT INTO ct VALUES (2, 1000), (3, 1)",
        "SELECT count(*) FROM ct",
        "COMMIT",  # the deferred check fails the commit
        "SELECT count(*) FROM ct",
    ])


def test_security_definer_trigger_functions(pair: Any, schema: str) -> None:  # noqa: F811
    """A SECURITY DEFINER audit trigger (the table it writes is its owner's, the writer may
    not touch it) fired by the coordinator as its owner, on the catalog server and on the
    datanodes, upserts included; the writer's own rights are back after it."""
    gridpg, plain = pair
    app, owner = f"{schema}_app"[:60], f"{schema}_own"[:60]
    for conn in (gridpg, plain):
        for role in (app, owner):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
            conn.execute(f'CREATE ROLE "{role}"')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{app}", "{owner}"')
    gridpg.execute("CREATE TABLE sd_audit (id int PRIMARY KEY, item int, by_role text) DISTRIBUTE BY HASH (id)")
    plain.execute("CREATE TABLE sd_audit (id int PRIMARY KEY, item int, by_role text)")
    gridpg.execute("CREATE TABLE sd_count (k text PRIMARY KEY, n int) DISTRIBUTE BY HASH (k)")
    plain.execute("CREATE TABLE sd_count (k text PRIMARY KEY, n int)")
    try:
        walk(gridpg, plain, [
            f'ALTER TABLE sd_audit OWNER TO "{owner}"',
            f'ALTER TABLE sd_count OWNER TO "{owner}"',
            f'GRANT SELECT, INSERT, UPDATE ON t TO "{app}"',
            "CREATE FUNCTION sd_log() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN "
            "INSERT INTO sd_audit VALUES (coalesce((SELECT max(id) FROM sd_audit), 0) + 1, NEW.id, current_user); "
            "INSERT INTO sd_count VALUES (TG_OP, 1) ON CONFLICT (k) DO UPDATE SET n = sd_count.n + 1; RETURN NULL; END $$",
            f'ALTER FUNCTION sd_log() OWNER TO "{owner}"',
            "CREATE TRIGGER sd AFTER INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION sd_log()",
            f'SET ROLE "{app}"',
            "INSERT INTO t VALUES (500, 1), (501, 2)",
            "UPDATE t SET v = v + 1 WHERE id = 500",
            ("SELECT * FROM sd_audit", "same"),  # permission denied on both
            "SELECT current_user = session_user",
            "RESET ROLE",
            "SELECT item, by_role = current_user FROM sd_audit ORDER BY id",
            "SELECT * FROM sd_count ORDER BY k",
            # two owners in one statement: refused
            "CREATE FUNCTION plain_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO sd_count VALUES ('plain', 1) ON CONFLICT (k) DO UPDATE SET n = sd_count.n + 1; RETURN NULL; END $$",
            "CREATE TRIGGER sp AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION plain_log()",
            ("INSERT INTO t VALUES (502, 1)", REFUSED),
            "DROP TRIGGER sp ON t",
            "DROP TRIGGER sd ON t",
        ])
    finally:
        for conn in (gridpg, plain):
            conn.execute("RESET ROLE")
            conn.execute("DROP TABLE IF EXISTS sd_audit, sd_count")
            conn.execute("DROP FUNCTION IF EXISTS sd_log()")
            conn.execute(f'REVOKE ALL ON t FROM "{app}"')
            conn.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM "{app}", "{owner}"')
            for role in (app, owner):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_bound_parameters_binary_results_and_the_internal_setting(gridpg_cluster: Cluster, schema: str) -> None:
    """The extended protocol with bound values and binary results (psycopg), a prepared
    statement run many times (the fast paths step aside), and gridpg.skip_triggers, which
    only the coordinator may set."""
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for sql in AUDIT:
            conn.execute(sql)
        with conn.cursor(binary=True) as cur:
            for i in range(1, 6):
                cur.execute("INSERT INTO orders VALUES (%s, %s, %s) RETURNING id, amount", (i, "c", i * 2), prepare=True)
                assert cur.fetchall() == [(i, i * 2)]
            cur.execute("UPDATE orders SET amount = amount + %s WHERE id > %s RETURNING id", (1, 3))
            assert sorted(cur.fetchall()) == [(4,), (5,)]
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (7,)
        assert conn.execute("SELECT * FROM per_customer").fetchall() == [("c", 5)]
        for bad in ("SET gridpg.skip_triggers = 'gpskip_0000000000000000'",
                    "SELECT set_config('gridpg.skip_triggers', 'x', false)",
                    "SELECT set_config('gridpg.skip_triggers', 'x', false) FROM orders WHERE id = 1"):
            with pytest.raises(psycopg.Error) as info:
                conn.execute(bad)
            assert info.value.sqlstate in ("42501", "0A000"), bad


def test_trigger_made_before_distribution_and_unguarded_trigger(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    """A table's triggers survive create_distributed_table (re-made on the datanodes with
    their guard: fired once, by the coordinator); a trigger on a datanode without its guard
    (made by hand, or by an older gridpg) is refused, never fired there as well."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE items (id int, tag text)")
        conn.execute("CREATE TABLE item_log (n int, tag text) DISTRIBUTE BY HASH (n)")  # not colocated
        conn.execute("CREATE FUNCTION log_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO item_log VALUES (NEW.id, NEW.tag); RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER li AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION log_item()")
        conn.execute("SELECT create_distributed_table('items', 'tag')")
        conn.execute("INSERT INTO items SELECT g, 't' || g FROM generate_series(1, 12) g")
        assert conn.execute("SELECT count(*), count(DISTINCT n) FROM item_log").fetchone() == (12, 12)
        group, dsn = next(iter(datanodes.items()))
        with psycopg.connect(dsn, autocommit=True) as node:
            node.execute(f'DROP TRIGGER li ON "{schema}".items')
            node.execute(f'CREATE TRIGGER li AFTER INSERT ON "{schema}".items FOR EACH ROW '
                         f'EXECUTE FUNCTION "{schema}".log_item()')
        conn.execute("CREATE TABLE bump_epoch (i int)")  # the coordinator reads the nodes again
        with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
            conn.execute("INSERT INTO items VALUES (13, 't13')")
        assert group in str(info.value)
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (12,)
        assert conn.execute("SELECT count(*) FROM item_log").fetchone() == (12,)


def test_row_by_row_writes_and_their_refusals(pair: Any) -> None:  # noqa: F811
    """UPDATE and DELETE run row by row by the coordinator (executor/row_writes.py): per-row
    code in SET and WHERE reading another distributed table, with psycopg's bound (binary)
    parameters; what it cannot run is refused with 0A000 naming the real cause (a DELETE is
    not refused for a trigger only INSERT and UPDATE fire)."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        "CREATE TABLE stock2 (item int PRIMARY KEY, qty int)",
        "INSERT INTO stock2 VALUES (1, 15), (2, 25), (3, 35)",
        "CREATE FUNCTION qty_of(i int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT qty FROM stock2 WHERE item = i $$",
        ("CREATE FUNCTION take() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         "UPDATE stock2 SET qty = qty - 1 WHERE item = NEW.id % 3 + 1; RETURN NEW; END $$"),
        "CREATE TRIGGER take BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION take()",
        "UPDATE t SET v = qty_of(id % 3 + 1) WHERE id <= 6 RETURNING id, v",
        "SELECT * FROM stock2 ORDER BY item",
        "DELETE FROM t WHERE v = qty_of(id % 3 + 1) RETURNING id",
        "SELECT * FROM t ORDER BY id",
        ("CREATE FUNCTION dyn(i int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE r int; BEGIN "
         "EXECUTE 'SELECT qty FROM stock2 WHERE item = $1' INTO r USING i; RETURN r; END $$"),
        "DELETE FROM t WHERE v > dyn(1) + 50 RETURNING id",
        ("CREATE FUNCTION own(i int) RETURNS int LANGUAGE sql SET search_path FROM CURRENT "
         "AS $$ SELECT qty FROM stock2 WHERE item = i $$"),
        ("DELETE FROM t WHERE v > own(1)", REFUSED),
        "UPDATE t SET v = qty_of(1) FROM x WHERE x.id = t.id RETURNING t.id, t.v",  # (FROM: h-trig24)
        "UPDATE t SET v = (SELECT max(qty) FROM stock2) + qty_of(1) RETURNING id, v",  # (h-trig24)
        "SELECT * FROM t ORDER BY id",
        "SELECT * FROM stock2 ORDER BY item",
    ])
    with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
        gridpg.execute("DELETE FROM t WHERE v > own(1)")
    assert "own(" in str(info.value) and "take()" not in str(info.value), str(info.value)
    for conn in (gridpg, plain):  # bound parameters (psycopg sends integers in binary)
        conn.execute("UPDATE t SET v = qty_of(%s) + %s WHERE id = %s", (2, 1000, 7))
    assert gridpg.execute("SELECT * FROM t ORDER BY id").fetchall() == \
        plain.execute("SELECT * FROM t ORDER BY id").fetchall()
    assert gridpg.execute("SELECT * FROM stock2 ORDER BY item").fetchall() == \
        plain.execute("SELECT * FROM stock2 ORDER BY item").fetchall()
