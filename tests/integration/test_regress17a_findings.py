"""What the replay of PostgreSQL 18's event_trigger.sql and its neighbours found (h-regress17a).

Event triggers fire on every server a DDL statement reaches, so gridpg refuses DDL while
the function of one that may fire reads or writes a distributed table (it would read the
catalog server's empty copy, or a datanode's shards). Every enabled event trigger counted,
whatever its event: a `sql_drop` trigger reading a distributed table (event_trigger.sql's
`undroppable`) refused every CREATE FUNCTION, COMMENT or CREATE TABLE, for which PostgreSQL
never fires it (it fires only when the command dropped objects). Statements that drop and
rewrite nothing now leave `sql_drop` and `table_rewrite` triggers out of the check; DROP
and ALTER TABLE stay refused.

Event triggers are the database's, not a schema's: the test drops its own before the
schema goes.
"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_a_sql_drop_trigger_reading_a_distributed_table_refuses_only_what_drops(
        gridpg_cluster: Cluster, schema: str) -> None:
    s = f'"{schema}"'
    trigger = f"r17a_undroppable_{schema}"[:60]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.undroppable (object_type text, object_identity text)")
        conn.execute(f"INSERT INTO {s}.undroppable VALUES ('table', '{schema}.keep')")
        conn.execute(f"""CREATE FUNCTION {s}.undroppable() RETURNS event_trigger LANGUAGE plpgsql AS $$
            DECLARE obj record;
            BEGIN
              FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
                         JOIN {s}.undroppable USING (object_type, object_identity) LOOP
                RAISE EXCEPTION 'object % cannot be dropped', obj.object_identity;
              END LOOP;
            END $$""")
        conn.execute(f'CREATE EVENT TRIGGER "{trigger}" ON sql_drop EXECUTE FUNCTION {s}.undroppable()')
        try:
            # drop nothing: the trigger never fires (each was refused, 0A000)
            conn.execute(f"CREATE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
            conn.execute(f"CREATE OR REPLACE FUNCTION {s}.f() RETURNS int LANGUAGE sql AS 'SELECT 2'")
            conn.execute(f"COMMENT ON FUNCTION {s}.f() IS 'two'")
            conn.execute(f"CREATE TYPE {s}.mood AS ENUM ('a', 'b')")
            conn.execute(f"CREATE SEQUENCE {s}.seq")
            conn.execute(f"CREATE TABLE {s}.keep (a int PRIMARY KEY, b text UNIQUE)")
            conn.execute(f"GRANT SELECT ON {s}.keep TO PUBLIC")
            assert conn.execute(f"SELECT {s}.f()").fetchone()[0] == 2
            # may drop (or rebuild a table, dropping it on the datanodes): refused as before
            for statement in (f"DROP TABLE {s}.keep", f"DROP FUNCTION {s}.f()",
                              f"ALTER TABLE {s}.keep DROP COLUMN b",
                              f"CREATE TABLE {s}.child (a int REFERENCES {s}.keep)"):
                with pytest.raises(psycopg.errors.FeatureNotSupported, match="undroppable"):
                    conn.execute(statement)
            assert conn.execute(f"SELECT count(*) FROM {s}.keep").fetchone()[0] == 0
        finally:
            conn.execute(f'DROP EVENT TRIGGER IF EXISTS "{trigger}"')
        conn.execute(f"DROP TABLE {s}.keep")  # PostgreSQL's answer now: no trigger


def _valid_everywhere(dsns: dict[str, str], index: str) -> dict[str, object]:
    out = {}
    for name, dsn in dsns.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute("SELECT indisvalid FROM pg_catalog.pg_index "
                               "WHERE indexrelid = pg_catalog.to_regclass(%s)", (index,)).fetchone()
            out[name] = None if row is None else row[0]
    return out


def test_reindex_concurrently_of_an_invalid_index_after_a_failed_build(
        gridpg_cluster: Cluster, schema: str, catalogs: dict[str, str], datanodes: dict[str, str]) -> None:
    """create_index.sql:1313-1330. A CREATE UNIQUE INDEX CONCURRENTLY that failed on a
    datanode (duplicate keys) leaves the index INVALID on the catalog server, dropped on the
    datanode's shard where it failed and missing where the build never came. REINDEX INDEX
    CONCURRENTLY rebuilt it on the catalog server first (over the empty copy: valid) and then
    failed on the datanodes: pg_index said valid, \\d showed a unique index, while the keys
    were duplicated (silent); once the duplicates were gone it failed for good (42P01 on the
    datanode the build never reached). Now a failed REINDEX leaves it INVALID, as PostgreSQL
    does, and the one after the fix builds the missing parts on every server first."""
    table, index = f'"{schema}".tab4', f'"{schema}".ind5'
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (c1 int)")
        conn.execute(f"INSERT INTO {table} SELECT g % 50 FROM generate_series(1, 100) g")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"CREATE UNIQUE INDEX CONCURRENTLY ind5 ON {table} (c1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"REINDEX INDEX CONCURRENTLY {index}")
        assert _valid_everywhere(catalogs, index)[gridpg_cluster.topology.coordinators[0].catalog.name] is False
        conn.execute(f"REINDEX TABLE CONCURRENTLY {table}")  # skips it, as PostgreSQL does
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass",
                            (index,)).fetchone()[0] is False
        conn.execute(f"DELETE FROM {table} WHERE c1 IN (SELECT c1 FROM {table} GROUP BY c1 HAVING count(*) > 1)")
        conn.execute(f"INSERT INTO {table} SELECT g FROM generate_series(1, 49) g")
        conn.execute(f"REINDEX INDEX CONCURRENTLY {index}")
        assert set(_valid_everywhere({**catalogs, **datanodes}, index).values()) == {True}
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(f"INSERT INTO {table} SELECT g FROM generate_series(1, 49) g")
        assert conn.execute(f"SELECT count(*), count(DISTINCT c1) FROM {table}").fetchone() == (49, 49)


def test_reindex_schema_of_the_sessions_temp_schema(gridpg_cluster: Cluster) -> None:
    """create_index.sql:1414: `REINDEX SCHEMA CONCURRENTLY pg_temp_N` (the session's temp
    schema, by the name pg_my_temp_schema() gives) went to the datanodes, which have no such
    schema (3F000); it runs on the session's catalog connection, where its temp tables are."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE r17a_temp (c1 int, c2 text)")
        conn.execute("INSERT INTO r17a_temp VALUES (1, 'foo'), (2, 'bar')")
        conn.execute("CREATE INDEX r17a_temp_ind ON r17a_temp (c2)")
        before = conn.execute("SELECT pg_relation_filenode('r17a_temp_ind')").fetchone()[0]
        temp_schema = conn.execute("SELECT pg_my_temp_schema()::regnamespace::text").fetchone()[0]
        conn.execute(f'REINDEX SCHEMA CONCURRENTLY "{temp_schema}"')
        assert conn.execute("SELECT pg_relation_filenode('r17a_temp_ind')").fetchone()[0] != before
        conn.execute(f'REINDEX SCHEMA "{temp_schema}"')
        assert conn.execute("SELECT count(*) FROM r17a_temp WHERE c2 = 'bar'").fetchone()[0] == 1


