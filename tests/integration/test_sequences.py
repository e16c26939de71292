"""Sequences stay unique across coordinators in every form gridpg serves, and the forms
it cannot serve exactly are refused with a SQLSTATE (never served from a copy)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _connect(cluster: Cluster, index: int, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(cluster.dsn(index), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


def test_values_unique_across_coordinators_and_forms(gridpg_cluster: Cluster, schema: str) -> None:
    one, two = _connect(gridpg_cluster, 0, schema), _connect(gridpg_cluster, 1, schema)
    with one, two:
        one.execute("CREATE SEQUENCE u INCREMENT BY 3")
        one.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        seen: list[int] = []
        for round_ in range(20):
            a, b = one.execute("SELECT nextval('u'), nextval('u') + 0 AS x").fetchone()
            seen += [a, b]
            seen.append(two.execute("SELECT nextval('u')").fetchone()[0])
            two.execute("INSERT INTO t VALUES (nextval('u'), %s), (nextval('u'), %s)", (round_, round_))
            if round_ == 10:
                one.execute("ALTER SEQUENCE u INCREMENT BY 7")  # coordinator 2 holds a range
        seen += [r[0] for r in one.execute("SELECT id FROM t")]
        assert len(seen) == len(set(seen)) == 20 * 5
        b = two.execute("SELECT nextval('u')").fetchone()[0]
        a = one.execute("SELECT nextval('u')").fetchone()[0]
        assert a != b and (a - b) % 7 == 0  # the new increment holds on both


@pytest.mark.parametrize(
    "sql",
    [
        # (a SELECT's per-row nextval is served: over no distributed table below, over
        # distributed ones named without their schema in tests/oracle/corpus/99_lead16_findings.sql)
        # a whole SET item is served (tests/oracle/corpus/89_nextval_per_row.sql); inside an
        # expression, or setting the distribution column, it is not
        "UPDATE t2 SET v = nextval('q') + 1",
        "UPDATE t2 SET id = nextval('q')",
        # a whole select-list item is served (tests/integration/test_insert_nextval.py); inside
        # an expression or a DISTINCT it is not
        "INSERT INTO t2 SELECT nextval('q') + 1, 1",
        "INSERT INTO t2 SELECT DISTINCT nextval('q'), 1",
        "SELECT 1 WHERE nextval('q') > 0",
    ],
)
def test_forms_evaluated_per_row_are_refused(gridpg_cluster: Cluster, schema: str, sql: str) -> None:
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS q")
        conn.execute("CREATE TABLE IF NOT EXISTS t2 (id bigint, v bigint) DISTRIBUTE BY HASH (id)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        assert conn.execute("SELECT nextval('q')").fetchone() == (1,)


def test_nextval_per_row_over_no_distributed_table_is_served(gridpg_cluster: Cluster, schema: str) -> None:
    """`SELECT nextval('s') FROM generate_series(1, n)` runs on the catalog server, each call
    the GTM's next value: unique across coordinators, and currval/lastval follow."""
    with _connect(gridpg_cluster, 0, schema) as one, _connect(gridpg_cluster, 1, schema) as two:
        one.execute("CREATE SEQUENCE IF NOT EXISTS qr")
        a = [r[0] for r in one.execute("SELECT nextval('qr') FROM generate_series(1, 3)")]
        b = [r[0] for r in two.execute("SELECT nextval('qr') FROM generate_series(1, 3)")]
        assert a == [1, 2, 3] and len(set(a + b)) == 6
        assert one.execute("SELECT currval('qr'), lastval()").fetchone() == (3, 3)


def test_extended_protocol_parameters_and_binary_results(gridpg_cluster: Cluster, schema: str) -> None:
    import asyncio

    import asyncpg

    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE e")
        name = f"{schema}.e"
        assert conn.execute("SELECT nextval(%s), currval(%s) AS c, %s::int + 1", (name, name, 5)).fetchone() == (1, 1, 6)
        assert conn.execute("SELECT setval(%s, %s, %s)", (name, 100, False)).fetchone() == (100,)
        cur = conn.cursor()
        cur.execute("SELECT nextval('e') AS a, lastval()", prepare=True)
        assert cur.fetchone() == (100, 100) and [d.name for d in cur.description] == ["a", "lastval"]

    async def binary() -> tuple[object, ...]:
        client = await asyncpg.connect(gridpg_cluster.dsn(0))
        try:
            row = await client.fetchrow("SELECT nextval($1), currval($1)", name)
            return (tuple(row), await client.fetchval(f"SELECT nextval('{name}')"))
        finally:
            await client.close()

    first, second = asyncio.run(binary())
    assert first[0] == first[1] and second == first[0] + 1


