"""Statements bench/regress_replay.py found answered wrongly without an error, which gridpg
now refuses with a SQLSTATE (the ones it now answers right are in the oracle corpus file
tests/oracle/corpus/90_regress_replay.sql)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.mark.parametrize(("dml", "printed", "left"), [
    ("UPDATE copydml SET t = 'g' WHERE t = 'f' RETURNING id", ["2"], [(1, "a"), (2, "g")]),
    ("INSERT INTO copydml VALUES (3, 'x') RETURNING id", ["3"], [(1, "a"), (2, "f"), (3, "x")]),
    ("DELETE FROM copydml WHERE id = 1 RETURNING id", ["1"], [(2, "f")]),
    ("/* annotated */ delete from copydml where id in (select id from copydml) returning *",
     ["1\ta", "2\tf"], []),
])
def test_copy_of_a_write_with_returning_writes_the_cluster(
        gridpg_cluster: Cluster, schema: str, dml: str, printed: list[str], left: list[tuple[int, str]]) -> None:
    """It changed the catalog server's gathered copy of the table and printed its rows;
    then it was refused (0A000); now the write reaches the cluster and the COPY prints its
    RETURNING rows (executor/dml._copy_returning_out)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE copydml (id int, t text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO copydml VALUES (1, 'a'), (2, 'f')")
        with conn.cursor() as cur, cur.copy(f"COPY ({dml}) TO STDOUT") as copy:
            out = b"".join(bytes(c) for c in copy).decode()
        assert sorted(out.splitlines()) == printed
        assert conn.execute("SELECT id, t FROM copydml ORDER BY id").fetchall() == left
        # a query still works
        with conn.cursor() as cur, cur.copy("COPY (SELECT id FROM copydml ORDER BY id) TO STDOUT") as copy:
            assert b"".join(bytes(c) for c in copy) == "".join(f"{i}\n" for i, _ in left).encode()


def test_copy_of_a_query_over_a_view_of_a_distributed_table(gridpg_cluster: Cluster, schema: str) -> None:
    """The view was not inlined: it read the catalog server's empty copy of the table."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE test1 (id int, t text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO test1 VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        conn.execute("CREATE VIEW v_test1 AS SELECT 'v_' || t AS t FROM test1")
        sql = "COPY (SELECT t FROM test1 WHERE id = 1 UNION SELECT * FROM v_test1 ORDER BY 1) TO STDOUT"
        with conn.cursor() as cur, cur.copy(sql) as copy:
            assert b"".join(bytes(c) for c in copy) == b"a\nv_a\nv_b\nv_c\n"


def test_importing_a_snapshot_is_refused(gridpg_cluster: Cluster) -> None:
    """SET TRANSACTION SNAPSHOT succeeded and imported nothing (transactions.sql). An
    identifier gridpg did not export (one server's) is refused as PostgreSQL refuses a
    snapshot it cannot find (42704); gridpg's own are imported on every node
    (test_exported_snapshots.py)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.UndefinedObject):
            conn.execute("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("statement", [
    "/* app */ WITH m AS (UPDATE wcte SET v = 0 RETURNING *) UPDATE wcte SET v = 1",
    # (a SELECT entry reading the table alone is read first: test_..._select_entry_read_first)
    "WITH d AS (DELETE FROM wcte WHERE id > 5 RETURNING *), x AS (SELECT max(wcte.v) FROM wcte, d) SELECT * FROM x",
    "WITH a AS (DELETE FROM wcte WHERE id = 1 RETURNING *), b AS (DELETE FROM wcte WHERE id = 2 RETURNING *) SELECT 1",
    "WITH RECURSIVE d AS (DELETE FROM wcte RETURNING *) SELECT count(*) FROM d",
    "EXPLAIN ANALYZE WITH d AS (DELETE FROM wcte RETURNING *) SELECT count(*) FROM d",
    "COPY (WITH d AS (DELETE FROM wcte RETURNING *) SELECT * FROM d) TO STDOUT",
    "SELECT * FROM (WITH d AS (DELETE FROM wcte RETURNING *) SELECT * FROM d) s",
])
def test_data_modifying_with_is_refused_and_changes_nothing(
        gridpg_cluster: Cluster, schema: str, statement: str) -> None:
    """Planned as one query, the writes of a data-modifying WITH reached the gathered
    copies only: the INSERT's row was returned and never stored, the DELETE deleted nothing.
    It now runs as steps (tests/oracle/corpus/71_modifying_cte.sql) where that gives
    PostgreSQL's answer, and these, where it would not (one part reading or writing what
    another writes: PostgreSQL gives all parts one snapshot), are refused."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE wcte (id int PRIMARY KEY, v int)")
        conn.execute("CREATE TABLE wcte_log (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO wcte SELECT g, g FROM generate_series(1, 10) g")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(statement)
        assert conn.execute("SELECT count(*), sum(id), sum(v) FROM wcte").fetchone() == (10, 55, 55)
        assert conn.execute("SELECT count(*) FROM wcte_log").fetchone() == (0,)
        # over a temp table alone it is PostgreSQL's own business
        conn.execute("CREATE TEMP TABLE wtemp (a int)")
        assert conn.execute("WITH i AS (INSERT INTO wtemp VALUES (1) RETURNING a) SELECT * FROM i").fetchall() == [(1,)]


def test_data_modifying_with_whose_main_select_reads_the_table(gridpg_cluster: Cluster, schema: str) -> None:
    """The main SELECT reading the table a WITH entry deletes from was refused; it reads the
    rows as they were before any part wrote, PostgreSQL's one snapshot (h-refuse25)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE wcte (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO wcte SELECT g, g FROM generate_series(1, 10) g")
        rows = conn.execute("/* app */ WITH d AS (DELETE FROM wcte WHERE id > 7 RETURNING *) "
                            "SELECT count(*) FROM wcte").fetchall()
        assert rows == [(10,)]
        assert conn.execute("SELECT count(*), sum(id) FROM wcte").fetchone() == (7, 28)


def test_data_modifying_with_select_entry_read_first(gridpg_cluster: Cluster, schema: str) -> None:
    """A SELECT entry reading a table another part deletes from was refused; it is read
    before any part writes, as PostgreSQL's one snapshot shows it (h-citus12)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE wfrozen (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO wfrozen SELECT g, g FROM generate_series(1, 10) g")
        rows = conn.execute("WITH x AS (SELECT max(v) AS m, count(*) AS n FROM wfrozen), "
                            "d AS (DELETE FROM wfrozen WHERE id > 3 RETURNING *) "
                            "SELECT d.id, x.m, x.n FROM d, x ORDER BY d.id").fetchall()
        assert rows == [(i, 10, 10) for i in range(4, 11)]
        assert conn.execute("SELECT count(*) FROM wfrozen").fetchone() == (3,)


def test_prepared_data_modifying_with_runs_in_steps_at_each_execute(gridpg_cluster: Cluster, schema: str) -> None:
    """A PREPAREd data-modifying WITH was refused (and every EXECUTE then failed 26000);
    PREPARE changes nothing, each EXECUTE runs it in steps as the statement itself."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE wprep (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO wprep SELECT g, g FROM generate_series(1, 10) g")
        conn.execute("PREPARE wp AS WITH d AS (DELETE FROM wprep WHERE id > 7 RETURNING *) SELECT count(*) FROM d")
        assert conn.execute("SELECT count(*) FROM wprep").fetchone() == (10,)
        assert conn.execute("EXECUTE wp").fetchone() == (3,)
        assert conn.execute("EXECUTE wp").fetchone() == (0,)
        assert conn.execute("SELECT count(*), sum(id) FROM wprep").fetchone() == (7, 28)


