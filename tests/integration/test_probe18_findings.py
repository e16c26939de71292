"""SQL as application developers write it, h-probe18: comments where users put them.

- A migration's DDL led by a comment (`-- 0002: add index` then `CREATE INDEX ...`): the
  routine guard read the statement's first word without skipping comments, so an event
  trigger whose function writes a distributed or replicated table was not checked; its
  function ran on every server the DDL reached (each writing its own copy of the table),
  where the same DDL without the comment is refused (0A000).
- An extended-protocol statement ending in a `--` comment (`UPDATE t SET id = %s WHERE id
  = %s -- move`, no line break after it): the row move's text gridpg appended after the
  statement's WHERE fell into the comment (42601).
"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_ddl_led_by_a_comment_is_checked_for_event_triggers(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE ddl_log (tag text) DISTRIBUTE BY REPLICATION")
        conn.execute(f"CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS "
                     f"$$ BEGIN INSERT INTO \"{schema}\".ddl_log VALUES (tg_tag); END $$")
        conn.execute(f"CREATE EVENT TRIGGER p18_log ON ddl_command_end EXECUTE FUNCTION \"{schema}\".log_ddl()")
        try:
            for sql in ("CREATE TABLE plain_ddl (a int)",
                        "/* migration 2 */ CREATE TABLE block_commented (a int)",
                        "-- migration 3\nCREATE TABLE line_commented (a int)"):
                with pytest.raises(psycopg.errors.FeatureNotSupported):
                    conn.execute(sql)
        finally:
            conn.execute("DROP EVENT TRIGGER p18_log")
        assert conn.execute("SELECT count(*) FROM ddl_log").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname IN "
                            "('plain_ddl', 'block_commented', 'line_commented')").fetchone() == (0,)


def test_prepared_row_move_ending_in_a_line_comment(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20) g")
        for old, new in ((1, 101), (2, 102), (3, 103)):
            cur = conn.execute("UPDATE t SET id = %s WHERE id = %s -- move", (new, old), prepare=True)
            assert cur.rowcount == 1
        cur = conn.execute("UPDATE t SET id = %s WHERE id = %s RETURNING id, v -- move", (104, 4), prepare=True)
        assert cur.fetchall() == [(104, "v4")]
        assert conn.execute("SELECT array_agg(id ORDER BY id) FROM t WHERE id > 100").fetchone() == ([101, 102, 103, 104],)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (20,)
