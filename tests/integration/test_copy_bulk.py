"""COPY FROM STDIN routed in bulk (executor/copysplit.py) lands every row on its node.

Datanodes refuse a row sent to a node without its partition, so a wrong route fails the
COPY; the counts and sums check that nothing is lost or doubled, also when a block falls
back to per-record routing (NULL keys, escapes) in the middle of the stream.
"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.mark.parametrize("key_type", ["int", "bigint", "smallint"])
def test_bulk_copy_routes_every_row(gridpg_cluster: Cluster, schema: str, key_type: str) -> None:
    rows = 20000 if key_type != "smallint" else 30000
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute(f"CREATE TABLE c (k {key_type}, name text, note text) DISTRIBUTE BY HASH (k)")
        offset = 10**15 if key_type == "bigint" else 0
        low = -(rows // 2)
        with conn.cursor() as cur, cur.copy("COPY c (k, name, note) FROM STDIN") as copy:
            block = "".join(f"{offset + k}\tn{k}\tplain\n" for k in range(low, low + rows // 2))
            copy.write(block.encode())
            # Per-record fallback in the middle: a NULL key and an escaped tab.
            copy.write(b"\\N\tnull key\tx\n7\tescaped\\ttab\tx\n")
            block = "".join(f"{offset + k}\tn{k}\tplain\n" for k in range(low + rows // 2, low + rows))
            copy.write(block.encode())
        count, total = conn.execute("SELECT count(*), sum(k) FROM c").fetchone()  # type: ignore[misc]
        assert count == rows + 2
        assert total == sum(range(low, low + rows)) + offset * rows + 7
        assert conn.execute("SELECT name FROM c WHERE k = 7 AND note = 'x'").fetchall() == [("escaped\ttab",)]
        assert conn.execute("SELECT count(*) FROM c WHERE k IS NULL").fetchone() == (1,)
        for k in (low, -1, 0, 1, low + rows - 1):
            assert conn.execute("SELECT name FROM c WHERE k = %s AND note = 'plain'",
                                (offset + k,)).fetchall() == [(f"n{k}",)]
