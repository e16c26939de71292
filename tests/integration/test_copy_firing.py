"""COPY ... FROM STDIN into a table whose triggers the coordinator fires (an AFTER ROW
trigger writing a table distributed otherwise): the rows are read into a temp table on the
catalog server by PostgreSQL's own COPY and run as an INSERT firing the triggers
(executor/triggers._copy_as_insert). Compared with plain PostgreSQL: text and CSV formats,
a column list, defaults, HEADER, NULLs, tabs and quotes in values, a failing COPY inside a
block, and the tags. Before, refused with 0A000."""

from __future__ import annotations

from typing import Any

import psycopg

from gridpg.cluster.control import Cluster


def _walk(dsn: str, schema: str, distributed: bool) -> list[Any]:
    dist = " DISTRIBUTE BY HASH (id)" if distributed else ""
    by_what = " DISTRIBUTE BY HASH (what)" if distributed else ""
    out: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(f"CREATE TABLE ev (id int PRIMARY KEY, what text, at date DEFAULT '2024-01-01'){dist}")
        conn.execute(f'CREATE TABLE "Ev Log" (id int, what text, n bigint){by_what}')
        conn.execute('CREATE FUNCTION log_ev() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
                     'INSERT INTO "Ev Log" VALUES (NEW.id, NEW.what, (SELECT count(*) FROM ev)); RETURN NULL; END $$')
        conn.execute("CREATE TRIGGER log_ev AFTER INSERT ON ev FOR EACH ROW EXECUTE FUNCTION log_ev()")
        with conn.cursor() as cur:
            with cur.copy("COPY ev (id, what) FROM STDIN") as copy:
                copy.write_row((1, "a\tb"))
                copy.write_row((2, None))
                copy.write_row((3, "c'd \\ e"))
            out.append(cur.statusmessage)
            with cur.copy("COPY ev FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                copy.write('id,what,at\n4,"x,y",2024-02-29\n5,,\n')
            out.append(cur.statusmessage)
            with cur.copy("COPY ev (id) FROM STDIN") as copy:
                pass
            out.append(cur.statusmessage)
            conn.execute("BEGIN")
            try:
                with cur.copy("COPY ev (id, what) FROM STDIN") as copy:
                    copy.write_row((6, "z"))
                    copy.write_row((1, "dup"))
            except psycopg.Error as exc:
                out.append(("error", exc.sqlstate))
            conn.execute("ROLLBACK")
            conn.execute("BEGIN")
            with cur.copy("COPY ev (id, what) FROM STDIN") as copy:
                copy.write_row((7, "in block"))
            conn.execute("COMMIT")
        out.append(conn.execute("SELECT * FROM ev ORDER BY id").fetchall())
        out.append(conn.execute('SELECT * FROM "Ev Log" ORDER BY id').fetchall())
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_copy_from_stdin_fires_the_coordinators_triggers(gridpg_cluster: Cluster, plain_pg: str) -> None:
    got = _walk(gridpg_cluster.dsn(0), "copy_firing", True)
    want = _walk(plain_pg, "copy_firing", False)
    assert got == want
    assert got[:3] == ["COPY 3", "COPY 2", "COPY 0"] and got[3] == ("error", "23505")
