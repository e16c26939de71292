"""SQLAlchemy 2 ORM (psycopg 3 driver) against a coordinator: models, CRUD, joins, reflection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.schema import CreateTable

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(60)


@compiles(CreateTable, "postgresql")
def _create_table_with_distribution(element: CreateTable, compiler, **kw) -> str:
    """CREATE TABLE plus gridpg's DISTRIBUTE BY clause, from Table.info["distribute_by"]."""
    sql = compiler.visit_create_table(element, **kw)
    clause = element.element.info.get("distribute_by")
    return f"{sql.rstrip()} DISTRIBUTE BY {clause}" if clause else sql


def make_models(schema: str, customer_by: str | None = "REPLICATION", order_by: str | None = "HASH (id)"):
    """One customer has many orders. By default customers are replicated, so that the
    foreign key from the hash-distributed orders can be checked on every datanode."""
    class Base(DeclarativeBase):
        metadata = MetaData(schema=schema)

    class Customer(Base):
        __tablename__ = "customer"
        __table_args__ = {"info": {"distribute_by": customer_by}}  # noqa: RUF012
        id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
        name: Mapped[str] = mapped_column(String(100), nullable=False)
        email: Mapped[str | None] = mapped_column(Text, unique=False)
        vip: Mapped[bool] = mapped_column(Boolean, default=False)
        orders: Mapped[list[Order]] = relationship(back_populates="customer", cascade="all, delete-orphan")

    class Order(Base):
        __tablename__ = "orders"
        __table_args__ = {"info": {"distribute_by": order_by}}  # noqa: RUF012
        id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
        customer_id: Mapped[int] = mapped_column(ForeignKey(f"{schema}.customer.id"), nullable=False)
        amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
        placed: Mapped[dt.date | None] = mapped_column(Date)
        customer: Mapped[Customer] = relationship(back_populates="orders")

    return Base, Customer, Order


@pytest.fixture()
def engine(gridpg_cluster: Cluster) -> Iterator[Engine]:
    url = gridpg_cluster.dsn(0).replace("postgresql://", "postgresql+psycopg://", 1)
    # prepare_threshold=None: no server-side prepared statements, which a ROLLBACK can leave
    # stale on the coordinator (see test_prepared_statement_after_rollback)
    eng = create_engine(url, pool_size=2, max_overflow=0, connect_args={"prepare_threshold": None})
    try:
        yield eng
    finally:
        eng.dispose()


