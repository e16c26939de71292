"""Build corpora of SQL as users write it, over the sample databases they practise on.

    python bench/user_corpus.py chinook DUMP_GIT LAB_GIT [--dest /tmp/corpus-chinook]
    python bench/user_corpus.py northwind DUMP_GIT COURSE_GIT [WINDOW_GIT ...] [--dest /tmp/corpus-northwind]
    python bench/user_corpus.py sqlglot SQLGLOT_GIT [--dest /tmp/corpus-sqlglot]
    python bench/user_corpus.py procrastinate PROCRASTINATE_WHEEL [--dest /tmp/corpus-procrastinate]
    python bench/user_corpus.py graphile GRAPHILE_WORKER_TGZ [--dest /tmp/corpus-graphile]
    python bench/user_corpus.py pagila DUMP_GIT QUERY_GIT [QUERY_GIT ...] [--dest /tmp/corpus-pagila]
    python bench/user_corpus.py pgexercises DUMP_GIT QUERY_GIT [QUERY_GIT ...] [--dest /tmp/corpus-pgexercises]
    python bench/user_corpus.py exercises GIT [GIT ...] [--dest /tmp/corpus-exercises]
    python bench/user_corpus.py leetcode GIT [GIT ...] [--dest /tmp/corpus-leetcode]
    python bench/user_corpus.py practice DATA_SQL QUERY_GIT [QUERY_GIT ...] [--dest /tmp/corpus-practice]

Each GIT is a clone (or bare mirror) of a public repository; its HEAD is read with
`git show`. Nothing of these files enters our repository: this script writes them to
DEST (outside it) and prints the bench/regress_replay.py command that replays them through
gridpg and plain PostgreSQL 18, statement by statement (opt-in, not CI).

- **chinook**: DUMP_GIT is lerocha/chinook-database (its
  `ChinookDatabase/DataSources/Chinook_PostgreSql.sql`, the dump users load: tables with
  inline primary keys, foreign keys added by ALTER TABLE, multi-row INSERTs; its DROP/CREATE
  DATABASE and `\\c chinook` are left out, the replay stays in one database); LAB_GIT is
  Danij4ne/sql-chinook-lab, whose `challenges/postgres/*/*/result.sql` are 100 reporting
  queries written for that dump (joins, GROUP BY, subqueries, window functions, CTEs,
  analytical projects), one replay file per level.
- **northwind**: DUMP_GIT is pthom/northwind_psql (`northwind.sql`, a pg_dump-style
  script: tables, ALTER TABLE ... ADD CONSTRAINT keys and foreign keys); COURSE_GIT is
  kn7072/kn7072, whose `SQL/*.sql` are a student's notes of a PostgreSQL course over that
  database, as written (Russian comments, prose lines that are not SQL, DDL, views,
  functions in SQL and PL/pgSQL, arrays, custom types, transactions with savepoints,
  sequences, CASE/COALESCE, window functions, each file in the course's order); each further
  WINDOW_GIT is a repository whose `.sql` files query that database (kamil-jodlowski/
  SQL-Window-Functions-Northwind, ilyakovalenko4321/PostgresLesson), one replay file each.
- **sqlglot**: SQLGLOT_GIT is tobymao/sqlglot; the statements of its test fixtures
  (`tests/fixtures/identity.sql`, `pretty.sql` and `optimizer/*.sql` but the TPC-H/TPC-DS
  ones, which bench/bench_queries.py runs: each optimizer fixture holds a query and its
  rewritten form, correlated subqueries unnested into joins, CTEs merged, predicates
  pushed down, columns qualified) that PostgreSQL's parser accepts (pglast), one replay
  file per fixture, after `sqlglot_setup.sql`, which creates the tables the fixtures name
  (x, y, z, w, temporal, t_bool, unpivotable, pivotable: sqlglot's test schema) with a
  few rows, NULLs and duplicates.

- **procrastinate**: PROCRASTINATE_WHEEL is the wheel of the Python task queue (`pip
  download procrastinate`): its `procrastinate/sql/schema.sql` (enums, a composite type,
  tables with identity keys and partial unique indexes, PL/pgSQL functions that defer,
  fetch (FOR UPDATE SKIP LOCKED), finish, retry and cancel jobs, triggers writing an events
  table and sending NOTIFY), then the application's own statements
  (`procrastinate/sql/queries.sql`, one `-- name --` block each) in a worker's life: register,
  defer jobs, fetch, finish, retry, cancel, list and count, prune. The `%(name)s` parameters
  the library binds are filled with the literals of `PROCRASTINATE_RUN` below (ours; the
  statements are theirs).
- **graphile**: GRAPHILE_WORKER_TGZ is the npm tarball of graphile-worker (`npm pack
  graphile-worker`): its `package/sql/0000NN.sql` migrations as its migrate.js runs them
  (the bootstrap statement, then each file in a transaction after the row in
  `migrations`, `:GRAPHILE_WORKER_SCHEMA` replaced by `graphile_worker`): tables rebuilt,
  functions replaced many times over, row-level security, triggers, domains, views), then
  calls of the SQL API the migrations leave (`GRAPHILE_CALLS`, ours: add_job(s), job keys,
  reschedule, complete, fail, remove) and reads of its tables.

- **pagila**: DUMP_GIT is the Pagila sample database (xzilla/pagila: `pagila-schema.sql`
  then `pagila-data.sql`, pg_dump output: an enum, a domain, SQL and PL/pgSQL functions, a
  procedure running dynamic SQL, a custom aggregate, views over views, a tsvector column
  kept by a trigger with a GiST index, `payment` range-partitioned by month with
  partitions attached by ALTER TABLE, a rule, the rows by `COPY ... FROM stdin` into each
  partition); each QUERY_GIT is a repository of SQL written over it (students' homework
  answers such as */pagila-hw*, with the problem statements as comments; tutorials), its
  `.sql` files one replay file each, but any that is a copy of the dump itself; of a
  repository that is another copy of the dump (devrimgunduz/pagila), the ```sql blocks of
  its README.md, as one file; then `PAGILA_CALLS` below (ours): calls
  of the dump's functions, procedure, views and full-text index, and writes that fire its
  triggers, rule and updatable view, rolled back.

- **pgexercises**: DUMP_GIT is AlisdairO/pgexercises, the site's own repository: its
  `database/clubdata.sql` (the "clubdata" schema `cd`: members with a self-referencing
  `recommendedby`, facilities, bookings; COPY data, keys and foreign keys by ALTER TABLE,
  indexes; its database, role, grant and read-only lines left out) and its exercises
  (`questions/*/*.ex`: the answer query and the alternatives in the explanation's `<sql>`
  blocks); each QUERY_GIT is a repository of someone's solutions (`.sql` files, or
  ```sql blocks of `.md` files), one replay file per repository. The whole set is replayed
  once per layout of `PGEX_LAYOUTS` (the schema dropped and loaded again with that
  layout's DISTRIBUTE BY, so run it with `--xl`): gridpg's default, bookings and members
  HASH by memid, bookings and facilities HASH by facid, bookings ROUNDROBIN, every table
  HASH by its own key, and tables on different node sets (bookings MODULO by memid,
  members REPLICATION on dn1 alone, facilities HASH by facid on dn2 alone). Each write
  (INSERT/UPDATE/DELETE/TRUNCATE, also inside WITH) runs in a block followed by the
  content of the table it writes, then rolled back, so the next query sees the loaded
  data and the write is compared by what it left.

- **practice**: SQL written to answer interview and practice problems, each over its
  problem's own tables. DATA_SQL is a data-only dump (`pg_dump --data-only`) of
  TrinhLeKhac/sql-queries' `create_schema_and_data.sql` run once on a plain PostgreSQL
  after `SELECT setseed(...)`: that script fills its 35 tables with random() (1,000
  employees, 50,000 attendance rows, ...), so it is run once and its rows frozen, and both
  sides load the same rows (`COPY FROM stdin`); the tables are its own CREATE TABLE
  statements (serial keys, inline REFERENCES, random() defaults). The first QUERY_GIT is
  that repository: its `sql_questions_v2/*.sql`, `sql_questions/*.sql` and
  `selected_sql_questions/*.sql` (300 questions, each answered by one or more queries:
  recursive CTEs, window functions, percentiles, generate_series gaps, FULL JOINs). Each
  further QUERY_GIT holds Markdown files of LeetCode-style problems answered in
  PostgreSQL, each problem's ```sql block its own CREATE TABLE, INSERTs and solution
  (ahmedrzakhan/system-design-notes: `programming/DB/queries/postgres.md`, the "SQL 50"
  study plan); the blocks run in order, each problem in a schema of its own so that two
  problems' `Employee` tables do not meet. The whole set is replayed once per layout of
  `PRACTICE_LAYOUTS` (run it with `--xl`). Each write runs in a block followed by a
  digest of the table it writes, then rolled back, as for pgexercises.

The other corpora's tables get gridpg's default distribution (no DISTRIBUTE BY): HASH on the key of tables
created with an inline key, replicated where a foreign key added later needs it (see
"The default distribution gives way to keys added later" in docs/architecture.md), so
the fact tables (invoice_line, playlist_track; orders, order_details) are spread by their
keys and the dimensions are replicated.
"""

