"""Row locks taken by sub-selects land on the cluster's rows, never on copies: the job-queue
pattern (`UPDATE jobs ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)`) hands two
concurrent workers different jobs, NOWAIT fails with 55P03 on a row another transaction
locked, and what gridpg cannot lock where the rows live is refused (0A000). Before, the
sub-select ran over a broadcast copy of the table: both workers took the same job."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from gridpg.cluster.control import Cluster

TAKE_ONE = ("UPDATE {t} SET state = 'taken' WHERE id = (SELECT id FROM {t} WHERE state = 'new' "
            "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id")


@pytest.fixture()
def jobs(gridpg_cluster: Cluster, schema: str) -> str:
    table = f"{schema}.jobs"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, state text)")  # distributed by id
        conn.execute(f"INSERT INTO {table} SELECT g, 'new' FROM generate_series(1, 10) g")
    return table


@pytest.fixture()
def workers(gridpg_cluster: Cluster) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    """Two sessions in transactions, one per coordinator; a wait on a lock ends in 10 s."""
    a, b = psycopg.connect(gridpg_cluster.dsn(0)), psycopg.connect(gridpg_cluster.dsn(1))
    for conn in (a, b):
        conn.execute("SET lock_timeout = '10s'")
        conn.commit()
    yield a, b
    a.close()
    b.close()


def taken(gridpg_cluster: Cluster, table: str) -> list[int]:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        return [r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE state <> 'new' ORDER BY id")]


def test_two_workers_take_different_jobs(gridpg_cluster: Cluster, jobs: str,
                                         workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    a, b = workers
    first = a.execute(TAKE_ONE.format(t=jobs)).fetchall()
    second = b.execute(TAKE_ONE.format(t=jobs)).fetchall()  # skips a's row, does not wait for it
    assert first == [(1,)]
    assert len(second) == 1 and second != first
    a.commit()
    b.commit()
    assert taken(gridpg_cluster, jobs) == sorted([first[0][0], second[0][0]])


def test_delete_in_limit_skip_locked_and_the_with_form(gridpg_cluster: Cluster, jobs: str,
                                                       workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    a, b = workers
    deleted = a.execute(f"DELETE FROM {jobs} WHERE id IN (SELECT id FROM {jobs} ORDER BY id LIMIT 3 "
                        "FOR NO KEY UPDATE SKIP LOCKED) RETURNING id").fetchall()
    updated = b.execute(f"WITH next AS (SELECT id FROM {jobs} WHERE state = 'new' ORDER BY id LIMIT 2 "
                        f"FOR UPDATE SKIP LOCKED) UPDATE {jobs} SET state = 'taken' FROM next "
                        f"WHERE {jobs}.id = next.id RETURNING {jobs}.id").fetchall()
    assert sorted(deleted) == [(1,), (2,), (3,)]
    assert len(updated) == 2 and not set(updated) & set(deleted)
    a.commit()
    b.commit()
    assert taken(gridpg_cluster, jobs) == sorted(r[0] for r in updated)


def test_insert_select_skip_locked_takes_different_rows(gridpg_cluster: Cluster, schema: str, jobs: str,
                                                        workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    a, b = workers
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.claims (job int, worker text) DISTRIBUTE BY HASH(worker)")
    claim = (f"INSERT INTO {schema}.claims SELECT id, %s FROM {jobs} WHERE state = 'new' ORDER BY id LIMIT 1 "
             "FOR UPDATE SKIP LOCKED RETURNING job")
    first = a.execute(claim, ("a",)).fetchall()
    second = b.execute(claim, ("b",)).fetchall()
    assert first == [(1,)] and len(second) == 1 and second != first
    a.commit()
    b.commit()


def test_nowait_on_a_locked_row_raises_55p03(jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    a, b = workers
    nowait = (f"UPDATE {jobs} SET state = 'taken' WHERE id = (SELECT id FROM {jobs} WHERE state = 'new' "
              "ORDER BY id LIMIT 1 FOR UPDATE NOWAIT) RETURNING id")
    assert a.execute(nowait).fetchall() == [(1,)]
    with pytest.raises(errors.LockNotAvailable):
        b.execute(nowait)
    b.rollback()
    # FOR SHARE of a row another transaction holds FOR SHARE is granted; FOR UPDATE NOWAIT is not
    a.rollback()
    share = f"DELETE FROM {jobs} WHERE id = (SELECT id FROM {jobs} WHERE id = 5 FOR SHARE NOWAIT) AND false"
    a.execute(share)
    b.execute(share)
    with pytest.raises(errors.LockNotAvailable):
        b.execute(f"UPDATE {jobs} SET state = 'x' WHERE id IN (SELECT id FROM {jobs} WHERE id = 5 FOR UPDATE NOWAIT)")
    a.rollback()
    b.rollback()


def test_locks_that_would_land_on_copies_are_refused(gridpg_cluster: Cluster, schema: str, jobs: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.other (k text PRIMARY KEY, jid int)")  # not colocated with jobs
        for sql in (
            f"UPDATE {jobs} SET state = 'x' FROM (SELECT id FROM {jobs} ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED) s "
            f"WHERE s.id = {jobs}.id",
            f"UPDATE {jobs} SET state = 'x' WHERE EXISTS (SELECT 1 FROM {schema}.other FOR UPDATE)",
            f"UPDATE {jobs} j SET state = 'x' WHERE id = "
            f"(SELECT jid FROM {schema}.other o WHERE o.jid = j.id FOR UPDATE)",
            f"SELECT * FROM {jobs} j JOIN {schema}.other o ON o.jid = j.id FOR UPDATE",
            # PostgreSQL runs these; gridpg reads their query from gathered or staged copies
            f"CREATE TABLE {schema}.ctas AS SELECT id FROM {jobs} WHERE id = 1 FOR UPDATE",
            f"MERGE INTO {schema}.other o USING (SELECT id FROM {jobs} WHERE id = 1 FOR UPDATE) s "
            "ON o.jid = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id::text, s.id)",
            # would neither run the write nor lock (the locking SELECT runs first when run)
            "EXPLAIN ANALYZE " + TAKE_ONE.format(t=jobs),
        ):
            with pytest.raises(errors.FeatureNotSupported):
                conn.execute(sql)
        with pytest.raises(errors.FeatureNotSupported):
            with conn.cursor().copy(f"COPY (SELECT id FROM {jobs} WHERE id = 1 FOR UPDATE) TO STDOUT") as copy:
                list(copy)
        assert taken(gridpg_cluster, jobs) == []


def test_a_limit_over_several_nodes_locks_only_the_rows_taken(
        jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """Each node locks its own first rows; a node none of whose rows the answer takes gives
    its locks back before the statement ends, so only PostgreSQL's rows stay locked (with an
    OFFSET, the rows skipped too: PostgreSQL locks below the LIMIT): every other row can be
    locked at once (NOWAIT) by another session."""
    a, b = workers
    for take, locked in (
        (f"SELECT id FROM {jobs} WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", [1]),
        (f"SELECT id FROM {jobs} ORDER BY id DESC LIMIT 1 OFFSET 1 FOR NO KEY UPDATE NOWAIT", [9, 10]),
        (TAKE_ONE.format(t=jobs), [1]),
    ):
        a.execute(take)
        others = b.execute(f"SELECT id FROM {jobs} WHERE id <> ALL (%s) ORDER BY id FOR UPDATE NOWAIT",
                           (locked,)).fetchall()
        assert len(others) == 10 - len(locked), take
        b.rollback()
        for row in locked:
            with pytest.raises(errors.LockNotAvailable):
                b.execute(f"SELECT id FROM {jobs} WHERE id = %s FOR UPDATE NOWAIT", (row,))
            b.rollback()
        a.rollback()


def test_a_waiting_lock_with_a_limit_and_no_order_locks_node_after_node(
        jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """Django's `select_for_update().get(...)` and `update_or_create` send `... LIMIT 21 FOR
    UPDATE` (no ORDER BY, a lock that waits): it was refused (0A000). The nodes now lock in
    turn, each asked for the rows still wanted, so exactly the rows returned are locked, as
    in PostgreSQL; with an ORDER BY and WITH TIES it is still refused."""
    a, b = workers
    for take, params, count in (
        (f"SELECT id, state FROM {jobs} WHERE state = %s LIMIT 21 FOR UPDATE", ("new",), 10),
        (f"SELECT id FROM {jobs} WHERE id = %s LIMIT 21 FOR UPDATE", (4,), 1),
        (f"SELECT id FROM {jobs} LIMIT 3 FOR UPDATE", (), 3),
        (f"SELECT id FROM {jobs} LIMIT 2 OFFSET 3 FOR SHARE", (), 5),
        (f"SELECT id FROM {jobs} LIMIT 0 FOR UPDATE", (), 0),
    ):
        for prepare in (False, True):
            rows = a.execute(take, params, prepare=prepare).fetchall()
            free = b.execute(f"SELECT id FROM {jobs} FOR UPDATE SKIP LOCKED").fetchall()
            assert (len(rows), 10 - len(free)) == (min(count, 2 if "OFFSET" in take else count), count), take
            assert not {r[0] for r in rows} & {r[0] for r in free}
            b.rollback()
            a.rollback()
    b.execute(f"SELECT id FROM {jobs} WHERE id = 7 FOR UPDATE")
    a.execute("SET lock_timeout = '300ms'")
    with pytest.raises(errors.LockNotAvailable):  # waits for b's row, as PostgreSQL does
        a.execute(f"SELECT id FROM {jobs} WHERE id BETWEEN 6 AND 8 LIMIT 21 FOR UPDATE")
    a.rollback()
    b.rollback()
    with pytest.raises(errors.FeatureNotSupported):  # keeps no account of the rows the ties add
        a.execute(f"SELECT id FROM {jobs} ORDER BY id FETCH FIRST 2 ROWS WITH TIES FOR UPDATE")
    a.rollback()


def test_bound_parameters_inside_and_outside_the_locking_select(gridpg_cluster: Cluster, schema: str,
                                                                jobs: str) -> None:
    """Extended protocol, prepared or not: a parameter only the sub-select uses is taken
    with it (what remains must not carry an untyped $n), one used elsewhere stays bound."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.claims (job int, who text)")
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        for prepare in (False, True):
            got = conn.execute(f"UPDATE {jobs} SET state = %s WHERE id = (SELECT id FROM {jobs} WHERE state = %s "
                               "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, state",
                               ("taken", "new"), prepare=prepare).fetchall()
            assert got == [(1, "taken")]
            got = conn.execute(f"INSERT INTO {schema}.claims SELECT id, %s AS who FROM {jobs} WHERE id = %s "
                               "FOR UPDATE RETURNING *, %s::text", ("w", 3, "z"), prepare=prepare).fetchall()
            assert got == [(3, "w", "z")]
            got = conn.execute(f"DELETE FROM {jobs} WHERE id IN (SELECT id FROM {jobs} WHERE id > %s ORDER BY id "
                               "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id", (5, 2), prepare=prepare).fetchall()
            assert got == [(6,), (7,)]
            conn.rollback()


WAIT_FIRST = "SELECT id FROM {t} WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE"


def nowait_locked(conn: psycopg.Connection, table: str, ids: list[int]) -> list[int]:
    """The rows among `ids` another transaction holds: those `FOR UPDATE NOWAIT` refuses (55P03)."""
    held = []
    for row in ids:
        try:
            conn.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", (row,))
        except errors.LockNotAvailable:
            held.append(row)
        conn.rollback()
    return held


def test_an_ordered_waiting_lock_returns_and_locks_postgresqls_row(
        gridpg_cluster: Cluster, jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """`... ORDER BY ... LIMIT n FOR UPDATE` (no SKIP LOCKED) over both nodes was refused
    (0A000). It now returns PostgreSQL's rows (the first n in the order, NULLs, DESC, OFFSET
    and bound parameters as PostgreSQL reads them) and, with LIMIT 1, holds exactly its lock:
    a third session's NOWAIT fails on the chosen row only (the other node's first row was
    locked in a savepoint and given back)."""
    a, b = workers
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"UPDATE {jobs} SET state = NULL WHERE id IN (3, 8)")
    for take, params, answer, held in (
        (WAIT_FIRST.format(t=jobs), (), [1], [1]),
        (f"SELECT id FROM {jobs} ORDER BY state NULLS FIRST, id DESC LIMIT 1 FOR NO KEY UPDATE", (), [8], [8]),
        (f"SELECT id FROM {jobs} ORDER BY state DESC, id LIMIT 1 FOR UPDATE NOWAIT", (), [3], [3]),
        (f"SELECT id FROM {jobs} WHERE id > %s ORDER BY id DESC LIMIT 1 FOR SHARE", (4,), [10], [10]),
        (f"SELECT id FROM {jobs} ORDER BY id DESC LIMIT 1 OFFSET 1 FOR UPDATE", (), [9], [9, 10]),
        (f"SELECT id, state FROM {jobs} WHERE state = %s ORDER BY id LIMIT 3 FOR UPDATE", ("new",), [1, 2, 4], None),
        # Rails' `Job.order(:id).lock.first`: LIMIT $1
        (f"SELECT {jobs}.* FROM {jobs} ORDER BY {jobs}.id DESC LIMIT %s FOR UPDATE", (1,), [10], [10]),
        (f"SELECT id FROM {jobs} ORDER BY id DESC LIMIT %s OFFSET %s FOR UPDATE", (1, 1), [9], [9, 10]),
        (f"SELECT id FROM {jobs} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (1,), [1], [1]),
    ):
        for prepare in (False, True):
            rows = [r[0] for r in a.execute(take, params, prepare=prepare).fetchall()]  # type: ignore[arg-type]
            assert rows == answer, take
            locked = nowait_locked(b, jobs, list(range(1, 11)))
            if held is not None:
                assert locked == held, take
            else:  # LIMIT n > 1: a node some of whose rows are taken may keep its others' locks
                assert set(answer) <= set(locked), take
            a.rollback()
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:  # no lock outlives the statement
        assert conn.execute(WAIT_FIRST.format(t=jobs)).fetchall() == [(1,)]
        assert nowait_locked(b, jobs, list(range(1, 11))) == []


@pytest.mark.parametrize("finish", ["DELETE FROM {t} WHERE id = %s", "UPDATE {t} SET state = 'done' WHERE id = %s"])
def test_a_second_worker_without_skip_locked_waits_then_takes_the_next_job(
        jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection], finish: str) -> None:
    """PostgreSQL's queue without SKIP LOCKED: the second worker waits for the first one's
    job; once that commits (the job deleted, or its row no longer matching the WHERE
    clause), it moves on to the next job in the order."""
    a, b = workers
    assert a.execute(WAIT_FIRST.format(t=jobs)).fetchall() == [(1,)]
    got: list[tuple[int]] = []
    waiter = threading.Thread(target=lambda: got.extend(b.execute(WAIT_FIRST.format(t=jobs)).fetchall()))
    waiter.start()
    waiter.join(1.5)
    assert waiter.is_alive() and got == []  # waits for job 1, as in PostgreSQL
    a.execute(finish.format(t=jobs), (1,))
    a.commit()
    waiter.join(10)
    assert got == [(2,)]
    b.commit()


def test_workers_taking_jobs_in_order_never_deadlock(gridpg_cluster: Cluster, jobs: str) -> None:
    """Two such statements at once: run on both nodes at once, each could hold one node's
    first row and wait for the other's (a deadlock PostgreSQL never makes); the nodes lock
    in one order, so the workers queue. Every job is taken once."""
    take = (f"UPDATE {jobs} SET state = 'taken' WHERE id = (SELECT id FROM {jobs} WHERE state = 'new' "
            "ORDER BY id LIMIT 1 FOR UPDATE) RETURNING id")
    done: list[int] = []
    failures: list[BaseException] = []

    def work(dsn: str) -> None:
        try:
            with psycopg.connect(dsn) as conn:
                conn.execute("SET lock_timeout = '20s'")
                for _ in range(4):
                    done.extend(r[0] for r in conn.execute(take).fetchall())
                    conn.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(gridpg_cluster.dsn(i),)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(done) == list(range(1, 9))


def test_the_nodes_lock_one_after_the_other(gridpg_cluster: Cluster, jobs: str,
                                           workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """While the statement waits on the first node (dn1) for a row another transaction
    holds, it has locked nothing on dn2: a third session locks dn2's first row at once
    (NOWAIT). Run on both nodes at once, dn2's first row would be held meanwhile: the
    half of a deadlock two such statements could make. Once the holder ends, the answer
    and the one lock kept are PostgreSQL's."""
    a, b = workers
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        firsts = []
        for node in ("dn1", "dn2"):
            row = conn.execute(f"EXECUTE DIRECT ON ({node}) 'SELECT min(id) FROM {jobs}'").fetchone()
            assert row is not None
            firsts.append(row[0])
    with psycopg.connect(gridpg_cluster.dsn(1)) as holder:
        holder.execute(f"SELECT id FROM {jobs} WHERE id = %s FOR UPDATE", (firsts[0],))
        got: list[tuple[int]] = []
        waiter = threading.Thread(target=lambda: got.extend(a.execute(WAIT_FIRST.format(t=jobs)).fetchall()))
        waiter.start()
        waiter.join(1.5)
        assert waiter.is_alive()
        assert nowait_locked(b, jobs, [firsts[1]]) == []  # dn2 not reached yet
        holder.rollback()
    waiter.join(10)
    assert got == [(1,)] and nowait_locked(b, jobs, firsts) == [1]
    a.rollback()


def test_a_later_node_locks_only_rows_that_can_be_returned(
        gridpg_cluster: Cluster, jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """dn1 (read first) gives the first job; dn2 then locks only its rows sorting before it:
    another transaction holding dn2's next row does not make the statement wait (PostgreSQL
    never reaches that row), and only the job returned stays locked."""
    a, b = workers
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        row = conn.execute(f"EXECUTE DIRECT ON (dn1) 'SELECT min(id) FROM {jobs}'").fetchone()
        assert row is not None
        first = row[0]
        row = conn.execute(f"EXECUTE DIRECT ON (dn2) 'SELECT min(id) FROM {jobs} WHERE id > {int(first)}'").fetchone()
        assert row is not None and row[0] is not None
        later = row[0]
    with psycopg.connect(gridpg_cluster.dsn(1)) as holder:
        holder.execute(f"SELECT id FROM {jobs} WHERE id = %s FOR UPDATE", (later,))
        a.execute("SET LOCAL lock_timeout = '2s'")
        for prepare in (False, True):
            got = a.execute(f"SELECT id FROM {jobs} WHERE id >= %s ORDER BY id LIMIT 1 FOR UPDATE", (first,),
                            prepare=prepare).fetchall()
            assert got == [(first,)]
            assert nowait_locked(b, jobs, [i for i in range(1, 11) if i != later]) == [first]
        a.rollback()
        holder.rollback()


def test_a_select_whose_in_sub_select_locks_locks_those_rows(
        jobs: str, workers: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    """`SELECT ... WHERE id IN (SELECT id ... FOR UPDATE)` without a locking clause of its own
    (Citus cte_inline.sql:48): the sub-select runs first as a locking SELECT, where the rows
    live; was refused (0A000 "FOR UPDATE/SHARE over several nodes")."""
    a, b = workers
    counted = a.execute(f"WITH c AS (SELECT * FROM {jobs}) SELECT count(*) FROM c "
                        f"WHERE id IN (SELECT id FROM {jobs} WHERE id < 3 FOR UPDATE)").fetchall()
    assert counted == [(2,)]
    for job in (1, 2):
        with pytest.raises(errors.LockNotAvailable):
            b.execute(f"SELECT id FROM {jobs} WHERE id = {job} FOR UPDATE NOWAIT")
        b.rollback()
    assert b.execute(f"SELECT id FROM {jobs} WHERE id = 3 FOR UPDATE NOWAIT").fetchall() == [(3,)]
    b.rollback()
    a.rollback()
