"""Random queries and writes, the same on gridpg and on plain PostgreSQL, answers compared.

    python bench/differential_fuzz.py [--seed 1] [--count 400] [--writes] [--budget 600]
        [--gridpg DSN --plain DSN] [--no-record]

Three tables (two hash-distributed by their keys, with NULLs and repeated values in every
other column, and a small one) are made in a schema of their own on both systems; then
`--count` statements drawn from templates with random predicates: aggregates with GROUP
BY/HAVING/FILTER/DISTINCT, joins of every kind on keys and on other columns, window
functions and frames, IN/EXISTS/scalar/correlated subqueries, set operations, DISTINCT
(ON), ORDER BY ... LIMIT/OFFSET, CTEs, LATERAL, grouping sets, VALUES joins, recursion.
With `--writes`, four in ten are UPDATE (also FROM and with a sub-select), DELETE (also
USING), INSERT ... SELECT and upserts, each followed by a comparison of both tables whole.
Answers are compared as multisets unless the statement orders every row. A difference is
printed with the statement; the exit status is the number of differences (capped at 100).

Without `--gridpg`/`--plain` a fresh cluster and a plain PostgreSQL are started
(bench/common.environment) and stopped at the end. Not a CI test: an opt-in tool for
finding silent wrong answers in shapes no one wrote down.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import append_results, command_line, environment, machine_markdown

SETUP = [
    "DROP SCHEMA IF EXISTS gp_fuzz CASCADE", "CREATE SCHEMA gp_fuzz", "SET search_path = gp_fuzz",
    "CREATE TABLE t1 (id int PRIMARY KEY, a int, b int, c text, d numeric(10,2))",
    "CREATE TABLE t2 (id int PRIMARY KEY, a int, x int, c text)",
    "CREATE TABLE t3 (k int PRIMARY KEY, label text)",
    ("INSERT INTO t1 SELECT g, CASE WHEN g % 11 = 0 THEN NULL ELSE g % 7 END, (g * 37) % 13, "
     "CASE WHEN g % 5 = 0 THEN NULL ELSE chr(97 + g % 6) END, (g % 9) * 1.25 FROM generate_series(1, 200) g"),
    ("INSERT INTO t2 SELECT g, CASE WHEN g % 13 = 0 THEN NULL ELSE g % 5 END, (g * 7) % 17, chr(97 + g % 4) "
     "FROM generate_series(1, 120) g"),
    "INSERT INTO t3 SELECT g, 'L' || g FROM generate_series(0, 6) g",
    "ANALYZE",
]
COLS1 = ["t1.a", "t1.b", "t1.c", "t1.d", "t1.id"]
NUM1 = ["t1.a", "t1.b", "t1.d", "t1.id"]
COLS2 = ["t2.a", "t2.x", "t2.c", "t2.id"]
NUM2 = ["t2.x", "t2.a"]


class Statements:
    """The templates, filled from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def pred(self, cols: list[str], nums: list[str], depth: int = 0) -> str:
        rnd = self.rnd
        r = rnd.random()
        if depth < 2 and r < 0.25:
            op = rnd.choice(["AND", "OR"])
            return f"({self.pred(cols, nums, depth + 1)} {op} {self.pred(cols, nums, depth + 1)})"
        if r < 0.32:
            return f"NOT ({self.pred(cols, nums, depth + 1)})"
        c = rnd.choice(cols)
        if c.endswith(".c"):
            return rnd.choice([f"{c} = '{rnd.choice('abcdef')}'", f"{c} IS NULL", f"{c} > 'b'",
                               f"{c} IN ('a', 'c')", f"coalesce({c}, 'z') <> 'a'"])
        n = rnd.choice(nums)
        return rnd.choice([f"{n} > {rnd.randint(0, 8)}", f"{n} = {rnd.randint(0, 6)}", f"{n} IS NULL",
                           f"{n} IS NOT NULL", f"{n} BETWEEN {rnd.randint(0, 3)} AND {rnd.randint(3, 9)}",
                           f"{n} % 3 = {rnd.randint(0, 2)}", f"{n} IN ({rnd.randint(0, 5)}, {rnd.randint(0, 5)}, NULL)",
                           f"{n} NOT IN (1, 2)"])

    def where(self, chance: float = 0.7) -> str:
        return f" WHERE {self.pred(COLS1, NUM1)}" if self.rnd.random() < chance else ""

    def aggregate(self) -> str:
        rnd = self.rnd
        n, c = rnd.choice(NUM1), rnd.choice(COLS1)
        return rnd.choice([
            "count(*)", f"count({c})", f"count(DISTINCT {c})", f"sum({n})", f"min({c})", f"max({c})",
            f"avg({n})::numeric(20,6)", f"bool_and({n} > 2)", f"sum(DISTINCT {n})",
            f"string_agg({c}::text, ',' ORDER BY {c}::text, t1.id)", f"count(*) FILTER (WHERE {n} > 3)",
            f"max({n}) - min({n})", f"coalesce(sum({n}), -1)"])

    def read(self) -> tuple[str, bool]:
        """A query and whether it orders every row."""
        rnd = self.rnd
        kind = rnd.choice(["agg", "plain", "join", "joinagg", "window", "sub", "setop", "distinct", "limit",
                           "cte", "lateral", "gsets", "frame", "scalar", "case", "limitsub", "values", "recursive"])
        w = self.where()
        if kind == "agg":
            groups = rnd.sample(["t1.a", "t1.b", "t1.c", "t1.a % 2", "t1.d"], rnd.randint(0, 2))
            aggs = ", ".join(self.aggregate() for _ in range(rnd.randint(1, 3)))
            by = f" GROUP BY {', '.join(groups)}" if groups else ""
            having = f" HAVING count(*) > {rnd.randint(0, 10)}" if groups and rnd.random() < 0.4 else ""
            return f"SELECT {', '.join([*groups, aggs])} FROM t1{w}{by}{having}", False
        if kind == "plain":
            return f"SELECT {', '.join(rnd.sample(COLS1, 3))} FROM t1{w}", False
        if kind in ("join", "joinagg"):
            on = rnd.choice(["t1.a = t2.a", "t1.b = t2.x", "t1.c = t2.c", "t1.id = t2.id", "t1.a = t2.id", "t1.id = t2.x"])
            join = rnd.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
            w2 = f" WHERE {self.pred(COLS1 + COLS2, NUM1 + NUM2)}" if rnd.random() < 0.6 else ""
            if kind == "join":
                return f"SELECT t1.id, t2.id, t1.a, t2.x FROM t1 {join} t2 ON {on}{w2}", False
            g = rnd.choice(["t2.c", "t1.a", "t2.a"])
            return f"SELECT {g}, count(*), sum(t1.b), count(t2.id) FROM t1 {join} t2 ON {on}{w2} GROUP BY {g}", False
        if kind == "window":
            part = rnd.choice(["t1.a", "t1.c", "t1.b % 3"])
            f = rnd.choice(["row_number()", "sum(t1.b)", "count(*)", "lag(t1.b)", "rank()", "first_value(t1.id)"])
            return f"SELECT t1.id, {f} OVER (PARTITION BY {part} ORDER BY t1.id) FROM t1{w}", False
        if kind == "sub":
            p2 = self.pred(COLS2, NUM2)
            s = rnd.choice([f"t1.a IN (SELECT t2.a FROM t2 WHERE {p2})",
                            f"EXISTS (SELECT 1 FROM t2 WHERE t2.x = t1.b AND {p2})",
                            "t1.b > (SELECT avg(t2.x) FROM t2 WHERE t2.a = t1.a)",
                            f"t1.a NOT IN (SELECT t2.a FROM t2 WHERE t2.a IS NOT NULL AND t2.x > {rnd.randint(0, 16)})",
                            "t1.b = ANY (SELECT t2.x FROM t2 WHERE t2.c = t1.c)",
                            "t1.a IN (SELECT k FROM t3 WHERE label > 'L3')"])
            return f"SELECT t1.id, t1.a FROM t1 WHERE {s}", False
        if kind == "setop":
            op = rnd.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"])
            return f"SELECT t1.a, t1.c FROM t1{w} {op} SELECT t2.a, t2.c FROM t2 WHERE {self.pred(COLS2, NUM2)}", False
        if kind == "distinct":
            cols = rnd.sample(["t1.a", "t1.b", "t1.c"], rnd.randint(1, 2))
            if rnd.random() < 0.5:
                return f"SELECT DISTINCT {', '.join(cols)} FROM t1{w}", False
            return f"SELECT DISTINCT ON ({cols[0]}) {cols[0]}, t1.id FROM t1{w} ORDER BY {cols[0]}, t1.id", True
        if kind == "limit":
            order = rnd.choice(["t1.id", "t1.a, t1.id", "t1.c DESC NULLS LAST, t1.id", "t1.d, t1.b DESC, t1.id"])
            return (f"SELECT t1.id, t1.a, t1.c FROM t1{w} ORDER BY {order} "
                    f"LIMIT {rnd.randint(1, 15)} OFFSET {rnd.randint(0, 5)}"), True
        if kind == "cte":
            return (f"WITH s AS (SELECT t1.a, count(*) AS n FROM t1{w} GROUP BY t1.a) "
                    "SELECT s.a, s.n, t3.label FROM s LEFT JOIN t3 ON t3.k = s.a"), False
        if kind == "lateral":
            return f"SELECT t1.id, l.x FROM t1 CROSS JOIN LATERAL (SELECT max(t2.x) AS x FROM t2 WHERE t2.a = t1.a) l{w}", False
        if kind == "gsets":
            g = rnd.choice(["GROUPING SETS ((t1.a), (t1.c), ())", "ROLLUP (t1.a, t1.b)", "CUBE (t1.a, t1.c)"])
            return f"SELECT t1.a, t1.b, t1.c, count(*), sum(t1.d), grouping(t1.a) FROM t1{w} GROUP BY {g}", False
        if kind == "frame":
            frame = rnd.choice(["ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
                                "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
                                "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW",
                                "GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING"])
            return f"SELECT t1.id, sum(t1.b) OVER (PARTITION BY t1.a ORDER BY t1.id {frame}) FROM t1{w}", False
        if kind == "scalar":
            return ("SELECT t1.id, (SELECT count(*) FROM t2 WHERE t2.a = t1.a AND t2.x < t1.b), "
                    f"(SELECT label FROM t3 WHERE k = t1.a) FROM t1{w}"), False
        if kind == "case":
            return ("SELECT CASE WHEN t1.a IS NULL THEN 'n' WHEN t1.a > 3 THEN 'hi' ELSE t1.c END AS k, count(*), "
                    f"sum(CASE WHEN t1.b > 5 THEN 1 ELSE 0 END) FROM t1{w} GROUP BY 1"), False
        if kind == "limitsub":
            return f"SELECT s.a, count(*) FROM (SELECT t1.a FROM t1{w} ORDER BY t1.id LIMIT {rnd.randint(1, 50)}) s GROUP BY s.a", False
        if kind == "values":
            return f"SELECT t1.id, v.tag FROM t1 JOIN (VALUES (1, 'one'), (2, 'two'), (NULL, 'null')) v(n, tag) ON v.n = t1.a{w}", False
        return ("WITH RECURSIVE r(n, s) AS (SELECT 1, 0 UNION ALL SELECT n + 1, s + (SELECT count(*)::int FROM t1 "
                "WHERE t1.a = r.n) FROM r WHERE n < 6) SELECT * FROM r"), False

    def write(self) -> str:
        rnd = self.rnd
        kind = rnd.choice(["update", "update_from", "delete", "delete_using", "insert_select", "upsert", "update_sub"])
        w = self.pred(COLS1, NUM1)
        if kind == "update":
            return f"UPDATE t1 SET b = b + 1, c = coalesce(c, 'q') WHERE {w}"
        if kind == "update_from":
            return ("UPDATE t1 SET b = t2.x FROM t2 WHERE t1.a = t2.a AND "
                    f"t2.id = (SELECT min(id) FROM t2 t WHERE t.a = t1.a) AND {w}")
        if kind == "delete":
            return f"DELETE FROM t1 WHERE {w} AND t1.id % 4 = {rnd.randint(0, 3)}"
        if kind == "delete_using":
            return f"DELETE FROM t2 USING t1 WHERE t2.id = t1.b * 9 AND {w}"
        if kind == "insert_select":
            return (f"INSERT INTO t2 (id, a, x, c) SELECT t1.id + {rnd.randint(1, 9) * 1000}, t1.a, t1.b, t1.c "
                    f"FROM t1 WHERE {w} ON CONFLICT (id) DO NOTHING")
        if kind == "upsert":
            return ("INSERT INTO t1 (id, a, b, c, d) SELECT t2.id, t2.a, t2.x, t2.c, 1 FROM t2 WHERE t2.id < 260 "
                    "ON CONFLICT (id) DO UPDATE SET b = excluded.b + t1.b WHERE t1.a IS DISTINCT FROM excluded.a")
        return f"UPDATE t1 SET d = (SELECT coalesce(sum(t2.x), 0) FROM t2 WHERE t2.a = t1.a) WHERE {w}"


