"""ALTER TABLE ... ADD COLUMN serial / identity / DEFAULT nextval('s') on a distributed
table with rows (commands/sequence_fill.py): every existing row gets a value of the
cluster's sequence, as PostgreSQL gives one of its sequence (it was refused, 0A000, since
each datanode would have filled its rows from its own copy). Compared with plain
PostgreSQL: the values, a unique key over the new column, the user's UPDATE trigger not
fired, a rolled-back block, identity options, and the next values from the other
coordinator."""

from __future__ import annotations

from typing import Any

import psycopg

from gridpg.cluster.control import Cluster

STEPS = [
    "ALTER TABLE t ADD COLUMN n bigserial, ADD CONSTRAINT t_id_n UNIQUE (id, n)",
    "SELECT count(DISTINCT n), min(n), max(n), sum(touched) FROM t",
    "BEGIN",
    "ALTER TABLE t ADD COLUMN m serial",
    "SELECT count(DISTINCT m), max(m) FROM t",
    "ROLLBACK",
    "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'm'",
    "ALTER TABLE t ADD COLUMN k int GENERATED ALWAYS AS IDENTITY (START WITH 500 INCREMENT BY 10)",
    "SELECT count(DISTINCT k), min(k), max(k) FROM t",
    "CREATE SEQUENCE codes START 1000",
    "ALTER TABLE t ADD COLUMN code bigint DEFAULT nextval('codes')",
    "SELECT count(DISTINCT code), min(code), max(code) FROM t",
    "UPDATE t SET v = v WHERE id = 1",
    "SELECT touched FROM t WHERE id = 1",
]


def _run(dsns: list[str], schema: str) -> list[Any]:
    out: list[Any] = []
    with psycopg.connect(dsns[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text, touched int DEFAULT 0)")
        conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 40) g")
        conn.execute(f'CREATE FUNCTION "{schema}".touch() RETURNS trigger LANGUAGE plpgsql AS '
                     "$$ BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()")
        for sql in STEPS:
            cur = conn.execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
    with psycopg.connect(dsns[1], autocommit=True) as other:  # the sequences go on from there
        out.append(other.execute(f'INSERT INTO "{schema}".t (id, v) VALUES (100, \'x\') '
                                 "RETURNING n, k, code").fetchall())
    with psycopg.connect(dsns[0], autocommit=True) as conn:
        out.append(conn.execute(f'INSERT INTO "{schema}".t (id, v) VALUES (101, \'y\') '
                                "RETURNING n, k, code").fetchall())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_added_columns_take_the_clusters_sequence_values(gridpg_cluster: Cluster, plain_pg: str,
                                                         schema: str) -> None:
    expected = _run([plain_pg, plain_pg], schema)
    assert expected[1] == [(40, 1, 40, 0)]
    assert _run([gridpg_cluster.dsn(0), gridpg_cluster.dsn(1)], schema) == expected


def test_added_expression_default_with_rows_stays_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """`DEFAULT 'C' || nextval('s')` would need the expression computed per row: refused
    (0A000) while the table has rows, and nothing changes."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".r (id int PRIMARY KEY)')
        conn.execute(f'INSERT INTO "{schema}".r SELECT generate_series(1, 5)')
        conn.execute(f'CREATE SEQUENCE "{schema}".s')
        try:
            conn.execute(f"ALTER TABLE \"{schema}\".r ADD COLUMN c text DEFAULT 'C' || nextval('\"{schema}\".s')")
            raise AssertionError("refusal expected")
        except psycopg.errors.FeatureNotSupported:
            pass
        assert conn.execute(f"SELECT count(*) FROM information_schema.columns WHERE table_schema = '{schema}' "
                            "AND table_name = 'r'").fetchone() == (1,)
