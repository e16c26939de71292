"""The notices gridpg makes itself (a long name's truncation, a transaction-control warning,
`CREATE TABLE IF NOT EXISTS` skipping, ...) follow the session's client_min_messages as
PostgreSQL's own do: pg_dump's `SET client_min_messages = warning` silenced the servers'
notices but not these. And SET LOCAL outside a block warns (25P01) as in PostgreSQL.
Compared with plain PostgreSQL, notice by notice, in both protocols."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

LONG = "a_table_with_a_name_that_is_far_too_long_for_postgres_to_keep_whole_cmm"
ROUND = [
    f"CREATE TABLE IF NOT EXISTS {LONG} (id int PRIMARY KEY)",
    f"SELECT count(*) FROM {LONG}",
    "DO $$ BEGIN RAISE NOTICE 'n1'; RAISE WARNING 'w1'; END $$",
    "DROP TABLE IF EXISTS cmm_no_such_table",
    f"INSERT INTO {LONG} SELECT g FROM generate_series(1, 3) g ON CONFLICT DO NOTHING",
    "BEGIN", "BEGIN", "COMMIT", "COMMIT",
    "SET LOCAL search_path = public",
    "SELECT set_config('search_path', 'public', true)",
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
]


def _notices(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        said: list[tuple[str | None, str | None, str | None]] = []
        conn.add_notice_handler(lambda d: said.append((d.severity_nonlocalized, d.sqlstate, d.message_primary)))
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for level in ("notice", "warning", "error"):
            conn.execute(f"SET client_min_messages = {level}")
            for sql in ROUND:
                said.clear()
                conn.execute(sql)
                out.append((level, sql, list(said)))
            said.clear()
            conn.execute("; ".join(ROUND[:5]).encode(), prepare=False)  # one simple Query
            out.append((level, "simple", list(said)))
        conn.execute("RESET client_min_messages")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_gridpg_notices_follow_client_min_messages(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _notices(plain_pg, schema)
    assert any(n for level, _, n in expected if level == "warning")
    assert _notices(gridpg_cluster.dsn(0), schema) == expected
