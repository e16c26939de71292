import psycopg, sys, time
dsn = sys.argv[1]
def q(c, s):
    try:
        cur = c.execute(s); return cur.fetchall() if cur.description else cur.statusmessage
    except Exception as e: return f"ERR {e.sqlstate} {str(e).splitlines()[0]}"
a = psycopg.connect(dsn, autocommit=True); b = psycopg.connect(dsn, autocommit=True)
b.execute("LISTEN w")
for s in ["BEGIN", "UPDATE roh SET v = v + 1", "NOTIFY w, 'multi'", "UPDATE ror SET v = v + 1", "COMMIT",
          "BEGIN", "NOTIFY w, 'pt'", "UPDATE roh SET v = v + 1 WHERE id = 1", "PREPARE TRANSACTION 'n2gid'", "COMMIT PREPARED 'n2gid'",
          "BEGIN", "UPDATE roh SET v = v + 1", "SELECT pg_notify('w', 'f' || count(*)) FROM roh", "ROLLBACK",
          "BEGIN", "SAVEPOINT s", "NOTIFY w, 'sp'", "RELEASE s", "UPDATE roh SET v = 0", "COMMIT AND CHAIN", "NOTIFY w, 'chain'", "COMMIT",
          "SELECT pg_notify('w', 'agg' || sum(v)) FROM roh", "SELECT sum(v) FROM roh"]:
    print(s, "->", q(a, s))
time.sleep(1); b.execute("SELECT 1")
print([(n.channel, n.payload) for n in b.notifies(timeout=1.5)])
