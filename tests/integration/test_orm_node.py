"""Statement shapes the Node.js ORMs (knex, sequelize, typeorm, kysely, drizzle,
pg-promise) send, reproduced with psycopg: each test names what gridpg did before it was
fixed. The ORMs themselves run in tests/compat/test_node_orms.py."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _connect(cluster: Cluster, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(cluster.dsn(0), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


def test_a_key_added_to_a_table_of_a_type_made_in_the_same_transaction(gridpg_cluster: Cluster, schema: str) -> None:
    """knex's migration: CREATE TYPE ... AS ENUM, CREATE TABLE with a column of it, then
    ALTER TABLE ... ADD UNIQUE, in one transaction. The unique key makes the default HASH
    table replicated; its rows were staged outside the transaction, where the new type did
    not exist: 42704 type "user_role" does not exist, and the migration failed."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TYPE user_role AS ENUM ('admin', 'user')")
        conn.execute("CREATE DOMAIN user_no AS int CHECK (VALUE > 0)")
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email varchar(255) NOT NULL, "
                     "role user_role DEFAULT 'user', roles user_role[], n user_no)")
        conn.execute("INSERT INTO users (email, role, roles, n) VALUES ('a@x', 'admin', '{admin,user}', 7), "
                     "('b@x', DEFAULT, NULL, 8)")
        conn.execute("ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email)")
        conn.execute("COMMIT")
        assert conn.execute("SELECT method FROM gridpg.dist_table WHERE schema_name = %s AND table_name = 'users'",
                            (schema,)).fetchone() == ("replication",)
        rows = conn.execute("SELECT email, role::text, roles::text, n FROM users ORDER BY id").fetchall()
        assert rows == [("a@x", "admin", "{admin,user}", 7), ("b@x", "user", None, 8)]
        try:
            conn.execute("INSERT INTO users (email) VALUES ('a@x')")
            raise AssertionError("duplicate email accepted")
        except psycopg.errors.UniqueViolation:
            pass
        # a HASH table keyed by a domain made in the transaction keeps its hash
        conn.execute("BEGIN")
        conn.execute("CREATE DOMAIN acct AS int")
        conn.execute("CREATE TABLE ledger (a acct, code text, PRIMARY KEY (a)) ")
        conn.execute("INSERT INTO ledger VALUES (1, 'c1'), (2, 'c2'), (33, 'c33')")
        conn.execute("SELECT create_distributed_table('ledger', 'a', shard_count => 4)")
        conn.execute("COMMIT")
        assert conn.execute("SELECT count(*), sum(a) FROM ledger").fetchone() == (3, 36)
        assert conn.execute("SELECT code FROM ledger WHERE a = 33").fetchone() == ("c33",)


