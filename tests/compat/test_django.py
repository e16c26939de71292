"""The Django ORM (5.x, psycopg 3) against a coordinator: migrations that give populated
tables gridpg distributed by default a unique field, and the statements Django writes for
select_related, select_for_update().get() / update_or_create and Exists() updates. Each
step names what gridpg did before it was fixed."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster

django = pytest.importorskip("django")

pytestmark = pytest.mark.timeout(120)

SCHEMA = "t_django_orm"

MODELS = '''
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=50, unique=True)
    rank = models.IntegerField(null=True)


class Event(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10)
    seq = models.IntegerField()
    amount = models.DecimalField(max_digits=8, decimal_places=2, null=True)
'''


@pytest.fixture(scope="module")
def orm(gridpg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Django configured once for this process, on a schema of its own; the app `gpshop`
    (models written above, tables made by migrate --run-syncdb)."""
    from django.conf import settings

    if settings.configured:
        pytest.skip("Django was configured by another test module")
    root = tmp_path_factory.mktemp("django")
    app = root / "gpshop"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(textwrap.dedent(MODELS))
    sys.path.insert(0, str(root))
    dsn = psycopg.conninfo.conninfo_to_dict(gridpg_cluster.dsn(0))
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
    settings.configure(
        USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "gpshop"],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.postgresql", "NAME": dsn["dbname"], "USER": dsn["user"],
            "PASSWORD": dsn.get("password", ""), "HOST": dsn["host"], "PORT": dsn["port"],
            "OPTIONS": {"options": f"-c search_path={SCHEMA}"},
        }},
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    from gpshop import models  # type: ignore[import-not-found]

    authors = models.Author.objects.bulk_create(
        [models.Author(name=f"a{i:02d}", rank=i % 4 or None) for i in range(12)])
    models.Event.objects.bulk_create(
        [models.Event(author=authors[i % 12], kind=("view", "buy", "like")[i % 3], seq=i,
                      amount=Decimal(i) / 4 if i % 5 else None) for i in range(240)])
    try:
        yield models
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        sys.path.remove(str(root))


def _placement(cluster: Cluster, table: str) -> str:
    with psycopg.connect(cluster.dsn(0)) as conn:
        row = conn.execute("SELECT method FROM gridpg.dist_table WHERE schema_name = %s AND table_name = %s",
                           (SCHEMA, table)).fetchone()
    assert row is not None
    return str(row[0])


def test_orm_statements_over_a_hash_table(gridpg_cluster: Cluster, orm: Any) -> None:
    from django.db import transaction
    from django.db.models import Exists, OuterRef

    Author, Event = orm.Author, orm.Event
    assert _placement(gridpg_cluster, "gpshop_event") == "hash"
    assert _placement(gridpg_cluster, "gpshop_author") == "replication"
    # select_related: two output columns named id (the sorted merge refused them and the
    # statement gathered both tables whole; with FOR UPDATE it was refused, 0A000)
    rows = [(e.seq, e.author.name, e.author.id == e.author_id) for e in
            Event.objects.select_related("author").filter(author__rank=1).order_by("-seq")[2:5]]
    ranked_one = sorted((seq for seq in range(240) if seq % 12 % 4 == 1), reverse=True)
    assert rows == [(seq, f"a{seq % 12:02d}", True) for seq in ranked_one[2:5]]
    with transaction.atomic():
        locked = list(Event.objects.select_related("author").select_for_update(of=("self",), skip_locked=True)
                      .filter(kind="buy").order_by("seq")[:3])
        assert [(e.seq, e.author.name) for e in locked] == [(1, "a01"), (4, "a04"), (7, "a07")]
    # select_for_update().get() and update_or_create on a column other than the
    # distribution column: `LIMIT 21 FOR UPDATE` without ORDER BY (was 0A000)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(seq=77)
        assert (event.kind, event.amount) == ("like", Decimal("19.25"))
    # select_for_update().first() / order_by()[:1]: ORDER BY ... LIMIT 1 FOR UPDATE whose
    # lock waits, over both nodes (was 0A000)
    with transaction.atomic():
        first = Event.objects.select_for_update().filter(kind="like").first()
        assert first is not None and first.seq == 2
        top = list(Event.objects.select_for_update(no_key=True).order_by("-amount", "seq")[:1])
        assert [(e.seq, e.amount) for e in top] == [(0, None)]  # NULLs first under DESC, as in PostgreSQL
    event, created = Event.objects.update_or_create(seq=77, defaults={"kind": "done"})
    assert not created and Event.objects.get(seq=77).kind == "done"
    event, created = Event.objects.update_or_create(seq=1000, defaults={"kind": "new", "author": Author.objects.get(name="a03")})
    assert created and Event.objects.filter(seq=1000, kind="new").count() == 1
    # an UPDATE of the replicated table with Exists() (EXISTS (... LIMIT 1)): was refused
    # as a sub-select whose LIMIT each replica might cut differently
    busy = Exists(Event.objects.filter(author=OuterRef("pk"), amount__gt=Decimal("58")))
    expected = sorted({seq % 12 for seq in range(233, 240) if seq % 5})
    assert Author.objects.filter(busy).update(rank=100) == len(expected)
    assert sorted(Author.objects.filter(rank=100).values_list("name", flat=True)) == [f"a{i:02d}" for i in expected]


def test_add_unique_field_to_a_populated_default_table(gridpg_cluster: Cluster, orm: Any) -> None:
    """AddField(unique=True) then AlterField in one migration's transaction: the table
    becomes replicated, rebuilt with its rows. The rows' copy missed the new column (22P04)
    and, once that was fixed, the rebuilt table's deferred foreign key left a check per row
    pending, so the next ALTER TABLE failed (55006)."""
    from django.db import connection, models, transaction

    Event = orm.Event
    before = Event.objects.count(), sum(Event.objects.values_list("seq", flat=True))
    code = models.CharField(max_length=12, null=True, unique=True)
    code.set_attributes_from_name("code")
    score = models.IntegerField(default=7)
    score.set_attributes_from_name("score")
    old_amount = Event._meta.get_field("amount")
    new_amount = models.FloatField(null=True)
    new_amount.set_attributes_from_name("amount")
    new_amount.model = Event
    with transaction.atomic(), connection.schema_editor(atomic=False) as editor:
        editor.add_field(Event, code)
        editor.add_field(Event, score)
        editor.alter_field(Event, old_amount, new_amount)
    assert _placement(gridpg_cluster, "gpshop_event") == "replication"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(seq), count(code), sum(score), pg_typeof(min(amount))::text "
                       "FROM gpshop_event")
        assert cursor.fetchone() == (*before, 0, 7 * before[0], "double precision")
        cursor.execute("INSERT INTO gpshop_event (author_id, kind, seq, score) "
                       "SELECT id, 'x', 5000, 1 FROM gpshop_author WHERE name = 'a01' RETURNING seq, code")
        assert cursor.fetchone() == (5000, None)
        cursor.execute("SELECT count(*) FROM gpshop_event WHERE seq = 5000")
        assert cursor.fetchone() == (1,)
