"""Well-known benchmark query sets on gridpg against plain PostgreSQL: answers, not speed.

    python bench/bench_queries.py ssb       [--layout keys|default] [--queries 1,5] [--no-record]
    python bench/bench_queries.py tpcds     [--source DIR] ...
    python bench/bench_queries.py clickbench [--source DIR] ...
    python bench/bench_queries.py all ...

Every suite loads small deterministic data (a few thousand rows per table, made here by a
seeded generator with skew, NULLs and edge values) into a fresh gridpg cluster (2
coordinators, 2 datanode groups) and into one plain PostgreSQL from the same binaries
(`common.environment()`), runs each query on both and compares the rows (`tpch.compare`:
in order when the query ends in ORDER BY, else as multisets; numbers within 1e-9
relative). A query whose rows differ without an error is a silent wrong answer.

- ssb: the Star Schema Benchmark's 13 queries (written out below, with the usual
  substitution values) over lineorder/customer/supplier/part/dates.
- tpcds: TPC-DS's 99 queries with concrete substitution values, PostgreSQL-runnable, and
  the tables' DDL, read from a directory holding `queries/NN.sql` and `schema/<table>.sql`
  (`--source`; by default they are taken at run time from a local git mirror of
  neondatabase-labs/pg_tpcds, `src/tpcds/`, into /tmp; they are not copied into this
  repository).
- tpcds-stream: the same tables with the 99 queries as dsqgen writes them for PostgreSQL
  (one stream, other substitution values, the original templates' syntax; `date + 30
  days`, which PostgreSQL refuses, is written `date + interval '30 days'`; what plain
  PostgreSQL still refuses, gridpg must refuse with the same error), from
  `tpcds_query/query_0.sql` under `--source` (default: a local mirror of binbjz/tpcds_pg).
- clickbench: ClickBench's `hits` table and its 43 queries in the PostgreSQL dialect
  (`create.sql`, `queries.sql` under `--source`; by default from a local mirror of
  ClickHouse/ClickBench, `postgresql/`, into /tmp).
- job: the Join Order Benchmark's 113 queries over the IMDB schema (`schema.sql`,
  `1a.sql` ... under `--source`; by default from a local mirror of
  gregrahn/join-order-benchmark into /tmp), on generated rows (not IMDB's).

The data generator fills each column from its name and type: keys `*_sk` point into the
dimension they name (with a few dangling and NULL references), literals the queries compare
a column with (`col = 'TN'`, `col IN (...)`, `BETWEEN`) are drawn often so that the
filters select rows, the rest is random with skew (a few hot values), NULLs in nullable
columns, and edge values (empty strings, zero, negative numbers, long strings).

`--layout keys` distributes as a user would (fact tables by their main key, small
dimensions replicated, large ones by their keys); `--layout default` creates the tables
without a distribution clause (gridpg's default); `--layout spread` hashes every table by
its second column (a nullable foreign key, a text id, a skewed small number: no join is
colocated, rows with NULL keys sit on one node); `--layout all` runs the three.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import re
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Env, fenced, log  # noqa: E402
from tpch import (Outcome, compare, explain_strategy, has_order_by, rows_equal, run_with_timeout,  # noqa: E402
                  without_comments)

MIRRORS = Path("/work/.mirror")


# -- schema and data -------------------------------------------------------------------


@dataclass
class Column:
    name: str
    type: str  # lower-case SQL type as written
    nullable: bool = True


@dataclass
class Table:
    name: str
    columns: list[Column]
    rows: int
    distribution: str = ""  # DISTRIBUTE BY clause for --layout keys ("" = default)
    key: str = ""  # the table's own surrogate key column (1..rows), if any
    data: list[tuple[Any, ...]] = field(default_factory=list)

    def ddl(self, layout: str) -> str:
        cols = ", ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns)
        dist = f" DISTRIBUTE BY {self.distribution}" if layout == "keys" and self.distribution else ""
        if layout == "spread":  # by the second column: often NULL, skewed or text, never the key
            dist = f" DISTRIBUTE BY HASH ({self.columns[min(1, len(self.columns) - 1)].name})"
        return f"CREATE TABLE {self.name} ({cols}){dist}"


def parse_ddl(text: str) -> list[tuple[str, list[Column]]]:
    """`create table name( col type [not null], ... [primary key (...)] );` statements."""
    out = []
    for match in re.finditer(r"create\s+table\s+(\w+)\s*\((.*?)\)\s*;", text, re.IGNORECASE | re.DOTALL):
        name, body = match.group(1).lower(), match.group(2)
        columns = []
        for part in re.split(r",(?![^()]*\))", body):
            part = " ".join(part.split())
            if not part or re.match(r"(primary|unique|constraint|foreign)\b", part, re.IGNORECASE):
                continue
            words = part.split(" ", 1)
            rest = words[1] if len(words) > 1 else "text"
            nullable = not re.search(r"\bnot\s+null\b", rest, re.IGNORECASE)
            rest = re.sub(r"\b(not\s+null|null|primary\s+key)\b", "", rest, flags=re.IGNORECASE).strip()
            columns.append(Column(words[0].lower(), rest.lower(), nullable))
        out.append((name, columns))
    return out


@dataclass
class Domains:
    """Literals the queries compare each column with (lower-case column name -> values)."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    patterns: dict[str, list[str]] = field(default_factory=dict)  # LIKE patterns

    def add(self, column: str, value: Any) -> None:
        bucket = self.values.setdefault(column.lower(), [])
        if value not in bucket:
            bucket.append(value)

    @classmethod
    def harvest(cls, texts: list[str]) -> Domains:
        dom = cls()
        literal = r"(?:'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?))"
        for text in texts:
            for m in re.finditer(r"(\w+)\s*(?:=|<>|!=|>=|<=|>|<)\s*(?:date\s+|cast\s*\(\s*)?" + literal, text,
                                 re.IGNORECASE):
                dom.add(m.group(1), _lit(m.group(2), m.group(3)))
            for m in re.finditer(r"(\w+)\s+(?:not\s+)?in\s*\(([^()]*)\)", text, re.IGNORECASE):
                for lm in re.finditer(literal, m.group(2)):
                    dom.add(m.group(1), _lit(lm.group(1), lm.group(2)))
            for m in re.finditer(r"(\w+)\s+between\s+(?:cast\s*\(\s*)?" + literal + r".{0,40}?\s+and\s+(?:cast\s*\(\s*)?"
                                 + literal, text, re.IGNORECASE | re.DOTALL):
                dom.add(m.group(1), _lit(m.group(2), m.group(3)))
                dom.add(m.group(1), _lit(m.group(4), m.group(5)))
            for m in re.finditer(r"(\w+)\s+(?:not\s+)?i?like\s+'((?:[^']|'')*)'", text, re.IGNORECASE):
                bucket = dom.patterns.setdefault(m.group(1).lower(), [])
                if m.group(2) not in bucket:
                    bucket.append(m.group(2).replace("''", "'"))
        return dom


