/*
SQL as users write it, lead's sixteenth probe. nextval() per row of a SELECT over
distributed tables (`SELECT nextval('s'), id FROM t`, numbering rows for an export, a
batch id per row): refused with 0A000 before, since a datanode would draw from its own
copy of the sequence. It now runs on the catalog server with the tables read through
the loopback's shadows, each call taking the GTM's next value where and as often as
PostgreSQL calls nextval (with ORDER BY ... LIMIT: after the sort, for the rows returned).
*/
CREATE SEQUENCE l16_seq;
CREATE TABLE l16_src (id int PRIMARY KEY, v text);
INSERT INTO l16_src SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT nextval('l16_seq') AS n, id FROM l16_src WHERE id = 1;
SELECT id, nextval('l16_seq') FROM l16_src ORDER BY id LIMIT 3;
SELECT currval('l16_seq'), lastval();
SELECT count(*), count(DISTINCT x), min(x), max(x) FROM (SELECT nextval('l16_seq') x FROM l16_src) t;
SELECT s.id, nextval('l16_seq'::regclass) AS batch FROM l16_src s JOIN l16_src s2 ON s2.id = s.id + 1 WHERE s.id < 4 ORDER BY s.id;
BEGIN;
SELECT id, nextval('l16_seq') FROM l16_src WHERE id > 8 ORDER BY id;
ROLLBACK;
SELECT nextval('l16_seq');
SELECT v, nextval('l16_seq') FROM l16_src WHERE id IN (2, 3) ORDER BY v DESC;

/*
A set-returning function over a distributed table inside a sub-select of a statement over
it: `WHERE EXISTS (SELECT 1 FROM owners('x%') o WHERE o.id = a.id)` and `WHERE id IN
(SELECT id FROM owners('x%'))` were refused (0A000: over the shadow, postgres_fdw computes
a sub-select's value with search_path = pg_catalog when it sends it as a parameter). Only
an uncorrelated EXISTS, scalar, ARRAY or row-comparison sub-select becomes such a value
(an InitPlan); a correlated one, and IN / ANY / ALL, are computed per row where the rows
are, and now run. The uncorrelated scalar and EXISTS forms stay refused.
*/
CREATE TABLE l16_acct (id int PRIMARY KEY, owner text, balance numeric);
INSERT INTO l16_acct SELECT g, 'owner' || g, g * 10 FROM generate_series(1, 30) g;
CREATE FUNCTION l16_owners(p text) RETURNS SETOF l16_acct LANGUAGE sql AS $$ SELECT * FROM l16_acct WHERE owner LIKE p $$;
CREATE FUNCTION l16_rich(min numeric) RETURNS TABLE (rid int, bal numeric) LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT id, balance FROM l16_acct WHERE balance >= min; END $$;
SELECT count(*) FROM l16_acct a WHERE EXISTS (SELECT 1 FROM l16_owners('owner2%') o WHERE o.id = a.id);
SELECT a.id FROM l16_acct a WHERE NOT EXISTS (SELECT 1 FROM l16_rich(50) r WHERE r.rid = a.id) ORDER BY a.id;
SELECT a.id, (SELECT count(*) FROM l16_rich(100) r WHERE r.rid < a.id) FROM l16_acct a WHERE a.id < 15 ORDER BY 1;
SELECT count(*) FROM l16_acct a WHERE a.balance > (SELECT avg(o.balance) FROM l16_owners('owner1%') o WHERE o.id <> a.id);
SELECT count(*) FROM l16_acct WHERE EXISTS (SELECT 1 FROM l16_owners('owner3%') o WHERE o.id = l16_acct.id);
SELECT count(*) FROM l16_acct a WHERE a.id IN (SELECT id FROM l16_owners('owner2%'));
SELECT count(*) FROM l16_acct a WHERE a.id NOT IN (SELECT id FROM l16_owners('owner2%')) OR a.id = 3;
SELECT count(*) FROM l16_acct a WHERE a.balance > ALL (SELECT balance FROM l16_owners('owner1_'));
UPDATE l16_acct a SET balance = balance + 1 WHERE EXISTS (SELECT 1 FROM l16_owners('owner1%') o WHERE o.id = a.id);
DELETE FROM l16_acct WHERE id IN (SELECT id FROM l16_owners('owner3%')) RETURNING id;
SELECT count(*), sum(balance) FROM l16_acct;

/*
A CTE with an anonymous row column (`WITH x AS (SELECT id, ROW(a, b) AS r FROM t)`) read
once: gridpg ran the CTE first into a scratch table, which cannot hold a column of type
record (42P16). It is now inlined where it is named, as PostgreSQL inlines such a CTE.
Named twice (a self-join of the CTE), it still fails with 42P16.
*/
CREATE TABLE l16_rows (id int PRIMARY KEY, a int, b text);
INSERT INTO l16_rows SELECT g, g * 2, 'b' || g FROM generate_series(1, 10) g;
CREATE TABLE l16_other (id int PRIMARY KEY, c int);
INSERT INTO l16_other SELECT g, g FROM generate_series(1, 10) g;
WITH x AS (SELECT ROW(a, b) AS r FROM l16_rows WHERE id < 3) SELECT r FROM x ORDER BY r;
WITH x AS (SELECT id, ROW(a, b) AS r FROM l16_rows) SELECT count(*) FROM x WHERE (r).f1 > 5;
WITH x AS (SELECT id, (a, b) AS r FROM l16_rows) SELECT x.id, x.r FROM x JOIN l16_other o ON o.c = x.id + 1 WHERE x.id < 4 ORDER BY 1;
WITH x (k, pair) AS (SELECT id, ROW(id, b) FROM l16_rows WHERE id > 8) SELECT k, pair FROM x ORDER BY k;

/*
A function returning a refcursor opened over a replicated table (`OPEN c FOR SELECT ...
RETURN c`, then FETCH in the caller's block, as JDBC callable statements use): code
that only reads replicated tables runs on a datanode, where the cursor was opened; the
client's FETCH went to the catalog connection and failed with 34000. Such code now runs
on the catalog server through the loopback, where FETCH finds the cursor.
*/
CREATE TABLE l16_ref (id int PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION;
CREATE TABLE l16_hash (id int PRIMARY KEY, name text) DISTRIBUTE BY HASH (id);
INSERT INTO l16_ref VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO l16_hash VALUES (1, 'x'), (2, 'y'), (3, 'z');
CREATE FUNCTION l16_ref_cur() RETURNS refcursor LANGUAGE plpgsql AS $$ DECLARE c refcursor := 'l16_c'; BEGIN OPEN c FOR SELECT id, name FROM l16_ref ORDER BY id; RETURN c; END $$;
CREATE FUNCTION l16_hash_cur() RETURNS refcursor LANGUAGE plpgsql AS $$ DECLARE c refcursor := 'l16_h'; BEGIN OPEN c FOR SELECT id, name FROM l16_hash ORDER BY id; RETURN c; END $$;
BEGIN;
SELECT l16_ref_cur();
FETCH 2 FROM l16_c;
FETCH ALL FROM l16_c;
CLOSE l16_c;
SELECT l16_hash_cur();
FETCH 1 FROM l16_h;
MOVE FORWARD 1 IN l16_h;
FETCH NEXT FROM l16_h;
COMMIT;
SELECT l16_ref_cur();
