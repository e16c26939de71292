"""Alembic as its users run it: `revision --autogenerate` against a model change (its
schema introspection), `upgrade` / `downgrade` with add_column, alter_column (type with
USING, nullability, server defaults), create_index, create_foreign_key, unique and check
constraints, enum types, batch_alter_table, bulk_insert, rename, the `alembic_version`
table; and a second autogenerate after the upgrade that must find nothing to do."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import sqlalchemy as sa
from _common import args, check, out, with_search_path
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

uri, schema = args()
url = with_search_path(uri, schema).replace("postgresql://", "postgresql+psycopg://", 1)
engine = sa.create_engine(url)
work = Path(tempfile.mkdtemp(prefix="alembic-"))

ENV = '''
import sys
from alembic import context
import sqlalchemy as sa
sys.path.insert(0, {models!r})
import models

config = context.config
engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=models.metadata, compare_type=True,
                      compare_server_default=True, transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()
'''

MODELS_V1 = '''
import sqlalchemy as sa
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s"})
status = sa.Enum("draft", "published", name="post_status")
user = sa.Table("user", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("email", sa.String(120), nullable=False, unique=True),
    sa.Column("created", sa.DateTime(timezone=True), server_default=sa.text("now()")))
post = sa.Table("post", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.String(100)),
    sa.Column("status", status, nullable=False, server_default="draft"),
    sa.Column("score", sa.Integer),
    sa.Column("legacy", sa.Text))
'''

MODELS_V2 = MODELS_V1.replace(
    'sa.Column("created", sa.DateTime(timezone=True), server_default=sa.text("now()")))',
    'sa.Column("created", sa.DateTime(timezone=True), server_default=sa.text("now()")),\n'
    '    sa.Column("age", sa.Integer, nullable=False, server_default="18"),\n'
    '    sa.Column("bio", sa.Text, nullable=True),\n'
    '    sa.Index("ix_user_lower_name", sa.text("lower(name)")))',
).replace(
    'sa.Column("title", sa.String(100)),',
    'sa.Column("title", sa.String(200), nullable=False, server_default=""),',
).replace(
    '    sa.Column("legacy", sa.Text))',
    '    sa.Column("slug", sa.String(80), index=True),\n'
    '    sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("user.id")),\n'
    '    sa.CheckConstraint("score >= 0", name="score_positive"))\n'
    'tag = sa.Table("tag", metadata, sa.Column("id", sa.Integer, primary_key=True),\n'
    '    sa.Column("name", sa.String(30), nullable=False, unique=True))\n'
    'post_tag = sa.Table("post_tag", metadata,\n'
    '    sa.Column("post_id", sa.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),\n'
    '    sa.Column("tag_id", sa.ForeignKey("tag.id"), primary_key=True))',
)

HAND = '''"""hand-written: batch ops, enum, USING, rename, bulk_insert

Revision ID: r3
Revises: r2
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

revision = "r3"
down_revision = "r2"


