"""What the seventeenth regression-replay pass (h-regress17b: foreign_data and the files of
types, text search, encodings, system views and roles of PostgreSQL 18) found: each test
fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_a_foreign_table_is_never_made_a_member_of_a_distributed_table(gridpg_cluster: Cluster,
                                                                       schema: str) -> None:
    """foreign_data.sql:338-378, 653-668, 788-844: a foreign table made a partition (PARTITION
    OF, ATTACH PARTITION) or an inheritance child (INHERITS, INHERIT) of a distributed table
    exists on every datanode of the table, each of which reads it as its own part: with
    file_fdw, `SELECT count(*)` of a parent with one row of its own and a three-line file
    answered 7, PostgreSQL 4, silently. Refused (0A000) before anything is made; a foreign
    table alone, and beside the distributed one, stays as it was."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE FOREIGN DATA WRAPPER r17b_wrapper")
        try:
            conn.execute("CREATE SERVER r17b_server FOREIGN DATA WRAPPER r17b_wrapper")
            conn.execute("CREATE TABLE r17b_parted (a int) PARTITION BY RANGE (a)")
            conn.execute("CREATE TABLE r17b_parted_2 PARTITION OF r17b_parted FOR VALUES FROM (100) TO (200)")
            conn.execute("CREATE TABLE r17b_plain (a int)")
            conn.execute("CREATE TABLE r17b_copies (a int) DISTRIBUTE BY REPLICATION")
            conn.execute("INSERT INTO r17b_parted VALUES (150)")
            conn.execute("INSERT INTO r17b_plain VALUES (1)")
            for sql in (
                "CREATE FOREIGN TABLE r17b_f1 PARTITION OF r17b_parted FOR VALUES FROM (0) TO (100) "
                "SERVER r17b_server",
                "CREATE FOREIGN TABLE r17b_f2 () INHERITS (r17b_plain) SERVER r17b_server",
                "CREATE FOREIGN TABLE r17b_f3 () INHERITS (r17b_copies) SERVER r17b_server",
            ):
                with pytest.raises(psycopg.errors.FeatureNotSupported,
                                   match="cannot be an? (partition|inheritance child) of distributed table"):
                    conn.execute(sql)
            conn.execute("CREATE FOREIGN TABLE r17b_alone (a int) SERVER r17b_server OPTIONS (quote '~')")
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="cannot be a partition"):
                conn.execute("ALTER TABLE r17b_parted ATTACH PARTITION r17b_alone FOR VALUES FROM (0) TO (100)")
            for sql in ("ALTER FOREIGN TABLE r17b_alone INHERIT r17b_plain",
                        "ALTER TABLE r17b_alone INHERIT r17b_copies"):
                with pytest.raises(psycopg.errors.FeatureNotSupported, match="cannot be an inheritance child"):
                    conn.execute(sql)
            assert conn.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent IN "
                "('r17b_parted'::regclass, 'r17b_plain'::regclass, 'r17b_copies'::regclass)").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM r17b_parted").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM r17b_plain").fetchone() == (1,)
            assert conn.execute("SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'r17b_alone'::regclass"
                                ).fetchone() == (["quote=~"],)
        finally:
            conn.execute("DROP FOREIGN DATA WRAPPER r17b_wrapper CASCADE")
            conn.execute(f"DROP TABLE IF EXISTS {schema}.r17b_parted, {schema}.r17b_plain, {schema}.r17b_copies")


def test_a_syntax_error_is_placed_as_postgresql_places_it(gridpg_cluster: Cluster, plain_pg: str) -> None:
    """foreign_data.sql:80, 189, 302 (psql sends the `;`): `ALTER SERVER s0;` gave "syntax
    error at end of input" where PostgreSQL, which parses the whole query string, says
    `at or near ";"` with the caret on it; a later statement's error in a query string had
    its caret on the first statement, and one at the end of the input had none. Same
    SQLSTATE before; the message and position now PostgreSQL's, from its own parser."""
    texts = ["ALTER SERVER s0;", "SELECT 1 +;", "SELECT 1 + ; SELECT 2", "SELECT 1 +", "SELECT 1 +   ",
             "SELECT 1; SELEC 2;", "SELECT 'é' 'b';", "SELECT 'é' ||", "CREATE FOREIGN TABLE ft1 ();"]

    def outcome(dsn: str, text: str) -> tuple[bytes | None, bytes | None, bytes | None]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            result = conn.pgconn.exec_(text.encode())
            return (result.error_field(ord("C")), result.error_field(ord("M")), result.error_field(ord("P")))

    for text in texts:
        assert outcome(gridpg_cluster.dsn(0), text) == outcome(plain_pg, text), text


