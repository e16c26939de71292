/*
Server-side code that reads and writes distributed and replicated tables runs through the
loopback (executor/loopback.py, frontend/loopback.py): SQL and PL/pgSQL functions called in
SELECT, procedures (CALL) and DO blocks, whose every statement is planned by gridpg inside
the caller's transaction: reads see its uncommitted writes, writes commit or roll back with
it (also ROLLBACK TO SAVEPOINT, PL/pgSQL EXCEPTION blocks, errors), from both coordinators.
*/

CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12, 2) NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE ledger (id int, acct int, delta numeric(12, 2), note text) DISTRIBUTE BY HASH (acct);
CREATE TABLE tally (k int PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY MODULO (k);
CREATE TABLE rates (code text PRIMARY KEY, pct numeric(5, 2)) DISTRIBUTE BY REPLICATION;
INSERT INTO acct SELECT g, 'owner ' || (g % 5), 100 + g FROM generate_series(1, 30) g;
INSERT INTO tally SELECT g, 0 FROM generate_series(1, 6) g;
INSERT INTO rates VALUES ('std', 1.50), ('vip', 3.25);

-- reading
CREATE FUNCTION total_balance() RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT sum(balance) FROM acct $$;
CREATE FUNCTION balance_of(i int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT balance FROM acct WHERE id = i $$;
CREATE FUNCTION richest(n int) RETURNS TABLE (id int, balance numeric) LANGUAGE sql STABLE AS $$ SELECT id, balance FROM acct ORDER BY balance DESC, id LIMIT n $$;
CREATE FUNCTION owners() RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$ DECLARE r record; BEGIN FOR r IN SELECT DISTINCT owner FROM acct ORDER BY owner LOOP RETURN NEXT upper(r.owner); END LOOP; END $$;
CREATE FUNCTION rate(c text) RETURNS numeric LANGUAGE plpgsql STABLE AS $$ DECLARE p numeric; BEGIN SELECT pct INTO STRICT p FROM rates WHERE code = c; RETURN p; END $$;
CREATE FUNCTION per_owner() RETURNS TABLE (owner text, n bigint, s numeric) LANGUAGE sql STABLE AS $$ SELECT owner, count(*), sum(balance) FROM acct GROUP BY owner $$;
CREATE FUNCTION with_rate(i int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT a.balance * (1 + r.pct / 100) FROM acct a JOIN rates r ON r.code = 'vip' WHERE a.id = i $$;
CREATE FUNCTION ledger_sum(i int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT coalesce(sum(l.delta), 0) FROM ledger l JOIN acct a ON a.id = l.acct WHERE a.id = i $$;

SELECT total_balance();
SELECT balance_of(7), balance_of(29), balance_of(999);
SELECT * FROM richest(3);
SELECT owners();
SELECT rate('vip');
-- error
SELECT rate('none');
SELECT * FROM per_owner() ORDER BY owner;
SELECT with_rate(4);
SELECT g, balance_of(g) FROM generate_series(1, 4) g ORDER BY g;
SELECT total_balance() - (SELECT sum(balance) FROM richest(2));

-- writing, outside and inside transactions
CREATE FUNCTION transfer(a int, b int, amount numeric) RETURNS numeric LANGUAGE plpgsql AS $$ DECLARE left_over numeric; BEGIN UPDATE acct SET balance = balance - amount WHERE id = a RETURNING balance INTO left_over; IF left_over < 0 THEN RAISE EXCEPTION 'insufficient funds in %', a USING ERRCODE = 'P0001'; END IF; UPDATE acct SET balance = balance + amount WHERE id = b; INSERT INTO ledger VALUES (1, a, -amount, 'out'), (2, b, amount, 'in'); RETURN left_over; END $$;
CREATE FUNCTION open_acct(i int, who text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE new_id int; BEGIN INSERT INTO acct VALUES (i, who, 0) RETURNING id INTO new_id; UPDATE tally SET n = n + 1 WHERE k = (i % 6) + 1; RETURN new_id; END $$;
CREATE FUNCTION close_acct(i int) RETURNS bigint LANGUAGE sql AS $$ DELETE FROM ledger WHERE acct = i; DELETE FROM acct WHERE id = i; SELECT count(*) FROM acct; $$;
CREATE FUNCTION try_open(i int) RETURNS text LANGUAGE plpgsql AS $$ BEGIN BEGIN INSERT INTO acct VALUES (i, 'try', 1); UPDATE tally SET n = n + 10 WHERE k = 1; EXCEPTION WHEN unique_violation THEN RETURN 'exists'; END; RETURN 'opened'; END $$;

SELECT transfer(1, 2, 50);
SELECT id, balance FROM acct WHERE id IN (1, 2) ORDER BY id;
SELECT acct, delta, note FROM ledger ORDER BY acct, note;
-- error
SELECT transfer(3, 4, 1000);
SELECT id, balance FROM acct WHERE id IN (3, 4) ORDER BY id;
SELECT count(*) FROM ledger;
SELECT open_acct(100, 'new');
-- error
SELECT open_acct(100, 'again');
SELECT * FROM tally ORDER BY k;
SELECT try_open(100), try_open(101), try_open(101);
SELECT * FROM acct WHERE id >= 100 ORDER BY id;
SELECT * FROM tally ORDER BY k;
SELECT close_acct(101);
SELECT count(*) FROM acct WHERE id = 101;

BEGIN;
SELECT transfer(5, 6, 10);
SELECT balance_of(5), balance_of(6), total_balance();
SELECT count(*) FROM ledger WHERE acct IN (5, 6);
ROLLBACK;
SELECT balance_of(5), balance_of(6), total_balance();
SELECT count(*) FROM ledger WHERE acct IN (5, 6);

BEGIN;
INSERT INTO acct VALUES (200, 'txn', 500);
SELECT transfer(200, 7, 25);
UPDATE acct SET balance = balance + 1 WHERE id = 200;
SELECT balance_of(200), balance_of(7);
COMMIT;
SELECT id, balance FROM acct WHERE id IN (7, 200) ORDER BY id;

BEGIN;
SELECT open_acct(300, 'sp');
SAVEPOINT s1;
SELECT open_acct(301, 'sp');
SELECT try_open(300);
ROLLBACK TO SAVEPOINT s1;
SELECT open_acct(302, 'sp');
-- error
SELECT open_acct(300, 'dup');
ROLLBACK;
SELECT count(*) FROM acct WHERE id >= 300;
SELECT * FROM tally ORDER BY k;

BEGIN;
SELECT open_acct(310, 'sp');
SAVEPOINT s1;
SELECT open_acct(311, 'sp');
RELEASE SAVEPOINT s1;
SAVEPOINT s2;
SELECT close_acct(310);
ROLLBACK TO SAVEPOINT s2;
COMMIT;
SELECT id, owner FROM acct WHERE id >= 300 ORDER BY id;

-- procedures and DO blocks
CREATE PROCEDURE pay_interest(code text, INOUT paid int DEFAULT 0) LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN FOR r IN SELECT id FROM acct WHERE id <= 5 ORDER BY id LOOP UPDATE acct SET balance = round(balance * (1 + rate(code) / 100), 2) WHERE id = r.id; paid := paid + 1; END LOOP; END $$;
CREATE PROCEDURE reset_tally() LANGUAGE sql AS $$ UPDATE tally SET n = 0; INSERT INTO ledger VALUES (9, 0, 0, 'reset') $$;
CALL pay_interest('std');
SELECT id, balance FROM acct WHERE id <= 6 ORDER BY id;
BEGIN;
CALL reset_tally();
SELECT sum(n) FROM tally;
ROLLBACK;
SELECT sum(n) FROM tally;
CALL reset_tally();
SELECT sum(n), (SELECT count(*) FROM ledger WHERE note = 'reset') FROM tally;
DO $$ BEGIN INSERT INTO tally VALUES (7, 70); UPDATE acct SET owner = 'do ' || owner WHERE id = 8; END $$;
SELECT * FROM tally WHERE k = 7;
SELECT owner FROM acct WHERE id = 8;
-- error
DO $$ BEGIN DELETE FROM tally WHERE k = 7; RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001'; END $$;
SELECT * FROM tally WHERE k = 7;
DO $$ DECLARE n int; BEGIN SELECT count(*) INTO n FROM acct; IF n > 0 THEN DELETE FROM tally WHERE k = 7; END IF; END $$;
SELECT count(*) FROM tally;

-- the other coordinator sees what the first committed, and runs the same code
\connect 2
SELECT total_balance();
SELECT sum(balance) FROM acct;
SELECT * FROM richest(2);
SELECT transfer(10, 11, 5);
BEGIN;
SELECT open_acct(400, 'c2');
SELECT try_open(400);
SELECT count(*) FROM acct WHERE id = 400;
ROLLBACK;
BEGIN;
SELECT open_acct(401, 'c2');
COMMIT;
\connect 1
SELECT id, owner, balance FROM acct WHERE id IN (10, 11, 400, 401) ORDER BY id;
SELECT acct, delta FROM ledger WHERE acct IN (10, 11) ORDER BY acct;
SELECT * FROM tally ORDER BY k;
SELECT ledger_sum(10), ledger_sum(11);

-- a function's INSERT that leaves its serial / identity BY DEFAULT column to the sequence:
-- the value comes from the cluster's sequence (it was refused, 0A000); currval follows it
CREATE TABLE fr_doc (id bigserial PRIMARY KEY, tenant int NOT NULL, title text);
CREATE TABLE fr_tag (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, doc_id bigint, tag text);
CREATE FUNCTION fr_new_doc(t int, ti text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE new_id bigint; BEGIN INSERT INTO fr_doc (tenant, title) VALUES (t, ti) RETURNING id INTO new_id; INSERT INTO fr_tag (doc_id, tag) VALUES (new_id, 'new'), (new_id, lower(ti)); RETURN new_id; END $$;
SELECT fr_new_doc(1, 'First');
SELECT fr_new_doc(2, 'Second'), 'x';
SELECT currval('fr_doc_id_seq');
INSERT INTO fr_doc (tenant, title) VALUES (3, 'direct') RETURNING id;
BEGIN;
SELECT fr_new_doc(4, 'Rolled');
ROLLBACK;
SELECT fr_new_doc(5, 'Fifth');
SELECT id, tenant, title FROM fr_doc ORDER BY id;
SELECT doc_id, tag FROM fr_tag ORDER BY id;
DO $$ BEGIN INSERT INTO fr_doc (tenant, title) VALUES (6, 'from do'); END $$;
SELECT id, title FROM fr_doc WHERE tenant = 6;
SELECT x.n > 0 FROM (SELECT fr_new_doc(7, 'Sub') AS n) x;
SELECT count(*) FROM fr_doc WHERE tenant = 7;
