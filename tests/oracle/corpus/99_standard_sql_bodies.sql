/*
SQL functions and procedures with a SQL-standard body (PostgreSQL 14+: `BEGIN ATOMIC ...
END`, `RETURN expr`) over distributed tables. PostgreSQL binds such a body's names when the
routine is created: on the catalog server, to the empty copy of each distributed table, so
gridpg refused every call (0A000). They now run as twins whose body is read when they run
(executor/twins.string_body), reaching the cluster's rows through the loopback: reads,
writes, procedures, calls in WHERE and in the select list, nested calls from PL/pgSQL,
inside a block after its own writes, and under a search_path that would find another
table of the same name (the body stays bound to its own).
*/
CREATE TABLE acct (id int PRIMARY KEY, owner text, bal int) DISTRIBUTE BY HASH (id);
CREATE TABLE rates (cur text PRIMARY KEY, r numeric) DISTRIBUTE BY REPLICATION;
INSERT INTO acct SELECT g, 'o' || (g % 5), g * 10 FROM generate_series(1, 40) g;
INSERT INTO rates VALUES ('eur', 1.1), ('nok', 0.1);
CREATE FUNCTION total_bal() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT sum(bal) FROM acct; END;
CREATE FUNCTION bal_of(k int) RETURNS int LANGUAGE sql STABLE RETURN (SELECT bal FROM acct WHERE id = k);
CREATE FUNCTION in_cur(k int, c text) RETURNS numeric LANGUAGE sql STABLE RETURN (SELECT a.bal * r.r FROM acct a, rates r WHERE a.id = k AND r.cur = c);
CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql IMMUTABLE RETURN x * 2;
SELECT total_bal();
SELECT bal_of(3), bal_of(17), bal_of(1000);
SELECT in_cur(4, 'eur'), in_cur(4, 'nok');
SELECT id, bal_of(id), twice(bal) FROM acct WHERE id <= 5 ORDER BY id;
SELECT count(*) FROM acct WHERE bal > bal_of(30);
SELECT owner, sum(bal) FROM acct WHERE id < total_bal() / 400 GROUP BY owner ORDER BY owner;
-- several statements: the last one's rows are the result; writes
CREATE FUNCTION open_acct(k int, who text) RETURNS int LANGUAGE sql BEGIN ATOMIC INSERT INTO acct VALUES (k, who, 0); UPDATE acct SET bal = bal + 5 WHERE id = k; SELECT bal FROM acct WHERE id = k; END;
SELECT open_acct(100, 'new');
SELECT id, owner, bal FROM acct WHERE id = 100;
CREATE PROCEDURE move(a int, b int, amt int) LANGUAGE sql BEGIN ATOMIC UPDATE acct SET bal = bal - amt WHERE id = a; UPDATE acct SET bal = bal + amt WHERE id = b; END;
CALL move(1, 2, 7);
SELECT id, bal FROM acct WHERE id IN (1, 2) ORDER BY id;
-- inside a block: its own writes are seen; a rollback undoes the code's writes
BEGIN;
UPDATE acct SET bal = 0 WHERE id = 3;
SELECT bal_of(3), total_bal();
SELECT open_acct(101, 'tmp');
ROLLBACK;
SELECT bal_of(3), count(*) FROM acct WHERE id IN (3, 101);
-- called from PL/pgSQL
CREATE FUNCTION report(k int) RETURNS text LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN k || ': ' || bal_of(k) || ' of ' || total_bal(); END $$;
SELECT report(5), report(6);
-- a prepared statement calling it, executed after the rows changed
PREPARE q(int) AS SELECT bal_of($1);
EXECUTE q(10);
UPDATE acct SET bal = 999 WHERE id = 10;
EXECUTE q(10);
DEALLOCATE q;
-- the body stays bound to its own table under another search_path
CREATE SCHEMA other_std;
CREATE TABLE other_std.acct (id int PRIMARY KEY, owner text, bal int) DISTRIBUTE BY HASH (id);
INSERT INTO other_std.acct VALUES (3, 'other', -1);
SELECT set_config('search_path', 'other_std, ' || current_setting('search_path'), false);
SELECT bal FROM acct WHERE id = 3;
SELECT bal_of(3), total_bal(), report(3);
SELECT set_config('search_path', substr(current_setting('search_path'), 12), false);
DROP TABLE other_std.acct;
DROP SCHEMA other_std;
SELECT total_bal(), bal_of(3);
