"""Pony ORM (psycopg2) as its users write it: generate_mapping(create_tables=True),
entities with Set/Required/Optional relations and a many-to-many, generator queries
translated to SQL (joins, aggregates, group by through `count()`, `exists`, order_by,
pagination), select_by_sql, optimistic checks on update, rollback, and json attributes."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import args, out, parts
from pony.orm import (
    Database,
    Json,
    Optional,
    PrimaryKey,
    Required,
    Set,
    TransactionIntegrityError,
    avg,
    commit,
    count,
    db_session,
    desc,
    exists,
    rollback,
    select,
    sum,
)

uri, schema = args()
p = parts(uri)
db = Database()


class Customer(db.Entity):
    id = PrimaryKey(int, auto=True)
    email = Required(str, unique=True)
    name = Required(str)
    country = Optional(str)
    orders = Set("Order")


class Product(db.Entity):
    id = PrimaryKey(int, auto=True)
    name = Required(str, unique=True)
    price = Required(Decimal, precision=10, scale=2)
    tags = Optional(Json)
    orders = Set("Order")


class Order(db.Entity):
    id = PrimaryKey(int, auto=True)
    customer = Required(Customer)
    products = Set(Product)
    total = Required(Decimal, precision=10, scale=2)
    state = Required(str, default="new")


db.bind(provider="postgres", host=p["host"], port=p["port"], user=p["user"], password=p["password"],
        database=p["database"], options=f"-csearch_path={schema}")
db.generate_mapping(create_tables=True)

with db_session:
    customers = [Customer(email=f"c{i}@x.org", name=f"name{i}", country=["no", "pe", "in", None][i % 4] or "")
                 for i in range(15)]
    products = [Product(name=f"p{i}", price=Decimal(f"{1 + i}.{i:02d}"), tags={"cat": ["a", "b", "c"][i % 3]})
                for i in range(10)]
    commit()
    for i in range(50):
        o = Order(customer=customers[i % 15], total=Decimal(i) * 3 + Decimal("0.25"), state=["new", "paid", "sent"][i % 3])
        o.products.add([products[(i + k) % 10] for k in range(1 + i % 3)])

with db_session:
    out("tables", sorted(db.select("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = current_schema()")))
    out("count", [count(c for c in Customer), count(o for o in Order), count(p for p in Product)])
    q = select((c.name, count(o), sum(o.total)) for c in Customer for o in c.orders if o.state == "paid")
    out("join aggregate", sorted(q[:]))
    q = select(c for c in Customer if exists(o for o in c.orders if o.total > 140)).order_by(Customer.id)
    out("exists", [c.email for c in q])
    q = select(p for p in Product if count(p.orders) > 9).order_by(desc(Product.name))
    out("m2m count", [p.name for p in q])
    q = select((o.state, avg(o.total)) for o in Order).order_by(1)
    out("avg by state", [(s, round(float(a), 6)) for s, a in q])
    q = select(o for o in Order).order_by(desc(Order.total), Order.id)
    out("page", [o.id for o in q.page(2, pagesize=6)])
    out("limit offset", [o.id for o in select(o for o in Order if o.customer.country == "pe").order_by(Order.id)
                         .limit(4, offset=2)])
    q = select((c.country, count(c)) for c in Customer).order_by(1)
    out("group by", q[:])
    out("select_by_sql", [p.name for p in Product.select_by_sql(
        "SELECT * FROM product WHERE price > $x ORDER BY price DESC LIMIT 3", globals={"x": Decimal(5)})])
    out("json", sorted(p.name for p in select(p for p in Product if p.tags["cat"] == "b")))
    out("distinct", sorted(select(o.customer.country for o in Order if o.total < 20).distinct()[:]))

with db_session:
    c = Customer[3]
    c.name = "renamed"
    for o in c.orders:
        o.state = "cancelled"
    commit()
    out("update", [Customer[3].name, count(o for o in Order if o.state == "cancelled")])
    Customer(email="extra@x.org", name="x")
    rollback()
    out("rolled back", count(c for c in Customer if c.email == "extra@x.org"))
    try:
        Customer(email="c1@x.org", name="dup")
        commit()
    except TransactionIntegrityError as e:
        out("unique", type(e).__name__)
        rollback()

with db_session:
    for o in select(o for o in Order if o.customer.id == 5):
        o.delete()
    Customer[5].delete()
    commit()
    out("after delete", [count(c for c in Customer), count(o for o in Order)])
    out("m2m rows", db.select("SELECT count(*) FROM order_product")[0])
