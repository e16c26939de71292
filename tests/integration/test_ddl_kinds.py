"""Every kind of DDL issue 4 lists reaches every catalog server and datanode, atomically."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _everywhere(dsns: list[str], sql: str, params: tuple[object, ...] = ()) -> list[object]:
    out = []
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            out.append(conn.execute(sql, params).fetchone()[0])
    return out


def test_object_kinds_are_propagated(gridpg_cluster: Cluster, schema: str,
                                     datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    servers = [*datanodes.values(), *catalogs.values()]
    role = f"r_{schema}"[:60]
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        statements = [
            f"CREATE ROLE {role} LOGIN PASSWORD 'pw'",
            "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
            "CREATE DOMAIN posint AS int CHECK (VALUE > 0)",
            "CREATE SEQUENCE counter START 10",
            "CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'",
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE TABLE items (id posint PRIMARY KEY, m mood, note text) DISTRIBUTE BY HASH (id)",
            "CREATE VIEW happy_items AS SELECT id, note FROM items WHERE m = 'happy'",
            "COMMENT ON TABLE items IS 'the items'",
            f"GRANT SELECT ON items TO {role}",
            f"ALTER TABLE items OWNER TO {role}",
            "ALTER TABLE items ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY only_ok ON items USING (m <> 'sad')",
            "ALTER TABLE items RENAME COLUMN note TO remark",
        ]
        for sql in statements:
            conn.execute(sql)
        conn.execute("INSERT INTO items VALUES (1, 'happy', 'a'), (2, 'sad', 'b'), (3, 'happy', 'c')")
        assert conn.execute("SELECT twice(21)").fetchone()[0] == 42
        assert conn.execute("SELECT count(*) FROM items WHERE m = 'happy'").fetchone()[0] == 2
    checks = {
        "role": ("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,), 1),
        "enum": ("SELECT count(*) FROM pg_type WHERE typname = 'mood' AND typnamespace = %s::regnamespace", (schema,), 1),
        "domain": ("SELECT count(*) FROM pg_type WHERE typname = 'posint' AND typtype = 'd'", (), 1),
        "sequence": ("SELECT count(*) FROM pg_class WHERE relname = 'counter' AND relkind = 'S' AND relnamespace = %s::regnamespace", (schema,), 1),
        "function": ("SELECT count(*) FROM pg_proc WHERE proname = 'twice' AND pronamespace = %s::regnamespace", (schema,), 1),
        "extension": ("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'", (), 1),
        "view": ("SELECT count(*) FROM pg_views WHERE viewname = 'happy_items' AND schemaname = %s", (schema,), 1),
        "comment": ("SELECT obj_description(%s::regclass, 'pg_class')", (f"{schema}.items",), "the items"),
        "owner": ("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass", (f"{schema}.items",), role),
        "rls": ("SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (f"{schema}.items",), True),
        "policy": ("SELECT count(*) FROM pg_policies WHERE policyname = 'only_ok' AND schemaname = %s", (schema,), 1),
        "grant": ("SELECT has_table_privilege(%s, %s, 'SELECT')", (role, f"{schema}.items"), True),
        "rename": ("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'remark'", (f"{schema}.items",), 1),
    }
    for what, (sql, params, expected) in checks.items():
        assert _everywhere(servers, sql, params) == [expected] * len(servers), what
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"DROP ROLE {role}")
    assert _everywhere(servers, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)) == [0] * len(servers)


def test_role_created_on_one_coordinator_logs_in_on_the_other(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS app_user")
        conn.execute("CREATE ROLE app_user LOGIN PASSWORD 'secret pw'")
    other = gridpg_cluster.topology.coordinators[1]
    dsn = f"postgresql://app_user:secret%20pw@{other.host}:{other.port}/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "app_user"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://app_user:wrong@{other.host}:{other.port}/postgres")
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("DROP ROLE app_user")


def test_views_over_distributed_tables(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE sales (id int PRIMARY KEY, region text, amount int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO sales SELECT g, 'r' || (g % 3), g FROM generate_series(1, 90) g")
        conn.execute("CREATE VIEW big_sales AS SELECT id, region, amount FROM sales WHERE amount > 45")
        conn.execute("CREATE VIEW by_region AS SELECT region, sum(amount) AS total FROM big_sales GROUP BY region")
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f"SET search_path TO {schema}")
        assert other.execute("SELECT count(*) FROM big_sales").fetchone()[0] == 45
        assert other.execute("SELECT amount FROM big_sales WHERE id = 50").fetchone()[0] == 50
        rows = dict(other.execute("SELECT region, total FROM by_region"))
        assert sum(rows.values()) == sum(range(46, 91))
        assert other.execute(f"SELECT count(*) FROM {schema}.big_sales b JOIN sales s USING (id)").fetchone()[0] == 45


def test_sequences_are_cluster_wide(gridpg_cluster: Cluster, schema: str) -> None:
    """nextval() through either coordinator never hands out a value twice."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        one.execute(f"CREATE SEQUENCE {schema}.ids START 100")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            one.execute(f"SELECT currval('{schema}.ids')")
        seen = []
        for _ in range(30):
            seen.append(one.execute(f"SELECT nextval('{schema}.ids')").fetchone()[0])
            seen.append(two.execute("SELECT nextval(%s) AS id", (f"{schema}.ids",)).fetchone()[0])
        assert len(set(seen)) == len(seen) and min(seen) >= 100
        assert one.execute(f"SELECT currval('{schema}.ids')").fetchone()[0] == seen[-2]
        one.execute(f"SELECT setval('{schema}.ids', 5000)")
        assert two.execute(f"SELECT nextval('{schema}.ids')").fetchone()[0] == 5001


def test_a_role_that_is_not_superuser_creates_and_queries_distributed_tables(
        gridpg_cluster: Cluster, schema: str) -> None:
    """Its shards and the scratch tables of its queries live in gridpg_shards, as itself
    (found by bench/regress_replay.py: "permission denied for schema gridpg_shards")."""
    role = f"own_{schema}"[:60]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}")
    coord = gridpg_cluster.topology.coordinators[1]
    dsn = f"postgresql://{role}:pw@{coord.host}:{coord.port}/postgres"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")
            conn.execute("CREATE TABLE mine (id int PRIMARY KEY, grp int) DISTRIBUTE BY HASH (id)")
            conn.execute("CREATE TABLE other (grp int, label text) DISTRIBUTE BY HASH (label)")
            conn.execute("INSERT INTO mine SELECT g, g % 5 FROM generate_series(1, 50) g")
            conn.execute("INSERT INTO other SELECT g, 'g' || g FROM generate_series(0, 4) g")
            assert conn.execute("SELECT count(*), sum(id) FROM mine").fetchone() == (50, 1275)
            # a join on non-distribution columns: rows are repartitioned through scratch tables
            assert conn.execute(
                "SELECT count(*) FROM mine m JOIN other o ON o.grp = m.grp").fetchone()[0] == 50
            assert conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class "
                                "WHERE oid = 'mine'::regclass").fetchone()[0] == role
            conn.execute("CREATE TABLE copied (id, grp) AS SELECT id, grp FROM mine WHERE id <= 10")
            assert conn.execute("SELECT count(*), sum(id) FROM copied").fetchone() == (10, 55)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM gridpg.dist_table")
            conn.execute("DROP TABLE mine, other, copied")
    finally:
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
