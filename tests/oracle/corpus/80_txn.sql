/*
Explicit transactions, each followed by SELECTs that check what survived.
Exercises: the coordinator's transaction state machine and 2PC: BEGIN/COMMIT/ROLLBACK of
writes spread over several datanodes (and all replicas of a REPLICATION table), reading
one's own writes inside a transaction (routed reads, multi-node reads, joins, aggregates
that go through redistribution or the coordinator), SAVEPOINT / ROLLBACK TO SAVEPOINT /
RELEASE SAVEPOINT on every involved node, errors aborting the transaction (25P02 until
ROLLBACK), COMMIT of an aborted transaction acting as ROLLBACK, transaction-scoped SET
LOCAL, sequences not rolled back, TRUNCATE and DDL rolled back, isolation levels.
*/

CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE ledger (entry int NOT NULL, acct_id int NOT NULL, delta numeric(12,2)) DISTRIBUTE BY HASH (acct_id);
CREATE TABLE tags_ref (tag text PRIMARY KEY, weight int) DISTRIBUTE BY REPLICATION;
CREATE TABLE tseq (id serial, grp int NOT NULL) DISTRIBUTE BY HASH (grp);
INSERT INTO acct VALUES (1, 'ann', 100), (2, 'bob', 200), (3, 'cid', 300), (4, 'dee', 400), (5, 'eve', 500), (6, 'fay', 600), (7, 'gus', 700), (8, 'hal', 800);
INSERT INTO tags_ref VALUES ('red', 1), ('green', 2);
SELECT * FROM acct ORDER BY id;

-- commit of a multi-node transaction
BEGIN;
UPDATE acct SET balance = balance - 50 WHERE id = 1;
UPDATE acct SET balance = balance + 50 WHERE id = 2;
INSERT INTO ledger VALUES (1, 1, -50), (2, 2, 50);
SELECT * FROM acct WHERE id IN (1, 2) ORDER BY id;
SELECT sum(balance) FROM acct;
SELECT a.owner, l.delta FROM acct a JOIN ledger l ON l.acct_id = a.id;
COMMIT;
SELECT * FROM acct ORDER BY id;
SELECT * FROM ledger ORDER BY entry;

-- rollback
BEGIN;
UPDATE acct SET balance = 0;
INSERT INTO acct VALUES (9, 'ivy', 900);
DELETE FROM ledger;
SELECT count(*), sum(balance) FROM acct;
SELECT count(*) FROM ledger;
ROLLBACK;
SELECT * FROM acct ORDER BY id;
SELECT * FROM ledger ORDER BY entry;

-- START TRANSACTION / END / ABORT spellings
START TRANSACTION;
UPDATE acct SET owner = upper(owner) WHERE id = 3;
END;
SELECT * FROM acct WHERE id = 3;
BEGIN WORK;
UPDATE acct SET owner = 'nobody' WHERE id = 4;
ABORT;
SELECT * FROM acct WHERE id = 4;
BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT sum(balance) FROM acct;
UPDATE acct SET balance = balance + 1 WHERE id = 5;
SELECT balance FROM acct WHERE id = 5;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT balance FROM acct WHERE id = 5;
COMMIT;
BEGIN READ ONLY;
SELECT owner FROM acct WHERE id = 6;
-- error
UPDATE acct SET balance = 0 WHERE id = 6;
ROLLBACK;
SELECT * FROM acct ORDER BY id;

-- savepoints
BEGIN;
INSERT INTO ledger VALUES (10, 3, 1);
SAVEPOINT s1;
INSERT INTO ledger VALUES (11, 4, 2);
UPDATE acct SET balance = balance * 2 WHERE id IN (3, 4);
SELECT * FROM acct WHERE id IN (3, 4) ORDER BY id;
ROLLBACK TO SAVEPOINT s1;
SELECT * FROM acct WHERE id IN (3, 4) ORDER BY id;
SELECT * FROM ledger ORDER BY entry;
INSERT INTO ledger VALUES (12, 5, 3);
SAVEPOINT s2;
INSERT INTO ledger VALUES (13, 6, 4);
RELEASE SAVEPOINT s2;
SAVEPOINT s3;
DELETE FROM ledger WHERE entry = 1;
SAVEPOINT s4;
DELETE FROM ledger WHERE entry = 2;
ROLLBACK TO s3;
SELECT * FROM ledger ORDER BY entry;
COMMIT;
SELECT * FROM ledger ORDER BY entry;
SELECT * FROM acct ORDER BY id;

-- nested savepoints with the same name, rollback to the inner one
BEGIN;
SAVEPOINT a;
UPDATE acct SET balance = balance + 1000 WHERE id = 7;
SAVEPOINT a;
UPDATE acct SET balance = balance + 1000 WHERE id = 8;
ROLLBACK TO SAVEPOINT a;
SELECT id, balance FROM acct WHERE id IN (7, 8) ORDER BY id;
RELEASE SAVEPOINT a;
ROLLBACK TO SAVEPOINT a;
SELECT id, balance FROM acct WHERE id IN (7, 8) ORDER BY id;
COMMIT;
SELECT * FROM acct ORDER BY id;

