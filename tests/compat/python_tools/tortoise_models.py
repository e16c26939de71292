"""Tortoise ORM (asyncpg) as its users write it: generate_schemas, foreign keys and
many-to-many, bulk_create, get_or_create / update_or_create, select_related and
prefetch_related, annotate with Count/Sum/Avg, F expressions, Q objects, values(), in_transaction
with nested savepoints and select_for_update, json fields, raw SQL."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import args, out, parts
from tortoise import Tortoise, fields, run_async
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Avg, Count, Sum
from tortoise.models import Model
from tortoise.transactions import in_transaction

uri, schema = args()


class Tournament(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    created = fields.DatetimeField(auto_now_add=True)


class Team(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=50)
    rating = fields.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1000.00"))
    extra = fields.JSONField(null=True)


class Event(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=100)
    tournament = fields.ForeignKeyField("models.Tournament", related_name="events", on_delete=fields.CASCADE)
    participants = fields.ManyToManyField("models.Team", related_name="events", through="event_team")
    prize = fields.IntField(null=True)


async def main() -> None:
    p = parts(uri)
    await Tortoise.init(config={
        "connections": {"default": {"engine": "tortoise.backends.asyncpg", "credentials": {
            "host": p["host"], "port": p["port"], "user": p["user"], "password": p["password"],
            "database": p["database"], "schema": schema}}},
        "apps": {"models": {"models": ["__main__"], "default_connection": "default"}},
        "use_tz": True, "timezone": "UTC"})
    await Tortoise.generate_schemas()
    conn = Tortoise.get_connection("default")
    _, tables = await conn.execute_query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")
    out("tables", [r["table_name"] for r in tables])

    tours = [await Tournament.create(name=f"tour{i}") for i in range(4)]
    await Team.bulk_create([Team(name=f"team{i}", rating=Decimal(1000 + i * 13), extra={"seed": i})
                            for i in range(20)], batch_size=7)
    teams = await Team.all().order_by("id")
    for i in range(30):
        ev = await Event.create(name=f"event{i}", tournament=tours[i % 4], prize=None if i % 5 == 0 else i * 100)
        await ev.participants.add(*[teams[(i + k) % 20] for k in range(3)])
    out("counts", [await Tournament.all().count(), await Team.all().count(), await Event.all().count()])

    obj, created = await Tournament.get_or_create(name="tour1")
    out("get_or_create", [obj.id, created])
    obj, created = await Team.update_or_create(name="team3", defaults={"rating": Decimal("1500.50")})
    out("update_or_create", [obj.name, str(obj.rating), created])

    evs = await Event.filter(prize__gte=2500).select_related("tournament").order_by("id")
    out("select_related", [(e.name, e.tournament.name) for e in evs])
    tours_p = await Tournament.filter(name__in=["tour1", "tour2"]).prefetch_related("events__participants").order_by("id")
    out("prefetch_related", [(t.name, [(e.name, sorted(x.name for x in e.participants)) for e in sorted(t.events, key=lambda e: e.id)][:2])
                             for t in tours_p])
    ann = await Tournament.annotate(n=Count("events"), total=Sum("events__prize")).order_by("name").values(
        "name", "n", "total")
    out("annotate", ann)
    ann = await Team.annotate(n=Count("events"), avg_prize=Avg("events__prize")).filter(n__gt=4).order_by("-n", "name")
    out("annotate m2m", [(t.name, t.n, round(float(t.avg_prize), 4)) for t in ann])
    out("q objects", await Event.filter(Q(prize__isnull=True) | Q(name__startswith="event2"), ~Q(tournament_id=1))
        .order_by("id").values_list("name", flat=True))
    await Team.filter(rating__lt=1050).update(rating=F("rating") + 1)
    out("f update", await Team.filter(id__lte=4).order_by("id").values_list("rating", flat=True))
    out("json filter", await Team.filter(extra__contains={"seed": 7}).values_list("name", flat=True))
    out("distinct values", await Event.all().distinct().order_by("tournament_id").values_list("tournament_id", flat=True))

    async with in_transaction() as tx:
        t = await Team.select_for_update().get(name="team5")
        t.rating = Decimal("2000.00")
        await t.save(using_db=tx)
        try:
            async with in_transaction():
                await Tournament.create(name="tour2")
        except IntegrityError:
            out("nested savepoint", "IntegrityError")
        await Tournament.create(name="tour9", using_db=tx)
    out("after transaction", [str((await Team.get(name="team5")).rating), await Tournament.filter(name="tour9").count()])
    try:
        async with in_transaction():
            await Tournament.create(name="tour10")
            raise RuntimeError("rollback")
    except RuntimeError:
        pass
    out("rolled back", await Tournament.filter(name="tour10").count())

    _, rows = await conn.execute_query("SELECT t.name, count(*) AS n FROM event_team et JOIN team t ON t.id = et.team_id "
                                       "GROUP BY t.name ORDER BY n DESC, t.name LIMIT 3")
    out("raw", [tuple(r.values()) for r in rows])
    await Tournament.filter(name="tour0").delete()
    out("cascade", await Event.all().count())
    await Tortoise.close_connections()


run_async(main())
