"""What a read-only coordinator refuses (frontend/readonly.py): pure, no server."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.frontend.readonly import ensure_read_only, shows_read_only

ALLOWED = [
    "SELECT * FROM t WHERE id = 1",
    "/* app */ select count(*) from t join u using (id)",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "SHOW transaction_read_only",
    "SET search_path = a, b",
    "SET default_transaction_read_only = on",
    "SET TRANSACTION READ ONLY",
    "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ", "COMMIT", "ROLLBACK", "SAVEPOINT s",
    "EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT * FROM t",
    "PREPARE p AS SELECT $1::int", "EXECUTE p(1)", "DEALLOCATE ALL", "DISCARD ALL",
    "DECLARE c CURSOR FOR SELECT 1", "FETCH 10 FROM c", "CLOSE c",
    "COPY t TO STDOUT", "COPY (SELECT 1) TO STDOUT",
    "EXECUTE DIRECT ON (dn1) 'SELECT 1'",
    "select 'insert into t values (1)'",  # a string, not a statement
]
REFUSED = [
    ("INSERT INTO t VALUES (1)", "INSERT"),
    ("update t set a = 1", "UPDATE"),
    ("DELETE FROM t", "DELETE"),
    ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MERGE"),
    ("CREATE TABLE x (a int)", "CREATE TABLE"),
    ("CREATE TEMP TABLE x AS SELECT 1", "CREATE TABLE AS"),
    ("DROP TABLE t", "DROP"),
    ("TRUNCATE t", "TRUNCATE"),
    ("COPY t FROM STDIN", "COPY FROM"),
    ("SELECT * FROM t FOR UPDATE", "SELECT FOR UPDATE"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "data-modifying"),
    ("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", "INSERT"),
    ("PREPARE p AS UPDATE t SET a = $1", "UPDATE"),
    ("DO $$ BEGIN NULL; END $$", "DO"),
    ("CALL p()", "CALL"),
    ("BEGIN READ WRITE", "read-write"),
    ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", "read-write"),
    ("SET TRANSACTION READ WRITE", "read-write"),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "read-write"),
    ("SET default_transaction_read_only = off", "read-write"),
    ("set transaction_read_only to false", "read-write"),
    ("CREATE NODE dn9 WITH (TYPE = 'datanode', HOST = 'h', PORT = 5432)", "CREATE NODE"),
    ("PAUSE CLUSTER", "PAUSE"),
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_reading_statements_pass(sql: str) -> None:
    ensure_read_only(sql)


@pytest.mark.parametrize(("sql", "what"), REFUSED)
def test_writes_are_refused_with_25006(sql: str, what: str) -> None:
    with pytest.raises(PgError) as caught:
        ensure_read_only(sql)
    assert caught.value.sqlstate == "25006"
    assert what in caught.value.message


def test_show_of_the_read_only_settings() -> None:
    assert shows_read_only("SHOW transaction_read_only") == "transaction_read_only"
    assert shows_read_only("show DEFAULT_TRANSACTION_READ_ONLY") == "default_transaction_read_only"
    assert shows_read_only("SHOW search_path") is None