def test_restart_continues_without_a_gap(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A clean stop of the whole cluster (coordinators give their unused cached ranges back,
    the GTM stores exact positions instead of its write-ahead state): the next values follow
    the last ones, as after PostgreSQL's clean restart; also for a sequence with a CACHE
    (whose cached range a coordinator held) and one used from both coordinators."""
    import os

    from gridpg.cluster.topology import PortAllocator, build_default
    from tests.conftest import server_dir

    with server_dir("seq-restart") as directory:
        cluster = Cluster(directory / "cluster")
        base = PortAllocator("127.0.0.1", 33000 + (os.getpid() % 50) * 20).take()
        cluster.create(build_default(datanodes=1, coordinators=2, port=base), lambda _m: None)
        try:
            cluster.up(lambda _m: None)
            with psycopg.connect(cluster.dsn(0), autocommit=True) as one, \
                    psycopg.connect(cluster.dsn(1), autocommit=True) as two:
                one.execute("CREATE SEQUENCE plain_s; CREATE SEQUENCE cached_s CACHE 20")
                one.execute("CREATE TABLE r (id serial, v int)")
                for i in range(3):
                    one.execute("SELECT nextval('plain_s'), nextval('cached_s')")
                    two.execute("SELECT nextval('plain_s')")
                    two.execute("INSERT INTO r (v) VALUES (%s)", (i,))
                before = one.execute("SELECT nextval('plain_s'), nextval('cached_s')").fetchone()
            assert before == (7, 4)
            cluster.down(lambda _m: None)
            cluster.up(lambda _m: None)
            with psycopg.connect(cluster.dsn(1), autocommit=True) as two:
                assert two.execute("SELECT nextval('plain_s'), nextval('cached_s')").fetchone() == (8, 5)
                two.execute("INSERT INTO r (v) VALUES (9)")
                assert [r[0] for r in two.execute("SELECT id FROM r ORDER BY id")] == [1, 2, 3, 4]
                assert two.execute("SELECT last_value FROM plain_s").fetchone() == (8,)
        finally:
            cluster.down(lambda _m: None)


def test_upsert_returning_system_columns_over_several_shards(gridpg_cluster: Cluster, schema: str) -> None:
    """RETURNING xmax of an INSERT goes to the shard table; rows of one statement in several
    shards of one datanode go to each shard table in one WITH per node, and come back in
    the order the client listed them, as PostgreSQL returns them (was refused, 0A000)."""
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE TABLE upr (id int PRIMARY KEY, v int)")
        ids = list(range(1, 41))
        upsert = ("INSERT INTO upr VALUES " + ", ".join(f"({i}, 0)" for i in ids)
                  + " ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING id, (xmax <> 0)")
        assert conn.execute(upsert).fetchall() == [(i, False) for i in ids]
        assert conn.execute(upsert).fetchall() == [(i, True) for i in ids]
        assert conn.execute("SELECT count(*) FROM upr").fetchone() == (40,)
        rows = [conn.execute("INSERT INTO upr VALUES (%s, 1) ON CONFLICT (id) DO UPDATE SET v = 2 "
                             "RETURNING id, (xmax <> 0) AS updated", (i,)).fetchone() for i in (50, 50, 6)]
        assert rows == [(50, False), (50, True), (6, True)]


def test_extended_protocol_serial_insert_commits_before_the_client_leaves(
        gridpg_cluster: Cluster, schema: str) -> None:
    """An autocommit INSERT with parameters into a serial table (filled from the GTM, then
    scattered) is committed at the client's Sync: another session sees it at once, and it
    survives the client leaving right after (it stayed open on the node and was lost)."""
    with _connect(gridpg_cluster, 0, schema) as one:
        one.execute("CREATE TABLE ser_ext (id serial, v int)")
        for i in range(3):
            with _connect(gridpg_cluster, i % 2, schema) as two:
                two.execute("INSERT INTO ser_ext (v) VALUES (%s)", (i,))
            assert one.execute("SELECT count(*) FROM ser_ext").fetchone() == (i + 1,)
        assert [r[0] for r in one.execute("SELECT id FROM ser_ext ORDER BY id")] == [1, 2, 3]


def test_column_filled_from_a_sequence_is_not_added_to_a_table_with_rows(
        gridpg_cluster: Cluster, schema: str) -> None:
    """ADD COLUMN ... on a distributed table with rows that each datanode would fill from
    its own sequence copy (duplicates), and gridpg does not fill from the cluster's
    (commands/sequence_fill.py serves serial, identity and DEFAULT nextval('s'):
    test_add_column_from_sequence.py): refused with 0A000; on an empty table it is added
    and filled from the cluster-wide sequence."""
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE TABLE fill (a int)")
        conn.execute("ALTER TABLE fill ADD COLUMN b int GENERATED BY DEFAULT AS IDENTITY")
        conn.execute("INSERT INTO fill (a) SELECT g FROM generate_series(1, 20) g")
        conn.execute("CREATE SEQUENCE fill_s")
        for sql in ("ALTER TABLE fill ADD COLUMN c bigint DEFAULT nextval('fill_s') + 1",
                    "ALTER TABLE fill ADD COLUMN c int NOT NULL DEFAULT 0, ALTER COLUMN c ADD GENERATED ALWAYS AS IDENTITY"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        conn.execute("ALTER TABLE fill ADD COLUMN c int DEFAULT 7")
        rows = conn.execute("SELECT count(DISTINCT b), count(*), min(c) FROM fill").fetchone()
        assert rows == (20, 20, 7)


def test_prepared_insert_overriding_user_value_takes_the_sequence(gridpg_cluster: Cluster, schema: str) -> None:
    """A prepared one-row INSERT ... OVERRIDING USER VALUE with the identity (distribution)
    column given by a parameter: the value is the cluster-wide sequence's, routed by it (the
    prepared fast path would send the row as given and the datanode store its own value)."""
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE TABLE ouv (a int GENERATED BY DEFAULT AS IDENTITY, b text)")
        for i in range(4):
            conn.execute("INSERT INTO ouv OVERRIDING USER VALUE VALUES (%s, %s)", (100 + i, f"r{i}"), prepare=True)
        assert conn.execute("SELECT a, b FROM ouv ORDER BY a").fetchall() == [(i + 1, f"r{i}") for i in range(4)]
        assert conn.execute("SELECT count(*) FROM ouv WHERE a = %s", (3,)).fetchone() == (1,)


def test_update_nextval_of_a_replicated_table_leaves_the_replicas_equal(
        gridpg_cluster: Cluster, schema: str) -> None:
    """XL xc_remote.sql:64: `UPDATE rep SET a = nextval('s')` on a REPLICATION table was
    refused (0A000); each row now takes one GTM value, the same on every replica, duplicates
    included (any one of equal rows takes any one of their values)."""
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE rs")
        conn.execute("CREATE TABLE rep (a int, b text, c boolean) DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO rep VALUES (1, 'x'), (2, 'y'), (2, 'y'), (3, NULL)")
        cur = conn.execute("UPDATE rep SET a = nextval('rs'), c = false WHERE b IS NOT NULL RETURNING *")
        assert cur.rowcount == 3 and [d.name for d in cur.description] == ["a", "b", "c"]
        assert sorted(r[0] for r in cur.fetchall()) == [1, 2, 3]
        nodes = [r[0] for r in conn.execute(
            "SELECT node_name FROM pgxc_node WHERE node_type = 'D' ORDER BY 1").fetchall()]
        assert len(nodes) == 2
        copies = [conn.execute(f"EXECUTE DIRECT ON ({node}) "
                               f"'SELECT a, b, c FROM {schema}.rep ORDER BY a, b'").fetchall()
                  for node in nodes]
        assert copies[0] == copies[1]
        assert sorted(r[0] for r in copies[0]) == [1, 2, 3, 3] and conn.execute("SELECT nextval('rs')").fetchone() == (4,)
        # what each replica would compute for itself beside the GTM's values is refused
        for sql in ("UPDATE rep SET a = nextval('rs'), b = random()::text",
                    "UPDATE rep SET a = nextval('rs') WHERE random() < 0.5"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        assert conn.execute("SELECT nextval('rs')").fetchone() == (5,)


def test_last_value_over_distributed_tables_is_the_clusters(gridpg_cluster: Cluster, schema: str) -> None:
    """pg_sequence_last_value() in a statement the datanodes run answers the cluster's
    position (Citus sequences.sql:19: the datanodes' unused copies answered NULL, silently),
    with the simple and the extended protocol; an argument varying per row is refused."""
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE lv")
        conn.execute("CREATE TABLE lt (x bigint, z bigint DEFAULT nextval('lv')) DISTRIBUTE BY HASH (x)")
        conn.execute("CREATE TABLE lr (x bigint) DISTRIBUTE BY REPLICATION")
        conn.execute("INSERT INTO lt (x) VALUES (1), (2), (3)")
        conn.execute("INSERT INTO lr VALUES (1)")
        sql = "SELECT x, pg_sequence_last_value('lv'::regclass) FROM lt WHERE z = pg_sequence_last_value('lv') ORDER BY x"
        assert conn.execute(sql).fetchall() == [(3, 3)]
        assert conn.execute(sql, prepare=True).fetchall() == [(3, 3)]
        assert conn.execute("SELECT pg_sequence_last_value('lv') FROM lr").fetchall() == [(3,)]
        cur = conn.execute("SELECT pg_sequence_last_value('lv') FROM lt WHERE x = 1")
        assert cur.fetchall() == [(3,)] and cur.description[0].name == "pg_sequence_last_value"
        conn.execute("CREATE SEQUENCE unused")
        assert conn.execute("SELECT count(*) FROM lt WHERE pg_sequence_last_value('unused') IS NULL").fetchone() == (3,)
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("SELECT pg_sequence_last_value(('l' || x::text)::regclass) FROM lt")
        # a routed statement with a parameter, executed again and again: each Execute's value
        seen = []
        for _ in range(7):  # (past psycopg's prepare threshold and the fast path's)
            seen += conn.execute("SELECT pg_sequence_last_value('lv') FROM lt WHERE x = %s", (1,),
                                 prepare=True).fetchall()
            conn.execute("INSERT INTO lt (x) VALUES (9)")
        assert seen == [(n,) for n in range(3, 10)]
        # defined now, read later: refused rather than answered with the value of today
        for sql in ("CREATE VIEW lvv AS SELECT x, pg_sequence_last_value('lv') FROM lt",
                    "PREPARE lvp AS SELECT count(*), pg_sequence_last_value('lv') FROM lt"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)


def test_sql_prepared_statements_serve_sequence_calls_as_their_text_would(gridpg_cluster: Cluster, schema: str) -> None:
    """EXECUTE of a PREPAREd statement over distributed tables serves currval()/lastval()
    with the session's values and refuses the per-row nextval() forms, as the statement
    sent directly does (the datanodes' copies of the sequence answered them: values the GTM
    hands out again, another session's lastval(), silently)."""
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE ps")
        conn.execute("CREATE TABLE pt (x bigint, z bigint DEFAULT nextval('ps')) DISTRIBUTE BY HASH (x)")
        conn.execute("INSERT INTO pt (x) VALUES (1), (2), (3)")
        conn.execute("PREPARE cur(bigint) AS SELECT x, currval('ps'), lastval() FROM pt WHERE x = $1")
        conn.execute("PREPARE cnt AS SELECT count(*), lastval() FROM pt")
        assert conn.execute("EXECUTE cur(1)").fetchall() == [(1, 3, 3)]
        conn.execute("INSERT INTO pt (x) VALUES (4)")
        assert conn.execute("EXECUTE cur(2)").fetchall() == [(2, 4, 4)]
        assert conn.execute("EXECUTE cnt").fetchall() == [(4, 4)]
        assert conn.execute("EXPLAIN (COSTS OFF) EXECUTE cnt").fetchall()
        for sql in ("SELECT x, nextval('ps') FROM pt WHERE x = 1", "UPDATE pt SET z = nextval('ps') + 0 WHERE x = $1"):
            name = f"n{abs(hash(sql)) % 1000}"
            conn.execute(f"PREPARE {name} AS {sql}")
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(f"EXECUTE {name}" + ("(2)" if "$1" in sql else ""))
        assert conn.execute("SELECT nextval('ps')").fetchone() == (5,)  # nothing drawn elsewhere
        assert conn.execute("SELECT z FROM pt ORDER BY x").fetchall() == [(1,), (2,), (3,), (4,)]
