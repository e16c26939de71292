"""SQLModel over SQLAlchemy 2 (psycopg 3), and SQLAlchemy 2's asyncio ORM over asyncpg:
metadata.create_all, relationships with selectinload / joinedload, insert().returning()
with executemany ("insertmanyvalues"), upserts through the postgresql dialect's
on_conflict_do_update, session.merge, nested transactions (begin_nested), Core with
bindparams and tuple IN, Inspector reflection, server-side streaming (stream_scalars),
and run_sync."""


import asyncio
import datetime as dt
import sys
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import sqlalchemy as sa
from _common import args, out, parts, with_search_path
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)
from sqlmodel import Field, Relationship, Session, SQLModel, col, create_engine, func, select

uri, schema = args()


# -- SQLModel -------------------------------------------------------------------------


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    headquarters: str
    heroes: list["Hero"] = Relationship(back_populates="team")


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    secret_name: str
    age: int | None = Field(default=None, index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")
    team: Team | None = Relationship(back_populates="heroes")


engine = create_engine(with_search_path(uri, schema).replace("postgresql://", "postgresql+psycopg://", 1))
SQLModel.metadata.create_all(engine)
with Session(engine) as s:
    teams = [Team(name=f"team{i}", headquarters=f"hq{i}") for i in range(5)]
    s.add_all(teams)
    s.commit()
    for i in range(40):
        s.add(Hero(name=f"hero{i:02d}", secret_name=f"s{i}", age=None if i % 7 == 0 else 18 + i,
                   team_id=teams[i % 5].id if i % 6 else None))
    s.commit()
    out("sqlmodel count", s.exec(select(func.count()).select_from(Hero)).one())
    out("sqlmodel where", [h.name for h in s.exec(select(Hero).where(Hero.age > 50).order_by(Hero.name))])
    out("sqlmodel join", s.exec(select(Team.name, func.count(Hero.id)).join(Hero, isouter=True).group_by(Team.name)
                                .order_by(Team.name)).all())
    out("sqlmodel offset limit", [h.id for h in s.exec(select(Hero).order_by(Hero.id).offset(10).limit(5))])
    out("sqlmodel is null", s.exec(select(func.count()).where(col(Hero.team_id).is_(None))).one())
    hero = s.exec(select(Hero).where(Hero.name == "hero13")).one()
    hero.age = 99
    hero.team = teams[0]
    s.add(hero)
    s.commit()
    s.refresh(hero)
    out("sqlmodel relation", [hero.team.name, len(hero.team.heroes), sorted(h.name for h in hero.team.heroes)[:3]])
    s.delete(hero)
    s.commit()
    out("sqlmodel after delete", s.exec(select(func.count()).select_from(Hero)).one())
    try:
        s.add(Team(name="team1", headquarters="dup"))
        s.commit()
    except sa.exc.IntegrityError as e:
        out("sqlmodel unique", e.orig.sqlstate)
        s.rollback()


# -- SQLAlchemy 2 asyncio over asyncpg --------------------------------------------------


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(sa.String(100), unique=True)
    tier: Mapped[str] = mapped_column(sa.String(10), server_default="basic")
    prefs: Mapped[dict] = mapped_column(JSONB, default=dict)
    created: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.text("now()"))
    orders: Mapped[list["Order"]] = relationship(back_populates="customer", cascade="all, delete-orphan",
                                                 order_by="Order.id")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("customer.id", ondelete="CASCADE"))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    items: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), default=list)
    placed: Mapped[dt.date] = mapped_column(sa.Date)
    customer: Mapped[Customer] = relationship(back_populates="orders")


def uid(i: int) -> uuid.UUID:
    return uuid.UUID(int=i * 7919 + 1)


