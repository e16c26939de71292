/*
Small differences against PostgreSQL found by replaying PostgreSQL 18's regression files
(h-small25, 2026-12-07).
Degenerate grouping (select_having.sql:47): a HAVING with no GROUP BY and no aggregate is
answered from the HAVING alone; PostgreSQL never reads the FROM, so a WHERE that fails on a
row (1/0) is never evaluated. The coordinator finish gathered the rows with that WHERE
pushed down (22012); such references are now gathered with `false`
(planner/gather._unread_locations).
*/
CREATE SCHEMA oracle_s25;
CREATE TABLE oracle_s25.h (a int, b int);
INSERT INTO oracle_s25.h VALUES (0, 1), (1, 2), (2, 3);
SELECT 1 AS one FROM oracle_s25.h WHERE 1/a = 1 HAVING 1 < 2;
SELECT 1 AS one FROM oracle_s25.h WHERE 1/a = 1 HAVING 1 > 2;
SELECT 1 AS one FROM (SELECT * FROM oracle_s25.h WHERE 1/a = 1) s HAVING 1 < 2;
SELECT 1 AS one FROM oracle_s25.h x JOIN oracle_s25.h y ON 1/x.a = y.b HAVING 2 > 1;
SELECT 'k' AS k, (SELECT count(*) FROM oracle_s25.h) AS n FROM oracle_s25.h WHERE b > 1 HAVING 1 < 2;
-- an aggregate: rows are read, the WHERE evaluated
-- error
SELECT count(*) FROM oracle_s25.h WHERE 1/a = 1 HAVING 1 < 2;
SELECT count(*) FROM oracle_s25.h WHERE a > 0 HAVING 1 < 2;
/*
EXECUTE of the session's prepared statement inside PL/pgSQL (partition_prune.sql:609): the
catalog server runs the code and does not hold the session's prepared statements (26000, or
"cannot open EXECUTE query as cursor"). The dynamic text now reaches the coordinator's
redirect, which hands back the prepared statement's text with the arguments in place
(planner/prepared.execute_as_statement).
*/
CREATE TABLE oracle_s25.ab (a int, b int);
INSERT INTO oracle_s25.ab SELECT i % 5, i % 7 FROM generate_series(1, 100) i;
CREATE FUNCTION oracle_s25.run_text(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE ln text; BEGIN FOR ln IN EXECUTE format('%s', q) LOOP RETURN NEXT ln; END LOOP; END $$;
CREATE FUNCTION oracle_s25.run_q4(x int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE v numeric; BEGIN EXECUTE 'EXECUTE s25_q4(' || x || ', 4)' INTO v; EXECUTE 'EXECUTE s25_qi(' || x || ')'; RETURN v; END $$;
PREPARE s25_q4 (int, int) AS SELECT avg(a) FROM oracle_s25.ab WHERE a BETWEEN $1 AND $2 AND b < 4;
PREPARE s25_q6 AS SELECT count(*) FROM oracle_s25.ab;
PREPARE s25_qi (int) AS INSERT INTO oracle_s25.ab VALUES ($1 + 70, $1);
SELECT oracle_s25.run_text('execute s25_q4 (2, 2)');
SELECT oracle_s25.run_text('EXECUTE s25_q4(1, 3)');
SELECT oracle_s25.run_text('execute s25_q6');
SELECT oracle_s25.run_q4(2);
SELECT a, b FROM oracle_s25.ab WHERE a >= 70;
-- error
SELECT oracle_s25.run_text('execute s25_q4(1)');
-- error
SELECT oracle_s25.run_text('execute s25_nope(1)');
-- EXPLAIN ... EXECUTE of it (partition_prune.sql:609): plan text differs, the call runs
SELECT count(*) > 0 FROM oracle_s25.run_text('explain (costs off) execute s25_q4 (2, 2)');
DEALLOCATE s25_q4;
DEALLOCATE s25_q6;
DEALLOCATE s25_qi;
/*
Attribute notation over distributed tables (misc.sql:196-263): `p.hobbies` is `hobbies(p)`.
Where the statement runs armed (the function reads distributed tables), `p` was the shadow's
row, of another type (42703, 42883): its whole-row uses are now cast to the table's row type
(planner/shadow_rows.py). Over a coordinator finish, the copy had another type too, and the
gather left out the whole row's columns: the copy is read as typed rows
(planner/finish.typed_attribute_rows).
*/
CREATE TABLE oracle_s25.person (name text, age int);
INSERT INTO oracle_s25.person VALUES ('mike', 40), ('joe', 20), ('sally', 30);
CREATE TABLE oracle_s25.hobbies_r (name text, person text);
INSERT INTO oracle_s25.hobbies_r VALUES ('posthacking', 'mike'), ('basketball', 'joe'), ('basketball', 'sally');
SET search_path = oracle_s25, public;
CREATE FUNCTION hobbies(person) RETURNS SETOF hobbies_r
  AS 'SELECT * FROM hobbies_r WHERE person = $1.name' LANGUAGE sql;
CREATE FUNCTION older(person) RETURNS int AS 'SELECT $1.age + 1' LANGUAGE sql;
SELECT p.name, p.hobbies::text FROM oracle_s25.person p;
SELECT p.name, name(p.hobbies) FROM person p WHERE p.age > 25;
SELECT p.name, (p.hobbies).name FROM oracle_s25.person p;
SELECT p.name, (hobbies(p)).name FROM oracle_s25.person p WHERE p.age > 25;
SELECT person.name, (person.hobbies).name FROM oracle_s25.person WHERE age < 35;
SELECT p.older, row_number() OVER (ORDER BY p.name) FROM oracle_s25.person p ORDER BY 1;
SELECT p.name, p.older FROM oracle_s25.person p JOIN oracle_s25.hobbies_r h ON h.person = p.name ORDER BY 1;
-- `h.*` as a function's argument is a whole row too (misc.sql:261, 263)
SELECT *, (hobbies(h.*)).name FROM person h WHERE h.age > 25;
SELECT name, (hobbies(CAST((h.*) AS person))).name FROM person h;
-- a table with an inheritance child: its rows too (FROM ONLY with such code: 99_plpgsql26.sql)
CREATE TABLE oracle_s25.per2 (name text, age int);
CREATE TABLE oracle_s25.stud2 (school text) INHERITS (oracle_s25.per2);
INSERT INTO oracle_s25.per2 VALUES ('mike', 40), ('joe', 20);
INSERT INTO oracle_s25.stud2 VALUES ('jeff', 30, 'x');
INSERT INTO oracle_s25.hobbies_r VALUES ('posthacking', 'jeff');
CREATE FUNCTION hob2(per2) RETURNS SETOF hobbies_r AS 'SELECT * FROM hobbies_r WHERE person = $1.name' LANGUAGE sql;
SELECT p.name, name(p.hob2) FROM per2 p;
RESET search_path;
