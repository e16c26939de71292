"""Writes whose rows change nodes that gridpg refused or got wrong (h-merge24), compared
with plain PostgreSQL statement by statement, from both coordinators:

* a MERGE decided on one node (the ON condition pins the target's distribution column)
  whose WHEN NOT MATCHED THEN INSERT gives another distribution value (PostgreSQL's
  rowsecurity.sql: `ON did = s.sdid ... INSERT VALUES (12, ...)`): the datanode refused
  the row (23514); now it is moved to its own node (executor/merge_moves.py), where a
  duplicate key is PostgreSQL's 23505 and an error leaves nothing written;
* sub-selects over distributed tables in a MERGE outside its source (WHEN conditions,
  UPDATE SET, INSERT VALUES) and as an UPDATE's new distribution value: refused (0A000).
  The uncorrelated ones now run first, once (planner/subplans.split_write_scalars); a
  MERGE's correlated ones read whole copies of their tables on the target's nodes
  (executor/merge_sublinks.py), an UPDATE's read them in the catalog copy the moved rows
  are updated in (planner/writes.move_rows).
"""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer, run_setup, same_answers_as_plain

SETUP = [
    "CREATE TABLE doc (did int PRIMARY KEY, cid int, dnotes text) DISTRIBUTE BY HASH (did)",
    "CREATE TABLE src (sid int, v int) DISTRIBUTE BY HASH (v)",
    "CREATE TABLE rsrc (sid int, v int) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE coll (did int PRIMARY KEY, w int) DISTRIBUTE BY HASH (did)",
    "CREATE TABLE rtgt (did int PRIMARY KEY, cid int) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE ser (id serial, k int, note text, PRIMARY KEY (k, id)) DISTRIBUTE BY HASH (k)",
    "CREATE TABLE nk (k int, w int DEFAULT 7) DISTRIBUTE BY HASH (k)",
    "INSERT INTO doc SELECT g, g % 3, 'n' || g FROM generate_series(1, 10) g",
    "INSERT INTO src SELECT g, g * 10 FROM generate_series(5, 15) g",
    "INSERT INTO rsrc SELECT g, g * 10 FROM generate_series(8, 14) g",
    "INSERT INTO coll SELECT g, g FROM generate_series(1, 20) g",
    "INSERT INTO rtgt SELECT g, g FROM generate_series(1, 5) g",
]

DOC = "SELECT * FROM doc ORDER BY did"
TOTALS = "SELECT count(*), sum(did), sum(cid), string_agg(dnotes, ',' ORDER BY did) FROM doc"

