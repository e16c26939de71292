"""Row security policies of distributed tables run on the datanodes, each for its own
shards (commands/policies.py). A policy reading another distributed table (`owner IN
(SELECT id FROM users WHERE ...)`), its own table, or calling code that reads one saw only
the node's part of that table: rows it grants were hidden and writes skipped, silently (42
of 100 rows). Such CREATE/ALTER POLICY is refused (0A000) when the user distributed the
table read (here `DISTRIBUTE BY HASH`; one placed by default becomes REPLICATION instead,
tests/oracle/corpus/99_regress23_findings.sql); policies reading REPLICATION tables,
settings or the row itself answer as in PostgreSQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE docs (id int PRIMARY KEY, owner int, team text) @HASH",
    "CREATE TABLE users (id int PRIMARY KEY, team text) @HASH",
    "CREATE TABLE teams (name text PRIMARY KEY, open bool) @REPLICATED",
    "INSERT INTO docs SELECT g, 1 + g % 40, (ARRAY['red', 'blue', 'green'])[1 + g % 3] FROM generate_series(1, 200) g",
    "INSERT INTO users SELECT g, CASE WHEN g % 2 = 0 THEN 'red' ELSE 'blue' END FROM generate_series(1, 40) g",
    "INSERT INTO teams VALUES ('red', true), ('blue', false), ('green', true)",
    "CREATE FUNCTION open_team(t text) RETURNS bool LANGUAGE sql STABLE AS "
    "$$ SELECT coalesce((SELECT open FROM @S.teams WHERE name = t), false) $$",
    "CREATE FUNCTION member(u int) RETURNS bool LANGUAGE sql STABLE AS "
    "$$ SELECT EXISTS (SELECT 1 FROM @S.users WHERE id = u AND team = 'red') $$",
    "CREATE POLICY by_setting ON docs FOR SELECT USING (owner <= current_setting('app.max_owner', true)::int)",
    "CREATE POLICY by_team ON docs FOR SELECT USING (team IN (SELECT name FROM teams WHERE open))",
    "CREATE POLICY by_code ON docs FOR UPDATE USING (open_team(team))",
    "ALTER TABLE docs ENABLE ROW LEVEL SECURITY",
    "CREATE ROLE @R",
    "GRANT USAGE ON SCHEMA @S TO @R",
    "GRANT SELECT, UPDATE ON docs TO @R",
    "GRANT SELECT ON teams, users TO @R",
]
READS = [
    "SET app.max_owner = '10'",
    "SELECT count(*), sum(id) FROM docs",
    "SELECT team, count(*) FROM docs GROUP BY team ORDER BY team",
    "UPDATE docs SET owner = owner WHERE id <= 60",
    "SELECT id FROM docs WHERE id = 3",
]
REFUSED = [
    "CREATE POLICY by_users ON docs USING (owner IN (SELECT id FROM users WHERE team = 'red'))",
    "CREATE POLICY by_member ON docs USING (member(owner))",
    "CREATE POLICY own_table ON docs FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM docs d WHERE d.owner = owner))",
    "ALTER POLICY by_setting ON docs USING (owner IN (SELECT id FROM users))",
    "CREATE POLICY on_replicated ON teams USING (name IN (SELECT team FROM users))",
]


def _run(dsn: str, schema: str, gridpg: bool) -> list[Any]:
    role = f"{schema}_r"[:60]
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            conn.execute(sql.replace("@REPLICATED", "DISTRIBUTE BY REPLICATION" if gridpg else "")
                         .replace("@HASH", "DISTRIBUTE BY HASH (id)" if gridpg else "")
                         .replace("@S", f'"{schema}"').replace("@R", f'"{role}"'))
        conn.execute(f'SET ROLE "{role}"')
        for sql in READS:
            cur = conn.execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
        conn.execute("RESET ROLE")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.execute(f'DROP ROLE "{role}"')
    return out


def test_policies_reading_whole_tables_answer_as_postgresql(gridpg_cluster: Cluster, plain_pg: str,
                                                            schema: str) -> None:
    expected = _run(plain_pg, schema, gridpg=False)
    assert expected[1][0][0] > 0
    assert _run(gridpg_cluster.dsn(0), schema, gridpg=True) == expected


@pytest.mark.parametrize("sql", REFUSED)
def test_policies_reading_part_of_a_table_are_refused(gridpg_cluster: Cluster, schema: str, sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for setup in SETUP[:3] + SETUP[7:10]:
            conn.execute(setup.replace("@REPLICATED", "DISTRIBUTE BY REPLICATION").replace("@HASH", "DISTRIBUTE BY HASH (id)")
                         .replace("@S", f'"{schema}"'))
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM pg_policies WHERE schemaname = current_schema()").fetchone() == (2,)
