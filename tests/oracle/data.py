"""Deterministic data for the oracle corpus (``\\load <table>`` in 00_setup.sql).

Every table's rows come from its own ``random.Random`` seeded with a constant, so the
reference and the subject get byte-identical INSERT statements. Values are SQL literals.

Text columns that the corpus sorts, groups or compares with < / > hold lowercase ASCII
letters and digits only, so that the result does not depend on the collation of the
servers (C vs. a glibc/ICU locale). Mixed-case, spaces and punctuation live in ``note``
and ``msg`` columns, used only with =, LIKE, ILIKE, length(), upper(), ... .
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from functools import lru_cache

BATCH = 200

CITIES = ["oslo", "paris", "lima", "rome", "tokyo", "cairo", "delhi", "quito", "atlantis"]
NOTES = [
    "Hello World",
    "it's fine",
    "50% off",
    "a_b c",
    "UPPER case",
    "mixed Case 42",
    "  padded  ",
    "",
    "back\\slash",
    "tab\tin",
    "N/A",
]
STATUSES = ["new", "paid", "shipped", "cancelled"]
KINDS = ["click", "view", "buy"]
LEVELS = ["debug", "info", "warn", "error"]
WAREHOUSES = ["w1", "w2", "w3", "w4", "w5"]
TAGS = ["a", "b", "c", "vip", "new"]

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
D0 = dt.date(2020, 1, 1)


def q(v: object) -> str:
    """SQL literal for a Python value."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Raw):
        return v.sql
    if isinstance(v, dt.datetime):
        return "'" + v.isoformat(sep=" ") + "'"
    if isinstance(v, dt.date):
        return "'" + v.isoformat() + "'"
    s = str(v)
    if "\\" in s or "\t" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("'", "\\'")
        return "E'" + s + "'"
    return "'" + s.replace("'", "''") + "'"


class Raw:
    def __init__(self, sql: str):
        self.sql = sql


def text_array(items: list[str] | None) -> object:
    if items is None:
        return None
    return Raw("'{" + ",".join(items) + "}'")


def jsonb(v: object) -> object:
    if v is None:
        return None
    return Raw("'" + json.dumps(v, sort_keys=True).replace("'", "''") + "'::jsonb")


def every(rng: random.Random, n: int) -> bool:
    return rng.randrange(n) == 0


def _users() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1001)
    cols = ["id", "name", "email", "age", "score", "active", "city", "signup", "last_login",
            "tags", "profile", "uid", "note"]
    rows = []
    for i in range(1, 501):
        age = None if i % 9 == 0 else rng.randint(18, 80)
        score = None if i % 13 == 0 else Raw("%d.%02d" % (rng.randint(0, 999), rng.randint(0, 99)))
        active = [True, False, None][rng.randrange(3)] if i % 5 else None
        city = None if i % 17 == 0 else rng.choice(CITIES)
        signup = D0 + dt.timedelta(days=rng.randint(0, 1500))
        if i % 10 == 0:
            last = None
        else:
            last = T0 + dt.timedelta(seconds=rng.randint(0, 86400 * 400))
            if i % 7 == 0:  # written with a non-UTC offset: same instant
                last = last.astimezone(dt.timezone(dt.timedelta(hours=2)))
        tags = None if i % 11 == 0 else sorted(rng.sample(TAGS, rng.randint(0, 3)))
        profile = None if i % 8 == 0 else {
            "lvl": rng.randint(1, 5),
            "pref": {"color": rng.choice(["red", "green", "blue"])},
            "langs": rng.sample(["en", "fr", "de", "es"], rng.randint(0, 2)),
            "vip": rng.random() < 0.2,
        }
        uid = uuid.UUID(int=rng.getrandbits(128), version=4)
        note = None if i % 4 == 0 else rng.choice(NOTES)
        rows.append((i, "u%03d" % i, None if i % 11 == 3 else f"user{i}@ex{i % 7}.com", age, score,
                     active, city, signup, last, text_array(tags), jsonb(profile), str(uid), note))
    return cols, rows


def _orders() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1002)
    cols = ["order_id", "user_id", "amount", "qty", "status", "created", "weight", "note"]
    rows = []
    for i in range(1, 2501):
        # skew toward low user ids, some orphans (501..520)
        uid = int(rng.triangular(1, 520, 1))
        amount = Raw("%d.%02d" % (rng.randint(1, 5000), rng.randint(0, 99)))
        qty = None if i % 19 == 0 else rng.randint(1, 10)
        status = rng.choice(STATUSES)
        created = T0 + dt.timedelta(seconds=rng.randint(0, 86400 * 365))
        weight = None if i % 23 == 0 else Raw(repr(round(rng.uniform(0.1, 50), 3)))
        note = None if i % 3 else rng.choice(NOTES)
        rows.append((i, uid, amount, qty, status, created, weight, note))
    return cols, rows


