"""Random queries and writes, the same on gridpg and on plain PostgreSQL, answers compared.

    python bench/differential_fuzz.py [--seed 1] [--count 400] [--writes] [--budget 600]
        [--gridpg DSN --plain DSN] [--no-record] [--layout classic|mixed] [--log FILE]

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

`--layout mixed` (h-fuzz20) places nine tables every way gridpg can: HASH by an integer,
a text, a date and a numeric key, ROUNDROBIN, REPLICATION, a pair HASH by a column that is
not their key (colocated), and a table PARTITION BY RANGE (id) distributed by HASH of
another column (plain PostgreSQL gets the same DDL without DISTRIBUTE BY). Its templates
mix placements: joins (also three-way and outer) on keys and non-keys, aggregates over
joins (DISTINCT aggregates, HAVING, grouping sets), windows partitioned by non-keys,
correlated EXISTS/IN/scalar sub-selects, set operations, LIMIT/OFFSET ordered by every
output column, LATERAL, lookups by the placement column against constants and client
parameters of other types; writes: UPDATE ... FROM (grouped sources), DELETE ... USING /
EXISTS, INSERT ... SELECT, upserts, MERGE, updates of the distribution column and of the
key, and transaction blocks with savepoints ending in COMMIT or ROLLBACK; every table is
compared whole after each write. `--log FILE` keeps every statement sent to gridpg, to
replay and reduce a difference.

Without `--gridpg`/`--plain` a fresh cluster and a plain PostgreSQL are started
(bench/common.environment) and stopped at the end. Not a CI test: an opt-in tool for
finding silent wrong answers in shapes no one wrote down.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
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
        self.params: list[object] | None = None  # the last statement's parameters, if any

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


# -- the mixed layout: every placement gridpg has, the same rows on both systems -----------
#
# Each table has an identifier `id` (of the type its placement is by), and the same three
# other columns: g int, v int (both with NULLs and repeats) and s text (with NULLs), so
# any two tables join on g, v, s and, where both keys are integers, on id. DDL entries are
# (statement, gridpg's DISTRIBUTE BY clause): plain PostgreSQL gets the statement alone.

MIXED_TABLES = {  # name: (id type, id from an integer expression n)
    "h": ("int", "{n}"),                               # HASH by its integer key
    "rr": ("int", "{n}"),                              # ROUNDROBIN
    "rep": ("int", "{n}"),                             # REPLICATION
    "tx": ("text", "'k' || ({n})"),                    # HASH by a text key
    "dt": ("date", "date '2024-01-01' + ({n})::int"),       # HASH by a date key
    "nm": ("numeric(12,2)", "({n}) * 1.25"),            # HASH by a numeric key
    "ca": ("int", "{n}"),                              # HASH by g (not a key), colocated with cb
    "cb": ("int", "{n}"),                              # HASH by g
    "pt": ("int", "{n}"),                              # PARTITION BY RANGE (id), HASH by g
}
MIXED_INT_KEYS = ["h", "rr", "rep", "ca", "cb", "pt"]
MIXED_UNIQUE = ["h", "rep", "tx", "dt", "nm"]  # id is a primary key
MIXED_SETUP: list[tuple[str, str]] = [
    ("CREATE TABLE h (id int PRIMARY KEY, g int, v int, s text)", " DISTRIBUTE BY HASH (id)"),
    ("CREATE TABLE rr (id int, g int, v int, s text)", " DISTRIBUTE BY ROUNDROBIN"),
    ("CREATE TABLE rep (id int PRIMARY KEY, g int, v int, s text)", " DISTRIBUTE BY REPLICATION"),
    ("CREATE TABLE tx (id text PRIMARY KEY, g int, v int, s text)", " DISTRIBUTE BY HASH (id)"),
    ("CREATE TABLE dt (id date PRIMARY KEY, g int, v int, s text)", " DISTRIBUTE BY HASH (id)"),
    ("CREATE TABLE nm (id numeric(12,2) PRIMARY KEY, g int, v int, s text)", " DISTRIBUTE BY HASH (id)"),
    ("CREATE TABLE ca (id int, g int, v int, s text)", " DISTRIBUTE BY HASH (g)"),
    ("CREATE TABLE cb (id int, g int, v int, s text)", " DISTRIBUTE BY HASH (g)"),
    ("CREATE TABLE pt (id int, g int, v int, s text) PARTITION BY RANGE (id)", " DISTRIBUTE BY HASH (g)"),
    ("CREATE TABLE pt_low PARTITION OF pt FOR VALUES FROM (MINVALUE) TO (40)", ""),
    ("CREATE TABLE pt_mid PARTITION OF pt FOR VALUES FROM (40) TO (90)", ""),
    ("CREATE TABLE pt_rest PARTITION OF pt DEFAULT", ""),
]
MIXED_SIZES = {"h": 150, "rr": 90, "rep": 25, "tx": 80, "dt": 70, "nm": 60, "ca": 110, "cb": 70, "pt": 130}


def mixed_setup() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = [("DROP SCHEMA IF EXISTS gp_fuzz CASCADE", ""), ("CREATE SCHEMA gp_fuzz", ""),
                                  ("SET search_path = gp_fuzz", ""), *MIXED_SETUP]
    for i, (name, (_, key)) in enumerate(MIXED_TABLES.items()):
        m, k = 3 + i, 5 + i % 4
        rows = (f"INSERT INTO {name} SELECT {key.format(n='n')}, "
                f"CASE WHEN n % {k + 6} = 0 THEN NULL ELSE n % {k} END, "
                f"CASE WHEN n % {k + 3} = 1 THEN NULL ELSE (n * {m}) % 11 END, "
                f"CASE WHEN n % 7 = {i % 7} THEN NULL ELSE chr(97 + (n * {m}) % 5) END "
                f"FROM generate_series(1, {MIXED_SIZES[name]}) n")
        out.append((rows, ""))
    out.append(("ANALYZE", ""))
    return out


class MixedStatements(Statements):
    """Templates over the mixed layout: every shape across two or three placements."""

    def table(self, exclude: str = "") -> str:
        return self.rnd.choice([t for t in MIXED_TABLES if t != exclude])

    def mpred(self, alias: str) -> str:
        rnd = self.rnd
        c = rnd.choice(["g", "v", "s", "g", "v"])
        if c == "s":
            return rnd.choice([f"{alias}.s = '{rnd.choice('abcde')}'", f"{alias}.s IS NULL", f"{alias}.s > 'b'",
                               f"{alias}.s IS DISTINCT FROM 'a'"])
        return rnd.choice([f"{alias}.{c} > {rnd.randint(0, 8)}", f"{alias}.{c} = {rnd.randint(0, 6)}",
                           f"{alias}.{c} IS NULL", f"{alias}.{c} IN ({rnd.randint(0, 5)}, {rnd.randint(0, 5)})",
                           f"{alias}.{c} BETWEEN {rnd.randint(0, 3)} AND {rnd.randint(3, 9)}",
                           f"{alias}.{c} % 2 = {rnd.randint(0, 1)}", f"{alias}.{c} NOT IN (1, 3)"])

    def mwhere(self, *aliases: str, chance: float = 0.6) -> str:
        rnd = self.rnd
        if rnd.random() >= chance:
            return ""
        preds = [self.mpred(rnd.choice(aliases)) for _ in range(rnd.randint(1, 2))]
        return " WHERE " + f" {rnd.choice(['AND', 'OR'])} ".join(preds)

    def on(self, a: str, ta: str, b: str, tb: str) -> str:
        rnd = self.rnd
        options = [f"{a}.g = {b}.g", f"{a}.v = {b}.v", f"{a}.s = {b}.s", f"{a}.g = {b}.v",
                   f"{a}.g = {b}.g AND {a}.s = {b}.s", f"{a}.v = {b}.g AND {a}.id IS NOT NULL"]
        if ta in MIXED_INT_KEYS and tb in MIXED_INT_KEYS:
            options += [f"{a}.id = {b}.id", f"{a}.id = {b}.id", f"{a}.id = {b}.id + 1", f"{a}.id = {b}.v"]
        elif ta in MIXED_INT_KEYS:
            options.append(f"{b}.id = {MIXED_TABLES[tb][1].format(n=f'{a}.id')}")
        return rnd.choice(options)

    def point(self, table: str, alias: str) -> str:
        """The placement column compared with constants of its own and of other types (the
        router must find the node by the value the comparison means), or with a parameter
        of the client's type for the value."""
        rnd = self.rnd
        n = rnd.randint(0, MIXED_SIZES[table] + 3)
        if rnd.random() < 0.3:
            col = f"{alias}.g" if table in ("ca", "cb", "pt") else f"{alias}.id"
            k = rnd.randint(0, 8) if col.endswith(".g") else n
            value: object = {"tx": f"k{n}", "dt": datetime.date(2024, 1, 1) + datetime.timedelta(days=n),
                             "nm": decimal.Decimal(n) * decimal.Decimal("1.25")}.get(table, k) \
                if col.endswith(".id") else k
            choices = [value]
            if isinstance(value, int):
                choices += [decimal.Decimal(value), float(value), str(value), 2**40 + value, decimal.Decimal(value) + decimal.Decimal("0.5")]
            elif isinstance(value, datetime.date):
                choices += [datetime.datetime.combine(value, datetime.time()), str(value)]
            elif isinstance(value, decimal.Decimal):
                choices += [float(value), str(value), value.quantize(decimal.Decimal("0.0001"))]
            self.params = [rnd.choice(choices)]
            return rnd.choice([f"{col} = %s", f"{col} IN (%s, NULL)", f"%s = {col}"])
        if table in ("ca", "cb", "pt") and rnd.random() < 0.6:
            col, k = f"{alias}.g", rnd.randint(0, 8)
            return rnd.choice([f"{col} = {k}", f"{col} = {k}::smallint", f"{col} = {k}::bigint", f"{col} = {k}.0",
                               f"{col} IN ({k}, {k + 1}::bigint)", f"{col} = '{k}'", f"{col} = ANY ('{{{k},{k + 2}}}')",
                               f"{col} IS NULL", f"{col} = {k} OR {col} IS NULL", f"{col} = {k}.5"])
        col = f"{alias}.id"
        if table == "tx":
            return rnd.choice([f"{col} = 'k{n}'", f"{col} = 'k{n}'::varchar", f"{col} = 'k{n}'::char(6)",
                               f"{col} = 'k{n}'::name", f"{col} IN ('k{n}', 'k{n + 1}')", f"{col} = ANY (ARRAY['k{n}'])",
                               f"{col} = 'k' || {n}", f"{col} = 'K{n}'", f"lower({col}) = 'k{n}'",
                               f"{col} = 'k{n}' COLLATE \"C\"", f"{col} LIKE 'k{n}'"])
        if table == "dt":
            d = f"2024-01-01'::date + {n}"
            return rnd.choice([f"{col} = date '2024-01-01' + {n}", f"{col} = ('{d})::timestamp",
                               f"{col} = ('{d})::timestamptz", f"{col} = ('{d})::timestamp + interval '1 hour'",
                               f"{col} IN (date '2024-01-01' + {n}, date '2024-01-02' + {n})",
                               f"{col} = ('{d})::text::date", f"{col}::text = ('{d})::text"])
        if table == "nm":
            v = n * 1.25
            return rnd.choice([f"{col} = {v}", f"{col} = {v:.4f}", f"{col} = {v}::float8", f"{col} = {n}",
                               f"{col} = {v}::numeric(10,4)", f"{col} IN ({v}, {v + 1.25:.3f})", f"{col} = '{v:.2f}'",
                               f"{col} = {n}::bigint", f"{col} = {v}::real"])
        return rnd.choice([f"{col} = {n}", f"{col} = {n}::bigint", f"{col} = {n}.0", f"{col} = {n}::smallint",
                           f"{col} IN ({n}, {n + 1}::bigint)", f"{col} = '{n}'", f"{col} = {n}.5",
                           f"{col} = ANY ('{{{n},{n + 3}}}'::int8[])", f"{col} = {n}::numeric",
                           f"{col} = {n}::float8", f"({col}, {alias}.g) = ({n}, {alias}.g)"])

    def pair(self) -> tuple[str, str, str]:
        ta = self.table()
        tb = self.rnd.choice([t for t in MIXED_TABLES if t != ta] + [ta])
        return ta, tb, self.on("a", ta, "b", tb)

    def read(self) -> tuple[str, bool]:
        rnd = self.rnd
        kind = rnd.choice(["join", "join", "join3", "joinagg", "joinagg", "distagg", "window", "window_join",
                           "exists", "in", "scalar", "setop", "setop", "limit", "limit_join", "derived", "cte",
                           "lateral", "distinct_on", "agg_rollup", "point", "point", "point_join"])
        ta, tb, on = self.pair()
        if kind == "point":
            return f"SELECT a.id, a.g, a.v, a.s FROM {ta} a WHERE {self.point(ta, 'a')}", False
        if kind == "point_join":
            jt = rnd.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
            return f"SELECT a.id, b.id, b.v FROM {ta} a {jt} {tb} b ON {on} WHERE {self.point(ta, 'a')}", False
        jt = rnd.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "LEFT JOIN", "FULL JOIN"])
        w = self.mwhere("a", "b")
        wa = self.mwhere("a")
        if kind == "join":
            return f"SELECT a.id, b.id, a.g, b.v, b.s FROM {ta} a {jt} {tb} b ON {on}{w}", False
        if kind == "join3":
            tc = self.table()
            on2 = self.on("b", tb, "c", tc)
            jt2 = rnd.choice(["JOIN", "LEFT JOIN", "FULL JOIN"])
            w3 = self.mwhere("a", "b", "c")
            return (f"SELECT a.id, b.id, c.id, coalesce(a.g, b.g, c.g) FROM {ta} a {jt} {tb} b ON {on} "
                    f"{jt2} {tc} c ON {on2}{w3}"), False
        if kind == "joinagg":
            g = rnd.choice(["a.s", "b.s", "b.g", "a.v", "a.g % 3", "coalesce(a.s, b.s)", "a.s, b.g"])
            aggs = rnd.sample(["count(*)", "count(b.id)", "count(DISTINCT b.g)", "sum(a.v)", "max(b.s)",
                               "sum(DISTINCT b.v)", "avg(b.v)::numeric(20,6)", "count(DISTINCT a.s)",
                               "string_agg(DISTINCT b.s, ',' ORDER BY b.s)", "bool_or(a.v > b.v)",
                               "count(*) FILTER (WHERE b.g IS NULL)"], rnd.randint(1, 3))
            having = rnd.choice(["", f" HAVING count(*) > {rnd.randint(0, 12)}",
                                 f" HAVING count(DISTINCT a.id) > {rnd.randint(0, 5)}", " HAVING sum(b.v) IS NOT NULL"])
            return f"SELECT {g}, {', '.join(aggs)} FROM {ta} a {jt} {tb} b ON {on}{w} GROUP BY {g}{having}", False
        if kind == "distagg":
            g = rnd.choice(["a.g", "a.s", "a.v % 4", "a.g, a.s"])
            aggs = rnd.sample(["count(DISTINCT a.s)", "sum(DISTINCT a.v)", "count(DISTINCT a.v)", "count(*)",
                               "string_agg(DISTINCT a.s, '' ORDER BY a.s)", "array_agg(DISTINCT a.v ORDER BY a.v)",
                               "avg(DISTINCT a.v)::numeric(20,6)", "min(a.id)", "max(a.id)"], rnd.randint(1, 3))
            having = rnd.choice(["", f" HAVING count(DISTINCT a.v) > {rnd.randint(0, 4)}", " HAVING max(a.s) > 'b'"])
            return f"SELECT {g}, {', '.join(aggs)} FROM {ta} a{wa} GROUP BY {g}{having}", False
        if kind == "window":
            part = rnd.choice(["a.g", "a.s", "a.v % 3", "a.g, a.s"])
            f = rnd.choice(["row_number()", "rank()", "dense_rank()", "sum(a.v)", "count(*)", "lag(a.id)",
                            "first_value(a.id)", "ntile(3)", "max(a.s)"])
            frame = rnd.choice(["", " ROWS BETWEEN 1 PRECEDING AND CURRENT ROW"])
            return (f"SELECT a.id, {f} OVER (PARTITION BY {part} ORDER BY a.v NULLS FIRST, a.id, a.s, a.g{frame}) "
                    f"FROM {ta} a{wa}"), False
        if kind == "window_join":
            part = rnd.choice(["b.g", "a.s", "b.s", "a.v"])
            f = rnd.choice(["count(*)", "sum(b.v)", "row_number()", "count(b.id)"])
            order = rnd.choice(["", " ORDER BY a.id, b.id"]) if ta in MIXED_UNIQUE and tb in MIXED_UNIQUE else ""
            if not order and f == "row_number()":
                f = "count(*)"
            return f"SELECT a.id, b.id, {f} OVER (PARTITION BY {part}{order}) FROM {ta} a {jt} {tb} b ON {on}{w}", False
        if kind == "exists":
            inner = self.on("b", tb, "a", ta)
            neg = rnd.choice(["", "NOT "])
            return (f"SELECT a.id, a.g FROM {ta} a WHERE {neg}EXISTS (SELECT 1 FROM {tb} b WHERE {inner}"
                    f"{' AND ' + self.mpred('b') if rnd.random() < 0.6 else ''})"), False
        if kind == "in":
            col = rnd.choice(["g", "v", "s"])
            neg = rnd.choice(["", "NOT "])
            nn = f" AND b.{col} IS NOT NULL" if neg and rnd.random() < 0.7 else ""
            return (f"SELECT a.id, a.{col} FROM {ta} a WHERE a.{col} {neg}IN (SELECT b.{col} FROM {tb} b "
                    f"WHERE {self.mpred('b')}{nn})"), False
        if kind == "scalar":
            sub = rnd.choice([f"(SELECT count(*) FROM {tb} b WHERE b.g = a.g)",
                              f"(SELECT max(b.v) FROM {tb} b WHERE b.s = a.s AND b.g <> a.g)",
                              f"(SELECT sum(b.v) FROM {tb} b WHERE b.v < a.v)",
                              f"(SELECT min(b.s) FROM {tb} b WHERE b.g = a.v)"])
            return f"SELECT a.id, {sub} FROM {ta} a{wa}", False
        if kind == "setop":
            op = rnd.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"])
            cols = rnd.choice(["g, s", "v", "g, v", "s"])
            wb = self.mwhere("b")
            q = f"SELECT {cols} FROM {ta} a{wa} {op} SELECT {cols} FROM {tb} b{wb}"
            if rnd.random() < 0.3:
                tc = self.table()
                q += f" {rnd.choice(['UNION', 'EXCEPT', 'INTERSECT'])} SELECT {cols} FROM {tc} c"
            if rnd.random() < 0.3:
                n = len(cols.split(","))
                order = ", ".join(f"{i} NULLS FIRST" for i in range(1, n + 1))
                return f"{q} ORDER BY {order} LIMIT {rnd.randint(1, 12)} OFFSET {rnd.randint(0, 3)}", True
            return q, False
        if kind == "limit":
            key = "a.id" if ta in MIXED_UNIQUE else "a.id, a.g, a.v, a.s"
            order = rnd.choice([f"a.g NULLS FIRST, {key}", f"a.s DESC, a.v, {key}", key, f"a.v DESC NULLS LAST, {key}"])
            return (f"SELECT a.id, a.g, a.v, a.s FROM {ta} a{wa} ORDER BY {order} "
                    f"LIMIT {rnd.randint(1, 15)} OFFSET {rnd.randint(0, 6)}"), True
        if kind == "limit_join":
            return (f"SELECT a.id, b.id, a.g, b.v, b.s FROM {ta} a {jt} {tb} b ON {on}{w} "
                    f"ORDER BY 3 NULLS FIRST, 1, 2, 4, 5 LIMIT {rnd.randint(1, 15)} OFFSET {rnd.randint(0, 6)}"), True
        if kind == "derived":
            agg = rnd.choice(["sum(v)", "count(*)", "max(s)", "count(DISTINCT v)"])
            return (f"SELECT x.g, x.m, b.id FROM (SELECT g, {agg} AS m FROM {ta} GROUP BY g) x "
                    f"{jt} {tb} b ON x.g = b.g{self.mwhere('b')}"), False
        if kind == "cte":
            return (f"WITH x AS (SELECT s, count(*) AS n, sum(v) AS sv FROM {ta} a{wa} GROUP BY s), "
                    f"y AS (SELECT s, max(g) AS mg FROM {tb} GROUP BY s) "
                    f"SELECT x.s, x.n, x.sv, y.mg FROM x {rnd.choice(['JOIN', 'LEFT JOIN', 'FULL JOIN'])} y "
                    f"ON {rnd.choice(['x.s = y.s', 'x.n = y.mg'])}"), False
        if kind == "lateral":
            lim = rnd.choice(["", " ORDER BY b.v NULLS LAST, b.id LIMIT 2"]) if tb in MIXED_UNIQUE else ""
            return self._lateral(ta, tb, lim, wa), False
        if kind == "distinct_on":
            return (f"SELECT DISTINCT ON (a.g) a.g, a.id, b.id FROM {ta} a {jt} {tb} b ON {on}{w} "
                    "ORDER BY a.g, a.id, b.id NULLS FIRST"), ta in MIXED_UNIQUE and tb in MIXED_UNIQUE
        cols, g = rnd.choice([("a.g, b.s", "ROLLUP (a.g, b.s)"), ("a.s, b.g", "CUBE (a.s, b.g)"),
                              ("a.g, b.v", "GROUPING SETS ((a.g), (b.v), ())")])
        return (f"SELECT {cols}, count(*), sum(a.v), count(DISTINCT b.id), grouping({cols}) "
                f"FROM {ta} a {jt} {tb} b ON {on}{w} GROUP BY {g}"), False

    def block(self) -> list[tuple[str, list[object] | None]]:
        """A transaction: writes across placements, reads of what they wrote, then COMMIT
        or ROLLBACK (sometimes to a savepoint first); each statement with its parameters."""
        rnd = self.rnd
        out: list[tuple[str, list[object] | None]] = [("BEGIN", None)]

        def add(sql: str) -> None:
            out.append((sql, self.params))
            self.params = None

        for _ in range(rnd.randint(1, 3)):
            add(self.write())
            if rnd.random() < 0.3:
                add("SAVEPOINT s1")
                add(self.write())
                add(rnd.choice(["ROLLBACK TO SAVEPOINT s1", "RELEASE SAVEPOINT s1"]))
            add(self.read()[0])
        add(rnd.choice(["COMMIT", "ROLLBACK", "COMMIT"]))
        return out

    def _lateral(self, ta: str, tb: str, lim: str, wa: str) -> str:
        if self.rnd.random() < 0.5:
            return f"SELECT a.id, l.id, l.v FROM {ta} a CROSS JOIN LATERAL (SELECT b.id, b.v FROM {tb} b WHERE b.g = a.g{lim}) l{wa}"
        return f"SELECT a.id, l.id, l.v FROM {ta} a LEFT JOIN LATERAL (SELECT b.id, b.v FROM {tb} b WHERE b.g = a.g{lim}) l ON true{wa}"

    def write(self) -> str:
        rnd = self.rnd
        ta = self.table()
        tb = self.table()
        kind = rnd.choice(["update_from", "update_from", "update_in", "update_dist", "delete_using", "delete_exists",
                           "insert_select", "insert_select", "update_scalar", "delete_plain", "update_key",
                           "update_point", "delete_point", "merge"])
        pa = self.mpred(ta)
        if kind == "merge":
            # NOT MATCHED INSERT only where ON equates the target's distribution column with the
            # source, and not into dt/nm: gridpg refuses the others (0A000; a date or numeric
            # distribution column cannot be staged by its hash, executor/merge_staged.py)
            k = rnd.randint(0, 12)
            key = MIXED_TABLES[ta][1].format(n=f"coalesce(g, -1) + {k}")
            on = "t.g = q.g" if ta in ("ca", "cb", "pt", "rep", "rr") else "t.id = q.k"
            insert = "" if ta in ("rep", "rr", "dt", "nm") or rnd.random() < 0.3 else (
                "WHEN NOT MATCHED THEN INSERT (id, g, v, s) VALUES (q.k, q.g, q.m, q.ms)")
            return (f"MERGE INTO {ta} t USING (SELECT {key} AS k, g, max(v) AS m, min(s) AS ms FROM {tb} b"
                    f"{self.mwhere('b')} GROUP BY g) q ON {on} "
                    f"WHEN MATCHED AND q.m > {rnd.randint(3, 9)} THEN UPDATE SET v = q.m, s = q.ms "
                    f"WHEN MATCHED AND q.m < {rnd.randint(0, 3)} THEN DELETE {insert}")
        if kind == "update_point":
            return f"UPDATE {ta} a SET v = coalesce(v, 0) + 7, s = 'p' WHERE {self.point(ta, 'a')} RETURNING a.id, a.v"
        if kind == "delete_point":
            return f"DELETE FROM {ta} a WHERE {self.point(ta, 'a')} RETURNING a.id"
        if kind == "update_from":
            # the source is grouped by the join column, so each target row meets one source row
            col = rnd.choice(["g", "v", "s"])
            agg = rnd.choice(["max(v)", "min(g)", "count(*)::int", "sum(v)::int"])
            return (f"UPDATE {ta} SET v = x.m FROM (SELECT {col}, {agg} AS m FROM {tb} b"
                    f"{self.mwhere('b')} GROUP BY {col}) x WHERE {ta}.{col} = x.{col} AND {pa}")
        if kind == "update_in":
            return (f"UPDATE {ta} SET s = coalesce(s, 'q') || 'u', v = coalesce(v, 0) + 1 "
                    f"WHERE {ta}.g IN (SELECT b.g FROM {tb} b WHERE {self.mpred('b')})")
        if kind == "update_dist":
            return f"UPDATE {ta} SET g = coalesce(g, 0) + {rnd.randint(1, 3)} WHERE {pa}"
        if kind == "delete_using":
            on = rnd.choice(["v", "g", "s"])
            return f"DELETE FROM {ta} USING {tb} b WHERE {ta}.{on} = b.{on} AND {self.mpred('b')} AND {pa}"
        if kind == "delete_exists":
            return (f"DELETE FROM {ta} WHERE EXISTS (SELECT 1 FROM {tb} b WHERE b.g = {ta}.v AND {self.mpred('b')}) "
                    f"AND {pa}")
        if kind == "delete_plain":
            return f"DELETE FROM {ta} WHERE {pa} AND {ta}.v % 3 = {rnd.randint(0, 2)}"
        if kind == "update_key":
            # a shift drawn anew each time, which no other row's key meets: PostgreSQL checks a
            # unique key row by row, so a shift onto a row the same statement shifts away fails
            # there in one physical order and not in the other, and gridpg checks at the end
            # (the distribution column of h, tx, dt and nm)
            n = rnd.randint(10**5, 10**7)
            shift = {"tx": f"id || 'x{n}'", "dt": f"id + {n // 100}", "nm": f"id + {n}.5"}.get(ta, f"id + {n}")
            return f"UPDATE {ta} SET id = {shift} WHERE {pa}"
        if kind == "update_scalar":
            return (f"UPDATE {ta} SET v = (SELECT count(*) FROM {tb} b WHERE b.g = {ta}.g)::int "
                    f"WHERE {pa}")
        # INSERT ... SELECT: ids from the source's row number, shifted out of the way
        off = rnd.randint(1, 30) * 1000
        key = MIXED_TABLES[ta][1].format(n=f"{off} + row_number() OVER (ORDER BY b.g, b.v, b.s)")
        conflict = " ON CONFLICT (id) DO NOTHING" if ta in MIXED_UNIQUE else ""
        if rnd.random() < 0.3 and ta in MIXED_UNIQUE:
            conflict = " ON CONFLICT (id) DO UPDATE SET v = excluded.v, s = excluded.s"
        src = f"SELECT {key}, b.g, b.v, b.s FROM {tb} b{self.mwhere('b')}"
        if ta not in MIXED_UNIQUE or rnd.random() < 0.5:
            # rows ordered deterministically before numbering need a total order: group them first
            src = (f"SELECT {MIXED_TABLES[ta][1].format(n=f'{off} + row_number() OVER (ORDER BY g, v, s)')}, g, v, s "
                   f"FROM (SELECT DISTINCT b.g, b.v, b.s FROM {tb} b{self.mwhere('b')}) b")
        return f"INSERT INTO {ta} (id, g, v, s) {src}{conflict}"


