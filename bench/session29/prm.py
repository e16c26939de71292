import psycopg, sys
from decimal import Decimal
dsn = sys.argv[1]
def q(c, s, p=None, **kw):
    try:
        cur = c.cursor(**kw); cur.execute(s, p); return cur.fetchall() if cur.description else cur.statusmessage
    except Exception as e: return f"ERR {e.sqlstate}"
for pt in (None, 0):
    c = psycopg.connect(dsn, autocommit=True, prepare_threshold=pt)
    for binary in (False, True):
        print(q(c, "SELECT * FROM p2h WHERE id = %s", (Decimal('1.5'),), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = %s", (2.5,), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = %s", (Decimal('3'),), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = %s", (3.0,), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = %s", ('4',), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = %s::numeric", ('4.5',), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = ANY(%s)", ([Decimal('1.5'), Decimal('6')],), binary=binary),
              q(c, "SELECT * FROM p2t WHERE k = %s", ('k1 ',), binary=binary),
              q(c, "UPDATE p2h SET v = 'w' WHERE id = %s RETURNING id", (Decimal('7.5'),), binary=binary),
              q(c, "SELECT * FROM p2h WHERE id = %s", (2**40,), binary=binary))