def test_orm_models_crud_and_queries(engine: Engine, schema: str) -> None:
    Base, Customer, Order = make_models(schema)
    Base.metadata.create_all(engine)
    try:
        # the tables were created (with gridpg's default distribution)
        assert sorted(inspect(engine).get_table_names(schema=schema)) == ["customer", "orders"]

        with Session(engine) as session, session.begin():
            for c in range(1, 11):
                customer = Customer(id=c, name=f"customer {c}", email=f"c{c}@example.com", vip=c % 3 == 0)
                customer.orders = [
                    Order(id=c * 100 + k, amount=Decimal(f"{c}.{k:02d}"), placed=dt.date(2024, c, k + 1))
                    for k in range(c)
                ]
                session.add(customer)

        # read back through the identity map-free new session, with relationships
        with Session(engine) as session:
            c7 = session.get(Customer, 7)
            assert c7 is not None and c7.name == "customer 7" and c7.email == "c7@example.com"
            orders = sorted(c7.orders, key=lambda o: o.id)  # ORDER BY: see test_orm_order_by_on_hash_table
            assert [o.id for o in orders] == [700 + k for k in range(7)]
            assert orders[3].amount == Decimal("7.03") and orders[3].placed == dt.date(2024, 7, 4)
            assert orders[0].customer is c7
            customers = session.scalars(select(Customer).options(selectinload(Customer.orders))
                                        .order_by(Customer.id)).all()
            assert [len(c.orders) for c in customers] == list(range(1, 11))
            assert session.scalar(select(func.count()).select_from(Order)) == 55

        # join query
        with Session(engine) as session:
            rows = session.execute(
                select(Customer.name, Order.id, Order.amount)
                .join(Order, Order.customer_id == Customer.id)
                .where(Customer.vip.is_(True), Order.amount > Decimal("6.02"))
            ).all()
            rows = sorted(rows, key=lambda r: r[1])
            want = [(f"customer {c}", c * 100 + k, Decimal(f"{c}.{k:02d}"))
                    for c in (3, 6, 9) for k in range(c) if Decimal(f"{c}.{k:02d}") > Decimal("6.02")]
            assert [tuple(r) for r in rows] == want
            # aggregates, GROUP BY / HAVING (aliased: schema-qualified columns, see
            # test_orm_order_by_on_hash_table)
            cu, od = aliased(Customer, name="cu"), aliased(Order, name="od")
            agg = session.execute(
                select(cu.id, func.count(od.id), func.sum(od.amount), func.max(od.placed))
                .join(cu.orders.of_type(od)).group_by(cu.id).having(func.count(od.id) >= 8)
            ).all()
            agg = sorted(agg)
            assert [tuple(r) for r in agg] == [
                (c, c, sum(Decimal(f"{c}.{k:02d}") for k in range(c)), dt.date(2024, c, c)) for c in (8, 9, 10)
            ]
            total, avg, lo, hi = session.execute(
                select(func.sum(Order.amount), func.avg(Order.amount), func.min(Order.id), func.max(Order.id))
            ).one()
            amounts = [Decimal(f"{c}.{k:02d}") for c in range(1, 11) for k in range(c)]
            assert total == sum(amounts)
            assert round(avg, 6) == round(sum(amounts) / len(amounts), 6)
            assert (lo, hi) == (100, 1009)
            assert session.scalar(select(func.count(func.distinct(Order.customer_id)))) == 10

        # update / delete through the ORM
        with Session(engine) as session, session.begin():
            c2 = session.get(Customer, 2)
            c2.name = "renamed"
            min(c2.orders, key=lambda o: o.id).amount = Decimal("99.99")
            session.delete(session.get(Customer, 10))  # cascades to its orders
            session.add(Order(id=5000, customer_id=1, amount=Decimal("1.50"), placed=dt.date(2025, 1, 1)))
        with Session(engine) as session:
            assert session.get(Customer, 2).name == "renamed"
            assert session.get(Order, 200).amount == Decimal("99.99")
            assert session.get(Customer, 10) is None
            assert session.scalar(select(func.count()).select_from(Order).where(Order.customer_id == 10)) == 0
            assert session.scalar(select(func.count()).select_from(Order)) == 46
            assert sorted(o.id for o in session.get(Customer, 1).orders) == [100, 5000]

        # rollback leaves nothing behind; an IntegrityError carries the SQLSTATE
        with Session(engine) as session:
            session.add(Customer(id=500, name="rolled back"))
            session.flush()
            session.rollback()
            assert session.get(Customer, 500) is None
        with Session(engine) as session:
            session.add(Customer(id=1, name="duplicate"))
            with pytest.raises(IntegrityError) as info:
                session.commit()
            assert info.value.orig.sqlstate == "23505"
            session.rollback()
            assert session.scalar(select(Customer.name).where(Customer.id == 1)) == "customer 1"

        # bulk insert (executemany) and a textual query with bound parameters
        with Session(engine) as session, session.begin():
            session.execute(Customer.__table__.insert(),
                            [{"id": 1000 + i, "name": f"bulk {i}", "vip": False} for i in range(50)])
        with Session(engine) as session:
            got = session.execute(text(f'SELECT count(*) FROM "{schema}".customer WHERE id >= :lo'),
                                  {"lo": 1000}).scalar()
            assert got == 50
    finally:
        Base.metadata.drop_all(engine)
    assert inspect(engine).get_table_names(schema=schema) == []


def test_reflection(engine: Engine, schema: str) -> None:
    Base, _customer, _order = make_models(schema)
    Base.metadata.create_all(engine)
    try:
        insp = inspect(engine)
        assert sorted(insp.get_table_names(schema=schema)) == ["customer", "orders"]
        assert schema in insp.get_schema_names()
        assert insp.has_table("orders", schema=schema)
        assert not insp.has_table("no_such_table", schema=schema)
        columns = {c["name"]: c for c in insp.get_columns("orders", schema=schema)}
        assert list(columns) == ["id", "customer_id", "amount", "placed"]
        assert isinstance(columns["id"]["type"], BigInteger)
        assert isinstance(columns["amount"]["type"], Numeric)
        assert (columns["amount"]["type"].precision, columns["amount"]["type"].scale) == (12, 2)
        assert isinstance(columns["placed"]["type"], Date)
        assert columns["id"]["nullable"] is False and columns["customer_id"]["nullable"] is False
        assert columns["amount"]["nullable"] is True
        ccols = {c["name"]: c for c in insp.get_columns("customer", schema=schema)}
        assert isinstance(ccols["name"]["type"], String) and ccols["name"]["type"].length == 100
        assert isinstance(ccols["vip"]["type"], Boolean)
        pk = insp.get_pk_constraint("customer", schema=schema)
        assert pk["constrained_columns"] == ["id"]
        assert pk["name"] == "customer_pkey"
        assert insp.get_pk_constraint("orders", schema=schema)["constrained_columns"] == ["id"]
        fks = insp.get_foreign_keys("orders", schema=schema)
        assert [(f["constrained_columns"], f["referred_table"], f["referred_columns"]) for f in fks] == [
            (["customer_id"], "customer", ["id"])]
        # reflect into a fresh MetaData and query through the reflected table
        reflected = MetaData(schema=schema)
        reflected.reflect(bind=engine)
        assert set(reflected.tables) == {f"{schema}.customer", f"{schema}.orders"}
        customer = reflected.tables[f"{schema}.customer"]
        with engine.begin() as conn:
            conn.execute(customer.insert(), [{"id": 1, "name": "r", "vip": True}])
            assert conn.execute(select(customer.c.name).where(customer.c.id == 1)).scalar() == "r"
    finally:
        Base.metadata.drop_all(engine)
    assert inspect(engine).get_table_names(schema=schema) == []