def test_data_modifying_with_over_an_enum_column(gridpg_cluster: Cluster, schema: str) -> None:
    """The RETURNING rows of a data-modifying WITH entry are typed as the catalog server
    names the types (a datanode's OIDs for the user's own types differ)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TYPE wmood AS ENUM ('sad', 'ok', 'happy')")
        conn.execute("CREATE TABLE wenum (id int PRIMARY KEY, m wmood)")
        conn.execute("CREATE TABLE wenum_log (id int PRIMARY KEY, m wmood)")
        conn.execute("INSERT INTO wenum SELECT g, 'ok' FROM generate_series(1, 6) g")
        rows = conn.execute("WITH d AS (DELETE FROM wenum WHERE id > 3 RETURNING *) "
                            "INSERT INTO wenum_log SELECT id, 'happy'::wmood FROM d RETURNING id, m").fetchall()
        assert sorted(rows) == [(4, "happy"), (5, "happy"), (6, "happy")]
        assert conn.execute("SELECT count(*) FROM wenum").fetchone() == (3,)
        assert conn.execute("WITH u AS (UPDATE wenum SET m = 'sad' WHERE id = 1 RETURNING m) "
                            "SELECT m, m > 'ok'::wmood FROM u").fetchall() == [("sad", False)]


def test_materialized_view_over_a_distributed_table_holds_the_clusters_rows(gridpg_cluster: Cluster,
                                                                            schema: str) -> None:
    """It was created on one catalog server from its empty copy of the table (0 rows), then
    refused (0A000); now its rows come from the cluster (executor/matview.py)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE mvsrc (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO mvsrc VALUES (1, 1), (2, 2)")
        conn.execute("CREATE VIEW mvsrc_v AS SELECT id FROM mvsrc")
        conn.execute("CREATE MATERIALIZED VIEW mv1 AS SELECT * FROM mvsrc")
        conn.execute("CREATE MATERIALIZED VIEW mv2 AS SELECT count(*) FROM mvsrc_v")
        conn.execute("CREATE MATERIALIZED VIEW mv3 AS SELECT 1 AS one FROM mvsrc WITH NO DATA")
        assert conn.execute("SELECT * FROM mv1 ORDER BY id").fetchall() == [(1, 1), (2, 2)]
        assert conn.execute("SELECT * FROM mv2").fetchall() == [(2,)]
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT * FROM mv3")
        conn.execute("REFRESH MATERIALIZED VIEW mv3")
        assert conn.execute("SELECT count(*) FROM mv3").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM pg_matviews WHERE schemaname = %s", (schema,)).fetchone() == (3,)


def test_data_modifying_with_bound_parameters(gridpg_cluster: Cluster, schema: str) -> None:
    """Through the extended protocol: each part gets the client's parameters; those a part
    does not use are declared text (else PostgreSQL cannot type them)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE wp1 (id int PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE wp2 (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO wp1 SELECT g, 'v' || g FROM generate_series(1, 10) g")
        moved = conn.execute("WITH d AS (DELETE FROM wp1 WHERE id > %s RETURNING *) "
                             "INSERT INTO wp2 SELECT * FROM d RETURNING id", (7,)).fetchall()
        assert sorted(moved) == [(8,), (9,), (10,)]
        row = conn.execute("WITH i AS (INSERT INTO wp1 VALUES (%s, %s) RETURNING *) SELECT *, %s::text FROM i",
                           (50, "x", "z"), prepare=True).fetchall()
        assert row == [(50, "x", "z")]
        assert conn.execute("SELECT count(*) FROM wp1").fetchone() == (8,)
        assert conn.execute("SELECT count(*) FROM wp2").fetchone() == (3,)


def test_read_only_transaction_of_a_driver(gridpg_cluster: Cluster, schema: str) -> None:
    """Aggregates and the coordinator finish keep rows in catalog temp tables, which a READ
    ONLY transaction refused (25006): every such query failed in read-only transactions."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE rot (id int PRIMARY KEY, g text)")
        conn.execute("INSERT INTO rot SELECT i, 'g' || (i % 3) FROM generate_series(1, 30) i")
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.read_only = True
        conn.execute(f"SET search_path TO {schema}")
        assert conn.execute("SELECT count(*) FROM rot").fetchone() == (30,)
        assert conn.execute("SELECT g, count(*) FROM rot GROUP BY g ORDER BY g").fetchall() == [
            ("g0", 10), ("g1", 10), ("g2", 10)]
        assert conn.execute("SELECT count(*) FROM rot a JOIN rot b ON a.g = b.g").fetchone() == (300,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM rot")
        conn.rollback()  # the SET search_path above went with it
        assert conn.execute(f"SELECT count(*) FROM {schema}.rot").fetchone() == (30,)


def test_copy_on_error_ignore_skips_rows_whose_distribution_value_does_not_convert(
        gridpg_cluster: Cluster, schema: str) -> None:
    """COPY ... (ON_ERROR ignore) failed with 22P02 when the bad value was the distribution
    column's (the coordinator could not route it); PostgreSQL skips the row."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE cpe (id int PRIMARY KEY, n int)")
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        with conn.cursor() as cur, cur.copy("COPY cpe FROM STDIN WITH (FORMAT csv, ON_ERROR ignore)") as copy:
            copy.write("1,1\nx,2\n3,three\n4,4\n")
        assert conn.execute("SELECT id, n FROM cpe ORDER BY id").fetchall() == [(1, 1), (4, 4)]
        # one notice with the cluster's count (the nodes' own are summed, as PostgreSQL words it)
        assert notices == ["2 rows were skipped due to data type incompatibility"]
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as failed, conn.cursor() as cur, \
                cur.copy("COPY cpe FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write("5,5\nx,6\n")
        # PostgreSQL's own words for the value (a node reads it), not gridpg's
        assert failed.value.diag.message_primary == 'invalid input syntax for type integer: "x"'
        assert conn.execute("SELECT count(*) FROM cpe").fetchone() == (2,)


def test_multi_row_insert_returning_keeps_the_clients_order(gridpg_cluster: Cluster, schema: str) -> None:
    """RETURNING rows came back grouped by node: an ORM that maps returned ids to its objects
    by position (Django's bulk_create) gave objects each other's ids."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE ro1 (id int PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE ro2 (id bigserial, k int NOT NULL, v text, PRIMARY KEY (id, k)) DISTRIBUTE BY HASH (k)")
        keys = [5, 1, 9, 2, 7, 3, 11, 4, 8, 6, 10, 12]
        values = ", ".join(f"({k}, 'v{k}')" for k in keys)
        assert [r[0] for r in conn.execute(f"INSERT INTO ro1 VALUES {values} RETURNING id")] == keys
        rows = conn.execute(f"INSERT INTO ro2 (k, v) VALUES {values} RETURNING k, v").fetchall()
        assert rows == [(k, f"v{k}") for k in keys]
        volatile = ", ".join(f"({k} + (random() * 0)::int, 'w{k}')" for k in keys)
        assert [r[0] for r in conn.execute(f"INSERT INTO ro2 (k, v) VALUES {volatile} RETURNING k")] == keys
        selected = conn.execute("INSERT INTO ro1 SELECT k + 100, v FROM ro2 WHERE v LIKE 'v%' "
                                "ORDER BY k DESC RETURNING id").fetchall()
        assert [r[0] for r in selected] == [k + 100 for k in sorted(keys, reverse=True)]
        ids = conn.execute("INSERT INTO ro2 (k) VALUES (3), (1), (2) RETURNING id").fetchall()
        assert [r[0] for r in ids] == sorted(r[0] for r in ids)  # serial values in row order


def test_only_over_a_distributed_table(gridpg_cluster: Cluster, schema: str) -> None:
    """`ONLY t` read the datanodes' partitioned parent, which holds no rows: SELECT saw
    nothing and UPDATE/DELETE changed nothing, silently."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE onl (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO onl SELECT g, g FROM generate_series(1, 10) g")
        assert conn.execute("SELECT count(*) FROM ONLY onl").fetchone() == (10,)
        assert conn.execute(f"SELECT count(*) FROM ONLY ({schema}.onl) x WHERE x.id > 5").fetchone() == (5,)
        assert conn.execute("UPDATE ONLY onl SET v = 0 WHERE id < 3").rowcount == 2
        assert conn.execute("DELETE FROM ONLY onl WHERE id = 10").rowcount == 1
        assert conn.execute("SELECT count(*), sum(v) FROM onl").fetchone() == (9, 42)
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT * FROM ONLY onl WHERE id = 3"))
        assert "ONLY" not in plan, plan
        conn.execute("CREATE TABLE onl_parent (id int, v int)")
        conn.execute("CREATE TABLE onl_child (extra int) INHERITS (onl_parent)")
        conn.execute("INSERT INTO onl_parent VALUES (1, 1)")
        conn.execute("INSERT INTO onl_child VALUES (2, 2, 2)")
        assert conn.execute("SELECT count(*) FROM ONLY onl_parent").fetchone() == (1,)  # children left out
        assert conn.execute("SELECT count(*) FROM onl_parent").fetchone() == (2,)


def test_sequence_functions_check_privileges(gridpg_cluster: Cluster, schema: str) -> None:
    """nextval() of a sequence the role has no USAGE on succeeded (the GTM knows no roles)."""
    role = f"seqnopriv_{schema}"[:60]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE sp_locked")
        conn.execute("CREATE SEQUENCE sp_open")
        conn.execute(f"CREATE ROLE {role}")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT USAGE ON SEQUENCE sp_open TO {role}")
        conn.execute(f"GRANT SELECT ON SEQUENCE sp_locked TO {role}")
        try:
            conn.execute(f"SET ROLE {role}")
            assert conn.execute("SELECT nextval('sp_open')").fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT nextval('sp_locked')")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT setval('sp_open', 10)")
            conn.execute("RESET ROLE")
            assert conn.execute("SELECT nextval('sp_locked')").fetchone() == (1,)  # not consumed before
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_rows_routed_by_a_date_whatever_the_datestyle(gridpg_cluster: Cluster, schema: str) -> None:
    """CREATE TABLE AS / INSERT ... SELECT / evaluated VALUES moved rows as COPY text in the
    session's DateStyle ('06-01-2024' under Postgres, MDY), which the router could not read
    (22P02); the moved values are now written in ISO, and land where lookups find them."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("SET DateStyle = 'Postgres, MDY'")
        conn.execute("CREATE TABLE ds_sales (id bigint PRIMARY KEY, sold_on date, amount numeric)")
        conn.execute("INSERT INTO ds_sales SELECT g, DATE '2024-01-01' + g % 40, g FROM generate_series(1, 200) g")
        conn.execute("CREATE TABLE ds_daily AS SELECT sold_on, count(*) n, sum(amount) total "
                     "FROM ds_sales GROUP BY sold_on")
        assert conn.execute("SELECT count(*), sum(n) FROM ds_daily").fetchone() == (40, 200)
        conn.execute("CREATE TABLE ds_bydate (d date PRIMARY KEY, v int) DISTRIBUTE BY HASH (d)")
        conn.execute("INSERT INTO ds_bydate SELECT sold_on, n FROM ds_daily")
        conn.execute("INSERT INTO ds_bydate VALUES (DATE '2030-01-01' + 1, 2)")
        conn.execute("SET DateStyle = 'SQL, DMY'")
        conn.execute("INSERT INTO ds_bydate SELECT d + 1000, v FROM ds_bydate WHERE v < 5")
        assert conn.execute("SELECT v FROM ds_bydate WHERE d = '02/01/2030'").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM ds_bydate").fetchone() == (42,)
        assert conn.execute("SELECT d::text FROM ds_bydate WHERE d = '06/01/2024'").fetchone() == ("06/01/2024",)


def test_aggregates_then_ddl_in_one_transaction(gridpg_cluster: Cluster, schema: str) -> None:
    """Scratch temp tables of an aggregate or a sorted merge on the transaction's catalog
    connection made the later PREPARE of a block that ran DDL fail ("cannot PREPARE a
    transaction that has operated on temporary objects"), rolling everything back; so did
    CREATE TABLE AS of a grouped query. They now live on a side connection."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE agg_src (g int, v int) DISTRIBUTE BY HASH (v)")
        conn.execute("INSERT INTO agg_src SELECT g % 7, g FROM generate_series(1, 100) g")
        with conn.transaction():  # aggregate, merge, then DDL: a migration's shape
            assert conn.execute("SELECT count(*) FROM (SELECT g, count(*) FROM agg_src GROUP BY g) s").fetchone() == (7,)
            assert conn.execute("SELECT v FROM agg_src ORDER BY v DESC LIMIT 1").fetchone() == (100,)
            conn.execute("ALTER TABLE agg_src ADD COLUMN w int DEFAULT 3")
            conn.execute("CREATE TABLE agg_made (a int)")
        assert conn.execute("SELECT sum(w) FROM agg_src").fetchone() == (300,)
        with conn.transaction():  # DDL first, then grouped CREATE TABLE AS and aggregates
            conn.execute("CREATE TABLE agg_new (g int, v int) DISTRIBUTE BY HASH (v)")
            conn.execute("INSERT INTO agg_new SELECT g, v FROM agg_src")
            conn.execute("CREATE TABLE agg_ctas AS SELECT v % 5 AS x, count(*) c, sum(g) s FROM agg_new GROUP BY 1")
            assert conn.execute("SELECT x, c FROM agg_ctas ORDER BY x LIMIT 1").fetchone() == (0, 20)
            assert conn.execute("SELECT g, count(*) FROM agg_new GROUP BY g ORDER BY 2 DESC, 1 LIMIT 1").fetchone() == (1, 15)
        assert conn.execute("SELECT sum(c), sum(s) FROM agg_ctas").fetchone() == (100, 297)
        conn.execute("CREATE TABLE agg_ctas2 AS SELECT v, g FROM agg_src WHERE v < 30 GROUP BY g, v")
        assert conn.execute("SELECT count(*) FROM agg_ctas2").fetchone() == (29,)


def test_floats_move_exactly_under_low_extra_float_digits(gridpg_cluster: Cluster, schema: str) -> None:
    """Partial rows and exchanged rows travel as COPY text: under extra_float_digits 0 (as
    aggregates.sql runs) 1/3 arrived as 0.333333333333333, so sums and joins on floats
    gave other answers than PostgreSQL's."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE fl_a (k int, f float8) DISTRIBUTE BY HASH (k)")
        conn.execute("CREATE TABLE fl_b (j int, f float8) DISTRIBUTE BY HASH (j)")
        conn.execute("INSERT INTO fl_a SELECT g, 1.0 / g FROM generate_series(1, 40) g")
        conn.execute("INSERT INTO fl_b SELECT g + 100, 1.0 / g FROM generate_series(1, 40) g")
        conn.execute("SET extra_float_digits = 0")
        for _ in range(2):  # autocommit, then inside a block
            assert conn.execute("SELECT bool_and(s = 1.0 / k) FROM (SELECT k, sum(f) s FROM fl_a GROUP BY k) x"
                                ).fetchone() == (True,)
            assert conn.execute("SELECT count(*) FROM fl_a a JOIN fl_b b ON a.f = b.f").fetchone() == (40,)
            assert conn.execute("SHOW extra_float_digits").fetchone() == ("0",)
            conn.execute("BEGIN")
        conn.execute("COMMIT")


def test_job_queue_row_locks_over_several_nodes(gridpg_cluster: Cluster, schema: str) -> None:
    """`SELECT ... ORDER BY ... LIMIT n FOR UPDATE SKIP LOCKED` (every job queue) failed
    over a distributed table; now each node locks its first rows and the merge returns the
    first n: two workers get different jobs, NOWAIT fails on a taken one (55P03)."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"SET search_path TO {schema}")
        setup.execute("CREATE TABLE jq (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'queued')")
        setup.execute("INSERT INTO jq (status) SELECT 'queued' FROM generate_series(1, 20)")
    take = "SELECT id FROM jq WHERE status = 'queued' ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED"
    with psycopg.connect(dsn) as one, psycopg.connect(dsn) as two:
        for conn in (one, two):
            conn.execute(f"SET search_path TO {schema}")
            conn.commit()
        first = [r[0] for r in one.execute(take).fetchall()]
        second = [r[0] for r in two.execute(take).fetchall()]
        assert first == [1, 2, 3] and len(second) == 3 and not set(first) & set(second)
        with pytest.raises(psycopg.errors.LockNotAvailable):
            two.execute("SELECT id FROM jq ORDER BY id LIMIT 1 FOR UPDATE NOWAIT")
        two.rollback()
        one.execute("UPDATE jq SET status = 'done' WHERE id = ANY(%s)", (first,))
        one.commit()
        assert [r[0] for r in two.execute(take).fetchall()] == [4, 5, 6]
        two.rollback()


def test_writes_through_views_over_distributed_tables(gridpg_cluster: Cluster, schema: str) -> None:
    """UPDATE/DELETE/INSERT through a view over a distributed table went to the catalog
    server's empty copy: UPDATE 0, DELETE 0, and an INSERT acknowledged and lost. UPDATE,
    DELETE and INSERT ... VALUES now run on the table's datanodes; what cannot is refused and
    changes nothing."""
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE vw_t (a int PRIMARY KEY, b int, c int)")
        conn.execute("INSERT INTO vw_t SELECT g, g % 5, g * 10 FROM generate_series(1, 20) g")
        conn.execute("CREATE VIEW vw_v AS SELECT a AS k, b, c FROM vw_t WHERE b > 1")
        assert conn.execute("UPDATE vw_v SET c = c + 1 WHERE k = 3 RETURNING k, c").fetchall() == [(3, 31)]
        assert conn.execute("DELETE FROM vw_v WHERE k IN (4, 5, 7)").rowcount == 2  # 5 is not in the view
        # INSERT ... VALUES is routed by the view column showing the distribution column
        # (tests/integration/test_view_insert.py)
        assert conn.execute("INSERT INTO vw_v VALUES (100, 3, 0) RETURNING k").fetchall() == [(100,)]
        assert conn.execute("SELECT b, c FROM vw_t WHERE a = 100").fetchall() == [(3, 0)]
        # MERGE is staged on the table's nodes (planner/core._merge_through_view)
        assert conn.execute("MERGE INTO vw_v USING (VALUES (3)) s(k) ON vw_v.k = s.k "
                            "WHEN MATCHED THEN UPDATE SET c = 9").rowcount == 1
        # INSERT ... SELECT runs its SELECT first, then the VALUES path (h-replay10)
        assert conn.execute("INSERT INTO vw_v SELECT 101, 3, 0 RETURNING k").fetchall() == [(101,)]
        assert conn.execute("SELECT b, c FROM vw_t WHERE a = 101").fetchall() == [(3, 0)]
        # a sub-select over distributed tables: they are broadcast to the view's nodes (lead17)
        assert conn.execute("UPDATE vw_v SET c = c + 0 WHERE k IN (SELECT a FROM vw_t WHERE a IN (3, 4, 5))"
                            ).rowcount == 1  # 4 was deleted, 5 is not in the view
        for refused in ("EXPLAIN ANALYZE INSERT INTO vw_v VALUES (300, 3, 3)",
                        "EXPLAIN ANALYZE UPDATE vw_v SET c = 7 WHERE k = 3"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(refused)
        conn.execute("CREATE FUNCTION vw_ins() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN INSERT INTO vw_t VALUES (NEW.k, NEW.b, NEW.c); RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER vw_io INSTEAD OF UPDATE ON vw_v FOR EACH ROW EXECUTE FUNCTION vw_ins()")
        # the INSTEAD OF UPDATE trigger runs as in PostgreSQL (executor/view_instead.py; it
        # was refused, 0A000): its INSERT of row 8 again fails 23505 (h-code20)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("UPDATE vw_v SET c = 1 WHERE k = 8")
        # (the routine guard counts the view's triggers for every event: still refused)
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # the view has a trigger now
            conn.execute("INSERT INTO vw_v VALUES (102, 3, 0)")
        assert conn.execute("SELECT count(*), sum(c) FROM vw_t").fetchone() == (20, 1969)


def test_lock_table_and_set_constraints_reach_the_datanodes(gridpg_cluster: Cluster, schema: str) -> None:
    """LOCK TABLE locked only the catalog server's empty copy: a concurrent UPDATE went
    through while the lock was held. SET CONSTRAINTS ALL IMMEDIATE did not check the
    datanodes' pending deferred violations."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"SET search_path TO {schema}")
        setup.execute("CREATE TABLE lk (id int PRIMARY KEY, v int)")
        setup.execute("INSERT INTO lk SELECT g, 0 FROM generate_series(1, 10) g")
        setup.execute("CREATE TABLE uq (i int, t text, UNIQUE (i) DEFERRABLE INITIALLY DEFERRED)")
        setup.execute("INSERT INTO uq VALUES (1, 'a'), (2, 'b')")
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction):
            setup.execute("LOCK TABLE lk")
    with psycopg.connect(dsn) as holder, psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        for conn in (holder, other):
            conn.execute(f"SET search_path TO {schema}")
        holder.commit()
        holder.execute("LOCK TABLE ONLY lk IN SHARE ROW EXCLUSIVE MODE")
        other.execute("SET lock_timeout = '1s'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("UPDATE lk SET v = 1 WHERE id = 3")
        holder.rollback()
        other.execute("UPDATE lk SET v = 1 WHERE id = 3")
        holder.execute("INSERT INTO uq VALUES (1, 'dup')")  # deferred: fine for now
        with pytest.raises(psycopg.errors.UniqueViolation):
            holder.execute("SET CONSTRAINTS ALL IMMEDIATE")
        holder.rollback()
        holder.execute("SET CONSTRAINTS ALL IMMEDIATE")
        with pytest.raises(psycopg.errors.UniqueViolation):
            holder.execute("INSERT INTO uq VALUES (2, 'dup')")
        holder.rollback()


def test_temp_views_rules_and_ctas_beside_temp_tables(gridpg_cluster: Cluster, schema: str) -> None:
    """CREATE TEMP VIEW was refused or failed at PREPARE (now also over distributed tables,
    whose reads inline it, writes through it refused); DROP RULE on a temp table went to
    every catalog server and failed there, leaving the rule in place (a later DELETE ran the
    rule's INSERT); CREATE TABLE AS failed at PREPARE whenever the session had a temp table."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TEMP VIEW tv_values (a, b) AS VALUES (1, 10), (2, 20)")
        assert conn.execute("SELECT sum(b) FROM tv_values").fetchone() == (30,)
        conn.execute("CREATE TEMP TABLE tt (a int)")
        conn.execute("INSERT INTO tt SELECT generate_series(1, 5)")
        conn.execute("CREATE TEMP VIEW tv_tt AS SELECT a * 2 AS d FROM tt")
        assert conn.execute("SELECT max(d) FROM tv_tt").fetchone() == (10,)
        conn.execute("CREATE RULE tt_rule AS ON DELETE TO tt DO INSTEAD INSERT INTO tt VALUES (42)")
        conn.execute("DROP RULE tt_rule ON tt")
        conn.execute("DELETE FROM tt WHERE a <= 2")
        assert conn.execute("SELECT count(*), max(a) FROM tt").fetchone() == (3, 5)
        conn.execute("DROP VIEW tv_tt, tv_values")
        conn.execute("CREATE TABLE dt (g int)")
        conn.execute("INSERT INTO dt SELECT generate_series(1, 100)")
        conn.execute("CREATE TEMP VIEW tv_dt AS SELECT * FROM dt")  # read through its definition
        assert conn.execute("SELECT count(*), sum(g) FROM tv_dt").fetchone() == (100, 5050)
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("DELETE FROM tv_dt")  # its rows are not on the catalog server
        conn.execute("CREATE FUNCTION count_tv_dt() RETURNS bigint LANGUAGE plpgsql "
                     "AS $$ BEGIN RETURN (SELECT count(*) FROM tv_dt); END $$")
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # it would read the empty copy
            conn.execute("SELECT count_tv_dt()")
        conn.execute("DROP VIEW tv_dt")
        conn.execute("CREATE TABLE ctas_g AS SELECT g % 7 AS k, count(*) AS n FROM dt GROUP BY 1")
        assert conn.execute("SELECT count(*), sum(n) FROM ctas_g").fetchone() == (7, 100)


def test_advisory_locks_are_cluster_wide_and_stay_with_the_session(gridpg_cluster: Cluster, schema: str) -> None:
    """pg_advisory_lock ran on each coordinator's catalog server in a pooled connection: a
    session on the other coordinator got the same lock, and the owner's unlock ran on another
    connection (false, and the lock stayed held by a pooled connection)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        one.execute(f"SET search_path TO {schema}")
        one.execute("CREATE TABLE adv (id int PRIMARY KEY)")
        assert one.execute("SELECT pg_try_advisory_lock(6479889574913458540)").fetchone() == (True,)
        for _ in range(5):  # other statements in between use other connections
            one.execute("SELECT count(*) FROM adv")
            two.execute("SELECT 1")
        assert two.execute("SELECT pg_try_advisory_lock(6479889574913458540)").fetchone() == (False,)
        assert one.execute("SELECT pg_advisory_unlock(6479889574913458540)").fetchone() == (True,)
        assert two.execute("SELECT pg_try_advisory_lock(6479889574913458540)").fetchone() == (True,)
        with one.transaction():
            assert one.execute("SELECT pg_try_advisory_xact_lock(11)").fetchone() == (True,)
            assert two.execute("SELECT pg_try_advisory_xact_lock(11)").fetchone() == (False,)
        assert two.execute("SELECT pg_try_advisory_xact_lock(11)").fetchone() == (True,)
        assert two.execute("SELECT pg_advisory_unlock_all()").fetchone() == ("",)


def test_advisory_locks_taken_by_user_code_are_the_clients(gridpg_cluster: Cluster, schema: str) -> None:
    """A function taking an advisory lock (a job queue's `SELECT take_job(7)`) ran on the
    catalog server's pooled connection: the other coordinator's session got the same lock,
    and the owner's own `pg_advisory_unlock` found nothing (false). Such statements now run
    where the client's advisory locks are (executor/advisory.py, RoutineGuard.code_effects)."""
    key = 6479889574913458541
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        one.execute(f"SET search_path TO {schema}")
        two.execute(f"SET search_path TO {schema}")
        one.execute("CREATE FUNCTION take_job(k bigint) RETURNS boolean LANGUAGE sql "
                    "AS $$ SELECT pg_try_advisory_lock(k) $$")
        one.execute("CREATE FUNCTION take_job_xact(k bigint) RETURNS boolean LANGUAGE plpgsql "
                    "AS $$ BEGIN RETURN pg_try_advisory_xact_lock(k); END $$")
        assert one.execute("SELECT take_job(%s)", (key,)).fetchone() == (True,)
        for _ in range(3):
            two.execute("SELECT 1")
        assert two.execute("SELECT take_job(%s)", (key,)).fetchone() == (False,)
        assert two.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (False,)
        assert one.execute("SELECT pg_advisory_unlock(%s)", (key,)).fetchone() == (True,)
        assert two.execute("SELECT take_job(%s)", (key,)).fetchone() == (True,)
        assert two.execute("SELECT pg_advisory_unlock_all()").fetchone() == ("",)
        with one.transaction():
            assert one.execute("SELECT take_job_xact(12)").fetchone() == (True,)
            assert two.execute("SELECT pg_try_advisory_xact_lock(12)").fetchone() == (False,)
        assert two.execute("SELECT take_job_xact(12)").fetchone() == (True,)


@pytest.mark.timeout(60)
def test_copy_into_a_view_fails_and_the_session_goes_on(gridpg_cluster: Cluster, schema: str) -> None:
    """PostgreSQL fails COPY into a view right after its CopyInResponse: the coordinator
    dropped the ErrorResponse and ReadyForQuery that came in the same read and the session
    hung (copy2.sql)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE cv_base (id int, name text)")
        conn.execute("CREATE VIEW cv_view AS SELECT * FROM cv_base")
        for _ in range(3):
            with pytest.raises(psycopg.errors.WrongObjectType), conn.cursor() as cur, \
                    cur.copy("COPY cv_view FROM STDIN") as copy:
                copy.write_row((1, "x"))
            assert conn.execute("SELECT count(*) FROM cv_base").fetchone() == (0,)

def test_check_constraint_reading_tableoid_is_refused_on_a_hash_table(gridpg_cluster: Cluster, schema: str) -> None:
    """constraints.sql: the CHECK ran on the datanodes, where tableoid names a shard, so a
    row PostgreSQL refuses was stored."""
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("/* c */ CREATE TABLE \"Sys col\" (city text, is_capital bool, "
                         "CHECK (NOT (is_capital AND tableoid::regclass::text = 'Sys col'))) DISTRIBUTE BY HASH (city)")
        conn.execute("CREATE TABLE sys_col2 (city text, is_capital bool)")
        with conn.transaction():
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute("ALTER TABLE sys_col2 ADD CONSTRAINT c1 "
                             "CHECK (NOT (is_capital AND tableoid::regclass::text = 'sys_col2'))")
            raise psycopg.Rollback()
        # where tableoid is the table's own (a replicated table), PostgreSQL's answer
        conn.execute("CREATE TABLE sys_col3 (city text, is_capital bool, "
                     "CHECK (NOT (is_capital AND tableoid::regclass::text = 'sys_col3'))) DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO sys_col3 VALUES ('Seattle', false)")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO sys_col3 VALUES ('Olympia', true)")
        assert conn.execute("SELECT city FROM sys_col3").fetchall() == [("Seattle",)]


LASTVAL_SCRIPT = [
    "CREATE SEQUENCE lv_seq",
    "SELECT nextval('lv_seq')",
    "REVOKE ALL ON lv_seq FROM lv_user",
    "GRANT {grant} ON lv_seq TO lv_user",
    "SELECT lastval()",
]


@pytest.mark.parametrize("grant", ["SELECT", "USAGE", "UPDATE"])
def test_lastval_checks_the_privilege_as_postgresql(gridpg_cluster: Cluster, plain_pg: str, grant: str) -> None:
    """sequence.sql: lastval() answered from the coordinator's memory without PostgreSQL's
    check (SELECT or USAGE on the sequence): 42501 on PostgreSQL, a value on gridpg."""
    outcomes = []
    for dsn in (plain_pg, gridpg_cluster.dsn(1)):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS lv_user")
            conn.execute("CREATE ROLE lv_user")
            conn.execute("CREATE SCHEMA IF NOT EXISTS lv_schema AUTHORIZATION lv_user")
            got: list[object] = []
            conn.execute("BEGIN")
            conn.execute("SET LOCAL SESSION AUTHORIZATION lv_user")
            conn.execute("SET LOCAL search_path TO lv_schema")
            try:
                for sql in LASTVAL_SCRIPT:
                    cur = conn.execute(sql.format(grant=grant))
                    got.append(cur.fetchall() if cur.description else cur.statusmessage)
            except psycopg.Error as exc:
                got.append(exc.sqlstate)
            conn.execute("ROLLBACK")
            conn.execute("DROP SCHEMA lv_schema CASCADE")
            conn.execute("DROP ROLE lv_user")
            outcomes.append(got)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][-1] == ("42501" if grant == "UPDATE" else [(1,)])


RESTART_SCRIPT = [
    "CREATE SEQUENCE {s}.ta_id1 START WITH 33",
    "CREATE TABLE {s}.\"Trunc a\" (id serial, id1 int DEFAULT nextval('{s}.ta_id1'))",
    "ALTER SEQUENCE {s}.ta_id1 OWNED BY {s}.\"Trunc a\".id1",
    "INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES",
    "INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES",
    "BEGIN",
    "/* rolled back */ TRUNCATE {s}.\"Trunc a\" RESTART IDENTITY",
    "INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES RETURNING *",
    "ROLLBACK",
    "INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES RETURNING *",
    "BEGIN",
    "TRUNCATE {s}.\"Trunc a\" RESTART IDENTITY",
    "INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES RETURNING *",
    "SELECT currval('{s}.\"Trunc a_id_seq\"'), lastval()",
    "COMMIT",
    "@other INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES RETURNING *",
    "INSERT INTO {s}.\"Trunc a\" DEFAULT VALUES RETURNING *",
    "SELECT * FROM {s}.\"Trunc a\" ORDER BY id",
]


def test_truncate_restart_identity_rolls_back_with_its_transaction(
        gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """truncate.sql: the GTM sequences restarted at once, so after ROLLBACK the next rows
    took the restarted values again (two rows with id 2); now they restart with the
    transaction, and after COMMIT every coordinator continues from the committed values."""
    outcomes = []
    for dsns in ((plain_pg, plain_pg), (gridpg_cluster.dsn(0), gridpg_cluster.dsn(1))):
        with psycopg.connect(dsns[0], autocommit=True) as conn, \
                psycopg.connect(dsns[1], autocommit=True) as other:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            got = []
            for sql in RESTART_SCRIPT:
                on = other if sql.startswith("@other ") else conn
                cur = on.execute(sql.removeprefix("@other ").format(s=schema))
                got.append(cur.fetchall() if cur.description else cur.statusmessage)
            if dsns[0] == plain_pg:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
            outcomes.append(got)
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][-1] == [(1, 33), (2, 34), (3, 35)]


CURSOR_SCRIPT = [
    "BEGIN",
    "DECLARE \"Foo 13\" SCROLL CURSOR FOR SELECT * FROM {s}.curs_t ORDER BY a",
    "DECLARE bc BINARY CURSOR FOR SELECT a FROM {s}.curs_t",
    "SELECT name, statement, is_holdable, is_binary, is_scrollable FROM pg_cursors ORDER BY 1",
    "PREPARE cprep AS SELECT name, statement, is_holdable FROM pg_cursors",
    "EXECUTE cprep",
    "ROLLBACK",
    "SELECT name FROM pg_catalog.pg_cursors AS c ORDER BY 1",
]


def test_pg_cursors_shows_the_clients_declare(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """portals.sql: pg_cursors showed the statement gridpg declared on the catalog server
    (over its temp copy of the rows), and EXECUTE's unnamed portal."""
    outcomes = []
    for dsn in (plain_pg, gridpg_cluster.dsn(1)):
        with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(f"CREATE TABLE {schema}.curs_t (a int, b text)")
            conn.execute(f"INSERT INTO {schema}.curs_t SELECT g, 'x' FROM generate_series(1, 5) g")
            got = []
            for sql in CURSOR_SCRIPT:
                cur = conn.execute(sql.format(s=schema))
                got.append(cur.fetchall() if cur.description else cur.statusmessage)
            conn.execute("DEALLOCATE cprep")
            if dsn == plain_pg:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
            outcomes.append(got)
    assert outcomes[0] == outcomes[1]


def test_insert_returning_system_columns_of_a_partitioned_table(gridpg_cluster: Cluster, schema: str) -> None:
    """update.sql:541: `INSERT INTO utrtest ... RETURNING xmin` into a partitioned HASH table
    failed with 42P01 naming a shard of the parent (its shards hang below its partitions);
    refused now with 0A000, nothing written; the partition itself answers, with `tableoid`
    naming it (not the datanode's shard)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE utrtest (a int, b text) PARTITION BY LIST (a)")
        conn.execute("CREATE TABLE utr1 PARTITION OF utrtest FOR VALUES IN (1)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("INSERT INTO utrtest VALUES (1, 'foo') RETURNING xmin = pg_current_xact_id()::xid")
        assert conn.execute("SELECT count(*) FROM utrtest").fetchone() == (0,)
        row = conn.execute("INSERT INTO utr1 VALUES (1, 'bar') RETURNING b, tableoid::regclass::text, "
                           "xmin = pg_current_xact_id()::xid").fetchone()
        assert row == ("bar", "utr1", True)


def test_explain_over_temporary_and_distributed_tables(gridpg_cluster: Cluster, schema: str) -> None:
    """EXPLAIN of a query joining a temp table with a distributed one (join.sql, subselect.sql,
    union.sql of the regression replay) was refused as "one utility statement over temporary
    and other tables"; it shows what is gathered and the plan on the session's catalog
    connection, where such a query runs. EXPLAIN ANALYZE is refused (0A000): over the
    catalog server's empty copies it would report rows that are not the cluster's."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE ex_dist (id int, v int)")
        conn.execute("INSERT INTO ex_dist SELECT g, g FROM generate_series(1, 20) g")
        conn.execute("CREATE TEMP TABLE ex_temp (id int)")
        conn.execute("INSERT INTO ex_temp VALUES (3), (4)")
        plan = [r[0] for r in conn.execute("EXPLAIN (COSTS OFF) SELECT * FROM ex_dist JOIN ex_temp USING (id)")]
        assert plan[0].startswith("Distributed plan: coordinator finish")
        assert f"  Gather: {schema}.ex_dist" in plan
        assert any("ex_temp" in line for line in plan[2:])
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("EXPLAIN ANALYZE SELECT * FROM ex_dist JOIN ex_temp USING (id)")
        # the query itself, and EXPLAIN of the temp table alone (PostgreSQL's own plan)
        assert conn.execute("SELECT id, v FROM ex_dist JOIN ex_temp USING (id) ORDER BY id").fetchall() \
            == [(3, 3), (4, 4)]
        assert [r[0] for r in conn.execute("EXPLAIN (COSTS OFF) SELECT * FROM ex_temp")] == ["Seq Scan on ex_temp"]


