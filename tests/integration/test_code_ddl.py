"""DDL run by server-side code (executor/code_ddl.py): distributed DDL on every catalog
server and datanode inside the caller's transaction, gone everywhere when it rolls back;
what capture and replay cannot reproduce is refused with a clear error, leaving nothing.
PostgreSQL's answers for the same patterns: tests/oracle/corpus/87_code_ddl.sql."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster



def _on_every_node(dsns: dict[str, str], sql: str) -> dict[str, Any]:
    out = {}
    for name, dsn in dsns.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out[name] = conn.execute(sql).fetchone()[0]
    return out


def _setup(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE base (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO base VALUES (1, 'a'), (2, 'b')")
        conn.execute("CREATE TABLE ev (id int, at date) PARTITION BY RANGE (at)")
        conn.execute("CREATE FUNCTION build(suffix text) RETURNS int LANGUAGE plpgsql AS $$ BEGIN "
                     "EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text)', 'made_' || suffix); "
                     "EXECUTE format('CREATE TABLE %I PARTITION OF ev FOR VALUES FROM (%L) TO (%L)', "
                     "'ev_' || suffix, '2026-01-01'::date, '2026-02-01'::date); "
                     "CREATE INDEX base_v ON base (v); ALTER TABLE base ADD COLUMN w int; "
                     "RETURN (SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
                     "AND table_name = 'base')::int; END $$")


def test_ddl_in_code_rolls_back_with_the_block(gridpg_cluster: Cluster, schema: str,
                                               catalogs: dict[str, str], datanodes: dict[str, str]) -> None:
    dsn = gridpg_cluster.dsn(0)
    _setup(dsn, schema)
    everywhere = {**catalogs, **datanodes}
    made = f"SELECT pg_catalog.to_regclass('\"{schema}\".made_x') IS NOT NULL"
    column = (f"SELECT (SELECT count(*) FROM pg_catalog.pg_attribute WHERE attrelid = '\"{schema}\".base'::regclass "
              "AND attname = 'w' AND NOT attisdropped)")
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        assert conn.execute("SELECT build('x')").fetchone()[0] == 3  # the code saw its own column
        conn.execute("INSERT INTO made_x VALUES (1, 'in block')")
        assert conn.execute("SELECT count(*) FROM made_x").fetchone()[0] == 1
        conn.rollback()
    assert set(_on_every_node(everywhere, made).values()) == {False}
    assert set(_on_every_node(everywhere, column).values()) == {0}
    assert set(_on_every_node(catalogs, "SELECT count(*) FROM gridpg.dist_table WHERE table_name IN "
                                        "('made_x', 'ev_x')").values()) == {0}
    with psycopg.connect(dsn) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("SELECT build('x')")
        conn.commit()
    assert set(_on_every_node(everywhere, made).values()) == {True}
    assert set(_on_every_node(everywhere, column).values()) == {1}
    # distributed as a top-level CREATE TABLE: hash by its key, a partitioned parent on the datanodes
    assert set(_on_every_node(catalogs, "SELECT method || ':' || dist_column FROM gridpg.dist_table "
                                        "WHERE table_name = 'made_x'").values()) == {"hash:id"}
    assert set(_on_every_node(datanodes, f"SELECT relkind FROM pg_catalog.pg_class WHERE oid = "
                                         f"'\"{schema}\".made_x'::regclass").values()) == {"p"}
    assert set(_on_every_node(everywhere, f"SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhrelid = "
                                          f"'\"{schema}\".ev_x'::regclass").values()) == {1}
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:  # the other coordinator
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("INSERT INTO made_x SELECT g, 'v' FROM generate_series(1, 50) g")
        conn.execute("INSERT INTO ev VALUES (1, '2026-01-15')")
        assert conn.execute("SELECT count(*) FROM made_x").fetchone()[0] == 50
        assert conn.execute("SELECT id, v, w FROM base ORDER BY id").fetchall() == [(1, "a", None), (2, "b", None)]


def test_savepoint_and_extended_protocol(gridpg_cluster: Cluster, schema: str, catalogs: dict[str, str]) -> None:
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE FUNCTION mk(n text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN "
                     "EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY)', n); RETURN n; END $$")
        with conn.transaction():
            assert conn.execute("SELECT mk(%s)", ("kept",)).fetchone()[0] == "kept"
            with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():  # a savepoint
                conn.execute("SELECT mk(%s)", ("dropped",))
                conn.execute("INSERT INTO dropped VALUES (1), (1)")
            conn.execute("INSERT INTO kept VALUES (1)")
        assert conn.execute("SELECT to_regclass('dropped') IS NULL, (SELECT count(*) FROM kept)").fetchone() == (True, 1)
    assert set(_on_every_node(catalogs, f"SELECT pg_catalog.to_regclass('\"{schema}\".dropped') IS NULL").values()) == {True}


REFUSALS = [
    # DDL and rows in one call: the rows would have gone to the catalog server's copy
    ("CREATE FUNCTION seed() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE seeded (id int); "
     "INSERT INTO seeded VALUES (1); END $$", "SELECT seed()", "seeded"),
    ("CREATE FUNCTION write_then_ddl() RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO base VALUES (9, 'z'); "
     "EXECUTE 'CREATE TABLE after_write (id int)'; END $$", "SELECT write_then_ddl()", "after_write"),
    # unqualified DDL under the routine's own search_path
    ("CREATE FUNCTION own_path() RETURNS void LANGUAGE plpgsql SET search_path = public AS $$ BEGIN "
     "CREATE TABLE pathed (id int); END $$", "SELECT own_path()", "pathed"),
    # CREATE TABLE AS whose query uses the code's variable (OpenTenBase's xl_create_table):
    # its recorded text names `arg`, which alone is an unknown column (42703 before)
    ("CREATE FUNCTION ctas_arg(arg text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
     "CREATE TABLE ctas_made AS SELECT * FROM base WHERE v > arg; END $$", "SELECT ctas_arg('a')", "ctas_made"),
]


@pytest.mark.parametrize("in_block", [False, True])
def test_refusals_leave_nothing(gridpg_cluster: Cluster, schema: str, catalogs: dict[str, str],
                                datanodes: dict[str, str], in_block: bool) -> None:
    dsn = gridpg_cluster.dsn(0)
    _setup(dsn, schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for create, _, _ in REFUSALS:
            conn.execute(create)
        for _, call, table in REFUSALS:
            if in_block:
                conn.execute("BEGIN")
                conn.execute("INSERT INTO base VALUES (50, 'block')")
            with pytest.raises(psycopg.errors.FeatureNotSupported) as raised:
                conn.execute(call)
            assert "gridpg cannot run" in str(raised.value)
            if in_block:
                conn.execute("ROLLBACK")
            for where in (catalogs, datanodes):
                found = _on_every_node(where, f"SELECT pg_catalog.to_regclass('\"{schema}\".{table}') IS NULL"
                                              f" AND pg_catalog.to_regclass('public.{table}') IS NULL")
                assert set(found.values()) == {True}, (call, found)
        assert conn.execute("SELECT count(*) FROM base").fetchone()[0] == 2


def test_procedure_commit_with_ddl_is_an_error(gridpg_cluster: Cluster, schema: str,
                                               catalogs: dict[str, str]) -> None:
    """A procedure that runs DDL and COMMIT: its capture runs in a block, where the COMMIT
    gets PostgreSQL's 2D000; nothing stays (PostgreSQL itself would run it)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE PROCEDURE stepwise() LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE step1 (id int); "
                     "COMMIT; CREATE TABLE step2 (id int); END $$")
        with pytest.raises(psycopg.errors.InvalidTransactionTermination):
            conn.execute("CALL stepwise()")
    assert set(_on_every_node(catalogs, f"SELECT pg_catalog.to_regclass('\"{schema}\".step1') IS NULL").values()) == {True}


