/*
SQL as application developers write it, h-probe18: comments, odd names, constructors,
functions, temp tables.
- A comment between two rows of a multi-row INSERT ... VALUES (a block comment after
  `(2, 'b')` before `, (3, 'c')`, or a `--` line after a row): the scanner's comment was a token, so the row splitter took
  `)` followed by a comment for the end of the list and sent the rest (`, (3, 'c')`) with
  every node's rows: 23514 on a hash table, the row stored once per node on a round-robin
  one. The scanner's tokens now leave comments out (`sql.parse.tokens`).
- A `--` comment after the last item of a VALUES row: the item was stripped of its newline
  and the comment swallowed the `)` it was joined to (42601).
- A statement ending in a `--` comment (`UPDATE t SET id = 10 WHERE id = 1 -- move it`, the
  `;` and blanks stripped): text gridpg appended (the row move's RETURNING) was part of the
  comment (42601); such a statement now keeps a line break after its comment.
- `SET TRANSACTION` with a comment between its two words was not seen as one: the
  isolation level it set did not survive `ROLLBACK AND CHAIN`.
- `INSERT INTO t DEFAULT\n VALUES RETURNING id` (two blanks, a line break or a comment
  between the words) and `UPDATE t AS d` with a comment holding the word "set" before its SET (the word in a
  comment): the statement was cut at the text's last "default values" / first "set"
  (42601); now at the scanner's tokens.
- Django's sequence reset written with a block comment between `setval` and `(` or with `setval` and its
  parenthesis on two lines: not served by the GTM (the text test looked for `val(`), the
  datanode's own copy of the sequence was set and the next id repeated an old one.
- A trigger function whose body follows `AS` after a comment (`AS -- audit` then the
  dollar-quoted body): TG_TABLE_NAME was not rewritten for the datanodes and read the
  shard's name; `timestamptz -- c` then `'now'`, and `INSERT ... SELECT now() -- c` then
  `FROM`: the pinned instant's rewrite put text after a `--` comment (42601).
- `WITH s AS (...) -- note` then `MERGE INTO t USING (SELECT * FROM s) o ...`: the query
  finding the node of the source's rows put its SELECT after the comment (42601).
*/
CREATE TABLE p18_acc (id int PRIMARY KEY, owner text, balance numeric DEFAULT 0) DISTRIBUTE BY HASH (id);
INSERT INTO p18_acc (id, owner) VALUES (1, 'ann'), (2, 'bob') /* more below */
, (3, 'cy'), (4, 'di') -- and one more
, (5, 'ed');
INSERT INTO p18_acc (id, owner, balance) VALUES (6, 'flo', 10 -- ten
), (7, 'gus' -- no balance
, 20), (8, 'hal', 30) RETURNING id, balance;
INSERT INTO p18_acc VALUES (9, 'ida' /* it's ida; */, 1), (10, 'jo', 2 /* two */) /* rows; end */ RETURNING *;
SELECT id, owner, balance FROM p18_acc ORDER BY id;
CREATE TABLE p18_rr (k int, v text) DISTRIBUTE BY ROUNDROBIN;
INSERT INTO p18_rr VALUES (1, 'a'), (2, 'b') /* c */, (3, 'c'), (4, 'd');
SELECT k, v FROM p18_rr ORDER BY k;
SELECT count(*) FROM p18_rr;
INSERT INTO p18_acc -- every item commented
VALUES ( -- first row
11 -- id
, 'kim' -- owner
, 5 -- balance
) -- end of row
, (12, 'lu', 6) -- last row
RETURNING id -- the key
, owner;
SELECT count(*), sum(balance) FROM p18_acc;
UPDATE p18_acc SET id = 110 WHERE id = 10 -- move it to another key
;
SELECT id, owner FROM p18_acc WHERE id IN (10, 110) ORDER BY id;
UPDATE p18_acc SET id = 111 WHERE id = 110 RETURNING id, owner -- move again
;
UPDATE p18_acc AS a SET id = a.id + 1000 FROM (VALUES (111)) x(i) WHERE a.id = x.i -- with a FROM
;
SELECT id, owner FROM p18_acc WHERE id > 100 ORDER BY id;
DELETE FROM p18_acc WHERE id = 1111 RETURNING owner -- gone
;
BEGIN;
SET /* level */ TRANSACTION ISOLATION LEVEL REPEATABLE READ;
ROLLBACK AND CHAIN;
SHOW transaction_isolation;
COMMIT;
BEGIN;
SET -- level
TRANSACTION ISOLATION LEVEL SERIALIZABLE;
COMMIT AND CHAIN;
SHOW transaction_isolation;
COMMIT;
CREATE TABLE p18_dv (id serial PRIMARY KEY, at text DEFAULT 'x');
INSERT INTO p18_dv DEFAULT  VALUES RETURNING id;
INSERT INTO p18_dv DEFAULT
VALUES RETURNING id, at;
INSERT INTO p18_dv DEFAULT VALUES /* not default values here */ RETURNING id;
INSERT INTO p18_dv DEFAULT VALUES RETURNING id AS "default values";
UPDATE p18_dv AS d /* reset the key */ SET id = d.id + 100 WHERE d.id = 1 RETURNING id;
SELECT id, at FROM p18_dv ORDER BY id;
CREATE TABLE p18_seq (id serial PRIMARY KEY, c text) DISTRIBUTE BY REPLICATION;
INSERT INTO p18_seq (id, c) VALUES (1, 'a'), (7, 'b');
SELECT setval /* reset */ (pg_get_serial_sequence('p18_seq', 'id'), coalesce(max(id), 1), max(id) IS NOT null) FROM p18_seq;
INSERT INTO p18_seq (c) VALUES ('c') RETURNING id;
DELETE FROM p18_seq WHERE id = 8;
SELECT setval
  (pg_get_serial_sequence('p18_seq', 'id'), coalesce(max(id), 1) -- the largest
  , max(id) IS NOT null) FROM p18_seq;