def test_insert_select_assigning_elements_or_fields_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """insert.sql's subscripted and field targets: INSERT ... VALUES gives PostgreSQL's rows;
    INSERT ... SELECT, whose column lists are names, would store `f2[2:3]`'s value as the
    whole of f2 (silently '{7,8}' where PostgreSQL stores '[2:3]={7,8}'): refused, nothing stored."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TYPE ipair AS (if1 int, if2 text)")
        conn.execute("CREATE TABLE ia (f1 int, f2 int[], f3 ipair)")
        conn.execute("INSERT INTO ia (f1, f2[2:3], f3.if2) VALUES (1, '{7,8}', 'x')")
        assert conn.execute("SELECT f2::text, f3::text FROM ia").fetchall() == [("[2:3]={7,8}", "(,x)")]
        for sql in ("INSERT INTO ia (f1, f2[2:3]) SELECT 2, '{7,8}'",
                    "INSERT INTO ia (f3.if1, f1) SELECT f1, 3 FROM ia"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="array elements or fields"):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM ia").fetchone() == (1,)


def test_create_schema_with_elements_distributes_its_tables(gridpg_cluster: Cluster) -> None:
    """foreign_key.sql, namespace.sql: `CREATE SCHEMA s CREATE TABLE t ...` went whole to the
    catalog server, whose tables are not distributed: the rows written through one
    coordinator were stored on its catalog server and absent through the other, and a
    distributed table referencing one failed its foreign key on the datanodes. Now the
    elements run as statements of their own, in PostgreSQL's order (sequences, tables,
    views, indexes, ...) and with the new schema first in the path, in one transaction."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        one.execute("DROP SCHEMA IF EXISTS se_shop CASCADE")
        one.execute("""CREATE SCHEMA se_shop
            CREATE VIEW costly AS SELECT id FROM items WHERE price > 5
            CREATE TABLE items (id int PRIMARY KEY, price int DEFAULT nextval('prices'))
            CREATE TABLE parts (id int REFERENCES items, n int) PARTITION BY RANGE (n)
            CREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (minvalue) TO (10)
            CREATE INDEX ON items (price)
            CREATE SEQUENCE prices START 4""")
        one.execute("INSERT INTO se_shop.items (id) SELECT g FROM generate_series(1, 4) g")
        one.execute("INSERT INTO se_shop.parts VALUES (1, 1), (4, 2)")
        assert two.execute("SELECT id, price FROM se_shop.items ORDER BY id").fetchall() \
            == [(1, 4), (2, 5), (3, 6), (4, 7)]
        assert two.execute("SELECT * FROM se_shop.costly ORDER BY id").fetchall() == [(3,), (4,)]
        assert two.execute("SELECT count(*) FROM se_shop.parts").fetchone() == (2,)
        assert two.execute("SELECT table_name FROM gridpg.dist_table WHERE schema_name = 'se_shop' "
                           "ORDER BY 1").fetchall() == [("items",), ("parts",), ("parts_low",)]
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            one.execute("INSERT INTO se_shop.parts VALUES (9, 1)")
        # an element that fails (or names another schema) leaves nothing behind
        with pytest.raises(psycopg.errors.InvalidSchemaDefinition):
            one.execute("CREATE SCHEMA se_bad CREATE TABLE a (x int) CREATE TABLE public.b (x int)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            one.execute("CREATE SCHEMA se_bad CREATE TABLE a (x int) CREATE VIEW v AS SELECT * FROM nothere")
        assert one.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'se_bad'").fetchone() == (0,)
        # inside a block (rolled back with it), and through the simple protocol
        one.execute("BEGIN")
        one.execute("CREATE SCHEMA se_block CREATE TABLE a (x int)")
        one.execute("INSERT INTO se_block.a VALUES (1)")
        one.execute("ROLLBACK")
        assert one.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'se_block'").fetchone() == (0,)
        with one.cursor() as cur:
            one.pgconn.exec_(b"CREATE SCHEMA se_simple CREATE TABLE a (x int); "
                             b"INSERT INTO se_simple.a VALUES (1), (2)")
            assert cur.execute("SELECT count(*) FROM se_simple.a").fetchone() == (2,)
        assert two.execute("SELECT count(*) FROM se_simple.a").fetchone() == (2,)
        one.execute("DROP SCHEMA se_shop, se_simple CASCADE")


def test_generated_column_reading_tableoid_is_refused_on_a_hash_table(gridpg_cluster: Cluster, schema: str) -> None:
    """generated_stored.sql: a stored generated column reading tableoid was computed on the
    datanodes, where it names a shard: `tableoid::regclass` stored
    `gridpg_shards."s.t_24"` and `tableoid = 't'::regclass` false, silently."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="generated column"):
            conn.execute("CREATE TABLE gen_oid (a int PRIMARY KEY, "
                         "mine bool GENERATED ALWAYS AS (tableoid = 'gen_oid'::regclass) STORED) DISTRIBUTE BY HASH (a)")
        conn.execute("CREATE TABLE gen_oid2 (a int PRIMARY KEY, b int GENERATED ALWAYS AS (a * 2) STORED)")
        conn.execute("INSERT INTO gen_oid2 VALUES (1), (2)")
        for sql in ("ALTER TABLE gen_oid2 ADD COLUMN c regclass GENERATED ALWAYS AS (tableoid) STORED",
                    "ALTER TABLE gen_oid2 ALTER COLUMN b SET EXPRESSION AS (tableoid::int)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="generated column"):
                conn.execute(sql)
        assert conn.execute("SELECT a, b FROM gen_oid2 ORDER BY a").fetchall() == [(1, 2), (2, 4)]
        # a replicated table's rows have the table's own tableoid: PostgreSQL's answer
        conn.execute("CREATE TABLE gen_oid3 (a int, c regclass GENERATED ALWAYS AS (tableoid) STORED) "
                     "DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO gen_oid3 VALUES (1)")
        assert conn.execute("SELECT c::text FROM gen_oid3").fetchall() == [("gen_oid3",)]


def test_row_security_holds_on_an_inheritance_parent(gridpg_cluster: Cluster, schema: str) -> None:
    """rowsecurity.sql: a HASH table that gets an inheritance child is made a plain table on
    the datanodes, and that conversion dropped ENABLE ROW LEVEL SECURITY and the policies:
    a user the policy limits saw every row (101 where PostgreSQL shows 29)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("DROP ROLE IF EXISTS rls_reader")
        conn.execute("CREATE ROLE rls_reader")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO rls_reader")
        conn.execute("CREATE TABLE rls_docs (id int PRIMARY KEY, lvl int, kind text)")
        conn.execute("INSERT INTO rls_docs SELECT g, g % 5, CASE WHEN g % 2 = 0 THEN 'even' END "
                     "FROM generate_series(1, 40) g")
        conn.execute("GRANT SELECT ON rls_docs TO rls_reader")
        conn.execute("ALTER TABLE rls_docs ENABLE ROW LEVEL SECURITY")
        conn.execute("CREATE POLICY low ON rls_docs FOR SELECT TO rls_reader USING (lvl < 2)")
        conn.execute("CREATE POLICY no_even ON rls_docs AS RESTRICTIVE TO rls_reader USING (kind IS NULL)")
        seen = "SET ROLE rls_reader; SELECT count(*) FROM rls_docs; RESET ROLE"
        with conn.cursor() as cur:
            cur.execute(seen)
            cur.nextset()
            assert cur.fetchone() == (8,)
        conn.execute("CREATE TABLE rls_docs_more () INHERITS (rls_docs)")
        conn.execute("INSERT INTO rls_docs_more VALUES (100, 0, NULL), (101, 4, NULL)")
        conn.execute("GRANT SELECT ON rls_docs_more TO rls_reader")
        with conn.cursor() as cur:
            cur.execute(seen)
            cur.nextset()
            assert cur.fetchone() == (9,)  # the parent's policies hold for the child's rows read through it


def test_policy_reading_a_distributed_table_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """rowsecurity.sql: `USING (lvl <= (SELECT lvl FROM accounts WHERE name = current_user))`
    ran on each datanode, whose subquery read that node's accounts only: a user saw the rows
    of the nodes that hold their account row. Refused when the user distributed the table
    (one placed by default becomes REPLICATION: 99_regress23_findings.sql); a replicated
    lookup table answers."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE pol_accounts (name text PRIMARY KEY, lvl int) DISTRIBUTE BY HASH (name)")
        conn.execute("CREATE TABLE pol_levels (name text PRIMARY KEY, lvl int) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE pol_docs (id int PRIMARY KEY, lvl int)")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="pol_accounts"):
            conn.execute("CREATE POLICY p1 ON pol_docs USING "
                         "(lvl <= (SELECT lvl FROM pol_accounts WHERE name = current_user))")
        conn.execute("CREATE POLICY p2 ON pol_docs USING (lvl <= (SELECT lvl FROM pol_levels WHERE name = current_user))")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="pol_accounts"):
            conn.execute("ALTER POLICY p2 ON pol_docs WITH CHECK "
                         "(EXISTS (SELECT 1 FROM pol_accounts a WHERE a.name = current_user))")


def test_copy_of_an_inheritance_parent_copies_its_own_rows(gridpg_cluster: Cluster, schema: str) -> None:
    """rowsecurity.sql: `COPY parent TO STDOUT` copied the inheritance children's rows too
    (PostgreSQL copies the table's own rows); a partitioned table is refused as there."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE cp_parent (a int, b text)")
        conn.execute("INSERT INTO cp_parent VALUES (1, 'parent')")
        conn.execute("CREATE TABLE cp_child () INHERITS (cp_parent)")
        conn.execute("INSERT INTO cp_child VALUES (2, 'child')")
        for sql, expected in (("COPY cp_parent TO STDOUT", b"1\tparent\n"), ("COPY cp_parent (b) TO STDOUT", b"parent\n"),
                              ("COPY (SELECT * FROM cp_parent ORDER BY a) TO STDOUT", b"1\tparent\n2\tchild\n")):
            with conn.cursor() as cur, cur.copy(sql) as copy:
                assert b"".join(bytes(c) for c in copy) == expected
        conn.execute("CREATE TABLE cp_parted (a int) PARTITION BY RANGE (a)")
        conn.execute("CREATE TABLE cp_parted_1 PARTITION OF cp_parted FOR VALUES FROM (0) TO (10)")
        with pytest.raises(psycopg.errors.WrongObjectType, match="partitioned"), \
                conn.cursor() as cur, cur.copy("COPY cp_parted TO STDOUT") as copy:
            list(copy)


def test_copy_naming_a_generated_column_fails_as_in_postgresql(gridpg_cluster: Cluster, schema: str) -> None:
    """generated_virtual.sql: `COPY t (a, b) TO STDOUT` with b generated (virtual or stored)
    printed b, where PostgreSQL 18 refuses it (42P10): the nodes were asked for a query."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE cg (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL, "
                     "c int GENERATED ALWAYS AS (a * 3) STORED)")
        conn.execute("INSERT INTO cg (a) VALUES (1)")
        for column in ("b", "c"):
            with pytest.raises(psycopg.errors.InvalidColumnReference, match="generated column"), \
                    conn.cursor() as cur, cur.copy(f"COPY cg (a, {column}) TO STDOUT") as copy:
                list(copy)
        with conn.cursor() as cur, cur.copy("COPY cg TO STDOUT") as copy:
            assert b"".join(bytes(c) for c in copy) == b"1\n"


@pytest.mark.timeout(90)
def test_analyze_in_a_block_after_ddl_or_lock_does_not_hang(gridpg_cluster: Cluster, schema: str) -> None:
    """alter_table.sql: `BEGIN; ALTER TABLE t DROP CONSTRAINT ...; ANALYZE t;` hung: the
    cluster's relpages/reltuples were published on connections of their own, which waited
    for the block's own locks (then the replay cut the connection). LOCK TABLE likewise."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE an_parent (id int PRIMARY KEY, t text)")
        conn.execute("CREATE TABLE an_child (id int REFERENCES an_parent, t text)")
        conn.execute("INSERT INTO an_parent VALUES (1, 'a')")
        with conn.transaction():
            conn.execute("ALTER TABLE an_child DROP CONSTRAINT an_child_id_fkey")
            conn.execute("ANALYZE an_child")
            raise psycopg.Rollback()
        with conn.transaction():
            conn.execute("LOCK TABLE an_parent IN ACCESS EXCLUSIVE MODE")
            conn.execute("ANALYZE an_parent")
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'an_child_id_fkey'").fetchone() == (1,)
        conn.execute("ANALYZE an_parent")  # outside a block: published as before
        assert conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'an_parent'::regclass").fetchone() == (1.0,)


def test_merge_inserting_as_a_plain_role_with_a_superuser_only_startup_setting(
        gridpg_cluster: Cluster, schema: str) -> None:
    """merge.sql: with lc_messages given at startup (pg_regress does) and SET SESSION
    AUTHORIZATION to a plain role, every MERGE with an INSERT action failed with 42501
    "permission denied to set parameter lc_messages": its side catalog connection set the
    session's settings again after the authorization."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True, options="-c lc_messages=C") as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("DROP ROLE IF EXISTS merge_plain")
        conn.execute("CREATE ROLE merge_plain")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO merge_plain")
        conn.execute("CREATE TABLE mp_target (tid int, balance int)")
        conn.execute("CREATE TABLE mp_source (sid int, delta int)")
        conn.execute("INSERT INTO mp_target VALUES (1, 10), (2, 20)")
        conn.execute("INSERT INTO mp_source VALUES (2, 5), (3, 30)")
        conn.execute("ALTER TABLE mp_target OWNER TO merge_plain")
        conn.execute("ALTER TABLE mp_source OWNER TO merge_plain")
        conn.execute("SET SESSION AUTHORIZATION merge_plain")
        conn.execute("MERGE INTO mp_target t USING mp_source s ON t.tid = s.sid "
                     "WHEN MATCHED THEN UPDATE SET balance = balance + s.delta "
                     "WHEN NOT MATCHED THEN INSERT VALUES (s.sid, s.delta)")
        assert conn.execute("SELECT tid, balance FROM mp_target ORDER BY tid").fetchall() == [(1, 10), (2, 25), (3, 30)]
        assert conn.execute("SHOW lc_messages").fetchone() == ("C",)
        conn.execute("RESET SESSION AUTHORIZATION")


def test_whole_row_of_a_distributed_table_with_column_aliases_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """rowtypes.sql: `row_to_json(i) FROM int8_tbl i(x, y)` gave {"x": ..., "y": ...} where
    PostgreSQL keeps the table's row type ({"q1": ..., "q2": ...}): the alias list is planned
    as a subquery, whose whole row is a record named by the aliases. Refused; the columns
    themselves, and `i.*` in the select list, answer as before."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE wr_pair (q1 int8, q2 int8)")
        conn.execute("INSERT INTO wr_pair VALUES (1, 2), (3, 4)")
        for sql in ("SELECT row_to_json(i) FROM wr_pair i(x, y)", "SELECT i FROM wr_pair i(x)",
                    "SELECT count(*) FROM wr_pair i(x, y) WHERE row_to_json(i.*)::text <> ''"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="whole-row"):
                conn.execute(sql)
        assert conn.execute("SELECT i.*, i.x + i.y FROM wr_pair i(x, y) ORDER BY x").fetchall() == [(1, 2, 3), (3, 4, 7)]
        assert conn.execute("SELECT row_to_json(i) FROM wr_pair i ORDER BY q1").fetchall() \
            == [({"q1": 1, "q2": 2},), ({"q1": 3, "q2": 4},)]


def test_merge_inserting_an_identity_distribution_column_from_its_sequence(
        gridpg_cluster: Cluster, schema: str) -> None:
    """identity.sql:497, 516: a MERGE whose INSERT action gives a HASH table's identity
    distribution column a value OVERRIDING USER VALUE (or leaves it to its default) takes
    the value from the GTM, and the row then belongs on another node than the source row
    that inserts it: 23514 "no partition found" from a datanode (or, by chance, success).
    Refused (0A000) until 2026-12-07; now each row's value is drawn first and the row moved
    to its node (executor/run._merge_filling_sequences): every row is found by its key."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE mi_key (a int GENERATED BY DEFAULT AS IDENTITY, b text) DISTRIBUTE BY HASH (a)")
        conn.execute("CREATE TABLE mi_other (a int, n int GENERATED ALWAYS AS IDENTITY, b text) "
                     "DISTRIBUTE BY HASH (a)")
        for action in ("INSERT (a, b) OVERRIDING USER VALUE VALUES (s.s_a, s.s_b)", "INSERT (b) VALUES (s.s_b)",
                       "INSERT (a, b) VALUES (DEFAULT, s.s_b)"):
            conn.execute("MERGE INTO mi_key t USING (SELECT g AS s_a, 'm' AS s_b FROM generate_series(1001, 1008) g) s "
                         f"ON t.a = s.s_a WHEN NOT MATCHED THEN {action}")
        keys = [a for a, in conn.execute("SELECT a FROM mi_key").fetchall()]
        assert len(keys) == len(set(keys)) == 24 and all(0 < a < 1001 for a in keys)
        for a in keys:
            assert conn.execute("SELECT count(*) FROM mi_key WHERE a = %s", (a,)).fetchone() == (1,)
        conn.execute("MERGE INTO mi_key t USING (SELECT g AS s_a, 'm' AS s_b FROM generate_series(2001, 2008) g) s "
                     "ON t.a = s.s_a WHEN NOT MATCHED THEN INSERT (a, b) VALUES (s.s_a, s.s_b)")
        conn.execute("MERGE INTO mi_other t USING (SELECT g AS s_a, 'm' AS s_b FROM generate_series(1, 8) g) s "
                     "ON t.a = s.s_a WHEN NOT MATCHED THEN INSERT (a, n, b) OVERRIDING USER VALUE "
                     "VALUES (s.s_a, 0, s.s_b)")
        assert conn.execute("SELECT count(*), sum(a) FROM mi_key WHERE a > 2000").fetchone() == (8, 16036)
        assert conn.execute("SELECT count(DISTINCT n), min(n) > 0 FROM mi_other").fetchone() == (8, True)


def test_sequence_defaults_set_by_merge_or_an_always_identity_update_are_refused(
        gridpg_cluster: Cluster, schema: str) -> None:
    """identity.sql:121 (beside it): `SET col = DEFAULT` of a serial or identity column in a
    MERGE's UPDATE action, and of a GENERATED ALWAYS identity in an UPDATE, was evaluated
    by each datanode from its own copy of the sequence: values the cluster had handed out
    already, the same on every node, silently. Refused (a BY DEFAULT identity's UPDATE takes
    the GTM's values: the oracle corpus 99_regress7_findings.sql)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE sd_ident (k int, n int GENERATED BY DEFAULT AS IDENTITY, s serial, b text) "
                     "DISTRIBUTE BY HASH (k)")
        conn.execute("CREATE TABLE sd_always (k int, n int GENERATED ALWAYS AS IDENTITY) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO sd_ident (k, b) SELECT g, 'x' FROM generate_series(1, 8) g")
        conn.execute("INSERT INTO sd_always (k) SELECT g FROM generate_series(1, 8) g")
        before = conn.execute("SELECT k, n, s FROM sd_ident ORDER BY k").fetchall()
        for column in ("s", "n"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute("MERGE INTO sd_ident t USING (SELECT g AS k FROM generate_series(1, 8) g) s "
                             f"ON t.k = s.k WHEN MATCHED THEN UPDATE SET {column} = DEFAULT")
        assert conn.execute("SELECT k, n, s FROM sd_ident ORDER BY k").fetchall() == before
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="GENERATED ALWAYS"):
            conn.execute("UPDATE sd_always SET n = DEFAULT WHERE k > 2")
        assert conn.execute("SELECT count(DISTINCT n), max(n) FROM sd_always").fetchone() == (8, 8)


def test_volatile_fill_of_a_replicated_table_with_rows_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """fast_default.sql (beside it): ALTER TABLE ... ADD COLUMN r DEFAULT random() on a
    REPLICATION table with rows filled each replica with values of its own (and ALTER
    COLUMN ... TYPE ... USING a volatile call likewise): reads answered by whichever
    replica served them, silently. Refused while the table has rows; empty, or with a
    stable default, it runs as before."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE vf_rep (k int, b text) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE vf_empty (k int) DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO vf_rep SELECT g, 'x' FROM generate_series(1, 20) g")
        for alter in ("ADD COLUMN r float8 DEFAULT random()", "ADD COLUMN u uuid DEFAULT gen_random_uuid()",
                      "ALTER COLUMN k TYPE float8 USING k * random()"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="replicas would differ"):
                conn.execute(f"ALTER TABLE vf_rep {alter}")
        conn.execute("ALTER TABLE vf_rep ADD COLUMN c float8 DEFAULT 1.5, ALTER COLUMN k TYPE bigint")
        conn.execute("ALTER TABLE vf_empty ADD COLUMN r float8 DEFAULT random()")
        assert conn.execute("SELECT count(*), sum(c), sum(k) FROM vf_rep").fetchone() == (20, 30.0, 210)


def test_a_table_made_replicated_by_an_added_unique_column_fills_it_alike_on_every_replica(
        gridpg_cluster: Cluster, schema: str) -> None:
    """(found with the test above; 99_django_add_unique_column.sql) `ALTER TABLE t ADD COLUMN
    token text DEFAULT 'k' || random()::text UNIQUE` on a populated table gridpg distributed
    by default makes it replicated and rebuilds it; the rows' new column took its default
    where they landed: each replica its own values. Computed once now, every replica equal."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE vf_event (id bigint PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, seq int)")
        conn.execute("INSERT INTO vf_event (seq) SELECT generate_series(1, 30)")
        conn.execute("ALTER TABLE vf_event ADD COLUMN token text DEFAULT 'k' || random()::text, "
                     "ADD CONSTRAINT vf_event_token UNIQUE (token)")
        replicas = {conn.execute(f"EXECUTE DIRECT ON ({node}) 'SELECT md5(string_agg(token, '','' ORDER BY id)), "
                                 f"count(*) FROM {schema}.vf_event'").fetchone()
                    for node in ("dn1", "dn2")}
        assert len(replicas) == 1 and next(iter(replicas))[1] == 30