def test_a_call_refused_after_it_ran_sends_no_answer_before_its_error(gridpg_cluster: Cluster,
                                                                       schema: str) -> None:
    """xmlmap.sql:33, read through psql: `SELECT query_to_xml('SELECT * FROM s.t', ...)` ran
    on the catalog server over its empty copy of t and its answer (the XML of no rows) went
    to the client as a complete result, followed by the refusal of the dynamic SQL (0A000):
    psql printed the empty table, then the error. Now the error alone, as for any statement
    that fails; the same for PL/pgSQL's EXECUTE naming the table with its schema."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE r17b_rows (k int, v text)")
        conn.execute("INSERT INTO r17b_rows SELECT g, 'v' || g FROM generate_series(1, 5) g")
        conn.execute("CREATE FUNCTION r17b_inner(s text) RETURNS bigint LANGUAGE plpgsql AS $$ "
                     "DECLARE n bigint; BEGIN "
                     "EXECUTE format('SELECT count(*) FROM %I.r17b_rows', s) INTO n; RETURN n; END $$")
        # (called from dynamic text, the inner routine runs as it is, not as its twin: its
        # schema-qualified text reaches the catalog server's copy; h-code21)
        conn.execute("CREATE FUNCTION r17b_count_of(s text) RETURNS bigint LANGUAGE plpgsql AS $$ "
                     "DECLARE n bigint; BEGIN RAISE NOTICE 'counting'; "
                     "EXECUTE 'SELECT r17b_inner($1)' INTO n USING s; RETURN n; END $$")
        for sql in (f"SELECT query_to_xml('SELECT k FROM {schema}.r17b_rows', false, false, '')",
                    f"SELECT r17b_count_of('{schema}')"):
            conn.pgconn.send_query(sql.encode())
            results = []
            while (result := conn.pgconn.get_result()) is not None:
                results.append((result.status, result.ntuples, result.error_field(ord("C"))))
            assert results == [(psycopg.pq.ExecStatus.FATAL_ERROR, 0, b"0A000")], sql
        assert conn.execute("SELECT count(*) FROM r17b_rows").fetchone() == (5,)


def test_create_table_relays_postgresqls_notices(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """test_setup.sql:199, create_misc.sql:27 (read through psql): CREATE TABLE ... INHERITS
    said nothing where PostgreSQL says "merging column ... with inherited definition" and
    "merging multiple inherited definitions of column ...": the catalog servers ran it
    without their notices relayed. Now the coordinator's own catalog server's, once."""
    statements = ["CREATE TABLE r17b_np (a int, b text)", "CREATE TABLE r17b_np2 (a int, c text)",
                  "CREATE TABLE r17b_nc (a int, d int) INHERITS (r17b_np)",
                  "CREATE TABLE r17b_nc2 () INHERITS (r17b_np, r17b_np2)"]

    def notices(dsn: str, where: str) -> list[str]:
        said: list[str] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {where}")
            conn.execute(f"SET search_path TO {where}")
            try:
                def note(d: psycopg.errors.Diagnostic) -> None:
                    said.append(f"{d.severity}: {d.message_primary}")

                conn.add_notice_handler(note)
                for sql in statements:
                    conn.execute(sql)
                conn.remove_notice_handler(note)
            finally:
                if where != schema:
                    conn.execute(f"DROP SCHEMA {where} CASCADE")
        return said

    expected = notices(plain_pg, "r17b_notices")
    assert len(expected) == 2
    assert notices(gridpg_cluster.dsn(0), schema) == expected


def test_a_temp_child_of_a_distributed_table_is_refused_with_the_reason(gridpg_cluster: Cluster,
                                                                        schema: str) -> None:
    """Beside foreign_data.sql:852: `ALTER TABLE temp_t INHERIT t` (PostgreSQL takes it) was
    refused with "gridpg cannot run one utility statement over temporary and other tables";
    now with the reason CREATE TEMP TABLE ... INHERITS gives (0A000 both)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE r17b_parent (a int)")
        conn.execute("CREATE TEMP TABLE r17b_temp_child (a int)")
        for sql in ("ALTER TABLE r17b_temp_child INHERIT r17b_parent",
                    "CREATE TEMP TABLE r17b_temp_child2 () INHERITS (r17b_parent)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported,
                               match='a temporary table cannot inherit from distributed table "r17b_parent"'):
                conn.execute(sql)


def test_drop_cascade_by_a_role_that_cannot_use_every_schema(gridpg_cluster: Cluster, schema: str) -> None:
    """foreign_data.sql:571 read through psql after xmlmap.sql (whose schema the role may not
    use): `DROP ... CASCADE` by a role without USAGE on some schema that holds a HASH table
    failed with "permission denied for schema": gridpg's check that no distribution column
    went with the CASCADE looked every such table up with to_regclass as the client's role."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS r17b_dropper")
        conn.execute("CREATE ROLE r17b_dropper")
        conn.execute("CREATE SCHEMA r17b_private")
        try:
            conn.execute("CREATE TABLE r17b_private.t (a int) DISTRIBUTE BY HASH (a)")
            conn.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO r17b_dropper")
            conn.execute("SET ROLE r17b_dropper")
            conn.execute(f"CREATE TABLE {schema}.r17b_mine (a int, b int)")
            conn.execute(f"CREATE VIEW {schema}.r17b_mine_v AS SELECT * FROM {schema}.r17b_mine")
            conn.execute(f"CREATE TYPE {schema}.r17b_ty AS (x int)")
            conn.execute(f"DROP TYPE {schema}.r17b_ty CASCADE")
            conn.execute(f"DROP TABLE {schema}.r17b_mine CASCADE")
            conn.execute("RESET ROLE")
            assert conn.execute(f"SELECT count(*) FROM pg_class WHERE relname LIKE 'r17b_mine%' "
                                f"AND relnamespace = '{schema}'::regnamespace").fetchone() == (0,)
        finally:
            conn.execute("RESET ROLE")
            conn.execute("DROP SCHEMA r17b_private CASCADE")
            conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM r17b_dropper")
            conn.execute("DROP OWNED BY r17b_dropper")
            conn.execute("DROP ROLE r17b_dropper")
