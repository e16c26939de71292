"""Distributed tables: every method, placement checked on the datanodes, atomic DDL, quoting."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

METHODS = {
    "hash": "DISTRIBUTE BY HASH (id)",
    "modulo": "DISTRIBUTE BY MODULO (id)",
    "roundrobin": "DISTRIBUTE BY ROUNDROBIN",
    "replication": "DISTRIBUTE BY REPLICATION",
}


def _count(dsn: str, sql: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


@pytest.mark.parametrize("method", sorted(METHODS))
def test_table_usable_through_the_other_coordinator(
    gridpg_cluster: Cluster, schema: str, method: str, datanodes: dict[str, str]
) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one:
        one.execute(f"CREATE TABLE {schema}.t (id int, v text) {METHODS[method]}")
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        two.execute(f"INSERT INTO {schema}.t SELECT g, 'v' || g FROM generate_series(1, 60) g")
        assert two.execute(f"SELECT count(*) FROM {schema}.t").fetchone()[0] == 60
        # The catalog of coordinator 2 knows the table (what psql's \d reads).
        assert two.execute(
            "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 't'", (schema,)
        ).fetchone()[0] == 1
        kind = two.execute(
            "SELECT method FROM gridpg.dist_table WHERE schema_name = %s AND table_name = 't'", (schema,)
        ).fetchone()[0]
        assert kind == method
    counts = [_count(dsn, f"SELECT count(*) FROM {schema}.t") for dsn in datanodes.values()]
    if method == "replication":
        assert counts == [60] * len(datanodes)
    else:
        assert sum(counts) == 60 and all(c > 0 for c in counts)


def test_hash_rows_land_on_their_shard_and_wrong_rows_are_refused(
    gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]
) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.h (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.h SELECT g, 'x' FROM generate_series(1, 200) g")
    for name, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as direct:
            ids = [r[0] for r in direct.execute(f"SELECT id FROM {schema}.h")]
            assert ids, f"no rows on {name}"
            # Every row sits where the coordinator routes it.
            for value in ids[:20]:
                assert _owner(gridpg_cluster, schema, value) == name
            # A row of another node's shard is refused by the datanode itself.
            foreign = next(i for i in range(1000, 5000) if _owner(gridpg_cluster, schema, i) != name)
            with pytest.raises(psycopg.errors.CheckViolation):
                direct.execute(f"INSERT INTO {schema}.h VALUES ({foreign}, 'wrong')")


def _owner(cluster: Cluster, schema: str, value: int) -> str:
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {schema}.h WHERE id = {value}"))
    for line in plan.splitlines():
        if line.strip().startswith("Nodes:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(plan)


def test_modulo_placement_is_enforced(gridpg_cluster: Cluster, schema: str,
                                      datanodes: dict[str, str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.m (id int, v text) DISTRIBUTE BY MODULO (id)")
        conn.execute(f"INSERT INTO {schema}.m SELECT g, 'x' FROM generate_series(0, 9) g")
    names = sorted(datanodes)
    for index, name in enumerate(names):
        ids = sorted(r[0] for r in psycopg.connect(datanodes[name], autocommit=True).execute(
            f"SELECT id FROM {schema}.m"))
        assert ids == [i for i in range(10) if i % len(names) == index]
        with pytest.raises(psycopg.errors.CheckViolation):
            psycopg.connect(datanodes[name], autocommit=True).execute(
                f"INSERT INTO {schema}.m VALUES ({index + 1}, 'wrong')")


def test_failed_ddl_leaves_no_trace(gridpg_cluster: Cluster, schema: str,
                                    datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    """A conflicting object made by hand on one datanode: the CREATE fails with that node's
    error and SQLSTATE, and no catalog server or datanode keeps anything."""
    second = sorted(datanodes)[1]
    with psycopg.connect(datanodes[second], autocommit=True) as direct:
        direct.execute(f"CREATE TABLE {schema}.clash (x int)")
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.DuplicateTable):
            conn.execute(f"CREATE TABLE {schema}.clash (id int, v text) DISTRIBUTE BY HASH (id)")
    with psycopg.connect(datanodes[second], autocommit=True) as direct:
        direct.execute(f"DROP TABLE {schema}.clash")
    lookup = f"SELECT count(*) FROM pg_catalog.pg_class WHERE relname LIKE '%%clash%%' AND relnamespace = '{schema}'::regnamespace"
    for dsn in [*datanodes.values(), *catalogs.values()]:
        assert _count(dsn, lookup.replace("%%", "%")) == 0
        assert _count(dsn, "SELECT count(*) FROM pg_catalog.pg_prepared_xacts") == 0
    for dsn in catalogs.values():
        assert _count(dsn, f"SELECT count(*) FROM gridpg.dist_table WHERE schema_name = '{schema}' AND table_name = 'clash'") == 0
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.clash (id int, v text) DISTRIBUTE BY HASH (id)")



def test_failed_drop_schema_leaves_every_catalog_as_it_was(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    """DROP SCHEMA first reads the catalog (the sequences it drops), then drops: the drop on
    the coordinator's own catalog server is inside the 2PC too, so a datanode's failure
    leaves the schema on every catalog server (it once committed there on its own)."""
    doomed = f"{schema}_doomed"
    second = sorted(datanodes)[1]
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{doomed}"')
        with psycopg.connect(datanodes[second], autocommit=True) as direct:
            direct.execute(f'DROP SCHEMA "{doomed}"')
        with pytest.raises(psycopg.errors.InvalidSchemaName):
            conn.execute(f'DROP SCHEMA "{doomed}"')
        lookup = f"SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = '{doomed}'"
        for dsn in catalogs.values():
            assert _count(dsn, lookup) == 1
            assert _count(dsn, "SELECT count(*) FROM pg_catalog.pg_prepared_xacts") == 0
        with psycopg.connect(datanodes[second], autocommit=True) as direct:
            direct.execute(f'CREATE SCHEMA "{doomed}"')
        conn.execute(f'DROP SCHEMA "{doomed}"')
        for dsn in [*catalogs.values(), *datanodes.values()]:
            assert _count(dsn, lookup) == 0

WEIRD = ['MixedCase', 'with space', 'quote"inside', 'semi;colon', 'select', 'ünïcødé', "it's"]


@pytest.mark.parametrize("name", WEIRD)
def test_identifiers_that_need_quoting(gridpg_cluster: Cluster, schema: str, name: str,
                                       datanodes: dict[str, str]) -> None:
    q = '"' + name.replace('"', '""') + '"'
    idx = '"' + (name + "_idx").replace('"', '""') + '"'
    col2 = '"' + (name + "2").replace('"', '""') + '"'
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(f"CREATE TABLE {q} ({q} int PRIMARY KEY, other text) DISTRIBUTE BY HASH ({q})")
        conn.execute(f"INSERT INTO {q} ({q}, other) VALUES (1, 'a'), (2, 'b'), (3, %s)", (name,))
        assert conn.execute(f"SELECT other FROM {q} WHERE {q} = 3").fetchone()[0] == name
        conn.execute(f"UPDATE {q} SET other = 'z' WHERE {q} = 1")
        conn.execute(f"CREATE INDEX {idx} ON {q} (other)")
        conn.execute(f"ALTER TABLE {q} ADD COLUMN {col2} int DEFAULT 5")
        assert conn.execute(f"SELECT count(*), sum({col2}) FROM {q}").fetchone() == (3, 15)
        conn.execute(f"COMMENT ON TABLE {q} IS 'c'")
        conn.execute(f"DROP TABLE {q}")
    for dsn in datanodes.values():
        assert _count(dsn, f"SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = '{schema}'") == 0


def test_unhashable_distribution_column_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InvalidTableDefinition):
            conn.execute(f"CREATE TABLE {schema}.f (x float8, y int) DISTRIBUTE BY HASH (x)")
        assert conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = 'f'", (schema,)
        ).fetchone()[0] == 0


def test_unique_index_must_contain_the_distribution_column(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.k (id int, email text) DISTRIBUTE BY HASH (id)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(f"CREATE UNIQUE INDEX ON {schema}.k (email)")
        conn.execute(f"CREATE UNIQUE INDEX ON {schema}.k (id, email)")


def test_default_distribution_follows_xl_rules(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE parent (pid int PRIMARY KEY, name text)")
        conn.execute("CREATE TABLE child (cid int, pid int REFERENCES parent (pid), PRIMARY KEY (cid, pid))")
        conn.execute("CREATE TABLE nokey (f float8, t text)")
        conn.execute("CREATE TABLE nothing (f float8)")
        rows = dict(
            ((r[0], (r[1], r[2])) for r in conn.execute(
                "SELECT table_name, method, dist_column FROM gridpg.dist_table WHERE schema_name = %s",
                (schema,)))
        )
    assert rows["parent"] == ("hash", "pid")
    assert rows["child"] == ("hash", "pid")
    assert rows["nokey"] == ("hash", "t")
    assert rows["nothing"] == ("roundrobin", None)


def test_create_distributed_table_moves_rows(gridpg_cluster: Cluster, schema: str,
                                             datanodes: dict[str, str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE events (id int NOT NULL, kind text DEFAULT 'k', n int, "
                     "CHECK (n >= 0)) DISTRIBUTE BY ROUNDROBIN")
        conn.execute("CREATE INDEX ON events (kind)")
        conn.execute("INSERT INTO events SELECT g, 'k' || (g % 3), g FROM generate_series(1, 100) g")
        conn.execute("SELECT create_distributed_table(%s, %s)", (f"{schema}.events", "id"))
        row = conn.execute("SELECT method, dist_column FROM gridpg.dist_table WHERE schema_name = %s "
                           "AND table_name = 'events'", (schema,)).fetchone()
        assert row == ("hash", "id")
        assert conn.execute("SELECT count(*), sum(n) FROM events").fetchone() == (100, 5050)
        assert conn.execute("SELECT n FROM events WHERE id = 42").fetchone() == (42,)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO events VALUES (500, 'x', -1)")
        conn.execute("SELECT create_reference_table('events')")
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 100
    for dsn in datanodes.values():
        assert _count(dsn, f"SELECT count(*) FROM {schema}.events") == 100


def test_create_table_as_and_like(gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE src (id int PRIMARY KEY, v text DEFAULT 'd') DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO src SELECT g, 'v' || g FROM generate_series(1, 50) g")
        conn.execute("CREATE TABLE copy1 AS SELECT id, v FROM src WHERE id <= 30")
        assert conn.execute("SELECT count(*), sum(id) FROM copy1").fetchone() == (30, 465)
        conn.execute("CREATE TABLE shape (LIKE src INCLUDING DEFAULTS) DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO shape (id) VALUES (1)")
        assert conn.execute("SELECT v FROM shape").fetchone() == ("d",)
        methods = dict(conn.execute("SELECT table_name, method FROM gridpg.dist_table WHERE schema_name = %s",
                                    (schema,)).fetchall())
        assert methods["copy1"] == "hash" and methods["shape"] == "replication"
    total = sum(_count(dsn, f"SELECT count(*) FROM {schema}.copy1") for dsn in datanodes.values())
    assert total == 30


def test_ddl_after_create_distributed_table_in_the_same_session(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    """The session's private catalog view of create_distributed_table ends with it: a table
    created afterwards in the same session is planned as distributed (its rows once went,
    silently, to the catalog server's empty copy) and its DDL reaches only its nodes."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE few (k bigint, v text)")
        conn.execute("SELECT create_distributed_table('few', 'k', shard_count => 8)")
        conn.execute("CREATE TABLE two (k int, v text) DISTRIBUTE BY HASH (k) TO NODE (dn2)")
        conn.execute("ALTER TABLE two OWNER TO CURRENT_USER")  # went to dn1 too: "does not exist"
        conn.execute("INSERT INTO two SELECT g, 'a' FROM generate_series(1, 10) g")
    with psycopg.connect(gridpg_cluster.dsn(1)) as other:
        assert other.execute(f"SELECT count(*) FROM {schema}.two").fetchone() == (10,)
    with psycopg.connect(datanodes["dn2"]) as dn2:
        assert dn2.execute(f"SELECT count(*) FROM {schema}.two").fetchone() == (10,)


def _lock_waiters(dsn: str, schema: str) -> int:
    return _count(dsn, "SELECT count(*) FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_class c ON c.oid = l.relation "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                       f"WHERE NOT l.granted AND n.nspname = '{schema}' AND c.relname = 'h'")


def test_the_same_ddl_through_two_coordinators_queues_instead_of_deadlocking(
    gridpg_cluster: Cluster, schema: str, catalogs: dict[str, str]
) -> None:
    """Two pgbench runs (one per coordinator) each TRUNCATE pgbench_history at start: each
    coordinator went to its own catalog server first, so each held one catalog server and
    waited for the other's, forever (catalog backends carry no GXID: the monitor's deadlock
    detector cannot see the cycle). Catalog servers are now taken in one order."""
    import threading
    import time

    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.h (k int, v int) DISTRIBUTE BY HASH (k)")
    own = [c.catalog.name for c in gridpg_cluster.topology.coordinators[:2]]
    # a direct session share-locks the table on each coordinator's catalog server, so each
    # TRUNCATE waits at the first catalog server it goes to; released in the order that
    # lets the second coordinator's TRUNCATE go first where it waits
    holders = [psycopg.connect(catalogs[name]) for name in own]
    for holder in holders:
        holder.execute(f"LOCK TABLE {schema}.h IN ACCESS SHARE MODE")
    outcome: dict[int, str] = {}

    def truncate(index: int) -> None:
        with psycopg.connect(gridpg_cluster.dsn(index), autocommit=True) as conn:
            try:
                conn.execute(f"TRUNCATE {schema}.h")
                outcome[index] = "ok"
            except psycopg.Error as exc:
                outcome[index] = str(exc)

    threads = [threading.Thread(target=truncate, args=(i,), daemon=True) for i in (0, 1)]
    try:
        for count, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 20
            while sum(_lock_waiters(catalogs[n], schema) for n in own) < count and time.monotonic() < deadline:
                time.sleep(0.05)
        holders[1].commit()
        time.sleep(1.0)  # the second coordinator's TRUNCATE moves on where it waited
        holders[0].commit()
        for thread in threads:
            thread.join(timeout=20)
        hung = [t for t in threads if t.is_alive()]
    finally:
        for holder in holders:
            holder.close()
        for name in own:  # a deadlocked pair is ended, so the schema can be dropped
            with psycopg.connect(catalogs[name], autocommit=True) as conn:
                conn.execute("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
                             f"WHERE query LIKE 'TRUNCATE {schema}.h%' AND pid <> pg_backend_pid()")
        for thread in threads:
            thread.join(timeout=10)
    assert not hung, f"TRUNCATE through both coordinators deadlocked: {outcome}"
    assert outcome == {0: "ok", 1: "ok"}, outcome
