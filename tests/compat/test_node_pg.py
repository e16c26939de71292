"""node-postgres (npm 'pg') against a coordinator: a small script prints what it reads."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(120)

NODE_DIR = Path("/tmp/gridpg-ci-cache/node")

SCRIPT = r"""
const { Client } = require('pg');
const [dsn, schema] = process.argv.slice(2);
const out = [];
(async () => {
  const client = new Client({ connectionString: dsn });
  await client.connect();
  await client.query(`SET search_path TO ${schema}`);
  await client.query('CREATE TABLE np (id int PRIMARY KEY, name text, amount numeric, big bigint, ok boolean,'
    + ' tags text[], doc jsonb) DISTRIBUTE BY HASH (id)');
  for (let i = 1; i <= 20; i++) {
    const r = await client.query('INSERT INTO np VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [i, `name ${i} ü`, `${i}.5`, `${2 ** 40 + i}`, i % 2 === 0, ['a', `t${i}`], { k: i, nested: [i, null] }]);
    if (r.rowCount !== 1) throw new Error('rowCount ' + r.rowCount);
  }
  out.push(['count', (await client.query('SELECT count(*)::int AS n FROM np')).rows[0].n]);
  const one = await client.query('SELECT * FROM np WHERE id = $1', [7]);
  out.push(['row', one.rows[0]]);
  // a named (server-prepared) statement, reused
  const names = [];
  for (let i = 1; i <= 5; i++) {
    const r = await client.query({ name: 'by_id', text: 'SELECT name FROM np WHERE id = $1', values: [i] });
    names.push(r.rows[0].name);
  }
  out.push(['named', names]);
  const agg = await client.query('SELECT sum(amount)::text AS s, max(big)::text AS m FROM np WHERE ok = $1', [true]);
  out.push(['agg', agg.rows[0]]);
  // a transaction rolled back, then one committed
  await client.query('BEGIN');
  await client.query('UPDATE np SET name = $1 WHERE id = $2', ['rolled back', 1]);
  await client.query('ROLLBACK');
  await client.query('BEGIN');
  await client.query('UPDATE np SET name = $1 WHERE id = $2', ['committed', 2]);
  await client.query('COMMIT');
  const tx = await client.query('SELECT id, name FROM np WHERE id = ANY($1::int[]) ORDER BY id', [[1, 2]]);
  out.push(['tx', tx.rows]);
  // errors carry their SQLSTATE in .code
  for (const sql of ['INSERT INTO np (id) VALUES (1)', 'SELECT * FROM np_no_such_table', 'SELEC 1']) {
    try {
      await client.query(sql);
      out.push(['error', sql, null]);
    } catch (e) {
      out.push(['error', sql, e.code]);
    }
  }
  try {
    await client.query('INSERT INTO np (id) VALUES ($1)', [1]);
  } catch (e) {
    out.push(['error', 'extended', e.code]);
  }
  out.push(['after', (await client.query('SELECT 42 AS x')).rows[0].x]);
  await client.end();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error('FAILED', e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (NODE_DIR / "node_modules" / "pg" / "package.json").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed and node-postgres is not cached")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "pg"], cwd=NODE_DIR, capture_output=True,
                           timeout=180, check=True)
        except (subprocess.SubprocessError, OSError) as e:
            pytest.skip(f"npm install pg failed: {e}")
    return NODE_DIR / "node_modules"


def test_node_postgres(node_modules: Path, gridpg_cluster: Cluster, schema: str, tmp_path: Path) -> None:
    script = tmp_path / "check.js"
    script.write_text(SCRIPT)
    proc = subprocess.run(["node", str(script), gridpg_cluster.dsn(0), schema], capture_output=True, text=True,
                          timeout=60, check=False, env={"NODE_PATH": str(node_modules), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    out = json.loads(proc.stdout)
    assert out == [
        ["count", 20],
        ["row", {"id": 7, "name": "name 7 ü", "amount": "7.5", "big": str(2**40 + 7), "ok": False,
                 "tags": ["a", "t7"], "doc": {"k": 7, "nested": [7, None]}}],
        ["named", [f"name {i} ü" for i in range(1, 6)]],
        ["agg", {"s": str(sum(i + 0.5 for i in range(2, 21, 2))), "m": str(2**40 + 20)}],
        ["tx", [{"id": 1, "name": "name 1 ü"}, {"id": 2, "name": "committed"}]],
        ["error", "INSERT INTO np (id) VALUES (1)", "23505"],
        ["error", "SELECT * FROM np_no_such_table", "42P01"],
        ["error", "SELEC 1", "42601"],
        ["error", "extended", "23505"],
        ["after", 42],
    ]