def test_insert_select_into_a_column_of_a_type_made_in_the_same_transaction(gridpg_cluster: Cluster,
                                                                              schema: str) -> None:
    """A migration seeding its new table: CREATE TYPE ... AS ENUM, CREATE TABLE, INSERT ...
    SELECT. The rows pass a catalog connection outside the transaction, where the temp
    table of the target types was spelled with format_type of an unknown type: 42601 at
    "???". Since the lead's 2026-12-07 change the rows are computed in the block itself
    (`catalog_scratch.block_catalog_after_ddl`), which sees the types: PostgreSQL's own
    assignment rules apply, so a CASE of text into the enum is refused (42804) as
    PostgreSQL refuses it, where gridpg had accepted it."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.execute("CREATE DOMAIN small AS int CHECK (VALUE < 100)")
        conn.execute("CREATE TABLE feel (id int PRIMARY KEY, m mood, n small)")
        assert conn.execute("INSERT INTO feel SELECT g, (CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'sad' END)::mood, g "
                            "FROM generate_series(1, 10) g").rowcount == 10
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute("INSERT INTO feel SELECT 11, 'glad', 1")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.execute("CREATE TABLE feel (id int PRIMARY KEY, m mood)")
        with pytest.raises(psycopg.errors.DatatypeMismatch):  # as PostgreSQL: text is no mood
            conn.execute("INSERT INTO feel SELECT g, CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'sad' END "
                         "FROM generate_series(1, 10) g")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.execute("CREATE TABLE feel (id int PRIMARY KEY, m mood)")
        conn.execute("INSERT INTO feel SELECT g, 'ok' FROM generate_series(1, 10) g")
        conn.execute("COMMIT")
        assert conn.execute("SELECT m::text, count(*) FROM feel GROUP BY m").fetchall() == [("ok", 10)]


def test_set_config_in_a_with_query_read_by_an_advisory_lock(gridpg_cluster: Cluster) -> None:
    """kysely's Migrator takes its lock with `WITH set_timeout AS (SELECT set_config(
    'lock_timeout', ..., true)) SELECT pg_advisory_lock(k) FROM set_timeout`: the WITH
    query's name was taken for a table, and every kysely migration failed with 0A000
    "set_config() in a statement over tables". The lock is the cluster's, as alone."""
    lock = ("WITH set_timeout AS (SELECT set_config('lock_timeout', '60000', true) AS config_val) "
            "SELECT pg_advisory_lock(3853314791062309107) FROM set_timeout")
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as a, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as b:
        assert a.execute(lock).fetchall() == [("",)]
        assert b.execute("SELECT pg_try_advisory_lock(3853314791062309107)").fetchone() == (False,)
        assert a.execute("SELECT pg_advisory_unlock(3853314791062309107)").fetchone() == (True,)
        assert b.execute("SELECT pg_try_advisory_lock(3853314791062309107)").fetchone() == (True,)
        assert b.execute("SELECT pg_advisory_unlock(3853314791062309107)").fetchone() == (True,)
        # a real table beside a WITH query is still refused
        b.execute("CREATE TEMP TABLE IF NOT EXISTS cfg_t (x int)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            b.execute("WITH w AS (SELECT 1) SELECT set_config('a.b', 'c', true) FROM w, pg_temp.cfg_t")


def test_in_subquery_run_first_with_a_bound_limit(gridpg_cluster: Cluster, schema: str) -> None:
    """knex binds LIMIT: `... WHERE company_id IN (SELECT id FROM companies WHERE ...)
    ORDER BY ... LIMIT $1` over tables distributed by the tenant. The IN subquery ran
    first into a scratch table; the rest, planned to finish on the coordinator with its
    parameter, was described on the catalog server, which has no scratch tables: 42P01
    relation "gridpg_shards.gp_cte_..." does not exist."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TABLE companies (id int PRIMARY KEY, settings jsonb)")
        conn.execute("CREATE TABLE projects (company_id int, id int, name text, PRIMARY KEY (company_id, id))")
        conn.execute("SELECT create_distributed_table('companies', 'id')")
        conn.execute("SELECT create_distributed_table('projects', 'company_id', colocate_with => 'companies')")
        conn.execute("INSERT INTO companies SELECT g, jsonb_build_object('tier', g % 3) FROM generate_series(1, 12) g")
        conn.execute("INSERT INTO projects SELECT c, p, 'c' || c || 'p' || p FROM generate_series(1, 12) c, "
                     "generate_series(1, 3) p")
        sql = ("SELECT name FROM projects WHERE company_id IN (SELECT id FROM companies WHERE "
               "(settings->>'tier')::int = 2) ORDER BY company_id, id LIMIT %s")
        expected = [("c2p1",), ("c2p2",), ("c2p3",), ("c5p1",)]
        for prepare in (False, True):
            assert conn.execute(sql, (4,), prepare=prepare).fetchall() == expected
            assert conn.execute(sql, (4,), prepare=prepare, binary=True).fetchall() == expected


def test_first_table_of_a_key_type_whose_foreign_key_replicates_its_parent(gridpg_cluster: Cluster,
                                                                            schema: str) -> None:
    """pg-promise's example: `CREATE TABLE xfer (id <type> PRIMARY KEY, src int REFERENCES
    acct (id))` as the cluster's first table keyed by that type. The foreign key made acct
    replicated, and moving it cleared the colocation group xfer was to write: 23503 on
    gridpg.dist_table's colocation_id, and the CREATE TABLE failed (only on a cluster that
    had no table of that key type yet)."""
    with _connect(gridpg_cluster, schema) as conn:
        used = {r[0] for r in conn.execute("SELECT dist_type FROM gridpg.colocation")}
        free = [t for t in ("interval", "time", "oid", "int2", "bpchar", "name", "date") if t not in used]
        if not free:
            pytest.skip("every candidate key type already has a colocation group")
        key = {"bpchar": "char(3)"}.get(free[0], free[0])
        conn.execute("CREATE TABLE acct (id serial PRIMARY KEY, owner text)")
        conn.execute(f"CREATE TABLE xfer (id {key} PRIMARY KEY, src int REFERENCES acct (id))")
        conn.execute(f"CREATE TABLE xfer2 (id {key} PRIMARY KEY, src int REFERENCES acct (id))")
        placed = conn.execute("SELECT table_name, method, colocation_id IS NOT NULL FROM gridpg.dist_table "
                              "WHERE schema_name = %s ORDER BY 1", (schema,)).fetchall()
        assert placed == [("acct", "replication", False), ("xfer", "hash", True), ("xfer2", "hash", True)]
        assert conn.execute("SELECT count(DISTINCT colocation_id) FROM gridpg.dist_table WHERE schema_name = %s "
                            "AND method = 'hash'", (schema,)).fetchone() == (1,)
        sample = {"interval": "1 day", "time": "10:00", "date": "2024-01-01"}.get(free[0], "7")
        conn.execute("INSERT INTO acct (owner) VALUES ('a')")
        conn.execute(f"INSERT INTO xfer (id, src) VALUES (%s::text::{key}, 1)", (sample,))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(f"INSERT INTO xfer2 (id, src) VALUES (%s::text::{key}, 999)", (sample,))
        assert conn.execute("SELECT count(*) FROM xfer JOIN acct ON acct.id = xfer.src").fetchone() == (1,)
