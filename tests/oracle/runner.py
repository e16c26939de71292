"""Oracle runner: execute a corpus file on a reference PostgreSQL and on a subject
(gridpg, or a second PostgreSQL database in self mode) and compare the results.

Corpus format (``tests/oracle/corpus/*.sql``)
---------------------------------------------
* An optional leading ``/* ... */`` block is the file's docstring: it names the gridpg
  feature / planner strategy the file exercises and is printed with every failure.
* Statements are separated by a ``;`` at the end of a line (trailing whitespace allowed).
  Blank lines and ``--`` comment lines between statements are ignored.
* Directive comment lines apply to the next statement:
    ``-- error``      the statement must fail on both sides with the same SQLSTATE;
    ``-- ordered``    compare in order even if no top-level ORDER BY is detected;
    ``-- unordered``  compare as multisets even if a top-level ORDER BY is detected.
* Meta-command lines (outside statements):
    ``\\load <table>``  insert the deterministic rows that ``data.py`` generates for
                       ``<table>`` with multi-row INSERTs of ~200 rows (identical on both
                       sides; in self mode the subject gets them in reverse order, so that
                       physical row order differs as it does on a distributed cluster).
                       The pytest suite runs 00_setup.sql's loads once into a template
                       schema and has every other file copy the rows from it
                       (``run_file(template=...)``), outside self mode.
    ``\\connect <n>``   both sides open a new session; the subject's goes to coordinator
                       ``n`` (1-based; the same server when the subject has only one).
* A trailing ``DISTRIBUTE BY ...`` clause is removed from statements run on the reference
  (and on the subject in self mode).

Comparison
----------
* Command tags (``INSERT 0 5``, ``SELECT 3``...), column names and column type OIDs must
  match.
* Values are compared as PostgreSQL's text output (so numeric scale, timestamptz/interval
  formatting, jsonb and array rendering must be identical), except float4/float8 (and
  their 1-D arrays), compared with a relative tolerance of 1e-9.
* Rows are compared as multisets, unless the statement has a top-level ORDER BY. Then, if
  every sort key can be mapped to an output column (position, output name, or the same
  expression as a target), the sequence of sort-key tuples must be equal *and* the full
  rows equal as multisets (ties may come in any order); otherwise full rows are compared
  in order (the corpus keeps such orders total).
* Errors: a ``-- error`` statement must fail on both sides with the same SQLSTATE; an
  unexpected error on either side is a mismatch (if both fail, the SQLSTATE class must
  match and it is still reported as a corpus problem).
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import psycopg

CORPUS_DIR = Path(__file__).parent / "corpus"
SETUP_FILE = CORPUS_DIR / "00_setup.sql"

STATEMENT_TIMEOUT_S = float(os.environ.get("GRIDPG_ORACLE_STMT_TIMEOUT", "60"))

FLOAT_OIDS = {700, 701}
FLOAT_ARRAY_OIDS = {1021, 1022}
REL_TOL = 1e-9
ABS_TOL = 1e-12

SESSION_SETTINGS = [
    "SET client_min_messages TO warning",
    "SET TimeZone TO 'UTC'",
    "SET DateStyle TO 'ISO, MDY'",
    "SET IntervalStyle TO 'postgres'",
    "SET extra_float_digits TO 1",
    "SET bytea_output TO 'hex'",
]

# In self mode the subject uses other plans so that unstable orders show up.
SELF_SUBJECT_SETTINGS = [
    "SET enable_hashagg TO off",
    "SET enable_hashjoin TO off",
    "SET enable_indexscan TO off",
    "SET enable_indexonlyscan TO off",
]

_DISTRIBUTE_RE = re.compile(
    r"\s+DISTRIBUTE\s+BY\s+(HASH|MODULO)\s*\(\s*[^)]*\)\s*(TO\s+(NODE|GROUP)\s*(\([^)]*\)|\w+)\s*)?$"
    r"|\s+DISTRIBUTE\s+BY\s+(ROUNDROBIN|REPLICATION)\s*(TO\s+(NODE|GROUP)\s*(\([^)]*\)|\w+)\s*)?$",
    re.IGNORECASE,
)


def strip_distribute(sql: str) -> str:
    """Remove a trailing ``DISTRIBUTE BY ...`` clause (the statement has no ``;``)."""
    return _DISTRIBUTE_RE.sub("", sql.rstrip())


# --------------------------------------------------------------------------- parsing


@dataclass
class Statement:
    sql: str
    file: str
    line: int
    expect_error: bool = False
    order: str | None = None  # None = detect, "ordered", "unordered"
    load: str | None = None  # table name for \load
    connect: int | None = None  # coordinator number for \connect


@dataclass
class CorpusFile:
    path: Path
    doc: str
    statements: list[Statement]


def parse_corpus(path: Path) -> CorpusFile:
    text = path.read_text()
    lines = text.split("\n")
    doc = ""
    i = 0
    # leading docstring block
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].lstrip().startswith("/*"):
        start = i
        while i < len(lines) and "*/" not in lines[i]:
            i += 1
        doc = "\n".join(lines[start : i + 1]).strip()
        doc = doc.removeprefix("/*").removesuffix("*/").strip("\n")
        i += 1
    stmts: list[Statement] = []
    buf: list[str] = []
    buf_line = 0
    pending_error = False
    pending_order: str | None = None
    for lineno in range(i, len(lines)):
        raw = lines[lineno]
        s = raw.strip()
        if not buf:
            if not s:
                continue
            if s.startswith("--"):
                d = s[2:].strip().lower()
                if d == "error":
                    pending_error = True
                elif d in ("ordered", "unordered"):
                    pending_order = d
                continue
            if s.startswith("\\"):
                parts = s[1:].split()
                if parts[0] == "connect" and len(parts) == 2 and parts[1].isdigit():
                    stmts.append(Statement(sql=s, file=path.name, line=lineno + 1, connect=int(parts[1])))
                    continue
                if parts[0] != "load" or len(parts) != 2:
                    raise ValueError(f"{path.name}:{lineno + 1}: unknown meta-command {s!r}")
                stmts.append(Statement(sql=s, file=path.name, line=lineno + 1, load=parts[1]))
                continue
            buf_line = lineno + 1
        buf.append(raw)
        if s.endswith(";"):
            sql = "\n".join(buf).strip()
            sql = sql[:-1].rstrip()
            stmts.append(
                Statement(
                    sql=sql,
                    file=path.name,
                    line=buf_line,
                    expect_error=pending_error,
                    order=pending_order,
                )
            )
            buf = []
            pending_error = False
            pending_order = None
    if buf:
        raise ValueError(f"{path.name}:{buf_line}: statement without terminating ';'")
    return CorpusFile(path=path, doc=doc, statements=stmts)


# ----------------------------------------------------------------- ORDER BY analysis

_ORDER_RE = re.compile(r"\border\s+by\b", re.IGNORECASE)


@dataclass
class OrderInfo:
    ordered: bool
    # per sort key: ("pos", n) | ("name", str) | ("expr", str) | None (unmappable)
    keys: list[tuple[str, Any] | None] = field(default_factory=list)
    targets: list[tuple[str | None, str]] = field(default_factory=list)  # (alias, deparse)


def analyze_order(sql: str) -> OrderInfo:
    try:
        import pglast
        from pglast.stream import RawStream

        raw = pglast.parse_sql(sql)
    except Exception:
        # Not parseable by pglast (e.g. gridpg extensions): best effort.
        tail = re.sub(r"\([^()]*\)", "", sql)
        return OrderInfo(ordered=bool(_ORDER_RE.search(tail)), keys=[None])
    if len(raw) != 1:
        return OrderInfo(ordered=False)
    stmt = raw[0].stmt
    if type(stmt).__name__ != "SelectStmt" or not stmt.sortClause:
        return OrderInfo(ordered=False)
    info = OrderInfo(ordered=True)
    is_setop = bool(stmt.op) and int(stmt.op) != 0
    if not is_setop and stmt.targetList:
        for rt in stmt.targetList:
            try:
                info.targets.append((rt.name, RawStream()(rt.val)))
            except Exception:
                info.targets.append((rt.name, "<?>"))
    for sb in stmt.sortClause:
        node = sb.node
        kind = type(node).__name__
        if kind == "A_Const" and type(node.val).__name__ == "Integer":
            info.keys.append(("pos", node.val.ival - 1))
        elif kind == "ColumnRef" and len(node.fields) == 1 and type(node.fields[0]).__name__ == "String":
            name = node.fields[0].sval
            try:
                expr = RawStream()(node)
            except Exception:
                expr = None
            info.keys.append(("name", (name, expr)))
        else:
            try:
                info.keys.append(("expr", RawStream()(node)) if not is_setop else None)
            except Exception:
                info.keys.append(None)
    return info


def sort_key_columns(info: OrderInfo, colnames: list[str]) -> list[int] | None:
    """Map sort keys to output column indexes; None if any key is unmappable."""
    out: list[int] = []
    for key in info.keys:
        if key is None:
            return None
        kind, val = key
        if kind == "pos":
            if not 0 <= val < len(colnames):
                return None
            out.append(val)
        elif kind == "name":
            name, expr = val
            hits = [i for i, c in enumerate(colnames) if c == name]
            if len(hits) == 1:
                out.append(hits[0])
                continue
            if len(hits) > 1:
                return None
            # an input column: usable only if it is also a plain target expression
            hits = [i for i, (_, e) in enumerate(info.targets) if e == expr]
            if len(hits) >= 1 and len(info.targets) == len(colnames):
                out.append(hits[0])
            else:
                return None
        else:  # expr
            hits = [i for i, (_, e) in enumerate(info.targets) if e == val]
            if len(hits) >= 1 and len(info.targets) == len(colnames):
                out.append(hits[0])
            else:
                return None
    return out


# ------------------------------------------------------------------------ execution


@dataclass
class Result:
    ok: bool
    status: str = ""
    colnames: list[str] = field(default_factory=list)
    coltypes: list[int] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] | None = None
    sqlstate: str | None = None
    message: str = ""


class Side:
    """One connection (reference or subject) with its own session setup."""

    def __init__(self, name: str, dsn: str, schema: str, *, strip: bool, extra: list[str]):
        self.name = name
        self.dsn = dsn
        self.schema = schema
        self.strip = strip
        self.extra = extra
        self.conn: psycopg.Connection | None = None

    def connect(self, create_schema: bool = False) -> None:
        self.conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=30)
        for s in SESSION_SETTINGS:
            self.conn.execute(s, prepare=False)
        if create_schema:
            try:
                self.conn.execute(f"CREATE SCHEMA {self.schema}", prepare=False)
            except psycopg.errors.DuplicateSchema:  # kept by GRIDPG_ORACLE_KEEP, or an aborted run
                self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE", prepare=False)
                self.conn.execute(f"CREATE SCHEMA {self.schema}", prepare=False)
        self.conn.execute(f"SET search_path TO {self.schema}, public", prepare=False)
        for s in self.extra:
            self.conn.execute(s, prepare=False)

    def close(self, drop_schema: bool) -> None:
        if self.conn is None:
            return
        try:
            if drop_schema and not self.conn.closed:
                if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self.conn.execute("ROLLBACK", prepare=False)
                self.conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE", prepare=False)
        except Exception:
            pass
        finally:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def run(self, sql: str) -> Result:
        if self.strip:
            sql = strip_distribute(sql)
        if self.conn is None or self.conn.closed or self.conn.broken:
            try:
                self.connect()
            except Exception as e:  # pragma: no cover - infrastructure failure
                return Result(ok=False, sqlstate="08000", message=f"reconnect failed: {e}")
        conn = self.conn
        assert conn is not None
        timer = threading.Timer(STATEMENT_TIMEOUT_S, _cancel, args=(conn,))
        timer.start()
        try:
            cur = conn.execute(sql, prepare=False)
        except psycopg.Error as e:
            lost = conn.closed or conn.broken
            msg = str(e).strip().split("\n")[0]
            if lost:
                msg = f"[connection lost] {msg}"
            return Result(ok=False, sqlstate=e.sqlstate or ("08006" if lost else "XX000"), message=msg)
        finally:
            timer.cancel()
        res = cur.pgresult
        status = cur.statusmessage or ""
        if res is None or cur.description is None:
            return Result(ok=True, status=status)
        names = [d.name for d in cur.description]
        types = [d.type_code for d in cur.description]
        rows = []
        for r in range(res.ntuples):
            rows.append(
                tuple(
                    (None if (v := res.get_value(r, c)) is None else v.decode("utf-8", "replace"))
                    for c in range(res.nfields)
                )
            )
        return Result(ok=True, status=status, colnames=names, coltypes=types, rows=rows)


def _cancel(conn: psycopg.Connection) -> None:
    try:
        conn.cancel_safe(timeout=5)
    except Exception:
        pass


# ----------------------------------------------------------------------- comparison


def _float_eq(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _parse_float_array(s: str) -> list[float | None] | None:
    if not (s.startswith("{") and s.endswith("}")) or "{" in s[1:-1]:
        return None
    body = s[1:-1]
    if not body:
        return []
    out: list[float | None] = []
    for p in body.split(","):
        out.append(None if p == "NULL" else float(p))
    return out


def cell_eq(a: str | None, b: str | None, oid: int) -> bool:
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    if oid in FLOAT_OIDS:
        try:
            return _float_eq(float(a), float(b))
        except ValueError:
            return False
    if oid in FLOAT_ARRAY_OIDS:
        try:
            fa, fb = _parse_float_array(a), _parse_float_array(b)
        except ValueError:
            return False
        if fa is None or fb is None or len(fa) != len(fb):
            return False
        return all(
            (x is None and y is None) or (x is not None and y is not None and _float_eq(x, y))
            for x, y in zip(fa, fb)
        )
    return False


def row_eq(a: tuple, b: tuple, types: list[int]) -> bool:
    return len(a) == len(b) and all(cell_eq(x, y, t) for x, y, t in zip(a, b, types))


def _sort_norm(row: tuple, types: list[int]) -> tuple:
    """A sort key in which floats are rounded so near-equal values sort together."""
    out = []
    for v, t in zip(row, types):
        if v is None:
            out.append((0, ""))
        elif t in FLOAT_OIDS:
            try:
                f = float(v)
                out.append((1, "%.6e" % f if math.isfinite(f) else v))
            except ValueError:
                out.append((2, v))
        elif t in FLOAT_ARRAY_OIDS:
            out.append((1, "~"))
        else:
            out.append((2, v))
    return tuple(out)


def multiset_diff(exp: list[tuple], got: list[tuple], types: list[int]) -> tuple[list, list]:
    """Rows only in exp, rows only in got (float-tolerant)."""
    has_float = any(t in FLOAT_OIDS or t in FLOAT_ARRAY_OIDS for t in types)
    if not has_float:
        ce, cg = Counter(exp), Counter(got)
        return list((ce - cg).elements()), list((cg - ce).elements())
    se = sorted(exp, key=lambda r: _sort_norm(r, types))
    sg = sorted(got, key=lambda r: _sort_norm(r, types))
    if len(se) == len(sg) and all(row_eq(x, y, types) for x, y in zip(se, sg)):
        return [], []
    # Fallback: greedy tolerant matching, bucketed by the non-float part of the row.
    def exact_part(r: tuple) -> tuple:
        return tuple(None if t in FLOAT_OIDS or t in FLOAT_ARRAY_OIDS else v for v, t in zip(r, types))

    buckets: dict[tuple, list[tuple]] = {}
    for r in got:
        buckets.setdefault(exact_part(r), []).append(r)
    missing = []
    for r in exp:
        cand = buckets.get(exact_part(r), [])
        for k, g in enumerate(cand):
            if row_eq(r, g, types):
                cand.pop(k)
                break
        else:
            missing.append(r)
    extra = [r for lst in buckets.values() for r in lst]
    return missing, extra


@dataclass
class Mismatch:
    stmt: Statement
    kind: str
    detail: str

    def format(self, maxsql: int = 600) -> str:
        sql = self.stmt.sql
        if len(sql) > maxsql:
            sql = sql[:maxsql] + " ..."
        sql = "\n".join("    " + l for l in sql.split("\n"))
        det = "\n".join("    " + l for l in self.detail.rstrip().split("\n"))
        return f"[{self.stmt.file}:{self.stmt.line}] {self.kind}\n{sql}\n{det}"


def _fmt_row(r: tuple | None) -> str:
    if r is None:
        return "<none>"
    return "(" + ", ".join("NULL" if v is None else repr(v) for v in r) + ")"


def _fmt_rows(rows: list[tuple], limit: int = 5) -> str:
    s = "\n".join("      " + _fmt_row(r) for r in rows[:limit])
    if len(rows) > limit:
        s += f"\n      ... {len(rows) - limit} more"
    return s


def compare(stmt: Statement, ref: Result, sub: Result) -> Mismatch | None:
    if stmt.expect_error:
        if ref.ok:
            return Mismatch(stmt, "CORPUS: '-- error' statement succeeded on the reference", f"status {ref.status}")
        if sub.ok:
            return Mismatch(
                stmt,
                "expected an error, subject succeeded",
                f"expected SQLSTATE {ref.sqlstate}: {ref.message}\n  got status {sub.status!r}, "
                f"{len(sub.rows or [])} rows",
            )
        if ref.sqlstate != sub.sqlstate:
            return Mismatch(
                stmt,
                "different SQLSTATE",
                f"expected {ref.sqlstate}: {ref.message}\n  got      {sub.sqlstate}: {sub.message}",
            )
        return None
    if not ref.ok:
        same_class = not sub.ok and (ref.sqlstate or "")[:2] == (sub.sqlstate or "")[:2]
        return Mismatch(
            stmt,
            "CORPUS: reference failed" + (" (subject failed alike)" if same_class else ""),
            f"reference {ref.sqlstate}: {ref.message}\n  subject   "
            + (f"{sub.sqlstate}: {sub.message}" if not sub.ok else f"ok: {sub.status}"),
        )
    if not sub.ok:
        return Mismatch(stmt, "subject failed", f"{sub.sqlstate}: {sub.message}\n  expected status {ref.status!r}")
    problems = []
    if ref.status != sub.status:
        problems.append(f"command tag: expected {ref.status!r}, got {sub.status!r}")
    if ref.rows is None or sub.rows is None:
        if (ref.rows is None) != (sub.rows is None):
            problems.append(
                f"result shape: expected {'no rows' if ref.rows is None else 'rows'}, "
                f"got {'no rows' if sub.rows is None else 'rows'}"
            )
        return Mismatch(stmt, "result differs", "\n".join(problems)) if problems else None
    if ref.colnames != sub.colnames:
        problems.append(f"column names: expected {ref.colnames}, got {sub.colnames}")
    if ref.coltypes != sub.coltypes:
        problems.append(f"column type OIDs: expected {ref.coltypes}, got {sub.coltypes}")
    if len(ref.colnames) != len(sub.colnames):
        return Mismatch(stmt, "result differs", "\n".join(problems))
    types = ref.coltypes
    exp, got = ref.rows, sub.rows
    ordered = stmt.order == "ordered"
    keys: list[int] | None = None
    if stmt.order is None:
        info = analyze_order(stmt.sql)
        ordered = info.ordered
        if ordered:
            keys = sort_key_columns(info, ref.colnames)
    if ordered and keys is not None:
        kt = [types[k] for k in keys]
        ek = [tuple(r[k] for k in keys) for r in exp]
        gk = [tuple(r[k] for k in keys) for r in got]
        for idx in range(max(len(ek), len(gk))):
            a = ek[idx] if idx < len(ek) else None
            b = gk[idx] if idx < len(gk) else None
            if a is None or b is None or not row_eq(a, b, kt):
                problems.append(
                    f"ORDER BY key sequence differs at row {idx} (expected {len(exp)} rows, got {len(got)}):\n"
                    f"    keys expected {_fmt_row(a)}\n    keys got      {_fmt_row(b)}\n"
                    f"    row expected  {_fmt_row(exp[idx] if idx < len(exp) else None)}\n"
                    f"    row got       {_fmt_row(got[idx] if idx < len(got) else None)}"
                )
                break
    if ordered and keys is None:
        for idx in range(max(len(exp), len(got))):
            a = exp[idx] if idx < len(exp) else None
            b = got[idx] if idx < len(got) else None
            if a is None or b is None or not row_eq(a, b, types):
                problems.append(
                    f"ordered rows differ at row {idx} (expected {len(exp)} rows, got {len(got)}):\n"
                    f"    expected {_fmt_row(a)}\n    got      {_fmt_row(b)}"
                )
                break
    else:
        missing, extra = multiset_diff(exp, got, types)
        if missing or extra:
            problems.append(
                f"rows differ as multisets (expected {len(exp)} rows, got {len(got)}): "
                f"{len(missing)} missing, {len(extra)} unexpected"
                + (f"\n    missing (reference only):\n{_fmt_rows(missing)}" if missing else "")
                + (f"\n    unexpected (subject only):\n{_fmt_rows(extra)}" if extra else "")
            )
    if problems:
        return Mismatch(stmt, "result differs", f"columns {ref.colnames}\n" + "\n".join(problems))
    return None


# --------------------------------------------------------------------------- driver


@dataclass
class FileReport:
    corpus: CorpusFile
    executed: int
    mismatches: list[Mismatch]

    def format(self, limit: int = 40) -> str:
        head = (
            f"{self.corpus.path.name}: {len(self.mismatches)} mismatching statement(s) "
            f"of {self.executed} executed"
        )
        if self.corpus.doc:
            head += "\n  exercises:\n" + "\n".join("    " + l.strip() for l in self.corpus.doc.split("\n"))
        body = "\n\n".join(m.format() for m in self.mismatches[:limit])
        if len(self.mismatches) > limit:
            body += f"\n\n... and {len(self.mismatches) - limit} more mismatches"
        return head + "\n\n" + body


def _load_statements(stmt: Statement, reverse: bool) -> tuple[list[str], list[str]]:
    from . import data  # local import: package-relative

    cols, rows = data.rows_for(stmt.load)
    return data.insert_batches(stmt.load, cols, rows), data.insert_batches(
        stmt.load, cols, list(reversed(rows)) if reverse else rows
    )


def run_file(
    path: Path,
    reference_dsn: str,
    subject_dsn: str,
    *,
    self_mode: bool = False,
    with_setup: bool = True,
    keep_schema: bool = False,
    subject_dsns: list[str] | None = None,
    template: str | None = None,
    schema: str | None = None,
) -> FileReport:
    """`subject_dsns`: the subject's coordinators, for ``\\connect n`` (default: only
    `subject_dsn`). `template`: a schema on both sides that holds 00_setup.sql's tables
    and rows (`build_template`); the setup's ``\\load``s then copy its rows with
    ``INSERT ... SELECT`` instead of sending the same ~40 routed INSERT batches again.
    `schema`: the file's schema (default ``oracle_<file stem>``)."""
    dsns = subject_dsns or [subject_dsn]
    corpus = parse_corpus(path)
    schema = schema or "oracle_" + re.sub(r"\W", "_", path.stem).lower()
    stmts: list[Statement] = []
    if with_setup and path.resolve() != SETUP_FILE.resolve():
        stmts.extend(setup_statements_for(path.read_text()))
    stmts.extend(corpus.statements)

    ref = Side("reference", reference_dsn, schema, strip=True, extra=[])
    sub = Side(
        "subject", subject_dsn, schema, strip=self_mode, extra=SELF_SUBJECT_SETTINGS if self_mode else []
    )
    mismatches: list[Mismatch] = []
    executed = 0
    # The reference runs each statement in this thread while the subject runs it: they are
    # separate servers. In self mode both are databases of one server: one after the other.
    pool = None if self_mode else ThreadPoolExecutor(max_workers=1, thread_name_prefix="oracle-reference")

    def run_both(ref_sql: str, sub_sql: str) -> tuple[Result, Result]:
        if pool is None:
            return ref.run(ref_sql), sub.run(sub_sql)
        pending = pool.submit(ref.run, ref_sql)
        got = sub.run(sub_sql)
        return pending.result(), got

    try:
        ref.connect(create_schema=True)
        sub.connect(create_schema=True)
        for st in stmts:
            if st.connect is not None:
                ref.close(drop_schema=False)
                sub.close(drop_schema=False)
                sub.dsn = dsns[min(st.connect, len(dsns)) - 1]
                ref.connect()
                sub.connect()
                continue
            if st.load and template is not None and st.file == SETUP_FILE.name:
                executed += 1
                copy = f"INSERT INTO {st.load} SELECT * FROM {template}.{st.load}"
                m = compare(st, *run_both(copy, copy))
                if m:
                    mismatches.append(m)
                continue
            if st.load:
                ref_sql, sub_sql = _load_statements(st, reverse=self_mode)
                for a, b in zip(ref_sql, sub_sql):
                    executed += 1
                    m = compare(st, *run_both(a, b))
                    if m:
                        mismatches.append(m)
                        break
                continue
            executed += 1
            m = compare(st, *run_both(st.sql, st.sql))
            if m:
                mismatches.append(m)
    finally:
        if pool is not None:
            pool.shutdown()
        ref.close(drop_schema=not keep_schema)
        sub.close(drop_schema=not keep_schema)
    return FileReport(corpus=corpus, executed=executed, mismatches=mismatches)