def _orders_for_existing_customers(engine: Engine, schema: str, customer_by: str | None,
                                   order_by: str | None) -> None:
    Base, Customer, Order = make_models(schema, customer_by, order_by)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session, session.begin():
            for c in range(1, 21):
                session.add(Customer(id=c, name=f"c{c}",
                                     orders=[Order(id=c * 10 + k, amount=Decimal(k)) for k in range(3)]))
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Order)) == 60
            assert sorted(o.id for o in session.get(Customer, 17).orders) == [170, 171, 172]
    finally:
        Base.metadata.drop_all(engine)


def test_foreign_key_that_cannot_hold_is_refused(engine: Engine, schema: str) -> None:
    """A foreign key is checked by each datanode alone (as in Postgres-XL and Citus): between
    hash tables it must join their distribution columns. Between tables the user distributed
    so, CREATE TABLE refuses it with a hint, instead of accepting rows it cannot check (or
    refusing valid ones)."""
    Base, _customer, _order = make_models(schema, "HASH (id)", "HASH (id)")
    try:
        with pytest.raises(DBAPIError) as info:
            Base.metadata.create_all(engine)
        assert info.value.orig.sqlstate == "0A000"
        assert "foreign key" in str(info.value.orig)
    finally:
        Base.metadata.drop_all(engine)


def test_foreign_key_between_default_tables_replicates_the_parent(engine: Engine, schema: str) -> None:
    """Without DISTRIBUTE BY (what create_all writes), gridpg chose both distributions: the
    referenced table becomes a REPLICATION table, so the key holds on every node
    (commands/default_placement.py)."""
    Base, Customer, Order = make_models(schema, None, None)
    Base.metadata.create_all(engine)
    try:
        with engine.connect() as conn:
            methods = dict(conn.execute(text(
                "SELECT table_name, method FROM gridpg.dist_table WHERE schema_name = :s"), {"s": schema}).all())
        assert methods == {"customer": "replication", "orders": "hash"}
        with Session(engine) as session, session.begin():
            session.add(Customer(id=1, name="c1", orders=[Order(id=k) for k in range(10)]))
        with pytest.raises(DBAPIError) as info, Session(engine) as session, session.begin():
            session.add(Order(id=99, customer_id=42))
        assert info.value.orig.sqlstate == "23503"
    finally:
        Base.metadata.drop_all(engine)


def test_orm_order_by_on_hash_table(engine: Engine, schema: str) -> None:
    Base, Customer, Order = make_models(schema)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session, session.begin():
            for c in range(1, 6):
                session.add(Customer(id=c, name=f"c{c}", orders=[Order(id=c * 10 + k) for k in range(3)]))
        with Session(engine) as session:
            assert session.scalars(select(Order.id).order_by(Order.id.desc()).limit(2)).all() == [52, 51]
            rows = session.execute(select(Customer.name, Order.id).join(Customer.orders)
                                   .where(Order.id >= 40).order_by(Order.id)).all()
            assert [tuple(r) for r in rows] == [("c4", 40), ("c4", 41), ("c4", 42), ("c5", 50), ("c5", 51), ("c5", 52)]
            agg = session.execute(select(Order.customer_id, func.count(Order.id))
                                  .group_by(Order.customer_id).having(func.count(Order.id) > 1)).all()
            assert sorted(tuple(r) for r in agg) == [(c, 3) for c in range(1, 6)]
    finally:
        Base.metadata.drop_all(engine)


def test_prepared_statement_after_rollback(gridpg_cluster: Cluster, poison_dsn: str) -> None:
    schema = poison_dsn.rsplit("search_path%3D", 1)[1]
    url = gridpg_cluster.dsn(1).replace("postgresql://", "postgresql+psycopg://", 1)
    eng = create_engine(url, pool_size=1, max_overflow=0)
    Base, Customer, _order = make_models(schema)  # customer: REPLICATION
    try:
        Base.metadata.create_all(eng)
        with Session(eng) as session, session.begin():
            session.add(Customer(id=1, name="one"))
        query = text("SELECT relname FROM pg_catalog.pg_class WHERE relname = :name")
        with Session(eng) as session:
            for _ in range(7):  # psycopg prepares it on the server from the 5th execution on
                assert session.execute(query, {"name": "pg_class"}).scalar() == "pg_class"
            session.commit()
            session.add(Customer(id=500, name="rolled back"))
            session.flush()
            session.rollback()
            assert session.execute(query, {"name": "pg_class"}).scalar() == "pg_class"
            assert session.get(Customer, 500) is None
            session.commit()
            # an IntegrityError carries the SQLSTATE; the session goes on after rollback
            session.add(Customer(id=1, name="duplicate"))
            with pytest.raises(IntegrityError) as info:
                session.commit()
            assert info.value.orig.sqlstate == "23505"
            session.rollback()
            assert session.scalar(select(Customer.name).where(Customer.id == 1)) == "one"
            assert session.execute(query, {"name": "pg_class"}).scalar() == "pg_class"
            session.commit()
        assert sorted(inspect(eng).get_table_names(schema=schema)) == ["customer", "orders"]
    finally:
        eng.dispose()
