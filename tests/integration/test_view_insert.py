"""INSERT through an automatically updatable view over a distributed table
(executor/view_insert.py): the same statements on plain PostgreSQL and on gridpg (both
coordinators, the extended protocol's parameters, blocks that roll back and commit) give
the same rows, errors and RETURNING; what gridpg cannot route is refused with 0A000 and
changes nothing."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import answer, run_setup, same_answers_as_plain

SETUP = [
    ("CREATE TABLE {s}.\"Vi base\" (id serial, k int, v text DEFAULT 'base', n int CHECK (n >= 0)) "
     "DISTRIBUTE BY HASH (k)"),
    "CREATE VIEW {s}.\"V one\" AS SELECT k AS key, v, n, id FROM {s}.\"Vi base\" WHERE n < 100 WITH CHECK OPTION",
    "ALTER VIEW {s}.\"V one\" ALTER COLUMN v SET DEFAULT 'view default'",
    "CREATE TABLE {s}.vi_kv (k int PRIMARY KEY, v text) DISTRIBUTE BY HASH (k)",
    "CREATE VIEW {s}.vi_kv_v AS SELECT * FROM {s}.vi_kv",
    "CREATE TABLE {s}.vi_ref (k int, v text DEFAULT 'd') DISTRIBUTE BY REPLICATION",
    "CREATE VIEW {s}.vi_ref_v AS SELECT k AS kk, v FROM {s}.vi_ref",
]

# (coordinator, statement, parameters): run in order on one session per coordinator
SCRIPT: list[tuple[int, str, tuple[object, ...]]] = [
    (0, "/* app */ INSERT INTO {s}.\"V one\" (key, n) VALUES (1, 5), (2, 6), (3, 7) RETURNING *", ()),
    (0, "INSERT INTO {s}.\"V one\" VALUES (4, 'x', 8) RETURNING key, v, id", ()),
    (0, "INSERT INTO {s}.\"V one\" (key, n) VALUES (5, 500)", ()),  # 44000, check option
    (0, "INSERT INTO {s}.\"V one\" (key, n) VALUES (5, -1)", ()),  # 23514, the table's CHECK
    (0, "INSERT INTO {s}.\"V one\" (key, n, id) VALUES (6, 1, DEFAULT), (7, 1, DEFAULT) RETURNING id, v", ()),
    (0, "INSERT INTO {s}.\"V one\" (key, n) VALUES (%s, %s) RETURNING key, n", (8, 2)),
    (1, "INSERT INTO {s}.\"V one\" (n, key) VALUES (%s, %s), (3, 9) RETURNING *", (4, 10)),
    (0, "BEGIN", ()),
    (0, "INSERT INTO {s}.\"V one\" (key, n) VALUES (11, 1) RETURNING id", ()),
    (0, "SELECT k, v, n FROM {s}.\"Vi base\" WHERE k = 11", ()),
    (0, "ROLLBACK", ()),
    (1, "BEGIN", ()),
    (1, "INSERT INTO {s}.\"V one\" (key, v, n) VALUES (12, 'committed', 1)", ()),
    (1, "COMMIT", ()),
    (0, "INSERT INTO {s}.vi_kv_v VALUES (1, 'foo')", ()),
    (0, "INSERT INTO {s}.vi_kv_v VALUES (1, 'bar') ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING *", ()),
    (1, "INSERT INTO {s}.vi_kv_v AS t VALUES (1, 'baz') ON CONFLICT (k) DO NOTHING", ()),
    (0, "INSERT INTO {s}.vi_ref_v DEFAULT VALUES RETURNING *", ()),
    (1, "INSERT INTO {s}.vi_ref_v (kk) VALUES (1), (2)", ()),
    (0, "SELECT k, v, n, id FROM {s}.\"Vi base\" ORDER BY k", ()),
    (1, "SELECT * FROM {s}.\"V one\" ORDER BY key", ()),
    (0, "SELECT * FROM {s}.vi_kv ORDER BY k", ()),
    (0, "SELECT * FROM {s}.vi_ref ORDER BY k NULLS FIRST", ()),
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        run_setup(first, SETUP, gridpg, s=schema)
        for node, sql, params in SCRIPT:
            out.append(answer((first, second)[node], sql.format(s=schema), params))
    return out


def test_insert_through_a_view_as_postgresql(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    answers = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert "44000" in answers and "23514" in answers


@pytest.mark.parametrize("sql", [
    "INSERT INTO vr_keyed_v (n) VALUES (1)",  # the distribution value left to a default
    "INSERT INTO vr_v (key, n) VALUES (floor(random() * 10)::int, 1)",  # a function: evaluated again
    "INSERT INTO vr_keyed_v (key, n) VALUES (1, 1), (DEFAULT, 2)",
    # a serial column the view does not show, with RETURNING (view_insert._ensure_table_takes_it)
    "INSERT INTO vr_hidden (k) VALUES (1) RETURNING k",
    # INSERT ... SELECT runs its SELECT first: not with a data-modifying WITH (it runs with
    # the INSERT), nor with ON CONFLICT / RETURNING reading other relations on each node
    "WITH d AS (DELETE FROM vr_keyed RETURNING k) INSERT INTO vr_v (key, n) SELECT k, 1 FROM d",
    "INSERT INTO vr_v (key, n) SELECT 1, 1 RETURNING (SELECT count(*) FROM vr_keyed)",
    "INSERT INTO vr_seq_default (key, n) VALUES (1, 1)",  # a view default calling nextval()
])
def test_what_cannot_be_routed_is_refused_and_changes_nothing(gridpg_cluster: Cluster, schema: str,
                                                            sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE vr (id serial, k int, v text, n int) DISTRIBUTE BY HASH (k)")
        conn.execute("CREATE VIEW vr_v AS SELECT k AS key, v, n, id FROM vr")
        conn.execute("CREATE VIEW vr_hidden AS SELECT k, v FROM vr")
        conn.execute("CREATE TABLE vr_keyed (k int DEFAULT 7, n int) DISTRIBUTE BY HASH (k)")
        conn.execute("CREATE VIEW vr_keyed_v AS SELECT k AS key, n FROM vr_keyed")
        conn.execute("CREATE SEQUENCE vr_s")
        conn.execute("CREATE VIEW vr_seq_default AS SELECT k AS key, n, id FROM vr")
        conn.execute("ALTER VIEW vr_seq_default ALTER COLUMN n SET DEFAULT nextval('vr_s')")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM vr").fetchone() == (0,)
        # no sequence value was taken by the refused statement
        assert conn.execute("INSERT INTO vr_v (key) VALUES (1) RETURNING id").fetchone() == (1,)


NULL_KEYS = [
    "INSERT INTO vn_v (n) VALUES (1) RETURNING key, n, id",
    "INSERT INTO vn_v (key, n) VALUES (1, 2), (DEFAULT, 3) RETURNING key, n, id",
    "SELECT k, n, id FROM vn ORDER BY id",
    "SELECT count(*) FROM vn_v WHERE key IS NULL",
]


def test_a_key_left_without_default_is_null(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """The view column showing the distribution column left out, or DEFAULT, where no
    default exists: the row's key is NULL, as in PostgreSQL (it was refused, 0A000)."""
    def run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
        with psycopg.connect(dsns[0], autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(f"SET search_path TO {schema}")
            conn.execute("CREATE TABLE vn (id serial, k int, n int)" + (" DISTRIBUTE BY HASH (k)" if gridpg else ""))
            conn.execute("CREATE VIEW vn_v AS SELECT k AS key, n, id FROM vn")
            return [answer(conn, sql, ()) for sql in NULL_KEYS]

    same_answers_as_plain(run, NULL_KEYS, gridpg_cluster, plain_pg, schema)
