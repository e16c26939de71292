/*
Differences the replay of PostgreSQL's own documentation examples found (issue 12,
bench/doc_corpus.py: the SQL of the manual's <programlisting> blocks and function
examples, replayed by bench/regress_replay.py), each reduced to a small form.
*/

-- func.sgml / ddl.sgml: inet_client_addr() and the like read the session's socket; the
-- datanode that ran them talks to the coordinator over a local socket and answered NULL
-- (the coordinator splices the client connection's values: sql/connection_values.py)
SELECT inet_client_addr(), inet_server_addr();
SELECT inet_client_addr() IS NOT NULL AS has_addr, host(inet_client_addr()) AS host,
       pg_catalog.inet_client_port() > 0 AS has_port, inet_server_port() > 1024 AS server_port;
CREATE TABLE pgd_visits (id int PRIMARY KEY, addr inet, note text);
INSERT INTO pgd_visits VALUES (1, inet_client_addr(), 'first'), (2, inet_server_addr(), 'second')
  RETURNING id, addr, inet_client_addr() = addr AS same;
INSERT INTO pgd_visits SELECT g, inet_client_addr(), 'g' || g FROM generate_series(3, 12) g;
SELECT count(*) FROM pgd_visits WHERE addr = inet_client_addr();
SELECT id, addr = inet_server_addr() AS server FROM pgd_visits WHERE id <= 3 ORDER BY id;
UPDATE pgd_visits SET note = host(inet_client_addr()) WHERE id = 2 RETURNING note;
SELECT note FROM pgd_visits WHERE id = 2;
BEGIN;
SELECT inet_client_addr() AS addr, inet_server_port() > 0 AS port;
SELECT count(*) FROM pgd_visits v WHERE v.addr = inet_client_addr() AND v.id > 5;
COMMIT;
PREPARE pgd_addr(int) AS SELECT id, addr = inet_client_addr() AS mine FROM pgd_visits WHERE id = $1;
EXECUTE pgd_addr(1);
EXECUTE pgd_addr(2);
DEALLOCATE pgd_addr;

-- gridpg's refusals (0A000) came before PostgreSQL's own analysis: where PostgreSQL has
-- an error for the statement, the client gets its SQLSTATE (executor/run.py:
-- ensure_postgres_accepts). ref/select.sgml: FOR UPDATE in a subquery, unknown column
CREATE TABLE pgd_mytable (id int, val text);
INSERT INTO pgd_mytable VALUES (1, 'a'), (5, 'b');
-- error
SELECT * FROM (SELECT * FROM pgd_mytable FOR UPDATE) ss WHERE col1 = 5;
-- error
SELECT * FROM (SELECT * FROM pgd_mytable FOR UPDATE) ss ORDER BY column1;
-- dml.sgml: MERGE whose source does not exist
CREATE TABLE pgd_products (product_no int, name text, price numeric);
-- error
MERGE INTO pgd_products p USING pgd_new_products n ON p.product_no = n.product_no
  WHEN NOT MATCHED THEN INSERT VALUES (n.product_no, n.name, n.price)
  WHEN MATCHED THEN UPDATE SET name = n.name, price = n.price
  RETURNING p.*;
-- rules.sgml: one table name twice in FROM, with an UPDATE of the distribution column
-- error
UPDATE pgd_mytable SET id = m.id + 1 FROM pgd_mytable m, pgd_products m WHERE m.id = pgd_mytable.id;
-- error
UPDATE pgd_mytable SET id = x.nope FROM pgd_mytable x WHERE x.id = pgd_mytable.id;
-- plpgsql.sgml: WHERE CURRENT OF with an unknown column
BEGIN;
DECLARE pgd_c CURSOR FOR SELECT * FROM pgd_mytable;
-- error
UPDATE pgd_mytable SET val = myval WHERE CURRENT OF pgd_c;
ROLLBACK;
-- inside a block that created the table (the check sees the block's own catalog)
BEGIN;
CREATE TABLE pgd_block (id int, v int);
-- error
UPDATE pgd_block SET id = x.zz FROM pgd_mytable x WHERE x.id = pgd_block.id;
ROLLBACK;
SELECT id, val FROM pgd_mytable ORDER BY id;

-- ref/set_transaction.sgml: SET TRANSACTION SNAPSHOT after the block's first query
-- (PostgreSQL: 25001, gridpg refused it as unsupported first); under READ COMMITTED
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM pgd_mytable;
-- error
SET TRANSACTION SNAPSHOT '00000003-0000001B-1';
ROLLBACK;
BEGIN;
-- error
SET TRANSACTION SNAPSHOT '00000003-0000001B-1';
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
-- error
SET TRANSACTION SNAPSHOT 'not-hex';
ROLLBACK;

-- ref/move.sgml (a statement without its semicolon, in a failed block): PostgreSQL
-- parses a statement before it refuses it in an aborted block, so a syntax error is
-- reported as such (42601), not as 25P02
BEGIN;
-- error
SELECT 1 / 0;
-- error
MOVE 5
FETCH 1 FROM pgd_cursor;
-- error
SELEC 1;
-- error
SELECT id FROM pgd_mytable WHERE id = 1 garbage;
-- error
SELECT id FROM pgd_mytable WHERE id = 1;
ROLLBACK;
SELECT count(*) FROM pgd_mytable;
