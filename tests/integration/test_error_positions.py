"""An error's position (psql's LINE 1 and caret) points into the client's text, as
PostgreSQL's does, whatever text gridpg ran on the nodes (sql/positions.py); where it
cannot be placed it is left out. Before, a node's position into the rewritten text was
relayed: past the end of the client's statement, or on another token."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

# (statement, the text the caret is on; None: no position)
CASES = [
    ("select * from {s}.et where x = 'abc'::int", "'abc'"),  # every node runs the client's text
    ("select count(*) from {s}.et where x = 'abc'::int", "'abc'"),  # two-phase aggregation
    ("select x from {s}.et order by nosuch", "nosuch"),  # sorted merge / coordinator finish
    ("select * from {s}.et e1 join {s}.et e2 on e1.y = e2.x", "= e2.x"),  # an operator, placed with its operands
    ("update {s}.et set x = 'q'::int where y = 'a'", "'q'"),
    ("select tableoid::int, x + 'z' from {s}.et", "'z'"),  # the tableoid mapping rewrote the text
    ("select 1; select * from {s}.et where x = 'abc'::int", "'abc'"),  # within the whole query string
    ("  \n select x from {s}.et order by nosuch", "nosuch"),
    # a routed statement's literals sent as parameters: the node names "$2", not a caret
    ("select * from {s}.et where x = 'abc'", "'abc'"),
    ("select * from {s}.et where y = 'a' and x = 'abc'", "'abc'"),
    ("select 1; select * from {s}.et where x = 'abc'", "'abc'"),
]


@pytest.mark.parametrize(("sql", "caret"), CASES)
def test_positions_point_into_the_clients_text(gridpg_cluster: Cluster, schema: str, sql: str, caret: str) -> None:
    text = sql.format(s=schema)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.et (x int, y text) DISTRIBUTE BY HASH (x)")
        conn.execute(f"INSERT INTO {schema}.et VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        with pytest.raises(psycopg.Error) as failed:
            conn.execute(text.encode(), prepare=False)  # one simple-protocol query string
        position = failed.value.diag.statement_position
        assert position is not None, failed.value
        assert int(position) == text.index(caret) + 1, (text, position)
        assert "portal" not in (failed.value.diag.context or "")


def test_a_caret_gridpg_cannot_place_is_left_out(gridpg_cluster: Cluster, schema: str) -> None:
    """The literals of a routed statement became parameters: the node's caret is on `$3`."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.et (x int, y text) DISTRIBUTE BY HASH (x)")
        text = f"select * from {schema}.et where x = 1 and y = 'a' and x = 'abc'::int"
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as failed:
            conn.execute(text.encode(), prepare=False)
        position = failed.value.diag.statement_position
        assert position is None or int(position) == text.index("'abc'") + 1