# (coordinator, statement)
MOVED_INSERTS: list[tuple[int, str]] = [
    # rowsecurity.sql's shape: matched on one node, the insert's key elsewhere
    (0, "MERGE INTO doc d USING (SELECT 1 AS sdid) s ON did = s.sdid WHEN MATCHED THEN "
        "UPDATE SET dnotes = dnotes || ' m4' WHEN NOT MATCHED THEN INSERT VALUES (12, 11, 'x')"),
    (1, "MERGE INTO doc d USING (SELECT 13 AS sdid) s ON did = s.sdid WHEN MATCHED THEN "
        "UPDATE SET dnotes = 'm' WHEN NOT MATCHED THEN INSERT VALUES (12, 11, 'x')"),
    (0, "MERGE INTO doc d USING (SELECT 77 AS sdid) s ON did = s.sdid WHEN NOT MATCHED THEN "
        "INSERT VALUES (3, 11, 'dup')"),  # 23505 on 3's node, as in PostgreSQL
    (0, DOC),
    # a HASH source staged by the ON key; two NOT MATCHED actions with conditions, DO NOTHING
    (1, "MERGE INTO doc d USING src s ON d.did = s.sid WHEN MATCHED AND s.sid < 7 THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET dnotes = 'u' || s.v "
        "WHEN NOT MATCHED AND s.sid % 2 = 0 THEN INSERT (did, cid, dnotes) VALUES (s.sid + 100, s.v, 'even') "
        "WHEN NOT MATCHED AND s.sid = 13 THEN DO NOTHING "
        "WHEN NOT MATCHED THEN INSERT (dnotes, did) VALUES ('odd', s.v)"),
    (0, DOC),
    # a REPLICATION source; a colocated source inserting under another key
    (0, "MERGE INTO doc d USING rsrc s ON d.did = s.sid WHEN MATCHED THEN UPDATE SET cid = -1 "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.v + 1, s.sid, 'rep')"),
    (1, "MERGE INTO doc d USING coll c ON d.did = c.did WHEN NOT MATCHED AND c.w > 17 THEN "
        "INSERT VALUES (c.did + 1000, c.w, 'col')"),
    (0, TOTALS),
    # an error on the receiving node rolls the whole statement back (its UPDATE too)
    (0, "MERGE INTO doc d USING (VALUES (1, 1), (502, 1), (503, 1)) v(a, b) ON d.did = v.a "
        "WHEN MATCHED THEN UPDATE SET cid = 5 WHEN NOT MATCHED THEN INSERT VALUES (v.b + 2000, 0, 'dup')"),
    (0, TOTALS),
    (1, "BEGIN"),
    (1, "MERGE INTO doc d USING (VALUES (1, 1), (502, 1)) v(a, b) ON d.did = v.a "
        "WHEN MATCHED THEN UPDATE SET cid = 6 WHEN NOT MATCHED THEN INSERT VALUES (v.b + 3000, 0, 'blk')"),
    (1, TOTALS),
    (1, "ROLLBACK"),
    (1, TOTALS),
    # the ON condition pins the key to a constant
    (0, "MERGE INTO doc d USING (SELECT 3 AS x) s ON d.did = 3 WHEN MATCHED THEN UPDATE SET dnotes = 'c3' "
        "WHEN NOT MATCHED THEN INSERT VALUES (4000, 1, 'c')"),
    (0, "MERGE INTO doc d USING (SELECT 3 AS x) s ON d.did = 3333 WHEN MATCHED THEN UPDATE SET dnotes = 'c' "
        "WHEN NOT MATCHED THEN INSERT VALUES (4001, 1, 'c')"),
    (1, "MERGE INTO doc d USING (SELECT 3 AS x) s ON d.did = 3334 WHEN NOT MATCHED THEN "
        "INSERT VALUES (3334, 1, 'same') RETURNING merge_action(), d.*"),
    (0, "SELECT * FROM doc WHERE did IN (3, 4000, 4001, 3333, 3334) ORDER BY did"),
    # REPLICATION target; a serial column beside a moved key
    (0, "MERGE INTO rtgt t USING (SELECT 9 AS k) s ON t.did = s.k WHEN NOT MATCHED THEN INSERT VALUES (99, 1)"),
    (0, "SELECT * FROM rtgt ORDER BY did"),
    (1, "MERGE INTO ser t USING (VALUES (1, 'a'), (2, 'b')) v(k, n) ON t.k = v.k "
        "WHEN NOT MATCHED THEN INSERT (k, note) VALUES (v.k * 7, v.n)"),
    (1, "SELECT k, note, count(DISTINCT id) OVER () FROM ser ORDER BY k"),
    (0, TOTALS),
    # merge.sql:221: INSERT DEFAULT VALUES gives the key NULL, whose row lives on remainder 0's node
    (0, "MERGE INTO nk USING (SELECT 4321 AS k) s ON nk.k = s.k WHEN NOT MATCHED THEN INSERT DEFAULT VALUES"),
    (1, "MERGE INTO nk USING (VALUES (1), (4321)) s(k) ON nk.k = s.k WHEN NOT MATCHED THEN INSERT DEFAULT VALUES"),
    (0, "SELECT count(*), count(k), sum(w) FROM nk"),
]


