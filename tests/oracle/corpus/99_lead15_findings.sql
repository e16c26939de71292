/*
SQL as users write it, lead's fifteenth probe. A statement trigger keeping totals of the
rows a statement wrote, read from its transition table, with an upsert into a distributed
table: gridpg runs such an upsert itself (the loopback cannot send ON CONFLICT DO UPDATE),
and the coordinator has no `newtab`, which only the trigger's own backend holds. Every
INSERT and UPDATE of the table failed with 42P01. The VALUES row's sub-selects are now
evaluated in the trigger, once each.
*/
CREATE TABLE l15_acc (id int PRIMARY KEY, owner text, balance numeric NOT NULL DEFAULT 0);
CREATE TABLE l15_totals (op text PRIMARY KEY, n int DEFAULT 0, amount numeric DEFAULT 0, first_id int);
CREATE FUNCTION l15_totals_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF tg_op = 'INSERT' THEN INSERT INTO l15_totals AS t VALUES ('ins', (SELECT count(*) FROM newtab), (SELECT coalesce(sum(balance), 0) FROM newtab), (SELECT min(id) FROM newtab)) ON CONFLICT (op) DO UPDATE SET n = t.n + excluded.n, amount = t.amount + excluded.amount; ELSE INSERT INTO l15_totals AS t VALUES ('upd', (SELECT count(*) FROM newtab), (SELECT coalesce(sum(n.balance - o.balance), 0) FROM newtab n JOIN oldtab o USING (id)), CASE WHEN EXISTS (SELECT 1 FROM newtab WHERE balance < 0) THEN -1 END) ON CONFLICT (op) DO UPDATE SET n = t.n + excluded.n, amount = t.amount + excluded.amount, first_id = excluded.first_id; END IF; RETURN NULL; END $$;
CREATE TRIGGER l15_totals_i AFTER INSERT ON l15_acc REFERENCING NEW TABLE AS newtab FOR EACH STATEMENT EXECUTE FUNCTION l15_totals_fn();
CREATE TRIGGER l15_totals_u AFTER UPDATE ON l15_acc REFERENCING NEW TABLE AS newtab OLD TABLE AS oldtab FOR EACH STATEMENT EXECUTE FUNCTION l15_totals_fn();
INSERT INTO l15_acc SELECT g, 'o' || (g % 3), g * 10 FROM generate_series(1, 20) g;
INSERT INTO l15_acc VALUES (21, 'o0', 5), (22, 'o1', 7);
UPDATE l15_acc SET balance = balance - 15 WHERE owner = 'o1';
UPDATE l15_acc SET balance = balance - 1000 WHERE id = 3;
SELECT op, n, amount, first_id FROM l15_totals ORDER BY op;
SELECT count(*), sum(balance) FROM l15_acc;

-- The same from a function reading the session's temp table.
CREATE TEMP TABLE l15_batch (id int, balance numeric);
INSERT INTO l15_batch VALUES (1, 10), (2, 20), (3, NULL);
CREATE FUNCTION l15_from_batch(p_op text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE k int; BEGIN INSERT INTO l15_totals AS t VALUES (p_op, (SELECT count(*) FROM l15_batch WHERE balance IS NOT NULL), 0, (SELECT max(id) FROM l15_batch)) ON CONFLICT (op) DO UPDATE SET n = t.n + excluded.n RETURNING n INTO k; RETURN k; END $$;
SELECT l15_from_batch('batch');
SELECT l15_from_batch('batch');
SELECT op, n, amount, first_id FROM l15_totals ORDER BY op;

-- A scalar subquery over a distributed table answering an anonymous record (`(SELECT
-- ROW(max(id), min(id)) FROM t)`) runs first, as a subplan whose value is written into the
-- statement as a literal: PostgreSQL reads no literal of type record (0A000). It is now
-- written as a ROW constructor of typed literals.
CREATE TABLE l15_people (id int PRIMARY KEY, name text, born date);
INSERT INTO l15_people VALUES (1, 'ann', '1990-01-02'), (2, 'bob', NULL), (3, NULL, '2001-12-31');
SELECT (SELECT ROW(max(id), min(name), max(born)) FROM l15_people);
SELECT (SELECT ROW(max(id), min(id)) FROM l15_people) = ROW(3, 1);
SELECT (SELECT ROW(max(id), min(name)) FROM l15_people WHERE id > 100);
SELECT (SELECT ROW(id, name) FROM l15_people WHERE id > 100);
SELECT (SELECT ROW(count(*)) FROM l15_people WHERE born IS NOT NULL);
-- error
SELECT (SELECT ROW(id, name) FROM l15_people);
-- (`ROW(a, b) = (SELECT ...)` is a row comparison with the sub-select's columns: 42601 here)
-- error
SELECT id FROM l15_people WHERE ROW(id, name) = (SELECT ROW(min(id), min(name)) FROM l15_people);
SELECT id FROM l15_people WHERE ROW(id, name) = (SELECT min(id), min(name) FROM l15_people);
SELECT id FROM l15_people WHERE (SELECT ROW(min(id), min(name)) FROM l15_people) = ROW(id, name);

-- COPY ... TO of a partitioned table: PostgreSQL's 42809 (0A000 before).
CREATE TABLE l15_parts (id int, region text) PARTITION BY LIST (region);
CREATE TABLE l15_parts_eu PARTITION OF l15_parts FOR VALUES IN ('eu');
-- error
COPY l15_parts TO STDOUT;
