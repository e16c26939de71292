"""Size functions of distributed tables (commands/sizes.py): every answer equals the sum
over the datanodes, read there directly, of the table's leaves (its shards), one copy of a
REPLICATION table; by name, by regclass and per row over pg_class, with the extended
protocol, from both coordinators, inside a block that rolls back; a per-row argument in a
statement over distributed tables is refused (0A000), never answered from the empty copy."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

_LEAVES = """SELECT coalesce(sum(pg_relation_size(l.r, %(fork)s)), 0), coalesce(sum(pg_table_size(l.r)), 0),
  coalesce(sum(pg_indexes_size(l.r)), 0), coalesce(sum(pg_total_relation_size(l.r)), 0),
  coalesce(sum(coalesce(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0)), 0)
FROM (SELECT relid FROM pg_partition_tree(to_regclass(%(rel)s)) WHERE isleaf
      UNION ALL SELECT to_regclass(%(rel)s) WHERE to_regclass(%(rel)s) IS NOT NULL
        AND NOT EXISTS (SELECT FROM pg_partition_tree(to_regclass(%(rel)s)))) l(r)
JOIN pg_class c ON c.oid = l.r"""


def _on_datanodes(datanodes: dict[str, str], rel: str, fork: str = "main",
                  only: str | None = None) -> tuple[int, ...]:
    """(relation fork, table, indexes, total, toast main) summed over the datanodes."""
    total = [0] * 5
    for group, dsn in sorted(datanodes.items()):
        if only is not None and group != only:
            continue
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(_LEAVES, {"rel": rel, "fork": fork}).fetchone()
        assert row is not None
        total = [a + int(b) for a, b in zip(total, row, strict=True)]
    return tuple(total)


_CALLS = ("SELECT pg_relation_size({r}, 'main'), pg_table_size({r}), pg_indexes_size({r}), "
          "pg_total_relation_size({r})")


@pytest.fixture()
def sized(gridpg_cluster: Cluster, schema: str) -> str:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'CREATE TABLE {s}."Orders" (id int PRIMARY KEY, note text, body text) DISTRIBUTE BY HASH (id)')
        conn.execute(f'CREATE INDEX orders_note ON {s}."Orders" (note)')
        conn.execute(f"CREATE TABLE {s}.codes (code text PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION")
        conn.execute(f"CREATE TABLE {s}.log (line text) DISTRIBUTE BY ROUNDROBIN")
        conn.execute(f'INSERT INTO {s}."Orders" SELECT g, \'n\' || g, NULL FROM generate_series(1, 2000) g')
        conn.execute(f"INSERT INTO {s}.\"Orders\" VALUES (9001, 'big', "
                     "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 1000) g))")
        conn.execute(f"INSERT INTO {s}.codes SELECT 'c' || g, 'label' FROM generate_series(1, 300) g")
        conn.execute(f"INSERT INTO {s}.log SELECT 'line ' || g FROM generate_series(1, 500) g")
    return s


def test_sizes_are_the_datanodes_sums(gridpg_cluster: Cluster, sized: str, datanodes: dict[str, str]) -> None:
    s = sized
    orders = f'{s}."Orders"'
    first_group = min(datanodes)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        expect = _on_datanodes(datanodes, orders)
        assert expect[0] > 0 and expect[4] > 0
        # by name (a literal), by regclass, with a comment and the schema's quoted name
        got = conn.execute("/* size check */ " + _CALLS.format(r=f"'{orders}'")).fetchone()
        assert got == expect[:4]
        assert conn.execute(_CALLS.format(r=f"'{orders}'::regclass")).fetchone() == expect[:4]
        for fork in ("fsm", "vm", "init"):
            assert conn.execute(f"SELECT pg_relation_size('{orders}', %s)", (fork,)).fetchone() == \
                (_on_datanodes(datanodes, orders, fork)[0],)
        # an index; a REPLICATION table's one copy; a ROUNDROBIN table's rows on every node
        assert conn.execute(f"SELECT pg_relation_size('{s}.orders_note')").fetchone() == \
            (_on_datanodes(datanodes, f"{s}.orders_note")[0],)
        codes = _on_datanodes(datanodes, f"{s}.codes", only=first_group)
        assert conn.execute(_CALLS.format(r=f"'{s}.codes'")).fetchone() == codes[:4]
        assert conn.execute(_CALLS.format(r=f"'{s}.log'")).fetchone() == _on_datanodes(datanodes, f"{s}.log")[:4]
        # the TOAST table, per row over pg_class
        assert conn.execute(f"SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = '{orders}'::regclass"
                            ).fetchone() == (expect[4],)
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_size_pretty(pg_relation_size(c.oid)) "
            "FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' ORDER BY 1", (s,)).fetchall()
        assert rows == [
            ("Orders", expect[3], conn.execute("SELECT pg_size_pretty(%s::bigint)", (expect[0],)).fetchone()[0]),
            ("codes", codes[3], conn.execute("SELECT pg_size_pretty(%s::bigint)", (codes[0],)).fetchone()[0]),
            ("log", _on_datanodes(datanodes, f"{s}.log")[3],
             conn.execute("SELECT pg_size_pretty(%s::bigint)", (_on_datanodes(datanodes, f"{s}.log")[0],)).fetchone()[0]),
        ]
        # the extended protocol, a bound parameter; Citus's names
        assert conn.execute("SELECT pg_total_relation_size(%s::regclass)", (orders,)).fetchone() == (expect[3],)
        assert conn.execute(f"SELECT citus_total_relation_size('{orders}'), citus_table_size('{orders}'), "
                            f"citus_relation_size('{orders}')").fetchone() == (expect[3], expect[1], expect[0])
        # next to the table's own rows: evaluated once on the catalog server
        assert conn.execute(f"SELECT count(*), pg_relation_size('{orders}') FROM {orders}").fetchone() == \
            (2001, expect[0])
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as second:
        assert second.execute(_CALLS.format(r=f"'{orders}'")).fetchone() == expect[:4]


def test_a_table_created_in_a_block_that_rolls_back(gridpg_cluster: Cluster, schema: str,
                                                    datanodes: dict[str, str]) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(1)) as conn:
        conn.execute(f"CREATE TABLE {s}.fresh (id int, v text)")
        conn.execute(f"INSERT INTO {s}.fresh SELECT g, 'v' || g FROM generate_series(1, 3000) g")
        size = conn.execute(f"SELECT pg_relation_size('{s}.fresh')").fetchone()
        assert size is not None and size[0] > 3000 * 20  # PostgreSQL's own answer is ~160 kB
        conn.rollback()
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"SELECT pg_relation_size('{s}.fresh')")


def test_a_per_row_argument_over_distributed_tables_is_refused(gridpg_cluster: Cluster, sized: str) -> None:
    s = sized
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(f"SELECT pg_relation_size(c.oid) FROM {s}.\"Orders\" o, pg_class c "
                         "WHERE c.relname = 'Orders' LIMIT 1")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(f"SELECT pg_total_relation_size(%s) FROM {s}.codes LIMIT 1", (f"{s}.codes",))


def _leaf_stats(datanodes: dict[str, str], rel: str, sql: str, only: str | None = None) -> list[int]:
    """`sql` (columns over pg_class lc / pg_stat_all_tables st of each leaf) summed over the datanodes."""
    total: list[int] = []
    for group, dsn in sorted(datanodes.items()):
        if only is not None and group != only:
            continue
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT {sql} FROM (SELECT relid FROM pg_partition_tree(to_regclass(%(rel)s)) WHERE isleaf "
                "UNION ALL SELECT to_regclass(%(rel)s) WHERE NOT EXISTS "
                "(SELECT FROM pg_partition_tree(to_regclass(%(rel)s)))) l(r) "
                "JOIN pg_class lc ON lc.oid = l.r JOIN pg_stat_all_tables st ON st.relid = l.r", {"rel": rel}).fetchone()
        assert row is not None
        total = [a + int(b or 0) for a, b in zip(total or [0] * len(row), row, strict=True)]
    return total


def test_analyze_gives_the_catalog_the_clusters_relpages_and_reltuples(
        gridpg_cluster: Cluster, sized: str, datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    s = sized
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f'/* nightly */ ANALYZE {s}."Orders", {s}.codes')
        conn.execute(f"VACUUM {s}.log")
    orders = _leaf_stats(datanodes, f'{s}."Orders"', "sum(lc.relpages), sum(lc.reltuples)")
    codes = _leaf_stats(datanodes, f"{s}.codes", "sum(lc.relpages), sum(lc.reltuples)", only=min(datanodes))
    log = _leaf_stats(datanodes, f"{s}.log", "sum(lc.relpages), sum(lc.reltuples)")
    assert orders[1] == 2001 and codes[1] == 300 and log[1] == 500
    for dsn in catalogs.values():  # every coordinator's catalog server
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT relname, relpages, reltuples::bigint FROM pg_class "
                                "WHERE relnamespace = %s::regnamespace AND relkind = 'r' ORDER BY 1", (s,)).fetchall()
        assert rows == [("Orders", orders[0], 2001), ("codes", codes[0], 300), ("log", log[0], 500)]


def test_pg_stat_user_tables_counts_the_datanodes_rows(gridpg_cluster: Cluster, sized: str,
                                                       datanodes: dict[str, str]) -> None:
    import time

    s = sized
    query = ("SELECT relname, n_tup_ins, n_tup_del, n_live_tup FROM pg_stat_user_tables "
             "WHERE schemaname = %s ORDER BY relname")
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DELETE FROM {s}."Orders" WHERE id <= 10')
        # Each datanode backend publishes its counters when it goes idle, at most once a second,
        # so every table's count can lag, not only the one just written.
        expected = [("Orders", 2001, 10), ("codes", 300, 0), ("log", 500, 0)]
        deadline = time.monotonic() + 30
        while True:
            got = conn.execute(query, (s,)).fetchall()
            if [tuple(r[:3]) for r in got] == expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert [tuple(r[:3]) for r in got] == expected
    columns = "sum(st.n_tup_ins), sum(st.n_tup_del), sum(st.n_live_tup)"
    assert list(got[0][1:]) == _leaf_stats(datanodes, f'{s}."Orders"', columns)
    assert list(got[1][1:]) == _leaf_stats(datanodes, f"{s}.codes", columns, only=min(datanodes))
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as second:
        row = second.execute("SELECT s.n_tup_ins FROM pg_catalog.pg_stat_all_tables AS s "
                             "WHERE s.relid = %s::regclass", (f'{s}."Orders"',)).fetchone()
    assert row == (2001,)


def test_a_view_calling_size_functions_answers_the_clusters_sizes_when_read(
        gridpg_cluster: Cluster, sized: str, datanodes: dict[str, str]) -> None:
    """A view is answered when read (the coordinator inlines it): it follows the rows added
    after CREATE VIEW, and its stored definition is the client's text."""
    s = sized
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE VIEW {s}.sizes AS SELECT c.relname, pg_relation_size(c.oid) AS bytes, "
                     f"pg_size_pretty(pg_total_relation_size(c.oid)) AS pretty FROM pg_class c "
                     f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{s}'")
        conn.execute(f"CREATE VIEW {s}.sizes_of_log AS SELECT bytes FROM {s}.sizes WHERE relname = 'log'")
        assert "VALUES" not in conn.execute(f"SELECT pg_get_viewdef('{s}.sizes')").fetchone()[0]
        conn.execute(f"INSERT INTO {s}.log SELECT 'more ' || g FROM generate_series(1, 20000) g")
        expected = _on_datanodes(datanodes, f"{s}.log")[0]
        assert conn.execute(f"SELECT bytes FROM {s}.sizes WHERE relname = 'log'").fetchone() == (expected,)
        assert conn.execute(f"SELECT * FROM {s}.sizes_of_log").fetchone() == (expected,)
        assert conn.execute(f"SELECT bytes FROM {s}.sizes WHERE relname = 'log'").fetchone() == \
            conn.execute(f"SELECT pg_relation_size('{s}.log')").fetchone()