def test_create_table_as_calling_nextval_inside_an_expression_is_refused(gridpg_cluster: Cluster,
                                                                        schema: str) -> None:
    """CREATE TABLE AS over a distributed table whose query calls nextval() inside an
    expression was filled on the datanodes from their own copies of the sequence (the same
    values on several nodes). A whole nextval() item takes the GTM's values (the oracle
    corpus 99_regress7_findings.sql); any other sequence call is refused, nothing created."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE ct_seq")
        conn.execute("CREATE TABLE ct_base (k int) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO ct_base SELECT generate_series(1, 10)")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="CREATE TABLE AS"):
            conn.execute("CREATE TABLE ct_expr AS SELECT k, nextval('ct_seq') * 2 AS n FROM ct_base")
        assert conn.execute("SELECT to_regclass('ct_expr')").fetchone() == (None,)
        conn.execute("CREATE TABLE ct_item AS SELECT k, nextval('ct_seq') AS n FROM ct_base")
        assert conn.execute("SELECT count(DISTINCT n), min(n), max(n) FROM ct_item").fetchone() == (10, 1, 10)


def test_unique_index_concurrently_without_the_distribution_column_is_refused_before_it_is_built(
        gridpg_cluster: Cluster, schema: str) -> None:
    """create_index.sql:504: CREATE UNIQUE INDEX CONCURRENTLY without a HASH table's
    distribution column failed on the first datanode (0A000) after the catalog servers had
    built it, valid, and nothing took that back: pg_index showed a unique index the rows
    never had (duplicates inserted after it went in), and a later CREATE INDEX failed with
    23505 rebuilding the table. Refused before any server builds it."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE ui_conc (f1 text, f2 text)")
        conn.execute("INSERT INTO ui_conc VALUES ('a', 'b'), ('b', 'c')")
        for key in ("f2", "lower(f1)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="distribution column"):
                conn.execute(f"CREATE UNIQUE INDEX CONCURRENTLY ui_conc_u ON ui_conc ({key})")
        assert conn.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'ui_conc'::regclass").fetchone() == (0,)
        conn.execute("CREATE INDEX ui_conc_f2 ON ui_conc (f2)")
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY ui_conc_k ON ui_conc (f1, f2)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO ui_conc VALUES ('a', 'b')")


def test_a_view_over_a_view_reads_with_its_owners_rights(gridpg_cluster: Cluster, schema: str) -> None:
    """privileges.sql:474: a role granted SELECT only on a view over another role's view
    (over a distributed table) read it in PostgreSQL and got 42501 "permission denied for
    view" in gridpg: the rights were checked on the text with the outer view inlined, which
    names the inner view directly. Checked on the client's text: the outer view's owner's
    rights on the inner one, as PostgreSQL does; one who lacks them still fails."""
    roles = ("vv_inner", "vv_outer", "vv_reader")
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        for role in roles:
            conn.execute(f"DROP ROLE IF EXISTS {role}")
            conn.execute(f"CREATE ROLE {role}")
            conn.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}")
        try:
            conn.execute("CREATE TABLE vv_base (one int, two int) DISTRIBUTE BY HASH (one)")
            conn.execute("INSERT INTO vv_base VALUES (1, 2), (3, 4)")
            conn.execute("GRANT SELECT ON vv_base TO vv_inner")
            conn.execute("SET SESSION AUTHORIZATION vv_inner")
            conn.execute("CREATE VIEW vv_v1 AS SELECT * FROM vv_base")
            conn.execute("GRANT SELECT ON vv_v1 TO vv_outer")
            conn.execute("SET SESSION AUTHORIZATION vv_outer")
            conn.execute("CREATE VIEW vv_v2 AS SELECT * FROM vv_v1")
            conn.execute("GRANT SELECT ON vv_v2 TO vv_reader")
            conn.execute("SET SESSION AUTHORIZATION vv_reader")
            assert conn.execute("SELECT * FROM vv_v2 ORDER BY one").fetchall() == [(1, 2), (3, 4)]
            assert conn.execute("SELECT two FROM vv_v2 WHERE one = 3").fetchall() == [(4,)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="vv_v1"):
                conn.execute("SELECT * FROM vv_v1")
            conn.execute("CREATE VIEW vv_v3 AS SELECT * FROM vv_v1")  # its owner lacks rights on vv_v1
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="vv_v1"):
                conn.execute("SELECT * FROM vv_v3")
        finally:
            conn.execute("RESET SESSION AUTHORIZATION")
            conn.execute("DROP VIEW IF EXISTS vv_v3, vv_v2, vv_v1")
            for role in roles:
                conn.execute(f"DROP OWNED BY {role}")
                conn.execute(f"DROP ROLE {role}")


