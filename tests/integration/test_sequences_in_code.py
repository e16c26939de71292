"""Sequence calls of server-side code (executor/loopback.py SEQUENCE_CALLS, the guard in
executor/routines.py): the values come from the GTM, never from a datanode's or the catalog
server's own copy of the sequence (each server has one; drawing from them gave duplicate
values, silently), and code gridpg cannot run that way is refused with 0A000 before it
runs. The answers themselves are compared with plain PostgreSQL in
tests/oracle/corpus/89_sequences_in_code.sql.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import session, two_sessions


def _copies(dsns: dict[str, str], schema: str, sequence: str) -> dict[str, tuple[Any, ...]]:
    """(last_value, is_called) of every server's own copy of the sequence."""
    out = {}
    for name, dsn in dsns.items():
        with psycopg.connect(dsn) as conn:
            out[name] = conn.execute(f'SELECT last_value, is_called FROM "{schema}".{sequence}').fetchone()
    return out


def test_trigger_numbers_come_from_the_gtm(gridpg_cluster: Cluster, schema: str,
                                          datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    with two_sessions(gridpg_cluster, schema) as (conn, other):
        conn.execute("CREATE SEQUENCE order_no_seq")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, order_no bigint)")
        conn.execute("CREATE FUNCTION set_no() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "new.order_no := nextval('order_no_seq'); RETURN new; END $$")
        conn.execute("CREATE TRIGGER orders_no BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION set_no()")
        conn.execute("CREATE FUNCTION take() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('order_no_seq') $$")
        conn.execute("INSERT INTO orders (id) SELECT g FROM generate_series(1, 20) g")
        other.execute("INSERT INTO orders (id) SELECT g FROM generate_series(21, 30) g")
        taken = [conn.execute("SELECT take()").fetchone()[0], other.execute("SELECT take()").fetchone()[0]]
        assert conn.execute("SELECT count(DISTINCT order_no), count(*), min(order_no), max(order_no) "
                            "FROM orders").fetchone() == (30, 30, 1, 30)
        assert sorted(taken) == [31, 32]
        assert conn.execute("SELECT nextval('order_no_seq')").fetchone() == (33,)
    # no server drew from its own copy: each is still at its start, never called
    copies = _copies({**datanodes, **catalogs}, schema, "order_no_seq")
    assert set(copies.values()) <= {(1, False)}, copies


def test_before_update_trigger_numbers_come_from_the_gtm(gridpg_cluster: Cluster, schema: str,
                                                         datanodes: dict[str, str],
                                                         catalogs: dict[str, str]) -> None:
    """A BEFORE UPDATE trigger drawing from a sequence: the coordinator fires it row by row
    (executor/row_writes.py), its nextval() reaching the GTM through the loopback (it was
    refused while the coordinator fired BEFORE ROW triggers for INSERT only)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE SEQUENCE s")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, n bigint)")
        conn.execute("INSERT INTO t SELECT g, 0 FROM generate_series(1, 6) g")
        conn.execute("CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "new.n := nextval('s'); RETURN new; END $$")
        conn.execute("CREATE TRIGGER t_bump BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION bump()")
        conn.execute("UPDATE t SET n = 5 WHERE id = 1")
        conn.execute("UPDATE t SET n = 5 WHERE id > 1")
        assert conn.execute("SELECT n FROM t WHERE id = 1").fetchone() == (1,)
        assert sorted(n for n, in conn.execute("SELECT n FROM t WHERE id > 1")) == [2, 3, 4, 5, 6]
        assert conn.execute("SELECT nextval('s')").fetchone() == (7,)
    copies = _copies({**datanodes, **catalogs}, schema, "s")
    assert set(copies.values()) <= {(1, False)}, copies


REFUSALS = [
    # a check constraint's function
    (["CREATE FUNCTION pos(v bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT v + nextval('s') > 0 $$",
      "CREATE TABLE chk (id int PRIMARY KEY, v bigint CHECK (pos(v)))"],
     "INSERT INTO chk VALUES (1, 1)", "SELECT count(*) FROM chk"),
    # pg_catalog.nextval written with its schema: the loopback's path cannot redirect it
    (["CREATE FUNCTION qual() RETURNS bigint LANGUAGE sql AS $$ SELECT pg_catalog.nextval('s') $$"],
     "SELECT qual()", None),
    # BEGIN ATOMIC: bound to pg_catalog.nextval at creation
    (["CREATE FUNCTION atomic_next() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT nextval('s'); END"],
     "SELECT atomic_next()", None),
    # a function a trigger calls, with its own search_path (it would run without the loopback's)
    (["CREATE FUNCTION own_path() RETURNS bigint LANGUAGE sql SET search_path = pg_catalog, {schema} AS "
      "$$ SELECT 1::bigint + nextval('s') $$",
      "CREATE TABLE u (id int PRIMARY KEY)",
      "CREATE FUNCTION u_after() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM own_path(); RETURN NULL; END $$",
      "CREATE TRIGGER u_after AFTER INSERT ON u FOR EACH ROW EXECUTE FUNCTION u_after()"],
     "INSERT INTO u VALUES (1)", "SELECT count(*) FROM u"),
    # a distributed function (it would run on a datanode)
    (["CREATE TABLE k (id int PRIMARY KEY, n bigint)",
      "CREATE FUNCTION by_key(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
      "UPDATE k SET n = nextval('s') WHERE id = i; RETURN i; END $$"],
     "SELECT create_distributed_function('by_key(int)', '$1', colocate_with => 'k')", None),
]


@pytest.mark.parametrize("setup,statement,after", REFUSALS, ids=[r[1].split("(")[0][:30] for r in REFUSALS])
def test_code_drawing_from_copies_is_refused(gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str],
                                             setup: list[str], statement: str, after: str | None) -> None:
    with session(gridpg_cluster.dsn(0), schema) as conn:
        conn.execute("CREATE SEQUENCE s")
        for sql in setup:
            conn.execute(sql.replace("{schema}", f'"{schema}"'))
        before = after and conn.execute(after).fetchall()
        with pytest.raises(psycopg.errors.FeatureNotSupported) as refused:
            conn.execute(statement)
        assert "nextval()" in str(refused.value)
        if after:
            assert conn.execute(after).fetchall() == before  # nothing written
        assert conn.execute("SELECT nextval('s')").fetchone() == (1,)  # nothing drawn
    assert set(_copies(datanodes, schema, "s").values()) <= {(1, False)}


def test_privileges_are_checked_as_the_code_runs(gridpg_cluster: Cluster, schema: str) -> None:
    role = f"{schema}_clerk"
    with session(gridpg_cluster.dsn(0), schema) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}"')
        try:
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
            conn.execute("CREATE SEQUENCE guarded_seq")
            conn.execute("CREATE FUNCTION invoker_next() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('guarded_seq') $$")
            conn.execute("CREATE FUNCTION definer_next() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS "
                         "$$ SELECT nextval('guarded_seq') $$")
            conn.execute("CREATE FUNCTION invoker_cur() RETURNS bigint LANGUAGE sql AS $$ SELECT currval('guarded_seq') $$")
            conn.execute(f'SET ROLE "{role}"')
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for sequence guarded_seq"):
                conn.execute("SELECT invoker_next()")
            assert conn.execute("SELECT definer_next()").fetchone() == (1,)  # as its owner
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for sequence guarded_seq"):
                conn.execute("SELECT invoker_cur()")
            conn.execute("RESET ROLE")
            assert conn.execute("SELECT invoker_cur(), lastval()").fetchone() == (1, 1)
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def test_functions_without_tables_take_gtm_values(gridpg_cluster: Cluster, schema: str,
                                                  catalogs: dict[str, str]) -> None:
    """Code that reaches no table (static and dynamic calls) on both coordinators: one
    sequence, no value twice (each coordinator's catalog server counted on its own copy;
    the guard also skipped clusters without distributed tables)."""
    with two_sessions(gridpg_cluster, schema) as (conn, other):
        conn.execute("CREATE SEQUENCE plain_seq")
        conn.execute("CREATE FUNCTION take() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('plain_seq') $$")
        conn.execute("CREATE FUNCTION take_dyn() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE v bigint; "
                     "BEGIN EXECUTE 'SELECT nextval(''plain_seq'')' INTO v; RETURN v; END $$")
        values = []
        for c in (conn, other, conn, other):
            values += list(c.execute("SELECT take(), take_dyn()").fetchone())
        with conn.transaction():
            values.append(conn.execute("SELECT take()").fetchone()[0])
            conn.execute("DO $$ BEGIN PERFORM nextval('plain_seq'); END $$")
        values.append(other.execute("SELECT nextval('plain_seq')").fetchone()[0])
        assert values == list(range(1, 10)) + [11]
        assert conn.execute("SELECT currval('plain_seq'), lastval()").fetchone() == (10, 10)
    assert set(_copies(catalogs, schema, "plain_seq").values()) <= {(1, False)}


def test_default_calling_code_that_draws_takes_gtm_values(gridpg_cluster: Cluster, schema: str,
                                                          datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    """A column default calling code that draws from a sequence (it was refused, 0A000):
    the INSERT runs whole on the catalog server with the loopback armed, the default drawing
    from the GTM's sequence, the rows reaching the table through its shadow. No server's
    own copy of the sequence moves."""
    with two_sessions(gridpg_cluster, schema) as (conn, other):
        conn.execute("CREATE SEQUENCE s")
        conn.execute("CREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'c' || nextval('s') $$")
        conn.execute("CREATE TABLE coded (id int PRIMARY KEY, code text DEFAULT next_code())")
        conn.execute("INSERT INTO coded (id) VALUES (1), (2)")
        other.execute("INSERT INTO coded (id) SELECT g FROM generate_series(3, 4) g")
        assert conn.execute("SELECT id, code FROM coded ORDER BY id").fetchall() == \
            [(1, "c1"), (2, "c2"), (3, "c3"), (4, "c4")]
        assert other.execute("SELECT nextval('s')").fetchone() == (5,)
    assert set(_copies({**datanodes, **catalogs}, schema, "s").values()) <= {(1, False)}
