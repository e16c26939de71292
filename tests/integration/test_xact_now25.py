"""One transaction instant in a write outside a block that reaches one datanode only
(h-refuse25), through the extended protocol (named prepared statements and unnamed ones
with bound parameters) from both coordinators, compared with plain PostgreSQL: a column's
DEFAULT now(), the statement's own now() and a BEFORE ROW trigger's now() hold one value.
And never a stale instant: the setting that carries a block's instant to the datanodes
(`gridpg.xact_now`) is gone from their pooled connections once the block ends, so a later
write's trigger reads no earlier transaction's time. The simple protocol's part is
tests/oracle/corpus/99_refuse25.sql.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import sessions_beside_plain

TABLES = {
    "th": "DISTRIBUTE BY HASH (id)",
    "tr": "DISTRIBUTE BY REPLICATION",
    "t1": "DISTRIBUTE BY REPLICATION TO NODE (dn1)",
}
SETUP = [
    ("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); "
     "NEW.seen := current_setting('gridpg.xact_now', true); RETURN NEW; END $$"),
    *[f"CREATE TABLE {t} (id int PRIMARY KEY, v int, created_at timestamptz DEFAULT now(), "
      f"updated_at timestamptz, seen text) {clause}" for t, clause in TABLES.items()],
    *[f"CREATE TRIGGER {t}_touch BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION touch()"
      for t in TABLES],
]

Conns = tuple[psycopg.Connection[Any], psycopg.Connection[Any], psycopg.Connection[Any]]


@pytest.fixture()
def sessions(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> Iterator[Conns]:
    """(gridpg coordinator 1, gridpg coordinator 2, plain PostgreSQL) in the test's schema."""
    dsns = [gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)]
    with sessions_beside_plain(dsns, plain_pg, schema, SETUP) as ((one, two), plain):
        yield one, two, plain


WRITES = [
    ("INSERT INTO {t} (id, v) VALUES (%s, 1) RETURNING created_at = updated_at, updated_at = now()", 1),
    ("INSERT INTO {t} VALUES (%s, 1, DEFAULT) RETURNING created_at = updated_at", 2),
    ("INSERT INTO {t} (id, v, created_at) VALUES (%s, 1, now()) RETURNING created_at = updated_at", 3),
    ("INSERT INTO {t} (id, v) SELECT %s, 1 RETURNING created_at = updated_at", 4),
    ("UPDATE {t} SET v = v + 1, created_at = now() WHERE id = %s RETURNING created_at = updated_at, updated_at = now()",
     1),
    ("UPDATE {t} SET v = v + 1, created_at = CURRENT_TIMESTAMP WHERE id = %s RETURNING created_at = updated_at", 2),
]


@pytest.mark.parametrize("prepare", [True, False])
def test_one_node_writes_outside_a_block_hold_one_instant(sessions: Conns, prepare: bool) -> None:
    one, two, plain = sessions
    for table in TABLES:
        for base, grid in ((100, one), (200, two)):
            for sql, offset in WRITES:
                text, key = sql.format(t=table), (base + offset + (1000 if prepare else 0),)
                answers = [conn.execute(text, key, prepare=prepare).fetchall() for conn in (grid, plain)]
                assert answers[0] == answers[1], f"{text} {key}: gridpg {answers[0]}, plain {answers[1]}"
        stored = [conn.execute(f"SELECT id, created_at = updated_at FROM {table} ORDER BY id").fetchall()
                  for conn in (one, plain)]
        assert stored[0] == stored[1]
        assert all(same for _, same in stored[0])


def test_no_earlier_instant_is_read_on_a_pooled_connection(sessions: Conns, datanodes: dict[str, str],
                                                          schema: str) -> None:
    """Blocks give every datanode they reach their instant; a later write outside a block
    whose text reads no time (the routed fast paths, simple and extended) is sent as it is,
    and its trigger finds the setting empty, never a block's value; one whose text reads
    the time is given its own instant, which its DEFAULT now() holds too."""
    one, two, _ = sessions
    for grid in (one, two):
        for round_ in range(3):
            with grid.transaction():
                grid.execute("INSERT INTO th (id, v) SELECT g, 0 FROM generate_series(%s::int, %s::int) g",
                             (first := 5000 + round_ * 100 + (0 if grid is one else 50), first + 9))
                grid.execute("UPDATE tr SET v = v WHERE true")
            for i in range(8):
                key = 6000 + round_ * 100 + i + (0 if grid is one else 50)
                grid.execute("INSERT INTO th (id, v, created_at) VALUES (%s, 1, NULL)", (key,), prepare=i % 2 == 0)
                grid.execute(f"INSERT INTO t1 (id, v, created_at) VALUES ({key}, 1, NULL)")
                grid.execute(f"UPDATE th SET v = 2 WHERE id = {key}")
    for table in ("th", "t1"):
        seen = one.execute(f"SELECT DISTINCT coalesce(seen, '') FROM {table} WHERE id >= 6000").fetchall()
        assert seen == [("",)], f"{table}: a trigger read an earlier block's instant: {seen}"
    fresh = one.execute("INSERT INTO th (id, v) VALUES (7000, 1) RETURNING seen::timestamptz = created_at, "
                        "seen::timestamptz = now()").fetchall()
    assert fresh == [(True, True)]
    for dsn in datanodes.values():  # nothing left on the datanodes' idle sessions either
        with psycopg.connect(dsn, autocommit=True) as node:
            left = node.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                                "AND query LIKE %s", (f"%{schema}%",)).fetchone()
            assert left == (0,)


def test_the_caret_of_a_node_error_stays_the_clients(sessions: Conns) -> None:
    """The text a node ran holds the instant's SET LOCAL before the statement: its error
    position is placed in the client's statement, as PostgreSQL reports it."""
    one, _, plain = sessions
    sql = "UPDATE th SET v = v + nosuchcol WHERE id = 1 AND created_at < now()"
    positions = []
    for conn in (one, plain):
        with pytest.raises(psycopg.errors.UndefinedColumn) as raised:
            conn.execute(sql)  # (no parameters: the simple protocol)
        positions.append(raised.value.diag.statement_position)
    assert positions[0] == positions[1] == "23"
