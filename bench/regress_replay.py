"""Replay PostgreSQL's own regression files through gridpg and plain PostgreSQL (opt-in).

    python bench/regress_replay.py /path/to/postgresql-18 [--files a,b,c] [--timeout 10]
        [--budget 900] [--report /tmp/regress-report.txt] [--no-record] [--keep]
        [--schedule FILE] [--plain-setup FILE]

The argument is a PostgreSQL source checkout (its src/test/regress/sql/*.sql, data/ and
parallel_schedule are used) or a directory holding the .sql files (and data/). Those files
are PostgreSQL's, not ours: nothing of them is shipped, and this script is not run in CI.
Other projects' regression files (Citus's src/test/regress/sql, Postgres-XL's, a corpus
of user SQL) replay the same way: `--files all` (the default for a directory that is not
a PostgreSQL checkout) takes every .sql file, in the order of `--schedule FILE` (lines
`test: a b c`, the format of PostgreSQL's and Citus's schedules) when given, else sorted.
`--plain-setup FILE` runs a script on plain PostgreSQL once before the first file, not
compared: stand-ins there for functions gridpg itself answers (Citus's
create_distributed_table() and the like, as no-ops), so the statements after them compare
the rows. `\\c` to a port other than the coordinator's (Citus's `\\c - - - :worker_1_port`)
starts statements addressed to a worker node: they are skipped (counted as skipped) until
the next `\\c` back; the psql variables master_port, worker_1_port, worker_2_port (and
*_host) are set for that.

It starts a fresh gridpg cluster and one plain PostgreSQL 18 with bench/common.py (the
product's cluster code), then reads each chosen file as psql would (bench/psql_script.py)
in parallel_schedule order, one session per side, all files in the one `postgres`
database (later files use the tables of earlier ones, as under pg_regress; tables get
gridpg's default distribution). Each statement runs on both and the outcomes are compared
(bench/replay_compare.py). psql meta-commands: \\set, \\unset, \\getenv, \\if/\\elif/
\\else/\\endif, \\gset, \\gexec, \\c (a new session on both), \\copy to stdout and from a
file are carried out; `COPY ... FROM 'file'` is sent as COPY FROM STDIN with the file's
bytes (the file is on this machine, not on a datanode); every other meta-command (\\d,
\\pset, \\echo, ...) is skipped and counted as skipped.

Writes a per-file table and every difference (statement, plain's outcome, gridpg's) to the
report file, prints the summary and appends it to bench/RESULTS.md.

A statement that times out (cancelled at --timeout, the socket cut at twice that) or loses
its connection on either side gives both sides a new session, and each runs the file's
SET/RESET statements again (those it ran outside a block): the rest of the file reads the
same objects on both sides, as it did before.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import append_results, command_line, environment, log, machine_info, machine_markdown
from psql_script import Meta, Statement, interpolate, meta_args, read_script
from replay_compare import BROKEN_STATE, TIMEOUT_STATE, Outcome, agree, connect, run, statement_kind

CORE = ["test_setup", "boolean", "char", "name", "varchar", "text", "int2", "int4", "int8", "oid", "float4", "float8", "bit", "numeric", "uuid", "enum", "money", "strings", "md5", "numerology", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "inet", "macaddr", "comments", "expressions", "copy", "copyselect", "copydml", "insert", "insert_conflict", "create_misc", "create_table", "create_schema", "constraints", "select", "errors", "select_into", "select_distinct", "select_distinct_on", "select_implicit", "select_having", "subselect", "union", "case", "join", "aggregates", "transactions", "portals", "arrays", "update", "delete", "namespace", "groupingsets", "window", "limit", "copy2", "prepare", "truncate", "sequence", "rowtypes", "returning", "with", "json", "jsonb"]


@dataclass
class Side:
    """One server's session and its psql variables."""

    name: str
    dsn: str
    conn: object = None
    variables: dict[str, str] = field(default_factory=dict)
    # The session's own SET/RESET statements since the file's (or `\c`'s) new session, run
    # again on the session a timeout or a cut connection replaces it with (Replay._recover).
    settings: list[str] = field(default_factory=list)

    def reconnect(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # a cut connection may not close cleanly
                self.conn.close()
        self.conn = connect(self.dsn)
        self.settings.clear()


@dataclass
class FileResult:
    name: str
    compared: int = 0
    agreed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    note: str = ""
    # (line, sql, plain, gridpg, why it counts as a follow-on: the names it shares with
    # earlier differences, or "aborted block"; "" when it does not)
    differences: list[tuple[int, str, Outcome, Outcome, str]] = field(default_factory=list)
    follow_on: int = 0  # differences on objects whose creation already differed


class Replay:
    """The state of one replay: both sides, the source tree, the deadline."""

    def __init__(self, plain: Side, grid: Side, regress_dir: Path, timeout: float, deadline: float,
                 xl: bool = False):
        self.plain, self.grid, self.xl = plain, grid, xl
        self.regress_dir, self.timeout, self.deadline = regress_dir, timeout, deadline
        # Objects whose creation or contents already differ: later differences that name
        # them are counted as follow-on differences.
        self.missing: set[str] = set()
        self.cursors: dict[str, str] = {}  # cursor name -> whether its query has ORDER BY
        self.on_worker = False  # after `\\c` to a Citus worker's port: statements skipped
        env = {"PG_ABS_SRCDIR": str(regress_dir), "PG_ABS_BUILDDIR": "/tmp", "PG_LIBDIR": "/nonexistent",
               "PG_DLSUFFIX": ".so"}
        self.env = env

    def replay_file(self, name: str, text: str) -> FileResult:
        """One file in a new session on each side, as pg_regress runs one psql per file."""
        res = FileResult(name)
        self.plain.reconnect()
        self.grid.reconnect()
        self.on_worker = False
        for side in (self.plain, self.grid):
            side.variables.clear()
            side.variables.update(_NODE_VARIABLES)
            side.variables["abs_srcdir"] = str(self.regress_dir)
        t0 = time.monotonic()
        conditions: list[tuple[bool, bool]] = []  # (branch active, some branch taken)
        for item in read_script(text):
            if time.monotonic() > self.deadline:
                res.note = "stopped: total time budget used up"
                break
            active = all(c[0] for c in conditions)
            if isinstance(item, Meta):
                self._meta(item, conditions, active, res)
            elif active and self.on_worker:
                res.skipped += 1
            elif active:
                self._statement(item, res)
        res.seconds = time.monotonic() - t0
        return res

    # -- statements ----------------------------------------------------------------------

    def _statement(self, st: Statement, res: FileResult) -> None:
        meta = st.meta.split()[0] if st.meta else ""
        if meta in ("gdesc", "crosstabview", "bind", "bind_named"):
            res.skipped += 1
            return
        sql = st.sql
        if self.xl and _is_xl_command(sql):
            res.skipped += 1
            return
        outcomes = []
        for side in (self.plain, self.grid):
            text, data = interpolate(sql, side.variables), st.copy_data
            if self.xl and side is self.plain:
                text = _without_xl_clauses(text)
            if data is None and re.match(r"(?is)^copy\b.*\bfrom\s+'", _strip_leading_comments(text)):
                text, data = self._file_copy(text)
            outcomes.append(self._run(side, text, data))
        self._recover(outcomes)
        self._record(res, st.line, sql, outcomes[0], outcomes[1])
        if meta == "gset":
            self._gset(outcomes, st.meta)
        elif meta == "gexec":
            self._gexec(st, outcomes, res)

    def _run(self, side: Side, sql: str, data: str | None) -> Outcome:
        out = run(side.conn, sql, data, self.timeout)
        if out.ok and is_session_setting(sql) and not side.conn.broken \
                and side.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            side.settings.append(sql)  # in effect for the session (not inside a block)
        return out

    def _recover(self, outcomes: list[Outcome]) -> None:
        """After a statement that timed out or cut the connection on either side, both sides
        get a new session (open blocks, temp tables and prepared statements are gone on
        both), and each runs its file's SETs again, uncompared: the rest of the file must
        read what it read before, on both sides. (Only the failing side's reconnecting, the
        settings not restored, left it on the default search_path: with_basics.sql, after
        a timeout at 446, read public.users_table on one side and with_basics.users_table
        on the other, and 458/496 "differed".)"""
        sides = (self.plain, self.grid)
        if not any(o.sqlstate in (BROKEN_STATE, TIMEOUT_STATE) for o in outcomes) \
                and not any(side.conn.broken for side in sides):
            return
        for side in sides:
            settings = list(side.settings)
            side.reconnect()
            for sql in settings:
                if run(side.conn, sql, None, self.timeout).ok:
                    side.settings.append(sql)

    def _file_copy(self, sql: str) -> tuple[str, str | None]:
        """`COPY t FROM '<file>'` becomes COPY FROM STDIN with the file's bytes."""
        m = re.match(r"(?is)^(.*\bfrom\s+)'([^']*)'(.*)$", _strip_leading_comments(sql))
        if not m or not Path(m.group(2)).is_file():
            return sql, None
        data = Path(m.group(2)).read_bytes().decode("utf-8", "surrogateescape")
        return m.group(1) + "STDIN" + m.group(3), data

    def _record(self, res: FileResult, line: int, sql: str, plain: Outcome, grid: Outcome) -> None:
        res.compared += 1
        kind = statement_kind(sql)
        if kind.startswith("cursor-") and plain.ok:
            name = sql.split()[1].lower() if len(sql.split()) > 1 else ""
            self.cursors[name] = kind
        elif kind.startswith("fetch:"):
            # FETCH from a cursor without ORDER BY: any rows are right, in any order
            kind = "count" if self.cursors.get(kind[6:].lower()) == "cursor-unordered" else "ordered"
        if agree(sql, plain, grid, kind if kind in ("count", "ordered") else ""):
            res.agreed += 1
            return
        shared = sorted(set(re.findall(r"[a-z_][a-z0-9_]*", sql.lower())) & self.missing)
        follows = ", ".join(shared) or (  # an earlier failure in the block
            "aborted block" if grid.sqlstate == "25P02" and plain.sqlstate != "25P02" else "")
        res.follow_on += bool(follows)
        res.differences.append((line, sql, plain, grid, follows))
        text = _strip_leading_comments(sql)
        changed = [m.group(1) for m in (_CREATED.match(text), _WRITTEN.match(text)) if m]
        if text[:4].lower() == "with":  # the tables a data-modifying WITH writes
            changed += _WRITTEN_IN_WITH.findall(text)
        if plain.ok or grid.ok:
            self.missing.update(name.lower().split(".")[-1].strip('"') for name in changed)

    def _gset(self, outcomes: list[Outcome], meta: str) -> None:
        prefix = meta.split()[1] if len(meta.split()) > 1 else ""
        for side, out in zip((self.plain, self.grid), outcomes, strict=True):
            if out.ok and out.has_rows and len(out.rows) == 1:
                for col, value in zip(out.columns, out.rows[0], strict=True):
                    if value is not None:
                        side.variables[prefix + col] = value

    def _gexec(self, st: Statement, outcomes: list[Outcome], res: FileResult) -> None:
        cells = [[v for row in o.rows for v in row if v is not None] if o.ok else [] for o in outcomes]
        for i in range(max(len(cells[0]), len(cells[1]))):
            pair = [self._run(side, c[i], None) if i < len(c) else Outcome(False, "absent", "no such cell")
                    for side, c in zip((self.plain, self.grid), cells, strict=True)]
            self._recover(pair)
            self._record(res, st.line, cells[0][i] if i < len(cells[0]) else cells[1][i], pair[0], pair[1])

    # -- meta-commands -------------------------------------------------------------------

    def _meta(self, m: Meta, conditions: list[tuple[bool, bool]], active: bool, res: FileResult) -> None:
        word, _, rest = m.command.partition(" ")
        word = word.strip()
        if word in ("if", "elif", "else", "endif"):
            self._conditional(word, rest, conditions, active)
            return
        if not active:
            return
        handler = {"set": self._set, "unset": self._unset, "getenv": self._getenv, "c": self._connect,
                   "connect": self._connect, "copy": self._copy}.get(word)
        if handler is None or not handler(rest, res):
            res.skipped += 1

    def _conditional(self, word: str, rest: str, conditions: list[tuple[bool, bool]], active: bool) -> None:
        if word == "if":
            outer = active
            value = outer and self._truth(rest)
            conditions.append((value, value))
        elif word == "elif" and conditions:
            _, taken = conditions[-1]
            value = not taken and self._truth(rest)
            conditions[-1] = (value, taken or value)
        elif word == "else" and conditions:
            _, taken = conditions[-1]
            conditions[-1] = (not taken, True)
        elif word == "endif" and conditions:
            conditions.pop()

    def _truth(self, rest: str) -> bool:
        rest = re.sub(r":\{\?(\w+)\}", lambda m: "true" if m.group(1) in self.plain.variables else "false", rest)
        value = "".join(meta_args(rest, self.plain.variables)).strip().lower()
        return value in ("true", "t", "on", "1", "yes", "y")

    def _set(self, rest: str, _res: FileResult) -> bool:
        for side in (self.plain, self.grid):
            args = meta_args(rest, side.variables)
            if not args:
                return False
            side.variables[args[0]] = "".join(args[1:])
        return True

    def _unset(self, rest: str, _res: FileResult) -> bool:
        for side in (self.plain, self.grid):
            for name in meta_args(rest, side.variables)[:1]:
                side.variables.pop(name, None)
        return True

    def _getenv(self, rest: str, _res: FileResult) -> bool:
        args = meta_args(rest, {})
        if len(args) != 2 or args[1] not in self.env:
            return False
        for side in (self.plain, self.grid):
            side.variables[args[0]] = self.env[args[1]]
        return True

    def _connect(self, rest: str, res: FileResult) -> bool:
        """`\\c [db] [user]`: a new session on both; another user is taken on with
        SET SESSION AUTHORIZATION (the test roles have no password to log in with)."""
        args = meta_args(rest, self.plain.variables)
        db = args[0] if args else "-"
        if db not in ("-", "postgres", "regression", self.plain.variables.get("DBNAME", "-")):
            return False
        port = args[3] if len(args) > 3 else (args[2] if len(args) == 3 and args[2].isdigit() else "-")
        self.on_worker = port not in ("-", _NODE_VARIABLES["master_port"])
        if self.on_worker:
            return False
        for side in (self.plain, self.grid):
            side.reconnect()
        if len(args) > 1 and args[1] != "-":
            stmt = Statement(f'SET SESSION AUTHORIZATION "{args[1]}"', 0)
            self._statement(stmt, res)
        return True

    def _copy(self, rest: str, res: FileResult) -> bool:
        """`\\copy ... to stdout` and `\\copy ... from 'file'` as COPY with STDOUT/STDIN."""
        body = rest.strip().rstrip(";")
        m = re.match(r"(?is)^(.*\s)to\s+stdout\b(.*)$", body)
        if m:
            self._statement(Statement(f"COPY {m.group(1)}TO STDOUT{m.group(2)}", 0), res)
            return True
        m = re.match(r"(?is)^(.*\s)from\s+'?([^'\s]+)'?(.*)$", body)
        if m and Path(m.group(2)).is_file():
            data = Path(m.group(2)).read_bytes().decode("utf-8", "surrogateescape")
            self._statement(Statement(f"COPY {m.group(1)}FROM STDIN{m.group(3)}", 0, "", data), res)
            return True
        return False


_CREATED = re.compile(
    r"(?is)^create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unlogged|global|local|materialized|"
    r"recursive|unique|constraint)\s+)*(?:table|view|index|sequence|type|function|procedure|"
    r"aggregate|domain|trigger|rule|schema|operator\s+class|statistics)\s+(?:concurrently\s+)?"
    r"(?:if\s+not\s+exists\s+)?([\w.\"]+)")


_WRITTEN = re.compile(
    r"(?is)^(?:insert\s+into|update(?:\s+only)?|delete\s+from(?:\s+only)?|copy|truncate(?:\s+table)?|"
    r"merge\s+into|alter\s+table(?:\s+if\s+exists)?(?:\s+only)?|drop\s+table(?:\s+if\s+exists)?)\s+([\w.\"]+)")
_WRITTEN_IN_WITH = re.compile(r"(?is)\b(?:insert\s+into|update(?:\s+only)?|delete\s+from(?:\s+only)?)\s+([\w.\"]+)")


# Citus's regression files name their nodes by these psql variables (pg_regress_multi.pl
# sets them); `\\c` to a worker's port is recognised by them.
_NODE_VARIABLES = {"master_port": "57636", "worker_1_port": "57637", "worker_2_port": "57638",
                   "master_host": "localhost", "worker_1_host": "localhost", "worker_2_host": "localhost",
                   "follower_master_port": "57640"}


def _is_xl_command(sql: str) -> bool:
    from gridpg.sql.xl import parse_xl_command

    try:
        return parse_xl_command(sql) is not None
    except Exception:  # noqa: BLE001 - text the scanner refuses: both sides will say so
        return False


def _without_xl_clauses(sql: str) -> str:
    """CREATE TABLE without XL's DISTRIBUTE BY / TO NODE, for plain PostgreSQL."""
    from gridpg.sql.xl import extract_distribution

    try:
        return extract_distribution(sql)[0]
    except Exception:  # noqa: BLE001 - as above
        return sql


_SESSION_SETTING = re.compile(r"(?is)^(?:set|reset)\b(?!\s+(?:local|transaction|constraints)\b)")


def is_session_setting(sql: str) -> bool:
    """SET/RESET of the session (not SET LOCAL, SET TRANSACTION, SET CONSTRAINTS): what a
    new session must run again to read as the old one did."""
    return bool(_SESSION_SETTING.match(_strip_leading_comments(sql)))


def _strip_leading_comments(sql: str) -> str:
    from psql_script import strip_comments

    return strip_comments(sql).strip()


# -- files and order ---------------------------------------------------------------------


def regress_dir_of(source: Path) -> Path:
    for cand in (source / "src" / "test" / "regress", source):
        if (cand / "sql").is_dir():
            return cand
    if any(source.glob("*.sql")):
        return source
    raise SystemExit(f"no regression files under {source} (want src/test/regress/sql/*.sql)")


def schedule_order(regress_dir: Path, schedule: Path | None = None) -> list[str]:
    """The tests of the schedule (parallel_schedule by default) in order, or the sorted
    .sql names without one."""
    sched = schedule or regress_dir / "parallel_schedule"
    if sched.is_file():
        names = []
        for line in sched.read_text().splitlines():
            if line.startswith("test:"):
                names.extend(line.split(":", 1)[1].split())
        return names
    return sorted(p.stem for p in _sql_dir(regress_dir).glob("*.sql"))


def _sql_dir(regress_dir: Path) -> Path:
    return regress_dir / "sql" if (regress_dir / "sql").is_dir() else regress_dir


def chosen_files(regress_dir: Path, files: list[str], schedule: Path | None = None) -> list[str]:
    """`files` in schedule order (files not in the schedule keep their place after);
    `all`: every file of the schedule, else every .sql file, sorted."""
    order = schedule_order(regress_dir, schedule)
    if files == ["all"]:
        files = order
    if (schedule or regress_dir / "parallel_schedule").is_file():
        rank = {n: i for i, n in enumerate(order)}
        files = sorted(files, key=lambda n: (rank.get(n, len(rank)), files.index(n)))
    missing = [f for f in files if not (_sql_dir(regress_dir) / f"{f}.sql").is_file()]
    if missing:
        log(f"not found, left out: {', '.join(missing)}")
    return [f for f in files if f not in missing]


# -- report ------------------------------------------------------------------------------


def summary_table(results: list[FileResult]) -> str:
    lines = ["| file | compared | agreed | differed | of which follow-on | skipped | s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    tot = collections.Counter()
    for r in results:
        lines.append(f"| {r.name}{' (' + r.note + ')' if r.note else ''} | {r.compared} | {r.agreed} | "
                     f"{r.compared - r.agreed} | {r.follow_on} | {r.skipped} | {r.seconds:.0f} |")
        tot.update(compared=r.compared, agreed=r.agreed, skipped=r.skipped, follow=r.follow_on)
    share = 100.0 * tot["agreed"] / tot["compared"] if tot["compared"] else 0.0
    lines.append(f"| **all {len(results)} files** | {tot['compared']} | {tot['agreed']} | "
                 f"{tot['compared'] - tot['agreed']} | {tot['follow']} | {tot['skipped']} | |")
    lines.append("")
    lines.append(f"Agreeing: **{tot['agreed']} of {tot['compared']} compared statements = {share:.1f}%**")
    return "\n".join(lines)


def differences_text(results: list[FileResult]) -> str:
    out = []
    for r in results:
        for line, sql, plain, grid, follows in r.differences:
            out.append(f"=== {r.name}.sql:{line} [{kind_of(plain, grid)}{' (follow-on)' if follows else ''}]\n{_strip_leading_comments(sql)}\n--- plain:  {plain.brief()}\n"
                       f"--- gridpg: {grid.brief()}\n" + (f"--- follow-on of: {follows}\n" if follows else ""))
    return "\n".join(out)


def kind_of(plain: Outcome, grid: Outcome) -> str:
    """How two outcomes differ: the silent kinds (gridpg answered, not as PostgreSQL did)
    first, then gridpg failing where PostgreSQL did not, then both failing differently."""
    if grid.ok and plain.ok:
        return "SILENT: both succeeded, different result"
    if grid.ok:
        return "SILENT: gridpg succeeded where PostgreSQL failed"
    if plain.ok:
        return "gridpg failed where PostgreSQL succeeded"
    return "both failed, different SQLSTATE"


def error_class(out: Outcome) -> str:
    """An error message with its names and numbers blotted out, to group like with like."""
    first = out.message.splitlines()[0] if out.message else ""
    first = re.sub(r'"[^"]*"', '"?"', first)
    first = re.sub(r"'[^']*'", "'?'", first)
    return f"{out.sqlstate}: " + re.sub(r"\b\d+\b", "N", first)[:120]


def classes_text(results: list[FileResult]) -> str:
    groups: collections.Counter[tuple[str, str]] = collections.Counter()
    for r in results:
        for _line, _sql, plain, grid, follows in r.differences:
            detail = error_class(grid) if not grid.ok else ("plain " + error_class(plain) if not plain.ok else "")
            groups[(("(follow-on) " if follows else "") + kind_of(plain, grid), detail)] += 1
    return "\n".join(f"{n:5d}  {kind} | {detail}" for (kind, detail), n in
                     sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[1])))