def _lit(text: str | None, number: str | None) -> Any:
    if text is not None:
        return text.replace("''", "'")
    assert number is not None
    return Decimal(number) if "." in number else int(number)


WORDS = ["able", "ought", "pri", "ese", "anti", "cally", "ation", "eing", "bar", "n st", "Main", "Oak",
         "Elm", "Hill", "Lake", "Park", "Sunset", "Cedar", "Maple", "Pine", "Wilson", "Smith", "Ann",
         "Bob", "Zoë", "O'Brien", "", " ", "x" * 30]


class Generator:
    """Deterministic values for one schema: keys, literals the queries use, skew, NULLs."""

    def __init__(self, seed: int, domains: Domains, sizes: dict[str, int],
                 fk_suffixes: dict[str, str], null_rate: float = 0.04) -> None:
        self.rng = random.Random(seed)
        self.domains = domains
        self.sizes = sizes  # dimension table -> number of rows (keys 1..n)
        self.fk_suffixes = fk_suffixes  # column-name suffix -> dimension table
        self.null_rate = null_rate
        self.date_keys: list[int] = []
        self.keys: dict[str, list[int]] = {}  # dimension -> its keys, when they are not 1..n

    def skewed(self, n: int) -> int:
        """1..n, about a third of the picks among the first few values."""
        if self.rng.random() < 0.35:
            return self.rng.randint(1, min(n, 3))
        return self.rng.randint(1, n)

    def value(self, table: Table, col: Column, row: int) -> Any:
        rng = self.rng
        name = col.name
        if name == table.key:
            return row + 1
        dim = self.foreign(name, table.name)
        if dim is not None:
            if col.nullable and rng.random() < self.null_rate:
                return None
            if dim == "date_dim" and self.date_keys:
                return self.date_keys[int(len(self.date_keys) * rng.random() ** 1.3) % len(self.date_keys)]
            if dim in self.keys:
                keys = self.keys[dim]
                return keys[self.skewed(len(keys)) - 1]
            n = self.sizes.get(dim, 100)
            return n + 5 if rng.random() < 0.01 else self.skewed(n)  # a few dangling references
        if col.nullable and rng.random() < self.null_rate:
            return None
        known = self.domains.values.get(name)
        if known and table.rows <= 150:  # a small dimension: every literal the queries use, in turn
            return self.coerce(col, known[row % len(known)], row)
        if known and rng.random() < 0.6:
            return self.coerce(col, rng.choice(known), row)
        patterns = self.domains.patterns.get(name)
        if patterns and rng.random() < 0.5:
            text = "".join(rng.choice(["", "a", "Ab ", "(x) "]) if ch == "%" else "x" if ch == "_" else ch
                           for ch in rng.choice(patterns))
            return self.coerce(col, text, row)
        return self.random_of(col, row, known)

    def foreign(self, name: str, table: str) -> str | None:
        for suffix, dim in self.fk_suffixes.items():
            if name.endswith(suffix) and dim != table:
                return dim
        return None

    def coerce(self, col: Column, value: Any, row: int) -> Any:
        t = col.type
        try:
            if t.startswith(("int", "smallint", "bigint")):
                return int(value)
            if t.startswith(("dec", "numeric")):
                return Decimal(str(value))
            if t.startswith("date"):
                return dt.date.fromisoformat(str(value)[:10])
            if t.startswith("timestamp"):
                return dt.datetime.fromisoformat(str(value))
        except (ValueError, ArithmeticError):
            return self.random_of(col, row, None)
        if t.startswith(("char", "varchar", "character")):
            width = _width(t)
            return str(value)[:width] if width else str(value)
        return value

    def random_of(self, col: Column, row: int, known: list[Any] | None) -> Any:
        rng, t = self.rng, col.type
        if t.startswith(("smallint",)):
            return rng.choice([0, 0, 1, 2, 3, -1, 32767]) if rng.random() < 0.3 else rng.randint(0, 60)
        if t.startswith(("int", "bigint")):
            if known and all(isinstance(k, int) for k in known):
                lo, hi = min(known), max(known)
                return rng.randint(lo - 2, hi + 2)
            return rng.choice([0, 1, -1]) if rng.random() < 0.05 else self.skewed(100)
        if t.startswith(("dec", "numeric")):
            scale = _scale(t)
            if rng.random() < 0.03:
                return Decimal(rng.choice(["0", "-1.5", "0.01", _largest(t)]))
            return Decimal(rng.randint(0, 30000)) / 100 if scale else Decimal(rng.randint(0, 300))
        if t.startswith("date"):
            return dt.date(1998, 1, 1) + dt.timedelta(days=rng.randint(0, 2000))
        if t.startswith("timestamp"):
            return dt.datetime(2013, 7, 1) + dt.timedelta(seconds=rng.randint(0, 40 * 86400))
        if t.startswith(("bool",)):
            return rng.random() < 0.5
        width = _width(t)
        text = rng.choice(WORDS) + (f" {row % 17}" if rng.random() < 0.5 else "")
        if known and rng.random() < 0.3:  # near misses of the literals the queries use
            text = str(rng.choice(known)) + "x"
        return text[:width] if width else text


def _width(t: str) -> int:
    m = re.search(r"\((\d+)\)", t)
    if m:
        return int(m.group(1))
    return 1 if re.fullmatch(r"char(acter)?", t) else 0


def _largest(t: str) -> str:
    """The largest value a numeric(p, s) column holds (an edge value)."""
    m = re.search(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)", t)
    precision, scale = (int(m.group(1)), int(m.group(2))) if m else (9, 2)
    return "9" * (precision - scale) + ("." + "9" * scale if scale else "")


def _scale(t: str) -> int:
    m = re.search(r"\(\s*\d+\s*,\s*(\d+)\s*\)", t)
    return int(m.group(1)) if m else 0