def test_code_calling_index_maintenance_functions_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """brin_summarize_new_values() and its kin in a DO block, function or view run on the
    catalog server, whose index of a distributed table is the empty copy's: 0, nothing
    summarized, silently. Refused at CREATE (0A000), as the size functions are; the call in
    a statement of its own runs on the shards' indexes."""
    s = f'"{schema}"'
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.b (a int)")
        conn.execute(f"CREATE INDEX b_idx ON {s}.b USING brin (a)")
        for statement in (
                f"DO $$ BEGIN PERFORM brin_summarize_new_values('{schema}.b_idx'); END $$",
                (f"CREATE FUNCTION {s}.m() RETURNS int LANGUAGE sql AS "
                 f"$$ SELECT brin_summarize_new_values('{schema}.b_idx') $$"),
                f"CREATE VIEW {s}.v AS SELECT pg_catalog.gin_clean_pending_list('{schema}.b_idx') AS n"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="inside a function"):
                conn.execute(statement)
        assert conn.execute(f"SELECT brin_summarize_new_values('{schema}.b_idx')").fetchone()[0] == 0


def test_create_table_relays_postgresqls_notices_once(gridpg_cluster: Cluster, schema: str) -> None:
    """CREATE TABLE ran on the catalog servers without relaying their notices: an event
    trigger's RAISE NOTICE (event_trigger.sql's `regress_event_trigger_report_end`) and
    PostgreSQL's own ("merging column ... with inherited definition") were lost; the other
    DDL relayed them. The coordinator's own catalog server speaks, once."""
    s = f'"{schema}"'
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute(f"CREATE TABLE {s}.par (a int, b text)")
        conn.execute(f"CREATE TABLE {s}.chi (a int, c int) INHERITS ({s}.par)")
        assert notices == ['merging column "a" with inherited definition']
