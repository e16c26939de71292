"""Statement shapes SQLAlchemy 2.1's own test suite sends (h-sqla9), reproduced with
psycopg where the oracle corpus (99_sqla9_findings.sql) cannot: bound parameters through
the extended protocol. Each test names what gridpg did before it was fixed."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(60)


def _connect(cluster: Cluster, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(cluster.dsn(0), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


ROWS = [{"id": 1, "data": "four"}, {"id": 2, "data": "three"}]


def test_statement_described_in_a_rolled_back_block_with_ddl(gridpg_cluster: Cluster, schema: str) -> None:
    """test_types.py EnumTest.test_duplicate_values_accepted: a block makes an enum and a
    table of it and inserts with parameters, then rolls back; the next block makes the
    table again with a varchar column and runs the same INSERT. The first block's
    description (its parameter typed by the rolled-back enum's OID) stayed in the
    coordinator's cache, and the second INSERT failed on the datanodes: XX000 "cache
    lookup failed for type ...", in this session and in any other."""
    insert = "INSERT INTO foo_table (id, data) VALUES (%(id)s, %(data)s)"
    with _connect(gridpg_cluster, schema) as conn, _connect(gridpg_cluster, schema) as other:
        conn.execute("BEGIN")
        conn.execute("CREATE TYPE foo_enum AS ENUM ('one', 'two', 'three', 'four')")
        conn.execute("CREATE TABLE foo_table (id integer, data foo_enum)")
        conn.cursor().executemany(insert, ROWS)
        assert conn.execute("SELECT id, data FROM foo_table ORDER BY id").fetchall() == [(1, "four"), (2, "three")]
        conn.execute("ROLLBACK")
        for session in (conn, other):
            session.execute("BEGIN")
            session.execute("CREATE TABLE foo_table (id integer, data varchar(5) CONSTRAINT foo_enum "
                            "CHECK (data IN ('one', 'two', 'three', 'four')))")
            session.cursor().executemany(insert, ROWS)
            assert session.execute("SELECT id, data FROM foo_table ORDER BY id").fetchall() == \
                [(1, "four"), (2, "three")]
            session.execute("ROLLBACK")


def test_described_before_the_blocks_ddl_is_described_again(gridpg_cluster: Cluster, schema: str) -> None:
    """A statement described before a block changed its table's column type is described
    again in the block (the cached description named the old type)."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TABLE t9 (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO t9 VALUES (1, 10)")
        select = "SELECT v FROM t9 WHERE id = %s"
        assert conn.execute(select, (1,)).fetchone() == (10,)
        conn.execute("BEGIN")
        conn.execute("ALTER TABLE t9 ALTER COLUMN v TYPE text USING 'x' || v")
        assert conn.execute(select, (1,)).fetchone() == ("x10",)
        conn.execute("ROLLBACK")
        assert conn.execute(select, (1,)).fetchone() == (10,)


def test_nextval_in_a_values_list_in_from_prepared(gridpg_cluster: Cluster, schema: str) -> None:
    """SQLAlchemy's insertmanyvalues with a Sequence primary key and
    sort_by_parameter_order, run often enough that psycopg prepares it: each execution
    takes new values (refused, 0A000, before)."""
    sql = ("INSERT INTO s9 (id, data) SELECT p0::INTEGER, p1::VARCHAR FROM (VALUES "
           "(nextval('s9_seq'), %s::VARCHAR, 0), (nextval('s9_seq'), %s::VARCHAR, 1)) "
           "AS imp_sen(p0, p1, sen_counter) ORDER BY sen_counter RETURNING s9.id, s9.data")
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE SEQUENCE s9_seq")
        conn.execute("CREATE TABLE s9 (id int PRIMARY KEY, data varchar)")
        got = [conn.execute(sql, (f"a{i}", f"b{i}"), prepare=i > 2).fetchall() for i in range(6)]
        assert got == [[(2 * i + 1, f"a{i}"), (2 * i + 2, f"b{i}")] for i in range(6)]
        assert conn.execute("SELECT currval('s9_seq'), count(*) FROM s9").fetchone() == (12, 12)


def test_parameter_of_a_type_made_in_the_block(gridpg_cluster: Cluster, schema: str) -> None:
    """test_types.py DomainTest.test_domain_nullable and ArrayEnum: a block makes a domain
    or an enum, then runs a statement whose parameters gridpg writes as typed literals
    (an INSERT of NULL into the domain column; a sorted merge `WHERE $1 = ALL(col) ORDER BY
    id`). The type was named on the coordinator's own connection, which cannot see it:
    `CAST(NULL AS ???)`, 42601 syntax error at or near "???"; the name `???` was then
    remembered for that type, so the statement kept failing after COMMIT, in every session
    of that coordinator process."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE DOMAIN nn_domain AS integer NOT NULL")
        conn.execute('CREATE TABLE "table" (value nn_domain)')
        conn.execute('INSERT INTO "table" (value) VALUES (%(value)s)', {"value": 1})
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute('INSERT INTO "table" (value) VALUES (%(value)s)', {"value": None})
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("CREATE TYPE ab_enum AS ENUM ('a', 'b', 'c')")
        conn.execute("CREATE TABLE enum_table (id int PRIMARY KEY, col ab_enum[])")
        conn.cursor().executemany("INSERT INTO enum_table (id, col) VALUES (%s, %s::ab_enum[])",
                                  [(i, "{b,b}" if i % 2 else "{a,b}") for i in range(1, 9)])
        select = "SELECT id FROM enum_table WHERE CAST(%s AS ab_enum) = ALL(col) ORDER BY id"
        assert conn.execute(select, ("b",)).fetchall() == [(1,), (3,), (5,), (7,)]
        conn.execute("COMMIT")
        assert conn.execute(select, ("b",)).fetchall() == [(1,), (3,), (5,), (7,)]
        with _connect(gridpg_cluster, schema) as other:
            assert other.execute(select, ("b",)).fetchall() == [(1,), (3,), (5,), (7,)]


