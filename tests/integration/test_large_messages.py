"""Client messages longer than the coordinator's read buffer mark (256 KB): a pasted dump
sent as one simple Query (pgAdmin's Query Tool, psycopg's execute of a file), a long text
bound as a parameter. Before, the coordinator paused reading its socket once 256 KB were
buffered and resumed only below 128 KB, so a single longer message was never read to its
end: the session hung with the client waiting, for ever (found by loading the Chinook
sample database, 600 KB of SQL, through one execute)."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def test_a_dump_sent_as_one_query_runs(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    # (the size matters, not the row count: 3,000 long rows, not 12,000 short ones, as the
    # routing of every row of one INSERT cost more than the rest of the test)
    rows = ",\n".join(f"({i}, '{f'track name number {i} of the album, ' * 5}', {i % 7})" for i in range(1, 3001))
    script = (f"/* a dump */ CREATE TABLE {s}.track (track_id int NOT NULL, name text, genre_id int,\n"
              f"    CONSTRAINT track_pkey PRIMARY KEY (track_id));\n"
              f"INSERT INTO {s}.track (track_id, name, genre_id) VALUES\n{rows};\n"
              f"CREATE INDEX track_genre_idx ON {s}.track (genre_id);\n")
    assert len(script.encode()) > 512 * 1024
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True, options="-c statement_timeout=120s") as conn:
        conn.execute(script)
        assert conn.execute(f"SELECT count(*), sum(track_id), count(DISTINCT genre_id) FROM {s}.track").fetchone() \
            == (3000, 3000 * 3001 // 2, 7)


def test_a_long_parameter_is_bound(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    text = "x" * (3 * 1024 * 1024)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.doc (id int, body text)")
        conn.execute(f"INSERT INTO {s}.doc VALUES (%s, %s)", (1, text))
        assert conn.execute(f"SELECT length(body) FROM {s}.doc WHERE id = %s", (1,)).fetchone() == (len(text),)
        assert conn.execute("SELECT length(%s::text)", (text,)).fetchone() == (len(text),)