def test_retyping_a_column_using_a_sequence_call_is_refused_on_a_table_with_rows(
        gridpg_cluster: Cluster, schema: str) -> None:
    """(beside fast_default.sql) `ALTER TABLE t ALTER COLUMN v TYPE bigint USING
    nextval('s')` on a HASH table with rows: each datanode called nextval() on its own copy
    of the sequence (8 distinct values for 10 rows). Refused while the table has rows, as
    an added column filled from a sequence is."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE rt_seq")
        conn.execute("CREATE TABLE rt_rows (k int, v text) DISTRIBUTE BY HASH (k)")
        conn.execute("CREATE TABLE rt_empty (k int, v text) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO rt_rows SELECT g, g::text FROM generate_series(1, 10) g")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="from a sequence"):
            conn.execute("ALTER TABLE rt_rows ALTER COLUMN v TYPE bigint USING nextval('rt_seq')")
        conn.execute("ALTER TABLE rt_rows ALTER COLUMN v TYPE bigint USING v::bigint")
        conn.execute("ALTER TABLE rt_empty ALTER COLUMN v TYPE bigint USING nextval('rt_seq')")
        assert conn.execute("SELECT count(DISTINCT v), sum(v) FROM rt_rows").fetchone() == (10, 55)


@pytest.mark.parametrize("statement", [
    "EXPLAIN ANALYZE SELECT 1 AS a INTO TABLE ea_none",
    "EXPLAIN (ANALYZE, COSTS OFF) SELECT k, v INTO ea_dist FROM ea_src",
    "EXPLAIN ANALYZE SELECT k INTO ea_union FROM ea_src UNION SELECT 7",
    "EXPLAIN ANALYZE CREATE TABLE ea_ctas AS SELECT k FROM ea_src",
])
def test_explain_analyze_of_select_into_is_refused(gridpg_cluster: Cluster, schema: str, statement: str) -> None:
    """(select_into.sql:103) `EXPLAIN ANALYZE SELECT ... INTO t` said EXPLAIN and left `t` on
    the coordinator's catalog server alone (no metadata, no rows on the datanodes, unseen by
    the other coordinators), or, over a distributed table, made no table at all. Refused as
    EXPLAIN ANALYZE CREATE TABLE AS is; plain EXPLAIN still shows the plan."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE ea_src (k int, v text) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO ea_src VALUES (1, 'a'), (2, 'b')")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="EXPLAIN ANALYZE"):
            conn.execute(statement)
        made = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = %s AND c.relname LIKE 'ea\\_%%' AND c.relname <> 'ea_src'",
                            (schema,)).fetchone()
        assert made == (0,)
        assert conn.execute("EXPLAIN SELECT k INTO ea_plan FROM ea_src").fetchall()
        assert conn.execute("SELECT to_regclass('ea_plan')").fetchone() == (None,)


