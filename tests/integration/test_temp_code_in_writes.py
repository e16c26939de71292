"""Writes of distributed tables calling user code that reads the session's temp tables
(h-tempcode, executor/temp_calls.py): through the extended protocol with bound parameters
(text and binary, prepared server-side, executed after the temp table changed: the value
is evaluated at each execution), compared with plain PostgreSQL; and the clear 0A000
refusals, naming the routine and why, where one evaluation before routing is not
PostgreSQL's answer (42P01 from a datanode before), with nothing written and the block failed."""

from __future__ import annotations

import re

import psycopg
import pytest

from gridpg.cluster.control import Cluster

_SETUP = (
    "CREATE TABLE t (id int PRIMARY KEY, v text)",
    "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 60) g",
    "CREATE TEMP TABLE params (k text PRIMARY KEY, val int)",
    "INSERT INTO params VALUES ('min', 10), ('max', 20)",
    "CREATE FUNCTION p(name text) RETURNS int LANGUAGE sql STABLE AS $$ SELECT val FROM params WHERE k = name $$",
)


def _session(dsn: str, schema: str) -> psycopg.Connection[tuple[object, ...]]:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path = "{schema}"')
    for sql in _SETUP:
        conn.execute(sql)
    return conn


def _extended(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with _session(dsn, schema) as conn:
        for i in range(8):  # psycopg prepares it server-side from the 6th execution
            cur = conn.execute("UPDATE t SET v = %s WHERE id = p(%s)", (f"bound{i}", "min"), prepare=True)
            out.append(cur.rowcount)
            if i in (2, 5):
                conn.execute("UPDATE params SET val = val + 1 WHERE k = 'min'")
        for i in range(7):  # routed by the key, the value set from the temp table
            cur = conn.execute("UPDATE t SET v = p(%s)::text || %s WHERE id = %s RETURNING id, v, p(%s)",
                               ("max", str(i), 5, "min"), prepare=True)
            out.append(cur.fetchall())
        with conn.cursor(binary=True) as cur:
            cur.execute("DELETE FROM t WHERE id > p(%b) AND id <= p(%b) + %b", ("max", "max", 3))
            out.append(cur.rowcount)
            cur.execute("INSERT INTO t VALUES (p(%b) + %b, %b) RETURNING *", ("max", 100, "binary"))
            out.append(cur.fetchall())
        with conn.transaction():
            conn.execute("UPDATE params SET val = 40 WHERE k = 'max'")
            out.append(conn.execute("DELETE FROM t WHERE id = p(%s) RETURNING id", ("max",)).fetchall())
        conn.execute("PREPARE q(text) AS UPDATE t SET v = 'prep' WHERE id = p($1)")
        out.append(conn.execute("EXECUTE q('max')").rowcount)
        conn.execute("UPDATE params SET val = 41 WHERE k = 'max'")
        out.append(conn.execute("EXECUTE q('max')").rowcount)
        out.append(conn.execute("SELECT id, v FROM t ORDER BY id").fetchall())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_bound_and_prepared_writes_see_the_temp_table_at_each_execution(
        gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _extended(plain_pg, schema)
    assert expected[:8] == [1] * 8
    got = _extended(gridpg_cluster.dsn(0), schema)
    assert got == expected


_REFUSED = (
    ((), "UPDATE t SET v = 'x' WHERE id = p(v)", "column v"),
    ((), "INSERT INTO t SELECT id + 100, 'x' FROM t WHERE id = p(v)", "column v"),
    (("CREATE FUNCTION p_write() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO params VALUES ('w', 1); "
      "RETURN 1; END $$"), "UPDATE t SET v = 'x' WHERE id = p_write()", "writes params"),
    (("CREATE FUNCTION p_rand() RETURNS int LANGUAGE sql AS $$ SELECT val + (random() * 0)::int FROM params "
      "WHERE k = 'min' $$"), "DELETE FROM t WHERE id = p_rand()", "random()"),
    ((), "UPDATE t SET v = 'x' WHERE id = p(random()::text)", "random()"),
    (("CREATE FUNCTION p_rows() RETURNS SETOF params LANGUAGE sql STABLE AS $$ SELECT * FROM params $$",),
     "DELETE FROM t WHERE id IN (SELECT (r).val FROM p_rows() r)", "temporary type"),
    (("CREATE FUNCTION p_tab() RETURNS TABLE (k text, val int) LANGUAGE sql STABLE AS $$ SELECT * FROM params $$",),
     "DELETE FROM t WHERE id IN (SELECT val FROM p_tab())", "type record"),
    ((), "UPDATE t SET v = 'x' FROM ROWS FROM (p('min'), p('max')) AS q(a, b) WHERE t.id = q.a", "ROWS FROM"),
)


@pytest.mark.parametrize("setup,statement,why", _REFUSED, ids=[str(i) for i in range(len(_REFUSED))])
def test_refused_with_0a000_naming_the_routine(gridpg_cluster: Cluster, schema: str,
                                               setup: str | tuple[str, ...], statement: str, why: str) -> None:
    with _session(gridpg_cluster.dsn(0), schema) as conn:
        for sql in [setup] if isinstance(setup, str) else setup:
            conn.execute(sql)
        before = conn.execute("SELECT count(*), string_agg(v, ',' ORDER BY id) FROM t").fetchone()
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(statement)
        assert caught.value.sqlstate == "0A000", caught.value
        assert why in str(caught.value)
        assert re.search(r"cannot run function \S+\.p", str(caught.value)), caught.value
        assert conn.execute("SELECT count(*), string_agg(v, ',' ORDER BY id) FROM t").fetchone() == before
        with pytest.raises(psycopg.Error) as in_block, conn.transaction():  # the block fails, as for any error
            conn.execute("UPDATE t SET v = 'in block' WHERE id = 1")
            conn.execute(statement)
        assert in_block.value.sqlstate == "0A000"
        assert conn.execute("SELECT v FROM t WHERE id = 1").fetchone() == ("v1",)


def test_routed_by_the_value_and_explained_as_run(gridpg_cluster: Cluster, schema: str) -> None:
    with _session(gridpg_cluster.dsn(0), schema) as conn:
        plan = [r[0] for r in conn.execute("EXPLAIN (COSTS OFF) UPDATE t SET v = 'x' WHERE id = p('min')")]
        assert plan[0] == "Distributed plan: router", plan
        assert "CAST('10' AS integer)" in "\n".join(plan)
        plan = [r[0] for r in conn.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) DELETE FROM t WHERE id = p('max') RETURNING id")]
        assert plan[0] == "Distributed plan: router", plan
        assert conn.execute("SELECT count(*) FROM t WHERE id = 20").fetchone() == (0,)
        assert conn.execute("SELECT v FROM t WHERE id = 10").fetchone() == ("v10",)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("EXPLAIN DELETE FROM t WHERE id = p(v)")
        assert caught.value.sqlstate == "0A000"


def test_explain_of_a_select_calling_temp_code_shows_where_it_runs(gridpg_cluster: Cluster, schema: str) -> None:
    """The SELECT runs on the session's catalog connection over gathered tables
    (executor/temp_query.run); its EXPLAIN was sent to the datanodes, where the code found
    no temp table (42P01). Now it shows that plan; EXPLAIN ANALYZE is refused (0A000)."""
    with _session(gridpg_cluster.dsn(0), schema) as conn:
        sql = "SELECT count(*) FROM t WHERE id BETWEEN p('min') AND p('max')"
        assert conn.execute(sql).fetchone() == (11,)
        plan = [r[0] for r in conn.execute(f"EXPLAIN (COSTS OFF) {sql}")]
        assert plan[0].startswith("Distributed plan: coordinator finish on the session's catalog connection"), plan
        assert any("Gather: " in line and line.endswith(".t") for line in plan), plan
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(f"EXPLAIN ANALYZE {sql}")
        assert caught.value.sqlstate == "0A000"
        # a statement calling no such code is explained on the nodes as before
        plan = [r[0] for r in conn.execute("EXPLAIN (COSTS OFF) SELECT count(*) FROM t WHERE id < 5")]
        assert not plan[0].startswith("Distributed plan: coordinator finish on the session's"), plan
