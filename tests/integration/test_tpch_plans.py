"""The 22 TPC-H queries on a small generated dataset: EXPLAIN shows the plan that runs, never
the coordinator finish, and every query gives plain PostgreSQL's rows.

Tables and indexes are bench/tpch.py's (lineitem/orders by orderkey, customer by custkey,
part/partsupp by partkey, supplier by suppkey, nation/region replicated), loaded at
scale 0.01 from `tpchgen-cli` (in the test extras; skipped without it). The
strategies are chosen from the datanodes' estimates, which scale with the data; the
choices that depend on absolute sizes (a key filter's 10,000 rows, a semi-join
reduction's 50,000 keys) change what moves, not whether the statement runs on the
datanodes. bench/tpch.py records the same EXPLAIN summary at scale 1.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from gridpg.cluster.control import Cluster

SCALE = 0.01
BENCH = Path(__file__).resolve().parents[2] / "bench" / "tpch.py"

pytestmark = pytest.mark.skipif(shutil.which("tpchgen-cli") is None, reason="tpchgen-cli is not installed")


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gridpg_bench_tpch", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tpch() -> ModuleType:
    return _bench()


def _load(tpch: ModuleType, dsn: str, schema: str, distributed: bool) -> None:
    data = tpch.generate(SCALE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path = {schema}")
        for name, columns, dist in tpch.TABLES:
            conn.execute(f"CREATE TABLE {name} ({columns})" + (f" DISTRIBUTE BY {dist}" if distributed else ""))
            text = (data / f"{name}.tbl").read_bytes().replace(b"|\n", b"\n")
            with conn.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (DELIMITER '|')") as copy:
                copy.write(text)
        for ddl in tpch.INDEXES:
            conn.execute(ddl)
        for name, _, _ in tpch.TABLES:
            conn.execute(f"ANALYZE {name}")


@pytest.fixture(scope="module")
def loaded(tpch: ModuleType, gridpg_cluster: Cluster, plain_database: str) -> Iterator[str]:
    schema = "tpch_plans"
    _load(tpch, gridpg_cluster.dsn(0), schema, True)
    _load(tpch, plain_database, schema, False)
    yield schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.mark.parametrize("number", range(1, 23))
def test_tpch_query_runs_on_the_datanodes_and_answers_as_postgresql(
        number: int, tpch: ModuleType, gridpg_cluster: Cluster, plain_database: str, loaded: str) -> None:
    sql = tpch.query_text(number, SCALE)
    with psycopg.connect(gridpg_cluster.dsn(number % 2), autocommit=True) as conn:
        conn.execute(f"SET search_path = {loaded}")
        lines = [row[0] for row in conn.execute("EXPLAIN " + tpch.without_comments(sql)).fetchall()]
        assert lines[0].startswith("Distributed plan: "), lines
        assert not any("coordinator-finish" in line for line in lines), lines
        assert tpch.strategy_summary(lines) != "", lines
        grid = [tuple(r) for r in conn.execute(sql).fetchall()]
    with psycopg.connect(plain_database, autocommit=True) as conn:
        conn.execute(f"SET search_path = {loaded}")
        plain = [tuple(r) for r in conn.execute(sql).fetchall()]
    verdict = tpch.compare(tpch.Outcome(0.0, plain), tpch.Outcome(0.0, grid), tpch.has_order_by(sql))
    assert verdict == "yes", (plain[:5], grid[:5])