def _copy_rows(conn: psycopg.Connection, sql: str, rows: list[tuple[str]]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def test_copy_freeze_keeps_postgresqls_conditions(gridpg_cluster: Cluster, schema: str) -> None:
    """(copy2.sql:319-352) COPY ... FREEZE into a table not created or truncated in the
    current subtransaction loaded its rows, where PostgreSQL fails with 55000 (the nodes
    get the rows without FREEZE): later reads showed rows PostgreSQL never took."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE vistest (a text)")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            _copy_rows(conn, "COPY vistest FROM STDIN (FREEZE)", [("a0",), ("b",)])
        assert conn.execute("SELECT count(*) FROM vistest").fetchone() == (0,)
        _copy_rows(conn, "COPY vistest FROM STDIN (FREEZE false)", [("p",)])
        conn.execute("BEGIN")
        conn.execute("TRUNCATE vistest")
        _copy_rows(conn, "COPY vistest FROM STDIN (FREEZE)", [("x",), ("y",)])
        conn.execute("SAVEPOINT s1")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            _copy_rows(conn, "COPY vistest FROM STDIN (FREEZE)", [("m",)])
        conn.execute("ROLLBACK TO SAVEPOINT s1")
        conn.execute("COMMIT")
        assert conn.execute("SELECT a FROM vistest ORDER BY a").fetchall() == [("x",), ("y",)]
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE vt2 (k int, b text)")
        _copy_rows(conn, "COPY vt2 (b) FROM STDIN (FREEZE 1)", [("one",)])
        conn.execute("COMMIT")
        assert conn.execute("SELECT k, b FROM vt2").fetchall() == [(None, "one")]


def test_create_table_as_fills_a_table_its_owner_may_not_insert_into(gridpg_cluster: Cluster, schema: str) -> None:
    """(select_into.sql:29, 44) With ALTER DEFAULT PRIVILEGES ... REVOKE INSERT ON TABLES
    from the creating role, PostgreSQL's CREATE TABLE AS still fills the table it makes (it
    does not check INSERT); gridpg's fill by INSERT/COPY failed with 42501 and left no
    table. The table is filled, and its ACL is still without INSERT afterwards."""
    role = "ctas_noinsert"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role}")
        try:
            conn.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
            conn.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {role} REVOKE INSERT ON TABLES FROM {role}")
            conn.execute(f"SET search_path TO {schema}")
            conn.execute(f"SET SESSION AUTHORIZATION {role}")
            cur = conn.execute("CREATE TABLE ctas_noins (a) AS SELECT generate_series(1, 3)")
            assert cur.statusmessage == "SELECT 3"
            conn.execute("PREPARE ctas_sel AS SELECT g * 10 AS b FROM generate_series(1, 3) g")
            conn.execute("CREATE TABLE ctas_noins2 AS EXECUTE ctas_sel")
            # (read without aggregates or ORDER BY: gridpg's own scratch tables for those are
            # made by the session's role too, and the default privileges refuse it INSERT there)
            assert sorted(conn.execute("SELECT a FROM ctas_noins").fetchall()) == [(1,), (2,), (3,)]
            assert sorted(conn.execute("SELECT b FROM ctas_noins2").fetchall()) == [(10,), (20,), (30,)]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("INSERT INTO ctas_noins VALUES (4)")
            assert conn.execute("SELECT has_table_privilege('ctas_noins', 'INSERT'), "
                                "has_table_privilege('ctas_noins2', 'INSERT')").fetchone() == (False, False)
        finally:
            conn.execute("RESET SESSION AUTHORIZATION")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("code", [
    "DO $$ BEGIN EXECUTE 'EXPLAIN ANALYZE SELECT * INTO TABLE eac_t FROM eac_src'; END $$",
    "DO $$ BEGIN EXECUTE 'EXPLAIN (ANALYZE) SELECT 1 AS a INTO eac_t'; END $$",
    "DO $$ BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE eac_t AS SELECT 1 AS a WITH NO DATA'; END $$",
    "SELECT eac_make()",
])
def test_explain_analyze_creating_a_table_in_server_side_code_is_refused(
        gridpg_cluster: Cluster, schema: str, code: str) -> None:
    """(select_into.sql:103-108) A DO block or function running `EXPLAIN ANALYZE SELECT ...
    INTO t` / `EXPLAIN ANALYZE CREATE TABLE t AS ...` succeeded and left `t` on the
    coordinator's catalog server alone: PostgreSQL fires no DDL event for it there, so
    gridpg's capture of code DDL did not see it (a later DROP TABLE t: 42P01). Refused
    (0A000); EXPLAIN ANALYZE of other statements in code still runs."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE eac_src (k int, v text) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO eac_src VALUES (1, 'a'), (2, 'b')")
        conn.execute("CREATE FUNCTION eac_make() RETURNS void LANGUAGE plpgsql AS "
                     "$$ BEGIN EXECUTE 'EXPLAIN ANALYZE CREATE TABLE eac_t AS SELECT 1 AS a'; END $$")
        conn.execute("CREATE FUNCTION eac_plan() RETURNS text LANGUAGE plpgsql AS "
                     "$$ DECLARE p text; BEGIN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF) SELECT 1' INTO p; "
                     "RETURN p; END $$")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="EXPLAIN ANALYZE"):
            conn.execute(code)
        assert conn.execute("SELECT to_regclass('eac_t')").fetchone() == (None,)
        assert conn.execute("SELECT eac_plan()").fetchone()[0].startswith("Result")