LOG: list[str] | None = None  # with --log, every statement sent to gridpg, in order
LOG_CONN: list[psycopg.Connection] = []


def answer(conn: psycopg.Connection, sql: str, params: list[object] | None = None) -> tuple[str, object]:
    if LOG is not None and LOG_CONN and conn is LOG_CONN[0]:
        LOG.append(f"{sql}{f' -- {params!r}' if params else ''}")
    try:
        cur = conn.execute(sql, params)
        return "ok", [tuple(str(v) for v in row) for row in cur.fetchall()] if cur.description else cur.rowcount
    except psycopg.Error as exc:
        return "error", exc.sqlstate


def rows_apart(grid: tuple[str, object], plain: tuple[str, object]) -> str:
    """A few rows only one side has."""
    a, b = Counter(grid[1]), Counter(plain[1])  # type: ignore[arg-type]
    return f"\n  gridpg only: {list((a - b).elements())[:8]}\n  plain only:  {list((b - a).elements())[:8]}"


def compare(grid: str, plain: str, seed: int, count: int, writes: bool, budget: float,
            layout: str = "classic") -> tuple[int, int, list[str]]:
    """(statements run, differences, reports)."""
    g, p = psycopg.connect(grid, autocommit=True), psycopg.connect(plain, autocommit=True)
    LOG_CONN[:] = [g]
    if layout == "mixed":
        for sql, placement in mixed_setup():
            g.execute(sql + placement)
            p.execute(sql)
        source: Statements = MixedStatements(seed)
        tables = list(MIXED_TABLES)
    else:
        for sql in SETUP:
            g.execute(sql)
            p.execute(sql)
        source, tables = Statements(seed), ["t1", "t2"]
    reports: list[str] = []
    run = 0
    deadline = time.monotonic() + budget
    try:
        for run in range(1, count + 1):
            if time.monotonic() > deadline:
                break
            source.params = None
            if writes and isinstance(source, MixedStatements) and source.rnd.random() < 0.08:
                block = source.block()
                text = "; ".join(f"{sql}{f' -- {params!r}' if params else ''}" for sql, params in block)
                for sql, params in block:
                    a, b = answer(g, sql, params), answer(p, sql, params)
                    if a != b and not (a[0] == b[0] == "ok" and isinstance(a[1], list) and isinstance(b[1], list)
                                       and Counter(a[1]) == Counter(b[1])):
                        reports.append(f"{sql} (in: {text})\n  gridpg: {str(a)[:400]}\n  plain:  {str(b)[:400]}")
                for conn in (g, p):
                    answer(conn, "ROLLBACK")  # a block an error left open
                for table in tables:
                    whole_g, whole_p = answer(g, f"SELECT * FROM {table}"), answer(p, f"SELECT * FROM {table}")
                    if Counter(whole_g[1]) != Counter(whole_p[1]):  # type: ignore[arg-type]
                        reports.append(f"{text}\n  table {table} differs after it: stopped{rows_apart(whole_g, whole_p)}")
                        return run, len(reports), reports
                continue
            if writes and source.rnd.random() < 0.4:
                sql = source.write()
                a, b = answer(g, sql, source.params), answer(p, sql, source.params)
                if a != b and not (a[0] == b[0] == "ok" and isinstance(a[1], list) and isinstance(b[1], list)
                                   and Counter(a[1]) == Counter(b[1])):  # RETURNING rows come in no order
                    reports.append(f"{sql}{f' -- {source.params!r}' if source.params else ''}\n"
                                   f"  gridpg: {str(a)[:400]}\n  plain:  {str(b)[:400]}")
                for table in tables:
                    whole_g, whole_p = answer(g, f"SELECT * FROM {table}"), answer(p, f"SELECT * FROM {table}")
                    if Counter(whole_g[1]) != Counter(whole_p[1]):  # type: ignore[arg-type]
                        reports.append(f"{sql}\n  table {table} differs after it: stopped{rows_apart(whole_g, whole_p)}")
                        return run, len(reports), reports
                continue
            sql, ordered = source.read()
            a, b = answer(g, sql, source.params), answer(p, sql, source.params)
            same = a == b if ordered or a[0] != "ok" or b[0] != "ok" else Counter(a[1]) == Counter(b[1])  # type: ignore[arg-type]
            if not same:
                reports.append(f"{sql}{f' -- {source.params!r}' if source.params else ''}\n  gridpg: {str(a)[:400]}\n  plain:  {str(b)[:400]}")
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
    ap.add_argument("--log", help="write every statement sent to gridpg to this file (for reducing a difference)")
    ap.add_argument("--layout", choices=["classic", "mixed"], default="classic",
                    help="classic: t1/t2 HASH by integer keys and t3; mixed: HASH by int/text/date/numeric keys, "
                    "ROUNDROBIN, REPLICATION, a pair HASH by a non-key column, a partitioned table")
    args = ap.parse_args()
    global LOG
    LOG = [] if args.log else None
    if args.gridpg and args.plain:
        run, bad, reports = compare(args.gridpg, args.plain, args.seed, args.count, args.writes, args.budget,
                                       args.layout)
    else:
        with environment() as env:
            run, bad, reports = compare(env.gridpg_dsn(0), env.plain_dsn, args.seed, args.count, args.writes,
                                       args.budget, args.layout)
    if args.log and LOG is not None:
        Path(args.log).write_text("".join(f"{line};\n" for line in LOG))
    for report in reports:
        print(f"### {report}")
    summary = f"seed {args.seed} ({args.layout} layout): {run} statements{' (with writes)' if args.writes else ''}, {bad} differ"
    print(summary)
    if not args.no_record:
        append_results("differential random statements, gridpg vs plain PostgreSQL",
                       f"- command: `{command_line()}`\n{machine_markdown()}\n"
                       f"- result: {summary}\n" + "".join(f"\n    {r.splitlines()[0]}" for r in reports[:20]))
    return min(bad, 100)


if __name__ == "__main__":
    raise SystemExit(main())
