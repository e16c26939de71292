"""Node.js ORMs and query builders (knex, sequelize, typeorm, drizzle-orm, kysely,
pg-promise) against a coordinator and against plain PostgreSQL: each script in
`node_orms/` runs what the library's users run (migrations with its own bookkeeping and
lock tables, schema introspection, CRUD with RETURNING, upserts, transactions and
savepoints, eager-loaded associations, pagination, json, aggregates, raw queries) and
prints one JSON line per check; gridpg's lines must equal PostgreSQL's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(180)

NODE_DIR = Path("/tmp/gridpg-ci-cache/node")
SCRIPTS = Path(__file__).parent / "node_orms"
PACKAGES = ("pg", "knex", "sequelize", "typeorm", "reflect-metadata", "drizzle-orm", "kysely", "pg-promise")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    modules = NODE_DIR / "node_modules"
    missing = [p for p in PACKAGES if not (modules / p / "package.json").exists()]
    if missing:
        if shutil.which("npm") is None:
            pytest.skip(f"npm is not installed and {', '.join(missing)} are not cached")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", *missing], cwd=NODE_DIR,
                           capture_output=True, timeout=300, check=True)
        except (subprocess.SubprocessError, OSError) as e:
            pytest.skip(f"npm install {' '.join(missing)} failed: {e}")
    return modules


def _run(script: Path, modules: Path, dsn: str, schema: str, gridpg: bool) -> list[str]:
    env = {"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp"}
    if gridpg:
        env["GRIDPG"] = "1"
    proc = subprocess.run(["node", str(script), dsn, schema], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    assert proc.returncode == 0, (script.name, "gridpg" if gridpg else "postgresql", proc.stdout[-3000:],
                                  proc.stderr[-3000:])
    return proc.stdout.splitlines()


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.js")))
def test_orm(script: str, node_modules: Path, gridpg_cluster: Cluster, plain_pg: str,
                                         schema: str, plain_schema: str) -> None:
    """Before the fixes named in each script's checks: knex's enum migration failed (42704),
    kysely's migrator failed (0A000 for set_config() in its lock statement), knex's
    `IN (subquery) ... LIMIT $1` over tenant-distributed tables failed (42P01)."""
    path = SCRIPTS / script
    want = _run(path, node_modules, plain_pg, plain_schema, gridpg=False)
    got = _run(path, node_modules, gridpg_cluster.dsn(0), schema, gridpg=True)
    assert len(want) > 5
    assert got == want