def _run_setup(side: Side, text: str) -> None:
    """A setup script on one side, statement by statement; a failure stops the replay."""
    for item in read_script(text):
        if isinstance(item, Statement):
            out = run(side.conn, item.sql, item.copy_data, 60.0)
            if not out.ok:
                raise SystemExit(f"setup statement at line {item.line} failed on {side.name}: {out.brief()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="PostgreSQL source checkout, or a directory of .sql files")
    ap.add_argument("--files", default="",
                    help="comma-separated test names, or `all` (default: a core set for a PostgreSQL checkout, "
                         "else all)")
    ap.add_argument("--xl", action="store_true",
                    help="Postgres-XL files: XL clauses cut for plain PostgreSQL, XL commands skipped")
    ap.add_argument("--schedule", type=Path, help="a schedule file (`test: a b`) giving the order")
    ap.add_argument("--plain-setup", type=Path,
                    help="SQL run once on plain PostgreSQL before the first file, not compared")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per statement (default 10)")
    ap.add_argument("--budget", type=float, default=900.0, help="seconds for the whole replay (default 900)")
    ap.add_argument("--report", type=Path, default=Path("/tmp/regress-report.txt"))
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    ap.add_argument("--keep", action="store_true", help="keep the servers' directories")
    args = ap.parse_args()
    regress_dir = regress_dir_of(args.source.resolve())
    default = ",".join(CORE) if (regress_dir / "parallel_schedule").is_file() else "all"
    files = chosen_files(regress_dir, [f.strip() for f in (args.files or default).split(",") if f.strip()],
                         args.schedule)
    info = machine_info()
    with environment(keep=args.keep) as env:
        plain, grid = Side("plain", env.plain_dsn), Side("gridpg", env.gridpg_dsn(0))
        plain.reconnect()
        grid.reconnect()
        if args.plain_setup:
            _run_setup(plain, args.plain_setup.read_text())
        replay = Replay(plain, grid, regress_dir, args.timeout, time.monotonic() + args.budget,
                        args.xl)
        results = []
        for name in files:
            text = (_sql_dir(regress_dir) / f"{name}.sql").read_bytes().decode("utf-8", "surrogateescape")
            res = replay.replay_file(name, text)
            log(f"{name}: compared {res.compared}, agreed {res.agreed}, skipped {res.skipped}, {res.seconds:.0f} s")
            results.append(res)
            if res.note:
                break
        coord_log = env.coord_log_tail(200)
    table = summary_table(results)
    args.report.write_text(f"{table}\n\n# Differences by kind and gridpg error\n\n{classes_text(results)}\n\n"
                           f"# Differences\n\n{differences_text(results)}\n\n"
                           f"# Last lines of coord1.log\n\n{coord_log}\n")
    print(table)
    log(f"report: {args.report}")
    if not args.no_record:
        append_results("PostgreSQL regression replay (gridpg vs plain PostgreSQL)",
                       f"- command: `{command_line()}`\n{machine_markdown(info)}- files: PostgreSQL's "
                       f"regression files under {regress_dir}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
