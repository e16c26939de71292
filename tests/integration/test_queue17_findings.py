"""What pgqueuer sends (h-queue17), where a test needs asyncpg or a refusal. Its queue table
has a statement-level trigger; its enqueue with `on_conflict="skip"` (`inserted AS (INSERT
... ON CONFLICT (dedupe_key) WHERE ... DO NOTHING RETURNING ...)`) ran whole on the
catalog server through the table's shadow, where postgres_fdw answered 42P10 "there is no
unique or exclusion constraint matching the ON CONFLICT specification"; it runs as steps
now, and what still goes that way is refused with 0A000. A data-modifying WITH whose
client binds a value in binary (asyncpg's uuid: pgqueuer's dequeue `claimed AS (UPDATE
... SET queue_manager_id = $4 ...)`) failed: a part that does not use that parameter
declared it text with the binary bytes (22021). The forms compared with PostgreSQL are in
tests/oracle/corpus/99_queue17.sql."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import psycopg
import pytest
from psycopg import errors

from gridpg.cluster.control import Cluster

SCHEMA_SQL = """
CREATE TYPE {s}.st AS ENUM ('queued', 'picked');
CREATE TABLE {s}.jobs (id bigserial PRIMARY KEY, status {s}.st NOT NULL, dedupe_key text);
CREATE UNIQUE INDEX jobs_dedupe ON {s}.jobs (dedupe_key) WHERE status = 'queued' AND dedupe_key IS NOT NULL;
CREATE FUNCTION {s}.changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('ch', TG_OP); RETURN NULL; END $$;
CREATE TRIGGER changed AFTER INSERT OR UPDATE ON {s}.jobs EXECUTE FUNCTION {s}.changed();
"""

ENQUEUE_SKIP = """
WITH input AS MATERIALIZED (SELECT k FROM unnest('{{a,b}}'::text[]) AS k),
inserted AS (INSERT INTO jobs (status, dedupe_key) SELECT 'queued', k FROM input
             ON CONFLICT (dedupe_key) WHERE status = 'queued' AND dedupe_key IS NOT NULL DO NOTHING
             RETURNING id)
SELECT count(*) FROM inserted"""


def test_enqueue_with_a_conflict_target_in_with(gridpg_cluster: Cluster, schema: str) -> None:
    """Run as steps now (`RoutineGuard._runs_as_steps`), the coordinator firing the trigger
    of each part; what still goes to the loopback with such an INSERT is refused (0A000)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.format(s=schema))
        conn.execute(f"SET search_path = {schema}")
        assert conn.execute(ENQUEUE_SKIP).fetchone() == (2,)
        assert conn.execute(ENQUEUE_SKIP).fetchone() == (0,)  # (both keys queued already)
        assert conn.execute("SELECT dedupe_key FROM jobs ORDER BY 1").fetchall() == [("a",), ("b",)]
        # a part writing two tables' worth of triggers is not run as steps: through the
        # loopback, the shadow would answer 42P10
        conn.execute("CREATE TABLE other (id int PRIMARY KEY)")
        conn.execute("CREATE TRIGGER changed AFTER INSERT ON other EXECUTE FUNCTION changed()")
        with pytest.raises(errors.FeatureNotSupported):
            conn.execute(ENQUEUE_SKIP.replace("SELECT count(*) FROM inserted",
                                              "INSERT INTO other SELECT id FROM inserted"))


def test_binary_parameters_of_a_data_modifying_with(gridpg_cluster: Cluster, schema: str) -> None:
    async def run() -> list[object]:
        conn = await asyncpg.connect(gridpg_cluster.dsn(0))
        try:
            await conn.execute(f"SET search_path = {schema}")
            await conn.execute("CREATE TABLE w (id int PRIMARY KEY, m uuid, k text UNIQUE)")
            await conn.execute("INSERT INTO w VALUES (1, NULL, 'a'), (2, NULL, 'b')")
            manager = uuid.UUID(int=7)
            answers = [
                await conn.fetchval("WITH c AS (UPDATE w SET m = $1 WHERE id = 1 RETURNING *) "
                                    "SELECT count(*) FROM c", manager),
                await conn.fetchval("WITH c AS (UPDATE w SET m = $1 WHERE k = $2 RETURNING id) "
                                    "SELECT sum(id) FROM c", manager, "b"),
                await conn.fetchval("WITH c AS (DELETE FROM w WHERE m = $1 AND id > $2 RETURNING id) "
                                    "SELECT count(*) FROM c", manager, 1),
            ]
            answers.append(await conn.fetch("SELECT id, m FROM w ORDER BY id"))
            return answers
        finally:
            await conn.close()

    first, second, deleted, rows = asyncio.run(run())
    assert (first, second, deleted) == (1, 2, 1)
    assert [(r["id"], r["m"]) for r in rows] == [(1, uuid.UUID(int=7))]


def test_statement_triggers_through_the_shadows_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """A data-modifying WITH writing two tables with triggers is not run as steps; run whole
    through the shadows, each row it wrote fired the statement triggers once (five
    notifications for two INSERTs; PostgreSQL: once per part). Refused (0A000) instead."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE a (id int PRIMARY KEY, k text UNIQUE)")
        conn.execute("CREATE TABLE b (id int PRIMARY KEY, k text UNIQUE)")
        conn.execute("CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "PERFORM pg_notify('q17', TG_TABLE_NAME); RETURN NULL; END $$")
        for table in ("a", "b"):
            conn.execute(f"CREATE TRIGGER note AFTER INSERT ON {table} EXECUTE FUNCTION note()")
        conn.execute("LISTEN q17")
        with pytest.raises(errors.FeatureNotSupported):
            conn.execute("WITH i AS (INSERT INTO a SELECT g, g::text FROM generate_series(1, 3) g RETURNING id), "
                         "j AS (INSERT INTO b SELECT g, g::text FROM generate_series(1, 2) g RETURNING id) "
                         "SELECT (SELECT count(*) FROM i), (SELECT count(*) FROM j)")
        assert [n.payload for n in conn.notifies(timeout=1)] == []
        # one table with triggers: as steps, its statement trigger once
        conn.execute("WITH i AS (INSERT INTO a SELECT g, g::text FROM generate_series(1, 3) g RETURNING id) "
                     "SELECT count(*) FROM i")
        assert [n.payload for n in conn.notifies(timeout=1)] == ["a"]