@pytest.mark.parametrize("comment", ["/* why */ ", "/* one */ -- two\n", "-- why\n"])
@pytest.mark.parametrize("options", ["(COSTS OFF) ", ""])
def test_explain_after_a_leading_comment(gridpg_cluster: Cluster, schema: str, comment: str, options: str) -> None:
    """(inherit.sql:1257, 1260) `/* ... */ EXPLAIN ...`, a comment psql sends on with the
    statement, failed with 42601: the comment was taken for the EXPLAIN keyword and
    `EXPLAIN ...` itself explained again."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE expl_c (a int, b text) DISTRIBUTE BY HASH (a)")
        lines = [r[0] for r in conn.execute(f"{comment}EXPLAIN {options}SELECT * FROM expl_c WHERE a IS NULL")]
        assert lines[0].startswith("Distributed plan"), lines


@pytest.mark.parametrize("create", [
    "CREATE TABLE casc (a {dom}, b text)",  # distributed by a, gridpg's default rules
    "CREATE TABLE casc (a {dom}, b text) DISTRIBUTE BY HASH (a)",
    "CREATE TABLE casc (a {dom}, b text) DISTRIBUTE BY MODULO (a)",
])
@pytest.mark.parametrize("drop", ["DROP DOMAIN {dom} CASCADE", "DROP SCHEMA {schema}_d CASCADE"])
def test_drop_cascade_taking_the_distribution_column_is_refused(
        gridpg_cluster: Cluster, schema: str, create: str, drop: str) -> None:
    """domain.sql:528: `DROP DOMAIN d CASCADE` drops the columns of type d. The
    distribution column is the shards' partition key on the datanodes, and PostgreSQL drops
    a partitioned table whose key column goes: every datanode dropped the table with all its
    rows while the catalog servers kept it, and the DROP was acknowledged (then 42P01)."""
    dom = f"{schema}_d.dd"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(f"DROP SCHEMA IF EXISTS {schema}_d CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}_d")
        conn.execute(f"CREATE DOMAIN {dom} AS integer")
        conn.execute(create.format(dom=dom))
        conn.execute("INSERT INTO casc VALUES (1, 'x'), (2, 'y'), (3, 'z')")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(drop.format(dom=dom, schema=schema))
        assert conn.execute("SELECT a, b FROM casc ORDER BY a").fetchall() == [(1, "x"), (2, "y"), (3, "z")]
        # another column of the type goes, as in PostgreSQL
        conn.execute(f"CREATE TABLE casc2 (k int, c {dom}) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO casc2 VALUES (1, 1), (2, 2)")
        conn.execute("DROP TABLE casc")
        conn.execute(drop.format(dom=dom, schema=schema))
        assert conn.execute("SELECT * FROM casc2 ORDER BY k").fetchall() == [(1,), (2,)]


def test_copy_fills_a_domain_default_from_the_clusters_sequence(gridpg_cluster: Cluster, schema: str) -> None:
    """domain.sql:414: a column without a default of its own takes its domain's; a domain
    DEFAULT nextval('s') was evaluated by each datanode from its own copy of s (the same
    values on two nodes), and a domain default on the distribution column failed (23514)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE cseq")
        conn.execute("CREATE DOMAIN cdom AS int DEFAULT nextval('cseq')")
        conn.execute("CREATE DOMAIN ckey AS int DEFAULT 5")
        conn.execute("CREATE TABLE cids (k int, v cdom) DISTRIBUTE BY HASH (k)")
        conn.execute("CREATE TABLE ckeyed (k ckey, v int) DISTRIBUTE BY HASH (k)")
        with conn.cursor() as cur:
            with cur.copy("COPY cids (k) FROM STDIN") as copy:
                copy.write(b"".join(b"%d\n" % i for i in range(1, 21)))
            with cur.copy("COPY ckeyed (v) FROM STDIN") as copy:
                copy.write(b"1\n2\n")
        assert conn.execute("SELECT count(DISTINCT v), min(v), max(v) FROM cids").fetchone() == (20, 1, 20)
        assert conn.execute("SELECT nextval('cseq')").fetchone() == (21,)
        assert conn.execute("SELECT k, v FROM ckeyed WHERE k = 5 ORDER BY v").fetchall() == [(5, 1), (5, 2)]