def _events() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1003)
    cols = ["ev_id", "device", "kind", "payload", "ts", "dur", "val", "code", "flags"]
    rows = []
    for i in range(1, 1501):
        device = "d%02d" % int(rng.triangular(0, 40, 3))
        kind = None if i % 29 == 0 else rng.choice(KINDS)
        payload = None if i % 15 == 0 else {
            "k": kind,
            "n": rng.randint(0, 100),
            "ok": rng.random() < 0.5,
            "items": [rng.randint(1, 9) for _ in range(rng.randint(0, 3))],
        }
        ts = T0 + dt.timedelta(seconds=rng.randint(0, 86400 * 90), microseconds=rng.randint(0, 999999))
        dur = None if i % 12 == 0 else Raw(
            "'%d days %02d:%02d:%02d'" % (rng.randint(0, 3), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
        )
        val = None if i % 10 == 0 else Raw(repr(round(rng.uniform(-100, 100), 4)))
        code = "c%d" % rng.randint(0, 30)
        flags = None if i % 14 == 0 else Raw(
            "'{" + ",".join(rng.choice(["t", "f"]) for _ in range(rng.randint(1, 3))) + "}'"
        )
        rows.append((1_000_000_000_000 + i * 7919, device, kind, jsonb(payload), ts, dur, val, code, flags))
    return cols, rows


def _metrics() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1004)
    pool = [rng.randint(-9_000_000_000_000_000, 9_000_000_000_000_000) for _ in range(300)]
    pool += [0, 1, -1, 2**31, -(2**31) - 1, 2**62, 9_223_372_036_854_775_807, -9_223_372_036_854_775_808]
    cols = ["seq", "big_id", "m_int", "m_num", "m_small", "m_bool", "ratio", "day"]
    rows = []
    for i in range(1, 1001):
        big = rng.choice(pool)
        m_int = None if i % 16 == 0 else rng.randint(-1000, 1000)
        m_num = None if i % 21 == 0 else Raw("%d.%05d" % (rng.randint(-99999, 99999), rng.randint(0, 99999)))
        m_small = rng.randint(-300, 300)
        m_bool = None if i % 6 == 0 else rng.random() < 0.7
        ratio = None if i % 18 == 0 else Raw(repr(round(rng.uniform(0, 1), 6)))
        day = D0 + dt.timedelta(days=rng.randint(0, 800))
        rows.append((i, big, m_int, m_num, m_small, m_bool, ratio, day))
    return cols, rows


def _inventory() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1005)
    cols = ["inv_id", "item_id", "warehouse", "stock", "price", "restock"]
    rows = []
    for i in range(1, 801):
        item = rng.randint(1, 300)
        stock = None if i % 14 == 0 else rng.randint(0, 500)
        price = Raw("%d.%02d" % (rng.randint(0, 999), rng.randint(0, 99)))
        restock = None if i % 3 == 0 else D0 + dt.timedelta(days=rng.randint(0, 1000))
        rows.append((i, item, rng.choice(WAREHOUSES), stock, price, restock))
    return cols, rows


def _logs() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1006)
    cols = ["log_id", "user_id", "level", "msg", "at", "dur_ms"]
    rows = []
    for i in range(1, 1001):
        uid = None if i % 12 == 0 else rng.randint(1, 520)
        msg = rng.choice(NOTES + ["user login", "user logout", "Timeout after 30s", "disk 90% full"])
        at = T0 + dt.timedelta(seconds=rng.randint(0, 86400 * 30))
        dur = None if i % 9 == 0 else rng.randint(0, 5000)
        rows.append((i, uid, rng.choice(LEVELS), msg, at, dur))
    return cols, rows


def _countries() -> tuple[list[str], list[tuple]]:
    cols = ["code", "cname", "region", "population"]
    rows = [
        ("no", "norway", "europe", 5_500_000),
        ("fr", "france", "europe", 68_000_000),
        ("pe", "peru", "americas", 34_000_000),
        ("it", "italy", "europe", 59_000_000),
        ("jp", "japan", "asia", 125_000_000),
        ("eg", "egypt", "africa", 110_000_000),
        ("in", "india", "asia", 1_420_000_000),
        ("ec", "ecuador", "americas", 18_000_000),
        ("is", "iceland", "europe", 380_000),
        ("nz", "newzealand", "oceania", None),
    ]
    return cols, rows


def _cities() -> tuple[list[str], list[tuple]]:
    cols = ["city", "country_code", "pop", "coastal"]
    rows = [
        ("oslo", "no", 700_000, True),
        ("bergen", "no", 290_000, True),
        ("paris", "fr", 2_100_000, False),
        ("lima", "pe", 10_000_000, True),
        ("rome", "it", 2_800_000, False),
        ("tokyo", "jp", 14_000_000, True),
        ("cairo", "eg", 10_000_000, None),
        ("delhi", "in", 33_000_000, False),
        ("quito", "ec", 2_800_000, False),
        ("reykjavik", "is", 140_000, True),
        ("nowhere", "xx", None, None),
    ]
    return cols, rows


def _skewed() -> tuple[list[str], list[tuple]]:
    rng = random.Random(1007)
    cols = ["sk_id", "k", "v", "s"]
    rows = []
    for i in range(1, 1201):
        k = 7 if rng.random() < 0.9 else rng.randint(1, 50)
        v = None if i % 25 == 0 else rng.randint(0, 99)
        rows.append((i, k, v, rng.choice(["x", "y", "z"])))
    return cols, rows


GENERATORS = {
    "users": _users,
    "orders": _orders,
    "events": _events,
    "metrics": _metrics,
    "inventory": _inventory,
    "logs": _logs,
    "countries": _countries,
    "cities": _cities,
    "skewed": _skewed,
}


@lru_cache(maxsize=None)
def rows_for(table: str) -> tuple[list[str], list[tuple]]:
    if table not in GENERATORS:
        raise KeyError(f"no data generator for table {table!r}")
    return GENERATORS[table]()


def insert_batches(table: str, cols: list[str], rows: list[tuple]) -> list[str]:
    out = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        values = ",\n".join("(" + ", ".join(q(v) for v in r) + ")" for r in chunk)
        out.append(f"INSERT INTO {table} ({', '.join(cols)}) VALUES\n{values}")
    return out