def fill(table: Table, gen: Generator, special: Any = None) -> None:
    """table.data: `rows` tuples; `special(rng, row)` gives a dict of columns set otherwise."""
    for row in range(table.rows):
        fixed = special(gen.rng, row) if special else {}
        table.data.append(tuple(fixed[c.name] if c.name in fixed else gen.value(table, c, row)
                                for c in table.columns))


# -- Star Schema Benchmark -------------------------------------------------------------

SSB_DDL = """
create table dates (d_datekey int not null, d_date varchar(18), d_dayofweek varchar(9), d_month varchar(9),
  d_year int not null, d_yearmonthnum int, d_yearmonth varchar(7), d_daynuminweek int, d_daynuminmonth int,
  d_daynuminyear int, d_monthnuminyear int, d_weeknuminyear int, d_sellingseason varchar(12),
  d_lastdayinweekfl boolean, d_lastdayinmonthfl boolean, d_holidayfl boolean, d_weekdayfl boolean);
create table customer (c_custkey int not null, c_name varchar(25), c_address varchar(25), c_city varchar(10),
  c_nation varchar(15), c_region varchar(12), c_phone varchar(15), c_mktsegment varchar(10));
create table supplier (s_suppkey int not null, s_name varchar(25), s_address varchar(25), s_city varchar(10),
  s_nation varchar(15), s_region varchar(12), s_phone varchar(15));
create table part (p_partkey int not null, p_name varchar(22), p_mfgr varchar(6), p_category varchar(7),
  p_brand1 varchar(9), p_color varchar(11), p_type varchar(25), p_size int, p_container varchar(10));
create table lineorder (lo_orderkey int not null, lo_linenumber int not null, lo_custkey int, lo_partkey int,
  lo_suppkey int, lo_orderdate int, lo_orderpriority varchar(15), lo_shippriority int, lo_quantity int,
  lo_extendedprice numeric(12,2), lo_ordtotalprice numeric(12,2), lo_discount int, lo_revenue numeric(12,2),
  lo_supplycost numeric(12,2), lo_tax int, lo_commitdate int, lo_shipmode varchar(10));
"""

_SSB_JOIN3 = "from lineorder, dates where lo_orderdate = d_datekey and "
SSB_QUERIES = {
    "1.1": "select sum(lo_extendedprice * lo_discount) as revenue " + _SSB_JOIN3
    + "d_year = 1993 and lo_discount between 1 and 3 and lo_quantity < 25",
    "1.2": "select sum(lo_extendedprice * lo_discount) as revenue " + _SSB_JOIN3
    + "d_yearmonthnum = 199401 and lo_discount between 4 and 6 and lo_quantity between 26 and 35",
    "1.3": "select sum(lo_extendedprice * lo_discount) as revenue " + _SSB_JOIN3
    + "d_weeknuminyear = 6 and d_year = 1994 and lo_discount between 5 and 7 and lo_quantity between 26 and 35",
    "2.1": "select sum(lo_revenue), d_year, p_brand1 from lineorder, dates, part, supplier "
    "where lo_orderdate = d_datekey and lo_partkey = p_partkey and lo_suppkey = s_suppkey "
    "and p_category = 'MFGR#12' and s_region = 'AMERICA' group by d_year, p_brand1 order by d_year, p_brand1",
    "2.2": "select sum(lo_revenue), d_year, p_brand1 from lineorder, dates, part, supplier "
    "where lo_orderdate = d_datekey and lo_partkey = p_partkey and lo_suppkey = s_suppkey "
    "and p_brand1 between 'MFGR#2221' and 'MFGR#2228' and s_region = 'ASIA' "
    "group by d_year, p_brand1 order by d_year, p_brand1",
    "2.3": "select sum(lo_revenue), d_year, p_brand1 from lineorder, dates, part, supplier "
    "where lo_orderdate = d_datekey and lo_partkey = p_partkey and lo_suppkey = s_suppkey "
    "and p_brand1 = 'MFGR#2239' and s_region = 'EUROPE' group by d_year, p_brand1 order by d_year, p_brand1",
    "3.1": "select c_nation, s_nation, d_year, sum(lo_revenue) as revenue from customer, lineorder, supplier, dates "
    "where lo_custkey = c_custkey and lo_suppkey = s_suppkey and lo_orderdate = d_datekey "
    "and c_region = 'ASIA' and s_region = 'ASIA' and d_year >= 1992 and d_year <= 1997 "
    "group by c_nation, s_nation, d_year order by d_year asc, revenue desc, c_nation, s_nation",
    "3.2": "select c_city, s_city, d_year, sum(lo_revenue) as revenue from customer, lineorder, supplier, dates "
    "where lo_custkey = c_custkey and lo_suppkey = s_suppkey and lo_orderdate = d_datekey "
    "and c_nation = 'UNITED STATES' and s_nation = 'UNITED STATES' and d_year >= 1992 and d_year <= 1997 "
    "group by c_city, s_city, d_year order by d_year asc, revenue desc, c_city, s_city",
    "3.3": "select c_city, s_city, d_year, sum(lo_revenue) as revenue from customer, lineorder, supplier, dates "
    "where lo_custkey = c_custkey and lo_suppkey = s_suppkey and lo_orderdate = d_datekey "
    "and (c_city = 'UNITED KI1' or c_city = 'UNITED KI5') and (s_city = 'UNITED KI1' or s_city = 'UNITED KI5') "
    "and d_year >= 1992 and d_year <= 1997 group by c_city, s_city, d_year "
    "order by d_year asc, revenue desc, c_city, s_city",
    "3.4": "select c_city, s_city, d_year, sum(lo_revenue) as revenue from customer, lineorder, supplier, dates "
    "where lo_custkey = c_custkey and lo_suppkey = s_suppkey and lo_orderdate = d_datekey "
    "and (c_city = 'UNITED KI1' or c_city = 'UNITED KI5') and (s_city = 'UNITED KI1' or s_city = 'UNITED KI5') "
    "and d_yearmonth = 'Dec1997' group by c_city, s_city, d_year order by d_year asc, revenue desc, c_city, s_city",
    "4.1": "select d_year, c_nation, sum(lo_revenue - lo_supplycost) as profit "
    "from dates, customer, supplier, part, lineorder where lo_custkey = c_custkey and lo_suppkey = s_suppkey "
    "and lo_partkey = p_partkey and lo_orderdate = d_datekey and c_region = 'AMERICA' and s_region = 'AMERICA' "
    "and (p_mfgr = 'MFGR#1' or p_mfgr = 'MFGR#2') group by d_year, c_nation order by d_year, c_nation",
    "4.2": "select d_year, s_nation, p_category, sum(lo_revenue - lo_supplycost) as profit "
    "from dates, customer, supplier, part, lineorder where lo_custkey = c_custkey and lo_suppkey = s_suppkey "
    "and lo_partkey = p_partkey and lo_orderdate = d_datekey and c_region = 'AMERICA' and s_region = 'AMERICA' "
    "and (d_year = 1997 or d_year = 1998) and (p_mfgr = 'MFGR#1' or p_mfgr = 'MFGR#2') "
    "group by d_year, s_nation, p_category order by d_year, s_nation, p_category",
    "4.3": "select d_year, s_city, p_brand1, sum(lo_revenue - lo_supplycost) as profit "
    "from dates, customer, supplier, part, lineorder where lo_custkey = c_custkey and lo_suppkey = s_suppkey "
    "and lo_partkey = p_partkey and lo_orderdate = d_datekey and s_nation = 'UNITED STATES' "
    "and (d_year = 1997 or d_year = 1998) and p_category = 'MFGR#14' "
    "group by d_year, s_city, p_brand1 order by d_year, s_city, p_brand1",
}

