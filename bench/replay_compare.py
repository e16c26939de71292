"""Running one statement on a server and comparing two outcomes, for regress_replay.py.

Owns: the outcome of a statement as the replay sees it (success with its command tag,
column names and rows as text, or failure with its SQLSTATE), a per-statement timeout
(cancel, then cut the connection), and the rule that decides whether two outcomes agree:
the same success or failure and SQLSTATE; for rows, the same column names and the same
rows, in order only where the statement has a top-level ORDER BY; for EXPLAIN, the same
success or failure only (a distributed plan is not PostgreSQL's plan by design).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass, field

import psycopg
from pglast import parser as pgparser
from psycopg.adapt import Loader
from psycopg.postgres import types as pg_types

# What pg_regress gives its sessions (PGDATESTYLE, PGTZ and the regression database's
# settings), as startup options so that RESET returns to them, as under pg_regress.
SESSION_OPTIONS = {
    "datestyle": "Postgres,MDY",
    "timezone": "America/Los_Angeles",
    "intervalstyle": "postgres_verbose",
    "lc_messages": "C",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "lc_time": "C",
    "bytea_output": "hex",
    "timezone_abbreviations": "Default",
}
# GRIDPG_REPLAY_PREPARED=1: every statement through the extended protocol as a named
# prepared statement (Parse, Describe, Bind, Execute: what JDBC and psycopg send for a
# statement run again) instead of the simple protocol psql uses.
PREPARED = os.environ.get("GRIDPG_REPLAY_PREPARED") == "1"
TIMEOUT_STATE = "timeout"
BROKEN_STATE = "connection"


class TextLoader(Loader):
    """Every value as PostgreSQL's text output, so two servers compare exactly."""

    def load(self, data: bytes | bytearray | memoryview) -> str:
        return bytes(data).decode("utf-8", "surrogateescape")


@dataclass
class Outcome:
    """What a statement did: `ok`, or failed with `sqlstate`; rows as text."""

    ok: bool
    sqlstate: str = ""
    message: str = ""
    status: str = ""
    columns: tuple[str, ...] = ()
    types: tuple[int, ...] = ()
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    has_rows: bool = False
    copy_out: str = ""

    def brief(self, limit: int = 6) -> str:
        if not self.ok:
            return f"ERROR {self.sqlstate}: {self.message.splitlines()[0] if self.message else ''}"
        if not self.has_rows:
            return f"OK {self.status}" + (f" copy-out {self.copy_out[:200]!r}" if self.copy_out else "")
        shown = ", ".join(repr(r) for r in self.rows[:limit])
        more = f" ... ({len(self.rows)} rows)" if len(self.rows) > limit else ""
        return f"OK {self.status} cols={list(self.columns)} rows=[{shown}]{more}"


def connect(dsn: str) -> psycopg.Connection:
    """A psql-like session: autocommit, simple query protocol, values as text."""
    options = " ".join(f"-c {k}={v}" for k, v in SESSION_OPTIONS.items())
    conn = psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=20,
                           options=options)
    for info in pg_types:
        conn.adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            conn.adapters.register_loader(info.array_oid, TextLoader)
    conn.adapters.register_loader(0, TextLoader)
    conn.add_notice_handler(lambda _d: None)
    return conn


def run(conn: psycopg.Connection, sql: str, copy_data: str | None, timeout: float) -> Outcome:
    """Run one statement with a deadline: cancel at `timeout`, cut the socket at 2x. An
    answer read whole only after the cut (millions of rows, the server long done: the
    cancel came too late to stop it) is a timeout too: its session is gone."""
    cut_done = threading.Event()

    def cut_now() -> None:
        cut_done.set()
        _cut(conn)

    cancel = threading.Timer(timeout, _cancel, (conn,))
    cut = threading.Timer(timeout * 2, cut_now)
    cancel.start()
    cut.start()
    try:
        out = _execute(conn, sql, copy_data)
        if cut_done.is_set():
            return Outcome(False, TIMEOUT_STATE, f"answer read whole only after {timeout * 2:g} s")
        return out
    except psycopg.Error as exc:
        state = getattr(exc, "sqlstate", None) or ""
        if state == "57014" and not cancel.is_alive():
            return Outcome(False, TIMEOUT_STATE, f"no answer within {timeout:g} s")
        if conn.closed or conn.broken:
            return Outcome(False, BROKEN_STATE, str(exc))
        return Outcome(False, state or "?", str(exc).strip())
    finally:
        cancel.cancel()
        cut.cancel()


