"""The prepared fast path (executor/routed.py) gives the general path's answers.

A client's prepared statement is planned once per catalog snapshot and session settings;
these tests change both under a statement that stays prepared, and check rows, writes in
transactions that roll back, node errors, binary parameters and pipelines.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> psycopg.Connection:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("CREATE TABLE acc (id int PRIMARY KEY, bal int) DISTRIBUTE BY HASH (id)")
        c.execute("INSERT INTO acc SELECT g, g * 10 FROM generate_series(1, 200) g")
        yield c


def test_prepared_select_routes_every_key(conn: psycopg.Connection) -> None:
    for binary in (False, True):
        with conn.cursor(binary=binary) as cur:
            for key in range(1, 201, 7):
                cur.execute("SELECT bal FROM acc WHERE id = %s", (key,), prepare=True)
                assert cur.fetchall() == [(key * 10,)]
        assert conn.execute("SELECT bal FROM acc WHERE id = %s", (999,), prepare=True).fetchall() == []
        assert conn.execute("SELECT bal FROM acc WHERE id = %s", (None,), prepare=True).fetchall() == []


def test_search_path_change_replans(conn: psycopg.Connection, schema: str) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS other_fastpath")
    try:
        # Here `id` is not the distribution column: rows with id 5 are on both nodes.
        conn.execute("CREATE TABLE other_fastpath.acc (id int, bal int) DISTRIBUTE BY HASH (bal)")
        conn.execute("INSERT INTO other_fastpath.acc SELECT 5, -g FROM generate_series(1, 20) g")
        query = "SELECT bal FROM acc WHERE id = %s ORDER BY bal"
        assert conn.execute(query, (5,), prepare=True).fetchall() == [(50,)]
        conn.execute("SET search_path = other_fastpath")
        assert conn.execute(query, (5,), prepare=True).fetchall() == [(-g,) for g in range(20, 0, -1)]
        conn.execute(f'SET search_path = "{schema}"')
        assert conn.execute(query, (5,), prepare=True).fetchall() == [(50,)]
    finally:
        conn.execute("DROP SCHEMA other_fastpath CASCADE")


def test_catalog_change_replans(conn: psycopg.Connection) -> None:
    query = "SELECT bal FROM acc WHERE id = %s"
    assert conn.execute(query, (17,), prepare=True).fetchall() == [(170,)]
    conn.execute("DROP TABLE acc")
    conn.execute("CREATE TABLE acc (id int, bal int) DISTRIBUTE BY HASH (bal)")
    conn.execute("INSERT INTO acc VALUES (17, 1), (18, 2)")
    assert conn.execute(query, (17,), prepare=True).fetchall() == [(1,)]
    assert conn.execute("SELECT id FROM acc WHERE bal = %s", (2,), prepare=True).fetchall() == [(18,)]


def test_prepared_writes_in_a_block_that_rolls_back(conn: psycopg.Connection) -> None:
    update = "UPDATE acc SET bal = bal + %s WHERE id = %s"
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        for key in (1, 2, 3, 4):
            conn.execute(update, (1000, key), prepare=True)
        conn.execute("SELECT 1 / 0 FROM acc WHERE id = %s", (4,), prepare=True)
    rows = conn.execute("SELECT id, bal FROM acc WHERE id IN (1, 2, 3, 4) ORDER BY id").fetchall()
    assert rows == [(1, 10), (2, 20), (3, 30), (4, 40)]
    with conn.transaction():
        for key in (1, 2):
            conn.execute(update, (5, key), prepare=True)
    assert conn.execute("SELECT sum(bal) FROM acc WHERE id IN (1, 2)").fetchone() == (40,)


def test_node_error_then_the_session_goes_on(conn: psycopg.Connection) -> None:
    query = "SELECT bal / (id - %s) FROM acc WHERE id = %s"
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute(query, (3, 3), prepare=True)
    assert conn.execute(query, (2, 3), prepare=True).fetchall() == [(30,)]


def test_pipeline_of_prepared_statements(conn: psycopg.Connection) -> None:
    with conn.pipeline():
        cursors = [conn.execute("SELECT bal FROM acc WHERE id = %s", (k,), prepare=True)
                   for k in range(1, 41)]
    assert [c.fetchone() for c in cursors] == [(k * 10,) for k in range(1, 41)]


def test_datanode_sessions_plan_generically_unless_the_client_says_otherwise(
    gridpg_cluster: Cluster,
) -> None:
    def node_setting(c: psycopg.Connection) -> str:
        row = c.execute("EXECUTE DIRECT ON (dn1) 'SHOW plan_cache_mode'").fetchone()
        assert row is not None
        return str(row[0])

    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        assert node_setting(c) == "force_generic_plan"
        c.execute("SET plan_cache_mode = force_custom_plan")
        assert node_setting(c) == "force_custom_plan"
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as other:
            assert node_setting(other) == "force_generic_plan"
        c.execute("RESET plan_cache_mode")
        assert node_setting(c) == "force_generic_plan"


def _simple(conn: psycopg.Connection, sql: str) -> list[tuple[str | None, ...]]:
    """Run `sql` with the simple query protocol (libpq PQexec); rows as text."""
    result = conn.pgconn.exec_(sql.encode())
    if result.status not in (psycopg.pq.ExecStatus.TUPLES_OK, psycopg.pq.ExecStatus.COMMAND_OK):
        raise psycopg.errors.lookup(result.error_field(psycopg.pq.DiagnosticField.SQLSTATE).decode())(
            result.error_message.decode())
    return [tuple(None if v is None else v.decode() for v in (result.get_value(r, c)
            for c in range(result.nfields))) for r in range(result.ntuples)]


def test_simple_protocol_routes_by_literals(conn: psycopg.Connection, schema: str) -> None:
    for key in (1, 50, 199, 999):
        expected = [(str(key * 10),)] if key <= 200 else []
        assert _simple(conn, f"SELECT bal FROM acc WHERE id = {key}") == expected
        assert _simple(conn, f"select bal from acc where id = '{key}'") == expected
    _simple(conn, "BEGIN")
    _simple(conn, "UPDATE acc SET bal = -1 WHERE id = 3")
    assert _simple(conn, "SELECT bal FROM acc WHERE id = 3") == [("-1",)]
    with pytest.raises(psycopg.errors.DivisionByZero):
        _simple(conn, "SELECT 1 / 0 FROM acc WHERE id = 3")
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        _simple(conn, "SELECT bal FROM acc WHERE id = 3")
    _simple(conn, "ROLLBACK")
    assert _simple(conn, "SELECT bal FROM acc WHERE id = 3") == [("30",)]
    conn.execute("CREATE SCHEMA IF NOT EXISTS other_simple")
    try:
        conn.execute("CREATE TABLE other_simple.acc (id int, bal int) DISTRIBUTE BY HASH (bal)")
        conn.execute("INSERT INTO other_simple.acc SELECT 5, -g FROM generate_series(1, 20) g")
        _simple(conn, "SET search_path = other_simple")
        assert len(_simple(conn, "SELECT bal FROM acc WHERE id = 5")) == 20
        _simple(conn, f'SET search_path = "{schema}"')
        assert _simple(conn, "SELECT bal FROM acc WHERE id = 5") == [("50",)]
    finally:
        conn.execute("DROP SCHEMA other_simple CASCADE")


def test_simple_protocol_literals_keep_their_meaning(conn: psycopg.Connection) -> None:
    # Numbers keep PostgreSQL's literal types: 30.5 is numeric, so no int4 input error.
    assert _simple(conn, "SELECT bal FROM acc WHERE id = 3 AND bal = 30.5") == []
    assert _simple(conn, "SELECT bal FROM acc WHERE id = 3 AND bal = 30.0") == [("30",)]
    row = _simple(conn, "SELECT 1.50, 'x', 5000000000, pg_typeof(7)::text, "
                        "pg_typeof(5000000000)::text FROM acc WHERE id = 3")
    assert row == [("1.50", "x", "5000000000", "integer", "bigint")]
    # A literal whose type only its context gives ('x' IS NULL: unknown is fine for a
    # literal, not for a parameter) runs as text, inside a block and outside.
    query = "SELECT bal FROM acc WHERE id = 3 AND 'x' IS NOT NULL"
    _simple(conn, "BEGIN")
    assert _simple(conn, query) == [("30",)]
    _simple(conn, "COMMIT")
    assert _simple(conn, query) == [("30",)]
    assert _simple(conn, query.replace("'x'", "'y'")) == [("30",)]
    assert _simple(conn, query.replace("id = 3", "id = 4")) == [("40",)]
    # ORDER BY 1 is a column position, never a parameter.
    conn.execute("INSERT INTO acc VALUES (1000, 1), (1001, 2)")
    rows = _simple(conn, "SELECT 3 - bal AS v, bal FROM acc WHERE id IN (1000) OR id = 1000 ORDER BY 1")
    assert rows == [("2", "1")]


def test_extended_protocol_rollback_of_a_failed_block(conn: psycopg.Connection) -> None:
    conn.execute("BEGIN", prepare=False)
    conn.execute("SELECT bal FROM acc WHERE id = 3", prepare=False)
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0 FROM acc WHERE id = 3", prepare=False)
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        conn.execute("SELECT bal FROM acc WHERE id = %s", (3,))
    conn.execute("ROLLBACK", prepare=False)  # the extended protocol's ROLLBACK ends it
    assert conn.execute("SELECT bal FROM acc WHERE id = %s", (3,)).fetchall() == [(30,)]


# Statements whose literals are not values: their literal-free form (`PREPARE TRANSACTION
# $1`) is no statement, so the simple protocol's fast path must leave them to the general
# path (it once reported its own syntax error at "$1" for each of them).
NOT_VALUES = [
    "BEGIN", "INSERT INTO acc VALUES (5001, 1)", "PREPARE TRANSACTION 'fp-gid-1'",
    "SELECT count(*) FROM acc WHERE id = 5001",
    "COMMIT PREPARED 'fp-gid-1'", "SELECT bal FROM acc WHERE id = 5001",
    "BEGIN", "UPDATE acc SET bal = 2 WHERE id = 5001", "PREPARE TRANSACTION 'fp-gid-2'",
    "ROLLBACK PREPARED 'fp-gid-2'", "SELECT bal FROM acc WHERE id = 5001",
    "COMMIT PREPARED 'fp-gid-missing'", "ROLLBACK PREPARED 'fp-gid-missing'",
    "BEGIN", "PREPARE TRANSACTION 'fp-gid-3'", "ROLLBACK PREPARED 'fp-gid-3'",
    "PREPARE TRANSACTION 'fp-gid-outside'",
]


def _outcomes(conn: psycopg.Connection, script: list[str]) -> list[object]:
    out: list[object] = []
    for sql in script:
        try:
            out.append((sql, _simple(conn, sql)))
        except psycopg.Error as exc:
            out.append((sql, exc.sqlstate))
    return out


def test_simple_protocol_statements_whose_literals_are_not_values(
        conn: psycopg.Connection, plain_pg: str, schema: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as plain:
        plain.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        plain.execute(f'SET search_path = "{schema}"')
        plain.execute("DROP TABLE IF EXISTS acc")
        plain.execute("CREATE TABLE acc (id int PRIMARY KEY, bal int)")
        expected = _outcomes(plain, NOT_VALUES)
        plain.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert _outcomes(conn, NOT_VALUES) == expected


def test_only_takes_the_general_path(conn: psycopg.Connection) -> None:
    """`ONLY acc` named the datanodes' partitioned parent, which holds no rows: the general
    path drops the keyword for a childless HASH table; the fast paths leave such text to it."""
    for prepare in (True, False):
        assert conn.execute("SELECT bal FROM ONLY acc WHERE id = %s", (7,), prepare=prepare).fetchall() == [(70,)]
        assert _simple(conn, "select bal from only acc where id = 8") == [("80",)]
    assert conn.execute("UPDATE ONLY acc SET bal = 1 WHERE id = %s", (9,), prepare=True).rowcount == 1
    assert _simple(conn, "SELECT bal FROM acc WHERE id = 9") == [("1",)]
    assert conn.execute("DELETE FROM ONLY acc WHERE id = %s", (9,), prepare=True).rowcount == 1
    assert conn.execute("DELETE FROM ONLY acc WHERE id = 10").rowcount == 1
    assert _simple(conn, "SELECT count(*) FROM acc WHERE id IN (9, 10)") == [("0",)]


def test_prepared_insert_routes_by_its_parameter(conn: psycopg.Connection, schema: str,
                                                  datanodes: dict[str, str]) -> None:
    """A one-row INSERT whose distribution column is a parameter goes straight to its node:
    every row lands where routed reads (and the datanodes' own placement checks) find it,
    with text and binary values, RETURNING, ON CONFLICT, and in a block that rolls back."""
    conn.execute("CREATE TABLE hist (tid int, aid int, delta int, note text) DISTRIBUTE BY HASH (aid)")
    insert = "INSERT INTO hist (tid, aid, delta, note) VALUES (%s, %s, %s, 'x')"
    for binary in (False, True):
        with conn.cursor(binary=binary) as cur:
            for key in range(1, 121, 3):
                cur.execute(insert, (7, key, key * 2), prepare=True)
    with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
        conn.execute(insert, (8, 500, 1), prepare=True)
        conn.execute("SELECT 1 / 0 FROM hist WHERE aid = %s", (500,), prepare=True)
    rows = conn.execute("SELECT aid, delta FROM hist ORDER BY aid, delta").fetchall()
    assert rows == sorted([(k, k * 2) for k in range(1, 121, 3)] * 2)
    for key in (1, 58, 118):
        got = conn.execute("SELECT count(*) FROM hist WHERE aid = %s", (key,), prepare=True).fetchone()
        assert got == (2,)
    on_nodes = 0
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as direct:
            on_nodes += direct.execute(f'SELECT count(*) FROM "{schema}".hist').fetchone()[0]
    assert on_nodes == len(rows)
    returning = "INSERT INTO hist (aid, delta) VALUES (%s, %s) RETURNING aid * 10, delta"
    assert conn.execute(returning, (900, 5), prepare=True).fetchall() == [(9000, 5)]
    upsert = ("INSERT INTO acc (id, bal) VALUES (%s, %s) "
              "ON CONFLICT (id) DO UPDATE SET bal = acc.bal + excluded.bal RETURNING bal")
    assert conn.execute(upsert, (3, 1), prepare=True).fetchall() == [(31,)]
    assert conn.execute(upsert, (1003, 1), prepare=True).fetchall() == [(1,)]


def test_prepared_inserts_the_fast_path_must_not_take(conn: psycopg.Connection) -> None:
    """Serial columns to fill, a DEFAULT, a distribution value PostgreSQL rounds or takes from
    a default or an expression: the general path's answers, statement prepared or not."""
    conn.execute("CREATE TABLE ser (id serial, k int, v text) DISTRIBUTE BY HASH (k)")
    for key in range(5):
        conn.execute("INSERT INTO ser (k, v) VALUES (%s, %s)", (key, "a"), prepare=True)
        conn.execute("INSERT INTO ser (id, k, v) VALUES (DEFAULT, %s, %s)", (key, "b"), prepare=True)
    ids = [r[0] for r in conn.execute("SELECT id FROM ser ORDER BY id").fetchall()]
    assert len(ids) == len(set(ids)) == 10
    conn.execute("CREATE TABLE num (k numeric(8,2), v text) DISTRIBUTE BY HASH (k)")
    for text in ("1.005", "2.004", "3.999"):
        conn.execute("INSERT INTO num (k, v) VALUES (%s, 'n')", (text,), prepare=True)
    assert conn.execute("SELECT k::text FROM num WHERE k = %s", ("1.01",), prepare=True).fetchall() == [("1.01",)]
    assert conn.execute("SELECT k::text FROM num WHERE k = 4.00").fetchall() == [("4.00",)]
    conn.execute("CREATE TABLE dflt (k int DEFAULT 42, v text) DISTRIBUTE BY HASH (k)")
    conn.execute("INSERT INTO dflt (v) VALUES (%s)", ("d",), prepare=True)
    conn.execute("INSERT INTO dflt (k, v) VALUES (%s + 1, %s)", (9, "e"), prepare=True)
    assert conn.execute("SELECT v FROM dflt WHERE k = %s", (42,), prepare=True).fetchall() == [("d",)]
    assert conn.execute("SELECT v FROM dflt WHERE k = %s", (10,), prepare=True).fetchall() == [("e",)]


def test_prepared_insert_replans_after_ddl(conn: psycopg.Connection) -> None:
    insert = "INSERT INTO moved (a, b) VALUES (%s, %s)"
    conn.execute("CREATE TABLE moved (a int, b int) DISTRIBUTE BY HASH (a)")
    conn.execute(insert, (1, 100), prepare=True)
    conn.execute("DROP TABLE moved")
    conn.execute("CREATE TABLE moved (a int, b int) DISTRIBUTE BY HASH (b)")
    for key in range(20):
        conn.execute(insert, (key, key + 100), prepare=True)
    assert conn.execute("SELECT a FROM moved WHERE b = %s", (105,), prepare=True).fetchall() == [(5,)]
    assert conn.execute("SELECT count(*) FROM moved").fetchone() == (20,)


def test_whole_cycles_run_as_one(conn: psycopg.Connection) -> None:
    """libpq's Bind + Describe + Execute + Sync received at once runs as one cycle
    (Session.routed_cycle): rows in text and binary, a node error outside a block (the
    session goes on), inside one (the block is failed until ROLLBACK, as on PostgreSQL),
    and a Bind with the wrong number of values (PostgreSQL's error)."""
    query = "SELECT bal, id FROM acc WHERE id = %s"
    for binary in (False, True, False):
        with conn.cursor(binary=binary) as cur:
            for key in (5, 6, 7):
                assert cur.execute(query, (key,), prepare=True).fetchall() == [(key * 10, key)]
    divide = "SELECT bal / (id - %s) FROM acc WHERE id = %s"
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute(divide, (9, 9), prepare=True)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.execute(divide, (8, 9), prepare=True).fetchall() == [(90,)]
    conn.execute("BEGIN")
    conn.execute("UPDATE acc SET bal = bal + %s WHERE id = %s", (1, 9), prepare=True)
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute(divide, (9, 9), prepare=True)
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        conn.execute(query, (9,), prepare=True)
    conn.execute("ROLLBACK")
    assert conn.execute(query, (9,), prepare=True).fetchall() == [(90, 9)]
    raw = conn.pgconn
    raw.prepare(b"two", b"SELECT bal FROM acc WHERE id = $1 AND bal > $2")
    result = raw.exec_prepared(b"two", [b"3"])  # one value for two parameters
    assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"08P01"
    result = raw.exec_prepared(b"two", [b"3", b"0"])
    assert result.get_value(0, 0) == b"30"


def test_whole_cycles_without_describe(gridpg_cluster: Cluster, schema: str, conn: psycopg.Connection) -> None:
    """asyncpg's Bind + Execute + Sync (no Describe): the same answers, in blocks too."""
    asyncpg = pytest.importorskip("asyncpg")
    import asyncio

    async def run() -> list[object]:
        client = await asyncpg.connect(gridpg_cluster.dsn(0), server_settings={"search_path": schema})
        try:
            select = await client.prepare("SELECT bal FROM acc WHERE id = $1")
            out: list[object] = [await select.fetchval(key) for key in (11, 12, 13)]
            update = await client.prepare("UPDATE acc SET bal = bal + $1 WHERE id = $2")
            async with client.transaction():
                await update.fetch(5, 11)
                out.append(await select.fetchval(11))
            try:
                async with client.transaction():
                    await update.fetch(5, 12)
                    await client.fetch("SELECT 1 / 0 FROM acc WHERE id = $1", 12)
            except asyncpg.DivisionByZeroError:
                out.append("rolled back")
            out.append(await select.fetchval(12))
            return out
        finally:
            await client.close()

    assert asyncio.run(run()) == [110, 120, 130, 115, "rolled back", 120]


# -- the routed cycle's validity stamp (StatementRunner.cycle_route) --------------------
# Each input the stamp stands for is changed under a statement prepared (and run as whole
# cycles, libpq's exec_prepared) before the change; the next Execute answers as after it.


def _cycle(conn: psycopg.Connection, name: bytes, *values: bytes) -> psycopg.pq.PGresult:
    return conn.pgconn.exec_prepared(name, list(values))


def test_stamp_role_change(conn: psycopg.Connection, schema: str) -> None:
    """SET ROLE to a role without SELECT on the table: the next cycle is refused as on
    PostgreSQL (42501), not run with the old role's connection; RESET ROLE: rows again."""
    role = f"{schema}_reader"
    conn.execute(f'CREATE ROLE "{role}"')
    try:
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.pgconn.prepare(b"by_role", b"SELECT bal FROM acc WHERE id = $1")
        for _ in range(3):
            assert _cycle(conn, b"by_role", b"5").get_value(0, 0) == b"50"
        conn.execute(f'SET ROLE "{role}"')
        result = _cycle(conn, b"by_role", b"5")
        assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"42501"
        conn.execute("RESET ROLE")
        assert _cycle(conn, b"by_role", b"5").get_value(0, 0) == b"50"
    finally:
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


def test_stamp_temp_table_shadows_then_goes(conn: psycopg.Connection) -> None:
    """A temp table named like the distributed one shadows it for the statement prepared
    before it (PostgreSQL's search path); DISCARD TEMP: the distributed table again."""
    conn.pgconn.prepare(b"shadow", b"SELECT bal FROM acc WHERE id = $1")
    for _ in range(3):
        assert _cycle(conn, b"shadow", b"6").get_value(0, 0) == b"60"
    conn.execute("CREATE TEMP TABLE acc (id int, bal int)")
    conn.execute("INSERT INTO acc VALUES (6, -6)")
    assert _cycle(conn, b"shadow", b"6").get_value(0, 0) == b"-6"
    assert _cycle(conn, b"shadow", b"6").get_value(0, 0) == b"-6"
    conn.execute("DISCARD TEMP")
    assert _cycle(conn, b"shadow", b"6").get_value(0, 0) == b"60"


def test_stamp_listen_in_a_block(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    """LISTEN in a block, then cycles in it and after it: right rows, and the LISTEN holds
    after COMMIT (a NOTIFY from another session arrives)."""
    conn.pgconn.prepare(b"listening", b"SELECT bal FROM acc WHERE id = $1")
    assert _cycle(conn, b"listening", b"7").get_value(0, 0) == b"70"
    conn.execute("BEGIN")
    conn.execute("LISTEN stamp_channel")
    assert _cycle(conn, b"listening", b"7").get_value(0, 0) == b"70"
    conn.execute("COMMIT")
    assert _cycle(conn, b"listening", b"8").get_value(0, 0) == b"80"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as other:
        other.execute("NOTIFY stamp_channel, 'hello'")
    got = []
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        conn.execute("SELECT 1")
        got = [n.payload for n in conn.notifies(timeout=0.2, stop_after=1)]
    assert got == ["hello"]
    conn.execute("UNLISTEN *")


def test_stamp_catalog_change_on_another_coordinator(gridpg_cluster: Cluster, conn: psycopg.Connection,
                                                     schema: str) -> None:
    """The table redistributed through coord2: coord1's statement prepared before it finds
    the rows where they are now (the new catalog snapshot replans it)."""
    conn.pgconn.prepare(b"moving", b"SELECT bal FROM acc WHERE id = $1 ORDER BY bal")
    for _ in range(3):
        assert _cycle(conn, b"moving", b"9").get_value(0, 0) == b"90"
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f'SET search_path = "{schema}"')
        other.execute("DROP TABLE acc")
        other.execute("CREATE TABLE acc (id int, bal int) DISTRIBUTE BY HASH (bal)")
        other.execute("INSERT INTO acc SELECT 9, g FROM generate_series(1, 10) g")
    result = _cycle(conn, b"moving", b"9")
    assert result.error_message == b""
    assert [result.get_value(i, 0) for i in range(result.ntuples)] == [str(g).encode() for g in range(1, 11)]


def test_stamp_pause_gate(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    """PAUSE CLUSTER from another session: a cycle outside a block waits at the gate (as
    the message-by-message path does) and answers once UNPAUSE opens it."""
    conn.pgconn.prepare(b"gated", b"SELECT bal FROM acc WHERE id = $1")
    for _ in range(3):
        assert _cycle(conn, b"gated", b"10").get_value(0, 0) == b"100"
    answers: list[bytes | None] = []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as pauser:
        pauser.execute("PAUSE CLUSTER")
        try:
            time.sleep(0.3)  # (the coordinator's gate sees the pause)
            worker = threading.Thread(target=lambda: answers.append(_cycle(conn, b"gated", b"10").get_value(0, 0)))
            worker.start()
            worker.join(1.0)
            assert worker.is_alive() and answers == []  # waiting at the gate
        finally:
            pauser.execute("UNPAUSE CLUSTER")
    worker.join(10)
    assert answers == [b"100"]