-- errors inside a transaction
BEGIN;
UPDATE acct SET balance = balance + 5 WHERE id = 1;
-- error
INSERT INTO acct VALUES (2, 'dup', 0);
-- error
SELECT * FROM acct;
-- error
UPDATE acct SET balance = 0 WHERE id = 3;
ROLLBACK;
SELECT * FROM acct ORDER BY id;
BEGIN;
UPDATE acct SET balance = balance + 5 WHERE id = 1;
-- error
SELECT 1 / 0;
COMMIT;
SELECT * FROM acct ORDER BY id;

-- savepoint recovers from an error
BEGIN;
UPDATE acct SET balance = balance + 7 WHERE id = 2;
SAVEPOINT before_err;
UPDATE acct SET balance = balance + 7 WHERE id = 3;
-- error
INSERT INTO acct VALUES (4, 'dup', 0);
-- error
SELECT count(*) FROM acct;
ROLLBACK TO SAVEPOINT before_err;
SELECT id, balance FROM acct ORDER BY id;
INSERT INTO acct VALUES (10, 'jon', 10);
COMMIT;
SELECT * FROM acct ORDER BY id;

-- error on one node of a multi-node statement
BEGIN;
UPDATE acct SET balance = balance + 1 WHERE id < 5;
SAVEPOINT s;
-- error
UPDATE acct SET balance = balance / (id - 6);
ROLLBACK TO s;
UPDATE acct SET balance = balance + 1 WHERE id >= 5;
COMMIT;
SELECT * FROM acct ORDER BY id;

-- reference tables inside transactions
BEGIN;
INSERT INTO tags_ref VALUES ('blue', 3);
UPDATE tags_ref SET weight = weight * 10;
SELECT * FROM tags_ref ORDER BY tag;
SAVEPOINT r;
DELETE FROM tags_ref WHERE tag = 'red';
ROLLBACK TO r;
COMMIT;
SELECT * FROM tags_ref ORDER BY tag;
BEGIN;
DELETE FROM tags_ref;
ROLLBACK;
SELECT * FROM tags_ref ORDER BY tag;
SELECT a.id, t.tag FROM acct a JOIN tags_ref t ON t.weight = a.id * 10 ORDER BY a.id, t.tag;

-- reading own writes through joins, aggregates and redistribution
BEGIN;
INSERT INTO ledger SELECT 100 + id, id, balance / 100 FROM acct;
UPDATE acct SET balance = balance - l.delta FROM ledger l WHERE l.acct_id = acct.id AND l.entry > 100;
SELECT a.id, a.balance, sum(l.delta) FROM acct a JOIN ledger l ON l.acct_id = a.id GROUP BY a.id, a.balance;
SELECT count(*) FROM ledger l JOIN acct a ON a.owner = 'ann' AND l.entry = a.id + 100;
SELECT owner, (SELECT count(*) FROM ledger l WHERE l.acct_id = a.id) FROM acct a;
ROLLBACK;
SELECT count(*) FROM ledger;
SELECT * FROM acct ORDER BY id;

-- sequences are not rolled back
BEGIN;
INSERT INTO tseq (grp) VALUES (1), (2), (3);
ROLLBACK;
INSERT INTO tseq (grp) VALUES (4) RETURNING id, grp;
SELECT * FROM tseq;

-- TRUNCATE and DDL in transactions
BEGIN;
TRUNCATE ledger;
SELECT count(*) FROM ledger;
ROLLBACK;
SELECT count(*) FROM ledger;
BEGIN;
CREATE TABLE tmp_tx (a int, b text) DISTRIBUTE BY HASH (a);
INSERT INTO tmp_tx VALUES (1, 'x'), (2, 'y');
SELECT * FROM tmp_tx;
ROLLBACK;
-- error
SELECT * FROM tmp_tx;
BEGIN;
CREATE TABLE tmp_tx2 (a int, b text) DISTRIBUTE BY HASH (a);
INSERT INTO tmp_tx2 VALUES (1, 'x'), (2, 'y'), (3, 'z');
COMMIT;
SELECT * FROM tmp_tx2;
BEGIN;
ALTER TABLE acct ADD COLUMN note text DEFAULT 'n';
UPDATE acct SET note = owner || '!' WHERE id = 1;
SELECT id, note FROM acct ORDER BY id;
ROLLBACK;
SELECT * FROM acct ORDER BY id;

-- SET LOCAL is transaction-scoped
BEGIN;
SET LOCAL TimeZone TO 'Asia/Tokyo';
SELECT timestamptz '2024-01-01 00:00:00+00' AS t;
SELECT id, '2024-01-01 00:00:00+00'::timestamptz + (id || ' hours')::interval FROM acct WHERE id < 3;
COMMIT;
SELECT timestamptz '2024-01-01 00:00:00+00' AS t;
SELECT id, '2024-01-01 00:00:00+00'::timestamptz + (id || ' hours')::interval FROM acct WHERE id < 3;