def setup_statements_for(text: str) -> list[Statement]:
    """00_setup.sql's statements for a file whose text is `text`: those of the setup tables
    it names anywhere (statements, code bodies, strings, comments; a whole word, any case),
    with the tables their statements name in turn; all of them for a file that may list
    its schema's relations (`_LISTS_SCHEMA_RE`: such a list would be shorter). A setup
    statement that names no setup table is always kept. Each table the setup makes costs
    gridpg a distributed CREATE TABLE, a copy and its share of the schema's DROP, and most
    files use none of them (00_setup.sql's own run, the template, checks them all)."""
    setup = parse_corpus(SETUP_FILE).statements
    if _LISTS_SCHEMA_RE.search(text):
        return setup
    tables = {st.load for st in setup if st.load} | {
        m.group(1).lower() for st in setup if (m := _CREATED_TABLE_RE.match(st.sql))}
    named = [{t for t in tables if st.load == t or _names(st.sql, t)} for st in setup]
    wanted = {t for t in tables if _names(text, t)}
    grown = True
    while grown:  # a setup statement that names a wanted table brings the others it names
        more = set().union(*(names for names in named if names & wanted)) - wanted
        wanted |= more
        grown = bool(more)
    return [st for st, names in zip(setup, named) if names <= wanted]


# The catalog views that list a schema's tables (pg_class and the like, which the corpus
# filters by its own names, do not count).
_LISTS_SCHEMA_RE = re.compile(
    r"\bpg_tables\b|information_schema\s*\.\s*tables|pg_stat_(user|all|xact_user|xact_all)_tables|pg_statio_",
    re.IGNORECASE)
_CREATED_TABLE_RE = re.compile(r"\s*CREATE\s+TABLE\s+(\w+)", re.IGNORECASE)


def _names(text: str, table: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(table)}(?!\w)", text, re.IGNORECASE) is not None


def build_template(reference_dsn: str, subject_dsn: str, schema: str) -> FileReport:
    """00_setup.sql, compared as any corpus file, into `schema` on both sides, kept there
    for `run_file(..., template=schema)`. Not for self mode: its subject loads the rows in
    reverse order, which a copy would not."""
    return run_file(SETUP_FILE, reference_dsn, subject_dsn, keep_schema=True, schema=schema)


def drop_template(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=30) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE", prepare=False)


def corpus_files() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.sql"))


def count_statements(paths: Iterable[Path] | None = None) -> dict[str, int]:
    return {p.name: len(parse_corpus(p).statements) for p in (paths or corpus_files())}
