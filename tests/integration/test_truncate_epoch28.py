"""TRUNCATE reloads no coordinator's catalog, and still answers as PostgreSQL (h-truncate28).

Test suites and ORMs empty their tables between tests with TRUNCATE; it changes no
definition a coordinator caches, so it no longer bumps the metadata epoch
(commands/ddl.DdlRunner.finish, commands/sequence_ranges.py). Here a script on two
coordinators, compared statement by statement with plain PostgreSQL (two sessions there):
the other coordinator sees the emptied tables at once; ON TRUNCATE triggers fire; RESTART
IDENTITY restarts the sequences for the other coordinator too (the GTM), also inside a
block, and a rolled-back one leaves both the rows and the sequence; setval (which reloaded
every coordinator too); CASCADE over a foreign
key, several tables, a partitioned table and ONLY, a temp table, a prepared statement on
the other coordinator. On gridpg the epoch is the same after the script as before it; a
sequence with CACHE above 1 makes RESTART IDENTITY reload as before (its ranges cached by
the coordinators must go), and so does a block with other DDL beside its TRUNCATE.
"""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer, same_answers_as_plain

SETUP = [
    "CREATE TABLE p (id serial PRIMARY KEY, v text)",
    "CREATE TABLE ref (id serial PRIMARY KEY) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE child (id serial PRIMARY KEY, rid int REFERENCES ref (id)) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE log (what text) DISTRIBUTE BY REPLICATION",
    ("CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "INSERT INTO log VALUES (TG_TABLE_NAME || ':' || TG_OP); RETURN NULL; END $$"),
    "CREATE TABLE tg (x int)",
    "CREATE TRIGGER tg_truncate AFTER TRUNCATE ON tg FOR EACH STATEMENT EXECUTE FUNCTION note()",
    "CREATE TABLE pt (k int, v text) PARTITION BY RANGE (k)",
    "CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10)",
    "CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (10) TO (20)",
]

# (session: 0 and 1 are two coordinators on gridpg, statement)
SCRIPT: list[tuple[int, str]] = [
    (0, "INSERT INTO p (v) SELECT 'a' FROM generate_series(1, 5)"),
    (1, "SELECT count(*) FROM p"),
    (0, "TRUNCATE p"),
    (1, "SELECT count(*) FROM p"),
    (0, "INSERT INTO tg VALUES (1), (2)"),
    (0, "TRUNCATE tg"),  # its ON TRUNCATE trigger fires
    (1, "SELECT what FROM log"),
    (1, "SELECT count(*) FROM tg"),
    (1, "INSERT INTO p (v) VALUES ('b') RETURNING id"),  # no RESTART: the sequence goes on
    (0, "TRUNCATE TABLE p RESTART IDENTITY"),
    (1, "INSERT INTO p (v) VALUES ('c') RETURNING id"),  # restarted for the other coordinator
    (0, "INSERT INTO p (v) VALUES ('d') RETURNING id"),
    (1, "SELECT count(*) FROM log"),
    # a rolled-back TRUNCATE leaves the rows, and a rolled-back restart the sequence
    (0, "BEGIN"),
    (0, "TRUNCATE p RESTART IDENTITY"),
    (0, "SELECT count(*) FROM p"),
    (0, "INSERT INTO p (v) VALUES ('e') RETURNING id"),
    (0, "ROLLBACK"),
    (1, "SELECT id, v FROM p ORDER BY id"),
    (1, "INSERT INTO p (v) VALUES ('f') RETURNING id"),
    (1, "SELECT count(*) FROM log"),
    # committed in a block: emptied and restarted for the other coordinator
    (0, "BEGIN"),
    (0, "INSERT INTO p (v) VALUES ('g')"),
    (0, "TRUNCATE p RESTART IDENTITY"),
    (0, "SELECT count(*) FROM p"),
    # after it, what reads the locked table on the block's own connections, never a pooled
    # one that would wait for the block's lock: a join by a column that is not the
    # distribution column (its estimates' EXPLAINs), ANALYZE
    (0, "INSERT INTO p (v) VALUES ('g2'), ('g2')"),
    (0, "SELECT count(*) FROM p a JOIN p b ON a.v = b.v"),
    (0, "ANALYZE p"),
    (0, "TRUNCATE p RESTART IDENTITY"),
    (0, "COMMIT"),
    (1, "SELECT count(*) FROM p"),
    (1, "INSERT INTO p (v) VALUES ('h') RETURNING id"),
    # a prepared statement on the other coordinator, before and after
    (1, "PREPARE counted AS SELECT count(*), max(id) FROM p"),
    (1, "EXECUTE counted"),
    (0, "TRUNCATE p"),
    (1, "EXECUTE counted"),
    # CASCADE over a foreign key; several tables; RESTART IDENTITY with CASCADE
    (0, "INSERT INTO ref (id) VALUES (DEFAULT), (DEFAULT), (DEFAULT)"),
    (0, "INSERT INTO child (rid) SELECT g FROM generate_series(1, 3) g"),
    (0, "TRUNCATE ref"),
    (0, "TRUNCATE ref CASCADE"),
    (1, "SELECT (SELECT count(*) FROM ref), (SELECT count(*) FROM child)"),
    (1, "INSERT INTO ref DEFAULT VALUES RETURNING id"),
    (0, "TRUNCATE ref, child RESTART IDENTITY"),
    (1, "INSERT INTO ref DEFAULT VALUES RETURNING id"),
    (1, "INSERT INTO child (rid) VALUES (1) RETURNING id"),
    (1, "INSERT INTO child (rid) VALUES (1) RETURNING id"),
    (0, "TRUNCATE ref RESTART IDENTITY CASCADE"),  # child's sequence restarts too
    (1, "INSERT INTO ref DEFAULT VALUES RETURNING id"),
    (1, "INSERT INTO child (rid) VALUES (1) RETURNING id"),
    (0, "TRUNCATE p, ref, child, log"),
    (1, "SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM ref), (SELECT count(*) FROM log)"),
    # partitioned: ONLY is refused, the whole table empties every partition
    (0, "INSERT INTO pt VALUES (1, 'x'), (15, 'y')"),
    (0, "TRUNCATE ONLY pt"),
    (0, "TRUNCATE pt1"),
    (1, "SELECT k FROM pt ORDER BY k"),
    (0, "TRUNCATE pt"),
    (1, "SELECT count(*) FROM pt"),
    # setval, as Django's fixture loading does after each load: for the other coordinator too
    (0, "SELECT setval('p_id_seq', 100)"),
    (1, "INSERT INTO p (v) VALUES ('s') RETURNING id"),
    (0, "SELECT setval(pg_get_serial_sequence('p', 'id'), 7, false)"),
    (1, "SELECT nextval('p_id_seq')"),
    (0, "INSERT INTO p (v) VALUES ('s') RETURNING id"),
    # the session's temp table
    (0, "CREATE TEMP TABLE tmp (x int)"),
    (0, "INSERT INTO tmp VALUES (1), (2)"),
    (0, "TRUNCATE tmp"),
    (0, "SELECT count(*) FROM tmp"),
    (0, "BEGIN"),
    (0, "INSERT INTO tmp VALUES (3)"),
    (0, "TRUNCATE tmp"),
    (0, "ROLLBACK"),
    (0, "SELECT count(*) FROM tmp"),
]


def _epoch(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT max(epoch) FROM gridpg.coordinator_state").fetchone()[0])


def _runner(epochs: list[int]):
    def run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
        out: list[object] = []
        with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
            first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for conn in (first, second):
                conn.execute(f"SET search_path TO {schema}")
            for sql in SETUP:
                first.execute(sql if gridpg else sql.replace(" DISTRIBUTE BY REPLICATION", ""))
            before = _epoch(first) if gridpg else 0
            for node, sql in SCRIPT:
                out.append(answer((first, second)[node], sql))
            if gridpg:
                epochs.extend([before, _epoch(first)])
        return out
    return run


def test_truncate_answers_as_postgres_without_reload(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    epochs: list[int] = []
    got = same_answers_as_plain(_runner(epochs), [s for _, s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert got[SCRIPT.index((1, "SELECT what FROM log"))] == [("tg:TRUNCATE",)]
    assert got[SCRIPT.index((0, "TRUNCATE ONLY pt"))] == "42809"
    before, after = epochs
    assert after == before, "a TRUNCATE moved the metadata epoch"


def test_restart_of_cached_sequence_still_reloads(gridpg_cluster: Cluster, schema: str) -> None:
    """A sequence with CACHE 10: each coordinator takes ten values at a time from the GTM;
    RESTART IDENTITY must make the other one drop its range, by a reload as before."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as first, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as second:
        for conn in (first, second):
            conn.execute(f"SET search_path TO {schema}")
        first.execute("CREATE TABLE cached (id int GENERATED BY DEFAULT AS IDENTITY (CACHE 10) PRIMARY KEY, v int)")
        assert second.execute("INSERT INTO cached (v) VALUES (1) RETURNING id").fetchall() == [(1,)]
        before = _epoch(first)
        first.execute("TRUNCATE cached RESTART IDENTITY")
        assert _epoch(first) > before
        assert second.execute("INSERT INTO cached (v) VALUES (2) RETURNING id").fetchall() == [(1,)]
        before = _epoch(first)
        first.execute("TRUNCATE cached")
        assert _epoch(first) == before
        before = _epoch(first)
        first.execute("SELECT setval(pg_get_serial_sequence('cached', 'id'), 50)")
        assert _epoch(first) > before
        assert second.execute("INSERT INTO cached (v) VALUES (3) RETURNING id").fetchall() == [(51,)]
        before = _epoch(first)
        # a block's TRUNCATE, then DDL that does change the catalog: its COMMIT reloads
        with first.transaction():
            first.execute("TRUNCATE cached")
            first.execute("CREATE TABLE made_after (i int)")
        assert _epoch(first) > before
        assert second.execute("SELECT count(*) FROM made_after").fetchall() == [(0,)]