-- transaction control misuse
-- error
RELEASE SAVEPOINT nope;
-- error
ROLLBACK TO SAVEPOINT nope;
BEGIN;
-- error
ROLLBACK TO SAVEPOINT nope;
ROLLBACK;
COMMIT;
ROLLBACK;
SELECT count(*) FROM acct;

-- many statements in one transaction over all tables
BEGIN;
UPDATE users SET age = age + 1 WHERE id % 10 = 1;
DELETE FROM orders WHERE user_id % 10 = 2;
INSERT INTO logs (log_id, user_id, level, msg) VALUES (5001, 1, 'info', 'txn'), (5002, 2, 'info', 'txn');
UPDATE inventory SET stock = coalesce(stock, 0) + 1 WHERE warehouse = 'w1';
UPDATE cities SET pop = pop + 1 WHERE coastal;
SELECT count(*), sum(age) FROM users;
SELECT count(*) FROM orders;
SELECT count(*) FROM logs WHERE msg = 'txn';
SELECT sum(stock) FROM inventory;
SELECT sum(pop) FROM cities;
ROLLBACK;
SELECT count(*), sum(age) FROM users;
SELECT count(*) FROM orders;
SELECT count(*) FROM logs;
SELECT sum(stock) FROM inventory;
SELECT sum(pop) FROM cities;
BEGIN;
UPDATE users SET age = age + 1 WHERE id % 10 = 1;
DELETE FROM orders WHERE user_id % 10 = 2;
UPDATE cities SET pop = pop + 1 WHERE coastal;
COMMIT;
SELECT count(*), sum(age) FROM users;
SELECT count(*) FROM orders;
SELECT city, pop FROM cities ORDER BY city;

-- AND CHAIN outside a transaction block is an error (25P01), as in PostgreSQL 12+
-- error
COMMIT AND CHAIN;
-- error
ROLLBACK AND CHAIN;
BEGIN;
UPDATE users SET age = age WHERE id = 1;
COMMIT AND CHAIN;
SELECT count(*) FROM users;
ROLLBACK;
-- a malformed snapshot identifier is refused as PostgreSQL does (22023)
BEGIN ISOLATION LEVEL REPEATABLE READ;
-- error
SET TRANSACTION SNAPSHOT 'bad';
ROLLBACK;

-- read-only transactions (what drivers send for a read-only transaction): plans that keep
-- rows in catalog temp tables run there too
BEGIN READ ONLY;
SELECT count(*), sum(age) FROM users;
SELECT city, count(*) FROM users GROUP BY city ORDER BY city NULLS FIRST;
SELECT u.city, count(o.order_id) FROM users u JOIN orders o ON o.status = u.city GROUP BY u.city ORDER BY 1;
-- error
UPDATE users SET age = 1;
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT status, count(*), avg(amount) FROM orders GROUP BY status ORDER BY status;
COMMIT;
SET default_transaction_read_only = on;
SELECT count(DISTINCT city) FROM users;
-- error
CREATE TABLE ro_nope (a int);
RESET default_transaction_read_only;
BEGIN;
SET TRANSACTION READ ONLY;
SELECT max(amount) FROM orders;
SHOW transaction_read_only;
COMMIT;
-- AND CHAIN keeps the transaction's isolation level (BEGIN's or SET TRANSACTION's)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM users;
COMMIT AND CHAIN;
SHOW transaction_isolation;
SELECT count(*) FROM users;
COMMIT;
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
ROLLBACK AND CHAIN;
SHOW transaction_isolation;
COMMIT;

-- a view created inside the transaction reads the distributed table, not the catalog's empty copy
BEGIN;
CREATE VIEW tx_new_view AS SELECT id, age FROM users WHERE age > 30;
SELECT count(*) FROM tx_new_view;
CREATE VIEW tx_new_view2 AS SELECT v.id FROM tx_new_view v JOIN orders o ON o.user_id = v.id;
SELECT count(*), count(DISTINCT id) FROM tx_new_view2;
SHOW search_path;
ROLLBACK;
-- error
SELECT count(*) FROM tx_new_view;

-- Row locks over several nodes: a job queue's statements (ORDER BY ... LIMIT with SKIP
-- LOCKED or NOWAIT), and FOR UPDATE/SHARE without a LIMIT.
BEGIN;
SELECT id, owner FROM acct WHERE balance >= 0 ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED;
UPDATE acct SET balance = balance + 1 WHERE id IN (SELECT id FROM acct ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED) RETURNING id, balance;
SELECT id, balance FROM acct ORDER BY balance DESC, id LIMIT 1 FOR NO KEY UPDATE NOWAIT;
SELECT id FROM acct WHERE id < 6 ORDER BY id FOR SHARE;
SELECT a.id, l.entry, l.delta FROM acct a JOIN ledger l ON l.acct_id = a.id ORDER BY l.entry LIMIT 2 FOR UPDATE OF a SKIP LOCKED;
ROLLBACK;
SELECT id, balance FROM acct ORDER BY id LIMIT 3;