def upgrade():
    mood = pg.ENUM("happy", "sad", name="mood", create_type=False)
    mood.create(op.get_bind(), checkfirst=True)
    op.add_column("user", sa.Column("mood", mood, server_default="happy", nullable=False))
    op.alter_column("post", "score", type_=sa.Numeric(8, 2), postgresql_using="score::numeric(8,2)")
    with op.batch_alter_table("tag") as batch:
        batch.add_column(sa.Column("color", sa.String(7), server_default="#000000"))
        batch.alter_column("name", new_column_name="label")
        batch.create_check_constraint("color_hex", "color ~ '^#[0-9a-f]{6}$'")
    op.create_table("audit", sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
                    sa.Column("post_id", sa.Integer), sa.Column("what", sa.Text),
                    sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now()))
    op.create_foreign_key("fk_audit_post", "audit", "post", ["post_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_audit_post_at", "audit", ["post_id", sa.text("at DESC")])
    audit = sa.table("audit", sa.column("post_id", sa.Integer), sa.column("what", sa.Text))
    op.bulk_insert(audit, [{"post_id": None, "what": "none"}])
    op.execute("INSERT INTO audit (post_id, what) SELECT id, 'seed' FROM post WHERE id <= 2 ORDER BY id")
    op.execute("UPDATE post SET slug = lower(replace(title, ' ', '-')) WHERE slug IS NULL")
    op.rename_table("post_tag", "post_tags")
    op.create_unique_constraint("uq_post_slug_user", "post", ["user_id", "slug"])


def downgrade():
    op.drop_constraint("uq_post_slug_user", "post", type_="unique")
    op.rename_table("post_tags", "post_tag")
    op.drop_index("ix_audit_post_at", table_name="audit")
    op.drop_constraint("fk_audit_post", "audit", type_="foreignkey")
    op.drop_table("audit")
    with op.batch_alter_table("tag") as batch:
        batch.drop_constraint("color_hex", type_="check")
        batch.alter_column("label", new_column_name="name")
        batch.drop_column("color")
    op.alter_column("post", "score", type_=sa.Integer, postgresql_using="round(score)::int")
    op.drop_column("user", "mood")
    sa.Enum(name="mood").drop(op.get_bind(), checkfirst=True)
'''


def set_models(text: str) -> None:
    (work / "models.py").write_text(text)
    for name in list(sys.modules):
        if name == "models":
            del sys.modules[name]


def diff() -> list[str]:
    sys.path.insert(0, str(work))
    import models
    with engine.connect() as c:
        ctx = MigrationContext.configure(c, opts={"compare_type": True, "compare_server_default": True})
        return sorted(re.sub(r" at 0x[0-9a-f]+", "", repr(d)) for d in compare_metadata(ctx, models.metadata))


def rows(sql: str) -> list:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text(sql))]


def upgrade_ops(rev: str) -> list[str]:
    text = (work / "versions").glob(f"{rev}_*.py")
    body = next(text).read_text()
    return [line.strip() for line in body.split("def upgrade")[1].split("def downgrade")[0].splitlines()
            if line.strip().startswith("op.") or line.strip().startswith("sa.")]


work = work / "migrations"
cfg = Config(str(work.parent / "alembic.ini"), stdout=io.StringIO())
with contextlib.redirect_stdout(io.StringIO()):
    command.init(cfg, str(work), template="generic")
cfg = Config(str(work.parent / "alembic.ini"), stdout=io.StringIO())
cfg.set_main_option("script_location", str(work))
cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
(work / "env.py").write_text(ENV.format(models=str(work)))

set_models(MODELS_V1)
with contextlib.redirect_stdout(io.StringIO()):
    command.revision(cfg, message="initial", autogenerate=True, rev_id="r1")
out("r1 ops", upgrade_ops("r1"))
command.upgrade(cfg, "head")
out("version after r1", rows("SELECT version_num FROM alembic_version"))
with engine.begin() as c:
    c.execute(sa.text("INSERT INTO \"user\" (id, name, email) SELECT g, 'User ' || g, 'u' || g || '@x.org' "
                      "FROM generate_series(1, 30) g"))
    c.execute(sa.text("INSERT INTO post (id, user_id, title, status, score, legacy) SELECT g, 1 + g % 30, "
                      "'Post ' || g, CASE WHEN g % 3 = 0 THEN 'published' ELSE 'draft' END::post_status, g, 'x' "
                      "FROM generate_series(1, 60) g"))
out("no diff after r1", diff())

set_models(MODELS_V2)
out("diff v2", diff())
with contextlib.redirect_stdout(io.StringIO()):
    command.revision(cfg, message="v2", autogenerate=True, rev_id="r2")
out("r2 ops", upgrade_ops("r2"))
check("upgrade r2", lambda: command.upgrade(cfg, "head"))
out("no diff after r2", diff())
out("user after r2", rows("SELECT id, age, bio FROM \"user\" ORDER BY id LIMIT 3"))
out("post after r2", rows("SELECT count(*), count(DISTINCT title), min(score) FROM post"))
check("check constraint", lambda: rows("INSERT INTO post (id, user_id, title, score) VALUES (999, 1, 't', -1) RETURNING id"))

(work / "versions" / "r3_hand.py").write_text(HAND)
check("upgrade r3", lambda: command.upgrade(cfg, "head"))
out("version after r3", rows("SELECT version_num FROM alembic_version"))
out("audit", rows("SELECT id, post_id, what FROM audit ORDER BY id"))
out("tag columns", rows("SELECT column_name, column_default FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = 'tag' ORDER BY ordinal_position"))
out("score type", rows("SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
                       "WHERE table_schema = current_schema() AND table_name = 'post' AND column_name = 'score'"))
out("slugs", rows("SELECT slug FROM post ORDER BY id LIMIT 3"))
out("moods", rows("SELECT mood::text, count(*) FROM \"user\" GROUP BY 1"))
check("duplicate slug", lambda: rows("UPDATE post SET slug = 'post-1' WHERE id = 31 RETURNING id"))
out("diff after r3 (hand-written, not in the model)", diff())

with engine.begin() as c:
    c.execute(sa.text("DELETE FROM \"user\" WHERE id = 2"))
out("cascade", rows("SELECT count(*) FROM post"))
check("downgrade r2", lambda: command.downgrade(cfg, "r2"))
out("version after downgrade", rows("SELECT version_num FROM alembic_version"))
out("score back", rows("SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                       "AND table_name = 'post' AND column_name = 'score'"))
out("mood type gone", rows("SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                           "WHERE n.nspname = current_schema() AND t.typname = 'mood'"))
check("downgrade base", lambda: command.downgrade(cfg, "base"))
out("tables at base", rows("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                           "ORDER BY 1"))
with engine.begin() as c:
    c.execute(sa.text("DROP TYPE post_status"))  # Alembic's autogenerated downgrade leaves it
check("upgrade head again", lambda: command.upgrade(cfg, "head"))
out("version at head", rows("SELECT version_num FROM alembic_version"))
out("heads", [ScriptDirectory.from_config(cfg).get_current_head()])
with engine.connect() as c:
    out("current", MigrationContext.configure(c).get_current_revision())
out("no diff at head but the hand-written changes", diff())
