"""What the sixteenth regression-replay pass (h-regress16b: rowsecurity, indexing and the
partitioning files of PostgreSQL 18) found: each test fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_update_moving_rows_under_row_security_is_refused_before_anything_moves(
        gridpg_cluster: Cluster, schema: str) -> None:
    """rowsecurity.sql:1407, 1862, 2049: an UPDATE of the distribution column by a role
    row security applies to deleted the rows on the datanodes (by the DELETE policies, not
    the UPDATE ones) and then failed on PostgreSQL's "COPY FROM not supported with
    row-level security" of the re-insert. Refused up front, naming the statement; the
    owner (row security not applied) still moves rows."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("DROP ROLE IF EXISTS r16b_rls_user")
        conn.execute("CREATE ROLE r16b_rls_user")
        try:
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO r16b_rls_user")
            conn.execute("CREATE TABLE r16b_docs (k int, v text) DISTRIBUTE BY HASH (k)")
            conn.execute("INSERT INTO r16b_docs SELECT g, 'v' || g FROM generate_series(1, 20) g")
            conn.execute("GRANT ALL ON r16b_docs TO r16b_rls_user")
            conn.execute("CREATE POLICY p_all ON r16b_docs USING (k < 100)")
            conn.execute("ALTER TABLE r16b_docs ENABLE ROW LEVEL SECURITY")
            conn.execute("SET ROLE r16b_rls_user")
            for sql in ("UPDATE r16b_docs SET k = k + 100 WHERE k = 3",
                        "UPDATE r16b_docs SET k = k + 1 RETURNING *",
                        "WITH m AS (UPDATE r16b_docs SET k = k + 1 RETURNING *) SELECT * FROM m"):
                with pytest.raises(psycopg.errors.FeatureNotSupported, match="distribution column.*row-level"):
                    conn.execute(sql)
            assert conn.execute("SELECT count(*), sum(k) FROM r16b_docs").fetchone() == (20, 210)
            conn.execute("SET row_security = off")  # PostgreSQL's own refusal
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                conn.execute("UPDATE r16b_docs SET k = k + 100 WHERE k = 3")
            conn.execute("RESET row_security")
            conn.execute("RESET ROLE")
            conn.execute("UPDATE r16b_docs SET k = k + 100 WHERE k = 3")  # the owner: no row security
            assert conn.execute("SELECT count(*), sum(k) FROM r16b_docs").fetchone() == (20, 310)
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"DROP TABLE IF EXISTS {schema}.r16b_docs")
            conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM r16b_rls_user")
            conn.execute("DROP ROLE r16b_rls_user")


def test_code_changing_a_setting_its_reads_depend_on_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """Beside rowsecurity.sql:2388: a function that switches the tenant (set_config, or its
    own `SET app.tenant = ...` clause) and then reads a table whose policy reads
    current_setting('app.tenant') answered the previous tenant's rows: the code ran on the
    catalog server, its reads through the coordinator's session, which still had the old
    value. Refused (0A000); the setting changed by a statement of its own is seen."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("DROP ROLE IF EXISTS r16b_tenant_user")
        conn.execute("CREATE ROLE r16b_tenant_user")
        try:
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO r16b_tenant_user")
            conn.execute("CREATE TABLE r16b_notes (k int, tenant text)")
            conn.execute("INSERT INTO r16b_notes SELECT g, CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END "
                         "FROM generate_series(1, 10) g")
            conn.execute("GRANT SELECT ON r16b_notes TO r16b_tenant_user")
            conn.execute("CREATE POLICY p ON r16b_notes USING (tenant = current_setting('app.tenant', true))")
            conn.execute("ALTER TABLE r16b_notes ENABLE ROW LEVEL SECURITY")
            conn.execute("CREATE FUNCTION r16b_count_of(t text) RETURNS bigint LANGUAGE plpgsql AS $$ "
                         "BEGIN PERFORM set_config('app.tenant', t, true); "
                         "RETURN (SELECT count(*) FROM r16b_notes); END $$")
            conn.execute("CREATE FUNCTION r16b_keys_of(t text) RETURNS text LANGUAGE sql AS $$ "
                         "SELECT set_config('app.tenant', t, true) "
                         "|| (SELECT string_agg(k::text, ',' ORDER BY k) FROM r16b_notes) $$")
            conn.execute("CREATE FUNCTION r16b_count_b() RETURNS bigint LANGUAGE sql SET app.tenant = 'b' "
                         "AS $$ SELECT count(*) FROM r16b_notes $$")
            conn.execute("CREATE FUNCTION r16b_count() RETURNS bigint LANGUAGE sql "
                         "AS $$ SELECT count(*) FROM r16b_notes $$")
            conn.execute("CREATE FUNCTION r16b_switch(t text) RETURNS void LANGUAGE plpgsql AS $$ "
                         "BEGIN PERFORM set_config('app.tenant', t, false); END $$")
            conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO r16b_tenant_user")
            conn.execute("SET ROLE r16b_tenant_user")
            conn.execute("SET app.tenant = 'a'")
            assert conn.execute("SELECT count(*) FROM r16b_notes").fetchone() == (3,)
            for sql in ("SELECT r16b_count_of('b')", "SELECT r16b_keys_of('b')", "SELECT r16b_count_b()"):
                with pytest.raises(psycopg.errors.FeatureNotSupported, match="app.tenant"):
                    conn.execute(sql)  # PostgreSQL: tenant b's 7 rows; gridpg answered tenant a's 3
            assert conn.execute("SELECT r16b_count()").fetchone() == (3,)
            conn.execute("SELECT r16b_switch('b')")  # a statement of its own: seen afterwards
            assert conn.execute("SELECT r16b_count()").fetchone() == (7,)
            assert conn.execute("SELECT count(*) FROM r16b_notes").fetchone() == (7,)
        finally:
            conn.execute("RESET ROLE")
            conn.execute("RESET app.tenant")
            conn.execute(f"DROP TABLE IF EXISTS {schema}.r16b_notes")
            conn.execute(f"DROP FUNCTION IF EXISTS {schema}.r16b_count_of(text), {schema}.r16b_keys_of(text), "
                         f"{schema}.r16b_count_b(), {schema}.r16b_count(), {schema}.r16b_switch(text)")
            conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM r16b_tenant_user")
            conn.execute("DROP ROLE r16b_tenant_user")
