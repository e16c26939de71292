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
