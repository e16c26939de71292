"""ALTER TABLE ... ALTER COLUMN <distribution column> TYPE ... [USING ...] of a HASH table
(commands/retype.py): the rows end on the datanode their new hash names, the metadata takes
the new type, both coordinators route by it; a failing cast, or a ROLLBACK, leaves every
node as it was; PostgreSQL's own refusals (a view over the column) come through; REPLICATION
and ROUNDROBIN tables change any column's type as PostgreSQL does."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.planner.hashing import shard_for_value


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f"SET search_path TO {schema}, public")
        yield c


@pytest.fixture()
def other(gridpg_cluster: Cluster, schema: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as c:
        c.execute(f"SET search_path TO {schema}, public")
        yield c


def _layout(conn: psycopg.Connection, schema: str, table: str) -> tuple[object, ...]:
    return conn.execute("SELECT method, dist_column, column_type, shard_count FROM gridpg.dist_table "
                        "WHERE schema_name = %s AND table_name = %s", (schema, table)).fetchone()


def _placed_as_hashed(conn: psycopg.Connection, datanodes: dict[str, str], schema: str, table: str,
                      column: str, key: object = None) -> dict[str, int]:
    """Each datanode's rows of the table: every one on the group its key's hash names
    under the metadata's type (checked row by row); {group: count}."""
    _, _, ctype, count = _layout(conn, schema, table)
    groups = dict(conn.execute("SELECT remainder, datanode_group FROM gridpg.shard "
                               "WHERE schema_name = %s AND table_name = %s", (schema, table)).fetchall())
    counts: dict[str, int] = {}
    for group, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as node:
            keys = [r[0] for r in node.execute(f'SELECT "{column}" FROM "{schema}"."{table}"').fetchall()]
        for value in keys:
            assert groups[shard_for_value(str(ctype), value, int(count))] == group, (value, group)
        counts[group] = len(keys)
    return counts


def _type_of(conn: psycopg.Connection, table: str, column: str) -> str:
    return conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
                        "AND attname = %s", (table, column)).fetchone()[0]


def test_int_to_bigint_as_django_migrates(conn: psycopg.Connection, other: psycopg.Connection,
                                          datanodes: dict[str, str], schema: str) -> None:
    conn.execute("CREATE TABLE app_model (id serial PRIMARY KEY, name text, n int)")
    conn.execute("CREATE INDEX app_model_name ON app_model (name)")
    conn.execute("INSERT INTO app_model (name, n) SELECT 'n' || g, g FROM generate_series(1, 300) g")
    conn.execute("INSERT INTO app_model (id, name, n) VALUES (-5, 'neg', -5), (-2147483648, 'min', 0)")
    before = conn.execute("SELECT * FROM app_model ORDER BY id").fetchall()
    counts = _placed_as_hashed(conn, datanodes, schema, "app_model", "id")
    conn.execute('ALTER TABLE "app_model" ALTER COLUMN "id" TYPE bigint USING "id"::bigint')
    conn.execute('ALTER SEQUENCE "app_model_id_seq" AS bigint')
    assert _layout(conn, schema, "app_model") == ("hash", "id", "int8", 32)
    assert _type_of(conn, "app_model", "id") == "bigint"
    assert conn.execute("SELECT * FROM app_model ORDER BY id").fetchall() == before
    assert _placed_as_hashed(conn, datanodes, schema, "app_model", "id") == counts  # int4 and int8 hash alike
    for c in (conn, other):
        assert c.execute("SELECT name FROM app_model WHERE id = -5").fetchone() == ("neg",)
        assert c.execute("SELECT name FROM app_model WHERE id = -2147483648").fetchone() == ("min",)
    assert other.execute("UPDATE app_model SET n = 77 WHERE id = 150").rowcount == 1
    assert conn.execute("DELETE FROM app_model WHERE id = 151").rowcount == 1
    conn.execute("SELECT setval('app_model_id_seq', 3000000000)")
    assert conn.execute("INSERT INTO app_model (name) VALUES ('big') RETURNING id").fetchone() == (3000000001,)
    assert other.execute("SELECT name, n FROM app_model WHERE id = 3000000001").fetchone() == ("big", None)
    with pytest.raises(psycopg.errors.UniqueViolation):  # the primary key holds
        conn.execute("INSERT INTO app_model (id, name) VALUES (-5, 'again')")
    _placed_as_hashed(conn, datanodes, schema, "app_model", "id")
    for dsn in datanodes.values():  # the index, on the rebuilt table and its shards
        with psycopg.connect(dsn, autocommit=True) as node:
            assert node.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = "
                                "'app_model_name'", (schema,)).fetchone() == (1,)
            assert node.execute("SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%%(name)' AND "
                                "tablename LIKE '%%app_model%%'").fetchone()[0] > 1


