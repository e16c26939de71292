"""peewee as its users write it: models and create_tables, playhouse.migrate (add, rename,
drop columns, indexes, NOT NULL, type changes), insert_many with returning, upserts
(on_conflict with conflict_target, preserve and update), nested atomic() blocks
(savepoints), window functions, fn.* calls, prefetch, get_or_create, bulk_update,
subqueries, CASE, JSONB and array fields and server-side cursors (playhouse.postgres_ext)."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import args, check, out, parts
from peewee import (
    JOIN,
    SQL,
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    DecimalField,
    ForeignKeyField,
    IntegerField,
    IntegrityError,
    Model,
    TextField,
    Window,
    fn,
    prefetch,
)
from playhouse.migrate import PostgresqlMigrator, migrate
from playhouse.postgres_ext import ArrayField, BinaryJSONField, PostgresqlExtDatabase, ServerSide

uri, schema = args()
p = parts(uri)
db = PostgresqlExtDatabase(p["database"], host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                           options=f"-csearch_path={schema}", register_hstore=False)


class Base(Model):
    class Meta:
        database = db


class Author(Base):
    name = CharField(unique=True)
    country = CharField(null=True)
    joined = DateTimeField(default=lambda: dt.datetime(2024, 1, 1, 12, 0))


class Book(Base):
    author = ForeignKeyField(Author, backref="books", on_delete="CASCADE")
    title = CharField()
    pages = IntegerField()
    price = DecimalField(max_digits=8, decimal_places=2)
    tags = ArrayField(CharField, null=True)
    meta = BinaryJSONField(null=True)
    in_print = BooleanField(default=True)


class Review(Base):
    book = ForeignKeyField(Book, backref="reviews", on_delete="CASCADE")
    stars = IntegerField()
    body = TextField(null=True)


class Counter(Base):
    key = CharField(primary_key=True)
    hits = IntegerField(default=0)


db.connect()
db.create_tables([Author, Book, Review, Counter])
out("tables", sorted(db.get_tables()))
out("indexes", sorted((i.name, i.columns, i.unique) for t in ("author", "book", "review") for i in db.get_indexes(t)))
out("foreign keys", [(f.column, f.dest_table) for f in db.get_foreign_keys("book")])

with db.atomic():
    ids = list(Author.insert_many([{"name": f"author{i}", "country": ["no", "pe", "in"][i % 3]} for i in range(12)])
               .returning(Author.id, Author.name).tuples().execute())
out("insert_many returning", ids)
rows = []
for i in range(60):
    rows.append({"author": ids[i % 12][0], "title": f"book {i:02d}", "pages": 80 + (i * 37) % 400,
                 "price": Decimal(f"{5 + i % 20}.{i % 100:02d}"), "tags": ["a", "b"][: i % 3],
                 "meta": {"ed": i % 4, "lang": ["en", "es"][i % 2]}})
Book.insert_many(rows).execute()
Review.insert_many([{"book": 1 + i % 60, "stars": 1 + (i * 7) % 5, "body": None if i % 4 else "ok"}
                    for i in range(150)]).execute()

# upserts
Counter.insert(key="home", hits=1).execute()
for k in ("home", "home", "about"):
    Counter.insert(key=k, hits=1).on_conflict(conflict_target=[Counter.key],
                                              update={Counter.hits: Counter.hits + 1}).execute()
Counter.insert(key="about", hits=100).on_conflict_ignore().execute()
out("upsert update", list(Counter.select().order_by(Counter.key).tuples()))
q = (Author.insert(name="author3", country="xx").on_conflict(conflict_target=[Author.name],
     preserve=[Author.country]).returning(Author.id, Author.country))
out("upsert preserve returning", list(q.tuples().execute()))

# nested atomic: savepoints
with db.atomic() as outer:
    Author.create(name="temp1")
    try:
        with db.atomic():
            Author.create(name="temp2")
            Author.create(name="author1")  # unique violation
    except IntegrityError as e:
        out("savepoint integrity error", type(e).__name__)
    with db.atomic() as inner:
        Author.create(name="temp3")
        inner.rollback()
out("after nested atomic", sorted(a.name for a in Author.select().where(Author.name.startswith("temp"))))

# window functions and fn.* calls
w = Window(partition_by=[Book.author], order_by=[Book.price.desc(), Book.id])
q = (Book.select(Book.id, Book.author, Book.price, fn.RANK().over(window=w).alias("rnk"),
                 fn.SUM(Book.pages).over(partition_by=[Book.author]).alias("author_pages"))
     .window(w).order_by(Book.author, SQL("rnk"), Book.id).limit(8))
out("window", [(b.id, b.author_id, b.price, b.rnk, b.author_pages) for b in q])
q = (Book.select(Book.id, fn.LAG(Book.price).over(order_by=[Book.id]).alias("prev"),
                 fn.ROW_NUMBER().over(order_by=[Book.pages.desc(), Book.id]).alias("rn"))
     .order_by(Book.id).limit(5))
out("lag row_number", [(b.id, b.prev, b.rn) for b in q])
q = (Author.select(Author.country, fn.COUNT(Book.id).alias("n"), fn.AVG(Book.pages).alias("avg_pages"),
                   fn.STRING_AGG(Book.title, SQL("', ' ORDER BY title")).alias("titles"))
     .join(Book, JOIN.LEFT_OUTER).group_by(Author.country).having(fn.COUNT(Book.id) > 0).order_by(Author.country))
out("group by having", [(a.country, a.n, round(float(a.avg_pages), 4), a.titles[:40]) for a in q])
q = Author.select(Author.name, fn.COALESCE(fn.MAX(Review.stars), 0).alias("best")).join(
    Book, JOIN.LEFT_OUTER).join(Review, JOIN.LEFT_OUTER).group_by(Author.name).order_by(Author.name)
out("three-way left join", [(a.name, a.best) for a in q])
out("fn lower/length", list(Author.select(fn.LOWER(fn.CONCAT(Author.name, "-", Author.country)), fn.LENGTH(Author.name))
                           .where(Author.id <= 3).order_by(Author.id).tuples()))
out("date_trunc", list(Author.select(fn.date_trunc("month", Author.joined), fn.COUNT(Author.id))
                      .group_by(fn.date_trunc("month", Author.joined)).tuples()))

# subqueries, CASE, IN, EXISTS
cheap = Book.select(Book.author).where(Book.price < 8)
out("in subquery", [a.name for a in Author.select().where(Author.id.in_(cheap)).order_by(Author.id)])
has_5 = Review.select().where((Review.book == Book.id) & (Review.stars == 5))
out("exists", Book.select().where(fn.EXISTS(has_5)).count())
size = Case(None, [(Book.pages < 150, "short"), (Book.pages < 300, "medium")], "long")
out("case", list(Book.select(size.alias("size"), fn.COUNT(Book.id)).group_by(size).order_by(size).tuples()))
out("scalar subquery", list(Author.select(Author.name, Book.select(fn.COUNT(Book.id)).where(Book.author == Author.id)
                                          .alias("books")).order_by(Author.id).limit(3).tuples()))

# prefetch and backrefs
authors = prefetch(Author.select().where(Author.country == "pe").order_by(Author.id), Book.select().order_by(Book.id),
                   Review.select().order_by(Review.id))
out("prefetch", [(a.name, [(b.title, len(b.reviews)) for b in a.books][:3]) for a in authors])
a1 = Author.get(Author.name == "author1")
out("backref", [b.title for b in a1.books.order_by(Book.title)])

# json and arrays
out("json path", list(Book.select(Book.id).where(Book.meta["lang"] == "es", Book.meta["ed"] == "3").order_by(Book.id)
                     .tuples()))
out("json contains", Book.select().where(Book.meta.contains({"ed": 1})).count())
out("array contains", list(Book.select(Book.id).where(Book.tags.contains("b")).order_by(Book.id).limit(5).tuples()))
out("array index", list(Book.select(Book.tags[0]).where(Book.id <= 3).order_by(Book.id).tuples()))

# get_or_create, bulk_update, update/delete returning
obj, created = Author.get_or_create(name="author2", defaults={"country": "zz"})
out("get_or_create existing", (obj.name, obj.country, created))
obj, created = Author.get_or_create(name="author99", defaults={"country": "zz"})
out("get_or_create new", (obj.name, obj.country, created))
books = list(Book.select().where(Book.id <= 5).order_by(Book.id))
for b in books:
    b.pages += 1000
Book.bulk_update(books, fields=[Book.pages], batch_size=2)
out("bulk_update", list(Book.select(Book.id, Book.pages).where(Book.id <= 5).order_by(Book.id).tuples()))
q = Book.update(in_print=False).where(Book.pages > 1000).returning(Book.id, Book.in_print)
out("update returning", sorted(q.tuples().execute()))
q = Review.delete().where(Review.stars == 1).returning(Review.id)
out("delete returning", sorted(r[0] for r in q.tuples().execute()))
out("cascade delete", Author.delete().where(Author.name == "author0").execute())
out("books left", Book.select().count())

# server-side cursor
with db.atomic():
    out("server side", sum(1 for _ in ServerSide(Book.select().order_by(Book.id), array_size=7)))

# playhouse.migrate
migrator = PostgresqlMigrator(db)
with db.atomic():
    migrate(
        migrator.add_column("author", "rating", IntegerField(default=3)),
        migrator.add_column("book", "isbn", CharField(null=True)),
        migrator.rename_column("book", "pages", "page_count"),
        migrator.add_index("book", ("isbn",), True),
        migrator.add_not_null("book", "title"),
        migrator.drop_not_null("author", "country"),
        migrator.alter_column_type("review", "stars", DecimalField(max_digits=3, decimal_places=1)),
        migrator.add_column_default("author", "country", "no"),
        migrator.rename_table("counter", "page_counter"),
    )
out("migrated columns", [(c.name, c.data_type, c.null, c.default) for c in db.get_columns("author")])
out("rating default filled", list(Author.select(fn.MIN(SQL("rating")), fn.MAX(SQL("rating"))).tuples()))
out("renamed", db.execute_sql("SELECT count(*), max(page_count) FROM book").fetchall())
db.execute_sql("UPDATE book SET isbn = 'isbn-' || id WHERE mod(id, 2) = 0")
check("unique isbn index", lambda: db.execute_sql("UPDATE book SET isbn = 'same' WHERE id IN (2, 4)").rowcount)
db.rollback() if not db.in_transaction() else None
out("stars type", db.execute_sql("SELECT stars FROM review ORDER BY id LIMIT 3").fetchall())
out("page_counter", db.execute_sql("SELECT * FROM page_counter ORDER BY key").fetchall())
with db.atomic():
    migrate(migrator.drop_index("book", "book_isbn"), migrator.drop_column("book", "isbn"))
out("tables at end", sorted(db.get_tables()))
db.close()