def test_temporary_and_caught_ddl(gridpg_cluster: Cluster, schema: str) -> None:
    """Temporary objects made by code stay the session's (not captured); an EXCEPTION WHEN
    OTHERS block around DDL does not swallow gridpg's stop (SQLSTATE P0004)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("DO $$ BEGIN CREATE TEMP TABLE scratch (i int); INSERT INTO scratch VALUES (1), (2); "
                     "IF (SELECT count(*) FROM scratch) <> 2 THEN RAISE EXCEPTION 'lost'; END IF; END $$")
        conn.execute("DO $$ BEGIN BEGIN CREATE TABLE guarded (i int); EXCEPTION WHEN OTHERS THEN "
                     "RAISE NOTICE 'swallowed'; END; END $$")
        conn.execute("INSERT INTO guarded VALUES (1)")
        assert conn.execute("SELECT count(*) FROM gridpg.dist_table WHERE table_name = 'guarded'").fetchone()[0] == 1


def test_sequence_values_taken_once_and_what_cannot_be_is_refused(gridpg_cluster: Cluster, schema: str,
                                                                  catalogs: dict[str, str],
                                                                  datanodes: dict[str, str]) -> None:
    """Code that takes sequence values and runs DDL runs twice (a first attempt, then the
    capture run): the capture run takes the first attempt's values again, so each value is
    taken once and a notice before the DDL reaches the client once. What cannot be answered
    that way is refused (0A000), and leaves no table behind: a cluster sequence called
    after the DDL (the capture run cannot reach the GTM), code whose second run calls
    differently, and DDL in a block after the code called back through the loopback (the
    catalog server's transaction could no longer PREPARE)."""
    notices: list[str] = []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append(str(diag.message_primary)))
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE SEQUENCE cs")
        conn.execute("DO $$ BEGIN RAISE NOTICE 'before %', nextval('cs'); CREATE TABLE once_t (id int); END $$")
        assert notices == ["before 1"]
        assert conn.execute("SELECT nextval('cs')").fetchone() == (2,)
        refused = [
            ("CREATE FUNCTION after_ddl() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN "
             "CREATE TABLE late_t (id int); RETURN nextval('cs'); END $$", "SELECT after_ddl()", "late_t", "after its DDL"),
            # the first run (armed: gridpg_lb_calls first on its path) takes a value of cs,
            # the capture run (the session's path first) does not
            ("CREATE FUNCTION flips() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
             "IF current_setting('search_path') LIKE 'gridpg_lb_calls%' THEN PERFORM nextval('cs'); END IF; "
             "CREATE TABLE flip_t (id int); END $$", "SELECT flips()", "flip_t", "differently each time"),
        ]
        for create, call, table, why in refused:
            conn.execute(create)
            with pytest.raises(psycopg.errors.FeatureNotSupported, match=why):
                conn.execute(call)
            for where in (catalogs, datanodes):
                found = _on_every_node(where, f"SELECT pg_catalog.to_regclass('\"{schema}\".{table}') IS NULL")
                assert set(found.values()) == {True}, (call, found)
        assert conn.execute("SELECT nextval('cs')").fetchone() == (4,)  # (flips' first run took 3)
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="called back through the loopback"):
            conn.execute("DO $$ BEGIN PERFORM nextval('cs'); CREATE TABLE block_t (id int); END $$")
        conn.execute("ROLLBACK")
        assert conn.execute(f"SELECT to_regclass('\"{schema}\".block_t')").fetchone() == (None,)


