"""Contrib functions that read a relation's pages on the one server running them
(pgstattuple, pgrowlocks, pg_visibility, amcheck, pageinspect, pg_prewarm, pg_surgery) are
refused (0A000): called through a coordinator they ran on the catalog server, over a
distributed table's empty copy, and answered 0 tuples, no pages, a sound index, without an
error (h-contrib26, planner/routines.py SERVER_STATE_C_FUNCTIONS). Known by their C
function, so also under another name."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.mark.parametrize("call", [
    "SELECT tuple_count FROM pgstattuple('st26')",
    "SELECT approx_tuple_count FROM pgstattuple_approx('st26'::regclass)",
    "SELECT count(*) FROM pg_visibility_map('st26')",
    "SELECT bt_index_check('st26_id')",
    "SELECT tree_level FROM pgstatindex('st26_id')",
    "SELECT count(*) FROM pgrowlocks('st26')",
    "SELECT my_tuples('st26')",
])
def test_page_readers_are_refused(gridpg_cluster: Cluster, schema: str, call: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}", public')
        for ext in ("pgstattuple", "pg_visibility", "amcheck", "pgrowlocks"):
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext} SCHEMA public")
        conn.execute("CREATE TABLE st26 (id int, v text)")
        conn.execute("INSERT INTO st26 SELECT g, 'x' FROM generate_series(1, 50) g")
        conn.execute("CREATE INDEX st26_id ON st26 (id)")
        conn.execute("CREATE FUNCTION my_tuples(regclass) RETURNS TABLE (table_len bigint, tuple_count bigint, "
                     "tuple_len bigint, tuple_percent float8, dead_tuple_count bigint, dead_tuple_len bigint, "
                     "dead_tuple_percent float8, free_space bigint, free_percent float8) "
                     "AS '$libdir/pgstattuple', 'pgstattuplebyid_v1_5' LANGUAGE C STRICT")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="pages of the relation it names"):
            conn.execute(call)
        assert conn.execute("SELECT count(*) FROM st26").fetchone() == (50,)