@pytest.mark.parametrize("body", [
    "CREATE FUNCTION {s}.f(r regclass) RETURNS bigint LANGUAGE sql AS $$ SELECT pg_relation_size(r) $$",
    "CREATE FUNCTION {s}.f(r regclass) RETURNS bigint LANGUAGE sql RETURN pg_total_relation_size(r)",
    "CREATE FUNCTION {s}.f(r regclass) RETURNS bigint LANGUAGE plpgsql AS "
    "$$ BEGIN RETURN pg_catalog.pg_table_size(r); END $$",
    "CREATE PROCEDURE {s}.p() LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', pg_indexes_size('{s}.codes'); END $$",
    "DO $$ BEGIN RAISE NOTICE '%', pg_relation_size('{s}.log'); END $$",
])
def test_size_functions_in_server_side_code_are_refused(gridpg_cluster: Cluster, sized: str, body: str) -> None:
    """Server-side code runs on the catalog server, which would measure its empty copies."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="inside a function"):
            conn.execute(body.format(s=sized))
        # a body without them, or naming one only in a comment or a string, is accepted
        conn.execute(f"CREATE FUNCTION {sized}.g() RETURNS text LANGUAGE sql AS "
                     "$$ SELECT 'pg_relation_size(x)' -- pg_relation_size(\n $$")
        assert conn.execute(f"SELECT {sized}.g()").fetchone() == ("pg_relation_size(x)",)
        conn.execute(f"DROP FUNCTION {sized}.g()")


def test_a_prepared_statement_answers_the_sizes_of_each_execute(gridpg_cluster: Cluster, schema: str,
                                                                datanodes: dict[str, str]) -> None:
    """PREPARE ... pg_relation_size(...) answers at each EXECUTE (h-citus15: the sizes of
    the moment of the PREPARE were inlined into it and answered ever after, silently)."""
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.grows (id int, v text)")
        conn.execute(f"PREPARE grows_size AS SELECT pg_relation_size('{s}.grows') AS size, count(*) FROM {s}.grows")
        conn.execute("PREPARE any_size(regclass) AS SELECT pg_relation_size($1)")
        assert conn.execute("EXECUTE grows_size").fetchone() == (0, 0)
        conn.execute(f"INSERT INTO {s}.grows SELECT g, repeat('v', 100) FROM generate_series(1, 3000) g")
        size, count = conn.execute("EXECUTE grows_size").fetchone()
        assert count == 3000 and size == _on_datanodes(datanodes, f"{s}.grows")[0] > 0
        assert conn.execute(f"EXECUTE any_size('{s}.grows')").fetchone() == (size,)