def _run(script: list[tuple[int, str]], setup: list[str]) -> object:
    def run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
        with psycopg.connect(dsns[0], autocommit=True) as first, \
                psycopg.connect(dsns[1], autocommit=True) as second:
            first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for conn in (first, second):
                conn.execute(f"SET search_path TO {schema}")
            run_setup(first, setup, gridpg)
            return [answer((first, second)[node], sql) for node, sql in script]
    return run


def test_merge_insert_of_another_key_moves_the_row(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    grid = same_answers_as_plain(_run(MOVED_INSERTS, SETUP), [s for _, s in MOVED_INSERTS],
                                 gridpg_cluster, plain_pg, schema)
    assert grid[2] == "23505" and grid[9] == "23505"  # the duplicates were found where they live


def test_merge_moved_insert_with_returning(gridpg_cluster: Cluster, schema: str) -> None:
    """RETURNING of a row that must move is built where it lands (h-left25; a clear 0A000
    before), as are the rows that stay on their node, as in PostgreSQL (rowsecurity.sql:997,
    merge.sql:1766 insert such rows); a list reading the source refuses such a row (0A000),
    nothing written."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        run_setup(conn, SETUP[:1], True)
        answers = [answer(conn, f"MERGE INTO doc d USING (SELECT {x} AS x) s ON d.did = s.x WHEN NOT MATCHED "
                                f"THEN INSERT VALUES ({x + 1000}, 1, 'r') RETURNING merge_action(), d.did")
                   for x in range(1, 13)]
        assert answers == [[("INSERT", x + 1000)] for x in range(1, 13)]
        assert answer(conn, "SELECT count(*) FROM doc") == [(12,)]
        answers = [answer(conn, f"MERGE INTO doc d USING (SELECT {x} AS x) s ON d.did = s.x WHEN NOT MATCHED "
                                f"THEN INSERT VALUES ({x + 2000}, 1, 'r') RETURNING s.x, d.did")
                   for x in range(1, 13)]
        kept = [a for a in answers if a != "0A000"]
        assert kept and len(kept) < len(answers), answers  # both kinds met
        assert all(a == [(x, x + 2000)] for x, a in zip(range(1, 13), answers) if a != "0A000")
        assert answer(conn, "SELECT count(*) FROM doc") == [(12 + len(kept),)]


SUB_SETUP = [
    "CREATE TABLE doc (did int PRIMARY KEY, cid int, dnotes text) DISTRIBUTE BY HASH (did)",
    "CREATE TABLE cat (cid int PRIMARY KEY, cname text) DISTRIBUTE BY HASH (cid)",
    "CREATE TABLE rcat (cid int PRIMARY KEY, cname text) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE src (sid int, v int) DISTRIBUTE BY HASH (v)",
    "INSERT INTO doc SELECT g, (g % 4 + 1) * 11, 'n' || g FROM generate_series(1, 10) g",
    "INSERT INTO cat VALUES (11, 'novel'), (22, 'science'), (33, 'tech'), (44, 'manga'), (55, 'update'), "
    "(66, 'insert')",
    "INSERT INTO rcat SELECT * FROM cat",
    "INSERT INTO src SELECT g, g * 10 FROM generate_series(5, 15) g",
]

SUB_SELECTS: list[tuple[int, str]] = [
    # rowsecurity.sql:979's shape: the new value from a sub-select of a distributed table
    (0, "MERGE INTO doc d USING (SELECT 1 AS sdid) s ON did = s.sdid WHEN MATCHED THEN "
        "UPDATE SET dnotes = 'm7', cid = (SELECT cid FROM cat WHERE cname = 'tech')"),
    (1, "MERGE INTO doc d USING src s ON d.did = s.sid "
        "WHEN MATCHED AND d.cid < (SELECT avg(cid) / 20 FROM cat) THEN UPDATE SET cid = (SELECT max(cid) FROM cat) "
        "WHEN NOT MATCHED AND s.v > (SELECT min(cid) * 10 FROM cat) THEN "
        "INSERT VALUES (s.sid, (SELECT count(*) FROM cat), 'new')"),
    (0, DOC),
    (1, "MERGE INTO doc d USING src s ON d.did = s.sid WHEN MATCHED THEN UPDATE SET cid = (SELECT cid FROM cat)"),
    (0, TOTALS),
    # an UPDATE's new distribution value: the rows move; a duplicate is 23505, nothing moved
    (0, "UPDATE doc SET did = (SELECT max(cid) FROM cat) + 1000 WHERE did = 2"),
    (1, "UPDATE doc SET did = did + (SELECT min(cid) FROM cat) WHERE did = 10 RETURNING did, cid"),
    (0, "UPDATE doc SET did = (SELECT max(cid) FROM cat) WHERE did IN (4, 7)"),
    (1, "BEGIN"),
    (1, "UPDATE doc SET did = (SELECT cid + 3000 FROM cat WHERE cname = 'novel') WHERE did = 6"),
    (0, TOTALS),
    (1, TOTALS),
    (1, "ROLLBACK"),
    (1, "UPDATE doc SET did = (SELECT c.cid + 6000 FROM rcat c WHERE c.cid = doc.cid) WHERE did = 8"),
    (0, TOTALS),
]

CORRELATED: list[tuple[int, str]] = [
    # correlated sub-selects over HASH tables read whole copies on the target's nodes
    (0, "MERGE INTO doc d USING src s ON d.did = s.sid WHEN MATCHED AND d.cid = "
        "(SELECT c.cid FROM cat c WHERE c.cid = d.cid AND c.cname > 'n') "
        "THEN UPDATE SET dnotes = 'corr' || (SELECT cname FROM cat WHERE cat.cid = d.cid)"),
    (1, DOC),
    (1, "MERGE INTO doc d USING src s ON d.did = s.sid WHEN MATCHED AND d.cid = "
        "(SELECT c.cid FROM rcat c WHERE c.cid = d.cid) THEN UPDATE SET dnotes = 'rcorr'"),
    # the target itself in a sub-select: the rows as the statement began
    (0, "MERGE INTO doc d USING src s ON d.did = s.sid "
        "WHEN MATCHED AND EXISTS (SELECT 1 FROM doc d2 WHERE d2.did = d.did + 1) THEN DELETE "
        "WHEN NOT MATCHED AND s.sid NOT IN (SELECT cid FROM cat) THEN "
        "INSERT VALUES (s.sid, (SELECT max(c.cid) FROM cat c WHERE c.cid < s.v), 'ins')"),
    (0, DOC),
    (1, "BEGIN"),
    (1, "MERGE INTO doc d USING src s ON d.did = s.sid WHEN MATCHED AND d.cid = "
        "(SELECT c.cid FROM cat c WHERE c.cid = d.cid) THEN UPDATE SET cid = 0"),
    (1, TOTALS),
    (1, "ROLLBACK"),
    # an UPDATE's new distribution value from a correlated sub-select, or a row of them
    (0, "UPDATE doc SET did = (SELECT c.cid + 5000 + doc.did FROM cat c WHERE c.cid = doc.cid) WHERE did <= 3"),
    (1, "UPDATE doc SET (did, dnotes) = (SELECT c.cid + 6000 + doc.did, c.cname FROM cat c WHERE c.cid = doc.cid) "
        "WHERE did IN (6, 7)"),
    (0, "UPDATE doc SET (did, dnotes) = (SELECT max(cid) + 7000, 'multi' FROM cat) WHERE did = 8"),
    (0, TOTALS),
    # its own table in the sub-select: the rows as the statement began
    (1, "UPDATE doc SET did = (SELECT count(*) FROM doc d2 WHERE d2.cid = doc.cid) * 1000 + doc.did "
        "WHERE did = 9 RETURNING did, (SELECT count(*) FROM doc)"),
    (1, TOTALS),
    # merge.sql:922: a RETURNING sub-select of the row's merge_action(), over a HASH table
    (1, "MERGE INTO doc d USING (SELECT * FROM src WHERE sid = 7) s ON d.did = s.sid WHEN MATCHED THEN "
        "UPDATE SET cid = cid + 1 WHEN NOT MATCHED THEN INSERT VALUES (s.sid, 0, 'new') "
        "RETURNING (SELECT cname FROM cat WHERE cname = lower(merge_action())) AS a, merge_action(), d.did"),
    # entries of the MERGE's own WITH read by sub-selects: copied as their rows
    (0, "WITH w(c, n) AS (SELECT cid, cname FROM cat WHERE cid > 20), s2 AS (SELECT * FROM src WHERE sid < 12) "
        "MERGE INTO doc d USING s2 s ON d.did = s.sid WHEN MATCHED AND EXISTS (SELECT 1 FROM w WHERE w.c = d.cid) "
        "THEN UPDATE SET dnotes = (SELECT n FROM w WHERE w.c = d.cid) "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.sid + 100, (SELECT min(c) FROM w), 'x')"),
    (0, DOC),
    (1, "MERGE INTO doc d USING (SELECT 4242 AS sid) s ON d.did = s.sid WHEN MATCHED THEN "
        "UPDATE SET cid = cid + 1 WHEN NOT MATCHED THEN INSERT VALUES (s.sid, 0, 'new') "
        "RETURNING (SELECT cname FROM cat WHERE cname = lower(merge_action())) AS a, merge_action(), d.did"),
]

# what stays refused: an UPDATE moving rows whose WHERE sub-select reads a HASH table (the
# nodes' DELETE would read their own rows only)
REFUSED = [
    "UPDATE doc SET did = did + 1 WHERE cid IN (SELECT cid FROM cat WHERE cname = 'novel') AND did = 10",
]


def test_sub_selects_over_distributed_tables_run_first(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    grid = same_answers_as_plain(_run(SUB_SELECTS, SUB_SETUP), [s for _, s in SUB_SELECTS],
                                 gridpg_cluster, plain_pg, schema)
    assert grid[3] == "21000" and grid[7] == "23505"


def test_correlated_sub_selects_read_copies(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    same_answers_as_plain(_run(CORRELATED, SUB_SETUP), [s for _, s in CORRELATED], gridpg_cluster, plain_pg, schema)


def test_what_stays_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        run_setup(conn, SUB_SETUP, True)
        before = answer(conn, TOTALS)
        for sql in REFUSED:
            assert answer(conn, sql) == "0A000", sql
        assert answer(conn, TOTALS) == before


def test_bound_parameters(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """The same writes through the extended protocol with bound values (psycopg's %s)."""
    script = [
        ("MERGE INTO doc d USING (SELECT %s::int AS sdid) s ON did = s.sdid WHEN MATCHED THEN "
         "UPDATE SET dnotes = %s WHEN NOT MATCHED THEN INSERT VALUES (%s, 11, 'p')", (77, "m", 12)),
        ("MERGE INTO doc d USING src s ON d.did = s.sid WHEN MATCHED AND d.cid < (SELECT max(cid) - %s FROM cat) "
         "THEN UPDATE SET cid = (SELECT c.cid FROM cat c WHERE c.cid = d.cid + %s) "
         "WHEN NOT MATCHED THEN INSERT VALUES (s.sid + %s, 0, 'p')", (10, 11, 500)),
        ("UPDATE doc SET did = (SELECT max(cid) FROM cat) + %s WHERE did = %s", (9000, 2)),
        (TOTALS, None),
    ]

    def run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
        with psycopg.connect(dsns[0], autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(f"SET search_path TO {schema}")
            run_setup(conn, SUB_SETUP, gridpg)
            return [answer(conn, sql, params) for sql, params in script]

    same_answers_as_plain(run, [s for s, _ in script], gridpg_cluster, plain_pg, schema)
