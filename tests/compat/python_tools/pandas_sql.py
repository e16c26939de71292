"""pandas over SQLAlchemy (psycopg 3 and psycopg2): to_sql with the default and
method='multi' inserts, if_exists append/replace, chunksize, dtype= overrides, an index
written as a column; read_sql / read_sql_query with params, chunksize and parse_dates;
round trips of tz-aware timestamps, numeric, json, arrays, booleans and NULLs."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np
import pandas as pd
import sqlalchemy as sa
from _common import args, check, out, with_search_path
from sqlalchemy.dialects import postgresql as pg

uri, schema = args()
base = with_search_path(uri, schema).replace("postgresql://", "postgresql+psycopg://", 1)
engine = sa.create_engine(base)
engine2 = sa.create_engine(with_search_path(uri, schema).replace("postgresql://", "postgresql+psycopg2://", 1))


def frame_rows(df: pd.DataFrame) -> list:
    return [[None if (not isinstance(v, (list, dict, np.ndarray)) and pd.isna(v)) else
             (v.tolist() if isinstance(v, np.ndarray) else v) for v in row]
            for row in df.astype(object).itertuples(index=False, name=None)]


n = 300
df = pd.DataFrame({
    "id": np.arange(1, n + 1),
    "city": [["Oslo", "Lima", "Pune", None][i % 4] for i in range(n)],
    "qty": np.arange(n) % 17,
    "price": np.round(np.linspace(0.5, 99.5, n), 2),
    "ok": [i % 3 == 0 for i in range(n)],
    "seen": pd.date_range("2024-03-30 22:00", periods=n, freq="37min", tz="Europe/Berlin"),
    "day": pd.date_range("2024-01-01", periods=n, freq="D").date,
})
out("to_sql default", df.to_sql("sales", engine, index=False))
out("to_sql multi chunks", df.assign(id=df.id + n).to_sql("sales", engine, index=False, if_exists="append",
                                                            method="multi", chunksize=70))
out("to_sql psycopg2", df.assign(id=df.id + 2 * n).to_sql("sales", engine2, index=False, if_exists="append",
                                                           chunksize=100))
with engine.connect() as c:
    out("columns", c.execute(sa.text(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'sales' ORDER BY ordinal_position")).fetchall())
    out("count", c.execute(sa.text("SELECT count(*), sum(qty), round(sum(price)::numeric, 2) FROM sales")).fetchall())

back = pd.read_sql("SELECT * FROM sales ORDER BY id", engine)
out("read_sql dtypes", {k: str(v) for k, v in back.dtypes.items()})
out("read_sql head", frame_rows(back.head(3)))
out("tz round trip", back.seen.iloc[:n].dt.tz_convert("Europe/Berlin").tolist() == df.seen.tolist())

q = pd.read_sql_query("SELECT city, count(*) AS n, round(avg(price)::numeric, 6) AS avg_price, min(seen) AS first FROM sales "
                      "WHERE qty > %(q)s GROUP BY city ORDER BY city NULLS FIRST", engine, params={"q": 5})
out("read_sql_query params", frame_rows(q))
q2 = pd.read_sql(sa.text("SELECT id, day FROM sales WHERE city = :c AND day < :d ORDER BY id"), engine,
                 params={"c": "Lima", "d": "2024-01-20"}, parse_dates=["day"])
out("read_sql text params parse_dates", [str(q2.day.dtype), frame_rows(q2)])
chunks = list(pd.read_sql_query("SELECT id, price FROM sales ORDER BY id", engine, chunksize=250))
out("chunksize", [len(c) for c in chunks] + [float(sum(c.price.sum() for c in chunks))])
with engine2.connect().execution_options(stream_results=True) as c:
    streamed = list(pd.read_sql_query(sa.text("SELECT id, city FROM sales WHERE id % 7 = 0 ORDER BY id"),
                                      c, chunksize=20))
out("server-side chunks", [len(x) for x in streamed])

table = pd.read_sql_table("sales", engine, schema=schema, columns=["id", "qty"])
out("read_sql_table", [len(table), int(table.qty.sum())])

# dtype= overrides: Numeric, JSONB, ARRAY, tz-aware timestamps; and the index as a column.
docs = pd.DataFrame({
    "amount": [Decimal("1.10"), Decimal("2.25"), None, Decimal("12345.678")],
    "doc": [{"a": 1, "tags": ["x"]}, {"a": 2}, None, {"nested": {"k": [1, 2]}}],
    "arr": [[1, 2], [3], [], None],
    "at": pd.to_datetime(["2024-06-01 12:00+02:00", "2024-12-24 00:00Z", None, "1999-12-31 23:59:59.123456Z"], format="ISO8601",
                         utc=True),
}, index=pd.Index([10, 20, 30, 40], name="doc_id"))
out("to_sql dtype", docs.to_sql("docs", engine, dtype={"amount": sa.Numeric(12, 3), "doc": pg.JSONB,
                                                       "arr": pg.ARRAY(sa.Integer), "at": sa.DateTime(timezone=True)},
                                method="multi"))
rd = pd.read_sql("SELECT doc_id, amount, doc, arr, at FROM docs ORDER BY doc_id", engine, index_col="doc_id")
out("dtype round trip", frame_rows(rd.reset_index()))
out("json query", pd.read_sql("SELECT doc_id FROM docs WHERE doc ? 'a' AND (doc->>'a')::int > 1", engine).doc_id.tolist())

# if_exists='replace' drops and creates the table again (new columns); a second table
# refers to the first by a foreign key added afterwards.
small = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"], "score": [1.5, None, 3.25]})
out("replace", small.to_sql("sales", engine, index=False, if_exists="replace"))
out("after replace", frame_rows(pd.read_sql("SELECT * FROM sales ORDER BY id", engine)))
check("fail if exists", lambda: small.to_sql("sales", engine, index=False, if_exists="fail"))
with engine.begin() as c:
    c.execute(sa.text("ALTER TABLE sales ADD PRIMARY KEY (id)"))
    c.execute(sa.text("CREATE TABLE sale_note (id serial PRIMARY KEY, sale_id bigint REFERENCES sales (id), note text)"))
notes = pd.DataFrame({"sale_id": [1, 1, 3], "note": ["x", "y", "z"]})
out("append child", notes.to_sql("sale_note", engine, index=False, if_exists="append", method="multi"))
j = pd.read_sql("SELECT s.name, count(n.id) AS notes, string_agg(n.note, ',' ORDER BY n.note) AS all_notes "
                "FROM sales s LEFT JOIN sale_note n ON n.sale_id = s.id GROUP BY s.name ORDER BY s.name", engine)
out("join", frame_rows(j))
wide = pd.read_sql("SELECT id, name, score, rank() OVER (ORDER BY score DESC NULLS LAST) AS r, "
                   "sum(score) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running "
                   "FROM sales ORDER BY id", engine)
out("window", frame_rows(wide))

# A writer callable: COPY, the recipe from pandas' documentation (psql_insert_copy).
import csv
import io


def psql_insert_copy(table, conn, keys, data_iter):
    dbapi_conn = conn.connection
    with dbapi_conn.cursor() as cur:
        buf = io.StringIO()
        csv.writer(buf).writerows(data_iter)
        buf.seek(0)
        columns = ", ".join(f'"{k}"' for k in keys)
        name = f"{table.schema}.{table.name}" if table.schema else table.name
        cur.copy_expert(sql=f"COPY {name} ({columns}) FROM STDIN WITH CSV", file=buf)
        return cur.rowcount


big = pd.DataFrame({"k": np.arange(5000), "v": np.arange(5000) * 0.5, "t": [f"s{i % 50}" for i in range(5000)]})
out("copy method", big.to_sql("big", engine2, index=False, method=psql_insert_copy))
out("copy result", frame_rows(pd.read_sql("SELECT count(*), sum(k), sum(v), count(DISTINCT t) FROM big", engine)))
out("groupby", frame_rows(pd.read_sql("SELECT t, count(*) FROM big GROUP BY t ORDER BY count(*) DESC, t LIMIT 3", engine)))
