"""psycopg2 as its users drive it: execute_values and execute_batch, copy_expert both
ways, named (server-side) cursors with itersize, RealDictCursor and NamedTupleCursor,
Json and array adaptation, savepoints, LISTEN/NOTIFY with poll(), errors' pgcode."""

from __future__ import annotations

import io
import select
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import psycopg2
import psycopg2.extensions
import psycopg2.extras
from _common import args, check, out, with_search_path

uri, schema = args()
conn = psycopg2.connect(with_search_path(uri, schema))
cur = conn.cursor()

cur.execute("""
    CREATE TABLE account (id serial PRIMARY KEY, email text NOT NULL UNIQUE, balance numeric(12,2) DEFAULT 0,
                          tags text[], meta jsonb, created timestamptz DEFAULT '2024-01-01 00:00+00')""")
cur.execute("""
    CREATE TABLE event (id bigserial PRIMARY KEY, account_id int REFERENCES account (id), kind text,
                        amount numeric(10,2), at timestamptz)""")
conn.commit()

rows = [(f"u{i}@x.org", Decimal(i) * 10, [f"t{i % 3}", "all"], psycopg2.extras.Json({"n": i, "odd": i % 2 == 1}))
        for i in range(1, 41)]
ids = psycopg2.extras.execute_values(
    cur, "INSERT INTO account (email, balance, tags, meta) VALUES %s RETURNING id, email", rows,
    page_size=15, fetch=True)
out("execute_values returning", sorted(ids))
conn.commit()

psycopg2.extras.execute_batch(
    cur, "INSERT INTO event (account_id, kind, amount, at) VALUES (%s, %s, %s, %s)",
    [(1 + i % 40, ["buy", "sell", "fee"][i % 3], Decimal(i) / 4, f"2024-02-{1 + i % 28:02d} 10:00+00")
     for i in range(200)], page_size=50)
conn.commit()

psycopg2.extras.execute_values(
    cur, """INSERT INTO account (email, balance) VALUES %s
            ON CONFLICT (email) DO UPDATE SET balance = account.balance + EXCLUDED.balance""",
    [("u1@x.org", 5), ("u2@x.org", 7), ("new@x.org", 1)], template="(%s, %s)")
conn.commit()
cur.execute("SELECT email, balance FROM account WHERE email IN ('u1@x.org', 'u2@x.org', 'new@x.org') ORDER BY email")
out("upsert via execute_values", cur.fetchall())

# UPDATE ... FROM (VALUES %s): the bulk update idiom of execute_values' documentation.
psycopg2.extras.execute_values(
    cur, """UPDATE account AS a SET balance = v.b FROM (VALUES %s) AS v(id, b) WHERE a.id = v.id""",
    [(3, Decimal("3.33")), (4, Decimal("4.44")), (39, Decimal("39.39"))], template="(%s, %s::numeric)")
out("bulk update rowcount", cur.rowcount)
conn.commit()
cur.execute("SELECT id, balance FROM account WHERE id IN (3, 4, 39) ORDER BY id")
out("bulk update", cur.fetchall())

dcur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
dcur.execute("SELECT id, email, tags, meta, created FROM account WHERE id <= %(n)s ORDER BY id", {"n": 3})
out("RealDictCursor", dcur.fetchall())
ncur = conn.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor)
ncur.execute("SELECT kind, count(*) AS n, sum(amount) AS total FROM event GROUP BY kind ORDER BY kind")
out("NamedTupleCursor", [r._asdict() for r in ncur.fetchall()])

# Named cursor: DECLARE ... CURSOR WITHOUT HOLD in the transaction, FETCH FORWARD itersize.
named = conn.cursor("big_scan")
named.itersize = 17
named.execute("SELECT e.id, a.email, e.amount FROM event e JOIN account a ON a.id = e.account_id ORDER BY e.id")
seen = [r for r in named]
out("named cursor", [len(seen), seen[0], seen[-1], sum(r[2] for r in seen)])
named.close()
conn.commit()

held = conn.cursor("held", withhold=True)
held.execute("SELECT id, kind FROM event WHERE amount > %s ORDER BY id", (40,))
first = held.fetchmany(5)
conn.commit()
rest = held.fetchall()
out("withhold cursor across commit", [first, len(rest), rest[-1]])
held.close()

scroll = conn.cursor("scrolly", scrollable=True)
scroll.execute("SELECT id FROM account ORDER BY id")
scroll.fetchmany(10)
scroll.scroll(2, mode="absolute")
out("scroll absolute", scroll.fetchone())
scroll.scroll(-1)
out("scroll relative", scroll.fetchone())
scroll.close()
conn.commit()