def test_schema_change_after_code_over_distributed_tables_in_a_block(gridpg_cluster: Cluster, schema: str) -> None:
    """The catalog server's block that ran such code used postgres_fdw and cannot PREPARE:
    it decides the 2PC instead, committing last in one phase, so DDL after the code commits
    with it (tests/integration/test_code_after_ddl23.py has more). With the session's own
    synchronous_commit off it may not decide: the DDL is refused at once (0A000), not at a
    COMMIT that fails after it seemed to work; in its own transaction it works."""
    _setup(gridpg_cluster.dsn(0), schema)
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE FUNCTION total() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM base $$")
        conn.commit()
        assert conn.execute("SELECT total()").fetchone() == (2,)
        conn.execute("CREATE TABLE after_code (a int)")
        conn.execute("INSERT INTO after_code VALUES (1)")
        conn.commit()
        assert conn.execute("SELECT total(), (SELECT count(*) FROM after_code)").fetchone() == (2, 1)
        conn.commit()
        conn.execute("SET synchronous_commit = off")
        conn.commit()
        assert conn.execute("SELECT total()").fetchone() == (2,)
        try:  # (refused when the code used postgres_fdw there; never accepted, then lost at COMMIT)
            conn.execute("CREATE TABLE after_code2 (a int)")
        except psycopg.errors.FeatureNotSupported as exc:
            assert "cannot change the schema" in str(exc)
            conn.rollback()
            conn.execute("CREATE TABLE after_code2 (a int)")
        conn.commit()
        assert conn.execute("SELECT count(*) FROM after_code2").fetchone() == (0,)