def answer(conn: psycopg.Connection, sql: str) -> tuple[str, object]:
    try:
        cur = conn.execute(sql)
        return "ok", [tuple(str(v) for v in row) for row in cur.fetchall()] if cur.description else cur.rowcount
    except psycopg.Error as exc:
        return "error", exc.sqlstate


def compare(grid: str, plain: str, seed: int, count: int, writes: bool, budget: float) -> tuple[int, int, list[str]]:
    """(statements run, differences, reports)."""
    g, p = psycopg.connect(grid, autocommit=True), psycopg.connect(plain, autocommit=True)
    for sql in SETUP:
        g.execute(sql)
        p.execute(sql)
    source, reports, run = Statements(seed), [], 0
    deadline = time.monotonic() + budget
    try:
        for run in range(1, count + 1):
            if time.monotonic() > deadline:
                break
            if writes and source.rnd.random() < 0.4:
                sql = source.write()
                a, b = answer(g, sql), answer(p, sql)
                if a != b:
                    reports.append(f"{sql}\n  gridpg: {str(a)[:400]}\n  plain:  {str(b)[:400]}")
                for table in ("t1", "t2"):
                    whole_g, whole_p = answer(g, f"SELECT * FROM {table}"), answer(p, f"SELECT * FROM {table}")
                    if Counter(whole_g[1]) != Counter(whole_p[1]):  # type: ignore[arg-type]
                        reports.append(f"{sql}\n  table {table} differs after it: stopped")
                        return run, len(reports), reports
                continue
            sql, ordered = source.read()
            a, b = answer(g, sql), answer(p, sql)
            same = a == b if ordered or a[0] != "ok" or b[0] != "ok" else Counter(a[1]) == Counter(b[1])  # type: ignore[arg-type]
            if not same:
                reports.append(f"{sql}\n  gridpg: {str(a)[:400]}\n  plain:  {str(b)[:400]}")
    finally:
        for conn in (g, p):
            conn.execute("DROP SCHEMA gp_fuzz CASCADE")
            conn.close()
    return run, len(reports), reports


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--writes", action="store_true", help="four in ten statements write, tables compared after each")
    ap.add_argument("--budget", type=float, default=600.0, help="seconds at most")
    ap.add_argument("--gridpg", help="a running gridpg's DSN (else a cluster is started)")
    ap.add_argument("--plain", help="a running plain PostgreSQL's DSN (with --gridpg)")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = ap.parse_args()
    if args.gridpg and args.plain:
        run, bad, reports = compare(args.gridpg, args.plain, args.seed, args.count, args.writes, args.budget)
    else:
        with environment() as env:
            run, bad, reports = compare(env.gridpg_dsn(0), env.plain_dsn, args.seed, args.count, args.writes, args.budget)
    for report in reports:
        print(f"### {report}")
    summary = f"seed {args.seed}: {run} statements{' (with writes)' if args.writes else ''}, {bad} differ"
    print(summary)
    if not args.no_record:
        append_results("differential random statements, gridpg vs plain PostgreSQL",
                       f"- command: `{command_line()}`\n{machine_markdown()}\n"
                       f"- result: {summary}\n" + "".join(f"\n    {r.splitlines()[0]}" for r in reports[:20]))
    return min(bad, 100)


if __name__ == "__main__":
    raise SystemExit(main())
