"""planner/stat_activity.py: pg_stat_activity and the signal calls found and put in place
(pure), whatever the statement's text around them."""

from __future__ import annotations

from gridpg.planner import stat_activity
from gridpg.sql.parse import parse_tree

SESSIONS = [{"datname": "postgres", "pid": 5, "usename": "alice", "application_name": "a'pp", "state": "idle",
             "query": "SELECT 1"}]


def _rewrite(sql: str) -> str:
    refs, calls = stat_activity.find(sql)
    out = stat_activity.rewrite(sql, refs, calls, SESSIONS, "tok:")
    parse_tree(out)  # it still parses
    return out


def test_names_qualified_unqualified_and_aliased() -> None:
    out = _rewrite("SELECT count(*) FROM pg_catalog.pg_stat_activity a JOIN pg_stat_activity USING (pid)")
    assert "pg_stat_activity a" not in out and ") a JOIN (SELECT" in out
    assert out.count("AS pg_stat_activity") == 1
    assert "'a''pp'" in out  # values quoted, never pasted


def test_other_schemas_and_ctes_are_left_alone() -> None:
    sql = "WITH pg_stat_activity AS (SELECT 1 AS pid) SELECT * FROM pg_stat_activity, s.pg_stat_activity"
    assert stat_activity.find(sql) == ([], [])


def test_signal_calls_positional_named_and_around_text() -> None:
    sql = ("/* é */ SELECT pg_terminate_backend(pid, 50), pg_catalog.pg_cancel_backend((SELECT 1)) -- x\n"
           "FROM pg_stat_activity WHERE application_name = 'pg_terminate_backend(1)'")
    refs, calls = stat_activity.find(sql)
    assert [(c.kind, c.pid, c.timeout) for c in calls] == [("terminate", "pid", "50"), ("cancel", "(SELECT 1)", "0")]
    out = stat_activity.rewrite(sql, refs, calls, SESSIONS, "tok:")
    assert out.startswith("/* é */ SELECT gridpg.pg_terminate_backend((pid), (50), 'tok:', ARRAY[5]")
    assert "gridpg.pg_cancel_backend(((SELECT 1)), 'tok:', ARRAY[5]" in out
    assert "'pg_terminate_backend(1)'" in out and "-- x\n" in out
    named = stat_activity.find('SELECT pg_terminate_backend(timeout => 9, "pid" => 3)')[1]
    assert [(c.pid, c.timeout) for c in named] == [("3", "9")]


def test_calls_postgresql_would_not_take_are_marked() -> None:
    calls = stat_activity.find("SELECT pg_cancel_backend(1, 2), pg_terminate_backend()")[1]
    assert [c.pid for c in calls] == [None, None]


def test_the_servers_own_processes_follow_the_sessions() -> None:
    servers = "SELECT * FROM pg_catalog.pg_stat_activity WHERE backend_type IS DISTINCT FROM 'client backend'"
    assert stat_activity.values_subquery([]) == servers
    assert stat_activity.values_subquery(SESSIONS).endswith(" UNION ALL " + servers)


def test_pg_locks_keeps_the_servers_locks_but_advisory_ones() -> None:
    out = _rewrite("SELECT * FROM pg_locks l WHERE l.pid = 5")
    assert "(SELECT * FROM pg_catalog.pg_locks WHERE locktype IS DISTINCT FROM 'advisory') l" in out
    refs, calls = stat_activity.find("SELECT count(*) FROM pg_catalog.pg_locks")
    row = ("0", "42", "1", "3/7", 1073741825, "ExclusiveLock", True, False, None)
    out = stat_activity.rewrite("SELECT count(*) FROM pg_catalog.pg_locks", refs, calls, SESSIONS, "t", [row])
    parse_tree(out)
    assert "UNION ALL SELECT 'advisory'::pg_catalog.text AS locktype" in out and "'1073741825'" in out
    assert out.endswith(") AS pg_locks")


def test_pg_locks_of_a_sessions_catalog_backend_carry_the_sessions_pid() -> None:
    refs, calls = stat_activity.find("SELECT relation FROM pg_locks WHERE pid = 5")
    out = stat_activity.rewrite("SELECT relation FROM pg_locks WHERE pid = 5", refs, calls, SESSIONS, "t", [],
                                {4711: 5})
    parse_tree(out)
    assert "COALESCE(v.c1::pg_catalog.int4, l.pid) AS pid" in out and "('4711'::pg_catalog.text, '5'" in out
    assert "WHERE l.locktype IS DISTINCT FROM 'advisory') AS pg_locks" in out


def test_blocking_pids_looked_up_in_the_sessions_waits() -> None:
    sql = "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity"
    refs, calls = stat_activity.find(sql)
    assert [c.kind for c in calls] == ["blocking"]
    waiting = [{**SESSIONS[0], "blocked_by": [9, 11]}]
    out = stat_activity.rewrite(sql, refs, calls, waiting, "t")
    parse_tree(out)
    assert "gridpg.pg_blocking_pids((pid), ARRAY[5]::pg_catalog.int4[], ARRAY['{9,11}']::pg_catalog.text[])" in out
    assert "pg_blocking_pids((pid), ARRAY[]::pg_catalog.int4[], ARRAY[]::pg_catalog.text[])" in \
        stat_activity.rewrite(sql, refs, calls, SESSIONS, "t")


def test_statements_that_keep_their_text_are_left_alone() -> None:
    for sql in ("CREATE VIEW v AS SELECT pid FROM pg_stat_activity",
                "CREATE MATERIALIZED VIEW m AS SELECT count(*) FROM pg_locks",
                "PREPARE q AS SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
                "CREATE FUNCTION f() RETURNS bigint BEGIN ATOMIC SELECT count(*) FROM pg_stat_activity; END"):
        assert stat_activity.find(sql) == ([], []), sql
    assert stat_activity.find("CREATE TABLE snap AS SELECT pid FROM pg_stat_activity")[0]  # (a copy now, as in PostgreSQL)
