"""Exchanges and subplans on a live cluster: plan, answers, and cleanup on error and cancel.

A join of a HASH table (`big`, the anchor) with a ROUNDROBIN table (`small`) on columns
that are not colocated is run by broadcasting what the statement needs of `small` into an
unlogged scratch table in `gridpg_shards` on every node of `big`, inside the statement's
transaction. Whatever happens to the statement (an error in the middle of the copy, a
cancel), no scratch table, no prepared transaction and no open transaction stays on any
datanode, and the session carries on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

psycopg = pytest.importorskip("psycopg")

BIG = 60000
SMALL = 30000
BAD = 5  # rows of `small` whose v makes 1 / (v - 5) fail


@pytest.fixture(scope="module")
def exchange_schema(gridpg_cluster) -> Iterator[str]:  # type: ignore[no-untyped-def]
    dsn = gridpg_cluster.dsn(0)
    name = "t_exchange"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
        conn.execute(f"SET search_path = {name}")
        conn.execute("CREATE TABLE big (id int, k int, pad text) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE small (sid int, k int, v int, note text) DISTRIBUTE BY ROUNDROBIN")
        with conn.cursor() as cur, cur.copy("COPY big FROM STDIN") as copy:
            copy.write("".join(f"{i}\t{i % 1000}\t{'p' * 40}\n" for i in range(BIG)))
        with conn.cursor() as cur, cur.copy("COPY small FROM STDIN") as copy:
            rows = [f"{i}\t{i % 1000}\t{i % 97 if i % 97 != 5 else 6}\t{'n' * 60}\n" for i in range(SMALL)]
            rows += [f"{SMALL + i}\t{i}\t5\tbad\n" for i in range(BAD)]  # last: fail late in the copy
            copy.write("".join(rows))
        conn.execute("ANALYZE big")
        conn.execute("ANALYZE small")
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def connect(cluster, schema: str):  # type: ignore[no-untyped-def]
    conn = psycopg.connect(cluster.dsn(0), autocommit=True)
    conn.execute(f"SET search_path = {schema}")
    return conn


JOIN = "SELECT count(*), sum(b.id) FROM big b JOIN small s ON s.k = b.k WHERE s.v < 3 AND s.note LIKE 'n%'"
FAILING = "SELECT count(*) FROM big b JOIN small s ON s.k = b.k WHERE 1 / (s.v - 5) > -1000"


def test_explain_shows_the_broadcast(gridpg_cluster, exchange_schema) -> None:  # type: ignore[no-untyped-def]
    with connect(gridpg_cluster, exchange_schema) as conn:
        lines = [r[0] for r in conn.execute("EXPLAIN " + JOIN).fetchall()]
    text = "\n".join(lines)
    assert lines[0].startswith("Distributed plan: exchange (broadcast"), text
    assert "Broadcast t_exchange.small (sid, k, v, note)" not in text  # projected
    # v and note only filter: the copy applies that filter, the statement reads true for it
    assert "Broadcast t_exchange.small (k) WHERE (v < 3) AND (note LIKE 'n%')" in text


def test_broadcast_answers_like_the_coordinator_finish(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    expected = sum(1 for i in range(SMALL) if (i % 97 if i % 97 != 5 else 6) < 3)
    with connect(gridpg_cluster, exchange_schema) as conn:
        count, total = conn.execute(JOIN).fetchone()
        # every small row with v < 3 has k = sid % 1000; big has 60 rows per k
        assert count == expected * (BIG // 1000)
        assert total is not None
        conn.execute("BEGIN")
        conn.execute("INSERT INTO small VALUES (999999, 1, 0, 'nfresh')")  # read its own writes
        again, _ = conn.execute(JOIN).fetchone()
        assert again == count + BIG // 1000
        conn.execute("ROLLBACK")
        conn.execute("SET default_transaction_read_only = on")  # no scratch tables then
        lines = [r[0] for r in conn.execute("EXPLAIN VERBOSE " + JOIN).fetchall()]
        assert lines[0] == "Distributed plan: coordinator-finish", lines
        assert any("cannot create scratch tables" in x for x in lines), lines
    assert_clean(datanodes)


def test_error_in_the_middle_of_the_exchange_leaves_nothing(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    with connect(gridpg_cluster, exchange_schema) as conn:
        lines = [r[0] for r in conn.execute("EXPLAIN " + FAILING).fetchall()]
        assert lines[0].startswith("Distributed plan: exchange (broadcast"), lines
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(FAILING)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM big")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(FAILING)
        conn.execute("ROLLBACK")
    assert_clean(datanodes)


def test_cancel_in_the_middle_of_the_exchange_leaves_nothing(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    query = "SELECT count(*) FROM big b JOIN small s ON s.k = b.k WHERE s.v <> 5"
    cancelled = 0
    for delay in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8):
        with connect(gridpg_cluster, exchange_schema) as conn:
            timer = threading.Timer(delay, conn.cancel)
            timer.start()
            try:
                conn.execute(query).fetchone()
            except psycopg.errors.QueryCanceled:
                cancelled += 1
            finally:
                timer.cancel()
            assert conn.execute("SELECT count(*) FROM small WHERE v = 5").fetchone() == (BAD,)
        assert_clean(datanodes)
    assert cancelled, "no cancel reached the statement: the test did not test anything"


def assert_clean(datanodes: dict[str, str]) -> None:
    """No scratch table, prepared or open transaction on any datanode (bounded wait: the
    coordinator's rollback may land just after the client saw the error)."""
    deadline = time.monotonic() + 10
    while True:
        leftovers = {name: _leftovers(dsn) for name, dsn in datanodes.items()}
        if not any(leftovers.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not any(leftovers.values()), leftovers


def _leftovers(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        scratch = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'gridpg_shards' AND c.relname LIKE 'gp\\_%'").fetchall()
        prepared = conn.execute("SELECT gid FROM pg_prepared_xacts").fetchall()
        open_txn = conn.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' "
            "AND pid <> pg_backend_pid()").fetchall()
    return [f"scratch {r[0]}" for r in scratch] + [f"prepared {r[0]}" for r in prepared] + \
        [f"open transaction pid {r[0]}" for r in open_txn]


def test_remainder_sql_is_postgresql_partition_hash(datanodes) -> None:  # type: ignore[no-untyped-def]
    """The repartition split computes the remainder satisfies_hash_partition checks."""
    from gridpg.planner.broadcast import remainder_sql

    cases = [("int4", 23, "generate_series(-3000, 3000)"), ("int8", 20, "generate_series(-3000, 3000) * 7919"),
             ("int2", 21, "generate_series(-3000, 3000)"), ("text", 25, "'k' || generate_series(1, 3000)"),
             # (the types added on 2026-12-06 night: MERGE's staging and the exchanges take them)
             ("varchar(12)", 1043, "'v' || generate_series(1, 3000)"),
             ("char(6)", 1042, "'c' || generate_series(1, 3000)"),
             ("name", 19, "'n' || generate_series(1, 3000)"), ("bool", 16, "generate_series(0, 1) = 1"),
             ("oid", 26, "generate_series(0, 3000)::int8 * 1299709"),
             ("numeric(12, 3)", 1700, "generate_series(-3000, 3000) / 7.0"),
             ("date", 1082, "date '1990-01-01' + generate_series(-3000, 3000) * 11"),
             ("time", 1083, "time '00:00' + generate_series(0, 3000) * interval '28.7 s'"),
             ("timestamp", 1114, "timestamp '2000-01-01' + generate_series(-3000, 3000) * interval '1 h 1.5 s'"),
             ("timestamptz", 1184, "timestamptz '2000-01-01 00:00+00' + generate_series(-3000, 3000) * interval '17 h'"),
             ("interval", 1186, "generate_series(-3000, 3000) * interval '1 mon 1 day 1 s'"),
             ("uuid", 2950, "md5(generate_series(1, 3000)::text)::uuid")]
    with psycopg.connect(next(iter(datanodes.values())), autocommit=True) as conn:
        for number, (type_name, oid, values) in enumerate(cases):
            conn.execute(f"DROP TABLE IF EXISTS hash_probe_{number}")
            conn.execute(f"CREATE TABLE hash_probe_{number} (v {type_name}) PARTITION BY HASH (v)")
            for modulus in (1, 2, 7, 32, 64, 1000):
                wrong = conn.execute(
                    f"SELECT count(*) FROM (SELECT ({values})::{type_name} AS v UNION ALL SELECT NULL) s "
                    f"WHERE NOT satisfies_hash_partition('hash_probe_{number}'::regclass, {modulus}, "
                    f"({remainder_sql('v', oid, modulus)})::int, v)").fetchone()[0]
                assert wrong == 0, (type_name, modulus)
            conn.execute(f"DROP TABLE hash_probe_{number}")


def test_repartition_join(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """`small` (ROUNDROBIN) equated to big's distribution column moves by hash, once."""
    query = "SELECT count(*), sum(s.v) FROM big b JOIN small s ON s.k = b.id WHERE s.v < 50"
    with connect(gridpg_cluster, exchange_schema) as conn:
        lines = [r[0] for r in conn.execute("EXPLAIN " + query).fetchall()]
        assert any(x.startswith("  Repartition t_exchange.small (k, v) WHERE (v < 50) by hash(k) like big")
                   for x in lines), lines
        got = conn.execute(query).fetchone()
    expected_rows = [(i % 1000, i % 97 if i % 97 != 5 else 6) for i in range(SMALL)]
    expected_rows += [(i, 5) for i in range(BAD)]
    matching = [(k, v) for k, v in expected_rows if v < 50]
    assert got == (len(matching), sum(v for _, v in matching))
    failing = "SELECT count(*) FROM big b JOIN small s ON s.k = b.id WHERE 1 / (s.v - 5) > -1000"
    with connect(gridpg_cluster, exchange_schema) as conn:
        lines = [r[0] for r in conn.execute("EXPLAIN " + failing).fetchall()]
        assert lines[0].startswith("Distributed plan: exchange (repartition)"), lines
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(failing)
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert_clean(datanodes)


CTE = ("WITH per_k AS (SELECT k, count(*) AS n, max(v) AS top FROM small WHERE note LIKE 'n%' GROUP BY k) "
       "SELECT count(*), sum(p.n) FROM big b JOIN per_k p ON p.k = b.k WHERE p.top > (SELECT avg(v) FROM small)")


def test_cte_and_scalar_subplans_run_first(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """A CTE over a distributed table becomes a scratch table on every node, a scalar
    subquery its value; both in the statement's transaction, gone after it."""
    rows = [(i % 1000, i % 97 if i % 97 != 5 else 6) for i in range(SMALL)]
    per_k: dict[int, tuple[int, int]] = {}
    for k, v in rows:
        n, top = per_k.get(k, (0, -1))
        per_k[k] = (n + 1, max(top, v))
    average = (sum(v for _, v in rows) + 5 * BAD) / (SMALL + BAD)
    chosen = [n for n, top in per_k.values() if top > average]
    with connect(gridpg_cluster, exchange_schema) as conn:
        lines = [r[0] for r in conn.execute("EXPLAIN " + CTE).fetchall()]
        assert lines[0].startswith("Distributed plan: subplans, then "), lines
        assert any(x.startswith("  Subplan 1 (CTE per_k, run first") for x in lines), lines
        assert any(x.startswith("  Subplan 2 (scalar subquery, run first") for x in lines), lines
        assert conn.execute(CTE).fetchone() == (len(chosen) * (BIG // 1000), sum(chosen) * (BIG // 1000))
        conn.execute("BEGIN")
        conn.execute("INSERT INTO small VALUES (999998, 3, 96, 'nnew')")  # its own uncommitted write
        count, _ = conn.execute(CTE).fetchone()
        conn.execute("ROLLBACK")
        assert count >= len(chosen) * (BIG // 1000)
    assert_clean(datanodes)


def test_error_or_cancel_after_a_subplan_leaves_nothing(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """The CTE's scratch table exists on every node when the rest of the statement fails
    or is cancelled: it goes with the transaction, in autocommit and in a client's block."""
    failing = ("WITH per_k AS (SELECT k, min(v) AS low FROM small GROUP BY k) "
               "SELECT count(*) FROM big b JOIN per_k p ON p.k = b.k WHERE 1 / (p.low * 0) > -1000 "
               "AND b.id > (SELECT min(sid) - 1 FROM small)")
    too_many = "SELECT count(*) FROM big WHERE k = (SELECT k FROM small WHERE v < 3)"
    with connect(gridpg_cluster, exchange_schema) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(failing)
        with pytest.raises(psycopg.errors.CardinalityViolation):
            conn.execute(too_many)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.execute("BEGIN")
        conn.execute("UPDATE small SET note = 'nx' WHERE sid = 1")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(failing)
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT note FROM small WHERE sid = 1").fetchone() == ("n" * 60,)
    assert_clean(datanodes)
    slow = ("WITH per_k AS (SELECT k, count(*) AS n FROM small GROUP BY k) "
            "SELECT count(*) FROM big b JOIN per_k p ON p.k = b.k JOIN small s ON s.k = b.k WHERE s.v <> 5")
    cancelled = 0
    for delay in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8):
        with connect(gridpg_cluster, exchange_schema) as conn:
            timer = threading.Timer(delay, conn.cancel)
            timer.start()
            try:
                conn.execute(slow).fetchone()
            except psycopg.errors.QueryCanceled:
                cancelled += 1
            finally:
                timer.cancel()
            assert conn.execute("SELECT count(*) FROM small WHERE v = 5").fetchone() == (BAD,)
        assert_clean(datanodes)
    assert cancelled, "no cancel reached the statement: the test did not test anything"


OR_JOIN = ("SELECT count(*) FROM big b, small s WHERE (s.k = b.id AND s.v = 1 AND b.pad LIKE 'p%') "
           "OR (s.k = b.id AND s.v = 2 AND b.id < 500)")


def test_or_of_ands_moves_only_the_rows_some_disjunct_accepts(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """TPC-H Q19's shape: each disjunct's own conjuncts of `small`, OR-ed, filter the move;
    the statement still applies the whole OR (rows and NULLs as PostgreSQL decides)."""
    rows = [(i % 1000, i % 97 if i % 97 != 5 else 6) for i in range(SMALL)] + [(i, 5) for i in range(BAD)]
    expected = sum(1 for k, v in rows if (v == 1) or (v == 2 and k < 500))
    with connect(gridpg_cluster, exchange_schema) as conn:
        text = "\n".join(r[0] for r in conn.execute("EXPLAIN " + OR_JOIN).fetchall())
        assert "t_exchange.small (k, v) WHERE (((v = 1)) OR ((v = 2)))" in text, text
        assert conn.execute(OR_JOIN).fetchone() == (expected,)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO small VALUES (999998, 7, 2, NULL), (999999, 8, NULL, NULL)")
        assert conn.execute(OR_JOIN).fetchone() == (expected + 1,)
        conn.execute("ROLLBACK")
    assert_clean(datanodes)


IN_SUB = "SELECT count(*) FROM big b JOIN small s ON s.k = b.k WHERE b.id IN (SELECT sid FROM small WHERE v = 3 AND coalesce(sid, 0) < 2000)"


def test_small_in_subquery_runs_first(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """An uncorrelated IN subquery the nodes estimate small runs as its own plan, its rows
    shipped to every node; NOT IN over a result holding NULL still gives no rows."""
    ids = [i for i in range(2000) if (i % 97 if i % 97 != 5 else 6) == 3]
    per_k = SMALL // 1000  # small rows per k (the BAD rows have k < 5, none of these ids' k)
    with connect(gridpg_cluster, exchange_schema) as conn:
        text = "\n".join(r[0] for r in conn.execute("EXPLAIN " + IN_SUB).fetchall())
        assert text.startswith("Distributed plan: subplans, then exchange"), text
        assert "Subplan 1 (IN subquery" in text, text
        expected = sum(per_k + (1 if i % 1000 < BAD else 0) for i in ids)
        assert conn.execute(IN_SUB).fetchone() == (expected,)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO small VALUES (NULL, 1, 3, 'n')")
        not_in = IN_SUB.replace("b.id IN", "b.id NOT IN")
        assert conn.execute(not_in).fetchone() == (0,)
        conn.execute("ROLLBACK")
        assert conn.execute(not_in).fetchone()[0] > 0
    assert_clean(datanodes)


def test_semi_join_reduction_sends_only_keys_the_anchor_has(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """`small` repartitioned by k for big's filtered rows: only rows whose k a filtered big
    row has move. The keys go from big's nodes straight into a key table on each of
    small's nodes (never through the coordinator), read inside the transaction: its own
    uncommitted deletes are seen."""
    query = "SELECT count(*) FROM big b WHERE b.id < 300 AND NOT EXISTS (SELECT 1 FROM small s WHERE s.k = b.id AND s.v = 4)"
    with connect(gridpg_cluster, exchange_schema) as conn:
        text = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query).fetchall())
        assert "whose k big has WHERE (id < 300)" in text, text
        with_v4 = {i % 1000 for i in range(SMALL) if (i % 97 if i % 97 != 5 else 6) == 4}
        assert conn.execute(query).fetchone() == (sum(1 for i in range(300) if i not in with_v4),)
        analyzed = "\n".join(r[0] for r in conn.execute("EXPLAIN ANALYZE " + query).fetchall())
        assert "Stage: keys of big for small (rows into gridpg_shards.gp_bk_" in analyzed, analyzed
        assert "-> dn1, dn2:" in analyzed.split("keys of big for small", 1)[1].splitlines()[0], analyzed
        conn.execute("BEGIN")
        conn.execute("DELETE FROM small WHERE v = 4 AND k < 100")
        gone = {k for k in with_v4 if k < 100}
        assert conn.execute(query).fetchone() == (sum(1 for i in range(300) if i not in with_v4 or i in gone),)
        conn.execute("ROLLBACK")
    assert_clean(datanodes)


def test_error_after_the_key_round_leaves_no_key_table(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """A reduced move that fails on its sources after the keys were pumped into their key
    tables: the key tables and the move's scratch tables go with the transaction (in
    autocommit and in a client's block), and the session carries on."""
    query = ("SELECT count(*) FROM big b WHERE b.id < 300 AND NOT EXISTS "
             "(SELECT 1 FROM small s WHERE s.k = b.id AND 1 / (s.v - 5) > -1000)")
    with connect(gridpg_cluster, exchange_schema) as conn:
        text = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query).fetchall())
        assert "whose k big has WHERE (id < 300)" in text, text
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(query)
        assert conn.execute("SELECT count(*) FROM big WHERE id < 3").fetchone() == (3,)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO big VALUES (-1, 1, 'x')")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(query)
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM big WHERE id = -1").fetchone() == (0,)
    assert_clean(datanodes)


def test_selective_repartition_splits_as_rows_load(gridpg_cluster, exchange_schema, datanodes) -> None:  # type: ignore[no-untyped-def]
    """A repartitioned move cut hard by its filter: each source reads once, sends to every
    node, and each node keeps its own partitions as the rows load (COPY ... WHERE); every
    row still lands on exactly one node (the counts match, in and out of a transaction)."""
    query = "SELECT count(*), sum(s.v), count(DISTINCT s.sid) FROM big b JOIN small s ON s.k = b.id WHERE s.v = 7"
    rows = [(i, i % 1000) for i in range(SMALL) if (i % 97 if i % 97 != 5 else 6) == 7]
    with connect(gridpg_cluster, exchange_schema) as conn:
        text = "\n".join(r[0] for r in conn.execute("EXPLAIN ANALYZE " + query).fetchall())
        assert "Repartition t_exchange.small (sid, k, v) WHERE (v = 7) by hash(k)" in text, text
        assert "-> dn1, dn2:" in text, text  # one read per source, for both nodes
        assert conn.execute(query).fetchone() == (len(rows), 7 * len(rows), len(rows))
        conn.execute("BEGIN")
        conn.execute("INSERT INTO small VALUES (777777, 3, 7, 'x'), (777778, NULL, 7, 'x')")
        assert conn.execute(query).fetchone() == (len(rows) + 1, 7 * (len(rows) + 1), len(rows) + 1)
        conn.execute("ROLLBACK")
    assert_clean(datanodes)
