"""bench/bench_queries.py: DDL reading, the literals harvested from queries, the data
generator (deterministic, keys that join, literals that filter) and the LIMIT check."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import bench_queries as bq
from tpch import Outcome


def test_parse_ddl_reads_columns_types_and_not_null() -> None:
    (name, cols), = bq.parse_ddl(
        "CREATE TABLE t (\n id integer NOT NULL PRIMARY KEY,\n price decimal(7,2),\n"
        " name character varying(12),\n PRIMARY KEY (id)\n);")
    assert name == "t"
    assert [(c.name, c.type, c.nullable) for c in cols] == [
        ("id", "integer", False), ("price", "decimal(7,2)", True), ("name", "character varying(12)", True)]


def test_harvest_takes_equalities_lists_ranges_and_like_patterns() -> None:
    dom = bq.Domains.harvest([
        "select 1 from s where s.s_state = 'TN' and d_year IN (1999, 2000) and i_price between 0.99 and 1.49"
        " and c_name like '%O''Brien%' and n <> 'it''s'"])
    assert dom.values["s_state"] == ["TN"]
    assert dom.values["d_year"] == [1999, 2000]
    assert dom.values["i_price"] == [Decimal("0.99"), Decimal("1.49")]
    assert dom.values["n"] == ["it's"]
    assert dom.patterns["c_name"] == ["%O'Brien%"]


def test_generator_is_deterministic_and_keys_point_into_dimensions() -> None:
    def build() -> list[bq.Table]:
        dims = bq.Table("kind", [bq.Column("id", "integer", False), bq.Column("kind", "text")], 4, key="id")
        fact = bq.Table("fact", [bq.Column("kind_id", "integer"), bq.Column("v", "numeric(5,2)"),
                                 bq.Column("note", "varchar(8)")], 500)
        dom = bq.Domains.harvest(["select 1 where kind = 'movie' and kind = 'episode' and note like '%(x)%'"])
        gen = bq.Generator(7, dom, {"kind": 4}, {"kind_id": "kind"})
        bq.fill(dims, gen)
        bq.fill(fact, gen)
        return [dims, fact]

    first, second = build(), build()
    assert [t.data for t in first] == [t.data for t in second]
    dims, fact = first
    assert [r[0] for r in dims.data] == [1, 2, 3, 4]
    assert [r[1] for r in dims.data][:2] == ["movie", "episode"]  # small dimension: every literal, in turn
    keys = [r[0] for r in fact.data]
    assert None in keys and 9 in keys  # NULL and dangling references
    assert all(k is None or 1 <= k <= 4 or k == 9 for k in keys)
    assert all(v is None or abs(v) <= Decimal("999.99") for _, v, _ in fact.data)
    notes = [n for _, _, n in fact.data if n is not None]
    assert all(len(n) <= 8 for n in notes)
    assert any("(x)" in n for n in notes)  # made from the LIKE pattern


def test_ssb_dates_cover_every_order_date() -> None:
    tables, queries = bq.ssb_tables()
    by_name = {t.name: t for t in tables}
    datekeys = {r[0] for r in by_name["dates"].data}
    cols = [c.name for c in by_name["lineorder"].columns]
    orderdate = cols.index("lo_orderdate")
    assert all(r[orderdate] in datekeys for r in by_name["lineorder"].data)
    assert len(queries) == 13
    assert any(r[cols.index("lo_discount")] is None for r in by_name["lineorder"].data)


def test_tpcds_stream_splits_templates_and_writes_day_intervals(tmp_path: Path) -> None:
    (tmp_path / "tpcds_query").mkdir()
    (tmp_path / "tpcds_query" / "query_0.sql").write_text(
        "-- start query 1 in stream 0 using template query96.tpl\nselect 1 where d between x and "
        "(cast('2000-01-01' as date) + 30 days) LIMIT 100;\n\n-- end query 1 in stream 0 using template "
        "query96.tpl\n-- start query 2 in stream 0 using template query14.tpl\nselect 2;\nselect 3 as \"30 days\";"
        "\n-- end query 2 in stream 0 using template query14.tpl\n")
    got = bq.tpcds_stream(tmp_path)
    assert list(got) == ["t14a", "t14b", "t96"]
    assert "+ interval '30 days')" in got["t96"]
    assert got["t14b"] == 'select 3 as "30 days"'


class FakeConn:
    """What within_unlimited needs of a connection: execute(sql).fetchall()."""

    def __init__(self, rows: list[tuple[object, ...]]) -> None:
        self.rows = rows
        self.sql: list[str] = []

    def execute(self, sql: str) -> FakeConn:
        self.sql.append(sql)
        return self

    def fetchall(self) -> list[tuple[object, ...]]:
        return self.rows

    def cancel(self) -> None:  # pragma: no cover - the timer never fires here
        pass


def test_limit_answer_accepted_only_when_its_rows_belong_to_the_unlimited_answer() -> None:
    conn = FakeConn([(1, "a"), (1, "b"), (2, "c")])
    sql = "select n, s from t order by n limit 2"
    assert bq.within_unlimited(conn, sql, Outcome(rows=[(1, "b"), (1, "a")]), 5)
    assert conn.sql == ["select n, s from t order by n "]
    assert not bq.within_unlimited(conn, sql, Outcome(rows=[(1, "b"), (9, "z")]), 5)
    assert not bq.within_unlimited(conn, sql, Outcome(rows=[(1, "b"), (1, "b")]), 5)  # a multiset
    assert not bq.within_unlimited(conn, "select n from t order by n", Outcome(rows=[(1,)]), 5)
