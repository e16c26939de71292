import psycopg, sys
dsn = sys.argv[1]
a = psycopg.connect(dsn, autocommit=True); b = psycopg.connect(dsn, autocommit=True)
def q(c, s):
    try: return c.execute(s).fetchall()
    except Exception as e: return f"ERR {e.sqlstate} {e}"
for i in range(1, 6):
    print(i, q(a, f"SELECT pg_try_advisory_lock(k) FROM al2 WHERE id = {i}"), q(b, f"SELECT pg_try_advisory_lock({i})"),
          q(a, f"SELECT count(*) FROM pg_locks WHERE locktype='advisory' and objid={i}"), q(a, f"SELECT pg_advisory_unlock({i})"))
