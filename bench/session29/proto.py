import psycopg, sys, time
dsn = sys.argv[1]; grid = sys.argv[2] == 'grid'
D = lambda s: s if grid else ""
def q(c, s, *a):
    try:
        cur = c.execute(s, *a)
        return cur.fetchall() if cur.description else cur.statusmessage
    except Exception as e: return f"ERR {e.sqlstate} {str(e).splitlines()[0]}"
a = psycopg.connect(dsn, autocommit=True); b = psycopg.connect(dsn, autocommit=True)
q(a, "DROP TABLE IF EXISTS pp, pb")
q(a, "CREATE TABLE pp (id int PRIMARY KEY, v text, n numeric, ts timestamptz, j jsonb, arr int[])" + D(" DISTRIBUTE BY HASH(id)"))
q(a, "INSERT INTO pp SELECT i, 'v'||i, i*1.5, '2024-01-01'::timestamptz + i * interval '1 hour', jsonb_build_object('i', i), ARRAY[i, i+1] FROM generate_series(1, 3000) i")
# binary copy out/in roundtrip
q(a, "CREATE TABLE pb (LIKE pp)" + D(" DISTRIBUTE BY REPLICATION"))
with a.cursor() as cur:
    with cur.copy("COPY (SELECT * FROM pp ORDER BY id) TO STDOUT (FORMAT binary)") as cp:
        data = b"".join(bytes(x) for x in cp)
    print("binary out bytes", len(data))
    with cur.copy("COPY pb FROM STDIN (FORMAT binary)") as cp:
        cp.write(data)
    print("binary in", cur.rowcount)
print(q(a, "SELECT count(*), sum(n), max(ts), sum((j->>'i')::int), sum(arr[2]) FROM pb"))
with a.cursor() as cur:
    with cur.copy("COPY pb (id, v) FROM STDIN (FORMAT binary)") as cp:
        cp.set_types(["int4", "text"])
        cp.write_row((5001, "x")); cp.write_row((5002, None))
print(q(a, "SELECT id, v, n FROM pb WHERE id > 5000 ORDER BY id"))
# error mid binary copy: nothing left
try:
    with a.cursor() as cur:
        with cur.copy("COPY pb (id, v) FROM STDIN (FORMAT binary)") as cp:
            cp.set_types(["int4", "text"])
            for i in range(6000, 6100): cp.write_row((i, "y"))
            cp.write(b"garbage")
except Exception as e: print("ERR", e.sqlstate)
print(q(a, "SELECT count(*) FROM pb WHERE id >= 6000"))
# named (server-side) cursors
with psycopg.connect(dsn) as c:
    with c.cursor("nc") as cur:
        cur.itersize = 100
        cur.execute("SELECT id, v FROM pp WHERE id % 3 = 0 ORDER BY id")
        rows = cur.fetchmany(5); print(rows)
        cur.scroll(10); print(cur.fetchone())
        print(len(cur.fetchall()))
    with c.cursor("sc", scrollable=True) as cur:
        cur.execute("SELECT id FROM pp ORDER BY id")
        cur.scroll(100, mode="absolute"); print(cur.fetchone())
        cur.scroll(-50); print(cur.fetchone())
    with c.cursor("hc", withhold=True) as cur:
        cur.execute("SELECT id, n FROM pp WHERE id < 20 ORDER BY id")
        c.commit()
        print(cur.fetchmany(3))
        c.commit()
        print(cur.fetchall()[-1])
    with c.cursor("bc", binary=True) as cur:
        cur.execute("SELECT id, v, n, ts, j, arr FROM pp WHERE id < 4 ORDER BY id")
        print(cur.fetchall())
    c.rollback()
# extended-protocol prepared statement invalidation
with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as c:
    for i in range(3): print(q(c, "SELECT * FROM pp WHERE id = %s", (i+1,)))
    q(c, "ALTER TABLE pp ADD COLUMN extra int DEFAULT 5")
    print(q(c, "SELECT * FROM pp WHERE id = %s", (1,)))
    q(c, "ALTER TABLE pp DROP COLUMN extra")
    print(q(c, "SELECT * FROM pp WHERE id = %s", (1,)))
    q(c, "ALTER TABLE pp ALTER COLUMN n TYPE float8")
    print(q(c, "SELECT n FROM pp WHERE id = %s", (2,)))
    print(q(c, "SELECT name, from_sql FROM pg_prepared_statements ORDER BY 1"))
# notifications across sessions
b.execute("LISTEN chx")
q(a, "NOTIFY chx, 'p1'")
q(a, "SELECT pg_notify('chx', 'p2')")
with a.transaction():
    q(a, "NOTIFY chx, 'p3'"); q(a, "NOTIFY chx, 'p3'")
try:
    with a.transaction():
        q(a, "NOTIFY chx, 'rolled'"); raise RuntimeError
except RuntimeError: pass
with a.transaction():
    q(a, "UPDATE pp SET v = 'n' WHERE id = 1"); q(a, "NOTIFY chx, 'p4'")
time.sleep(0.5)
b.execute("SELECT 1")
got = []
gen = b.notifies(timeout=1.0)
for n in gen: got.append((n.channel, n.payload, n.pid == a.info.backend_pid))
print(got)
