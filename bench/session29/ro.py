import psycopg, sys
dsn = sys.argv[1]; D = (lambda s: s) if sys.argv[2] == 'grid' else (lambda s: "")
def q(c, s):
    try:
        cur = c.execute(s); return cur.fetchall() if cur.description else cur.statusmessage
    except Exception as e: return f"ERR {e.sqlstate}"
a = psycopg.connect(dsn, autocommit=True)
q(a, "DROP TABLE IF EXISTS roh, ror, rod CASCADE"); q(a, "DROP SEQUENCE IF EXISTS ros")
q(a, "CREATE TABLE roh (id int PRIMARY KEY, v int)" + D(" DISTRIBUTE BY HASH(id)"))
q(a, "CREATE TABLE ror (id int PRIMARY KEY, v int)" + D(" DISTRIBUTE BY REPLICATION"))
q(a, "CREATE TABLE rod (id int, v int)")
q(a, "CREATE SEQUENCE ros")
q(a, "INSERT INTO roh SELECT g, g FROM generate_series(1,100) g"); q(a, "INSERT INTO ror SELECT g, g FROM generate_series(1,10) g"); q(a, "INSERT INTO rod SELECT g, g FROM generate_series(1,10) g")
for s in ["UPDATE roh SET v = 1 WHERE id = 1", "UPDATE roh SET v = 1", "UPDATE ror SET v = 1", "DELETE FROM ror WHERE id = 1",
          "INSERT INTO ror VALUES (100, 1)", "UPDATE rod SET v = 1", "INSERT INTO rod VALUES (1,1)", "DELETE FROM roh",
          "SELECT nextval('ros')", "SELECT setval('ros', 5)", "TRUNCATE roh", "SELECT * FROM roh WHERE id = 1 FOR UPDATE",
          "SELECT * FROM ror FOR SHARE", "CREATE TABLE x (a int)", "MERGE INTO roh USING ror ON roh.id = ror.id WHEN MATCHED THEN DELETE",
          "WITH d AS (DELETE FROM roh RETURNING 1) SELECT count(*) FROM d", "INSERT INTO roh SELECT * FROM ror ON CONFLICT DO NOTHING",
          "SELECT pg_notify('x', 'y')", "NOTIFY x", "LISTEN x", "SELECT pg_advisory_xact_lock(1)", "CREATE TEMP TABLE tt(a int)", "LOCK TABLE roh IN ACCESS EXCLUSIVE MODE",
          "LOCK TABLE roh IN ROW EXCLUSIVE MODE", "SELECT pg_advisory_lock(3)", "SELECT pg_advisory_unlock(3)"]:
    q(a, "BEGIN READ ONLY")
    print(s, "->", q(a, s))
    q(a, "ROLLBACK")
