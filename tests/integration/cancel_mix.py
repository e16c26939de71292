"""Statements interrupted every way a client can interrupt one, and the checks that nothing
of them stays behind (issue 12): used by `test_cancel_safety.py` (short, fixed seeds) and
`tests/faults/test_cancel_stress.py` (long, opt-in).

Each worker thread repeats events, each on a session of its own:

* `timeout`: a tiny statement_timeout (1-15 ms) over ordinary reads, simple or extended
  protocol (psycopg's ClientCursor or prepared statements: the prepared fast path), then
  RESET;
* `local_timeout`: SET LOCAL statement_timeout in a block that changed a row, then ROLLBACK;
* `cancel`: psycopg's `conn.cancel()` (a CancelRequest) at a random moment of reads, in or
  out of a block that changed a row;
* `node_cancel`: pg_cancel_backend() on the datanodes' backends running the session's
  statement (an operator's cancel the coordinator did not send);
* `disconnect`: the client's socket shut down mid-statement;
* `pipeline`: five routed reads in one pipeline under a tiny statement_timeout;
* `asyncpg`: asyncpg's own timeout (it sends a CancelRequest), extended protocol.

After each event the same session (when it survived) and a fresh one must read exactly the
expected rows (routed, multi-node, ordered), show no setting, role or transaction state the
event's session had, and the worker's own counter row (`sw`, written after every event) must
hold exactly the writes acknowledged. Rows changed in blocks that were cancelled or rolled
back must never be seen. Anything else is recorded as a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import errors

ROWS = 60
SUM = ROWS * (ROWS + 1) // 2
BUMP = 1000  # what an interrupted block adds to one row (never committed)
KINDS = ("timeout", "local_timeout", "cancel", "node_cancel", "disconnect", "pipeline", "asyncpg")


@dataclass
class Findings:
    """What went wrong, and how often each outcome was seen (a run that cancelled nothing
    proves nothing: the tests check `counts` too)."""

    wrong: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, text: str) -> None:
        with self.lock:
            self.wrong.append(text)

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1


def create_tables(dsn: str, schema: str, workers: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.st (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.st SELECT g, g FROM generate_series(1, {ROWS}) g")
        conn.execute(f"CREATE TABLE {schema}.sw (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.sw SELECT g, 0 FROM generate_series(1, {workers}) g")


def run_mix(dsn: str, node_dsns: list[str], schema: str, seconds: float, workers: int,
            kinds: tuple[str, ...] = KINDS, seed: int = 0) -> Findings:
    """`workers` threads doing events for `seconds`; the tables from `create_tables`."""
    findings = Findings()
    threads = [threading.Thread(target=_Worker(dsn, node_dsns, schema, w, findings, kinds, seed).run,
                                args=(time.monotonic() + seconds,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
        if thread.is_alive():
            findings.add("a worker hung")
    return findings


class _Worker:
    def __init__(self, dsn: str, node_dsns: list[str], schema: str, index: int, findings: Findings,
                 kinds: tuple[str, ...], seed: int) -> None:
        self.dsn, self.node_dsns, self.s = dsn, node_dsns, schema
        self.index, self.findings, self.kinds = index, findings, kinds
        self.rnd = random.Random(seed * 1000 + index)
        self.app = f"mix{index}"
        self.acknowledged = 0  # this worker's counter row, as acknowledged to it

    def run(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            kind = self.rnd.choice(self.kinds)
            simple = self.rnd.random() < 0.5
            label = f"{kind}/{'simple' if simple else 'extended'}"
            try:
                self.event(kind, simple, label)
            except Exception as exc:  # noqa: BLE001 - every surprise is a finding
                self.findings.add(f"{label}: unexpected {type(exc).__name__}: {exc}")
            try:
                with self.connect(not simple) as fresh:
                    self.check_state(fresh, f"{label} fresh", app="")
                    self.reads(fresh, f"{label} fresh", strict=True)
            except Exception as exc:  # noqa: BLE001
                self.findings.add(f"{label} fresh: {type(exc).__name__}: {exc}")

    # -- sessions and checks ---------------------------------------------------------------

    def connect(self, simple: bool) -> psycopg.Connection:
        conn = psycopg.connect(self.dsn, autocommit=True, prepare_threshold=0,
                               cursor_factory=psycopg.ClientCursor if simple else psycopg.Cursor)
        conn.execute(f"SET search_path = {self.s}")
        return conn

    def reads(self, conn: psycopg.Connection, label: str, strict: bool, bumped: int | None = None) -> None:
        """Each read answers exactly, or (not `strict`) fails with 57014."""
        def v(i: int) -> int:
            return i + BUMP if i == bumped else i

        total = SUM + (BUMP if bumped else 0)
        k = self.rnd.randint(1, ROWS)
        other = k % ROWS + 1
        queries: list[tuple[str, tuple[int, ...] | None, object]] = [
            ("SELECT id, v FROM st WHERE id = %s", (k,), [(k, v(k))]),
            ("SELECT count(*), sum(v) FROM st", None, [(ROWS, total)]),
            ("SELECT id, v FROM st WHERE id IN (%s, %s) ORDER BY id", (k, other),
             sorted({(k, v(k)), (other, v(other))})),
            ("SELECT v FROM st ORDER BY id", None, [(v(i),) for i in range(1, ROWS + 1)]),
        ]
        self.rnd.shuffle(queries)
        for sql, args, want in queries:
            try:
                got = conn.execute(sql, args).fetchall()
            except errors.QueryCanceled:
                if strict:
                    raise
                self.findings.count("57014")
                continue
            if got != want:
                self.findings.add(f"{label}: {sql} {args} gave {got[:4]}, expected {want[:4]}")  # type: ignore[index]
            else:
                self.findings.count("exact")

    def check_state(self, conn: psycopg.Connection, label: str, app: str) -> None:
        """No setting, role or transaction state but the session's own."""
        row = conn.execute("SELECT current_setting('statement_timeout'), current_user::text, "
                           "current_setting('application_name'), current_setting('lock_timeout')").fetchone()
        if row != ("0", "postgres", app, "0"):
            self.findings.add(f"{label}: session state {row}, expected ('0', 'postgres', {app!r}, '0')")
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.findings.add(f"{label}: transaction status {conn.info.transaction_status}")
        # the node connections the session is given carry no leftover either
        row = conn.execute("SELECT current_setting('statement_timeout'), current_user::text FROM st "
                           "WHERE id = %s", (self.rnd.randint(1, ROWS),)).fetchone()
        if row != ("0", "postgres"):
            self.findings.add(f"{label}: datanode connection state {row}")

    def counter(self, conn: psycopg.Connection, label: str) -> None:
        """An acknowledged write after the event, read back exactly."""
        conn.execute("UPDATE sw SET v = v + 1 WHERE id = %s", (self.index + 1,))
        self.acknowledged += 1
        got = conn.execute("SELECT v FROM sw WHERE id = %s", (self.index + 1,)).fetchone()
        if got != (self.acknowledged,):
            self.findings.add(f"{label}: counter row {got}, acknowledged {self.acknowledged}")
            self.acknowledged = got[0] if got else self.acknowledged

    # -- events ----------------------------------------------------------------------------

    def event(self, kind: str, simple: bool, label: str) -> None:
        if kind == "asyncpg":
            self.asyncpg_event(label)
            with self.connect(simple) as conn:
                self.counter(conn, label)
            return
        conn = self.connect(simple)
        try:
            conn.execute(f"SET application_name = '{self.app}'")
            conn = getattr(self, kind.replace("_", "") + "_event")(conn, label, simple)
            self.check_state(conn, f"{label} same", app=self.app)
            self.reads(conn, f"{label} same", strict=True)
            self.counter(conn, label)
        finally:
            conn.close()

    def block(self, conn: psycopg.Connection) -> int | None:
        """BEGIN, and in half the cases a change of one row: the row changed, or None."""
        conn.execute("BEGIN")
        if self.rnd.random() < 0.5:
            return None
        bumped = self.rnd.randint(1, ROWS)
        conn.execute("UPDATE st SET v = v + %s WHERE id = %s", (BUMP, bumped))
        return bumped

    def timeout_event(self, conn: psycopg.Connection, label: str, simple: bool) -> psycopg.Connection:
        conn.execute(f"SET statement_timeout = '{self.rnd.randint(1, 15)}ms'")
        for _ in range(4):
            self.reads(conn, label, strict=False)
        _reset_timeout(conn)
        return conn

    def localtimeout_event(self, conn: psycopg.Connection, label: str, simple: bool) -> psycopg.Connection:
        bumped = self.block(conn)
        conn.execute(f"SET LOCAL statement_timeout = '{self.rnd.randint(1, 15)}ms'")
        try:
            self.reads(conn, label, strict=True, bumped=bumped)
        except errors.QueryCanceled:
            self.findings.count("57014")
        conn.execute("ROLLBACK")
        return conn

    def cancel_event(self, conn: psycopg.Connection, label: str, simple: bool) -> psycopg.Connection:
        bumped = self.block(conn) if self.rnd.random() < 0.5 else None
        in_block = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        threading.Timer(self.rnd.random() * 0.02, conn.cancel).start()
        try:
            for _ in range(3):
                self.reads(conn, label, strict=True, bumped=bumped)
        except errors.QueryCanceled:
            self.findings.count("57014")
        except errors.InFailedSqlTransaction:
            pass
        time.sleep(0.05)  # a late cancel lands now, on whatever connection it reaches
        if in_block:
            conn.execute("ROLLBACK")
        return conn

    def nodecancel_event(self, conn: psycopg.Connection, label: str, simple: bool) -> psycopg.Connection:
        marker = f"mix_{self.index}_{self.rnd.randrange(1 << 30)}"
        in_block = self.rnd.random() < 0.5
        if in_block:
            self.block(conn)
        canceller = threading.Thread(target=_cancel_on_nodes, args=(self.node_dsns, marker))
        canceller.start()
        try:
            conn.execute(f"SELECT /* {marker} */ pg_sleep(0.3), v FROM st WHERE v > 0").fetchall()
            self.findings.count("node cancel missed")
        except errors.QueryCanceled:
            self.findings.count("57014")
        canceller.join()
        if in_block:
            conn.execute("ROLLBACK")
        return conn

    def disconnect_event(self, conn: psycopg.Connection, label: str, simple: bool) -> psycopg.Connection:
        def cut() -> None:
            time.sleep(self.rnd.random() * 0.02)
            with contextlib.suppress(OSError):
                sock = socket.socket(fileno=conn.fileno())
                sock.shutdown(socket.SHUT_RDWR)
                sock.detach()

        threading.Thread(target=cut).start()
        try:
            # reads in the block see its own change until the cut lands
            bumped = self.block(conn) if self.rnd.random() < 0.5 else None
            for _ in range(3):
                self.reads(conn, label, strict=True, bumped=bumped)
        except psycopg.Error:
            self.findings.count("cut")
        time.sleep(0.03)
        conn.close()
        conn = self.connect(simple)
        conn.execute(f"SET application_name = '{self.app}'")
        return conn

    def pipeline_event(self, conn: psycopg.Connection, label: str, simple: bool) -> psycopg.Connection:
        if simple:  # (a pipeline is extended protocol only)
            return self.timeout_event(conn, label, simple)
        conn.execute(f"SET statement_timeout = '{self.rnd.randint(1, 10)}ms'")
        try:
            with conn.pipeline():
                cursors = [conn.execute("SELECT id, v FROM st WHERE id = %s", (k,)) for k in range(1, 6)]
            for k, cursor in enumerate(cursors, 1):
                got = cursor.fetchall()
                if got != [(k, k)]:
                    self.findings.add(f"{label}: pipelined read {k} gave {got}")
        except errors.QueryCanceled:
            self.findings.count("57014")
        except psycopg.errors.PipelineAborted:
            self.findings.count("57014")
        _reset_timeout(conn)
        return conn

    def asyncpg_event(self, label: str) -> None:
        asyncio.run(self._asyncpg(label))

    async def _asyncpg(self, label: str) -> None:
        import asyncpg

        async def connect() -> asyncpg.Connection:
            return await asyncpg.connect(self.dsn, server_settings={"search_path": self.s})

        conn = await connect()
        try:
            for _ in range(5):
                k = self.rnd.randint(1, ROWS)
                try:
                    got = await conn.fetch("SELECT id, v FROM st WHERE id = $1", k,
                                           timeout=self.rnd.randint(1, 15) / 1000)
                    if [tuple(r) for r in got] != [(k, k)]:
                        self.findings.add(f"{label}: {k} gave {got}")
                    total = await conn.fetchrow("SELECT count(*), sum(v) FROM st",
                                                timeout=self.rnd.randint(1, 15) / 1000)
                    if tuple(total) != (ROWS, SUM):
                        self.findings.add(f"{label}: totals {tuple(total)}")
                except (TimeoutError, asyncpg.QueryCanceledError):
                    self.findings.count("57014")
                except asyncpg.InterfaceError:
                    # asyncpg closes a connection itself when a query follows its own
                    # cancel too closely (its choice, with plain PostgreSQL too)
                    self.findings.count("asyncpg closed")
                    await conn.close(timeout=5)
                    conn = await connect()
            if conn.is_closed():
                conn = await connect()
            got = await conn.fetch("SELECT v FROM st ORDER BY id")
            if [r[0] for r in got] != list(range(1, ROWS + 1)):
                self.findings.add(f"{label}: ordered read after the timeouts")
        finally:
            await conn.close(timeout=5)


def _reset_timeout(conn: psycopg.Connection) -> None:
    """RESET statement_timeout; it may itself be timed by the old value (as in PostgreSQL),
    so it is retried."""
    for _ in range(20):
        try:
            conn.execute("RESET statement_timeout")
            return
        except errors.QueryCanceled:
            continue
    raise AssertionError("RESET statement_timeout failed 20 times")


def _cancel_on_nodes(node_dsns: list[str], marker: str) -> None:
    """pg_cancel_backend on every datanode backend running `marker`, once one is seen."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        done = 0
        for dsn in node_dsns:
            with psycopg.connect(dsn, autocommit=True) as conn:
                done += conn.execute("SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity "
                                     "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                                     (f"%{marker}%",)).fetchone()[0]
        if done:
            return
        time.sleep(0.02)


def summary(findings: Findings) -> str:
    return f"{len(findings.wrong)} findings, counts {findings.counts}:\n" + "\n".join(findings.wrong[:30])