def _execute(conn: psycopg.Connection, sql: str, copy_data: str | None) -> Outcome:
    cur = conn.cursor()
    if copy_data is not None or _is_copy(sql):
        return _copy(cur, sql, copy_data)
    cur.execute(sql, prepare=PREPARED)
    out = _result(cur)
    while cur.nextset():
        out = _result(cur)
    return out


def _copy(cur: psycopg.Cursor, sql: str, data: str | None) -> Outcome:
    received: list[str] = []
    with cur.copy(sql) as copy:
        if data is not None:
            copy.write(data.encode("utf-8", "surrogateescape"))
        else:
            received.extend(bytes(chunk).decode("utf-8", "surrogateescape") for chunk in copy)
    return Outcome(True, status=cur.statusmessage or "", copy_out="".join(received))


def _is_copy(sql: str) -> bool:
    from psql_script import strip_comments

    head = strip_comments(sql).lstrip().lower()
    return head.startswith("copy") and ("stdout" in head or "stdin" in head)


def _result(cur: psycopg.Cursor) -> Outcome:
    if cur.description is None:
        return Outcome(True, status=cur.statusmessage or "")
    rows = [tuple(r) for r in cur.fetchall()]
    return Outcome(True, status=cur.statusmessage or "", columns=tuple(d.name for d in cur.description),
                   types=tuple(d.type_code for d in cur.description), rows=rows, has_rows=True)


def _cancel(conn: psycopg.Connection) -> None:
    with contextlib.suppress(Exception):
        conn.cancel_safe(timeout=5)


def _cut(conn: psycopg.Connection) -> None:
    """Last resort for a statement that ignores its cancel: shut the socket down."""
    with contextlib.suppress(Exception):
        sock = socket.socket(fileno=conn.fileno())
        sock.shutdown(socket.SHUT_RDWR)
        sock.detach()


# -- comparing -------------------------------------------------------------------------------


def agree(sql: str, plain: Outcome, grid: Outcome, kind: str = "") -> bool:
    """Whether gridpg's outcome counts as PostgreSQL's (see the module docstring); `kind`
    overrides statement_kind(sql) ("count": the same number of rows and columns only, for
    FETCH from a cursor whose query has no ORDER BY, where any rows are right)."""
    if plain.ok != grid.ok:
        return False
    if not plain.ok:
        return plain.sqlstate == grid.sqlstate
    kind = kind or statement_kind(sql)
    if kind == "explain":
        return True
    if kind == "count":
        return (plain.status, plain.columns) == (grid.status, grid.columns)
    if plain.copy_out or grid.copy_out:
        return sorted(plain.copy_out.splitlines()) == sorted(grid.copy_out.splitlines())
    if plain.has_rows != grid.has_rows:
        return False
    if plain.columns != grid.columns:
        return False
    if plain.rows == grid.rows:
        return True
    if len(plain.rows) != len(grid.rows) or _builtin(plain.types) != _builtin(grid.types):
        return False
    tolerance = [FLOAT_TOLERANCE.get(t, 0.0) for t in plain.types]
    if kind == "ordered" and _same_order_up_to_ties(sql, plain, grid, tolerance):
        return True
    if kind == "ordered":
        pairs = zip(plain.rows, grid.rows, strict=True)
    else:
        pairs = zip(_sorted(plain.rows, tolerance), _sorted(grid.rows, tolerance), strict=True)
    return all(_row_equal(a, b, tolerance) for a, b in pairs)


# float4 and float8 results may differ in their last digits with the summation order (as
# PostgreSQL's own parallel aggregation does): compared with the oracle suite's relative
# tolerances; every other type must be identical as text.
FLOAT_TOLERANCE = {700: 1e-6, 701: 1e-9}


def _same_order_up_to_ties(sql: str, plain: Outcome, grid: Outcome, tolerance: list[float]) -> bool:
    """Rows with equal sort keys may come in any order (as in the oracle suite): the same
    sequence of sort-key values and the same rows as a multiset. Only when every ORDER BY
    item is an output column (by name or position)."""
    keys = _sort_columns(sql, plain.columns)
    if keys is None:
        return False
    sorted_p, sorted_g = _sorted(plain.rows, tolerance), _sorted(grid.rows, tolerance)
    if not all(_row_equal(a, b, tolerance) for a, b in zip(sorted_p, sorted_g, strict=True)):
        return False
    key_tolerance = [tolerance[i] for i in keys]
    numeric = [plain.types[i] == NUMERIC_OID for i in keys]

    def key(row: tuple[str | None, ...]) -> tuple[str | None, ...]:
        # numeric 70 and 70.0 are one sort key (equal values, different scales)
        return tuple(_numeric_value(row[i]) if is_numeric else row[i] for i, is_numeric in zip(keys, numeric))

    return all(_row_equal(key(a), key(b), key_tolerance) for a, b in zip(plain.rows, grid.rows, strict=True))


