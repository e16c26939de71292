"""Row triggers of REPLICATION tables computing values of their own (executor/routines.py,
`_replica_divergence`; executor/row_writes.py).

A table with two unique keys sharing no column (`users (id PRIMARY KEY, email UNIQUE)`) is
replicated to every datanode, and its BEFORE ROW triggers fired on each replica. One
setting `NEW.token := md5(random()::text)`, `NEW.changed := clock_timestamp()` or even
`NEW.updated_at = now()` (each datanode's own transaction start) left every replica with
values of its own, read back by whichever node served the read: a silent difference.
Such triggers now fire once, on the coordinator: for INSERT ... VALUES and COPY ... FROM
STDIN on the new rows, for UPDATE and DELETE row by row on the first replica's rows, each
stored row then copied to the other replicas as it is. Where the coordinator cannot fire
them (INSERT ... SELECT over tables, upserts) the write is refused with 0A000 naming the
call, nothing written. Triggers computing nothing of their own stay on the datanodes."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

_SETUP = (
    ("CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text, token text, changed timestamptz, "
     "born timestamptz)"),
    "CREATE TABLE src (k int PRIMARY KEY, e text)",
    "INSERT INTO src SELECT g, 'e' || g FROM generate_series(1, 5) g",
    # the volatile call one level down, in a helper the trigger function calls
    "CREATE FUNCTION new_token() RETURNS text LANGUAGE sql AS $$ SELECT md5(random()::text) $$",
    ("CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "NEW.token := new_token(); NEW.changed := clock_timestamp(); NEW.born := now(); RETURN NEW; END $$"),
    "CREATE TRIGGER users_stamp BEFORE INSERT OR UPDATE OF name ON users FOR EACH ROW EXECUTE FUNCTION stamp()",
)


def _session(cluster: Cluster, schema: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection in the test's schema with _SETUP's tables, trigger and rows."""
    conn = psycopg.connect(cluster.dsn(0), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    for sql in _SETUP:
        conn.execute(sql)
    return conn


def _replicas(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> set[tuple[object, ...]]:
    return {conn.execute(f"EXECUTE DIRECT ON ({node}) 'SELECT count(*), md5(string_agg(id || name || token "
                         f"|| changed::text || born::text, '','' ORDER BY id)) FROM {schema}.users'").fetchone()
            for node in ("dn1", "dn2")}


def test_insert_values_fires_the_trigger_once_for_every_replica(gridpg_cluster: Cluster, schema: str) -> None:
    with _session(gridpg_cluster, schema) as conn:
        conn.execute("INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann'), (2, 'b@x', 'Bob')")
        with conn.transaction():
            conn.execute("INSERT INTO users (id, email, name) VALUES (%s, %s, %s)", (3, "c@x", "Cy"))
            rows = conn.execute("SELECT id, length(token), born = now() FROM users ORDER BY id").fetchall()
        assert rows == [(1, 32, False), (2, 32, False), (3, 32, True)]
        replicas = _replicas(conn, schema)
        assert len(replicas) == 1 and next(iter(replicas))[0] == 3
        assert conn.execute("SELECT count(DISTINCT token) FROM users").fetchone() == (3,)


def test_update_and_delete_run_row_by_row_alike_on_every_replica(gridpg_cluster: Cluster, schema: str) -> None:
    with _session(gridpg_cluster, schema) as conn:
        conn.execute("CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF OLD.name = 'keep' THEN RETURN NULL; END IF; RETURN OLD; END $$")
        conn.execute("CREATE TRIGGER users_keep BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION keep()")
        conn.execute("INSERT INTO users (id, email, name) SELECT g, 'u' || g, 'n' || g FROM generate_series(1, 8) g")
        tokens = dict(conn.execute("SELECT id, token FROM users").fetchall())
        rows = conn.execute("UPDATE users SET name = name || '!' WHERE id <= 3 RETURNING id, name").fetchall()
        assert sorted(rows) == [(1, "n1!"), (2, "n2!"), (3, "n3!")]
        # UPDATE OF name fires it: new tokens for those rows only
        changed = {i for i, t in conn.execute("SELECT id, token FROM users").fetchall() if t != tokens[i]}
        assert changed == {1, 2, 3}
        with conn.transaction():
            conn.execute("UPDATE users SET name = 'keep' WHERE id = 4")
            cur = conn.execute("DELETE FROM users WHERE id BETWEEN 4 AND 6")
            assert cur.rowcount == 2  # (the trigger kept id 4)
        # an UPDATE the trigger does not fire on (UPDATE OF name) runs as before
        conn.execute("UPDATE users SET email = email || '.no' WHERE id > 6")
        assert conn.execute("SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM users").fetchone() == (
            "1:n1!,2:n2!,3:n3!,4:keep,7:n7,8:n8",)
        replicas = _replicas(conn, schema)
        assert len(replicas) == 1 and next(iter(replicas))[0] == 6


@pytest.mark.parametrize("write", [
    "INSERT INTO users (id, email, name) SELECT k + 10, e, e FROM src",
    "INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann') ON CONFLICT (id) DO UPDATE SET name = 'up'",
])
def test_writes_the_coordinator_cannot_fire_are_refused(gridpg_cluster: Cluster, schema: str, write: str) -> None:
    with _session(gridpg_cluster, schema) as conn:
        conn.execute("INSERT INTO users (id, email, name) VALUES (1, 'a@x', 'Ann')")
        before = _replicas(conn, schema)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=r"calls (random|clock_timestamp)\(\)"):
            conn.execute(write)
        assert _replicas(conn, schema) == before and len(before) == 1
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_copy_fires_the_trigger_once_for_every_replica(gridpg_cluster: Cluster, schema: str) -> None:
    with _session(gridpg_cluster, schema) as conn:
        with conn.cursor().copy("COPY users (id, email, name) FROM STDIN") as copy:
            for i in range(1, 6):
                copy.write_row((i, f"c{i}@x", f"copied {i}"))
        assert conn.execute("SELECT count(*), count(DISTINCT token) FROM users").fetchone() == (5, 5)
        replicas = _replicas(conn, schema)
        assert len(replicas) == 1 and next(iter(replicas))[0] == 5


def test_the_usual_updated_at_trigger_leaves_the_replicas_equal(gridpg_cluster: Cluster, schema: str) -> None:
    """The snippet users copy: `NEW.updated_at = NOW()` BEFORE UPDATE. On the datanodes
    each replica stored its own transaction start."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text, token text, "
                     "changed timestamptz, born timestamptz DEFAULT now())")
        conn.execute("CREATE FUNCTION trigger_set_timestamp() RETURNS TRIGGER AS $$ BEGIN NEW.changed = NOW(); "
                     "RETURN NEW; END; $$ LANGUAGE plpgsql")
        conn.execute("CREATE TRIGGER set_timestamp BEFORE UPDATE ON users FOR EACH ROW "
                     "EXECUTE PROCEDURE trigger_set_timestamp()")
        conn.execute("INSERT INTO users (id, email, name, token) SELECT g, 'u' || g, 'n' || g, 't' "
                     "FROM generate_series(1, 6) g")
        conn.execute("UPDATE users SET name = name || '!' WHERE id % 2 = 0")
        with conn.transaction():
            conn.execute("UPDATE users SET name = 'in block' WHERE id = 1")
        assert conn.execute("SELECT count(changed), string_agg(name, ',' ORDER BY id) FROM users").fetchone() == (
            4, "in block,n2!,n3,n4!,n5,n6!")
        replicas = _replicas(conn, schema)
        assert len(replicas) == 1 and next(iter(replicas))[0] == 6


def test_a_trigger_computing_nothing_of_its_own_stays_on_the_datanodes(gridpg_cluster: Cluster,
                                                                       schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, name text, token text, "
                     "changed timestamptz, born timestamptz)")
        conn.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "NEW.token := upper(NEW.name); NEW.changed := '2024-01-01'; NEW.born := NEW.changed; "
                     "RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()")
        conn.execute("INSERT INTO users (id, email, name) SELECT g, 'u' || g, 'n' || g FROM generate_series(1, 6) g")
        conn.execute("UPDATE users SET name = name || '!' WHERE id % 2 = 0")
        assert conn.execute("SELECT string_agg(token, ',' ORDER BY id) FROM users").fetchone() == (
            "N1,N2!,N3,N4!,N5,N6!",)
        replicas = _replicas(conn, schema)
        assert len(replicas) == 1 and next(iter(replicas))[0] == 6