NATIONS = [("ALGERIA", "AFRICA"), ("ARGENTINA", "AMERICA"), ("BRAZIL", "AMERICA"), ("CANADA", "AMERICA"),
           ("EGYPT", "MIDDLE EAST"), ("ETHIOPIA", "AFRICA"), ("FRANCE", "EUROPE"), ("GERMANY", "EUROPE"),
           ("INDIA", "ASIA"), ("INDONESIA", "ASIA"), ("IRAN", "MIDDLE EAST"), ("IRAQ", "MIDDLE EAST"),
           ("JAPAN", "ASIA"), ("JORDAN", "MIDDLE EAST"), ("KENYA", "AFRICA"), ("MOROCCO", "AFRICA"),
           ("MOZAMBIQUE", "AFRICA"), ("PERU", "AMERICA"), ("CHINA", "ASIA"), ("ROMANIA", "EUROPE"),
           ("SAUDI ARABIA", "MIDDLE EAST"), ("VIETNAM", "ASIA"), ("RUSSIA", "EUROPE"),
           ("UNITED KINGDOM", "EUROPE"), ("UNITED STATES", "AMERICA")]


def _ssb_place(rng: random.Random, prefix: str) -> dict[str, Any]:
    # skew: a quarter of the rows in the two nations the queries name most
    nation, region = (rng.choice(NATIONS[-2:]) if rng.random() < 0.25 else rng.choice(NATIONS))
    return {f"{prefix}_city": f"{nation[:9]:<9}{rng.randint(0, 9)}", f"{prefix}_nation": nation,
            f"{prefix}_region": region}


def ssb_tables() -> tuple[list[Table], dict[str, str]]:
    parsed = dict(parse_ddl(SSB_DDL))
    dist = {"dates": "REPLICATION", "customer": "HASH (c_custkey)", "supplier": "REPLICATION",
            "part": "HASH (p_partkey)", "lineorder": "HASH (lo_orderkey)"}
    sizes = {"dates": 0, "customer": 600, "supplier": 80, "part": 800, "lineorder": 6000}
    days = [dt.date(1992, 1, 1) + dt.timedelta(days=i) for i in range((dt.date(1998, 12, 31) - dt.date(1992, 1, 1)).days + 1)]
    sizes["dates"] = len(days)
    tables = {name: Table(name, parsed[name], sizes[name], dist[name], parsed[name][0].name) for name in parsed}
    gen = Generator(20260, Domains.harvest(list(SSB_QUERIES.values())), sizes,
                    {"_custkey": "customer", "_partkey": "part", "_suppkey": "supplier"})
    datekeys = [int(d.strftime("%Y%m%d")) for d in days]

    def date_row(rng: random.Random, i: int) -> dict[str, Any]:
        d = days[i]
        return {"d_datekey": datekeys[i], "d_date": d.strftime("%B %d, %Y"), "d_dayofweek": d.strftime("%A"),
                "d_month": d.strftime("%B"), "d_year": d.year, "d_yearmonthnum": d.year * 100 + d.month,
                "d_yearmonth": d.strftime("%b%Y"), "d_daynuminweek": d.isoweekday() % 7 + 1,
                "d_daynuminmonth": d.day, "d_daynuminyear": d.timetuple().tm_yday, "d_monthnuminyear": d.month,
                "d_weeknuminyear": (d.timetuple().tm_yday - 1) // 7 + 1,
                "d_sellingseason": ["Winter", "Spring", "Summer", "Fall", "Christmas"][min(4, (d.month - 1) // 3 + (d.month == 12))],
                "d_lastdayinweekfl": d.isoweekday() == 6, "d_lastdayinmonthfl": (d + dt.timedelta(days=1)).day == 1,
                "d_holidayfl": (d.month, d.day) in ((1, 1), (7, 4), (12, 25)), "d_weekdayfl": d.isoweekday() < 6}

    def part_row(rng: random.Random, i: int) -> dict[str, Any]:
        m = 1 + (0 if rng.random() < 0.3 else rng.randint(0, 4))
        c = rng.randint(1, 5)
        b = rng.randint(1, 40)
        if rng.random() < 0.2:  # the brands the queries name
            m, c, b = 2, 2, rng.choice([21, 24, 28, 39, 40])
        return {"p_mfgr": f"MFGR#{m}", "p_category": f"MFGR#{m}{c}", "p_brand1": f"MFGR#{m}{c}{b:02d}"}

    def lineorder_row(rng: random.Random, i: int) -> dict[str, Any]:
        price = Decimal(rng.randint(90000, 10000000)) / 100
        disc = rng.randint(0, 10)
        return {"lo_orderkey": i // 4 + 1, "lo_linenumber": i % 4 + 1,
                "lo_orderdate": datekeys[int(len(datekeys) * rng.random() ** 0.8) % len(datekeys)],
                "lo_commitdate": rng.choice(datekeys), "lo_quantity": rng.randint(1, 50),
                "lo_extendedprice": price, "lo_discount": None if rng.random() < 0.01 else disc,
                "lo_revenue": (price * (100 - disc) / 100).quantize(Decimal("0.01")),
                "lo_supplycost": Decimal(rng.randint(10000, 1000000)) / 100, "lo_tax": rng.randint(0, 8)}

    fill(tables["dates"], gen, date_row)
    fill(tables["customer"], gen, lambda rng, i: _ssb_place(rng, "c"))
    fill(tables["supplier"], gen, lambda rng, i: _ssb_place(rng, "s"))
    fill(tables["part"], gen, part_row)
    fill(tables["lineorder"], gen, lineorder_row)
    return list(tables.values()), {f"Q{k}": v for k, v in SSB_QUERIES.items()}


# -- TPC-DS ------------------------------------------------------------------------------

TPCDS_SIZES = {"date_dim": 0, "time_dim": 1440, "item": 300, "customer": 500, "customer_address": 300,
               "customer_demographics": 400, "household_demographics": 100, "income_band": 20, "store": 12,
               "promotion": 30, "warehouse": 5, "web_site": 6, "web_page": 20, "call_center": 6,
               "catalog_page": 100, "ship_mode": 20, "reason": 10, "store_sales": 12000, "store_returns": 2400,
               "catalog_sales": 6000, "catalog_returns": 1200, "web_sales": 5000, "web_returns": 1000,
               "inventory": 5000}
TPCDS_FK = {"_date_sk": "date_dim", "_time_sk": "time_dim", "_item_sk": "item", "_customer_sk": "customer",
            "_cdemo_sk": "customer_demographics", "_hdemo_sk": "household_demographics",
            "_addr_sk": "customer_address", "_store_sk": "store", "_promo_sk": "promotion",
            "_warehouse_sk": "warehouse", "_web_site_sk": "web_site", "_site_sk": "web_site",
            "_web_page_sk": "web_page", "_page_sk": "web_page", "_call_center_sk": "call_center",
            "_catalog_page_sk": "catalog_page", "_ship_mode_sk": "ship_mode", "_reason_sk": "reason",
            "_income_band_sk": "income_band"}
TPCDS_FACTS = {"store_sales": "ss_item_sk", "store_returns": "sr_item_sk", "catalog_sales": "cs_item_sk",
               "catalog_returns": "cr_item_sk", "web_sales": "ws_item_sk", "web_returns": "wr_item_sk",
               "inventory": "inv_item_sk"}
TPCDS_HASHED_DIMS = {"customer", "customer_address", "customer_demographics", "item"}


def fetch_source(suite: str, source: str | None) -> Path:
    """The directory with the suite's query texts, taken out of a local git mirror into /tmp."""
    if source:
        return Path(source)
    repo, sub = {"tpcds": ("neondatabase-labs+pg_tpcds", "src/tpcds"),
                 "clickbench": ("ClickHouse+ClickBench", "postgresql"),
                 "job": ("gregrahn+join-order-benchmark", ""),
                 "tpcds-stream": ("binbjz+tpcds_pg", "tpcds_query")}[suite]
    git_dir = MIRRORS / repo / "repo"
    out = Path(f"/tmp/gridpg-queries-{suite}")
    sub_dir = out / sub if sub else out
    if not (out / ".done").exists():
        if not git_dir.exists():
            raise SystemExit(f"no query texts for {suite}: pass --source DIR (a checkout's {sub}/)")
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "HEAD", *([sub] if sub else [])],
                                 capture_output=True, check=True).stdout
        strip = []  # the files keep their paths below the repository
        subprocess.run(["tar", "-x", "-C", str(out), *strip], input=archive, check=True)
        (out / ".done").write_text("")
    return sub_dir.parent if suite == "tpcds-stream" else sub_dir