NUMERIC_OID = 1700


def _numeric_value(text: str | None) -> str | None:
    import decimal

    try:
        return None if text is None else str(decimal.Decimal(text).normalize())
    except decimal.InvalidOperation:
        return text


def _sort_columns(sql: str, columns: tuple[str, ...]) -> list[int] | None:
    try:
        node = pgparser.parse_sql(sql)[-1].stmt
    except Exception:  # noqa: BLE001
        return None
    out = []
    outputs = _output_expressions(node, len(columns))
    for item in getattr(node, "sortClause", None) or ():
        expr = item.node
        name = type(expr).__name__
        if name == "A_Const" and isinstance(getattr(expr.val, "ival", None), int):
            out.append(expr.val.ival - 1)
        elif name == "ColumnRef" and type(expr.fields[-1]).__name__ == "String" \
                and expr.fields[-1].sval in columns and columns.count(expr.fields[-1].sval) == 1:
            out.append(columns.index(expr.fields[-1].sval))
        elif _text(expr) in outputs:  # ORDER BY b.starttime beside `b.starttime AS start`
            out.append(outputs.index(_text(expr)))
        else:
            return None
    return out if out and all(0 <= i < len(columns) for i in out) else None


def _output_expressions(node: object, width: int) -> list[str]:
    """The output columns' expressions as text, when they are the statement's columns one
    for one (no `*`)."""
    targets = getattr(node, "targetList", None) or ()
    if any(type(getattr(t, "val", None)).__name__ == "ColumnRef"
           and type(t.val.fields[-1]).__name__ == "A_Star" for t in targets):
        return []
    texts = [_text(getattr(t, "val", None)) for t in targets]
    return texts if len(texts) == width and all(texts) else []


def _text(expr: object) -> str:
    from pglast.stream import RawStream

    try:
        return str(RawStream()(expr)) if expr is not None else ""
    except Exception:  # noqa: BLE001 - a node the printer does not know: no match
        return ""


def _builtin(types: tuple[int, ...]) -> tuple[int, ...]:
    """Type OIDs, user-defined ones (different on each server) as 0."""
    return tuple(t if t < 16384 else 0 for t in types)


def _sorted(rows: list[tuple[str | None, ...]], tolerance: list[float]) -> list[tuple[str | None, ...]]:
    return sorted(rows, key=lambda r: tuple(_sort_key(v, t) for v, t in zip(r, tolerance, strict=True)))


def _sort_key(value: str | None, tolerance: float) -> tuple[bool, str]:
    if value is None:
        return (True, "")
    if tolerance:
        try:
            return (False, f"{float(value):.5e}")
        except ValueError:
            pass
    return (False, value)


def _row_equal(a: tuple[str | None, ...], b: tuple[str | None, ...], tolerance: list[float]) -> bool:
    for x, y, tol in zip(a, b, tolerance, strict=True):
        if x == y:
            continue
        if not tol or x is None or y is None:
            return False
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if abs(fx - fy) > tol * max(abs(fx), abs(fy)):
            return False
    return True


def statement_kind(sql: str) -> str:
    """"explain", "ordered" (a top-level ORDER BY decides the row order) or "unordered"."""
    try:
        tree = pgparser.parse_sql(sql)
    except Exception:  # noqa: BLE001 - both servers will report the syntax error
        return "unordered"
    if not tree:
        return "unordered"
    node = tree[-1].stmt
    name = type(node).__name__
    if name == "ExplainStmt":
        return "explain"
    if name in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        return "unordered"
    if name == "SelectStmt" and getattr(node, "sortClause", None):
        return "ordered"
    if name == "DeclareCursorStmt":
        return "cursor-ordered" if getattr(node.query, "sortClause", None) else "cursor-unordered"
    if name == "FetchStmt":
        return "fetch:" + (node.portalname or "")
    return "unordered"