def test_identity_int_to_bigint(conn: psycopg.Connection, other: psycopg.Connection,
                                datanodes: dict[str, str], schema: str) -> None:
    conn.execute("CREATE TABLE ident (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text) "
                 "DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO ident (v) SELECT 'v' || g FROM generate_series(1, 100) g")
    conn.execute("ALTER TABLE ident ALTER COLUMN id RESTART WITH 2147483646")
    assert conn.execute("INSERT INTO ident (v) VALUES ('a') RETURNING id").fetchone() == (2147483646,)
    conn.execute("ALTER TABLE ident ALTER COLUMN id TYPE bigint")
    assert _layout(conn, schema, "ident")[2] == "int8"
    # the identity sequence became bigint with the column: the GTM's follows
    assert conn.execute("INSERT INTO ident (v) VALUES ('next') RETURNING id").fetchone() == (2147483647,)
    assert other.execute("INSERT INTO ident (v) VALUES ('beyond') RETURNING id").fetchone() == (2147483648,)
    assert conn.execute("SELECT v FROM ident WHERE id = 2147483648").fetchone() == ("beyond",)
    assert other.execute("SELECT v FROM ident WHERE id = 99").fetchone() == ("v99",)
    assert sum(_placed_as_hashed(conn, datanodes, schema, "ident", "id").values()) == 103


@pytest.mark.parametrize(("target", "using", "ctype", "probe"), [
    ("text", "", "text", "42"),
    ("numeric", "", "numeric", Decimal(42)),
    ("bigint", " USING id * 1000 - 7", "int8", 41993),
])
def test_type_that_moves_rows(conn: psycopg.Connection, other: psycopg.Connection, datanodes: dict[str, str],
                              schema: str, target: str, using: str, ctype: str, probe: object) -> None:
    conn.execute("CREATE TABLE moving (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO moving SELECT g, g * 2 FROM generate_series(-50, 400) g")
    conn.execute(f"ALTER TABLE moving ALTER COLUMN id TYPE {target}{using}")
    assert _layout(conn, schema, "moving")[2] == ctype
    counts = _placed_as_hashed(conn, datanodes, schema, "moving", "id")
    assert sum(counts.values()) == 451
    for c in (conn, other):
        assert c.execute("SELECT v FROM moving WHERE id = %s", (probe,)).fetchone() == (84,)
    assert other.execute("UPDATE moving SET v = -1 WHERE id = %s", (probe,)).rowcount == 1
    assert conn.execute("SELECT v FROM moving WHERE id = %s", (probe,)).fetchone() == (-1,)
    assert conn.execute("DELETE FROM moving WHERE id = %s", (probe,)).rowcount == 1
    assert conn.execute("SELECT count(*) FROM moving").fetchone() == (450,)