def tpcds_stream(source: Path) -> dict[str, str]:
    """dsqgen's stream 0 for PostgreSQL (`query_0.sql`): 99 statements, named after their templates."""
    text = (source / "tpcds_query" / "query_0.sql").read_text()
    out = {}
    for m in re.finditer(r"-- start query \d+ in stream \d+ using template query(\d+)\.tpl\n(.*?)"
                         r"-- end query", text, re.DOTALL):
        # `date + 30 days` (what the templates write) becomes `date + interval '30 days'`
        body = re.sub(r"([+-])\s*(\d+)\s+days\b", r"\1 interval '\2 days'", m.group(2))
        statements = [st.strip() for st in body.split(";") if st.strip()]
        for i, st in enumerate(statements):  # templates 14, 23, 24, 39 hold two statements
            out[f"t{int(m.group(1)):02d}{'ab'[i] if len(statements) > 1 else ''}"] = st
    return dict(sorted(out.items()))


def tpcds_tables(source: Path, queries: dict[str, str] | None = None) -> tuple[list[Table], dict[str, str]]:
    if queries is None:
        queries = {f"q{int(p.stem):02d}": p.read_text() for p in sorted((source / "queries").glob("*.sql"))}
    parsed = dict(parse_ddl("\n".join(p.read_text().rstrip().rstrip(";") + ";"
                                      for p in sorted((source / "schema").glob("*.sql")))))
    days = [dt.date(1998, 1, 1) + dt.timedelta(days=i) for i in range(6 * 365 + 2)]
    sizes = dict(TPCDS_SIZES, date_dim=len(days))
    tables = {}
    for name, cols in parsed.items():
        if name in TPCDS_FACTS:
            dist, key = f"HASH ({TPCDS_FACTS[name]})", ""
        elif name in TPCDS_HASHED_DIMS:
            dist, key = f"HASH ({cols[0].name})", cols[0].name
        else:
            dist, key = "REPLICATION", cols[0].name
        tables[name] = Table(name, cols, sizes.get(name, 50), dist, key)
    gen = Generator(19980101, Domains.harvest(list(queries.values())), sizes, TPCDS_FK)
    first_sk = 2450815  # 1998-01-01, as dsdgen numbers its days
    gen.date_keys = [first_sk + i for i in range(5 * 365)]
    gen.keys["time_dim"] = [i * 60 for i in range(sizes["time_dim"])]

    def date_row(rng: random.Random, i: int) -> dict[str, Any]:
        d = days[i]
        moy_seq = (d.year - 1900) * 12 + d.month - 1
        week_seq = (d - dt.date(1900, 1, 1)).days // 7 + 1
        return {"d_date_sk": first_sk + i, "d_date_id": f"AAAAAAAA{i:08d}", "d_date": d, "d_month_seq": moy_seq,
                "d_week_seq": week_seq, "d_quarter_seq": (d.year - 1900) * 4 + (d.month - 1) // 3 + 1,
                "d_year": d.year, "d_dow": d.isoweekday() % 7, "d_moy": d.month, "d_dom": d.day,
                "d_qoy": (d.month - 1) // 3 + 1, "d_fy_year": d.year, "d_fy_quarter_seq": (d.year - 1900) * 4 + 1,
                "d_fy_week_seq": week_seq, "d_day_name": d.strftime("%A"),
                "d_quarter_name": f"{d.year}Q{(d.month - 1) // 3 + 1}", "d_holiday": "N", "d_weekend":
                "Y" if d.isoweekday() >= 6 else "N", "d_following_holiday": "N",
                "d_first_dom": first_sk + i - d.day + 1, "d_last_dom": first_sk + i + 3,
                "d_same_day_ly": first_sk + i - 365, "d_same_day_lq": first_sk + i - 91,
                "d_current_day": "N", "d_current_week": "N", "d_current_month": "N",
                "d_current_quarter": "N", "d_current_year": "N"}

    def time_row(rng: random.Random, i: int) -> dict[str, Any]:
        hour = i // 60
        meal = "breakfast" if 6 <= hour < 9 else "lunch" if 11 <= hour < 14 else "dinner" if 17 <= hour < 20 else None
        return {"t_time_sk": i * 60, "t_time_id": f"AAAAAAAA{i:08d}", "t_time": i * 60, "t_hour": hour,
                "t_minute": i % 60, "t_second": 0, "t_am_pm": "AM" if hour < 12 else "PM",
                "t_shift": ["third", "first", "second"][hour // 8], "t_sub_shift": "night", "t_meal_time": meal}

    def ident(prefix: str) -> Any:
        # items and stores keep two versions of one business id, as dsdgen's history does
        halve = prefix in ("i_item", "s_store")
        return lambda rng, i: {f"{prefix}_id": f"AAAAAAAA{i // 2 if halve else i:08d}"}

    ids = {"item": "i_item", "customer": "c_customer", "store": "s_store", "web_site": "web_site",
           "call_center": "cc_call_center", "catalog_page": "cp_catalog_page", "warehouse": "w_warehouse",
           "promotion": "p_promo", "web_page": "wp_web_page", "customer_address": "ca_address",
           "reason": "r_reason", "ship_mode": "sm_ship_mode"}
    fill(tables["date_dim"], gen, date_row)
    fill(tables["time_dim"], gen, time_row)
    for name, table in tables.items():
        if name in ("date_dim", "time_dim") or name in TPCDS_FACTS:
            continue
        fill(table, gen, ident(ids[name]) if name in ids else None)

    def sales(prefix: str, order: str) -> Any:
        return lambda rng, i: {f"{prefix}_{order}": i // 3 + 1,
                               f"{prefix}_quantity": rng.randint(1, 100) if rng.random() > 0.03 else None}

    fill(tables["store_sales"], gen, sales("ss", "ticket_number"))
    fill(tables["catalog_sales"], gen, sales("cs", "order_number"))
    fill(tables["web_sales"], gen, sales("ws", "order_number"))

    def returns_of(sales_table: str, pairs: dict[str, str]) -> Any:
        source_cols = [c.name for c in tables[sales_table].columns]
        rows = tables[sales_table].data

        def row(rng: random.Random, i: int) -> dict[str, Any]:
            sale = dict(zip(source_cols, rows[rng.randrange(len(rows))]))
            return {ret: sale[col] for ret, col in pairs.items()}
        return row

    fill(tables["store_returns"], gen, returns_of("store_sales", {
        "sr_item_sk": "ss_item_sk", "sr_ticket_number": "ss_ticket_number", "sr_customer_sk": "ss_customer_sk"}))
    fill(tables["catalog_returns"], gen, returns_of("catalog_sales", {
        "cr_item_sk": "cs_item_sk", "cr_order_number": "cs_order_number",
        "cr_refunded_customer_sk": "cs_bill_customer_sk", "cr_returning_customer_sk": "cs_bill_customer_sk"}))
    fill(tables["web_returns"], gen, returns_of("web_sales", {
        "wr_item_sk": "ws_item_sk", "wr_order_number": "ws_order_number",
        "wr_refunded_customer_sk": "ws_bill_customer_sk", "wr_returning_customer_sk": "ws_bill_customer_sk"}))
    fill(tables["inventory"], gen, None)
    return list(tables.values()), queries


# -- ClickBench --------------------------------------------------------------------------


def clickbench_tables(source: Path) -> tuple[list[Table], dict[str, str]]:
    text = (source / "queries.sql").read_text()
    queries = {f"q{i:02d}": q.strip() for i, q in enumerate((s for s in text.split(";\n") if s.strip()), 1)}
    ddl = re.sub(r",\s*\)\s*;", ");", (source / "create.sql").read_text())  # a trailing comma in some versions
    (name, cols), = parse_ddl(ddl)
    table = Table(name, cols, 5000, "HASH (userid)", "")
    gen = Generator(20130701, Domains.harvest(list(queries.values())), {}, {})
    urls = ["http://www.google.com/search?q=x", "https://mail.google.ru/", "http://yandex.ru/page/1",
            "https://example.com/", "http://www.google.de/maps", "", "http://news.ru/a/b/c"]
    phrases = ["", "", "", "weather", "купить", "google", "cheap flights", "O'Brien", "x" * 60]

    def hit(rng: random.Random, i: int) -> dict[str, Any]:
        t = dt.datetime(2013, 7, 1) + dt.timedelta(seconds=int(40 * 86400 * rng.random() ** 1.5))
        return {"watchid": rng.randint(-2**62, 2**62), "userid": rng.choice([435090932899640449, 1, -7])
                if rng.random() < 0.2 else rng.randint(0, 300) * 1000003,
                "counterid": 62 if rng.random() < 0.6 else rng.randint(1, 100), "eventtime": t,
                "eventdate": t.date(), "clienteventtime": t, "localeventtime": t,
                "url": rng.choice(urls) + (str(rng.randint(0, 20)) if rng.random() < 0.5 else ""),
                "title": rng.choice(["Google", "My Google page", "Яндекс", "", "news"]),
                "referer": rng.choice(urls), "searchphrase": rng.choice(phrases),
                "mobilephonemodel": rng.choice(["", "", "iPad", "iPhone", "Galaxy"]),
                "clientip": rng.randint(-2**31, 2**31 - 1) if rng.random() < 0.5 else rng.randint(0, 30),
                "regionid": rng.randint(0, 30), "isrefresh": rng.randint(0, 1), "dontcounthits": rng.randint(0, 1),
                "islink": rng.randint(0, 1), "isdownload": rng.randint(0, 1),
                "traficsourceid": rng.choice([-1, 6, 0, 1, 2]), "searchengineid": rng.choice([0, 0, 2, 3]),
                "advengineid": rng.choice([0, 0, 0, 2, 7]), "urlhash": rng.choice([2868770270353813622, 5, -9]),
                "refererhash": rng.choice([3594120000172545465, 11]), "resolutionwidth": rng.randint(0, 2000),
                "windowclientwidth": rng.randint(0, 50), "windowclientheight": rng.randint(0, 50),
                "hitcolor": rng.choice("DFE")}

    fill(table, gen, hit)
    return [table], queries


# -- running ---------------------------------------------------------------------------

JOB_SIZES = {"title": 2000, "name": 2000, "cast_info": 6000, "movie_info": 5000, "movie_info_idx": 3000,
             "movie_companies": 4000, "movie_keyword": 5000, "keyword": 500, "company_name": 500,
             "char_name": 1000, "aka_name": 1000, "aka_title": 500, "complete_cast": 500, "movie_link": 500,
             "person_info": 2000, "kind_type": 7, "info_type": 113, "company_type": 4, "role_type": 12,
             "link_type": 18, "comp_cast_type": 4}
JOB_FK = {"person_role_id": "char_name", "movie_id": "title", "episode_of_id": "title", "person_id": "name",
          "company_type_id": "company_type", "company_id": "company_name", "info_type_id": "info_type",
          "keyword_id": "keyword", "kind_id": "kind_type", "role_id": "role_type", "link_type_id": "link_type",
          "subject_id": "comp_cast_type", "status_id": "comp_cast_type"}


def job_tables(source: Path) -> tuple[list[Table], dict[str, str]]:
    queries = {p.stem: p.read_text() for p in sorted(source.glob("*.sql"), key=_job_order)
               if re.fullmatch(r"\d+[a-z]", p.stem)}
    parsed = parse_ddl((source / "schema.sql").read_text())
    tables = []
    for name, cols in parsed:
        movie = next((c.name for c in cols if c.name == "movie_id"), None)
        person = next((c.name for c in cols if c.name == "person_id"), None)
        rows = JOB_SIZES.get(name, 200)
        dist = (f"HASH ({movie})" if movie else f"HASH ({person})" if person
                else "REPLICATION" if rows <= 150 else "HASH (id)")
        tables.append(Table(name, cols, rows, dist, "id"))
    gen = Generator(2015, Domains.harvest(list(queries.values())), JOB_SIZES, JOB_FK)
    for table in tables:
        fill(table, gen)
    return tables, queries


def _job_order(path: Path) -> tuple[int, str]:
    m = re.match(r"(\d+)(\w*)", path.stem)
    return (int(m.group(1)), m.group(2)) if m else (10**6, path.stem)


SUITES = {"ssb": lambda src: ssb_tables(), "tpcds": lambda src: tpcds_tables(fetch_source("tpcds", src)),
          "clickbench": lambda src: clickbench_tables(fetch_source("clickbench", src)),
          "job": lambda src: job_tables(fetch_source("job", src)),
          "tpcds-stream": lambda src: tpcds_tables(fetch_source("tpcds", None),
                                                   tpcds_stream(fetch_source("tpcds-stream", src)))}


def load(dsn: str, tables: list[Table], layout: str | None) -> None:
    """Create and fill the tables (`layout` None: plain PostgreSQL, no distribution clause)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(table.ddl(layout or "plain"))
            with conn.cursor() as cur, cur.copy(f"COPY {table.name} FROM STDIN") as copy:
                for row in table.data:
                    copy.write_row(row)
        for table in tables:
            conn.execute(f"ANALYZE {table.name}")


@dataclass
class Result:
    name: str
    plain: Outcome
    grid: Outcome
    verdict: str  # yes / no / no (error) / no (timeout) / n/a (plain failed)
    strategy: str = ""


def run_grid(dsn: str, sql: str, timeout: float, repeat: int) -> Outcome:
    """The query on gridpg; with `repeat` > 1 run that often on one connection as a prepared
    statement (the extended protocol's second Bind/Execute), the first differing outcome kept."""
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            if repeat <= 1:
                return run_with_timeout(conn, sql, timeout)
            first: Outcome | None = None
            for n in range(repeat):
                t0 = time.monotonic()
                try:
                    got = Outcome(time.monotonic() - t0, [tuple(r) for r in conn.execute(sql, prepare=True).fetchall()])
                except Exception as exc:  # noqa: BLE001 - recorded
                    got = Outcome(error=f"{type(exc).__name__}: run {n + 1}: {str(exc).strip().splitlines()[0]}")
                if got.error or first is None:
                    first = first if first is not None and not got.error else got
                    if got.error:
                        return got
                elif sorted(map(repr, got.rows or [])) != sorted(map(repr, first.rows or [])):
                    return got
            return first or Outcome(error="no run")
    except Exception as exc:  # noqa: BLE001 - a lost connection is an outcome too
        return Outcome(error=f"{type(exc).__name__}: {exc}")


def run_suite(env: Env, queries: dict[str, str], timeout: float, repeat: int = 1) -> list[Result]:
    import psycopg

    out = []
    with psycopg.connect(env.plain_dsn, autocommit=True) as plain_conn:
        for name, sql in queries.items():
            plain = run_with_timeout(plain_conn, sql, timeout)
            grid = run_grid(env.gridpg_dsn(0), sql, timeout * 3, repeat)
            if plain.error and plain.error.startswith("timeout"):
                out.append(Result(name, plain, grid, "n/a (plain failed)"))
                continue
            if plain.error:
                # PostgreSQL refuses it: gridpg must refuse it too, with the same error
                same = grid.error is not None and grid.error.split(":")[0] == plain.error.split(":")[0]
                verdict = "yes (same error)" if same else "no (error)" if grid.error else "no"
                log(f"{name}: plain failed: {plain.error}; gridpg: {grid.error or 'rows'}: {verdict}")
                out.append(Result(name, plain, grid, verdict))
                continue
            verdict = compare(plain, grid, has_order_by(sql))
            if verdict == "no" and has_order_by(sql) and compare(plain, grid, False) == "yes":
                verdict = "yes (ties ordered differently)"
            if verdict == "no" and within_unlimited(plain_conn, sql, grid, timeout):
                verdict = "yes (LIMIT picks other rows among ties)"
            strategy = explain_strategy(env.gridpg_dsn(0), sql, timeout) if verdict != "yes" else ""
            log(f"{name}: {verdict} rows={len(plain.rows or [])} {grid.error or ''} {strategy}")
            out.append(Result(name, plain, grid, verdict, strategy))
    return out


LIMIT_TAIL = re.compile(r"\blimit\s+\d+(\s+offset\s+\d+)?\s*;?\s*$", re.IGNORECASE)


def within_unlimited(conn: Any, sql: str, grid: Outcome, timeout: float) -> bool:
    """Whether gridpg's rows, as many as plain's, all belong to the query's answer without its
    final LIMIT (on plain PostgreSQL): then the LIMIT chose among rows its ORDER BY does not
    order (or there is no ORDER BY), and both answers are PostgreSQL's. The tied sort key is
    not checked here; the report lists these queries apart."""
    body = without_comments(sql).strip().rstrip(";")
    if grid.rows is None or not LIMIT_TAIL.search(body):
        return False
    full = run_with_timeout(conn, LIMIT_TAIL.sub("", body), timeout)
    if full.rows is None:
        return False
    pool = sorted(full.rows, key=repr)
    for row in sorted(grid.rows, key=repr):
        match = next((i for i, cand in enumerate(pool) if rows_equal(cand, row)), None)
        if match is None:
            return False
        pool.pop(match)
    return True


def summary(results: list[Result]) -> dict[str, int]:
    counts = {"queries": len(results), "agree": 0, "differ": 0, "error": 0, "timeout": 0, "plain failed": 0}
    for r in results:
        if r.verdict.startswith("yes"):
            counts["agree"] += 1
        elif r.verdict == "no":
            counts["differ"] += 1
        elif "timeout" in r.verdict:
            counts["timeout"] += 1
        elif "error" in r.verdict:
            counts["error"] += 1
        else:
            counts["plain failed"] += 1
    return counts


def report(suite: str, layout: str, results: list[Result], tables: list[Table]) -> str:
    counts = summary(results)
    lines = [f"### {suite}, layout `{layout}`", "",
             "tables: " + ", ".join(f"{t.name} {len(t.data)} rows"
                                    + (f" ({t.distribution})" if layout == "keys" and t.distribution else "")
                                    for t in tables), "",
             "totals: " + ", ".join(f"{k} {v}" for k, v in counts.items()), ""]
    bad = [r for r in results if not r.verdict.startswith("yes")]
    if bad:
        lines += ["| query | verdict | plain rows | gridpg | plan (EXPLAIN) |", "|---|---|---|---|---|"]
        for r in bad:
            grid = r.grid.error or f"{len(r.grid.rows or [])} rows"
            plain = r.plain.error or f"{len(r.plain.rows or [])}"
            lines.append(f"| {r.name} | {r.verdict} | {plain} | {grid.replace('|', '/')[:160]} | "
                         f"{r.strategy.replace('|', '/')[:200]} |")
    for kind in ("ties ordered differently", "LIMIT picks other rows among ties", "same error"):
        names = [r.name for r in results if r.verdict == f"yes ({kind})"]
        if names:
            lines += ["", f"agree, {kind}: {', '.join(names)}"]
    empty = [r.name for r in results if r.plain.rows == []]
    if empty:
        lines += ["", f"queries with no rows on plain PostgreSQL (compared, but weak): {', '.join(empty)}"]
    return "\n".join(lines)


@dataclass
class Running:
    """Servers already running (--gridpg-dsn/--plain-dsn), with the Env attributes used here."""

    grid: str
    plain_dsn: str

    def gridpg_dsn(self, coordinator: int = 0) -> str:
        return self.grid

    def coord_log_tail(self) -> str:
        return "(servers given on the command line: see their logs)"


@contextlib.contextmanager
def servers(args: argparse.Namespace) -> Iterator[Any]:
    if not args.gridpg_dsn:
        with common.environment(keep=args.keep) as env:
            yield env
        return
    import psycopg

    running = Running(args.gridpg_dsn, args.plain_dsn)
    for dsn in (running.plain_dsn, running.grid):  # a clean slate: the tables of an earlier run go
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
    yield running


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=[*SUITES, "all"])
    parser.add_argument("--layout", choices=["keys", "default", "spread", "all"], default="keys")
    parser.add_argument("--source", default=None, help="directory with the suite's query texts")
    parser.add_argument("--queries", default="", help="comma-separated query names (default: all)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per query on plain (x3 gridpg)")
    parser.add_argument("--repeat", type=int, default=1, help="run each query this often on one gridpg "
                        "connection as a prepared statement (extended protocol), each answer compared")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--gridpg-dsn", default="", help="use this running gridpg (with --plain-dsn) "
                        "instead of starting both; the tables are dropped and made again")
    parser.add_argument("--plain-dsn", default="")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    layouts = ["keys", "default", "spread"] if args.layout == "all" else [args.layout]
    info = common.machine_info()
    sections = []
    worst = 0
    for suite in suites:
        tables, queries = SUITES[suite](args.source)
        wanted = {q.strip() for q in args.queries.split(",") if q.strip()}
        if wanted:
            queries = {k: v for k, v in queries.items() if k in wanted}
        for layout in layouts:
            with servers(args) as env:
                try:
                    load(env.plain_dsn, tables, None)
                    load(env.gridpg_dsn(0), tables, layout)
                    results = run_suite(env, queries, args.timeout, args.repeat)
                except Exception:  # noqa: BLE001 - a failed run is recorded as a failure
                    text = traceback.format_exc()
                    log(text)
                    sections.append(f"### {suite}, layout `{layout}`: FAILED\n\n{fenced(text)}\n\n"
                                    f"coordinator log tail:\n{fenced(env.coord_log_tail())}")
                    worst = max(worst, 1)
                    continue
            sections.append(report(suite, layout, results, tables))
            counts = summary(results)
            if counts["differ"] or counts["error"]:
                worst = max(worst, 2)
    command = re.sub(r"(://[^:/@]+):[^@/]+@", r"\1:***@", common.command_line())  # no passwords
    body = "\n".join([f"- command: `{command}`", common.machine_markdown(info).rstrip(), "",
                      *(s + "\n" for s in sections)])
    print(body)
    if not args.no_record:
        common.append_results(f"benchmark query sets ({', '.join(suites)}): gridpg answers vs plain PostgreSQL",
                              body)
    return worst


if __name__ == "__main__":
    sys.exit(main())
