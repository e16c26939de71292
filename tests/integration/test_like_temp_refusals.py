"""CREATE TABLE of a cluster table LIKE the session's temp table: what gridpg cannot
copy exactly is refused with 0A000 naming it, never dropped (commands/like_temp.py). The
forms that work are compared with PostgreSQL in tests/oracle/corpus/99_like_temp.sql.

PostgreSQL itself copies a serial column's `nextval('tpl_id_seq')` with INCLUDING DEFAULTS,
making the permanent table depend on the session's temp sequence (its default vanishes
with the session); a table of the cluster cannot read that sequence, so it is refused."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

# (temp objects, refused CREATE, word the error names, a CREATE that works after it)
_REFUSED = [
    ("CREATE TEMP TABLE s (id serial PRIMARY KEY, v text)",
     "CREATE TABLE p (LIKE s INCLUDING DEFAULTS)", "DEFAULTS", "CREATE TABLE p (LIKE s INCLUDING INDEXES)"),
    ("CREATE TEMP TABLE s (id serial PRIMARY KEY, v text)",
     "CREATE TABLE p (LIKE s INCLUDING ALL)", "DEFAULTS", "CREATE TABLE p (LIKE s INCLUDING ALL EXCLUDING DEFAULTS)"),
    ("CREATE TEMP TABLE s (id int, v text); CREATE INDEX s_i ON s (lower(v)); COMMENT ON INDEX s_i IS 'note'",
     "CREATE TABLE p (LIKE s INCLUDING ALL)", "COMMENTS", "CREATE TABLE p (LIKE s INCLUDING ALL EXCLUDING COMMENTS)"),
    ("CREATE TYPE pg_temp.mood AS ENUM ('a'); CREATE TEMP TABLE s (id int, m pg_temp.mood)",
     "CREATE TABLE p (LIKE s)", "temporary type", "CREATE TABLE p (id int)"),
]


@pytest.mark.parametrize(("setup", "create", "named", "works"), _REFUSED)
def test_like_temp_refusals(gridpg_cluster: Cluster, schema: str, setup: str, create: str, named: str,
                            works: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in setup.split("; "):
            conn.execute(sql)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=named):
            conn.execute(create)
        # nothing made anywhere; without the refused option it works
        assert conn.execute("SELECT to_regclass('p') IS NULL").fetchone() == (True,)
        conn.execute(works)
        conn.execute("INSERT INTO p (id) VALUES (1)")
        assert conn.execute("SELECT count(*) FROM p").fetchone() == (1,)
        conn.execute("DISCARD TEMP")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