def test_adding_a_column_of_a_sequence_domain_to_a_replicated_table_with_rows_is_refused(
        gridpg_cluster: Cluster, schema: str) -> None:
    """Each replica would fill its rows from its own copy of the sequence (no common order to
    number them by), as for `ADD COLUMN v int DEFAULT nextval('s')` (commands/sequences.py)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE rseq")
        conn.execute("CREATE DOMAIN rdom AS int DEFAULT nextval('rseq')")
        conn.execute("CREATE TABLE rrep (k int) DISTRIBUTE BY REPLICATION")
        conn.execute("ALTER TABLE rrep ADD COLUMN empty_then rdom")  # no rows: nothing to fill
        conn.execute("INSERT INTO rrep (k) VALUES (1)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("ALTER TABLE rrep ADD COLUMN v rdom")
        assert conn.execute("SELECT k, empty_then FROM rrep").fetchall() == [(1, 1)]


def test_server_side_code_fills_a_domain_default_from_the_clusters_sequence(
        gridpg_cluster: Cluster, schema: str) -> None:
    """Server-side code writes distributed tables through the catalog server's shadows of
    them, which computed a domain DEFAULT nextval('s') from that server's copy of s: the
    GTM's sequence never moved, and the values repeated the ones client INSERTs had got."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE lseq")
        conn.execute("CREATE DOMAIN ldom AS int DEFAULT nextval('lseq')")
        conn.execute("CREATE TABLE lids (k int PRIMARY KEY, v ldom)")
        conn.execute("INSERT INTO lids (k) VALUES (1), (2)")
        conn.execute("CREATE FUNCTION lfill(n int) RETURNS void LANGUAGE plpgsql AS "
                     "$$ BEGIN INSERT INTO lids (k) SELECT g FROM generate_series(3, n) g; END $$")
        conn.execute("SELECT lfill(6)")
        conn.execute("DO $$ BEGIN INSERT INTO lids (k) VALUES (7); END $$")
        assert conn.execute("SELECT count(DISTINCT v), min(v), max(v) FROM lids").fetchone() == (7, 1, 7)
        assert conn.execute("SELECT nextval('lseq')").fetchone() == (8,)
