/*
Statements found by replaying the Pagila sample database (its pg_dump schema and data) and
students' homework queries over it (bench/user_corpus.py pagila), each reduced to a small
form with our own tables. Tables get gridpg's default distribution, as the dump's did, but
pf_customer, replicated as Pagila's customer ends up (the foreign keys added after it).

A rule ON UPDATE of a table whose action calls user code that writes the table (Pagila's
payment_pk_update on the partitioned payment, calling payment_id_change_handler) fires only
when a statement updates that table. gridpg counted the rule's code as run by every
statement naming the table: each SELECT over payment was sent through the loopback as
"server-side code", and there refused (0A000 "from inside another such call") or failed
on the catalog server's copies (42803 for a GROUP BY on a key added by ALTER TABLE); an
INSERT or DELETE of the table was refused too. Now a rule's code counts for the writes of
its event only (an UPDATE of such a table is still refused, 0A000: not compared here).
*/

CREATE TABLE pf_customer (customer_id int NOT NULL, first_name text, last_name text) DISTRIBUTE BY REPLICATION;
ALTER TABLE ONLY pf_customer ADD CONSTRAINT pf_customer_pkey PRIMARY KEY (customer_id);
CREATE TABLE pf_payment (payment_id int NOT NULL, customer_id int NOT NULL, amount numeric(5,2), paid timestamptz NOT NULL) PARTITION BY RANGE (paid);
CREATE TABLE pf_payment_p1 (payment_id int NOT NULL, customer_id int NOT NULL, amount numeric(5,2), paid timestamptz NOT NULL);
CREATE TABLE pf_payment_p2 (payment_id int NOT NULL, customer_id int NOT NULL, amount numeric(5,2), paid timestamptz NOT NULL);
ALTER TABLE ONLY pf_payment ATTACH PARTITION pf_payment_p1 FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
ALTER TABLE ONLY pf_payment ATTACH PARTITION pf_payment_p2 FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
ALTER TABLE ONLY pf_payment ADD CONSTRAINT pf_payment_pkey PRIMARY KEY (paid, payment_id);
CREATE FUNCTION pf_payment_id_change(old_id int, new_id int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE pf_payment SET payment_id = new_id WHERE payment_id = old_id; END $$;
CREATE RULE pf_payment_pk_update AS ON UPDATE TO pf_payment WHERE (new.payment_id <> old.payment_id) DO INSTEAD SELECT pf_payment_id_change(old.payment_id, new.payment_id);
CREATE TABLE pf_plain (id int PRIMARY KEY, v int);
CREATE FUNCTION pf_plain_moved(a int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN DELETE FROM pf_plain WHERE id = a; END $$;
CREATE RULE pf_plain_upd AS ON UPDATE TO pf_plain WHERE (new.v < 0) DO ALSO SELECT pf_plain_moved(new.id);

INSERT INTO pf_customer VALUES (1, 'MARY', 'SMITH'), (2, 'PATRICIA', 'JOHNSON'), (3, 'LINDA', 'WILLIAMS'), (4, 'BARBARA', 'JONES');
INSERT INTO pf_payment_p1 VALUES (1, 1, 2.99, '2020-01-05 10:00:00+00'), (2, 1, 0.99, '2020-01-06 11:00:00+00'), (3, 2, 5.99, '2020-01-20 12:00:00+00');
-- an INSERT into the table with the ON UPDATE rule fires no rule (was refused: 0A000)
INSERT INTO pf_payment VALUES (4, 2, 4.99, '2020-02-02 10:00:00+00'), (5, 3, 9.99, '2020-03-01 10:00:00+00'), (6, 1, 1.99, '2020-04-01 10:00:00+00');
DELETE FROM pf_payment WHERE payment_id = 6 RETURNING payment_id, amount;
INSERT INTO pf_payment VALUES (6, 1, 1.99, '2020-04-01 10:00:00+00');
SELECT count(*), sum(amount) FROM pf_payment;
SELECT * FROM pf_payment ORDER BY payment_id;
SELECT c.customer_id, c.first_name, c.last_name, sum(p.amount) FROM pf_customer c JOIN pf_payment p USING (customer_id) GROUP BY c.customer_id ORDER BY c.last_name;
SELECT * FROM (SELECT c.customer_id, c.first_name || ' ' || c.last_name AS name, sum(amount) AS total, ntile(2) OVER (ORDER BY sum(amount)) AS half FROM pf_customer c JOIN pf_payment p ON c.customer_id = p.customer_id GROUP BY c.customer_id) s WHERE half = 2 ORDER BY name;
SELECT customer_id FROM pf_customer WHERE customer_id IN (SELECT customer_id FROM pf_payment GROUP BY customer_id ORDER BY sum(amount) DESC LIMIT 2) ORDER BY 1;
SELECT date_trunc('month', paid) AS m, count(*) FROM pf_payment WHERE paid BETWEEN '2020-01-01' AND '2020-02-01' GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM pf_payment_p2;
SELECT count(*) FROM pf_plain;
INSERT INTO pf_plain VALUES (1, 10), (2, 20), (3, 30);
DELETE FROM pf_plain WHERE id = 3;
SELECT * FROM pf_plain ORDER BY id;
WITH m AS (DELETE FROM pf_plain WHERE id = 2 RETURNING *) INSERT INTO pf_plain SELECT id + 10, v FROM m;
SELECT * FROM pf_plain ORDER BY id;
SELECT p.id, sum(q.amount) FROM pf_plain p LEFT JOIN pf_payment q ON q.customer_id = p.id GROUP BY p.id ORDER BY 1;

-- GROUP BY an output column's position (dvdrental's questions: `SELECT (customer.customer_id),
-- first_name || ' ' || last_name ... LEFT JOIN payment ... GROUP BY 1`): the tables copied
-- to the catalog server for the statement kept no primary key, 42803
SELECT (c.customer_id), c.first_name || ' ' || c.last_name AS "customer_name", sum(p.amount) FROM pf_customer c LEFT JOIN pf_payment p ON c.customer_id = p.customer_id GROUP BY 1 HAVING sum(p.amount) > 1 ORDER BY 3 DESC, 1;
SELECT (c.customer_id), c.first_name, count(p.payment_id) FROM pf_customer c LEFT JOIN pf_payment p ON c.customer_id = p.customer_id GROUP BY 1 ORDER BY 1;

-- SECURITY DEFINER code called by its owner (Pagila's rewards_report, a procedure running
-- dynamic SQL and returning refcursors): refused for running "as different roles
-- (postgres, the caller)", which are one role
CREATE FUNCTION pf_total(c int) RETURNS numeric LANGUAGE plpgsql SECURITY DEFINER AS $$ DECLARE t numeric; BEGIN EXECUTE 'SELECT sum(amount) FROM pf_payment WHERE customer_id = $1' INTO t USING c; RETURN t; END $$;
SELECT pf_total(1), pf_total(4);
CREATE PROCEDURE pf_report(IN minimum numeric, INOUT cur refcursor DEFAULT 'pf_cur'::refcursor) LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN EXECUTE 'CREATE TEMPORARY TABLE pf_tmp ON COMMIT DROP AS SELECT customer_id FROM pf_payment GROUP BY customer_id HAVING sum(amount) > ' || minimum; OPEN cur FOR SELECT c.* FROM pf_tmp t JOIN pf_customer c USING (customer_id) ORDER BY customer_id; END $$;
BEGIN;
CALL pf_report(5);
FETCH ALL FROM pf_cur;
COMMIT;
