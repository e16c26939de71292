"""Unit tests of the oracle runner itself (no database needed)."""

from __future__ import annotations

from pathlib import Path

from .runner import Result, Statement, analyze_order, compare, parse_corpus, sort_key_columns, strip_distribute

INT, TEXT, FLOAT8, NUMERIC = 23, 25, 701, 1700


def st(sql: str, **kw) -> Statement:
    return Statement(sql=sql, file="t.sql", line=1, **kw)


def rows(cols, types, data, status=None):
    return Result(ok=True, status=status or f"SELECT {len(data)}", colnames=cols, coltypes=types, rows=data)


def test_strip_distribute():
    assert strip_distribute("CREATE TABLE t (a int) DISTRIBUTE BY HASH (a)") == "CREATE TABLE t (a int)"
    assert strip_distribute("CREATE TABLE t (a int)\n) DISTRIBUTE BY ROUNDROBIN") == "CREATE TABLE t (a int)\n)"
    assert strip_distribute("CREATE TABLE t (a int) DISTRIBUTE BY replication") == "CREATE TABLE t (a int)"
    assert strip_distribute("CREATE TABLE t (a int) DISTRIBUTE BY MODULO (a) TO NODE (dn1, dn2)") == "CREATE TABLE t (a int)"
    assert strip_distribute("SELECT 'DISTRIBUTE BY'") == "SELECT 'DISTRIBUTE BY'"


def test_parse_corpus(tmp_path: Path):
    p = tmp_path / "x.sql"
    p.write_text("/*\ndoc line\n*/\n-- comment\nSELECT 1;\n-- error\nSELECT\n  1/0;\n\\load users\n-- unordered\nSELECT 2 ORDER BY 1;\n")
    c = parse_corpus(p)
    assert c.doc == "doc line"
    assert [s.sql for s in c.statements] == ["SELECT 1", "SELECT\n  1/0", "\\load users", "SELECT 2 ORDER BY 1"]
    assert [s.line for s in c.statements] == [5, 7, 9, 11]
    assert c.statements[1].expect_error and not c.statements[0].expect_error
    assert c.statements[2].load == "users"
    assert c.statements[3].order == "unordered"


def test_multiset_vs_order():
    a = rows(["x"], [INT], [("1",), ("2",), ("2",)])
    b = rows(["x"], [INT], [("2",), ("1",), ("2",)])
    assert compare(st("SELECT x FROM t"), a, b) is None
    assert compare(st("SELECT x FROM t ORDER BY x"), a, b) is not None
    c = rows(["x"], [INT], [("2",), ("1",), ("1",)])
    assert compare(st("SELECT x FROM t"), a, c) is not None


def test_ties_in_order_by_are_tolerated():
    a = rows(["k", "v"], [INT, TEXT], [("1", "a"), ("1", "b"), ("2", "c")])
    b = rows(["k", "v"], [INT, TEXT], [("1", "b"), ("1", "a"), ("2", "c")])
    assert compare(st("SELECT k, v FROM t ORDER BY k"), a, b) is None
    assert compare(st("SELECT k, v FROM t ORDER BY 1 DESC"), a, b) is None
    # sort key not in the output: full-row order
    assert compare(st("SELECT k, v FROM t ORDER BY w"), a, b) is not None
    # wrong key sequence
    d = rows(["k", "v"], [INT, TEXT], [("2", "c"), ("1", "b"), ("1", "a")])
    assert compare(st("SELECT k, v FROM t ORDER BY k"), a, d) is not None


def test_order_key_mapping():
    info = analyze_order("SELECT a.x, lower(b) AS lb FROM t a ORDER BY a.x, lower(b), lb, 2")
    assert info.ordered
    assert sort_key_columns(info, ["x", "lb"]) == [0, 1, 1, 1]
    assert not analyze_order("SELECT * FROM (SELECT x FROM t ORDER BY x) s").ordered
    assert analyze_order("SELECT x FROM t UNION SELECT y FROM u ORDER BY 1").ordered
    assert not analyze_order("INSERT INTO t SELECT x FROM u ORDER BY x").ordered


def test_float_tolerance_and_numeric_scale():
    a = rows(["f"], [FLOAT8], [("0.30000000000000004",), ("1e+100",), (None,)])
    b = rows(["f"], [FLOAT8], [(None,), ("1.0000000000000001e+100",), ("0.3",)])
    assert compare(st("SELECT f FROM t"), a, b) is None
    c = rows(["f"], [FLOAT8], [("0.3001",), ("1e+100",), (None,)])
    assert compare(st("SELECT f FROM t"), a, c) is not None
    n1 = rows(["n"], [NUMERIC], [("1.50",)])
    n2 = rows(["n"], [NUMERIC], [("1.5",)])
    assert compare(st("SELECT n FROM t"), n1, n2) is not None


def test_metadata_and_errors():
    a = rows(["x"], [INT], [("1",)])
    assert compare(st("SELECT 1"), a, rows(["y"], [INT], [("1",)])) is not None
    assert compare(st("SELECT 1"), a, rows(["x"], [20], [("1",)])) is not None
    assert compare(st("UPDATE t"), Result(ok=True, status="UPDATE 2"), Result(ok=True, status="UPDATE 3")) is not None
    e1 = Result(ok=False, sqlstate="23505", message="dup")
    e2 = Result(ok=False, sqlstate="23502", message="null")
    assert compare(st("INSERT", expect_error=True), e1, e1) is None
    assert compare(st("INSERT", expect_error=True), e1, e2) is not None
    assert compare(st("INSERT", expect_error=True), e1, Result(ok=True, status="INSERT 0 1")) is not None
    assert compare(st("INSERT"), Result(ok=True, status="INSERT 0 1"), e1) is not None
