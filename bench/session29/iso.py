import psycopg, sys
dsn = sys.argv[1]; D = (lambda s: s) if sys.argv[2] == 'grid' else (lambda s: "")
def q(c, s):
    try:
        cur = c.execute(s); return cur.fetchall() if cur.description else cur.statusmessage
    except Exception as e: return f"ERR {e.sqlstate}"
a = psycopg.connect(dsn, autocommit=True); b = psycopg.connect(dsn, autocommit=True)
q(a, "DROP TABLE IF EXISTS iso"); q(a, "CREATE TABLE iso (id int PRIMARY KEY, v int)" + D(" DISTRIBUTE BY HASH(id)"))
q(a, "INSERT INTO iso SELECT g, 0 FROM generate_series(1, 1000) g")
steps = [(a, "BEGIN ISOLATION LEVEL REPEATABLE READ"), (a, "SELECT count(*), sum(v) FROM iso"),
         (b, "INSERT INTO iso SELECT g, 1 FROM generate_series(1001, 1100) g"), (b, "UPDATE iso SET v = 5 WHERE id <= 10"),
         (a, "SELECT count(*), sum(v) FROM iso"), (a, "SELECT v FROM iso WHERE id = 3"),
         (a, "UPDATE iso SET v = 9 WHERE id = 500"), (a, "UPDATE iso SET v = 9 WHERE id = 3"), (a, "ROLLBACK"),
         (a, "BEGIN ISOLATION LEVEL REPEATABLE READ"), (a, "SELECT 1"), (b, "DELETE FROM iso WHERE id = 20"),
         (a, "DELETE FROM iso WHERE id = 20"), (a, "ROLLBACK"),
         (a, "BEGIN ISOLATION LEVEL READ COMMITTED"), (a, "SELECT count(*) FROM iso"), (b, "INSERT INTO iso VALUES (2000, 1)"),
         (a, "SELECT count(*) FROM iso"), (a, "COMMIT"),
         (a, "BEGIN ISOLATION LEVEL SERIALIZABLE"), (a, "SELECT count(*) FROM iso"), (a, "COMMIT"),
         (a, "BEGIN ISOLATION LEVEL REPEATABLE READ"), (a, "SELECT count(*) FROM iso"), (b, "UPDATE iso SET v = v + 1 WHERE id = 30"),
         (a, "SELECT id FROM iso WHERE id = 30 FOR UPDATE"), (a, "ROLLBACK"),
         (a, "BEGIN ISOLATION LEVEL REPEATABLE READ"), (a, "SELECT count(*) FROM iso"), (b, "BEGIN"), (b, "UPDATE iso SET v = 100 WHERE id = 40"),
         (a, "SELECT v FROM iso WHERE id = 40"), (b, "ROLLBACK"), (a, "UPDATE iso SET v = 7 WHERE id = 40 RETURNING v"), (a, "COMMIT")]
for c, s in steps:
    print("ab"[c is b], s, "->", q(c, s))
