"""A NOTICE or WARNING raised by a function that a statement calls on the datanodes (a
PL/pgSQL RAISE in a WHERE, a target list, an UPDATE's SET) reaches the client as
PostgreSQL sends it. gridpg relayed them on a routed statement only: a statement over
several nodes (scatter reads and writes, the merge of sorted results, partial
aggregation, exchange joins, INSERT ... SELECT through a stage) read its nodes' answers
and dropped their NoticeResponses silently (h-probe28b). A REPLICATION table's copies all
run the statement: only the counted copy's notices are relayed, once.

Compared with plain PostgreSQL per statement as multisets (the nodes run in parallel, so
the order of notices raised on different nodes is open), in the extended protocol and in
one simple query."""

from __future__ import annotations

from collections import Counter

import psycopg

from gridpg.cluster.control import Cluster

SETUP = [
    "CREATE TABLE a (id int PRIMARY KEY, g int, v int)",
    "CREATE TABLE b (id int PRIMARY KEY, aid int)",
    "CREATE TABLE c (id int PRIMARY KEY, v int)",
    "CREATE TABLE r (id int PRIMARY KEY, v int) DISTRIBUTE BY REPLICATION",
    "INSERT INTO a SELECT i, i % 3, i FROM generate_series(1, 20) i",
    "INSERT INTO b SELECT i, 21 - i FROM generate_series(1, 20) i",
    "INSERT INTO r SELECT i, i FROM generate_series(1, 10) i",
    "CREATE FUNCTION noisy(int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN"
    " IF $1 = 7 THEN RAISE NOTICE 'seven'; END IF;"
    " IF $1 = 8 THEN RAISE WARNING 'eight'; END IF; RETURN $1; END $$",
]
STATEMENTS = [
    "SELECT count(*) FROM a WHERE noisy(v) > 0",  # partial aggregation
    "SELECT g, sum(noisy(v)) FROM a GROUP BY g ORDER BY g",
    "SELECT id FROM a WHERE noisy(v) IN (7, 8) ORDER BY id",  # merge
    "SELECT noisy(v) FROM a WHERE v IN (7, 8)",  # scatter
    "SELECT a.id FROM a JOIN b ON a.id = b.aid WHERE noisy(a.v) = 7 ORDER BY 1",  # exchange
    "SELECT id, sum(noisy(v)) OVER (ORDER BY id) FROM a WHERE id BETWEEN 6 AND 9 ORDER BY id",
    "INSERT INTO c SELECT v, noisy(id) FROM a",  # insert ... select through a stage
    "UPDATE a SET v = noisy(v) WHERE v IN (7, 8)",  # scattered write
    "DELETE FROM c WHERE noisy(v) = 7",
    "SELECT count(*) FROM r WHERE noisy(v) > 0",  # replicated: once, not per copy
]


def _notices(dsn: str, schema: str, plain: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        said: list[tuple[str | None, str | None, str | None]] = []
        conn.add_notice_handler(lambda d: said.append((d.severity_nonlocalized, d.sqlstate, d.message_primary)))
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            conn.execute(sql.replace(" DISTRIBUTE BY REPLICATION", "") if plain else sql)
        for sql in STATEMENTS:  # extended protocol
            said.clear()
            conn.execute(sql)
            out.append((sql, Counter(said)))
        conn.execute("TRUNCATE c")  # (the INSERT again)
        said.clear()
        conn.execute(";\n".join(STATEMENTS).encode(), prepare=False)  # one simple query
        out.append(("simple", Counter(said)))
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_node_notices_reach_the_client_once(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _notices(plain_pg, schema, plain=True)
    assert all(counts for _, counts in expected)  # every statement says something
    assert _notices(gridpg_cluster.dsn(0), schema, plain=False) == expected
