"""Routed statements that name their shard instead of the table (issue 11).

A statement the router sends whole to one node and pins to one shard of a HASH table
(the prepared fast path, callbacks, the simple protocol's literal-free cache) reaches the
datanode naming the shard's partition (planner/shard_route.py), where that gives the
table's answer for the session's role (executor/shard_route.py). These tests check that
the datanode sees the shard's name, and that every case where the relation named makes a
difference gives plain PostgreSQL's answer or error: row-level security, GRANT/REVOKE
and column privileges with SET ROLE, statement triggers, tableoid, RETURNING, FOR UPDATE,
a row moved to another shard, constraint errors, user partitions above the shards.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.planner.hashing import shard_for_text
from tests.conftest import datanode_dsns, run_setup


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("CREATE TABLE sr (id int PRIMARY KEY, v text NOT NULL, n int CHECK (n >= 0)) "
                  "DISTRIBUTE BY HASH (id)")
        c.execute("INSERT INTO sr SELECT g, 'v' || g, g FROM generate_series(1, 100) g")
        yield c


def _node_texts(cluster: Cluster, marker: str) -> list[str]:
    """The last statement of every datanode backend whose text holds `marker`."""
    out: list[str] = []
    for dsn in datanode_dsns(cluster).values():
        with psycopg.connect(dsn, autocommit=True) as node:
            out += [r[0] for r in node.execute(
                "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND strpos(query, %s) > 0",
                (marker,))]
    return out


def test_routed_statements_name_the_shard(gridpg_cluster: Cluster, conn: psycopg.Connection,
                                          schema: str) -> None:
    shards = conn.execute("SELECT shard_count FROM citus_tables WHERE table_name = 'sr'::regclass").fetchone()[0]
    key = 42
    shard = f'gridpg_shards."{schema}.sr_{shard_for_text("int4", str(key), shards)}" AS sr'
    statements = [
        ("/* m1 */ SELECT v FROM sr WHERE id = %s", (key,), [("v42",)]),
        ("/* m2 */ UPDATE sr SET n = %s WHERE id = %s RETURNING id, n", (43, key), [(42, 43)]),
        ("/* m3 */ SELECT id, v FROM sr WHERE id = %s FOR UPDATE", (key,), [(42, "v42")]),
        ("/* m4 */ DELETE FROM sr WHERE id = %s RETURNING *", (key,), [(42, "v42", 43)]),
    ]
    for index, (sql, params, rows) in enumerate(statements, 1):
        for _ in range(2):
            assert conn.execute(sql, params, prepare=True).fetchall() == rows
            if index == 4:
                rows = []
        texts = _node_texts(gridpg_cluster, f"/* m{index} */")
        assert texts and all(shard in t for t in texts), (sql, texts)
    raw = conn.pgconn
    for _ in range(3):  # the simple protocol: the literal-free form, prepared on the node
        result = raw.exec_(b"SELECT v, n FROM sr WHERE id = 17")
        assert (result.get_value(0, 0), result.get_value(0, 1)) == (b"v17", b"17")
    other = f'gridpg_shards."{schema}.sr_{shard_for_text("int4", "17", shards)}" AS sr'
    assert any(other in t for t in _node_texts(gridpg_cluster, "SELECT v, n FROM"))


def test_the_table_is_named_where_its_shard_would_answer_otherwise(
        gridpg_cluster: Cluster, conn: psycopg.Connection, schema: str) -> None:
    """Row security, an owner or privileges that differ between the table and its shards,
    a statement trigger, a user's partitioned parent: the datanode gets the table's name;
    a GRANT keeps the shard route (it reaches the shards), and a leaf partition has shards."""
    role = f"{schema}_who"
    conn.execute(f"CREATE ROLE {role}")
    try:
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute("CREATE TABLE tp (id int, day int, v text) PARTITION BY RANGE (day) DISTRIBUTE BY HASH (id)")
        conn.execute("CREATE TABLE tp_a PARTITION OF tp FOR VALUES FROM (0) TO (10)")
        conn.execute("INSERT INTO tp SELECT g, g % 10, 'p' || g FROM generate_series(1, 50) g")
        cases = [
            ("SELECT v FROM sr WHERE id = %s", None, True),
            ("SELECT v FROM tp WHERE id = %s", None, False),
            ("SELECT v FROM tp_a WHERE id = %s", None, True),
            ("SELECT v FROM sr WHERE id = %s", "ALTER TABLE sr ENABLE ROW LEVEL SECURITY", False),
            ("SELECT v FROM sr WHERE id = %s", "ALTER TABLE sr DISABLE ROW LEVEL SECURITY", True),
            ("SELECT v FROM sr WHERE id = %s", f"GRANT SELECT ON sr TO {role}", True),
            ("SELECT v FROM sr WHERE id = %s", f"SET ROLE {role}", True),
            ("SELECT v FROM sr WHERE id = %s FOR UPDATE", None, False),  # 42501 either way
            ("UPDATE sr SET n = n WHERE id = %s", "RESET ROLE", True),
            ("UPDATE sr SET n = n WHERE id = %s", "CREATE FUNCTION said() RETURNS trigger LANGUAGE plpgsql "
             "AS $$BEGIN RETURN NULL; END$$; CREATE TRIGGER st AFTER UPDATE ON sr "
             "FOR EACH STATEMENT EXECUTE FUNCTION said()", False),
            ("SELECT v FROM sr WHERE id = %s", None, True),  # a statement trigger on UPDATE
            ("SELECT v FROM sr WHERE id = %s", f"ALTER TABLE sr OWNER TO {role}", True),  # the shards' too
            # one shard's ACL no longer its table's (changed on the datanodes behind gridpg's
            # back; an index, DDL, bumps the catalog epoch): the table is named
            ("SELECT v FROM sr WHERE id = %s", "CREATE INDEX sr_n ON sr (n)", False),
        ]
        diverge = (f"DO $$BEGIN IF pg_catalog.to_regclass('gridpg_shards.\"{schema}.sr_0\"') IS NOT NULL THEN "
                   f"EXECUTE 'GRANT INSERT ON gridpg_shards.\"{schema}.sr_0\" TO PUBLIC'; END IF; END$$")
        for step, (sql, change, shard) in enumerate(cases):
            if change is not None and change.startswith("CREATE INDEX"):
                for dsn in datanode_dsns(gridpg_cluster).values():
                    with psycopg.connect(dsn, autocommit=True) as node:
                        node.execute(diverge)
            if change is not None:
                conn.execute(change)
            marked = f"/* step {step} */ {sql}"
            for _ in range(2):
                try:
                    conn.execute(marked, (5,), prepare=True)
                except psycopg.errors.InsufficientPrivilege:
                    assert not shard
            texts = _node_texts(gridpg_cluster, f"/* step {step} */")
            if shard:
                assert texts and all("gridpg_shards." in t for t in texts), (step, texts)
            else:
                assert all("gridpg_shards." not in t for t in texts), (step, texts)
    finally:
        conn.execute("RESET ROLE")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.execute(f"DROP ROLE {role}")


def test_the_shard_route_gives_postgres_answers(gridpg_cluster: Cluster, plain_pg: str,
                                                schema: str) -> None:
    """The same script on plain PostgreSQL and on gridpg: rows, command tags, errors
    (SQLSTATE and message) and notices equal, statement by statement."""
    role = f"{schema}_r"
    plain = _script((plain_pg, plain_pg), schema, role, False)
    try:
        grid = _script((gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)), schema, role, True)
    finally:
        with psycopg.connect(plain_pg, autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            c.execute(f"DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}")
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
            c.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            c.execute(f"DROP ROLE IF EXISTS {role}")
    for step, (want, got) in enumerate(zip(plain, grid, strict=True)):
        assert want == got, (step, want, got)


SETUP = [
    "CREATE TABLE {s}.t (id int PRIMARY KEY, v text NOT NULL, n int CHECK (n >= 0), owner_name text) "
    "DISTRIBUTE BY HASH (id)",
    "INSERT INTO {s}.t SELECT g, 'v' || g, g, CASE WHEN g % 2 = 0 THEN '{r}' ELSE 'other' END "
    "FROM generate_series(1, 60) g",
    "CREATE TABLE {s}.log (id int, event text) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.tp (id int, day int, v text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day) "
    "DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.tp_a PARTITION OF {s}.tp FOR VALUES FROM (0) TO (10)",
    "CREATE TABLE {s}.tp_b PARTITION OF {s}.tp FOR VALUES FROM (10) TO (20)",
    "INSERT INTO {s}.tp SELECT g, g % 20, 'p' || g FROM generate_series(1, 60) g",
    "CREATE ROLE {r}",
    "GRANT USAGE ON SCHEMA {s} TO {r}",
]

# (statement, parameters, as the role?) run as prepared statements, each twice
SCRIPT: list[tuple[str, tuple[object, ...]]] = [
    ("SELECT v, n FROM {s}.t WHERE id = %s", (7,)),
    ("SELECT t.* FROM {s}.t WHERE id = %s", (8,)),
    ("SELECT tableoid::regclass::text, id FROM {s}.t WHERE id = %s", (9,)),
    ("SELECT id, v FROM {s}.t WHERE id = %s FOR UPDATE", (10,)),
    ("UPDATE {s}.t SET n = n + %s WHERE id = %s RETURNING *", (1, 11)),
    ("UPDATE {s}.t SET n = %s WHERE id = %s", (-1, 12)),  # 23514, the table's name in the message
    ("UPDATE {s}.t SET v = NULL WHERE id = %s", (13,)),  # 23502
    ("UPDATE {s}.t SET id = %s WHERE id = %s RETURNING id, v", (1014, 14)),  # moved to another shard
    ("SELECT id, v FROM {s}.t WHERE id = %s", (1014,)),
    ("DELETE FROM {s}.t WHERE id = %s RETURNING id", (15,)),
    ("INSERT INTO {s}.t VALUES (%s, 'x', 1) ON CONFLICT (id) DO UPDATE SET v = 'dup' RETURNING v", (16,)),
    ("SELECT id, day, v FROM {s}.tp WHERE id = %s", (17,)),
    ("SELECT id, day, v FROM {s}.tp_b WHERE id = %s", (18,)),
    ("UPDATE {s}.tp SET day = 3 WHERE id = %s RETURNING tableoid::regclass::text, day", (19,)),
    # privileges: GRANT/REVOKE on the table reach its shards
    ("SET ROLE {r}", ()),
    ("SELECT v FROM {s}.t WHERE id = %s", (20,)),  # 42501
    ("RESET ROLE", ()),
    ("GRANT SELECT ON {s}.t TO {r}", ()),
    ("SET ROLE {r}", ()),
    ("SELECT v FROM {s}.t WHERE id = %s", (20,)),
    ("UPDATE {s}.t SET n = 0 WHERE id = %s", (20,)),  # 42501
    ("SELECT id FROM {s}.t WHERE id = %s FOR UPDATE", (20,)),  # 42501
    ("RESET ROLE", ()),
    ("REVOKE SELECT ON {s}.t FROM {r}", ()),
    ("GRANT SELECT (id, n) ON {s}.t TO {r}", ()),
    ("SET ROLE {r}", ()),
    ("SELECT n FROM {s}.t WHERE id = %s", (21,)),
    ("SELECT v FROM {s}.t WHERE id = %s", (21,)),  # 42501 (column privilege)
    ("RESET ROLE", ()),
    ("GRANT SELECT, UPDATE ON {s}.t TO {r}", ()),
    # row-level security: the table's policies apply, also through the shard route
    ("ALTER TABLE {s}.t ENABLE ROW LEVEL SECURITY", ()),
    ("CREATE POLICY mine ON {s}.t USING (owner_name = current_user)", ()),
    ("SET ROLE {r}", ()),
    ("SELECT v FROM {s}.t WHERE id = %s", (22,)),
    ("SELECT v FROM {s}.t WHERE id = %s", (23,)),  # another's row: no row
    ("UPDATE {s}.t SET n = 5 WHERE id = %s", (23,)),  # UPDATE 0
    ("RESET ROLE", ()),
    ("ALTER TABLE {s}.t DISABLE ROW LEVEL SECURITY", ()),
    ("SET ROLE {r}", ()),
    ("SELECT v FROM {s}.t WHERE id = %s", (23,)),
    ("RESET ROLE", ()),
    # a statement-level trigger fires when the table is named
    ("CREATE FUNCTION {s}.said() RETURNS trigger LANGUAGE plpgsql AS "
     "$$BEGIN RAISE NOTICE 'statement trigger on %', TG_TABLE_NAME; RETURN NULL; END$$", ()),
    ("CREATE TRIGGER st AFTER UPDATE ON {s}.t FOR EACH STATEMENT EXECUTE FUNCTION {s}.said()", ()),
    ("UPDATE {s}.t SET n = n + 1 WHERE id = %s", (24,)),
    ("DROP TRIGGER st ON {s}.t", ()),
    ("UPDATE {s}.t SET n = n + 1 WHERE id = %s", (24,)),
    ("SELECT id, n FROM {s}.t WHERE id = %s", (24,)),
]


def _script(dsns: tuple[str, str], schema: str, role: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        run_setup(conn, SETUP, gridpg, s=schema, r=role)
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        for sql, params in SCRIPT:
            text = sql.format(s=schema, r=role)
            for _ in range(2 if params else 1):
                notices.clear()
                try:
                    cur = conn.execute(text, params or None, prepare=bool(params))
                    got: object = cur.fetchall() if cur.description else cur.statusmessage
                except psycopg.Error as exc:
                    got = (exc.sqlstate, exc.diag.message_primary)
                out.append((got, sorted(notices)))
    return out


def test_shards_follow_the_table_when_it_is_renamed(gridpg_cluster: Cluster, conn: psycopg.Connection,
                                                   schema: str) -> None:
    """Django's RenameModel (ALTER TABLE ... RENAME TO), ALTER TABLE ... SET SCHEMA and ALTER
    SCHEMA ... RENAME TO: the shards kept the old name, and a statement routed to its shard
    (prepared, or any extended-protocol one) failed with 42P01 on the new name; a rolled back
    rename leaves them as they were."""
    query = "SELECT v FROM {t} WHERE id = %s"
    conn.execute("ALTER TABLE sr RENAME TO sr_renamed")
    for prepare in (False, True):
        assert conn.execute(query.format(t="sr_renamed"), (7,), prepare=prepare).fetchall() == [("v7",)]
    conn.execute("BEGIN")
    conn.execute("ALTER TABLE sr_renamed RENAME TO sr_gone")
    assert conn.execute(query.format(t="sr_gone"), (8,), prepare=True).fetchall() == [("v8",)]
    conn.execute("ROLLBACK")
    assert conn.execute(query.format(t="sr_renamed"), (8,), prepare=True).fetchall() == [("v8",)]
    other = f"{schema}_b"
    conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')
    conn.execute(f'CREATE SCHEMA "{other}"')
    try:
        conn.execute(f'ALTER TABLE sr_renamed SET SCHEMA "{other}"')
        assert conn.execute(query.format(t=f'"{other}".sr_renamed'), (9,)).fetchall() == [("v9",)]
        conn.execute(f'ALTER SCHEMA "{other}" RENAME TO "{other}_c"')
        assert conn.execute(query.format(t=f'"{other}_c".sr_renamed'), (10,)).fetchall() == [("v10",)]
        conn.execute(f'UPDATE "{other}_c".sr_renamed SET n = %s WHERE id = %s', (1000, 10))
        assert conn.execute(f'SELECT sum(n) FROM "{other}_c".sr_renamed').fetchone() == (5050 - 10 + 1000,)
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{other}_c" CASCADE')
