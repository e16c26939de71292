"""Server-side code and schema changes in one transaction block (lead, 2026-12-07): a
migration's `BEGIN; CREATE TABLE t ...; DO $$ ... INSERT INTO t ... $$; COMMIT` (Flyway and
Liquibase run each migration file so), and code first, DDL after. Both were refused with
0A000. The code's statements over a table the block made reach it through a shadow made in
the block itself (executor/loopback.py `ensure_shadows_in_block`) and are planned with the
block's own catalog (frontend/loopback.py); the catalog server whose code called back
decides the block's 2PC, committing in one phase last (txn/transaction.py
`_choose_decider`): postgres_fdw's transaction there cannot PREPARE."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import catalog_dsns, datanode_dsns


def _prepared_left(cluster: Cluster) -> list[tuple[str, str]]:
    left = []
    for name, dsn in {**datanode_dsns(cluster), **catalog_dsns(cluster)}.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            left += [(name, row[0]) for row in conn.execute("SELECT gid FROM pg_prepared_xacts")]
    return left


def test_ddl_then_code_commits_both(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE m23_items (id bigserial PRIMARY KEY, name text NOT NULL, qty int)")
        conn.execute("INSERT INTO m23_items (name, qty) VALUES ('a', 1), ('b', 2)")
        conn.execute("DO $$ BEGIN INSERT INTO m23_items (name, qty) "
                     "SELECT 'x' || g, g * 10 FROM generate_series(1, 3) g; END $$")
        conn.execute("CREATE FUNCTION m23_total() RETURNS bigint LANGUAGE sql AS "
                     "'SELECT sum(qty) FROM m23_items'")
        assert conn.execute("SELECT m23_total()").fetchone() == (63,)
        conn.execute("CREATE FUNCTION m23_bump(d int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                     "UPDATE m23_items SET qty = qty + d WHERE name LIKE 'x%'; END $$")
        conn.execute("SELECT m23_bump(1)")
        conn.execute("COMMIT")
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f"SET search_path TO {schema}")
        rows = other.execute("SELECT id, name, qty FROM m23_items ORDER BY id").fetchall()
        assert rows == [(1, "a", 1), (2, "b", 2), (3, "x1", 11), (4, "x2", 21), (5, "x3", 31)]
        # the shadow the block made was committed with it: later calls use it
        other.execute("SELECT m23_bump(100)")
        assert other.execute("SELECT m23_total()").fetchone() == (366,)
    assert _prepared_left(gridpg_cluster) == []


def test_ddl_then_code_rolled_back_leaves_nothing(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE m23_kept (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO m23_kept VALUES (1, 'one')")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE m23_gone (id int PRIMARY KEY, v text)")
        conn.execute("ALTER TABLE m23_kept ADD COLUMN extra int")
        conn.execute("DO $$ BEGIN INSERT INTO m23_gone SELECT g, 'g' || g FROM generate_series(1, 4) g; "
                     "UPDATE m23_kept SET extra = 7; INSERT INTO m23_kept VALUES (2, 'two', 8); END $$")
        assert conn.execute("SELECT id, v, extra FROM m23_kept ORDER BY id").fetchall() == \
            [(1, "one", 7), (2, "two", 8)]
        assert conn.execute("SELECT count(*) FROM m23_gone").fetchone() == (4,)
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT to_regclass('m23_gone')").fetchone() == (None,)
        assert conn.execute("SELECT * FROM m23_kept ORDER BY id").fetchall() == [(1, "one")]
        conn.execute("DO $$ BEGIN INSERT INTO m23_kept VALUES (3, 'three'); END $$")
        assert conn.execute("SELECT count(*) FROM m23_kept").fetchone() == (2,)
    for dsn in catalog_dsns(gridpg_cluster).values():
        with psycopg.connect(dsn, autocommit=True) as cat:
            shadows = cat.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                  "WHERE c.relname = 'm23_gone'").fetchone()
            assert shadows == (0,)
    assert _prepared_left(gridpg_cluster) == []


def test_added_column_used_by_code_in_the_block(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE m23_acct (id int PRIMARY KEY, balance numeric)")
        conn.execute("INSERT INTO m23_acct SELECT g, g * 100 FROM generate_series(1, 6) g")
        conn.execute("CREATE FUNCTION m23_touch() RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN "
                     "UPDATE m23_acct SET balance = balance + 1; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$")
        assert conn.execute("SELECT m23_touch()").fetchone() == (6,)  # (its shadow exists before the block)
        conn.execute("BEGIN")
        conn.execute("ALTER TABLE m23_acct ADD COLUMN tier text DEFAULT 'basic'")
        conn.execute("DO $$ BEGIN UPDATE m23_acct SET tier = 'gold' WHERE balance > 300; "
                     "INSERT INTO m23_acct (id, balance) VALUES (7, 5); END $$")
        conn.execute("COMMIT")
        rows = conn.execute("SELECT id, tier FROM m23_acct ORDER BY id").fetchall()
        assert rows == [(1, "basic"), (2, "basic"), (3, "gold"), (4, "gold"), (5, "gold"), (6, "gold"),
                        (7, "basic")]
    assert _prepared_left(gridpg_cluster) == []


def test_code_then_ddl_commits_both(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE m23_log (id int PRIMARY KEY, what text)")
        conn.execute("CREATE FUNCTION m23_note(i int, w text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO m23_log VALUES (i, w); END $$")
        conn.execute("BEGIN")
        conn.execute("SELECT m23_note(1, 'before')")
        conn.execute("CREATE TABLE m23_after (a int)")
        conn.execute("INSERT INTO m23_after VALUES (1), (2)")
        conn.execute("SELECT m23_note(2, 'after')")
        conn.execute("COMMIT")
        assert conn.execute("SELECT * FROM m23_log ORDER BY id").fetchall() == [(1, "before"), (2, "after")]
        assert conn.execute("SELECT count(*) FROM m23_after").fetchone() == (2,)
        conn.execute("BEGIN")
        conn.execute("SELECT m23_note(3, 'undone')")
        conn.execute("DROP TABLE m23_after")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM m23_log").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM m23_after").fetchone() == (2,)
    assert _prepared_left(gridpg_cluster) == []


def test_error_in_code_after_ddl_leaves_nothing(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE m23_bad (id int PRIMARY KEY)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("DO $$ BEGIN INSERT INTO m23_bad VALUES (1); INSERT INTO m23_bad VALUES (1); END $$")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT to_regclass('m23_bad')").fetchone() == (None,)
        # caught inside the code (a savepoint): the block goes on and commits
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE m23_caught (id int PRIMARY KEY)")
        conn.execute("DO $$ BEGIN INSERT INTO m23_caught VALUES (1); "
                     "BEGIN INSERT INTO m23_caught VALUES (1); EXCEPTION WHEN unique_violation THEN "
                     "INSERT INTO m23_caught VALUES (2); END; END $$")
        conn.execute("COMMIT")
        assert conn.execute("SELECT id FROM m23_caught ORDER BY id").fetchall() == [(1,), (2,)]
    assert _prepared_left(gridpg_cluster) == []


def test_trigger_fired_by_the_coordinator_then_ddl(gridpg_cluster: Cluster, schema: str) -> None:
    """A row trigger the coordinator fires (it writes another distributed table) armed the
    loopback on the block's catalog connection; DDL after it in the block then failed at
    COMMIT (0A000 "cannot PREPARE a transaction that has operated on postgres_fdw foreign
    tables"), after the DDL seemed to work. That catalog server now decides the 2PC. (DDL
    *before* such a firing stays refused: the firing's twins and checks read the committed
    catalog.)"""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE m23_orders (id int PRIMARY KEY, amount int)")
        conn.execute("CREATE TABLE m23_audit (n bigserial PRIMARY KEY, order_id int, note text)")
        conn.execute("CREATE FUNCTION m23_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO m23_audit (order_id, note) VALUES (NEW.id, 'new'); RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER m23_orders_log AFTER INSERT ON m23_orders FOR EACH ROW EXECUTE FUNCTION m23_log()")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO m23_orders VALUES (1, 10), (2, 20)")
        conn.execute("CREATE TABLE m23_later (a int)")
        conn.execute("INSERT INTO m23_later VALUES (1)")
        conn.execute("COMMIT")
        assert conn.execute("SELECT order_id FROM m23_audit ORDER BY order_id").fetchall() == [(1,), (2,)]
        assert conn.execute("SELECT count(*) FROM m23_later").fetchone() == (1,)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO m23_orders VALUES (3, 30)")
        conn.execute("DROP TABLE m23_later")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM m23_audit").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM m23_later").fetchone() == (1,)
    assert _prepared_left(gridpg_cluster) == []


def test_ddl_then_a_trigger_fired_by_the_coordinator(gridpg_cluster: Cluster, schema: str) -> None:
    """A migration that makes an audit table, its trigger function and trigger, then writes
    rows that fire it, in one block: the trigger's twin and the audit table's shadow are made
    in the block; a function replaced in the block fires as replaced, and as it was once
    the block rolls back. (Was 0A000 "cannot fire triggers that reach other distributed
    tables in a transaction that changed the schema".)"""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE m23_sales (id int PRIMARY KEY, amount int)")
        conn.execute("INSERT INTO m23_sales VALUES (1, 10)")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE m23_sales_log (sale_id int, note text)")
        conn.execute("CREATE FUNCTION m23_sales_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO m23_sales_log VALUES (NEW.id, 'first'); RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER m23_sales_t AFTER INSERT ON m23_sales FOR EACH ROW "
                     "EXECUTE FUNCTION m23_sales_note()")
        conn.execute("INSERT INTO m23_sales VALUES (2, 20), (3, 30)")
        assert conn.execute("SELECT * FROM m23_sales_log ORDER BY 1").fetchall() == [(2, "first"), (3, "first")]
        conn.execute("COMMIT")
        conn.execute("INSERT INTO m23_sales VALUES (4, 40)")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE m23_other (a int)")
        conn.execute("CREATE OR REPLACE FUNCTION m23_sales_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO m23_sales_log VALUES (NEW.id, 'second'); RETURN NEW; END $$")
        conn.execute("INSERT INTO m23_sales VALUES (5, 50)")
        assert conn.execute("SELECT note FROM m23_sales_log WHERE sale_id = 5").fetchall() == [("second",)]
        conn.execute("ROLLBACK")
        conn.execute("INSERT INTO m23_sales VALUES (6, 60)")
        assert conn.execute("SELECT * FROM m23_sales_log ORDER BY 1").fetchall() == \
            [(2, "first"), (3, "first"), (4, "first"), (6, "first")]
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f"SET search_path TO {schema}")
        other.execute("INSERT INTO m23_sales VALUES (7, 70)")
        assert other.execute("SELECT count(*) FROM m23_sales_log").fetchone() == (5,)
    assert _prepared_left(gridpg_cluster) == []


