"""A small TPC-C against gridpg and plain PostgreSQL: same answers, then consistency (opt-in; h-tpcc20).

    python bench/tpcc_check.py [--warehouses W] [--txns N] [--clients C] [--per-client M]
                               [--gridpg DSN --plain DSN] [--seed S]

Loads the same scaled-down TPC-C on both (W warehouses, 2,000 items, 30 customers per
district, 30 orders per district of which 10 undelivered; on gridpg every table
DISTRIBUTE BY HASH on its warehouse id, `item` replicated), then:

1. runs N transactions of the TPC-C mix (NewOrder 45%, Payment 43%, OrderStatus,
   Delivery, StockLevel 4% each; client-side SQL in explicit transactions, as BenchBase
   sends it; 10% of order lines and 15% of payments on a remote warehouse, 1% of NewOrders
   rolled back on an unknown item) on plain, then the same N on gridpg, and compares every
   answer and each table's md5 of its ordered rows;
2. runs C clients (home warehouse i % W + 1, over both coordinators) for M transactions
   each on gridpg and checks TPC-C's consistency conditions (clause 3.3.2, 1-4, and the
   per-order ones below) and the YTD balances against the history.

Prints what differs and every broken condition; exit 1 if any. Without --gridpg/--plain a
fresh cluster and plain server are started (bench/common.py) and stopped at the end.
Nothing is written to RESULTS.md: this is a correctness check, not a benchmark.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

ITEMS, CUSTOMERS, ORDERS = 2000, 30, 30
W_YTD, D_YTD, H_AMOUNT = 300000, 30000, 10  # initial balances: W_YTD = 10 x D_YTD
SYLLABLES = ["BAR", "OUGHT", "ABLE", "PRI", "PRES", "ESE", "ANTI", "CALLY", "ATION", "EING"]
LOADED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ENTERED = datetime.datetime(2025, 5, 5, 12, tzinfo=datetime.UTC)

TABLES = {  # name: (columns, distribution column or None for replicated, ordering key)
    "warehouse": ("w_id int PRIMARY KEY, w_name text, w_tax numeric(4,4), w_ytd numeric(16,2)", "w_id", "w_id"),
    "district": (("d_w_id int, d_id int, d_name text, d_tax numeric(4,4), d_ytd numeric(12,2), d_next_o_id int, "
                 "PRIMARY KEY (d_w_id, d_id)"), "d_w_id", "d_w_id, d_id"),
    "customer": (("c_w_id int, c_d_id int, c_id int, c_first text, c_last text, c_credit char(2), "
                 "c_discount numeric(4,4), c_balance numeric(12,2), c_ytd_payment numeric(12,2), c_payment_cnt int, "
                 "c_delivery_cnt int, c_data varchar(500), PRIMARY KEY (c_w_id, c_d_id, c_id)"), "c_w_id",
                 "c_w_id, c_d_id, c_id"),
    "history": (("h_c_id int, h_c_d_id int, h_c_w_id int, h_d_id int, h_w_id int, h_date timestamptz, "
                "h_amount numeric(6,2), h_data text"), "h_w_id", "h_w_id, h_d_id, h_c_w_id, h_c_d_id, h_c_id, h_amount"),
    "item": ("i_id int PRIMARY KEY, i_name text, i_price numeric(5,2), i_data text", None, "i_id"),
    "stock": (("s_w_id int, s_i_id int, s_quantity int, s_ytd int, s_order_cnt int, s_remote_cnt int, "
              "s_dist text, PRIMARY KEY (s_w_id, s_i_id)"), "s_w_id", "s_w_id, s_i_id"),
    "orders": (("o_w_id int, o_d_id int, o_id int, o_c_id int, o_entry_d timestamptz, o_carrier_id int, "
               "o_ol_cnt int, o_all_local int, PRIMARY KEY (o_w_id, o_d_id, o_id)"), "o_w_id", "o_w_id, o_d_id, o_id"),
    "new_order": ("no_w_id int, no_d_id int, no_o_id int, PRIMARY KEY (no_w_id, no_d_id, no_o_id)", "no_w_id",
                  "no_w_id, no_d_id, no_o_id"),
    "order_line": (("ol_w_id int, ol_d_id int, ol_o_id int, ol_number int, ol_i_id int, ol_supply_w_id int, "
                   "ol_delivery_d timestamptz, ol_quantity int, ol_amount numeric(6,2), ol_dist_info text, "
                   "PRIMARY KEY (ol_w_id, ol_d_id, ol_o_id, ol_number)"), "ol_w_id", "ol_w_id, ol_d_id, ol_o_id, ol_number"),
}

CONDITIONS = {
    "1 W_YTD = sum(D_YTD)":
        "SELECT count(*) FROM warehouse WHERE w_ytd <> (SELECT sum(d_ytd) FROM district WHERE d_w_id = w_id)",
    "2 D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID)":
        "SELECT count(*) FROM district WHERE d_next_o_id - 1 <> (SELECT max(o_id) FROM orders WHERE o_w_id = d_w_id "
        "AND o_d_id = d_id) OR d_next_o_id - 1 <> coalesce((SELECT max(no_o_id) FROM new_order WHERE no_w_id = d_w_id "
        "AND no_d_id = d_id), d_next_o_id - 1)",
    "3 count(NO) = max(NO_O_ID) - min(NO_O_ID) + 1":
        "SELECT count(*) FROM (SELECT count(*) AS n, max(no_o_id) - min(no_o_id) + 1 AS span FROM new_order "
        "GROUP BY no_w_id, no_d_id) x WHERE n <> span",
    "4 sum(O_OL_CNT) = count(OL) per district":
        "SELECT count(*) FROM (SELECT o_w_id, o_d_id, sum(o_ol_cnt) AS s FROM orders GROUP BY 1, 2) o FULL JOIN "
        "(SELECT ol_w_id, ol_d_id, count(*) AS c FROM order_line GROUP BY 1, 2) l ON o_w_id = ol_w_id "
        "AND o_d_id = ol_d_id WHERE s IS DISTINCT FROM c",
    "5 O_CARRIER_ID is null iff the order is new":
        "SELECT count(*) FROM orders WHERE (o_carrier_id IS NULL) <> EXISTS (SELECT 1 FROM new_order "
        "WHERE no_w_id = o_w_id AND no_d_id = o_d_id AND no_o_id = o_id)",
    "6 O_OL_CNT = the order's lines":
        "SELECT count(*) FROM orders WHERE o_ol_cnt <> (SELECT count(*) FROM order_line WHERE ol_w_id = o_w_id "
        "AND ol_d_id = o_d_id AND ol_o_id = o_id)",
    "7 OL_DELIVERY_D is null iff O_CARRIER_ID is":
        "SELECT count(*) FROM order_line JOIN orders ON o_w_id = ol_w_id AND o_d_id = ol_d_id AND o_id = ol_o_id "
        "WHERE (ol_delivery_d IS NULL) <> (o_carrier_id IS NULL)",
    "8 W_YTD = initial + sum(H_AMOUNT)":
        f"SELECT count(*) FROM warehouse WHERE w_ytd <> {W_YTD - 10 * CUSTOMERS * H_AMOUNT} + "
        "(SELECT coalesce(sum(h_amount), 0) FROM history WHERE h_w_id = w_id)",
    "9 D_YTD = initial + sum(H_AMOUNT)":
        f"SELECT count(*) FROM district WHERE d_ytd <> {D_YTD - CUSTOMERS * H_AMOUNT} + "
        "(SELECT coalesce(sum(h_amount), 0) FROM history WHERE h_w_id = d_w_id AND h_d_id = d_id)",
    # the run's own writes, row by row (a lost or half-committed update across nodes shows here)
    "10 S_YTD, S_ORDER_CNT, S_REMOTE_CNT = the order lines it supplied":
        "SELECT count(*) FROM stock LEFT JOIN (SELECT ol_supply_w_id, ol_i_id, sum(ol_quantity) AS q, count(*) AS n, "
        f"count(*) FILTER (WHERE ol_supply_w_id <> ol_w_id) AS r FROM order_line WHERE ol_o_id > {ORDERS} "
        "GROUP BY 1, 2) l ON ol_supply_w_id = s_w_id AND ol_i_id = s_i_id "
        "WHERE (s_ytd, s_order_cnt, s_remote_cnt) <> (coalesce(q, 0), coalesce(n, 0), coalesce(r, 0))",
    "11 C_YTD_PAYMENT, C_PAYMENT_CNT = the customer's history":
        "SELECT count(*) FROM customer JOIN (SELECT h_c_w_id, h_c_d_id, h_c_id, sum(h_amount) AS paid, count(*) AS n "
        "FROM history GROUP BY 1, 2, 3) h ON h_c_w_id = c_w_id AND h_c_d_id = c_d_id AND h_c_id = c_id "
        "WHERE (c_ytd_payment, c_payment_cnt) <> (paid, n)",
    "12 C_BALANCE, C_DELIVERY_CNT = initial - payments + deliveries":
        "SELECT count(*) FROM customer JOIN (SELECT h_c_w_id, h_c_d_id, h_c_id, sum(h_amount) AS paid "
        "FROM history GROUP BY 1, 2, 3) h ON h_c_w_id = c_w_id AND h_c_d_id = c_d_id AND h_c_id = c_id "
        "LEFT JOIN (SELECT o_w_id, o_d_id, o_c_id, count(DISTINCT o_id) AS n, sum(ol_amount) AS amount FROM orders "
        "JOIN order_line ON ol_w_id = o_w_id AND ol_d_id = o_d_id AND ol_o_id = o_id "
        f"WHERE ol_delivery_d = '{ENTERED.isoformat()}' GROUP BY 1, 2, 3) d ON o_w_id = c_w_id AND o_d_id = c_d_id "
        f"AND o_c_id = c_id WHERE c_balance <> -10 - (paid - {H_AMOUNT}) + coalesce(amount, 0) "
        "OR c_delivery_cnt <> coalesce(n, 0)",
}


class Rollback(Exception):
    """The transaction rolled back on purpose (an unknown item, as TPC-C's 1%)."""


def last_name(n: int) -> str:
    return SYLLABLES[n // 100] + SYLLABLES[(n // 10) % 10] + SYLLABLES[n % 10]


def load(dsn: str, warehouses: int, distributed: bool) -> None:
    r = random.Random(7)
    word = lambda a, b: "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(a, b)))
    rows: dict[str, list[tuple[Any, ...]]] = collections.defaultdict(list)
    for i in range(1, ITEMS + 1):
        rows["item"].append((i, word(14, 24), r.randint(100, 10000) / 100, word(26, 50)))
    for w in range(1, warehouses + 1):
        rows["warehouse"].append((w, word(6, 10), r.randint(0, 2000) / 10000, W_YTD))
        rows["stock"] += [(w, i, r.randint(10, 100), 0, 0, 0, word(24, 24)) for i in range(1, ITEMS + 1)]
        for d in range(1, 11):
            rows["district"].append((w, d, word(6, 10), r.randint(0, 2000) / 10000, D_YTD, ORDERS + 1))
            for c in range(1, CUSTOMERS + 1):
                rows["customer"].append((w, d, c, word(8, 16), last_name(c - 1 if c <= 10 else r.randint(0, 9)),
                                         "BC" if r.random() < 0.1 else "GC", r.randint(0, 5000) / 10000, -10, 10, 1,
                                         0, word(300, 500)))
                rows["history"].append((c, d, w, d, w, LOADED, H_AMOUNT, word(12, 24)))
            customers = list(range(1, CUSTOMERS + 1))
            r.shuffle(customers)
            for o in range(1, ORDERS + 1):
                lines, delivered = r.randint(5, 15), o <= ORDERS - 10
                rows["orders"].append((w, d, o, customers[o - 1], LOADED, r.randint(1, 10) if delivered else None,
                                       lines, 1))
                if not delivered:
                    rows["new_order"].append((w, d, o))
                rows["order_line"] += [(w, d, o, n, r.randint(1, ITEMS), w, LOADED if delivered else None, 5,
                                        0 if delivered else r.randint(1, 999999) / 100, word(24, 24))
                                       for n in range(1, lines + 1)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, (columns, key, _) in TABLES.items():
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            placement = "" if not distributed else " DISTRIBUTE BY REPLICATION" if key is None \
                else f" DISTRIBUTE BY HASH ({key})"
            conn.execute(f"CREATE TABLE {table} ({columns}){placement}")
            with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
            conn.execute(f"ANALYZE {table}")


def transactions(seed: int, count: int, warehouses: int, home: int | None = None) -> list[tuple[str, dict[str, Any]]]:
    r = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    other = lambda w: r.choice([v for v in range(1, warehouses + 1) if v != w]) if warehouses > 1 else w
    for _ in range(count):
        x, w = r.randint(1, 100), home or r.randint(1, warehouses)
        if x <= 45:
            lines = [(r.randint(1, ITEMS), w if r.randint(1, 100) > 10 else other(w), r.randint(1, 10))
                     for _ in range(r.randint(5, 15))]
            if r.randint(1, 100) == 1:
                lines[-1] = (ITEMS + 1, *lines[-1][1:])
            out.append(("new_order", {"w": w, "d": r.randint(1, 10), "c": r.randint(1, CUSTOMERS), "lines": lines}))
        elif x <= 88:
            d = r.randint(1, 10)
            remote = r.randint(1, 100) > 85
            out.append(("payment", {"w": w, "d": d, "cw": other(w) if remote else w,
                                    "cd": r.randint(1, 10) if remote else d, "c": r.randint(1, CUSTOMERS),
                                    "name": last_name(r.randint(0, 9)) if r.randint(1, 100) <= 60 else None,
                                    "amount": r.randint(100, 500000) / 100}))
        elif x <= 92:
            out.append(("order_status", {"w": w, "d": r.randint(1, 10), "c": r.randint(1, CUSTOMERS),
                                         "name": last_name(r.randint(0, 9)) if r.randint(1, 100) <= 60 else None}))
        elif x <= 96:
            out.append(("delivery", {"w": w, "carrier": r.randint(1, 10)}))
        else:
            out.append(("stock_level", {"w": w, "d": r.randint(1, 10), "threshold": r.randint(10, 20)}))
    return out


def run_one(conn: psycopg.Connection, kind: str, a: dict[str, Any]) -> list[Any]:
    """One transaction, in its own block; its answers (what a terminal would show)."""
    q = lambda sql, *args: conn.execute(sql, args)
    out: list[Any] = []
    with conn.transaction():
        if kind == "new_order":
            w, d = a["w"], a["d"]
            out.append(q("SELECT c_discount, c_last, c_credit, w_tax FROM customer, warehouse WHERE w_id = %s "
                         "AND c_w_id = w_id AND c_d_id = %s AND c_id = %s", w, d, a["c"]).fetchall())
            o_id = q("UPDATE district SET d_next_o_id = d_next_o_id + 1 WHERE d_w_id = %s AND d_id = %s "
                     "RETURNING d_next_o_id - 1", w, d).fetchone()[0]
            q("INSERT INTO orders VALUES (%s, %s, %s, %s, %s, NULL, %s, %s)", w, d, o_id, a["c"], ENTERED,
              len(a["lines"]), int(all(sw == w for _, sw, _ in a["lines"])))
            q("INSERT INTO new_order VALUES (%s, %s, %s)", w, d, o_id)
            for n, (i, sw, qty) in enumerate(a["lines"], 1):
                item = q("SELECT i_price FROM item WHERE i_id = %s", i).fetchone()
                if item is None:
                    raise Rollback
                s_qty, dist = q("SELECT s_quantity, s_dist FROM stock WHERE s_w_id = %s AND s_i_id = %s FOR UPDATE",
                                sw, i).fetchone()
                q("UPDATE stock SET s_quantity = %s, s_ytd = s_ytd + %s, s_order_cnt = s_order_cnt + 1, "
                  "s_remote_cnt = s_remote_cnt + %s WHERE s_w_id = %s AND s_i_id = %s",
                  s_qty - qty if s_qty - qty >= 10 else s_qty - qty + 91, qty, int(sw != w), sw, i)
                q("INSERT INTO order_line VALUES (%s, %s, %s, %s, %s, %s, NULL, %s, %s, %s)",
                  w, d, o_id, n, i, sw, qty, item[0] * qty, dist)
            out.append(o_id)
        elif kind == "payment":
            w, d, cw, cd = a["w"], a["d"], a["cw"], a["cd"]
            out.append(q("UPDATE warehouse SET w_ytd = w_ytd + %s WHERE w_id = %s RETURNING w_name", a["amount"], w)
                       .fetchone())
            out.append(q("UPDATE district SET d_ytd = d_ytd + %s WHERE d_w_id = %s AND d_id = %s RETURNING d_name",
                         a["amount"], w, d).fetchone())
            if a["name"]:
                found = q("SELECT c_id FROM customer WHERE c_w_id = %s AND c_d_id = %s AND c_last = %s "
                          "ORDER BY c_first", cw, cd, a["name"]).fetchall()
                if not found:
                    raise Rollback
                c_id = found[(len(found) - 1) // 2][0]
            else:
                c_id = a["c"]
            out.append(q("UPDATE customer SET c_balance = c_balance - %s, c_ytd_payment = c_ytd_payment + %s, "
                         "c_payment_cnt = c_payment_cnt + 1, c_data = CASE c_credit WHEN 'BC' THEN "
                         "substr(concat_ws(' ', c_id, c_d_id, c_w_id, %s, %s, %s, '|', c_data), 1, 500) ELSE c_data END "
                         "WHERE c_w_id = %s AND c_d_id = %s AND c_id = %s RETURNING c_id, c_balance, c_credit",
                         a["amount"], a["amount"], d, w, a["amount"], cw, cd, c_id).fetchone())
            q("INSERT INTO history VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", c_id, cd, cw, d, w, ENTERED,
              a["amount"], out[0][0] + "    " + out[1][0])
        elif kind == "order_status":
            w, d = a["w"], a["d"]
            if a["name"]:
                found = q("SELECT c_id, c_balance, c_first FROM customer WHERE c_w_id = %s AND c_d_id = %s "
                          "AND c_last = %s ORDER BY c_first", w, d, a["name"]).fetchall()
                customer = found[(len(found) - 1) // 2] if found else None
            else:
                customer = q("SELECT c_id, c_balance, c_first FROM customer WHERE c_w_id = %s AND c_d_id = %s "
                             "AND c_id = %s", w, d, a["c"]).fetchone()
            out.append(customer)
            if customer is not None:
                order = q("SELECT o_id, o_carrier_id FROM orders WHERE o_w_id = %s AND o_d_id = %s AND o_c_id = %s "
                          "ORDER BY o_id DESC LIMIT 1", w, d, customer[0]).fetchone()
                out.append(order)
                if order is not None:
                    out.append(q("SELECT ol_i_id, ol_supply_w_id, ol_quantity, ol_amount, ol_delivery_d IS NULL "
                                 "FROM order_line WHERE ol_w_id = %s AND ol_d_id = %s AND ol_o_id = %s "
                                 "ORDER BY ol_number", w, d, order[0]).fetchall())
        elif kind == "delivery":
            w = a["w"]
            for d in range(1, 11):
                oldest = q("SELECT min(no_o_id) FROM new_order WHERE no_w_id = %s AND no_d_id = %s", w, d).fetchone()[0]
                if oldest is None or q("DELETE FROM new_order WHERE no_w_id = %s AND no_d_id = %s AND no_o_id = %s",
                                       w, d, oldest).rowcount != 1:
                    continue
                c_id = q("UPDATE orders SET o_carrier_id = %s WHERE o_w_id = %s AND o_d_id = %s AND o_id = %s "
                         "RETURNING o_c_id", a["carrier"], w, d, oldest).fetchone()[0]
                total = q("UPDATE order_line SET ol_delivery_d = %s WHERE ol_w_id = %s AND ol_d_id = %s "
                          "AND ol_o_id = %s RETURNING ol_amount", ENTERED, w, d, oldest).fetchall()
                amount = sum(t[0] for t in total)
                q("UPDATE customer SET c_balance = c_balance + %s, c_delivery_cnt = c_delivery_cnt + 1 "
                  "WHERE c_w_id = %s AND c_d_id = %s AND c_id = %s", amount, w, d, c_id)
                out.append((d, oldest, amount))
        else:
            out.append(q("SELECT count(DISTINCT s_i_id) FROM district, order_line, stock WHERE d_w_id = %s "
                         "AND d_id = %s AND ol_w_id = d_w_id AND ol_d_id = d_id AND ol_o_id < d_next_o_id "
                         "AND ol_o_id >= d_next_o_id - 20 AND s_w_id = ol_w_id AND s_i_id = ol_i_id "
                         "AND s_quantity < %s", a["w"], a["d"], a["threshold"]).fetchone())
    return out


def run_all(dsn: str, txns: list[tuple[str, dict[str, Any]]], stats: collections.Counter[str]) -> list[Any]:
    answers: list[Any] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for kind, a in txns:
            try:
                answers.append(run_one(conn, kind, a))
                stats[f"{kind} committed"] += 1
            except Rollback:
                answers.append("rolled back")
                stats[f"{kind} rolled back"] += 1
            except psycopg.Error as exc:
                answers.append(f"{exc.sqlstate}: {str(exc).splitlines()[0]}")
                stats[f"{kind} {exc.sqlstate}"] += 1
    return answers


def table_md5s(dsn: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {t: conn.execute(f"SELECT count(*), md5(string_agg(x::text, E'\\n' ORDER BY {order})) FROM {t} x")
                .fetchone() for t, (_, _, order) in TABLES.items()}


def broken_conditions(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {name: n for name, sql in CONDITIONS.items() if (n := conn.execute(sql).fetchone()[0])}


def check(gridpg: list[str], plain: str, a: argparse.Namespace) -> int:
    failures = 0
    txns = transactions(a.seed, a.txns, a.warehouses)
    answers, md5s = {}, {}
    for name, dsn in (("plain", plain), ("gridpg", gridpg[0])):
        load(dsn, a.warehouses, distributed=name == "gridpg")
        stats: collections.Counter[str] = collections.Counter()
        t0 = time.monotonic()
        answers[name] = run_all(dsn, txns, stats)
        md5s[name] = table_md5s(dsn)
        print(f"{name}: {a.txns} transactions one after another in {time.monotonic() - t0:.1f} s: {dict(stats)}")
    for k, (p, g) in enumerate(zip(answers["plain"], answers["gridpg"])):
        if repr(p) != repr(g):
            failures += 1
            print(f"  answer {k} ({txns[k][0]} {txns[k][1]}) differs:\n    plain  {p!r}\n    gridpg {g!r}")
    for table, value in md5s["plain"].items():
        if md5s["gridpg"][table] != value:
            failures += 1
            print(f"  table {table} differs: plain {value} gridpg {md5s['gridpg'][table]}")
    print(f"sequential: {a.txns - failures if failures <= a.txns else 0} of {a.txns} answers and "
          f"{sum(md5s['gridpg'][t] == md5s['plain'][t] for t in TABLES)} of {len(TABLES)} tables the same")
    load(gridpg[0], a.warehouses, distributed=True)
    stats = collections.Counter()
    threads = [threading.Thread(target=run_all, args=(gridpg[i % len(gridpg)], transactions(
        a.seed + 1 + i, a.per_client, a.warehouses, home=i % a.warehouses + 1), stats)) for i in range(a.clients)]
    t0 = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    broken = broken_conditions(gridpg[0])
    print(f"concurrent: {a.clients} clients x {a.per_client} in {time.monotonic() - t0:.1f} s: {dict(stats)}")
    print(f"consistency conditions broken: {broken or 'none'}")
    return 1 if failures or broken else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--warehouses", type=int, default=4)
    p.add_argument("--txns", type=int, default=200)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--per-client", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gridpg", help="coordinator DSNs, comma-separated")
    p.add_argument("--plain", help="a plain PostgreSQL's DSN")
    a = p.parse_args()
    if a.gridpg and a.plain:
        return check(a.gridpg.split(","), a.plain, a)
    sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "src")]
    from bench.common import environment

    with environment() as env:
        return check([env.gridpg_dsn(0), env.gridpg_dsn(1)], env.plain_dsn, a)


if __name__ == "__main__":
    sys.exit(main())