def test_text_to_int_colocates_with_int_tables(conn: psycopg.Connection, datanodes: dict[str, str],
                                               schema: str) -> None:
    conn.execute("CREATE TABLE codes (code text PRIMARY KEY, v int) DISTRIBUTE BY HASH (code)")
    conn.execute("CREATE TABLE ints (id int PRIMARY KEY, w int) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO codes SELECT g::text, g FROM generate_series(1, 200) g")
    conn.execute("INSERT INTO ints SELECT g, -g FROM generate_series(1, 200) g")
    conn.execute("ALTER TABLE codes ALTER COLUMN code TYPE int USING code::int")
    same = conn.execute("SELECT count(DISTINCT colocation_id) FROM gridpg.dist_table WHERE schema_name = %s",
                        (schema,)).fetchone()
    assert same == (1,)
    _placed_as_hashed(conn, datanodes, schema, "codes", "code")
    assert conn.execute("SELECT sum(v + w) FROM codes JOIN ints ON code = id").fetchone() == (0,)


def test_failing_cast_leaves_everything_as_it_was(conn: psycopg.Connection, other: psycopg.Connection,
                                                  datanodes: dict[str, str], schema: str) -> None:
    conn.execute("CREATE TABLE codes (code text PRIMARY KEY, v int) DISTRIBUTE BY HASH (code)")
    conn.execute("INSERT INTO codes SELECT g::text, g FROM generate_series(1, 200) g")
    conn.execute("INSERT INTO codes VALUES ('12a', 0)")
    before = conn.execute("SELECT * FROM codes ORDER BY code").fetchall()
    counts = _placed_as_hashed(conn, datanodes, schema, "codes", "code")
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):  # 22P02, as PostgreSQL says
        conn.execute("ALTER TABLE codes ALTER COLUMN code TYPE int USING code::int")
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        conn.execute("ALTER TABLE codes ALTER COLUMN code TYPE int USING code::int")
    assert _layout(conn, schema, "codes")[2] == "text"
    assert _type_of(conn, "codes", "code") == "text"
    assert conn.execute("SELECT * FROM codes ORDER BY code").fetchall() == before
    assert _placed_as_hashed(conn, datanodes, schema, "codes", "code") == counts
    assert other.execute("SELECT v FROM codes WHERE code = '12a'").fetchone() == (0,)
    for dsn in datanodes.values():  # no scratch table left behind
        with psycopg.connect(dsn, autocommit=True) as node:
            assert node.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'gp_retype%'").fetchone() == (0,)


def test_rolled_back_in_a_block(conn: psycopg.Connection, other: psycopg.Connection, datanodes: dict[str, str],
                                schema: str) -> None:
    conn.execute("CREATE TABLE blk (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO blk SELECT g, 'v' || g FROM generate_series(1, 200) g")
    counts = _placed_as_hashed(conn, datanodes, schema, "blk", "id")
    conn.execute("BEGIN")
    conn.execute("ALTER TABLE blk ALTER COLUMN id TYPE text")
    assert conn.execute("SELECT v FROM blk WHERE id = '17'").fetchone() == ("v17",)
    conn.execute("INSERT INTO blk VALUES ('x', 'in block')")
    assert conn.execute("SELECT count(*) FROM blk").fetchone() == (201,)
    assert other.execute("SELECT count(*) FROM gridpg.dist_table WHERE column_type = 'text' "
                         "AND schema_name = %s", (schema,)).fetchone() == (0,)
    conn.execute("ROLLBACK")
    assert _layout(conn, schema, "blk")[2] == "int4"
    assert _placed_as_hashed(conn, datanodes, schema, "blk", "id") == counts
    for c in (conn, other):
        assert c.execute("SELECT v FROM blk WHERE id = 17").fetchone() == ("v17",)
    conn.execute("BEGIN")
    conn.execute("ALTER TABLE blk ALTER COLUMN id TYPE bigint")
    conn.execute("COMMIT")
    assert other.execute("SELECT v FROM blk WHERE id = 18").fetchone() == ("v18",)
    assert _layout(other, schema, "blk")[2] == "int8"


