"""Findings of running TPC-C kits' server-side code and drivers through gridpg (h-tpcc20).

The kits (HammerDB's TPROC-C for PostgreSQL, DBT-2's PL/pgSQL functions) were only the
input; these tests are small tables of their own that show the same patterns."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import pq

from gridpg.cluster.control import Cluster


def _exec_prepared(conn: psycopg.Connection, name: str, values: list[str]) -> list[tuple[str | None, ...]]:
    """libpq's PQexecPrepared: Bind + Execute of a statement by name, as Pgtcl's
    pg_exec_prepared does after an SQL PREPARE."""
    res = conn.pgconn.exec_prepared(name.encode(), [v.encode() for v in values])
    if res.status == pq.ExecStatus.FATAL_ERROR:
        raise AssertionError(res.error_message.decode())
    return [tuple(None if res.get_value(r, c) is None else res.get_value(r, c).decode()  # type: ignore[union-attr]
                  for c in range(res.nfields)) for r in range(res.ntuples)]


def test_a_statement_prepared_with_sql_prepare_is_bound_by_name(gridpg_cluster: Cluster, schema: str) -> None:
    """HammerDB's PostgreSQL driver (function mode) runs `PREPARE neword (INTEGER, ...) AS
    SELECT neword($1, ...)` once and then each transaction with PQexecPrepared, a protocol
    Bind to that name. The session's fast cycle read fields a Parse'd statement has and an
    SQL-prepared one had not: AttributeError, and the client's connection was closed."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE depot (depot_id int PRIMARY KEY, stock_total numeric) DISTRIBUTE BY HASH (depot_id)")
        conn.execute("INSERT INTO depot VALUES (1, 10), (2, 20), (3, 30)")
        conn.execute("PREPARE take (integer, numeric) AS "
                     "UPDATE depot SET stock_total = stock_total - $2 WHERE depot_id = $1 RETURNING stock_total")
        conn.execute("PREPARE look (integer) AS SELECT depot_id, stock_total FROM depot WHERE depot_id = $1")
        assert _exec_prepared(conn, "take", ["2", "5"]) == [("15",)]
        assert _exec_prepared(conn, "take", ["2", "5"]) == [("10",)]  # (the fast path, once it is known)
        assert _exec_prepared(conn, "look", ["2"]) == [("2", "10")]
        assert _exec_prepared(conn, "look", ["3"]) == [("3", "30")]
        with conn.transaction():
            assert _exec_prepared(conn, "take", ["1", "1"]) == [("9",)]
        assert conn.execute("EXECUTE look(1)").fetchall() == [(1, 9)]
        assert conn.execute("SELECT sum(stock_total) FROM depot").fetchone() == (49,)


@pytest.mark.parametrize("qualified", [True, False])
def test_a_routine_written_with_its_schema_may_qualify_its_parameters_with_its_name(
        gridpg_cluster: Cluster, schema: str, qualified: bool) -> None:
    """DBT-2's new_order and payment write `SELECT ... INTO new_order.i_price` (a column of
    RETURNS TABLE, qualified with the function's name, as PL/pgSQL allows). The body is
    read from pg_get_functiondef, which names every routine with its schema, and pglast's
    parser labelled the block `public.new_order`: "not a known variable", so every call
    was refused (0A000) where PostgreSQL runs it."""
    name = f"{schema}.restock" if qualified else "restock"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE bin (bin_id int PRIMARY KEY, qty int) DISTRIBUTE BY HASH (bin_id)")
        conn.execute("CREATE TABLE catalogue (part_id int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO bin VALUES (1, 5), (2, 7)")
        conn.execute("INSERT INTO catalogue VALUES (1, 'bolt'), (2, 'nut')")
        conn.execute(f"""CREATE FUNCTION {name}(bin_id integer, amount integer)
            RETURNS TABLE (label text, qty integer) LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE bin SET qty = bin.qty + amount WHERE bin.bin_id = restock.bin_id
                RETURNING bin.qty INTO restock.qty;
                SELECT catalogue.label INTO restock.label FROM catalogue WHERE part_id = restock.bin_id;
                RETURN NEXT;
            END $$""")
        conn.execute(f"""CREATE PROCEDURE {schema}.count_bin(b integer, INOUT total integer)
            LANGUAGE plpgsql AS $$
            BEGIN
                SELECT qty INTO count_bin.total FROM bin WHERE bin_id = count_bin.b;
            END $$""")
        assert conn.execute("SELECT * FROM restock(2, 3)").fetchall() == [("nut", 10)]
        with conn.transaction():
            assert conn.execute("SELECT * FROM restock(1, 1)").fetchall() == [("bolt", 6)]
        assert conn.execute("CALL count_bin(2, NULL)").fetchall() == [(10,)]
        assert conn.execute("SELECT bin_id, qty FROM bin ORDER BY 1").fetchall() == [(1, 6), (2, 10)]


def test_create_distributed_function_without_a_distribution_argument_only_propagates(
        gridpg_cluster: Cluster, schema: str) -> None:
    """HammerDB's Citus mode runs `SELECT create_distributed_function('dbms_random(int,int)')`:
    in Citus, without a distribution argument the function is only propagated to the
    workers and its calls are not delegated. gridpg's CREATE FUNCTION is on every node
    already; the call was refused (22023 "needs a function and its distribution argument")."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE roll (roll_id int PRIMARY KEY, face int) DISTRIBUTE BY HASH (roll_id)")
        conn.execute("CREATE FUNCTION pick(lo integer, hi integer) RETURNS integer LANGUAGE plpgsql STRICT AS "
                     "$$ BEGIN RETURN lo + (hi - lo) / 2; END $$")
        assert conn.execute("SELECT create_distributed_function('pick(int,int)')").fetchall() == [("",)]
        conn.execute("INSERT INTO roll VALUES (1, pick(1, 7)), (2, pick(2, 10))")
        assert conn.execute("SELECT roll_id, face FROM roll ORDER BY 1").fetchall() == [(1, 4), (2, 6)]
        with pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute("SELECT create_distributed_function('no_such_pick(int)')")
        assert conn.execute("SELECT proconfig FROM pg_proc WHERE proname = 'pick'").fetchone() == (None,)


def test_many_sessions_making_the_same_shadows_at_once_all_run(gridpg_cluster: Cluster, schema: str) -> None:
    """HammerDB's clients start together: the first call of each reaches the loopback, and
    every session of a coordinator makes the shadows of the nine tables NEWORD reaches at
    the same moment. Each collision with another session's shadow (42P07) was retried twice
    only, so with many tables and sessions one of them got 42P07 `relation "order_line"
    already exists` from its CALL (16 clients over both coordinators)."""
    import threading

    tables = [f"part_{n}" for n in range(12)]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        for table in tables:
            conn.execute(f"CREATE TABLE {table} (wh int, n int) DISTRIBUTE BY HASH (wh)")
        body = "; ".join(f"INSERT INTO {t} VALUES (wh, 1)" for t in tables)
        conn.execute(f"CREATE PROCEDURE take_all(wh integer) LANGUAGE plpgsql AS $$ BEGIN {body}; END $$")
    errors: list[str] = []
    start = threading.Barrier(16)

    def client(i: int) -> None:
        with psycopg.connect(gridpg_cluster.dsn(i % 2), autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")
            start.wait()
            try:
                conn.execute("CALL take_all(%s)", [i])
            except psycopg.Error as exc:
                errors.append(f"{exc.sqlstate} {exc}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        assert conn.execute(f"SELECT count(*), sum(wh) FROM {tables[-1]}").fetchone() == (16, sum(range(16)))


def test_a_distributed_function_may_name_its_argument_through_alias_for(gridpg_cluster: Cluster, schema: str) -> None:
    """HammerDB's function set names its arguments `st_w_id ALIAS FOR $1`. The proof behind
    create_distributed_function knew only the argument's own name, `$1` and `fn.name`, so
    SLEV, every statement pinned by `s_w_id = st_w_id`, was refused (0A000) where the
    procedure set's SLEV (named parameters) was accepted. An alias assigned, or one a column
    hides, still does not pin."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE shelf (site int, slot int, qty int, PRIMARY KEY (site, slot)) "
                     "DISTRIBUTE BY HASH (site)")
        conn.execute("INSERT INTO shelf SELECT s, n, n * s FROM generate_series(1, 4) s, generate_series(1, 5) n")
        conn.execute("""CREATE FUNCTION low_slots(integer, integer) RETURNS integer LANGUAGE plpgsql AS $$
            DECLARE at_site ALIAS FOR $1; below ALIAS FOR $2; found_n integer;
            BEGIN
                SELECT count(*) INTO found_n FROM shelf WHERE site = at_site AND qty < below;
                UPDATE shelf SET qty = qty + 1 WHERE site = at_site AND qty < below;
                RETURN found_n;
            END $$""")
        conn.execute(f"SELECT create_distributed_function('{schema}.low_slots(int,int)', '$1', "
                     "colocate_with => 'shelf')")
        assert conn.execute("SELECT low_slots(3, 7)").fetchone() == (2,)
        with conn.transaction():
            assert conn.execute("SELECT low_slots(4, 9)").fetchone() == (2,)
        assert conn.execute("SELECT site, sum(qty) FROM shelf GROUP BY site ORDER BY site").fetchall() == [
            (1, 15), (2, 30), (3, 47), (4, 62)]
        conn.execute("""CREATE FUNCTION moved(integer) RETURNS integer LANGUAGE plpgsql AS $$
            DECLARE at_site ALIAS FOR $1; n integer;
            BEGIN
                at_site := at_site + 1;
                SELECT count(*) INTO n FROM shelf WHERE site = at_site;
                RETURN n;
            END $$""")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="assigns its distribution argument"):
            conn.execute(f"SELECT create_distributed_function('{schema}.moved(int)', '$1', colocate_with => 'shelf')")
        conn.execute("""CREATE FUNCTION hidden(integer) RETURNS integer LANGUAGE plpgsql AS $$
            DECLARE qty ALIAS FOR $1; n integer;
            BEGIN
                SELECT count(*) INTO n FROM shelf WHERE site = qty;
                RETURN n;
            END $$""")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(f"SELECT create_distributed_function('{schema}.hidden(int)', '$1', colocate_with => 'shelf')")
