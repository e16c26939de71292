"""`gridpg dump` / `gridpg restore`: pg_dump through a coordinator, distribution kept.

A plain `pg_dump` through a coordinator sees the catalog server's schema (every table, as
PostgreSQL knows it) and the rows of every distributed table (COPY TO is answered by the
datanodes); the coordinator hides gridpg's internals from it (commands/dump_view.py), so
it restores into plain PostgreSQL, and into gridpg with default distribution. `gridpg
dump` also writes each table's distribution into its CREATE TABLE, in Postgres-XL's words
(`DISTRIBUTE BY HASH (col)`, as XL's own pg_dump did), so the file restores into any gridpg
cluster with psql; `--plain` leaves the clauses out, for a restore into plain PostgreSQL.

`add_distribution` is the pure text step; the rest runs the bundled client programs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from gridpg.cluster.control import Cluster, ClusterError
from gridpg.cluster.pgserver import find_pg_bin
from gridpg.sql.quote import quote_literal

METADATA_SCHEMAS = ("gridpg", "gridpg_shards")
DEFAULT_SHARD_COUNT = 32
_SEP, _RECORD = "\x1f", "\x1e"  # unit and record separators: no name holds them

# quote_ident as the server spells it, so names match pg_dump's own quoting (fmtId)
_DISTRIBUTION_QUERY = (
    "SELECT quote_ident(t.schema_name), quote_ident(t.table_name), t.method, "
    "coalesce(quote_ident(t.dist_column), ''), coalesce(t.dist_column, ''), "
    "coalesce(t.shard_count, 0), "
    "array_to_string(t.groups, ','), "
    "(SELECT string_agg(g.name, ',' ORDER BY g.name) FROM gridpg.datanode_group g) "
    "FROM gridpg.dist_table t"
)


@dataclass(frozen=True)
class Distribution:
    """One table's placement, its names already quoted as SQL identifiers."""

    qualified: str  # schema.table
    method: str  # hash | modulo | roundrobin | replication
    column: str  # quoted
    raw_column: str
    shard_count: int
    groups: tuple[str, ...]
    all_groups: tuple[str, ...]

    def clause(self) -> str:
        if self.method in ("hash", "modulo"):
            text = f"DISTRIBUTE BY {self.method.upper()} ({self.column})"
        else:
            text = f"DISTRIBUTE BY {self.method.upper()}"
        if set(self.groups) != set(self.all_groups):
            text += " TO NODE (" + ", ".join(self.groups) + ")"
        return text

    def after(self) -> str | None:
        """A statement that restores what the clause cannot say (a non-default shard count)."""
        if self.method != "hash" or self.shard_count in (0, DEFAULT_SHARD_COUNT):
            return None
        return (f"SELECT create_distributed_table({quote_literal(self.qualified)}, "
                f"{quote_literal(self.raw_column)}, shard_count => {self.shard_count});")


def parse_distributions(text: str) -> dict[str, Distribution]:
    """The metadata query's output (psql -At with the separators above) by qualified name."""
    found: dict[str, Distribution] = {}
    for line in text.split(_RECORD):
        line = line.strip("\n")
        if not line:
            continue
        schema, name, method, column, raw_column, count, groups, every = line.split(_SEP)
        qualified = f"{schema}.{name}"
        found[qualified] = Distribution(
            qualified, method, column, raw_column, int(count), tuple(g for g in groups.split(",") if g),
            tuple(g for g in every.split(",") if g),
        )
    return found


def add_distribution(dump: str, tables: dict[str, Distribution]) -> str:
    """Append each distributed table's DISTRIBUTE BY clause to its CREATE TABLE in a plain
    pg_dump script. Only CREATE TABLE statements are touched: pg_dump writes each one from
    a `CREATE [UNLOGGED] TABLE name (` line to the first line that closes it with `;`."""
    out: list[str] = []
    current: Distribution | None = None
    closed = False  # the column list's `)` seen: PARTITION BY / INHERITS / WITH may follow
    for line in dump.splitlines(keepends=True):
        if current is None:
            current, closed = _table_opened(line, tables), False
            out.append(line)
            continue
        closed = closed or line.startswith(")")
        if closed and line.rstrip().endswith(";"):
            out.append(_with_clause(line, current))
            out += _after(current)  # on the empty table, before its rows arrive
            current = None
            continue
        out.append(line)
    if current is not None:
        raise ClusterError(f"unexpected end of the dump inside CREATE TABLE {current.qualified}")
    return "".join(out)


def _table_opened(line: str, tables: dict[str, Distribution]) -> Distribution | None:
    for prefix in ("CREATE TABLE ", "CREATE UNLOGGED TABLE "):
        if line.startswith(prefix):
            name = line[len(prefix):].rstrip("\n").removesuffix(" (").strip()
            return tables.get(name)
    return None


def _with_clause(line: str, table: Distribution) -> str:
    body = line.rstrip()
    return body[:-1] + " " + table.clause() + ";\n"


def _after(table: Distribution) -> list[str]:
    statement = table.after()
    return [statement + "\n"] if statement else []


# -- running the client programs -------------------------------------------------------


def dump(cluster: Cluster, out: Path | None, plain: bool, extra: list[str]) -> str:
    """Run pg_dump through coordinator 1; return the script (also written to `out`)."""
    bin_dir = find_pg_bin(cluster.pg_bin)
    dsn = cluster.dsn(0)
    excludes = [f"--exclude-schema={s}" for s in METADATA_SCHEMAS]
    # The loopback's extension (in schema gridpg; its server and shadows are members).
    excludes.append("--exclude-extension=postgres_fdw")
    result = _run([str(bin_dir / "pg_dump"), "--no-password", *excludes, *extra, dsn])
    script = result.stdout
    if not plain:
        meta = _run([str(bin_dir / "psql"), "-XAtq", "-F", _SEP, "-R", _RECORD, "-v", "ON_ERROR_STOP=1",
                     "-c", _DISTRIBUTION_QUERY, dsn])
        script = add_distribution(script, parse_distributions(meta.stdout))
    if out is not None:
        out.write_text(script)
    return script


def restore(cluster: Cluster, source: Path) -> None:
    """Run a dump script through coordinator 1 with psql, stopping at the first error."""
    bin_dir = find_pg_bin(cluster.pg_bin)
    _run([str(bin_dir / "psql"), "-Xq", "-v", "ON_ERROR_STOP=1", "-f", str(source), cluster.dsn(0)])


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        program = Path(argv[0]).name
        raise ClusterError(f"{program} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result
