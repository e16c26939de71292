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