INSERT INTO p18_seq (c) VALUES ('d') RETURNING id;
CREATE TABLE p18_notes (id int PRIMARY KEY, note text) DISTRIBUTE BY HASH (id);
CREATE FUNCTION p18_stamp() RETURNS trigger LANGUAGE plpgsql AS -- the body
$$ BEGIN NEW.note := NEW.note || ' by ' || TG_TABLE_NAME; RETURN NEW; END $$;
CREATE TRIGGER p18_notes_stamp BEFORE INSERT ON p18_notes FOR EACH ROW EXECUTE FUNCTION p18_stamp();
INSERT INTO p18_notes VALUES (1, 'one'), (2, 'two'), (3, 'three');
SELECT id, note FROM p18_notes ORDER BY id;
CREATE TABLE p18_ts (id int PRIMARY KEY, created timestamptz, made timestamptz DEFAULT now()) DISTRIBUTE BY HASH (id);
BEGIN;
INSERT INTO p18_ts (id, created) VALUES (1, timestamptz -- typed
'now');
INSERT INTO p18_ts (id, created) SELECT g, now() -- stamp
FROM generate_series(2, 9) g;
INSERT INTO p18_ts (id) SELECT 10 -- last
;
SELECT count(*), count(DISTINCT made), count(DISTINCT created), bool_and(made = now()) FROM p18_ts;
COMMIT;
CREATE TABLE p18_m (k int PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
INSERT INTO p18_m SELECT g, 'v' || g FROM generate_series(1, 10) g;
WITH s AS (SELECT 4 AS a, 'd' AS b) -- the source rows
MERGE INTO p18_m USING (SELECT * FROM s) o ON p18_m.k = o.a
WHEN MATCHED THEN UPDATE SET v = o.b WHEN NOT MATCHED THEN INSERT VALUES (o.a, o.b);
WITH s AS (SELECT * FROM (VALUES (201, 'a'), (5, 'e')) v(a, b)) -- several nodes
MERGE INTO p18_m USING (SELECT * FROM s) o -- joined on the key
ON p18_m.k = o.a
WHEN MATCHED THEN UPDATE SET v = o.b WHEN NOT MATCHED THEN INSERT VALUES (o.a, o.b);
SELECT k, v FROM p18_m ORDER BY k;