from __future__ import annotations

import argparse
import datetime
import random
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHINOOK_DUMP = "ChinookDatabase/DataSources/Chinook_PostgreSql.sql"
NORTHWIND_DUMP = "northwind.sql"
# Statements of the Chinook dump that address the server, not the database: the replay
# runs every file in one database.
_SERVER_LEVEL = re.compile(r"(?im)^(?:DROP DATABASE IF EXISTS chinook;|CREATE DATABASE chinook;|\\c chinook;)\s*$")


def git_files(git_dir: Path, prefix: str = "") -> list[str]:
    out = subprocess.run(["git", "-C", str(git_dir), "ls-tree", "-r", "--name-only", "HEAD", "--", prefix or "."],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def git_text(git_dir: Path, path: str) -> str:
    data = subprocess.run(["git", "-C", str(git_dir), "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # saved as UTF-16 (Windows editors)
        return data.decode("utf-16").replace("\r\n", "\n").lstrip("\ufeff")
    return data.decode("utf-8", "surrogateescape").replace("\r\n", "\n").lstrip("\ufeff")


def ended(text: str) -> str:
    """A script whose last statement lacks its semicolon (a user's file often does) gets
    one, so the next file's first statement is not glued to it."""
    body = text.rstrip()
    return body + ("\n" if body.endswith(";") else "\n;\n")


def build_chinook(dump_git: Path, lab_git: Path, dest: Path) -> list[str]:
    files = {"chinook_load": _SERVER_LEVEL.sub("", git_text(dump_git, CHINOOK_DUMP))}
    levels: dict[str, list[str]] = {}
    for path in sorted(git_files(lab_git, "challenges/postgres")):
        if path.endswith("/result.sql"):
            level, challenge = path.split("/")[2:4]
            levels.setdefault(level, []).append(f"-- {challenge}\n{ended(git_text(lab_git, path))}")
    for level, parts in levels.items():
        files[f"chinook_lab_{level}"] = "\n".join(parts)
    return _write(dest, files)


def _course_order(path: str) -> tuple[int, str]:
    """The course's numbered notes in number order; unnumbered notes (functions, union,
    lessonN) after them."""
    name = Path(path).stem
    m = re.match(r"(\d+)", name)
    return (int(m.group(1)) if m else 10_000, name)


def build_northwind(dump_git: Path, course_git: Path, others: list[Path], dest: Path) -> list[str]:
    files = {"northwind_load": git_text(dump_git, NORTHWIND_DUMP)}
    course = [p for p in git_files(course_git, "SQL") if p.endswith(".sql") and p.count("/") == 1
              and "fill_in" not in p and "cookbook" not in p and "stratascratch" not in p
              and "create_data_base" not in p]
    for path in sorted(course, key=_course_order):
        files[f"northwind_course_{Path(path).stem}"] = ended(git_text(course_git, path))
    for git in others:
        repo = git.resolve().parent.name if git.name == "repo" else git.resolve().name
        tag = re.sub(r"\W+", "_", repo.split("+")[-1]).strip("_").lower()
        for path in sorted(p for p in git_files(git) if p.endswith(".sql") and "northwind" not in p.lower()):
            stem = re.sub(r"\W+", "_", path[:-4]).strip("_").lower()
            files[f"northwind_{tag}_{stem}"] = ended(git_text(git, path))
    return _write(dest, files)


# sqlglot's test schema (tests/test_optimizer.py) with rows of our own: NULLs on both
# sides of every join column, duplicates, empty matches.
SQLGLOT_SETUP = """\
CREATE TABLE x (a int, b int);
CREATE TABLE y (b int, c int);
CREATE TABLE z (b int, c int);
CREATE TABLE w (d text, e text);
CREATE TABLE temporal (d date, t timestamp);
CREATE TABLE t_bool (a boolean, b boolean);
CREATE TABLE unpivotable (id int, jan int, feb int, north int, south int);
CREATE TABLE pivotable (id int, cat text, val int, kind text, amt int);
INSERT INTO x VALUES (1, 2), (2, 3), (3, NULL), (NULL, 4), (1, 5), (4, 4), (5, 1);
INSERT INTO y VALUES (2, 1), (3, 2), (NULL, 3), (2, 4), (4, NULL), (6, 6);
INSERT INTO z VALUES (1, 1), (2, 2), (5, NULL), (NULL, 7), (3, 3);
INSERT INTO w VALUES ('a', 'b'), ('c', NULL), (NULL, 'd'), ('a', 'e');
INSERT INTO temporal VALUES ('2024-01-01', '2024-01-01 10:00'), ('2023-06-30', NULL), (NULL, '2020-02-29 23:59:59');
INSERT INTO t_bool VALUES (true, false), (NULL, true), (false, NULL);
INSERT INTO unpivotable VALUES (1, 10, 20, 30, 40), (2, NULL, 5, 6, NULL);
INSERT INTO pivotable VALUES (1, 'a', 10, 'x', 5), (1, 'b', 20, 'x', 5), (2, 'a', NULL, 'y', 7);
"""


def build_sqlglot(git_dir: Path, dest: Path) -> list[str]:
    from pglast import parser  # the only parser that says what PostgreSQL accepts

    files = {"sqlglot_setup": SQLGLOT_SETUP}
    # the optimizer's queries first: identity.sql and pretty.sql write to x and y
    for path in sorted(git_files(git_dir, "tests/fixtures"), key=lambda p: ("/optimizer/" not in p, p)):
        if not path.endswith(".sql") or "/tpc-" in path:
            continue
        lines = [line for line in git_text(git_dir, path).splitlines()
                 if line and not line.startswith(("--", "#"))]
        # identity.sql holds one statement or expression a line; the others split at ';'
        # (sqlglot's own tests/helpers.py reads them so)
        parts = lines if path.endswith("identity.sql") else "\n".join(lines).split(";")
        kept = []
        for part in (p.strip() for p in parts):
            try:
                if part and len(parser.parse_sql(part)) == 1:
                    kept.append(part + ";\n")
            except parser.ParseError:
                continue
        if kept:
            files["sqlglot_" + re.sub(r"\W+", "_", Path(path).stem).lower()] = "".join(kept)
    return _write(dest, files)


PROCRASTINATE_JOBS = ("ARRAY[('default', 'send_mail', 0, NULL, NULL, '{\"to\": 1}', NULL),"
                      " ('default', 'send_mail', 5, 'lk1', 'ql1', '{\"to\": 2}', NULL),"
                      " ('urgent', 'resize', 10, 'lk1', NULL, '{}', NULL),"
                      " ('urgent', 'resize', 0, NULL, 'ql2', '{\"x\": [1, 2]}', '2020-01-01 00:00+00')]")
# (query name, parameter literals): one worker's life over the application's statements
PROCRASTINATE_RUN: tuple[tuple[str, dict[str, str]], ...] = (
    ("check_connection", {}),
    ("register_worker", {}),
    ("defer_jobs", {"jobs": PROCRASTINATE_JOBS}),
    ("defer_jobs", {"jobs": "ARRAY[('default', 'cleanup', 1, NULL, 'ql1', '{}', NULL)]"}),
    ("defer_periodic_job", {"queue": "'default'", "lock": "NULL", "queueing_lock": "NULL",
                            "task_name": "'tick'", "priority": "0", "periodic_id": "''",
                            "defer_timestamp": "1700000000", "args": "'{}'"}),
    ("defer_periodic_job", {"queue": "'default'", "lock": "NULL", "queueing_lock": "NULL",
                            "task_name": "'tick'", "priority": "0", "periodic_id": "''",
                            "defer_timestamp": "1700000000", "args": "'{}'"}),
    ("count_jobs_status", {}),
    ("fetch_job", {"queues": "NULL", "worker_id": "1"}),
    ("fetch_job", {"queues": "ARRAY['urgent']", "worker_id": "1"}),
    ("fetch_job", {"queues": "ARRAY['default']", "worker_id": "1"}),
    ("get_job_status", {"job_id": "1"}),
    ("finish_job", {"job_id": "1", "status": "'succeeded'", "delete_job": "false"}),
    ("finish_job", {"job_id": "2", "status": "'failed'", "delete_job": "false"}),
    ("finish_job", {"job_id": "2", "status": "'failed'", "delete_job": "false"}),
    ("retry_job", {"job_id": "2", "retry_at": "'2030-01-01 00:00+00'", "new_priority": "7",
                   "new_queue_name": "'retries'", "new_lock": "NULL"}),
    ("cancel_job", {"job_id": "3", "abort": "false", "delete_job": "false"}),
    ("cancel_job", {"job_id": "4", "abort": "true", "delete_job": "false"}),
    ("list_jobs_to_abort", {"queue_name": "NULL"}),
    ("select_stalled_jobs_by_started", {"queue": "NULL", "task_name": "NULL", "nb_seconds": "0"}),
    ("select_stalled_jobs_by_heartbeat", {"queue": "'default'", "task_name": "NULL",
                                          "seconds_since_heartbeat": "3600"}),
    ("list_jobs", {"id": "NULL", "queue_name": "NULL", "task_name": "NULL", "status": "NULL",
                   "lock": "NULL", "queueing_lock": "NULL", "worker_id": "NULL"}),
    ("list_jobs", {"id": "NULL", "queue_name": "'default'", "task_name": "NULL", "status": "'todo'",
                   "lock": "NULL", "queueing_lock": "NULL", "worker_id": "NULL"}),
    ("list_queues", {"queue_name": "NULL", "task_name": "NULL", "status": "NULL", "lock": "NULL"}),
    ("list_tasks", {"queue_name": "NULL", "task_name": "NULL", "status": "NULL", "lock": "NULL"}),
    ("list_locks", {"queue_name": "NULL", "task_name": "NULL", "status": "NULL", "lock": "NULL"}),
    ("update_heartbeat", {"worker_id": "1"}),
    ("prune_stalled_workers", {"seconds_since_heartbeat": "3600"}),
    ("delete_old_jobs", {"statuses": "ARRAY['succeeded', 'failed']", "queue": "NULL", "nb_hours": "0"}),
    ("count_jobs_status", {}),
    ("unregister_worker", {"worker_id": "1"}),
)


def procrastinate_queries(text: str) -> dict[str, str]:
    """queries.sql's blocks by name, as procrastinate's utils read them: a block opens with
    `-- name --`, its description lines follow, the statement is the rest."""
    parts = re.split(r"(?m)^-- (\w+) --\n", text)[1:]
    return {name: "\n".join(line for line in body.splitlines() if not line.startswith("--")).strip().rstrip(";")
            for name, body in zip(parts[::2], parts[1::2])}


def build_procrastinate(wheel: Path, dest: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        schema = zf.read("procrastinate/sql/schema.sql").decode()
        queries = procrastinate_queries(zf.read("procrastinate/sql/queries.sql").decode())
    run = []
    for name, params in PROCRASTINATE_RUN:
        sql = queries[name]
        for key, literal in params.items():
            sql = sql.replace(f"%({key})s", literal)
        run.append(f"-- {name}\n{sql};\n")
    return _write(dest, {"procrastinate_schema": schema, "procrastinate_worker": "\n".join(run)})


# graphile-worker's migrate.js installSchema(): the bootstrap statement before migration 1
GRAPHILE_BOOTSTRAP = """\
create schema if not exists graphile_worker;
create table if not exists graphile_worker.migrations(
  id int primary key,
  ts timestamptz default now() not null
);
alter table graphile_worker.migrations add column if not exists breaking boolean not null default false;
"""
# calls of the SQL API the migrations leave, and reads of the tables behind it
GRAPHILE_CALLS = """\
select id, payload, priority, attempts, max_attempts, key, revision from graphile_worker.add_job('send_email', json_build_object('to', 'a@b.c'));
select id, job_queue_id is not null as queued, priority, key from graphile_worker.add_job('send_email', '{"to": "d"}', queue_name := 'mail', priority := 3);
select id, payload, key, run_at from graphile_worker.add_job('report', '{"n": 1}', job_key := 'daily', run_at := '2030-01-01 00:00+00');
select id, payload, key, revision, run_at from graphile_worker.add_job('report', '{"n": 2}', job_key := 'daily', run_at := '2030-01-02 00:00+00');
select id, payload, key, revision, run_at from graphile_worker.add_job('report', '{"n": 3}', job_key := 'daily', job_key_mode := 'preserve_run_at');
select id, payload, key, flags from graphile_worker.add_job('tagged', flags := array['slow', 'big']);
select id, payload, max_attempts, priority from graphile_worker.add_jobs(array[('bulk', '{"i": 1}'::json, null, null, null, null, null, null)::graphile_worker.job_spec, ('bulk', '{"i": 2}', 'q2', null, 5, null, 1, null)::graphile_worker.job_spec]);
select task_identifier, count(*) from graphile_worker.jobs group by task_identifier order by 1;
select id, queue_name, task_identifier, priority, attempts, max_attempts, key, locked_by, flags from graphile_worker.jobs order by id;
select identifier from graphile_worker._private_tasks order by id;
select queue_name, locked_by from graphile_worker._private_job_queues order by id;
select id, priority, attempts, max_attempts from graphile_worker.reschedule_jobs(array[1, 2]::bigint[], run_at := '2031-01-01 00:00+00', priority := 9);
update graphile_worker._private_jobs set locked_by = 'w1', locked_at = now() where id in (1, 2);
select id, attempts, last_error from graphile_worker.permanently_fail_jobs(array[2]::bigint[], 'gave up');
select id, key from graphile_worker.complete_jobs(array[1]::bigint[]);
select graphile_worker.force_unlock_workers(array['w1']);
select id, locked_by from graphile_worker.jobs order by id;
select id, key from graphile_worker.remove_job('daily');
select id, task_identifier, key, attempts, max_attempts, last_error from graphile_worker.jobs order by id;
select id, breaking from graphile_worker.migrations order by id;
"""


def build_graphile(tarball: Path, dest: Path) -> list[str]:
    with tarfile.open(tarball) as tf:
        names = sorted(m.name for m in tf.getmembers() if re.fullmatch(r"package/sql/\d+\.sql", m.name))
        texts = {n: tf.extractfile(n).read().decode() for n in names}  # type: ignore[union-attr]
    migrations = [GRAPHILE_BOOTSTRAP]
    for name in names:
        number = int(Path(name).stem)
        body = re.sub(r":GRAPHILE_WORKER_SCHEMA\b", "graphile_worker", texts[name])
        breaking = body.startswith("--! breaking-change")
        migrations.append(f"-- {Path(name).name}\nbegin;\ninsert into graphile_worker.migrations (id, breaking) "
                          f"values ({number}, {str(breaking).lower()});\n{ended(body)}commit;\n")
    return _write(dest, {"graphile_migrations": "\n".join(migrations), "graphile_calls": GRAPHILE_CALLS})


# calls of the code, views and indexes the Pagila dump leaves, as its README and the
# articles it names use them (ours; the objects are theirs), then writes that fire its
# triggers, its rule and its updatable view, last
PAGILA_CALLS = """\
SELECT * FROM film_in_stock(1, 1) ORDER BY 1;
SELECT * FROM film_not_in_stock(2, 2) ORDER BY 1;
SELECT count(*) FROM film_in_stock(10, 1);
SELECT get_customer_balance(1, '2007-05-01'), get_customer_balance(148, now()::timestamp);
SELECT inventory_held_by_customer(inventory_id), inventory_in_stock(inventory_id) FROM inventory WHERE inventory_id IN (1, 2, 9, 367) ORDER BY inventory_id;
SELECT last_day('2007-02-11'), last_day(now()::timestamp) >= current_date;
SELECT group_concat(first_name) FROM (SELECT first_name FROM actor ORDER BY actor_id LIMIT 5) a;
SELECT actor_id, first_name, last_name, film_info FROM actor_info ORDER BY actor_id LIMIT 3;
SELECT * FROM customer_list WHERE id < 6 ORDER BY id;
SELECT * FROM film_list WHERE fid IN (1, 2, 3) ORDER BY fid;
SELECT count(*), count(DISTINCT rating) FROM family_films;
SELECT * FROM sales_by_film_category ORDER BY category;
SELECT * FROM sales_by_store ORDER BY store;
SELECT * FROM sales_top5_by_film_category ORDER BY category, rank, title LIMIT 20;
SELECT * FROM staff_list ORDER BY id;
SELECT * FROM rental_report;
SELECT * FROM films_per_customer_rental ORDER BY 1, 2 LIMIT 10;
SELECT rental_id, rental_date, return_date FROM legacy.rental WHERE customer_id = 1 ORDER BY rental_id LIMIT 5;
SELECT count(*) FROM nicer_but_slower_film_list;
REFRESH MATERIALIZED VIEW nicer_but_slower_film_list;
SELECT fid, title, actors FROM nicer_but_slower_film_list WHERE fid < 4 ORDER BY fid;
SELECT title FROM film WHERE fulltext @@ to_tsquery('fate & (drama | documentary)') ORDER BY title;
SELECT title, ts_rank(fulltext, q) AS rank FROM film, to_tsquery('english', 'boring & astronaut') q WHERE fulltext @@ q ORDER BY rank DESC, title LIMIT 5;
SELECT rating, count(*) FROM film GROUP BY rating ORDER BY rating;
SELECT 'G'::mpaa_rating < 'R'::mpaa_rating, enum_range(NULL::mpaa_rating);
SELECT release_year, pg_typeof(release_year) FROM film WHERE film_id = 1;
SELECT count(*) FROM rental WHERE rental_period @> '2005-05-25 12:00'::timestamp;
SELECT tableoid::regclass, count(*) FROM payment GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM payment WHERE payment_date >= '2007-03-01' AND payment_date < '2007-04-01';
BEGIN;
CALL rewards_report(7, 20.00, '2007-04-30');
FETCH ALL FROM rewardees_count;
FETCH 5 FROM rewardees_detail;
COMMIT;
BEGIN;
UPDATE actor SET first_name = 'PENNY' WHERE actor_id = 1 RETURNING first_name, last_update > '2020-01-01';
UPDATE film SET title = 'ACADEMY DINOSAUR II' WHERE film_id = 1;
SELECT title, fulltext FROM film WHERE film_id = 1;
INSERT INTO film (title, description, language_id, fulltext) VALUES ('NEW FILM', 'A Fast Drama', 1, '') RETURNING film_id, fulltext, release_year;
SELECT title, rating FROM family_films WHERE title IN ('NEW FILM', 'ACADEMY DINOSAUR II') ORDER BY 1;
INSERT INTO film (title, language_id, release_year, fulltext) VALUES ('OLD FILM', 1, 1900, '');
ROLLBACK;
BEGIN;
INSERT INTO family_films (title, description, release_year, language_id, length, rating, rental_rate, rental_duration) VALUES ('KIDS', 'A kids film', 2006, 1, 90, 'G', 0.99, 3);
SELECT title, rating FROM family_films WHERE title = 'KIDS';
ROLLBACK;
BEGIN;
INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (1, 1, 76, 5.99, '2007-03-15 10:00');
SELECT tableoid::regclass, amount FROM payment WHERE payment_date = '2007-03-15 10:00';
INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) VALUES (2, 1, 320, 1.99, '2030-01-01');
SELECT tableoid::regclass, amount FROM payment WHERE payment_date = '2030-01-01';
DELETE FROM payment WHERE payment_date = '2030-01-01' RETURNING customer_id, amount;
ROLLBACK;
BEGIN;
UPDATE payment SET amount = amount + 1 WHERE payment_id = 17503;
ROLLBACK;
BEGIN;
UPDATE payment SET payment_id = 99999 WHERE payment_id = 17504;
ROLLBACK;
SELECT count(*) FROM film;
"""


def build_pagila(dump_git: Path, query_gits: list[Path], dest: Path) -> list[str]:
    files = {"pagila_schema": git_text(dump_git, "pagila-schema.sql"),
             "pagila_data": git_text(dump_git, "pagila-data.sql")}
    for git in query_gits:
        repo = git.resolve().parent.name if git.name == "repo" else git.resolve().name
        tag = re.sub(r"\W+", "_", repo.split("+")[-1]).strip("_").lower()
        paths = git_files(git)
        # another copy of the dump (devrimgunduz/pagila): its README's queries alone
        wanted = [p for p in paths if p == "README.md"] if "pagila-schema.sql" in paths \
            else [p for p in paths if p.endswith(".sql")]
        for path in sorted(wanted):
            text = git_text(git, path)
            if path == "README.md":
                text = "\n".join(re.findall(r"(?s)```sql\n(.*?)```", text))
                if not text:
                    continue
            if re.search(r"(?i)create table\s+(public\.)?(payment|rental)\b|copy public\.", text):
                continue  # a copy of the dump, not a query over it
            stem = re.sub(r"\W+", "_", str(Path(path).with_suffix(""))).strip("_").lower()
            files[f"pagila_{tag}_{stem}"] = ended(text)
    files["pagila_calls"] = PAGILA_CALLS
    return _write(dest, files)


# pgexercises: (name, DISTRIBUTE BY per table, foreign keys left out because the layout
# cannot hold them: gridpg refuses a key between tables that are not colocated, and the
# plain side must have the same keys for DELETE and INSERT to answer alike)
# (bookings' primary key on bookid neither, when bookings is not HASH by bookid: a unique
# key must hold the distribution column, 0A000/42P16 as PostgreSQL's partitioned tables)
PGEX_LAYOUTS: tuple[tuple[str, dict[str, str], tuple[str, ...]], ...] = (
    ("default", {}, ()),
    ("memid", {"bookings": "HASH (memid)", "members": "HASH (memid)", "facilities": "REPLICATION"},
     ("bookings_pk", "fk_members_recommendedby")),
    ("facid", {"bookings": "HASH (facid)", "facilities": "HASH (facid)", "members": "REPLICATION"},
     ("bookings_pk",)),
    ("roundrobin", {"bookings": "ROUNDROBIN", "members": "REPLICATION", "facilities": "REPLICATION"},
     ("bookings_pk",)),
    ("spread", {"bookings": "HASH (bookid)", "members": "HASH (memid)", "facilities": "HASH (facid)"},
     ("fk_members_recommendedby", "fk_bookings_memid", "fk_bookings_facid")),
    # tables on different node sets (the replay's cluster has datanodes dn1 and dn2)
    ("nodes", {"bookings": "MODULO (memid)", "members": "REPLICATION TO NODE (dn1)",
               "facilities": "HASH (facid) TO NODE (dn2)"},
     ("bookings_pk", "fk_members_recommendedby", "fk_bookings_memid", "fk_bookings_facid")),
)
PGEX_KEYS = {"bookings": "bookid", "members": "memid", "facilities": "facid"}
# lines of clubdata.sql that address the server (database, role, grants to the site's
# role, the database made read-only), not the schema
_PGEX_SERVER_LEVEL = re.compile(r"(?im)^(?:create database|\\c |.*\bpgexercises\b|alter database ).*$")


def pgex_load(dump: str, layout: dict[str, str], dropped_keys: tuple[str, ...]) -> str:
    text = _PGEX_SERVER_LEVEL.sub("", dump)
    for table, clause in layout.items():
        text, n = re.subn(rf"(?s)(CREATE TABLE {table} \(.*?\n\))(;)", rf"\1 DISTRIBUTE BY {clause}\2", text)
        assert n == 1, table
    for key in dropped_keys:
        text, n = re.subn(rf"(?s)ALTER TABLE ONLY \w+\s+ADD CONSTRAINT {key} .*?;", "", text)
        assert n == 1, key
    return "DROP SCHEMA IF EXISTS cd CASCADE;\n" + text


def pgex_exercise_queries(text: str) -> tuple[list[str], bool]:
    """An exercise file's queries (the answer, then the explanation's <sql> blocks) and
    whether it is a modifying-data exercise."""
    import html

    sections = dict(re.findall(r"(?s)\|([A-Z]+)\|\n(.*?)(?=\n\|[A-Z]+\||\Z)", text))
    queries = [sections.get("QUERY", "")]
    queries += [html.unescape(q) for q in re.findall(r"(?s)<sql>(.*?)</sql>", sections.get("ANSWER", ""))]
    return [q.strip() for q in queries if q.strip()], sections.get("WRITEABLE", "0").strip() == "1"


def pgex_statements(text: str) -> str:
    """A solution file's statements, each write wrapped: BEGIN, the write, the content of
    the table it writes in key order, ROLLBACK. A statement ends on a line of its own, as
    one may end in a line comment."""
    return _writes_wrapped(text, lambda target: f"SELECT * FROM cd.{target} ORDER BY {PGEX_KEYS.get(target, '1')}")


def _writes_wrapped(text: str, read_back: Callable[[str], str]) -> str:
    """`text`'s statements, each on lines of its own; a write (`_pgex_write_target`) becomes
    BEGIN, the write, `read_back(target)` (what it left in the table it wrote), ROLLBACK."""
    from pglast import parser, split

    if text.count("/*") > text.count("*/"):  # a comment left open: the file's own end closes it
        text += "\n*/"
    try:
        pieces = list(split(text, with_parser=False))
    except Exception:  # noqa: BLE001 - text the scanner refuses: both sides will say so
        return ended(text)
    out = []
    for piece in pieces:
        target = _pgex_write_target(parser, piece)
        if target is None:
            out.append(f"{piece}\n;\n")
        else:
            out.append(f"BEGIN;\n{piece}\n;\n{read_back(target)};\nROLLBACK;\n")
    return "".join(out)


def _pgex_write_target(parser: object, sql: str) -> str | None:
    try:
        stmts = parser.parse_sql(sql)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a syntax error: not a write
        return None
    if len(stmts) != 1:
        return None
    node = stmts[0].stmt
    candidates = [node]
    with_clause = getattr(node, "withClause", None)
    if with_clause is not None:
        candidates += [cte.ctequery for cte in with_clause.ctes]
    for stmt in candidates:
        if type(stmt).__name__ in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
            return stmt.relation.relname
        if type(stmt).__name__ == "TruncateStmt":
            return stmt.relations[0].relname
    return None


def _pgex_solution_files(git: Path) -> list[tuple[str, str]]:
    """A repository's solutions: its .sql files, or where it has none, the SQL blocks of
    its Markdown files; but any copy of the dump."""
    paths = [p for p in sorted(git_files(git)) if "clubdata" not in p.lower()]
    dump = re.compile(r"(?i)create table\s+(cd\.)?bookings|copy (cd\.)?bookings")
    sql_files = [(p, git_text(git, p)) for p in paths if p.endswith(".sql")]
    if sql_files:
        return [(p, text) for p, text in sql_files if not dump.search(text)]
    out = []
    for path in (p for p in paths if p.endswith(".md")):
        blocks = re.findall(r"(?s)```(?:sql|postgresql|pgsql)?\n(.*?)```", git_text(git, path))
        blocks = [b for b in blocks if re.search(r"(?i)\bcd\.", b) and not dump.search(b)]
        if blocks:
            out.append((path, "\n;\n".join(blocks)))
    return out


def build_pgexercises(dump_git: Path, query_gits: list[Path], dest: Path) -> list[str]:
    dump = git_text(dump_git, "database/clubdata.sql")
    sets: dict[str, str] = {}
    official = []
    for path in sorted(p for p in git_files(dump_git, "questions") if p.endswith(".ex")):
        queries, _ = pgex_exercise_queries(git_text(dump_git, path))
        official += [f"-- {path}\n{pgex_statements(q)}" for q in queries]
    sets["official"] = "\n".join(official)
    for git in query_gits:
        # a clone's directory, or a mirror's owner+name/repo[/.git]
        names = [part for part in git.resolve().parts if part not in ("repo", ".git")]
        tag = re.sub(r"\W+", "_", names[-1].split("+")[0]).strip("_").lower()
        parts = [f"-- {path}\n{pgex_statements(text)}" for path, text in _pgex_solution_files(git)]
        if parts:
            sets[tag] = "\n".join(parts)
    files = {}
    for name, layout, dropped_keys in PGEX_LAYOUTS:
        files[f"pgex_{name}_0load"] = pgex_load(dump, layout, dropped_keys)
        for tag, text in sets.items():
            files[f"pgex_{name}_{tag}"] = text
    return _write(dest, files)


# Layouts of the practice corpus's generated tables (TrinhLeKhac/sql-queries): name, the
# DISTRIBUTE BY of some tables, and whether their inline REFERENCES are dropped (a HASH
# table's foreign key must hold its distribution column; the rows are the same).
PRACTICE_LAYOUTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("default", {}),
    ("replicated", {t: "REPLICATION" for t in ("employees", "departments", "customers", "products", "orders", "sales")}),
    ("byfk", {"employees": "HASH (department_id)", "sales": "HASH (customer_id)", "orders": "HASH (customer_id)",
              "attendance": "ROUNDROBIN", "salary_history": "HASH (employee_id)", "project_assignments": "MODULO (project_id)",
              "customers": "HASH (customer_id)", "order_items": "HASH (order_id)", "work_logs": "HASH (work_date)"}),
)
_PRACTICE_SCHEMA_END = "-- Insert sample data"


def practice_schema(schema_sql: str, layout: dict[str, str]) -> str:
    """The repository's CREATE TABLE statements (its DROP ... CASCADE first), with a
    layout's DISTRIBUTE BY; a table given one loses its REFERENCES and primary key, which a
    distribution on another column cannot keep (the other tables' keys to it go too)."""
    text = schema_sql.split(_PRACTICE_SCHEMA_END)[0]
    for table, clause in layout.items():
        m = re.search(rf"(?s)CREATE TABLE {table} \((.*?)\n\);", text)
        assert m, table
        body = m.group(1)
        if not clause.startswith("REPLICATION"):
            body = re.sub(r"\s+REFERENCES \w+\(\w+\)", "", body)
            body = body.replace("SERIAL PRIMARY KEY", "SERIAL")
        text = text.replace(m.group(0), f"CREATE TABLE {table} ({body}\n) DISTRIBUTE BY {clause};")
        if not clause.startswith("REPLICATION"):
            text = re.sub(rf"\s+REFERENCES {table}\(\w+\)", "", text)
    return text


def practice_statements(text: str) -> str:
    """A file's statements, each write wrapped: BEGIN, the write, a digest of the table it
    wrote (its row count and the md5 of its rows as text, sorted), ROLLBACK."""
    return _writes_wrapped(text, lambda target: "SELECT count(*), md5(string_agg(w::text, ',' ORDER BY w::text)) "
                                                f"FROM {target} w")


def _practice_md_problems(git: Path) -> list[tuple[str, str]]:
    """A repository's Markdown problems: each ```sql block that creates a table, with the
    blocks after it up to the next such block (more solutions of the same problem)."""
    out = []
    for path in sorted(p for p in git_files(git) if p.endswith(".md")):
        blocks = re.findall(r"(?s)```(?:sql|postgresql|pgsql)\n(.*?)```", git_text(git, path))
        if not any(re.search(r"(?i)\bcreate table\b", b) for b in blocks):
            continue
        for block in blocks:
            if re.search(r"(?i)\bcreate table\b", block) or not out:
                out.append((path, block))
            else:
                out[-1] = (out[-1][0], out[-1][1] + "\n;\n" + block)
    return out


def build_practice(data_sql: Path, query_gits: list[Path], dest: Path) -> list[str]:
    main_git, others = query_gits[0], query_gits[1:]
    schema = git_text(main_git, "create_schema_and_data.sql")
    data = data_sql.read_text()
    sets: dict[str, str] = {}
    for prefix in ("sql_questions_v2", "sql_questions", "selected_sql_questions"):
        for path in sorted(p for p in git_files(main_git, prefix) if p.endswith(".sql")):
            stem = re.sub(r"\W+", "_", path[:-4]).strip("_").lower()
            sets[f"q_{stem}"] = practice_statements(git_text(main_git, path))
    problems = []
    for git in others:
        names = [part for part in git.resolve().parts if part not in ("repo", ".git")]
        tag = re.sub(r"\W+", "_", names[-1].split("+")[-1]).strip("_").lower()
        for i, (path, block) in enumerate(_practice_md_problems(git)):
            schema_name = f"p_{tag}_{i}"[:60]
            problems.append(f"-- {path}\nCREATE SCHEMA {schema_name};\nSET search_path = {schema_name};\n"
                            f"{practice_statements(block)}RESET search_path;\n")
    files = {}
    for name, layout in PRACTICE_LAYOUTS:
        files[f"practice_{name}_0load"] = practice_schema(schema, layout) + "\n" + data + "\nANALYZE;\n"
        for tag, text in sets.items():
            files[f"practice_{name}_{tag}"] = text
        if name == "default" and problems:  # the problems' own tables get gridpg's default
            files["practice_default_zproblems"] = "\n".join(problems)
    return _write(dest, files)


# ---- leetcode: problems whose tables are given only as the problem statement's table

_LC_TYPES = {"string": "varchar", "double": "float8", "numeric": "numeric(10,2)", "int": "int", "integer": "int", "bigint": "bigint", "varchar": "varchar", "date": "date",
             "datetime": "timestamp", "timestamp": "timestamp", "decimal": "numeric(10,2)", "float": "float8",
             "enum": "varchar", "bool": "boolean", "boolean": "boolean", "text": "text", "char": "varchar"}
_LC_WORDS = ("alice", "bob", "Carol", "dave", "eve", "Frank", "grace", "heidi", "ivan", "judy",
             "alice@leetcode.com", "bob@Leetcode.com", "b_ob.x@leetcode.com", "1bad@leetcode.com", "")
LC_LAYOUTS = ("default", "roundrobin", "lastcol", "replicated")


@dataclass
class LcTable:
    name: str
    columns: list[tuple[str, str]]
    key: list[str]
    enums: dict[str, list[str]]


def _lc_grids(statement: str) -> list[tuple[str, list[list[str]]]]:
    """Every table drawn in a statement, as the name written above it (`Table: Name`,
    `Name table:`, `## Table: Name`) and its rows of cells, header first: LeetCode's
    `+---+` grids and DataLemur's Markdown tables alike."""
    out, lines = [], statement.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].strip().startswith("|"):
            i += 1
            continue
        j, rows = i, []
        while j < len(lines) and lines[j].strip()[:1] in ("|", "+"):
            line = lines[j].strip()
            if line.startswith("|") and not re.fullmatch(r"[|:\- ]+", line):
                rows.append([c.strip() for c in line.strip("|").split("|")])
            j += 1
        name = ""
        for back in range(i - 1, max(i - 5, -1), -1):
            m = re.search(r"(?i)table:?\s*(\w+)|(\w+)\s+table\b", lines[back])
            if m:
                name = m.group(1) or m.group(2)
                break
        out.append((name, rows))
        i = j
    return out


def lc_tables(statement: str) -> list[LcTable]:
    """The tables a LeetCode or DataLemur problem statement draws (a `| Column Name |
    Type |` grid under the table's name), the primary key and ENUM values its prose
    names, and the values its example tables show for each column (our rows draw on them,
    so that the solution's `event_type = 'click'` finds some)."""
    statement = re.sub(r"`|\*\*", "", statement)
    grids = _lc_grids(statement)
    examples: dict[str, list[str]] = {}
    for _, rows in grids:
        if rows and rows[0][:2] != ["Column Name", "Type"]:
            for row in rows[1:]:
                for col, cell in zip(rows[0], row):
                    if cell and cell.lower() != "null":
                        examples.setdefault(col.lower(), []).append(cell)
    tables, seen = [], set()
    for name, rows in grids:
        if not name or not rows or rows[0][:2] != ["Column Name", "Type"] or name.lower() in seen:
            continue
        seen.add(name.lower())
        cols = [(r[0], _LC_TYPES.get(re.split(r"[ (]", r[1].lower())[0], "varchar")) for r in rows[1:]
                if len(r) >= 2 and re.fullmatch(r"\w+", r[0])]
        at = statement.find(rows[-1][0] if rows[-1] else name)
        prose = statement[at:at + 1500].split("Table:")[0]
        names = {c for c, _ in cols}
        key: list[str] = []
        km = re.search(r"(?i)\(([\w ,]+)\) is the (?:primary key|combination of columns with unique)"
                       r"|(\w+) is the (?:primary key|column with unique values)", prose)
        if km:
            key = [k.strip() for k in (km.group(1) or km.group(2)).split(",") if k.strip() in names]
        enums = {}
        for col, _ in cols:
            em = re.search(rf"(?i)\b{re.escape(col)}\b[^.\n]*?ENUM[^(\n]*\(([^)]*)\)", prose)
            if em:
                enums[col] = re.findall(r"'([^']*)'", em.group(1))
            elif examples.get(col.lower()):
                enums[col] = examples[col.lower()]
        tables.append(LcTable(name, cols, key, enums))
    return tables


def lc_rows(table: LcTable, rng: random.Random, base: datetime.date) -> list[list[str]]:
    """Rows of our own: ids from a small range so that joins meet, NULLs, duplicates, dates
    around the ones the problem names; key columns unique."""
    n = rng.randint(8, 30)
    rows, keys, used = [], set(), set()
    for i in range(n * 3):
        row = []
        for col, typ in table.columns:
            low = col.lower()
            if table.key == [col] and typ in ("int", "bigint"):
                row.append(str(len(rows) + 1))
                continue
            if col not in table.key and rng.random() < 0.08:
                row.append("NULL")
            elif (col in table.enums and table.enums[col] and typ not in ("date", "timestamp")
                  and (typ not in ("int", "bigint") or rng.random() < 0.5)):
                value = rng.choice(table.enums[col])
                if typ in ("int", "bigint") and not re.fullmatch(r"-?\d+", value):
                    value = str(rng.randint(0, 12))
                row.append(value if typ in ("int", "bigint") else "'" + value.replace("'", "''") + "'")
            elif typ in ("int", "bigint"):
                row.append(str(rng.randint(1, 8) if low.endswith("id") else rng.randint(0, 12)))
            elif typ in ("date", "timestamp"):
                # distinct in the table, so that a window or ORDER BY over them has no
                # ties (whose order either side may choose)
                while True:
                    day = base + datetime.timedelta(days=rng.randint(-20, 40))
                    value = str(day) if typ == "date" else f"{day} {rng.randint(0, 23):02d}:{rng.choice((0, 15, 30)):02d}:00"
                    if (col, value) not in used:
                        break
                used.add((col, value))
                row.append(f"'{value}'")
            elif typ.startswith("numeric") or typ == "float8":
                row.append(str(round(rng.uniform(0, 100), rng.choice((0, 1, 2)))))
            elif typ == "boolean":
                row.append(rng.choice(("true", "false")))
            else:
                row.append("'" + rng.choice(_LC_WORDS) + "'")
        k = tuple(v for (c, _), v in zip(table.columns, row) if c in table.key)
        if table.key and ("NULL" in k or k in keys):
            continue
        keys.add(k)
        rows.append(row)
        if len(rows) == n:
            break
    return rows


def lc_problem(statement: str, solution: str, seed: str, layout: str, tables: list[LcTable] | None = None) -> str:
    """One problem's script: its tables under a layout, our rows, the repository's
    solution (writes wrapped as for pgexercises), calls of a function it creates."""
    rng = random.Random(seed)
    dates = sorted(re.findall(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b", statement + solution))
    dates += sorted((y, m, d) for m, d, y in re.findall(r"\b(\d\d)/(\d\d)/((?:19|20)\d\d)\b", statement))
    base = datetime.date(*map(int, dates[0])) if dates else datetime.date(2020, 1, 15)
    out = []
    for t in lc_tables(statement) if tables is None else tables:
        cols = [f"{c} {typ}" for c, typ in t.columns]
        clause = ""
        if layout == "default" and t.key:
            cols.append(f"PRIMARY KEY ({', '.join(t.key)})")
        elif layout == "roundrobin":
            clause = " DISTRIBUTE BY ROUNDROBIN"
        elif layout == "lastcol":
            # the last column a HASH may use (gridpg refuses floating-point ones, 42P16)
            hashable = [c for c, typ in t.columns if typ != "float8"] or [t.columns[-1][0]]
            clause = f" DISTRIBUTE BY HASH ({hashable[-1]})"
        elif layout == "replicated":
            clause = " DISTRIBUTE BY REPLICATION"
        out.append(f"DROP TABLE IF EXISTS {t.name} CASCADE;\nCREATE TABLE {t.name} ({', '.join(cols)}){clause};\n")
        rows = lc_rows(t, rng, base)
        if rows:
            out.append(f"INSERT INTO {t.name} VALUES {', '.join('(' + ', '.join(r) + ')' for r in rows)};\n")
    out.append(practice_statements(solution))
    for fm in re.finditer(r"(?i)create\s+(?:or\s+replace\s+)?function\s+(\w+)\s*\(\s*\w+\s+int", solution):
        out.append(f"SELECT * FROM {fm.group(1)}(1);\nSELECT * FROM {fm.group(1)}(2);\nSELECT * FROM {fm.group(1)}(5);\n")
    return "".join(out)


def lc_split(text: str) -> tuple[str, str] | None:
    """A solution file's problem statement (its first block comment, or its leading line
    comments) and its SQL."""
    m = re.match(r"(?s)\s*/\*(.*?)\*/(.*)", text)
    if m and "Column Name" in m.group(1):
        return m.group(1), m.group(2)
    lines = text.splitlines()
    head = [line[2:] for line in lines if line.startswith("--")]
    if "Column Name" in "\n".join(head):
        return "\n".join(head), "\n".join(line for line in lines if not line.startswith("--"))
    return None


def _html_text(text: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _lc_borrowed(solution: str, library: dict[str, list[tuple[LcTable, str]]]) -> tuple[str, list[LcTable]] | None:
    """The tables a solution without its problem statement reads, as another repository's
    statement of the same problem draws them: of the definitions of each name, the one
    sharing most column names with the solution; None when a table is not known."""
    ctes = {n.lower() for n in re.findall(r"(?i)\b(\w+)\s+as\s*\(", solution)}
    names = {n.lower() for n in re.findall(r"(?i)\b(?:from|join)\s+(\w+)", solution)} - ctes
    names -= {"generate_series", "lateral", "unnest", "select"}
    words = {w.lower() for w in re.findall(r"\w+", solution)}
    chosen, statements = [], []
    for name in sorted(names):
        if name not in library:
            return None
        table, statement = max(library[name], key=lambda c: len(words & {col.lower() for col, _ in c[0].columns}))
        chosen.append(table)
        statements.append(statement)
    return ("\n".join(statements), chosen) if chosen else None


def build_leetcode(gits: list[Path], dest: Path) -> list[str]:
    problems: list[tuple[str, str, str, list[LcTable] | None]] = []
    library: dict[str, list[tuple[LcTable, str]]] = {}
    bare: list[tuple[str, str]] = []
    for git in gits:
        names = [part for part in git.resolve().parts if part not in ("repo", ".git")]
        tag = re.sub(r"\W+", "_", names[-1].split("+")[-1]).strip("_").lower()
        paths = git_files(git)
        for path in sorted(p for p in paths if p.endswith(".sql")):
            split_ = lc_split(git_text(git, path))
            # LeetHub and others: the statement in a Markdown file beside it (HTML in LeetHub's)
            beside = [p for p in paths if p.lower().endswith(".md") and Path(p).parent == Path(path).parent]
            if split_ is None and len(beside) == 1:
                split_ = (_html_text(git_text(git, beside[0])), git_text(git, path))
            tables = lc_tables(split_[0]) if split_ else []
            if split_ and tables:
                problems.append((f"{tag}/{path}", *split_, None))
                for t in tables:
                    library.setdefault(t.name.lower(), []).append((t, split_[0]))
            else:
                bare.append((f"{tag}/{path}", git_text(git, path)))
    # solutions kept without their statements (most DataLemur repositories): their tables
    # as other repositories' statements of the problem draw them
    for path, solution in bare:
        borrowed = _lc_borrowed(solution, library)
        if borrowed:
            problems.append((path, borrowed[0], solution, borrowed[1]))
    files = {}
    for layout in LC_LAYOUTS:
        parts = []
        for i, (path, statement, solution, tables) in enumerate(problems):
            schema = f"lc_{i}"
            parts.append(f"-- {path}\nDROP SCHEMA IF EXISTS {schema} CASCADE;\nCREATE SCHEMA {schema};\n"
                         f"SET search_path = {schema};\n{lc_problem(statement, solution, path, layout, tables)}"
                         f"RESET search_path;\n")
        files[f"leetcode_{layout}"] = "\n".join(parts)
    return _write(dest, files)


def _exercise_layout(schema_sql: str, layout: str) -> str:
    """An exercise's build script under a layout: as written, or every table replicated."""
    if layout == "default":
        return schema_sql
    return re.sub(r"(?is)(create table\s+[\w.]+\s*\(.*?\n\s*\))(\s*;)", r"\1 DISTRIBUTE BY REPLICATION\2", schema_sql)


def build_exercises(gits: list[Path], dest: Path) -> list[str]:
    """SQL course exercises (XD-DENG/SQL-exercise: the Wikibooks "SQL Exercises", each a
    directory with its build script and its questions answered, several answers each,
    the last ones writes: INSERT, UPDATE and DELETE with subqueries over other tables).
    Each directory runs in a schema of its own, its writes wrapped as for pgexercises,
    once per layout (as written, and every table replicated)."""
    files = {}
    for layout in ("default", "replicated"):
        parts = []
        for git in gits:
            paths = git_files(git)
            for build in sorted(p for p in paths if p.endswith(".sql") and "build_schema" in p):
                folder = Path(build).parent
                answers = [p for p in paths if Path(p).parent == folder and "solution" in p and p.endswith(".sql")]
                if not answers:
                    continue
                schema = "ex_" + re.sub(r"\W+", "_", str(folder)).strip("_").lower()
                parts.append(f"-- {folder}\nDROP SCHEMA IF EXISTS {schema} CASCADE;\nCREATE SCHEMA {schema};\n"
                             f"SET search_path = {schema};\n{ended(_exercise_layout(git_text(git, build), layout))}"
                             + "".join(practice_statements(git_text(git, a)) for a in answers)
                             + "RESET search_path;\n")
        files[f"exercises_{layout}"] = "\n".join(parts)
    return _write(dest, files)


def _write(dest: Path, files: dict[str, str]) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.sql"):
        old.unlink()
    for name, text in files.items():
        (dest / f"{name}.sql").write_text(text, encoding="utf-8", errors="surrogateescape")
    (dest / "schedule").write_text("".join(f"test: {name}\n" for name in files))
    return list(files)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", choices=["chinook", "northwind", "sqlglot", "procrastinate", "graphile", "pagila",
                                       "pgexercises", "practice", "leetcode", "exercises"])
    ap.add_argument("dump_git", type=Path, help="the repository holding the sample database's SQL dump")
    ap.add_argument("query_gits", type=Path, nargs="*", help="repositories of queries over it")
    ap.add_argument("--dest", type=Path)
    args = ap.parse_args()
    dest = args.dest or Path(f"/tmp/corpus-{args.corpus}")
    if args.corpus == "procrastinate":
        names = build_procrastinate(args.dump_git, dest)
    elif args.corpus == "graphile":
        names = build_graphile(args.dump_git, dest)
    elif args.corpus == "sqlglot":
        names = build_sqlglot(args.dump_git, dest)
    elif args.corpus == "pagila":
        names = build_pagila(args.dump_git, args.query_gits, dest)
    elif args.corpus == "pgexercises":
        names = build_pgexercises(args.dump_git, args.query_gits, dest)
    elif args.corpus == "exercises":
        names = build_exercises([args.dump_git, *args.query_gits], dest)
    elif args.corpus == "leetcode":
        names = build_leetcode([args.dump_git, *args.query_gits], dest)
    elif args.corpus == "practice":
        names = build_practice(args.dump_git, args.query_gits, dest)
    elif args.corpus == "chinook":
        names = build_chinook(args.dump_git, args.query_gits[0], dest)
    else:
        names = build_northwind(args.dump_git, args.query_gits[0], args.query_gits[1:], dest)
    print(f"{len(names)} files in {dest}; replay with:\n"
          f"  python bench/regress_replay.py {dest} --files all --schedule {dest}/schedule "
          f"--no-record --report /tmp/{args.corpus}-report.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