def test_code_needing_what_the_busy_catalog_connection_holds_is_refused_not_hung(
        gridpg_cluster: Cluster, schema: str) -> None:
    """A DO block's MERGE into a table that got a row trigger earlier in the block: checking
    the write needs the trigger's function, which only the block's catalog connection sees,
    and that connection is running the code. Refused at once (0A000), the block rolled back
    whole; never a wait on the block's own locks (merge.sql:1377)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE m23_pt (tid int, balance float, val text)")
        conn.execute("CREATE TABLE m23_ps (sid int, delta float)")
        conn.execute("INSERT INTO m23_ps SELECT g, g * 10 FROM generate_series(1, 14) g")
        conn.execute("INSERT INTO m23_pt SELECT g, g * 100, 'initial' FROM generate_series(1, 15, 2) g")
        conn.execute("BEGIN")
        conn.execute("CREATE FUNCTION m23_trig() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER m23_del BEFORE DELETE ON m23_pt FOR EACH ROW EXECUTE FUNCTION m23_trig()")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("DO $$ BEGIN MERGE INTO m23_pt t USING m23_ps s ON t.tid = s.sid "
                         "WHEN MATCHED THEN UPDATE SET balance = balance + delta "
                         "WHEN NOT MATCHED THEN INSERT VALUES (sid, delta, 'new') "
                         "WHEN NOT MATCHED BY SOURCE THEN UPDATE SET val = val || ' unmatched'; END $$")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*), sum(balance) FROM m23_pt").fetchone() == (8, 6400.0)
    assert _prepared_left(gridpg_cluster) == []
