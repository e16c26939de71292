"""A unique violation names the user's constraint or index, as PostgreSQL does.

A HASH table's shards are partitions on the datanodes, and PostgreSQL names a partition's
copy of an index after the partition and its columns: `CONSTRAINT users_email_uq UNIQUE
(email)` was reported as `users_id_email_key`, `CREATE UNIQUE INDEX index_users_on_handle`
as `users_id_handle_idx`, a name that exists nowhere (commands/shard_indexes.py). Checked
against plain PostgreSQL through `diag.constraint_name` and the message, after the DDL
that adds, renames and swaps names, and with a move of a shard."""

from __future__ import annotations

from typing import Any

import psycopg

from gridpg.cluster.control import Cluster

SETUP = [
    ("CREATE TABLE users (id int, kind int, email text, handle text, org int, "
     "CONSTRAINT users_pk PRIMARY KEY (id, kind), CONSTRAINT users_email_uq UNIQUE (id, email))"),
    "CREATE UNIQUE INDEX index_users_on_handle ON users (handle, id)",
    "ALTER TABLE users ADD CONSTRAINT users_org_uq UNIQUE (org, id)",
    "INSERT INTO users VALUES (1, 1, 'a@x', 'ha', 10), (2, 1, 'b@x', 'hb', 20)",
]
# Each: DDL run first (or None), then a write that violates a key (PostgreSQL checks the
# indexes in the order they were made: each write is new to the earlier ones).
CASES: list[tuple[str | None, str]] = [
    (None, "INSERT INTO users VALUES (1, 1, 'c@x', 'hc', 30)"),
    (None, "INSERT INTO users (id, kind, email) VALUES (1, 2, 'a@x')"),
    (None, "INSERT INTO users (id, kind, email, handle) VALUES (1, 3, 'zz', 'ha')"),
    ("ALTER INDEX index_users_on_handle RENAME TO users_handle_idx2",
     "INSERT INTO users (id, kind, handle) VALUES (1, 4, 'ha')"),
    ("ALTER TABLE users RENAME CONSTRAINT users_pk TO users_primary", "INSERT INTO users (id, kind) VALUES (2, 1)"),
    # swapped names: the shards' renames must not collide
    (("ALTER INDEX users_org_uq RENAME TO swap_tmp; ALTER INDEX users_handle_idx2 RENAME TO users_org_uq; "
      "ALTER INDEX swap_tmp RENAME TO users_handle_idx2"), "INSERT INTO users (id, kind, handle) VALUES (2, 5, 'hb')"),
    (None, "INSERT INTO users (id, kind, org) VALUES (1, 6, 10)"),
    # a name too long for the shard's prefix keeps PostgreSQL's choice (and breaks nothing)
    ("CREATE UNIQUE INDEX an_index_name_long_enough_that_the_shard_prefix_overflows_it ON users (id, kind, org)",
     "INSERT INTO users VALUES (1, 1, 'q', 'ha', 10) ON CONFLICT ON CONSTRAINT users_primary DO NOTHING"),
    ("ALTER TABLE users RENAME TO members", "INSERT INTO members (id, kind, email) VALUES (2, 7, 'b@x')"),
    (None, "INSERT INTO members (id, kind) VALUES (3, 1), (3, 1)"),
]


def _violations(dsn: str, schema: str) -> list[Any]:
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in SETUP:
            conn.execute(sql)
        for ddl, write in CASES:
            if ddl is not None:
                for part in ddl.split("; "):
                    conn.execute(part)
            try:
                cur = conn.execute(write)
                out.append(("ok", cur.statusmessage))
            except psycopg.Error as exc:
                out.append((exc.sqlstate, exc.diag.constraint_name, exc.diag.table_name, exc.diag.message_primary))
    return out


def test_unique_violations_name_the_users_constraint(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    expected = _violations(plain_pg, schema)
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert [e[1] for e in expected[:3]] == ["users_pk", "users_email_uq", "index_users_on_handle"]
    assert _violations(gridpg_cluster.dsn(0), schema) == expected


FOREIGN_KEYS = [
    "CREATE TABLE products (id int PRIMARY KEY, name text)",
    "CREATE TABLE reviews (id serial, product_id int CONSTRAINT reviews_product_fk REFERENCES products (id), "
    "stars int)",
    "INSERT INTO products SELECT g, 'p' || g FROM generate_series(1, 20) g",
    "INSERT INTO reviews (product_id, stars) SELECT g, 5 FROM generate_series(1, 20) g",
]
FOREIGN_KEY_WRITES = [
    "DELETE FROM products WHERE id = 7",
    "UPDATE products SET id = 100 WHERE id = 8",
    "INSERT INTO reviews (product_id, stars) VALUES (999, 1)",
    "TRUNCATE products",
]


def _foreign_key_errors(dsn: str, schema: str) -> list[Any]:
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in FOREIGN_KEYS:
            conn.execute(sql)
        for sql in FOREIGN_KEY_WRITES:
            try:
                out.append(("ok", conn.execute(sql).statusmessage))
            except psycopg.Error as exc:
                out.append((exc.sqlstate, exc.diag.constraint_name, exc.diag.message_primary, exc.diag.message_detail))
    return out


def test_a_referenced_rows_error_names_the_table_and_foreign_key(gridpg_cluster: Cluster, plain_pg: str,
                                                                 schema: str) -> None:
    """Deleting a row another table still references: PostgreSQL's message named the
    referenced table's shard (`"s.products_24"`) and the copy of the foreign key made for
    that partition (`reviews_product_fk_13`)."""
    expected = _foreign_key_errors(plain_pg, schema)
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert expected[0][:2] == ("23503", "reviews_product_fk")
    assert _foreign_key_errors(gridpg_cluster.dsn(0), schema) == expected