def test_view_over_the_column_refuses_as_postgresql(conn: psycopg.Connection, datanodes: dict[str, str],
                                                    schema: str) -> None:
    conn.execute("CREATE TABLE viewed (id int, v int) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO viewed SELECT g, g FROM generate_series(1, 50) g")
    conn.execute("CREATE VIEW by_id AS SELECT id FROM viewed")
    conn.execute("CREATE VIEW by_v AS SELECT v FROM viewed WHERE v > 10")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="used by a view or rule"):
        conn.execute("ALTER TABLE viewed ALTER COLUMN id TYPE bigint")
    conn.execute("DROP VIEW by_id")
    conn.execute("ALTER TABLE viewed ALTER COLUMN id TYPE text")
    assert conn.execute("SELECT count(*) FROM by_v").fetchone() == (40,)
    _placed_as_hashed(conn, datanodes, schema, "viewed", "id")


def test_foreign_keys(conn: psycopg.Connection, datanodes: dict[str, str], schema: str) -> None:
    conn.execute("CREATE TABLE kinds (k int PRIMARY KEY) DISTRIBUTE BY REPLICATION")
    conn.execute("INSERT INTO kinds VALUES (1), (2)")
    conn.execute("CREATE TABLE parent (id int PRIMARY KEY, k int REFERENCES kinds) DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE TABLE child (pid int REFERENCES parent, n int) DISTRIBUTE BY HASH (pid)")
    conn.execute("INSERT INTO parent SELECT g, 1 + g % 2 FROM generate_series(1, 100) g")
    conn.execute("INSERT INTO child SELECT g, g FROM generate_series(1, 100) g")
    # the colocated child's key would refer across colocation groups: refused, nothing changed
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="no longer be colocated") as caught:
        conn.execute("ALTER TABLE parent ALTER COLUMN id TYPE bigint")
    assert "drop the foreign key" in (caught.value.diag.message_hint or "")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="no longer be colocated"):
        conn.execute("ALTER TABLE child ALTER COLUMN pid TYPE bigint")
    assert _layout(conn, schema, "parent")[2] == "int4"
    conn.execute("ALTER TABLE parent ALTER COLUMN id TYPE int4, ALTER COLUMN k TYPE bigint")  # the same type
    # Django's order: drop the key, change both columns, add the key again
    conn.execute("ALTER TABLE child DROP CONSTRAINT child_pid_fkey")
    conn.execute("ALTER TABLE parent ALTER COLUMN id TYPE bigint USING id::bigint")
    conn.execute("ALTER TABLE child ALTER COLUMN pid TYPE bigint USING pid::bigint")
    conn.execute("ALTER TABLE child ADD CONSTRAINT child_pid_fkey FOREIGN KEY (pid) REFERENCES parent")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute("INSERT INTO child VALUES (1000, 0)")
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # its own key to the reference table kept
        conn.execute("INSERT INTO parent VALUES (1000, 3)")
    assert conn.execute("SELECT count(*) FROM parent JOIN child ON pid = id").fetchone() == (100,)
    _placed_as_hashed(conn, datanodes, schema, "parent", "id")
    _placed_as_hashed(conn, datanodes, schema, "child", "pid")


