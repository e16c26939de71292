"""The bundled psql against a coordinator: backslash commands, \\copy, and an interactive
session in tmux (Ctrl-C cancels a running query)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from gridpg.cluster.control import Cluster

pytestmark = pytest.mark.timeout(60)


def dsn_parts(dsn: str) -> dict[str, str]:
    parsed = urllib.parse.urlsplit(dsn)
    return {
        "host": parsed.hostname or "127.0.0.1", "port": str(parsed.port or 5432),
        "user": urllib.parse.unquote(parsed.username or ""),
        "password": urllib.parse.unquote(parsed.password or ""),
        "database": parsed.path.lstrip("/") or "postgres",
    }


def _env(gridpg_cluster: Cluster, schema: str) -> dict[str, str]:
    parts = dsn_parts(gridpg_cluster.dsn(0))
    env = dict(os.environ)
    env.update(PGHOST=parts["host"], PGPORT=parts["port"], PGUSER=parts["user"], PGPASSWORD=parts["password"],
               PGDATABASE=parts["database"], PGOPTIONS=f"-c search_path={schema}", PGCONNECT_TIMEOUT="10",
               PAGER="", PSQL_PAGER="", LC_ALL="C.UTF-8")
    return env


def psql(psql_bin: Path, env: dict[str, str], *args: str, stdin: str | None = None,
         cwd: Path | None = None) -> str:
    proc = subprocess.run([str(psql_bin), "-X", "-v", "ON_ERROR_STOP=1", *args], input=stdin, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, (args, stdin, proc.stdout, proc.stderr)
    return proc.stdout


@pytest.fixture()
def env(gridpg_cluster: Cluster, schema: str) -> dict[str, str]:
    return _env(gridpg_cluster, schema)


@pytest.fixture()
def tables(psql_bin: Path, env: dict[str, str], schema: str) -> None:
    psql(psql_bin, env, "-c",
         "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL, amount numeric(10,2)) DISTRIBUTE BY HASH (id);"
         "CREATE TABLE ref (code text PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;"
         "CREATE INDEX t_name_idx ON t (name);"
         "CREATE VIEW t_view AS SELECT id, name FROM t;"
         "CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1';"
         "INSERT INTO t SELECT g, 'n' || g, g / 4.0 FROM generate_series(1, 20) g;")


def test_describe_commands(psql_bin: Path, env: dict[str, str], schema: str, tables: None) -> None:
    out = psql(psql_bin, env, "-c", r"\d")
    for name in ("t", "ref", "t_view"):
        assert f" {name} " in out, out
    assert schema in out
    out = psql(psql_bin, env, "-c", r"\d+ t")
    assert f'Table "{schema}.t"' in out, out
    for piece in ("id", "integer", "name", "text", "not null", "amount", "numeric(10,2)",
                  '"t_pkey" PRIMARY KEY, btree (id)', '"t_name_idx" btree (name)'):
        assert piece in out, (piece, out)
    out = psql(psql_bin, env, "-c", rf"\dt {schema}.*")
    lines = [line for line in out.splitlines() if f" {schema} " in line]
    assert sorted(line.split("|")[1].strip() for line in lines) == ["ref", "t"], out
    assert "(2 rows)" in out
    out = psql(psql_bin, env, "-c", r"\l")
    assert "postgres" in out and "List of databases" in out, out
    out = psql(psql_bin, env, "-c", rf"\df {schema}.*")
    assert "add_one" in out and "integer" in out, out
    out = psql(psql_bin, env, "-c", r"\dn")
    assert schema in out and "public" in out, out
    out = psql(psql_bin, env, "-c", r"\du")
    assert env["PGUSER"] in out and "Superuser" in out, out
    out = psql(psql_bin, env, "-c", rf"\dv {schema}.*")
    assert "t_view" in out, out
    out = psql(psql_bin, env, "-c", rf"\di {schema}.*")
    assert "t_pkey" in out and "t_name_idx" in out, out


def test_expanded_and_timing(psql_bin: Path, env: dict[str, str], tables: None) -> None:
    out = psql(psql_bin, env, stdin="\\x\nSELECT id, name, amount FROM t WHERE id = 7;\n")
    assert "Expanded display is on." in out
    assert "-[ RECORD 1 ]" in out
    assert [line.split("|")[1].strip() for line in out.splitlines() if "|" in line] == ["7", "n7", "1.75"], out
    out = psql(psql_bin, env, stdin="\\timing\nSELECT count(*) FROM t;\n")
    assert "Timing is on." in out
    assert " 20\n" in out, out
    assert "Time: " in out and " ms" in out, out
    # -A -t output, a multi-node aggregate
    out = psql(psql_bin, env, "-A", "-t", "-c", "SELECT count(*), sum(amount) FROM t")
    assert out.strip() == "20|52.50"


def test_copy_from_and_to_file(psql_bin: Path, env: dict[str, str], tables: None, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    rows = [(100 + i, f"csv {i}, quoted" if i % 2 else f"plain{i}", f"{i}.25") for i in range(500)]
    source.write_text("".join(f'{r[0]},"{r[1]}",{r[2]}\n' for r in rows))
    out = psql(psql_bin, env, "-c", rf"\copy t from '{source}' with (format csv)")
    assert out.strip() == "COPY 500"
    assert psql(psql_bin, env, "-A", "-t", "-c", "SELECT count(*) FROM t").strip() == "520"
    assert psql(psql_bin, env, "-A", "-t", "-c", "SELECT name FROM t WHERE id = 101").strip() == "csv 1, quoted"
    target = tmp_path / "out.csv"
    out = psql(psql_bin, env, "-c", rf"\copy t to '{target}' with (format csv)")
    assert out.strip() == "COPY 520"
    lines = target.read_text().splitlines()
    assert len(lines) == 520
    want = [f"{i},n{i},{i / 4:.2f}" for i in range(1, 21)]
    want += [f'{r[0]},"{r[1]}",{r[2]}' if "," in r[1] else f"{r[0]},{r[1]},{r[2]}" for r in rows]
    assert sorted(lines) == sorted(want)
    # \copy (query) to a file, text format
    target = tmp_path / "query.txt"
    out = psql(psql_bin, env, "-c", rf"\copy (SELECT id, name FROM t WHERE id < 4 ORDER BY id) to '{target}'")
    assert out.strip() == "COPY 3"
    assert target.read_text() == "1\tn1\n2\tn2\n3\tn3\n"
    # \copy from stdin inside a script
    out = psql(psql_bin, env, stdin="\\copy t (id, name) from stdin\n900\tA\n901\t\\\\N\n\\.\n"
                                     "SELECT count(*) FROM t WHERE id >= 900;\n")
    assert "COPY 2" in out and " 2\n" in out, out


def test_copy_into_replicated_table_count(psql_bin: Path, env: dict[str, str], tables: None) -> None:
    out = psql(psql_bin, env, stdin="\\copy ref from stdin\nA\tAlpha\nB\t\\N\n\\.\nSELECT count(*) FROM ref;\n")
    assert " 2\n" in out, out
    assert "COPY 2" in out, out


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10, check=True).stdout


def _type(session: str, line: str) -> None:
    """Type one line (literally: tmux takes an argument ending in ';' as a command separator)."""
    _tmux("send-keys", "-t", session, "-l", line + " ")
    _tmux("send-keys", "-t", session, "Enter")


def _wait_pane(session: str, predicate, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session, "-S", "-200")
        if predicate(screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"timed out; screen:\n{screen}")


def test_interactive_cancel_in_tmux(psql_bin: Path, env: dict[str, str], tables: None, tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = f"gridpg_psql_{os.getpid()}_{secrets.token_hex(3)}"
    script = tmp_path / "run_psql.sh"
    exports = "".join(f"export {k}='{env[k]}'\n" for k in
                      ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS", "LC_ALL"))
    script.write_text(f"#!/bin/sh\n{exports}export PAGER=cat PSQL_PAGER=cat\nexec {psql_bin} -X\n")
    script.chmod(0o755)
    _tmux("-f", "/dev/null", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", str(script))
    try:
        _wait_pane(session, lambda s: "=#" in s, 10)
        _type(session, "\\d")
        screen = _wait_pane(session, lambda s: "List of relations" in s and s.count("=#") >= 2, 10)
        assert " t " in screen and " ref " in screen
        _type(session, "select pg_sleep(30);")
        time.sleep(0.7)
        started = time.monotonic()
        _tmux("send-keys", "-t", session, "C-c")
        screen = _wait_pane(session, lambda s: "canceling statement due to user request" in s, 3)
        assert time.monotonic() - started < 3
        _wait_pane(session, lambda s: s.rstrip().endswith("=#"), 5)
        _type(session, "select 42;")
        screen = _wait_pane(session, lambda s: "(1 row)" in s.split("select 42;")[-1], 5)
        after = screen.split("select 42;")[-1]
        assert "?column?" in after and "42" in after
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10, check=False)
