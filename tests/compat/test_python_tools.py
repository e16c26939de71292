"""Python database tools (psycopg2, pandas, Alembic, peewee, SQLModel and SQLAlchemy's
asyncio ORM over asyncpg, Tortoise ORM, Pony ORM, pg8000, aiopg) against a coordinator and against plain
PostgreSQL: each script in `python_tools/` runs what the tool's users run (migrations with
the tool's own bookkeeping, autogenerate's introspection, bulk loads, upserts, savepoints,
server-side cursors, COPY, eager loading, window functions, json and arrays) over tables
gridpg distributes by default, and prints one JSON line per check; gridpg's lines must
equal PostgreSQL's. A script whose tool is not installed is skipped."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(120)

SCRIPTS = Path(__file__).parent / "python_tools"
# the modules each script needs
NEEDS = {
    "psycopg2_extras.py": ("psycopg2",),
    "pandas_sql.py": ("pandas", "psycopg2"),
    "alembic_migrations.py": ("alembic",),
    "peewee_models.py": ("peewee", "psycopg2"),
    "sqlmodel_async.py": ("sqlmodel", "asyncpg", "greenlet"),
    "tortoise_models.py": ("tortoise", "asyncpg"),
    "pony_models.py": ("pony", "psycopg2"),
    "pg8000_aiopg.py": ("pg8000", "aiopg"),
}


def _start(script: Path, dsn: str, schema: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(script), dsn, schema], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=SCRIPTS)


def _finish(proc: subprocess.Popen[str], script: Path, which: str) -> list[str]:
    try:
        stdout, stderr = proc.communicate(timeout=100)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    assert proc.returncode == 0, (script.name, which, stdout[-3000:], stderr[-3000:])
    return stdout.splitlines()


@pytest.mark.parametrize("script", sorted(NEEDS))
def test_tool(script: str, gridpg_cluster: Cluster, plain_pg: str, schema: str, plain_schema: str) -> None:
    """Before the fixes named in docs/architecture.md ("Python tools"): every Alembic
    migration after the first failed at COMMIT (0A000: the UPDATE of alembic_version's key
    moved its row through a temp table on the catalog server), and psycopg2's
    `copy_expert("COPY (SELECT ...) TO STDOUT")` followed by DDL in the same transaction
    failed the same way."""
    missing = [m for m in NEEDS[script] if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    path = SCRIPTS / script
    # both at once: the scripts work in their own schemas on separate servers
    plain = _start(path, plain_pg, plain_schema)
    subject = _start(path, gridpg_cluster.dsn(0), schema)
    want = _finish(plain, path, "postgresql")
    got = _finish(subject, path, "gridpg")
    assert len(want) > 5
    assert got == want
