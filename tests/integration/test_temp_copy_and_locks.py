"""A session's temp tables beside distributed ones, in two forms users write (h-odd):
`COPY (SELECT ... FROM temp JOIN distributed ...) TO STDOUT` (an export; psql's \\copy)
failed with 0A000 "one utility statement over temporary and other tables", and
`SELECT ... FROM temp c JOIN distributed p ... FOR UPDATE OF c` (locking the temp rows
only) with 0A000. Both now run on the session's catalog connection over gathered copies
of the distributed tables, as the SELECT does. Compared with plain PostgreSQL."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def _run(dsn: str, schema: str) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE products (sku text PRIMARY KEY, price numeric(8,2))")
        conn.execute("INSERT INTO products SELECT 'p' || g, g * 1.25 FROM generate_series(1, 40) g")
        conn.execute("CREATE TEMP TABLE cart (sku text PRIMARY KEY, qty int)")
        conn.execute("INSERT INTO cart VALUES ('p3', 1), ('p17', 2), ('p40', 5), ('none', 9)")
        copies = [("COPY (SELECT c.sku, c.qty, p.price FROM cart c LEFT JOIN products p USING (sku) "
                   "ORDER BY c.sku) TO STDOUT"),
                  ("COPY (SELECT p.sku, p.price * c.qty FROM products p JOIN cart c ON c.sku = p.sku "
                   "WHERE p.price > 5 ORDER BY 1) TO STDOUT (FORMAT csv, HEADER)")]
        for sql in copies:
            with conn.cursor().copy(sql) as copy:
                out.append((sql, bytes(b"".join(copy)).decode()))
        with conn.transaction():
            rows = conn.execute("SELECT c.sku, p.price FROM cart c JOIN products p USING (sku) "
                                "ORDER BY 1 FOR UPDATE OF c").fetchall()
            out.append([(s, str(p)) for s, p in rows])
            out.append(conn.execute("UPDATE cart SET qty = qty + 1 WHERE sku = 'p3' RETURNING qty").fetchall())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_copy_and_row_locks_over_temp_and_distributed_tables(gridpg_cluster: Cluster, plain_pg: str,
                                                              schema: str) -> None:
    expected = _run(plain_pg, schema)
    assert "p40\t5\t50.00" in str(expected[0][1])
    assert _run(gridpg_cluster.dsn(0), schema) == expected
