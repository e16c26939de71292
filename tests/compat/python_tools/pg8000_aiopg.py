"""pg8000 (pure-Python driver: its own parameter types, unnamed prepared statements, COPY
through file objects, native and DB-API interfaces) and aiopg (psycopg2 in asynchronous
mode) as their users drive them: DDL, parameters of every Python type as the driver
types them, keys of several types, upserts with RETURNING, transactions and errors,
server-side cursors, COPY in and out."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import sys
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import aiopg
import pg8000.dbapi
import pg8000.native
from _common import args, check, out, parts

uri, schema = args()
p = parts(uri)

con = pg8000.native.Connection(p["user"], host=p["host"], port=p["port"], password=p["password"],
                               database=p["database"])
con.run(f"SET search_path TO {schema}")
con.run("CREATE TABLE item (id bigint PRIMARY KEY, code text, price numeric(10,2), at timestamptz, day date, "
        "ok boolean, blob bytea, u uuid, tags text[], doc jsonb, f float8, iv interval)")
con.run("CREATE TABLE by_text (k text PRIMARY KEY, n int)")
con.run("CREATE TABLE by_uuid (k uuid PRIMARY KEY, n int)")
con.run("CREATE TABLE by_date (k date PRIMARY KEY, n int)")
for i in range(1, 31):
    con.run("INSERT INTO item VALUES (:id, :code, :price, :at, :day, :ok, :blob, :u, :tags, :doc, :f, :iv)",
            id=i, code=f"c{i}", price=Decimal(i) / 4, at=dt.datetime(2024, 3, i % 28 + 1, 12, tzinfo=dt.UTC),
            day=dt.date(2024, 1, i), ok=i % 2 == 0, blob=bytes([i, 0, 255]), u=uuid.UUID(int=i),
            tags=[f"t{i % 3}"], doc={"i": i, "even": i % 2 == 0}, f=i / 3, iv=dt.timedelta(hours=i))
    con.run("INSERT INTO by_text VALUES (:k, :n)", k=f"key{i}", n=i)
    con.run("INSERT INTO by_uuid VALUES (:k, :n)", k=uuid.UUID(int=i * 977), n=i)
    con.run("INSERT INTO by_date VALUES (:k, :n)", k=dt.date(2024, 2, 1) + dt.timedelta(days=i), n=i)
out("point by int", con.run("SELECT code, price, day, ok, blob, u, tags, doc, iv FROM item WHERE id = :id", id=7))
out("point by text", con.run("SELECT n FROM by_text WHERE k = :k", k="key13"))
out("point by uuid", con.run("SELECT n FROM by_uuid WHERE k = :k", k=uuid.UUID(int=13 * 977)))
out("point by date", con.run("SELECT n FROM by_date WHERE k = :k", k=dt.date(2024, 2, 14)))
out("point by timestamp param on date key", con.run("SELECT n FROM by_date WHERE k = :k::date", k="2024-02-15"))
out("in list", con.run("SELECT id FROM item WHERE id = ANY(:ids) ORDER BY id", ids=[3, 5, 99]))
out("text any", con.run("SELECT n FROM by_text WHERE k = ANY(:ks) ORDER BY n", ks=["key1", "key30", "nope"]))
out("update returning", con.run("UPDATE item SET price = price * :m WHERE id <= :n RETURNING id, price", m=2, n=3))
out("upsert", con.run("INSERT INTO by_text VALUES (:k, :n) ON CONFLICT (k) DO UPDATE SET n = by_text.n + EXCLUDED.n "
                      "RETURNING k, n", k="key2", n=100))
out("aggregates", con.run("SELECT count(*), sum(price), avg(f)::numeric(10,6), min(at), max(iv), bool_and(ok), "
                          "string_agg(code, ',' ORDER BY id) FROM item WHERE day < :d", d=dt.date(2024, 1, 11)))
out("param types", con.run("SELECT :a::int + 1, :b || 'x', :c::numeric * 2, :d::timestamptz, :e::jsonb -> 'k'",
                           a=41, b="s", c=Decimal("1.5"), d=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                           e={"k": [1, 2]}))
ps = con.prepare("SELECT code FROM item WHERE id = :id")
out("prepared", [ps.run(id=i) for i in (1, 2, 30)])
ps.close()
con.run("START TRANSACTION")
con.run("DELETE FROM item WHERE id > 25")
con.run("ROLLBACK")
out("rollback", con.run("SELECT count(*) FROM item"))
try:
    con.run("INSERT INTO by_text VALUES ('key1', 1)")
except pg8000.native.DatabaseError as e:
    out("unique error", e.args[0]["C"])
# COPY: pg8000 sends it with Parse/Bind/Execute like every statement
buf = io.StringIO()
con.run("COPY (SELECT id, code, price FROM item ORDER BY id) TO STDOUT WITH (FORMAT csv)", stream=buf)
out("copy query out", [con.row_count, buf.getvalue().splitlines()[:3]])
con.run("CREATE TABLE item2 (id bigint PRIMARY KEY, code text, price numeric(10,2))")
con.run("COPY item2 FROM STDIN WITH (FORMAT csv)", stream=io.StringIO(buf.getvalue()))
out("copy in", [con.row_count, con.run("SELECT count(*), sum(price) FROM item2")])
buf = io.StringIO()
con.run("COPY item2 (code, id) TO STDOUT", stream=buf)
out("copy table out", [con.row_count, sorted(buf.getvalue().splitlines())[:3]])
try:
    con.run("COPY item2 FROM STDIN", stream=io.StringIO("500\tx\t1\n1\tdup\t2\n"))
except pg8000.native.DatabaseError as e:
    out("copy error", e.args[0]["C"])
out("after copy error", con.run("SELECT count(*) FROM item2"))
con.close()

# DB-API: paramstyle format, executemany, cursor.description
dcon = pg8000.dbapi.connect(p["user"], host=p["host"], port=p["port"], password=p["password"], database=p["database"])
cur = dcon.cursor()
cur.execute(f"SET search_path TO {schema}")
cur.executemany("INSERT INTO by_text (k, n) VALUES (%s, %s)", [(f"m{i}", i) for i in range(20)])
dcon.commit()
cur.execute("SELECT k, n FROM by_text WHERE k LIKE %s ORDER BY n DESC LIMIT 3", ("m%",))
out("dbapi", [cur.fetchall(), [d[0] for d in cur.description]])
cur.execute("SELECT count(*) FROM by_text")
out("dbapi count", cur.fetchone())
dcon.close()


async def run_aiopg() -> None:
    dsn = f"dbname={p['database']} user={p['user']} password={p['password']} host={p['host']} port={p['port']} " \
          f"options='-csearch_path={schema}'"
    async with aiopg.create_pool(dsn, minsize=1, maxsize=3) as pool:
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("SELECT id, code FROM item WHERE id = %s", (9,))
            out("aiopg point", await cur.fetchall())
            await cur.execute("BEGIN")
            await cur.execute("UPDATE by_text SET n = n + 1 WHERE k IN %s RETURNING k, n", (("key1", "key2"),))
            out("aiopg update", sorted(await cur.fetchall()))
            await cur.execute("SAVEPOINT a")
            try:
                await cur.execute("INSERT INTO by_text VALUES ('key3', 3)")
            except Exception as e:  # noqa: BLE001
                out("aiopg error", e.pgcode)
                await cur.execute("ROLLBACK TO SAVEPOINT a")
            await cur.execute("COMMIT")
            await cur.execute("SELECT n FROM by_text WHERE k IN ('key1', 'key2') ORDER BY k")
            out("aiopg committed", await cur.fetchall())

        async def one(i: int) -> list:
            async with pool.acquire() as conn, conn.cursor() as cur:
                await cur.execute("SELECT count(*), sum(id) FROM item WHERE id %% 3 = %s", (i,))
                return await cur.fetchall()

        out("aiopg concurrent", await asyncio.gather(*(one(i) for i in range(3))))


asyncio.run(run_aiopg())
check("done", lambda: True)
