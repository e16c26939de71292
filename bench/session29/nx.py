import psycopg, time
a = psycopg.connect("postgresql://postgres:_tVM-PQdlgWYkLJyW7cjZ5TV8xz5qE6b@127.0.0.1:8600/postgres", autocommit=True)
b = psycopg.connect("postgresql://postgres:_tVM-PQdlgWYkLJyW7cjZ5TV8xz5qE6b@127.0.0.1:8601/postgres", autocommit=True)
b.execute("LISTEN xc"); a.execute("LISTEN xc")
a.execute("NOTIFY xc, 'from1'"); b.execute("NOTIFY xc, 'from2'")
with a.transaction():
    a.execute("NOTIFY xc, 'tx'"); a.execute("NOTIFY xc, 'tx'"); a.execute("NOTIFY xc, 'tx2'")
time.sleep(1); a.execute("SELECT 1"); b.execute("SELECT 1")
print("b got", [(n.payload, n.pid == a.info.backend_pid, n.pid == b.info.backend_pid) for n in b.notifies(timeout=1)])
print("a got", [(n.payload, n.pid == a.info.backend_pid, n.pid == b.info.backend_pid) for n in a.notifies(timeout=1)])
