/*
Analytic SQL over distributed tables as users write it (TPC-DS style), against one
PostgreSQL (issue 12, no silent wrong answer). Values that travel between the steps of a
distributed plan keep their type: a char(n) or bit(n) value of an IN subquery or a CTE
(scratch table columns), of an uncorrelated scalar subquery (a typed literal), of a
cursor's rows and of a prepared statement's parameter was written as `character` /
`bit`, which mean char(1) / bit(1): the scratch table refused the value (22001, TPC-DS
q45) and the literal was cut to its first character (a wrong count, silently). Float
values of those steps are carried exactly under extra_float_digits = 0 (their text is
rounded to 15 digits: a CTE joined on a float column or a scalar max(f) matched no row).
A CTE, an IN subquery or a scalar subquery with a column of the user's own type (an
enum, a domain, an array of an enum) named the type by the datanode's OID looked up on the
catalog server ("syntax error at or near ???"); a node of the statement names it now.
*/

CREATE TABLE oh_item (sk int PRIMARY KEY, code char(16), cls char(4), flag bit(3)) DISTRIBUTE BY HASH (sk);
CREATE TABLE oh_sale (id int NOT NULL, item int, cust int, amt numeric(10,2)) DISTRIBUTE BY HASH (cust);
INSERT INTO oh_item SELECT i, 'CODE' || lpad((i / 2)::text, 6, '0'), CASE WHEN i % 3 = 0 THEN 'ab' ELSE 'xyz' END, (i % 8)::bit(3) FROM generate_series(1, 200) i;
INSERT INTO oh_sale SELECT i, 1 + i % 210, i % 37, i * 1.5 FROM generate_series(1, 2000) i;

-- an IN subquery's char(16) rows into a scratch table (TPC-DS q45's shape)
SELECT count(*), sum(s.amt) FROM oh_sale s JOIN oh_item i ON i.sk = s.item WHERE s.cust < 20 OR i.code IN (SELECT code FROM oh_item WHERE sk IN (2, 3, 5, 7, 11));
-- scalar subqueries of types bpchar and bit without a length
SELECT count(*) FROM oh_sale s JOIN oh_item i ON i.sk = s.item WHERE i.code = (SELECT max(code) FROM oh_item WHERE sk < 50);
SELECT (SELECT max(code) FROM oh_item), (SELECT min(cls) FROM oh_item), (SELECT bit_or(flag) FROM oh_item) FROM oh_sale WHERE id = 1;
SELECT count(*) FROM oh_sale s WHERE s.item IN (SELECT sk FROM oh_item WHERE cls = (SELECT min(cls) FROM oh_item));
-- a CTE with char(n) and bit(n) columns as a scratch table
WITH c AS (SELECT code, cls, flag, count(*) n FROM oh_item GROUP BY code, cls, flag) SELECT c.code, c.cls, c.flag, c.n, count(s.id) FROM c JOIN oh_item i ON i.code = c.code JOIN oh_sale s ON s.item = i.sk GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3;
-- a cursor's rows kept on the catalog server
BEGIN;
DECLARE oh_c CURSOR FOR SELECT cls, max(code), bit_or(flag) FROM oh_item GROUP BY cls ORDER BY cls;
FETCH ALL FROM oh_c;
COMMIT;
-- a parameter of type char(n) / bpchar inlined into a plan of several steps
PREPARE oh_p(char(16)) AS SELECT count(*) FROM oh_sale s JOIN oh_item i ON i.sk = s.item WHERE i.code = $1 AND s.amt > (SELECT avg(amt) FROM oh_sale);
EXECUTE oh_p('CODE000024');
PREPARE oh_q AS SELECT count(*) FROM oh_sale s JOIN oh_item i ON i.sk = s.item WHERE i.code = $1 AND s.amt > (SELECT avg(amt) FROM oh_sale);
EXECUTE oh_q('CODE000070');

-- float values between plan steps under extra_float_digits = 0 (and bytea_output = escape)
SET extra_float_digits = 0;
SET bytea_output = escape;
CREATE TABLE oh_fl (id int, f float8, r real) DISTRIBUTE BY HASH (id);
INSERT INTO oh_fl SELECT i, i / 3.0::float8 + 1e-15 * i, i / 7.0::real FROM generate_series(1, 100) i;
INSERT INTO oh_fl VALUES (101, 'Infinity', '-Infinity'), (102, 'NaN', 'NaN'), (103, NULL, NULL);
SELECT count(*) FROM oh_fl WHERE f = (SELECT max(f) FROM oh_fl WHERE id < 50);
SELECT count(*) FROM oh_fl WHERE r = (SELECT max(r) FROM oh_fl WHERE id < 50);
SELECT count(*) FROM oh_fl WHERE f IN (SELECT f FROM oh_fl WHERE id % 7 = 0 OR id > 100);
SELECT count(*) FROM oh_fl WHERE r IN (SELECT r FROM oh_fl WHERE id % 7 = 0 OR id > 100);
WITH m AS (SELECT id, f, r FROM oh_fl WHERE id % 3 = 0 OR id > 100) SELECT count(*), count(DISTINCT m.r) FROM oh_fl JOIN m ON m.f = oh_fl.f AND m.r = oh_fl.r;
SELECT f FROM oh_fl WHERE f < 'Infinity' ORDER BY f DESC LIMIT 3;
SET bytea_output = hex;
SET extra_float_digits = 1;

-- user types (an enum, a domain) in a CTE's and an IN subquery's scratch table
CREATE TYPE oh_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN oh_pos AS int CHECK (VALUE > 0);
CREATE TABLE oh_ty (id int, m oh_mood, p oh_pos, ms oh_mood[]) DISTRIBUTE BY HASH (id);
INSERT INTO oh_ty SELECT i, (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::oh_mood, i, ARRAY[(ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::oh_mood, 'ok'] FROM generate_series(1, 300) i;
SELECT count(*) FROM oh_ty JOIN oh_sale s ON s.item = oh_ty.id WHERE (oh_ty.id, oh_ty.m) IN (SELECT id, m FROM oh_ty WHERE id % 4 = 0);
WITH t AS (SELECT id, m, p, ms FROM oh_ty WHERE id % 5 = 0) SELECT t.m::text, count(*), sum(t.p), max(t.ms::text) FROM t JOIN oh_sale s ON s.item = t.id GROUP BY t.m ORDER BY 1;
WITH t AS (SELECT m, count(*) n FROM oh_ty GROUP BY m) SELECT t.m::text, t.n, count(s.id) FROM t JOIN oh_ty USING (m) JOIN oh_sale s ON s.item = oh_ty.id GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) FROM oh_ty JOIN oh_sale s ON s.item = oh_ty.id WHERE oh_ty.m = (SELECT max(m) FROM oh_ty WHERE id < 100);
SELECT count(*) FROM oh_ty JOIN oh_sale s ON s.item = oh_ty.id WHERE oh_ty.m = (SELECT m FROM oh_ty WHERE id = 7);
SELECT count(*) FROM oh_ty JOIN oh_sale s ON s.item = oh_ty.id WHERE oh_ty.m IN (SELECT m FROM oh_ty WHERE id IN (7, 8));
SELECT count(*) FROM oh_ty JOIN oh_sale s ON s.item = oh_ty.id WHERE oh_ty.ms = (SELECT ms FROM oh_ty WHERE id = 7);