def test_on_conflict_partial_index_predicate_with_a_parameter(gridpg_cluster: Cluster, schema: str) -> None:
    """test_on_conflict.py test_on_conflict_do_update_constraint_can_be_index:
    `ON CONFLICT (name, lets_index_this) WHERE lets_index_this = $4 DO UPDATE` names a
    partial unique index by its predicate, with a bound parameter. The datanodes plan
    generically, without the value: 42P10 "there is no unique or exclusion constraint
    matching the ON CONFLICT specification", where PostgreSQL updates the row."""
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TABLE users_xtra (id serial PRIMARY KEY, name varchar(50), login_email varchar(50), "
                     "lets_index_this varchar(50), CONSTRAINT uq_login_email UNIQUE (login_email))")
        conn.execute("CREATE UNIQUE INDEX idx_unique_partial_name ON users_xtra (name, lets_index_this) "
                     "WHERE lets_index_this = 'unique_name'")
        conn.execute("CREATE TABLE tagged (id int PRIMARY KEY, kind text, n int)")
        conn.execute("CREATE UNIQUE INDEX tagged_one_live ON tagged (id) WHERE kind = 'live'")
        conn.execute("INSERT INTO users_xtra (name, login_email, lets_index_this) VALUES ('name1', 'm1', 'unique_name')")
        upsert = ("INSERT INTO users_xtra (name, login_email, lets_index_this) VALUES (%(name)s::VARCHAR, "
                  "%(email)s::VARCHAR, %(kind)s::VARCHAR) ON CONFLICT (name, lets_index_this) WHERE "
                  "lets_index_this = %(kind_1)s::VARCHAR DO UPDATE SET login_email = excluded.login_email "
                  "RETURNING users_xtra.id, users_xtra.login_email")
        params = {"name": "name1", "email": "m2", "kind": "unique_name", "kind_1": "unique_name"}
        assert conn.execute(upsert, params).fetchall() == [(1, "m2")]
        assert conn.execute(upsert, params, prepare=True).fetchall() == [(1, "m2")]
        assert conn.execute("SELECT count(*) FROM users_xtra").fetchone() == (1,)
        conn.execute("INSERT INTO tagged VALUES (1, 'live', 1)")
        bump = ("INSERT INTO tagged VALUES (%s, %s, 1) ON CONFLICT (id) WHERE kind = %s "
                "DO UPDATE SET n = tagged.n + %s RETURNING n")
        assert conn.execute(bump, (1, "live", "live", 5)).fetchall() == [(6,)]
        assert conn.execute(bump, (2, "live", "live", 5)).fetchall() == [(1,)]
        # a hash table whose only unique index is partial: the prepared fast path and the
        # simple protocol's literal-free form were planned generically too
        conn.execute("CREATE TABLE h9 (id int, kind text, n int)")
        conn.execute("CREATE UNIQUE INDEX h9_live ON h9 (id) WHERE kind = 'live'")
        upsert_h9 = "INSERT INTO h9 VALUES (%s, %s, 1) ON CONFLICT (id) WHERE kind = %s DO UPDATE SET n = h9.n + 1 RETURNING n"
        assert [conn.execute(upsert_h9, (1, "live", "live")).fetchone() for _ in range(7)] == [(n,) for n in range(1, 8)]
        literal = "INSERT INTO h9 VALUES (2, 'live', 1) ON CONFLICT (id) WHERE kind = 'live' DO UPDATE SET n = h9.n + 1 RETURNING n"
        with psycopg.ClientCursor(conn) as simple:
            assert [simple.execute(literal).fetchone() for _ in range(3)] == [(1,), (2,), (3,)]


def test_multi_row_insert_into_an_enum_column_split_over_nodes(gridpg_cluster: Cluster, schema: str) -> None:
    """The dialect suite's EnumTest.test_round_trip_executemany_returning: insertmanyvalues
    sends one multi-row INSERT with untyped parameters for an enum column. Split over the
    nodes, a node's statement leaves out the other rows' parameters, and an unused one of
    the user's type went unspecified: 42P18 "could not determine data type of parameter".
    """
    with _connect(gridpg_cluster, schema) as conn:
        conn.execute("CREATE TYPE e9 AS ENUM ('a%', 'b%percent', 'réveillé', 'b')")
        conn.execute("CREATE TABLE enum_table9 (id int PRIMARY KEY, enum_data e9)")
        sql = ("INSERT INTO enum_table9 (id, enum_data) VALUES (%(i0)s::INTEGER, %(e0)s), (%(i1)s::INTEGER, %(e1)s), "
               "(%(i2)s::INTEGER, %(e2)s), (%(i3)s::INTEGER, %(e3)s) RETURNING enum_table9.enum_data::text")
        params = {"e0": "b%percent", "i0": 1, "e1": "réveillé", "i1": 2, "e2": "b", "i2": 3, "e3": "a%", "i3": 4}
        assert sorted(conn.execute(sql, params).fetchall()) == [("a%",), ("b",), ("b%percent",), ("réveillé",)]
        assert conn.execute("SELECT count(*) FROM enum_table9").fetchone() == (4,)
