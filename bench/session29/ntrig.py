import psycopg, sys, time
dsn = sys.argv[1]; D = (lambda s: s) if sys.argv[2] == 'grid' else (lambda s: "")
def q(c, s):
    try:
        cur = c.execute(s); return cur.fetchall() if cur.description else cur.statusmessage
    except Exception as e: return f"ERR {e.sqlstate} {str(e).splitlines()[0]}"
a = psycopg.connect(dsn, autocommit=True); b = psycopg.connect(dsn, autocommit=True)
q(a, "DROP TABLE IF EXISTS nt CASCADE")
q(a, "CREATE TABLE nt (id int PRIMARY KEY, v text)" + D(" DISTRIBUTE BY HASH(id)"))
print(q(a, "CREATE OR REPLACE FUNCTION nt_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('nt_changes', TG_OP || ':' || NEW.id); RETURN NEW; END $$"))
print(q(a, "CREATE TRIGGER nt_t AFTER INSERT OR UPDATE ON nt FOR EACH ROW EXECUTE FUNCTION nt_notify()"))
print(q(a, "CREATE OR REPLACE FUNCTION nt_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NOTIFY nt_stmt, 'done'; RETURN NULL; END $$"))
print(q(a, "CREATE TRIGGER nt_s AFTER DELETE ON nt FOR EACH STATEMENT EXECUTE FUNCTION nt_stmt()"))
b.execute("LISTEN nt_changes"); b.execute("LISTEN nt_stmt")
[print(q(a, f"INSERT INTO nt VALUES ({i}, 'a')")) for i in (1,2,3)]
print(q(a, "UPDATE nt SET v = 'z' WHERE id = 2"))
with a.transaction():
    print(q(a, "INSERT INTO nt VALUES (10, 'r')"))
    a.execute("ROLLBACK")  if False else None
try:
    with a.transaction():
        q(a, "INSERT INTO nt VALUES (11, 'rolled')"); raise RuntimeError
except RuntimeError: pass
print(q(a, "DELETE FROM nt WHERE id = 3"))
print(q(a, "SELECT pg_notify('nt_changes', 'x' || id) FROM nt WHERE id = 1"))
print(q(a, "DO $$ BEGIN PERFORM pg_notify('nt_changes', 'from do'); END $$"))
print(q(a, "CREATE OR REPLACE FUNCTION nt_fn(i int) RETURNS void LANGUAGE sql AS $$ SELECT pg_notify('nt_changes', 'fn' || i) $$"))
print(q(a, "SELECT nt_fn(5)"))
print(q(a, "SELECT nt_fn(id) FROM nt WHERE id = 2"))
time.sleep(1)
b.execute("SELECT 1")
print(sorted((n.channel, n.payload) for n in b.notifies(timeout=1.5)))