buf = io.StringIO()
cur.copy_expert("COPY (SELECT id, email, balance, tags, meta FROM account ORDER BY id) TO STDOUT WITH CSV HEADER", buf)
text = buf.getvalue()
out("copy_expert out", [len(text.splitlines()), text.splitlines()[:3]])
cur.execute("CREATE TABLE account_copy (LIKE account INCLUDING DEFAULTS)")
cur.copy_expert("COPY account_copy (id, email, balance, tags, meta) FROM STDIN WITH CSV HEADER", io.StringIO(text))
conn.commit()
cur.execute("SELECT count(*), sum(balance), count(DISTINCT meta) FROM account_copy")
out("copy_expert in", cur.fetchone())
cur.copy_from(io.StringIO("900\tcf@x.org\t1.50\n901\tcg@x.org\t2.50\n"), "account_copy", columns=("id", "email", "balance"))
buf = io.StringIO()
cur.copy_to(buf, "account_copy", columns=("id", "email"))
out("copy_from / copy_to", sorted(buf.getvalue().splitlines())[-3:])
conn.commit()

cur.execute("SELECT a.email, array_agg(e.kind ORDER BY e.id) FILTER (WHERE e.amount > 45) FROM account a "
            "JOIN event e ON e.account_id = a.id GROUP BY a.email HAVING count(*) > 4 ORDER BY a.email LIMIT 3")
out("array_agg filter", cur.fetchall())
cur.execute("SELECT id FROM account WHERE id = ANY(%s) ORDER BY id", ([5, 6, 7, 100],))
out("ANY(list)", cur.fetchall())
cur.execute("SELECT id FROM account WHERE tags @> %s AND meta @> %s ORDER BY id",
            (["t1"], psycopg2.extras.Json({"odd": True})))
out("array and jsonb containment", cur.fetchall())
cur.execute("SELECT %s::date, %s::interval, %s::uuid", ("2024-02-29", "1 day 2 hours", "12345678-1234-5678-1234-567812345678"))
out("adapted values", cur.fetchone())
conn.commit()

# Savepoints by hand, as psycopg2 users (and SQLAlchemy's begin_nested) write them.
cur.execute("UPDATE account SET balance = balance - 1 WHERE id = 1")
cur.execute("SAVEPOINT sp1")
try:
    cur.execute("INSERT INTO account (email) VALUES ('u1@x.org')")
except psycopg2.Error as e:
    out("unique violation pgcode", [e.pgcode, e.diag.constraint_name, e.diag.table_name])
    cur.execute("ROLLBACK TO SAVEPOINT sp1")
cur.execute("INSERT INTO event (account_id, kind, amount) VALUES (1, 'after', 1) RETURNING account_id, kind")
out("after rollback to savepoint", cur.fetchone())
conn.commit()
cur.execute("SELECT balance FROM account WHERE id = 1")
out("savepoint commit", cur.fetchone())

try:
    cur.execute("INSERT INTO event (account_id, kind) VALUES (9999, 'orphan')")
except psycopg2.Error as e:
    out("fk violation", [e.pgcode, e.diag.constraint_name])
conn.rollback()
try:
    cur.execute("SELECT 1/0 FROM account WHERE id = 1")
except psycopg2.Error as e:
    out("division by zero", e.pgcode)
conn.rollback()

# LISTEN / NOTIFY with poll(), the documented asynchronous-notification loop.
listener = psycopg2.connect(with_search_path(uri, schema))
listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
listener.cursor().execute("LISTEN account_changed")
cur.execute("UPDATE account SET balance = 0 WHERE id = 2")
cur.execute("SELECT pg_notify('account_changed', 'id=2')")
cur.execute("NOTIFY account_changed, 'id=3'")
conn.commit()
got = []
for _ in range(20):
    if select.select([listener], [], [], 0.5) != ([], [], []):
        listener.poll()
        while listener.notifies:
            got.append(listener.notifies.pop(0).payload)
    if len(got) >= 2:
        break
out("notifies", got)
listener.close()

conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
cur.execute("SELECT count(*) FROM event")
out("readonly repeatable read", cur.fetchone())
check("write in read only", lambda: cur.execute("DELETE FROM event"))
conn.rollback()
conn.set_session(isolation_level="READ COMMITTED", readonly=False)
conn.autocommit = True
cur.execute("SELECT count(*), sum(amount) FROM event")
out("totals", cur.fetchone())
conn.close()