async def run_async() -> None:
    p = parts(uri)
    url = sa.URL.create("postgresql+asyncpg", username=p["user"], password=p["password"], host=p["host"],
                        port=p["port"], database=p["database"])
    aengine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    async with aengine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        names = await conn.run_sync(lambda c: sorted(sa.inspect(c).get_table_names()))
        out("async reflected tables", names)
        cols = await conn.run_sync(lambda c: [(x["name"], str(x["type"]), x["nullable"], x["default"])
                                              for x in sa.inspect(c).get_columns("orders")])
        out("async reflected columns", cols)
        fks = await conn.run_sync(lambda c: sa.inspect(c).get_foreign_keys("orders"))
        out("async reflected fks", [(f["constrained_columns"], f["referred_table"], f["options"]) for f in fks])
    Session_ = async_sessionmaker(aengine, expire_on_commit=False)
    async with Session_() as s:
        async with s.begin():
            ids = (await s.scalars(insert(Customer).returning(Customer.email, sort_by_parameter_order=True),
                                   [{"id": uid(i), "email": f"c{i}@x.org", "prefs": {"n": i}} for i in range(25)])).all()
            out("insertmanyvalues returning", ids)
            for i in range(100):
                s.add(Order(customer_id=uid(i % 25), total=Decimal(i) + Decimal("0.5"), items=[f"i{i}"] * (i % 3),
                            placed=dt.date(2024, 1, 1) + dt.timedelta(days=i)))
        async with s.begin():
            rows = (await s.scalars(sa.select(Customer).options(selectinload(Customer.orders))
                                    .where(Customer.email.in_(["c1@x.org", "c2@x.org"])).order_by(Customer.email))).all()
            out("selectinload", [(c.email, [o.total for o in c.orders]) for c in rows])
            rows = (await s.scalars(sa.select(Order).options(joinedload(Order.customer))
                                    .where(Order.total > 95).order_by(Order.id))).all()
            out("joinedload", [(o.id, o.customer.email) for o in rows])
            stmt = insert(Customer).values(id=uid(1), email="c1@x.org", tier="gold")
            stmt = stmt.on_conflict_do_update(index_elements=[Customer.id],
                                              set_={"tier": stmt.excluded.tier, "prefs": Customer.prefs.op("||")(
                                                  sa.cast({"vip": True}, JSONB))}).returning(Customer.tier, Customer.prefs)
            out("on_conflict_do_update", (await s.execute(stmt)).all())
            stmt = insert(Customer).values(id=uid(99), email="c2@x.org").on_conflict_do_nothing(
                index_elements=[Customer.email]).returning(Customer.id)
            out("on_conflict_do_nothing", (await s.execute(stmt)).all())
            merged = await s.merge(Customer(id=uid(3), email="c3@x.org", tier="silver"))
            await s.flush()
            out("merge", merged.tier)
        async with s.begin():
            try:
                async with s.begin_nested():
                    s.add(Customer(id=uid(500), email="c4@x.org"))
            except sa.exc.IntegrityError as e:
                out("begin_nested integrity", type(e.orig).__name__)
            s.add(Customer(id=uid(501), email="new@x.org"))
        out("after nested", (await s.scalars(sa.select(Customer.email).where(Customer.id.in_([uid(500), uid(501)])))).all())
        await s.commit()
        async with s.begin():
            q = (sa.select(Customer.tier, sa.func.count(Order.id), sa.func.sum(Order.total),
                           sa.func.max(Order.placed))
                 .join(Order, isouter=True).group_by(Customer.tier).order_by(Customer.tier))
            out("group by", (await s.execute(q)).all())
            q = sa.select(Order.id).where(sa.tuple_(Order.customer_id, Order.total).in_(
                [(uid(2), Decimal("2.5")), (uid(3), Decimal("28.5")), (uid(4), Decimal(1))])).order_by(Order.id)
            out("tuple in", (await s.scalars(q)).all())
            q = sa.select(Order.id, sa.func.array_length(Order.items, 1)).where(sa.literal("i5") == sa.any_(Order.items)).order_by(Order.id)
            out("array any", (await s.execute(q)).all())
            q = sa.select(Customer.email).where(Customer.prefs["n"].as_integer() > 20).order_by(Customer.email)
            out("jsonb path", (await s.scalars(q)).all())
            q = sa.select(Order.id, sa.func.sum(Order.total).over(partition_by=Order.customer_id, order_by=Order.id)
                          .label("running")).where(Order.customer_id == uid(7)).order_by(Order.id)
            out("window", (await s.execute(q)).all())
            total = 0
            stream = await s.stream_scalars(sa.select(Order).order_by(Order.id).execution_options(yield_per=9))
            async for o in stream:
                total += o.total
            out("stream_scalars", total)
            out("bindparam", (await s.execute(sa.text("SELECT count(*) FROM orders WHERE placed BETWEEN :a AND :b")
                                              .bindparams(a=dt.date(2024, 2, 1), b=dt.date(2024, 2, 29)))).scalar())
            r = await s.execute(sa.update(Order).where(Order.total < 3).values(total=Order.total * 10)
                                .returning(Order.id, Order.total))
            out("update returning", sorted(r.all()))
            r = await s.execute(sa.delete(Customer).where(Customer.email == "c0@x.org").returning(Customer.email))
            out("delete cascade", r.all())
        out("orders left", (await s.execute(sa.select(sa.func.count(Order.id)))).scalar())
        await s.commit()
        check_result = None
        try:
            async with s.begin():
                await s.execute(sa.text("SELECT 1/0 FROM orders WHERE id = 1"))
        except sa.exc.DBAPIError as e:
            check_result = getattr(e.orig, "sqlstate", None) or type(e.orig).__name__
        out("error", check_result)
    await aengine.dispose()


asyncio.run(run_async())
