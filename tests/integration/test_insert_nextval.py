"""nextval() in the select list of INSERT ... SELECT into a distributed table
(executor/insert_nextval.py): each row takes one value from the cluster-wide sequence and
is stored where that value routes; the values, currval/lastval and the rows agree with
plain PostgreSQL, from both coordinators and across blocks that roll back and commit."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import same_answers_as_plain

SCRIPT: list[tuple[int, str]] = [
    (0, "CREATE SEQUENCE {s}.ns START 100"),
    (0, "CREATE SEQUENCE {s}.\"Other seq\""),
    (0, "CREATE TABLE {s}.\"Nv t\" (id bigint PRIMARY KEY, x int, y bigint) @DIST"),
    (0, "CREATE TABLE {s}.nv_src (x int) @DIST"),
    (0, "INSERT INTO {s}.nv_src SELECT g FROM generate_series(1, 20) g"),
    (0, ("/* ids */ INSERT INTO {s}.\"Nv t\" SELECT nextval('{s}.ns'), g, nextval('{s}.\"Other seq\"') "
        "FROM generate_series(1, 5) g RETURNING *")),
    (0, "SELECT currval('{s}.ns'), lastval()"),
    (1, ("INSERT INTO {s}.\"Nv t\" (x, id) SELECT x, nextval('{s}.ns'::regclass) FROM {s}.nv_src "
        "WHERE x > 10 ORDER BY x LIMIT 4 RETURNING id, x")),
    (1, "BEGIN"),
    (1, "INSERT INTO {s}.\"Nv t\" (id, x) SELECT pg_catalog.nextval('{s}.ns'), x FROM {s}.nv_src WHERE x < 3"),
    (1, "ROLLBACK"),
    (0, "BEGIN"),
    (0, "INSERT INTO {s}.\"Nv t\" (id, x) SELECT nextval('{s}.ns'), x FROM {s}.nv_src WHERE x = 20"),
    (0, "COMMIT"),
    (1, "SELECT nextval('{s}.ns')"),
    (0, "SELECT id, x, y FROM {s}.\"Nv t\" ORDER BY id"),
    (1, "SELECT count(*), count(DISTINCT id) FROM {s}.\"Nv t\""),
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for node, sql in SCRIPT:
            sql = sql.format(s=schema).replace("@DIST", "DISTRIBUTE BY HASH (id)" if gridpg and "id" in sql
                                               else "DISTRIBUTE BY HASH (x)" if gridpg else "")
            cur = (first, second)[node].execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
    return out


def test_nextval_in_insert_select_as_postgresql(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    grid = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    # every row on the node its id routes to: the primary key held on each node
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        rows = conn.execute(f'SELECT count(*) FROM {schema}."Nv t" WHERE id = ANY(%s)',
                            ([r[0] for r in grid[-2]],)).fetchone()  # type: ignore[index,union-attr]
        assert rows == (len(grid[-2]),)  # type: ignore[arg-type]


def test_sequence_expression_defaults_left_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """Defaults calling nextval() inside an expression are evaluated from staged GTM
    values (tests/oracle/corpus/99_sequence_expression_defaults.sql), except where that
    cannot be PostgreSQL's answer: such a default of the distribution column (the rows are
    routed before any node computes it) and one calling currval() (a datanode's session
    has none, or another's). Both are refused (0A000) and nothing is written."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE SEQUENCE {schema}.q")
        conn.execute(f"CREATE TABLE {schema}.src (id int PRIMARY KEY)")
        conn.execute(f"INSERT INTO {schema}.src SELECT generate_series(1, 5)")
        conn.execute(f"CREATE TABLE {schema}.bykey (code text PRIMARY KEY DEFAULT 'K' || nextval('{schema}.q'), v int)")
        conn.execute(f"CREATE TABLE {schema}.cur (id int PRIMARY KEY, c bigint DEFAULT -1 * currval('{schema}.q'))")
        for table, column in (("bykey", "v"), ("cur", "id")):
            try:
                conn.execute(f"INSERT INTO {schema}.{table} ({column}) SELECT id FROM {schema}.src")
                raise AssertionError(f"{table}: refused expected")
            except psycopg.errors.FeatureNotSupported:
                pass
            assert conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone() == (0,)


def test_set_default_and_copy_never_take_a_datanodes_sequence_value(gridpg_cluster: Cluster, plain_pg: str,
                                                                   schema: str) -> None:
    """`UPDATE ... SET col = DEFAULT`, `ON CONFLICT DO UPDATE SET col = DEFAULT` and COPY
    leaving a column to a default that calls nextval(): the datanode evaluated it on its
    own copy of the sequence, so the values repeated ones the GTM had handed out (two rows
    'C50'), silently. Now a plain `nextval('s')` default takes the GTM's value as
    `SET n = nextval('s')` does, and the rest is refused (0A000) with nothing written."""
    def run(dsn: str) -> list[object]:
        out: list[object] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'SET search_path = "{schema}"')
            conn.execute("CREATE SEQUENCE s START 50")
            conn.execute("CREATE TABLE t (id int PRIMARY KEY, code text DEFAULT 'C' || nextval('s'), v int, "
                         "n bigint DEFAULT nextval('s'))")
            conn.execute("INSERT INTO t (id, v) VALUES (1, 1), (2, 2), (3, 3)")
            for sql in ("UPDATE t SET n = DEFAULT WHERE id = 2", "UPDATE t SET n = DEFAULT, v = 0 WHERE id >= 2",
                        "UPDATE t SET code = DEFAULT WHERE id = 1",
                        "INSERT INTO t (id, v) VALUES (3, 0) ON CONFLICT (id) DO UPDATE SET code = DEFAULT"):
                try:
                    out.append(conn.execute(sql).statusmessage)
                except psycopg.Error as exc:
                    out.append(exc.sqlstate)
            try:
                with conn.cursor() as cur, cur.copy("COPY t (id, v) FROM STDIN") as copy:
                    copy.write("7\t7\n8\t8\n")
                out.append("COPY")
            except psycopg.Error as exc:
                out.append(exc.sqlstate)
            out.append(conn.execute("SELECT id, code, n FROM t WHERE id <= 3 ORDER BY id").fetchall())
            out.append(conn.execute("SELECT nextval('s')").fetchone())
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        return out

    plain, grid = run(plain_pg), run(gridpg_cluster.dsn(0))
    assert plain[:2] == grid[:2] == ["UPDATE 1", "UPDATE 2"]
    assert grid[2:5] == ["0A000", "0A000", "0A000"] and plain[2:5] == ["UPDATE 1", "INSERT 0 1", "COPY"]
    # the values the GTM handed out: each once (plain's differ only by the calls gridpg refused)
    rows = grid[5]
    assert [r[:2] for r in rows] == [(1, "C50"), (2, "C52"), (3, "C54")] and rows[0][2] == 51, rows
    assert sorted(r[2] for r in rows[1:]) == [57, 58] and grid[6] == (59,), rows  # (56: the first UPDATE's)
