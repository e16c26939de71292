"""COPY ... FROM a file or a PROGRAM on the server (data loading as tutorials and scripts
write it: `COPY t FROM '/data/rows.csv' CSV HEADER`), which gridpg refused: the
coordinator reads the file, or runs the command, as the servers' system user, and routes
the rows as COPY FROM STDIN's (executor/server_files.py). Compared statement by statement
with plain PostgreSQL reading the same files: rows, errors and their SQLSTATEs (a missing
file, a directory, a failing program, a bad row, a role without pg_read_server_files),
inside a block that rolls back; and COPY ... TO a file or PROGRAM, the files compared too."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.fixture()
def files() -> Iterator[Path]:
    """A directory the servers' system user can read (the fixtures' temp dirs may not be)."""
    directory = Path(tempfile.mkdtemp(prefix="gridpg-copy-", dir="/tmp"))
    directory.chmod(0o755)
    (directory / "rows.csv").write_text('id,v,n\n201,a,2\n202,"b,c",3\n203,,\n')
    (directory / "match.csv").write_text("id,v,n\n301,m,4\n")
    (directory / "bad.txt").write_text("1\tdup\n")
    for name in ("rows.csv", "match.csv", "bad.txt"):
        (directory / name).chmod(0o644)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def _script(d: Path, role: str) -> list[str]:
    return [
        "CREATE TABLE cf (id int PRIMARY KEY, v text, n numeric DEFAULT 1)",
        "INSERT INTO cf SELECT g, 'v' || g FROM generate_series(1, 20) g",
        f"COPY cf FROM '{d}/rows.csv' WITH (FORMAT csv, HEADER)",
        "SELECT count(*), sum(id), sum(n), count(v) FROM cf",
        "COPY cf (id, v) FROM PROGRAM 'seq 1001 1010 | sed \"s/$/\tp/\"'",
        "SELECT count(*), max(id), min(v) FILTER (WHERE id > 1000) FROM cf",
        f"COPY cf FROM '{d}/missing.csv'",
        f"COPY cf FROM '{d}'",
        "COPY cf FROM PROGRAM 'exit 3'",
        f"COPY cf FROM '{d}/bad.txt'",  # 22P04 from a node: line 1
        "SELECT count(*) FROM cf",
        "BEGIN",
        "COPY cf (id, v) FROM PROGRAM 'printf \"5000\\tx\\n5001\\ty\\n\"'",
        "SELECT count(*) FROM cf WHERE id >= 5000",
        "ROLLBACK",
        "SELECT count(*) FROM cf WHERE id >= 5000",
        f"CREATE ROLE {role} LOGIN",
        f"GRANT ALL ON cf TO {role}",
        f"SET ROLE {role}",
        f"COPY cf FROM '{d}/rows.csv' WITH (FORMAT csv, HEADER)",  # 42501
        "COPY cf FROM PROGRAM 'true'",  # 42501
        "RESET ROLE",
        f"GRANT pg_read_server_files TO {role}",
        f"SET ROLE {role}",
        f"COPY cf (id, v, n) FROM '{d}/match.csv' WITH (FORMAT csv, HEADER MATCH)",
        "RESET ROLE",
        "SELECT id, v, n FROM cf WHERE id > 200 AND id < 1000 ORDER BY id",
        "DROP TABLE cf",
        f"DROP ROLE {role}",
    ]


def _run(dsn: str, schema: str, script: list[str]) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        for sql in script:
            try:
                cur = conn.execute(sql)
                out.append((cur.statusmessage, cur.fetchall() if cur.description else None))
            except psycopg.Error as exc:
                out.append(("error", exc.sqlstate, str(exc).splitlines()[0]))
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_copy_from_a_server_file_or_program(gridpg_cluster: Cluster, plain_pg: str, schema: str,
                                            files: Path) -> None:
    role = f"{schema[:40]}_cf"
    script = _script(files, role)
    want = _run(plain_pg, schema, script)
    got = _run(gridpg_cluster.dsn(0), schema, script)
    assert [w for w in want if w[0] == "error"], want  # (the errors are compared too)
    assert got == want


def _to_script(out: Path, role: str, schema: str) -> list[str]:
    return [
        "CREATE TABLE ct (id int PRIMARY KEY, v text, d date)",
        "INSERT INTO ct SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'v,' || g END, "
        "date '2024-01-01' + g FROM generate_series(1, 50) g",
        f"COPY ct TO '{out}/a.csv' WITH (FORMAT csv, HEADER)",
        f"COPY (SELECT id, v FROM ct WHERE id < 6 ORDER BY id) TO '{out}/b.txt'",
        f"COPY ct (id) TO PROGRAM 'sort -n | tail -1 > {out}/c.txt'",
        f"COPY ct TO '{out}/nodir/x.csv'",  # 58P01
        f"COPY ct TO '{out}'",  # 42809
        "COPY ct TO 'relative.csv'",  # 42602
        "COPY ct TO PROGRAM 'exit 4'",  # 38000
        f"COPY ct TO '{out}/bin.dat' WITH (FORMAT binary)",
        "TRUNCATE ct",
        f"COPY ct FROM '{out}/bin.dat' WITH (FORMAT binary)",
        "SELECT count(*), sum(id), count(v), max(d) FROM ct",
        f"CREATE ROLE {role} LOGIN",
        f"GRANT ALL ON ct TO {role}",
        f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
        f"SET ROLE {role}",
        f"COPY ct TO '{out}/d.csv'",  # 42501
        "RESET ROLE",
        f"GRANT pg_write_server_files TO {role}",
        f"SET ROLE {role}",
        f"COPY (SELECT count(*) FROM ct) TO '{out}/e.csv'",
        "RESET ROLE",
        "DROP TABLE ct",
        f'REVOKE USAGE ON SCHEMA "{schema}" FROM {role}',
        f"DROP ROLE {role}",
    ]


def test_copy_to_a_server_file_or_program(gridpg_cluster: Cluster, plain_pg: str, schema: str,
                                          files: Path) -> None:
    role = f"{schema[:40]}_ct"
    outs = {side: files / side for side in ("plain", "gridpg")}
    for out in outs.values():
        out.mkdir()
        out.chmod(0o777)
    want = _run(plain_pg, schema, _to_script(outs["plain"], role, schema))
    got = _run(gridpg_cluster.dsn(1), schema, _to_script(outs["gridpg"], role, schema))
    assert want[-1] == ("DROP ROLE", None), want[-1]
    assert got == [tuple(str(x).replace("/plain", "/gridpg") if isinstance(x, str) else x for x in w)
                   for w in want]
    for name in ("a.csv", "b.txt", "c.txt", "e.csv"):
        a, b = (outs[side] / name for side in ("plain", "gridpg"))
        assert sorted(a.read_text().splitlines()) == sorted(b.read_text().splitlines()), name
        assert a.stat().st_mode == b.stat().st_mode, name  # (0644, a program's own 0600)
    assert (outs["gridpg"] / "a.csv").read_text().startswith("id,v,d\n")
