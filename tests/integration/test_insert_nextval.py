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