def test_unique_key_and_index_kept(conn: psycopg.Connection, datanodes: dict[str, str], schema: str) -> None:
    conn.execute("CREATE TABLE keyed (id int, code text, UNIQUE (id, code)) DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE INDEX keyed_code ON keyed (code)")
    conn.execute("COMMENT ON TABLE keyed IS 'kept'")
    conn.execute("ALTER TABLE keyed SET (fillfactor = 70, toast.autovacuum_enabled = off)")
    conn.execute("ALTER TABLE keyed ALTER COLUMN code SET STATISTICS 321, ALTER COLUMN code SET STORAGE EXTERNAL")
    conn.execute("INSERT INTO keyed SELECT g, 'c' || g FROM generate_series(1, 100) g")
    conn.execute("ALTER TABLE keyed ALTER COLUMN id TYPE numeric(12, 2)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO keyed VALUES (7, 'c7')")
    indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'keyed'")}
    assert indexes == {"keyed_id_code_key", "keyed_code"}
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as node:
            on_node = {r[0] for r in node.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'keyed' AND schemaname = %s", (schema,))}
            assert on_node == indexes
            leaves = node.execute(
                "SELECT count(*), count(*) FILTER (WHERE c.reloptions = '{fillfactor=70}' AND "
                "t.reloptions = '{autovacuum_enabled=off}') FROM pg_partition_tree(%s::regclass) p "
                "JOIN pg_class c ON c.oid = p.relid LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE p.isleaf",
                (f'"{schema}".keyed',)).fetchone()
            assert leaves[0] > 0 and leaves[0] == leaves[1]
            assert node.execute("SELECT attstattarget, attstorage FROM pg_attribute WHERE attname = 'code' AND "
                                "attrelid = %s::regclass", (f'"{schema}".keyed',)).fetchone() == (321, "e")
    assert conn.execute("SELECT obj_description('keyed'::regclass)").fetchone() == ("kept",)
    assert _layout(conn, schema, "keyed")[2] == "numeric"
    _placed_as_hashed(conn, datanodes, schema, "keyed", "id")


def test_combined_and_unsupported_subcommands(conn: psycopg.Connection, schema: str) -> None:
    conn.execute("CREATE TABLE combo (id int, v int, w text) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO combo SELECT g, g, g::text FROM generate_series(1, 20) g")
    conn.execute("ALTER TABLE combo ALTER COLUMN id TYPE bigint, ALTER COLUMN w TYPE int USING w::int + 1, "
                 "ALTER COLUMN v SET DEFAULT 5")
    assert conn.execute("SELECT sum(w) FROM combo").fetchone() == (230,)
    conn.execute("INSERT INTO combo (id) VALUES (99)")
    assert conn.execute("SELECT v FROM combo WHERE id = 99").fetchone() == (5,)
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="other ALTER TABLE subcommands"):
        conn.execute("ALTER TABLE combo ALTER COLUMN id TYPE text, ADD COLUMN z int")
    with pytest.raises(psycopg.errors.InvalidTableDefinition, match="cannot be a distribution column"):
        conn.execute("ALTER TABLE combo ALTER COLUMN id TYPE float8")
    assert _layout(conn, schema, "combo")[2] == "int8"


