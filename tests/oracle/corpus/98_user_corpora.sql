/*
Statements found by replaying SQL that users and other projects wrote (issue 12:
bench/user_corpus.py, the Chinook and Northwind sample databases with the queries written
for them, and sqlglot's test fixtures), each reduced to a small form with our own tables.
Tables get gridpg's default distribution, as the users' did.
*/

CREATE TABLE uc_track (track_id int NOT NULL, name text, genre_id int, CONSTRAINT uc_track_pkey PRIMARY KEY (track_id));
INSERT INTO uc_track VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 1), (4, 'd', NULL);
CREATE TABLE uc_days (id int, day date);
INSERT INTO uc_days VALUES (1, current_date - 2), (2, current_date), (3, current_date + 3), (4, NULL);

-- INSERT ... SELECT from a distributed table into a relation that does not exist
-- (sqlglot's identity.sql): "internal error in the coordinator" (an assertion in the
-- executor), the session's statement lost. Now PostgreSQL's 42P01, from the catalog server
-- error
INSERT INTO uc_nosuch (a /* a */, b /* b */) SELECT track_id /* t */, genre_id FROM uc_track;
-- error
INSERT INTO uc_nosuch SELECT * FROM uc_track WHERE track_id = 1;
-- error
INSERT INTO uc_nosuch (a) SELECT t.track_id FROM uc_track t JOIN uc_days d ON d.id = t.track_id;
SELECT count(*) FROM uc_track;

-- A call of the transaction's clock as a FROM item itself (sqlglot's identity.sql:
-- `SELECT * FROM current_date`): the coordinator pinned it to a literal there, which is
-- no valid FROM item (42601). Now `unnest(ARRAY[literal])` under PostgreSQL's names
SELECT * FROM current_date;
SELECT d = current_date AS same FROM current_date AS d;
SELECT n = now() AS same, n = transaction_timestamp() AS also FROM now() n;
SELECT "current_date" = current_date FROM current_date;
SELECT count(*) FROM uc_days, current_date c WHERE uc_days.day <= c;
SELECT uc_days.id FROM uc_days JOIN current_date AS c(today) ON uc_days.day = c.today;
SELECT t.x = localtimestamp(2) FROM localtimestamp(2) WITH ORDINALITY AS t(x, n);
SELECT count(*) FROM current_date WITH ORDINALITY;
SELECT g::date - current_date FROM generate_series(current_date - 2, current_date, interval '1 day') g ORDER BY 1;
BEGIN;
SELECT * FROM current_date;
SELECT d = current_date FROM current_date d, uc_track WHERE uc_track.track_id = 2;
COMMIT;

-- CREATE TABLE IF NOT EXISTS ... AS over a name taken (sqlglot's identity.sql): gridpg
-- skipped it without looking at the query, where PostgreSQL analyses the query first and
-- fails on a relation or column that does not exist
CREATE TABLE IF NOT EXISTS uc_track AS SELECT 1 AS a;
SELECT count(*) FROM uc_track;
-- error
CREATE TABLE IF NOT EXISTS uc_track AS SELECT a FROM uc_nosuch;
-- error
CREATE TABLE IF NOT EXISTS uc_track AS SELECT no_column FROM uc_days;
CREATE TABLE IF NOT EXISTS uc_track AS SELECT id FROM uc_days WITH NO DATA;
SELECT count(*) FROM uc_track;