def test_drop_distribution_column_is_refused(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE dropped (id int, v int) DISTRIBUTE BY HASH (id)")
    with pytest.raises(psycopg.errors.InvalidTableDefinition, match="partition key") as caught:
        conn.execute("ALTER TABLE dropped DROP COLUMN id")
    assert "distribution column" in (caught.value.diag.message_hint or "")
    assert "alter_distributed_table" in (caught.value.diag.message_hint or "")
    conn.execute("ALTER TABLE dropped DROP COLUMN v")  # any other column goes


@pytest.mark.parametrize("method", ["REPLICATION", "ROUNDROBIN"])
def test_other_methods_change_any_column(conn: psycopg.Connection, other: psycopg.Connection, method: str) -> None:
    conn.execute(f"CREATE TABLE plain (id int NOT NULL, code text) DISTRIBUTE BY {method}")
    conn.execute("INSERT INTO plain SELECT g, g::text FROM generate_series(1, 30) g")
    conn.execute("ALTER TABLE plain ALTER COLUMN id TYPE bigint, ALTER COLUMN code TYPE int USING code::int")
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        conn.execute("ALTER TABLE plain ALTER COLUMN id TYPE text, ALTER COLUMN code TYPE int USING 'x'::int")
    assert other.execute("SELECT sum(code), sum(id) FROM plain").fetchone() == (465, 465)
    assert _type_of(other, "plain", "code") == "integer"


def test_privileges_kept(conn: psycopg.Connection, schema: str) -> None:
    role = f"r_{schema}"[:60]
    conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    conn.execute(f'CREATE ROLE "{role}"')
    try:
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute("CREATE TABLE priv (id int PRIMARY KEY, v int, secret text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO priv SELECT g, g, 's' FROM generate_series(1, 40) g")
        conn.execute(f'GRANT SELECT (id, v) ON priv TO "{role}"')
        conn.execute(f'GRANT INSERT ON priv TO "{role}"')
        conn.execute("ALTER TABLE priv ALTER COLUMN id TYPE text")
        conn.execute(f'SET ROLE "{role}"')
        assert conn.execute("SELECT v FROM priv WHERE id = '5'").fetchone() == (5,)
        assert conn.execute("SELECT count(v) FROM priv").fetchone() == (40,)
        conn.execute("INSERT INTO priv VALUES ('x', 1, 's')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT secret FROM priv WHERE id = '5'")
    finally:
        conn.execute("RESET ROLE")
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


def test_inheritance_tree_changes_with_its_root(conn: psycopg.Connection, schema: str) -> None:
    """Refused until h-inherit24 (commands/retype_tree.py): the children change with the
    root, as in PostgreSQL; a child's inherited column stays PostgreSQL's 42P16."""
    conn.execute("CREATE TABLE ip (id int, v int) DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE TABLE ic (w int) INHERITS (ip)")
    conn.execute("INSERT INTO ic VALUES (2, 2, 2)")
    with pytest.raises(psycopg.errors.InvalidTableDefinition, match="inherited column"):
        conn.execute("ALTER TABLE ic ALTER COLUMN id TYPE bigint")
    conn.execute("ALTER TABLE ip ALTER COLUMN id TYPE bigint")
    assert _type_of(conn, "ic", "id") == "bigint"
    assert conn.execute("SELECT * FROM ip WHERE id = 2").fetchall() == [(2, 2)]


def test_partitioned_table(conn: psycopg.Connection, datanodes: dict[str, str], schema: str) -> None:
    conn.execute("CREATE TABLE pt (id int, at date NOT NULL, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at) "
                 "DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE TABLE pt_2024 PARTITION OF pt FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    conn.execute("CREATE TABLE pt_2025 PARTITION OF pt FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    conn.execute("INSERT INTO pt SELECT g, '2024-06-01'::date + g, g FROM generate_series(1, 300) g")
    before = conn.execute("SELECT tableoid::regclass::text, count(*) FROM pt GROUP BY 1 ORDER BY 1").fetchall()
    conn.execute("ALTER TABLE pt ALTER COLUMN id TYPE text")
    types = conn.execute("SELECT DISTINCT column_type FROM gridpg.dist_table WHERE schema_name = %s",
                         (schema,)).fetchall()
    assert types == [("text",)]
    assert conn.execute("SELECT tableoid::regclass::text, count(*) FROM pt GROUP BY 1 ORDER BY 1").fetchall() == before
    assert conn.execute("SELECT v FROM pt WHERE id = '250'").fetchone() == (250,)
    for leaf in ("pt_2024", "pt_2025"):
        _placed_as_hashed(conn, datanodes, schema, leaf, "id")


def test_other_sessions_wait_and_then_see_the_new_table(gridpg_cluster: Cluster, conn: psycopg.Connection,
                                                        schema: str) -> None:
    """int -> bigint keeps every row on its shard: statements of other sessions that wait on
    the change's locks run afterwards with the right rows (reads, writes, both coordinators);
    a table the change does not touch is not held up."""
    import threading
    import time

    conn.execute("CREATE TABLE busy (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE TABLE calm (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO busy SELECT g, g FROM generate_series(1, 200) g")
    conn.execute("INSERT INTO calm SELECT g FROM generate_series(1, 10) g")
    results: dict[str, object] = {}

    def run(name: str, coordinator: int, sql: str) -> None:
        try:
            with psycopg.connect(gridpg_cluster.dsn(coordinator), autocommit=True) as c:
                c.execute(f"SET search_path TO {schema}; SET statement_timeout = '30s'")
                cur = c.execute(sql)
                results[name] = cur.fetchall() if cur.description else cur.rowcount
        except psycopg.Error as exc:
            results[name] = exc

    conn.execute("BEGIN")
    conn.execute("ALTER TABLE busy ALTER COLUMN id TYPE bigint USING id::bigint")
    run("calm", 1, "SELECT count(*) FROM calm")
    assert results["calm"] == [(10,)]
    threads = [threading.Thread(target=run, args=args) for args in (
        ("read", 1, "SELECT v FROM busy WHERE id = 7"),
        ("update", 0, "UPDATE busy SET v = -8 WHERE id = 8"),
        ("delete", 1, "DELETE FROM busy WHERE id = 9"),
        ("insert", 0, "INSERT INTO busy VALUES (100000, 1)"),
        ("count", 1, "SELECT count(*) FROM busy"))]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    assert all(thread.is_alive() for thread in threads)  # waiting on the change's locks
    conn.execute("COMMIT")
    for thread in threads:
        thread.join(40)
    assert results["read"] == [(7,)] and results["update"] == 1 and results["delete"] == 1, results
    assert results["insert"] == 1 and results["count"] in ([(199,)], [(200,)], [(201,)]), results
    assert conn.execute("SELECT v FROM busy WHERE id = 8").fetchone() == (-8,)
    assert conn.execute("SELECT count(*) FROM busy WHERE id IN (9, 100000)").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM busy").fetchone() == (200,)


def test_waiting_statements_never_read_by_the_old_hash(gridpg_cluster: Cluster, conn: psycopg.Connection,
                                                       schema: str) -> None:
    """int -> numeric moves rows: point reads and writes of other sessions that waited on the
    change's locks (on a datanode, or on the catalog server describing a new statement form)
    were routed by the old hash; each gives the right answer or is cancelled (57014), never
    an empty answer for a row that exists."""
    import threading
    import time

    conn.execute("CREATE TABLE shifting (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO shifting SELECT g, g FROM generate_series(1, 200) g")
    results: dict[int, object] = {}
    sessions = {key: psycopg.connect(gridpg_cluster.dsn(key % 2), autocommit=True) for key in range(1, 17)}
    for key, c in sessions.items():
        c.execute(f"SET search_path TO {schema}; SET statement_timeout = '30s'")
        c.execute("SELECT v FROM shifting WHERE id = %s", (key,))

    def read(key: int) -> None:
        try:
            sql = "SELECT v FROM shifting WHERE id = %s" if key % 3 else "UPDATE shifting SET v = v WHERE id = %s"
            cur = sessions[key].execute(sql, (key,))
            results[key] = cur.fetchall() if cur.description else cur.rowcount
        except psycopg.Error as exc:
            results[key] = exc

    conn.execute("BEGIN")
    conn.execute("ALTER TABLE shifting ALTER COLUMN id TYPE numeric")
    threads = [threading.Thread(target=read, args=(key,)) for key in range(1, 17)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    assert all(thread.is_alive() for thread in threads), results  # waiting on the change's locks
    conn.execute("COMMIT")
    for thread in threads:
        thread.join(40)
    for key, got in results.items():
        right = 1 if key % 3 == 0 else [(key,)]
        assert got == right or isinstance(got, psycopg.errors.QueryCanceled), (key, got)
    assert len(results) == 16
    for c in sessions.values():
        c.close()
    assert conn.execute("SELECT count(*) FROM shifting WHERE id BETWEEN 1 AND 16").fetchone() == (16,)
