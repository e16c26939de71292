/*
Differences the twelfth replay of Citus's regression files (h-citus12, 2026-12-05)
showed, each reduced to its smallest form.
*/

-- multi_shard_update_delete.sql:577 (Citus): an UPDATE/DELETE whose WHERE pins its target
-- to one node by the distribution column, with a sub-select calling a volatile function
-- (random()): 0A000 "each datanode would draw its own value", although only that node
-- holds rows to write. `value_2 < random() + 5` is true for every row here, so the
-- answers do not depend on the draws.
CREATE TABLE r12_users (user_id int, value_1 int, value_2 int);
INSERT INTO r12_users SELECT g % 5, g, g % 3 FROM generate_series(1, 50) g;
UPDATE r12_users SET value_2 = 9 WHERE user_id = 1 AND value_1 IN (SELECT value_1 FROM r12_users WHERE user_id = 1 AND value_2 < random() + 5);
SELECT user_id, count(*) FROM r12_users WHERE value_2 = 9 GROUP BY user_id ORDER BY user_id;
DELETE FROM r12_users WHERE user_id = 2 AND value_1 IN (SELECT value_1 FROM r12_users WHERE user_id = 2 AND value_2 < random() + 5) RETURNING user_id, value_1;
SELECT user_id, count(*) FROM r12_users GROUP BY user_id ORDER BY user_id;
-- the sub-select reads every node's rows: still answered as one draw per row
UPDATE r12_users SET value_2 = 8 WHERE user_id = 3 AND value_1 - 1 IN (SELECT value_1 FROM r12_users WHERE value_2 < random() + 5);
SELECT value_1, value_2 FROM r12_users WHERE user_id = 3 ORDER BY value_1;
-- pinned through a correlated sub-select and through IN over two values
UPDATE r12_users u SET value_2 = 7 WHERE user_id IN (3, 4) AND value_1 IN (SELECT value_1 FROM r12_users v WHERE v.user_id = u.user_id AND v.value_2 < random() + 5);
SELECT user_id, value_2, count(*) FROM r12_users GROUP BY user_id, value_2 ORDER BY user_id, value_2;
-- a prepared statement pins another node on each execution (one cached plan per node set)
PREPARE r12_pinned(int) AS UPDATE r12_users SET value_2 = value_2 + 100 WHERE user_id = $1 AND value_1 IN (SELECT value_1 FROM r12_users WHERE user_id = $1 AND value_2 < random() + 500);
EXECUTE r12_pinned(0);
EXECUTE r12_pinned(1);
EXECUTE r12_pinned(3);
EXECUTE r12_pinned(0);
SELECT user_id, value_2, count(*) FROM r12_users GROUP BY user_id, value_2 ORDER BY user_id, value_2;
DEALLOCATE r12_pinned;
-- without a pin on the target, a volatile sub-select stays refused (0A000 on gridpg only,
-- so not compared here)

-- merge.sql:75 (Citus, and its follow-ons to merge.sql:200): a MERGE whose WHEN NOT
-- MATCHED INSERT names the source's distribution column without the source's alias
-- (`VALUES (customer_id, ...)`, the only customer_id such an action can see): 0A000
-- "INSERT of a distribution column value other than the one in the ON condition"
CREATE TABLE r12_target (customer_id int, last_order_id int, order_center text, order_count int);
CREATE TABLE r12_source (customer_id int, order_id int, order_center text);
INSERT INTO r12_target VALUES (1, 10, 'a', 1), (2, 20, 'XX', 1), (3, 30, 'c', 1);
INSERT INTO r12_source VALUES (1, 11, 'a'), (2, 21, 'b'), (4, 41, 'd'), (5, 51, 'e');
MERGE INTO r12_target t USING r12_source s ON (t.customer_id = s.customer_id)
  WHEN MATCHED AND t.order_center = 'XX' THEN DELETE
  WHEN MATCHED THEN UPDATE SET order_count = t.order_count + 1, last_order_id = s.order_id
  WHEN NOT MATCHED THEN INSERT (customer_id, last_order_id, order_center, order_count)
    VALUES (customer_id, s.order_id, order_center, 123);
SELECT * FROM r12_target ORDER BY customer_id;
UPDATE r12_source SET customer_id = customer_id + 10;
MERGE INTO r12_target USING r12_source ON r12_target.customer_id = r12_source.customer_id
  WHEN NOT MATCHED THEN INSERT (order_count, customer_id, order_center) VALUES (0, customer_id, order_center);
SELECT * FROM r12_target ORDER BY customer_id;
-- a bare name that is not the key's column stays refused (0A000 on gridpg only, so not
-- compared here): `VALUES (order_id, ...)` with ON t.customer_id = s.customer_id

-- cte_inline.sql:48, with_basics.sql:199 (Citus): a SELECT without a locking clause of its
-- own whose sub-selects lock rows (an IN sub-select, a FROM sub-select over a WITH entry,
-- where PostgreSQL locks nothing): 0A000 "SELECT ... FOR UPDATE/SHARE over several nodes"
CREATE TABLE r12_keys (key int, value text);
INSERT INTO r12_keys SELECT g, 'v' || g FROM generate_series(1, 101) g;
WITH cte_1 AS (SELECT * FROM r12_keys) SELECT count(*) FROM cte_1 WHERE key IN (SELECT key FROM r12_keys FOR UPDATE);
SELECT count(*) FROM r12_keys WHERE key IN (SELECT user_id FROM r12_users WHERE value_2 > 100 FOR SHARE);
SELECT count(*) FROM r12_keys WHERE key = ANY (SELECT value_1 FROM r12_users WHERE user_id = 0 FOR UPDATE) AND key < 30;
SELECT (SELECT value_1 FROM r12_users WHERE user_id = 0 ORDER BY value_1 LIMIT 1 FOR UPDATE) AS m;
WITH top_users AS (SELECT user_id, value_1 FROM r12_users ORDER BY user_id DESC, value_1 LIMIT 10)
SELECT user_id FROM (SELECT user_id FROM top_users FOR UPDATE) top_users JOIN r12_users USING (user_id)
ORDER BY user_id LIMIT 5;

-- with_modifying.sql:499, 553 and multi_insert_select.sql:1901 (Citus): a data-modifying
-- WITH whose SELECT entry reads a table another part writes: 0A000 "entry ... reads ...,
-- which entry ... writes"; PostgreSQL's one snapshot shows that entry the rows from
-- before every write
CREATE TABLE r12_anchor (id int);
INSERT INTO r12_anchor VALUES (1), (2), (1998);
WITH select_cte AS (SELECT * FROM r12_anchor),
  modifying_cte AS (INSERT INTO r12_anchor SELECT * FROM select_cte)
INSERT INTO r12_anchor VALUES (1995);
SELECT * FROM r12_anchor ORDER BY 1;
CREATE TABLE r12_modify (id int, val int);
WITH first_query AS (INSERT INTO r12_modify (id) VALUES (10001)),
  second_query AS (SELECT * FROM r12_modify)
SELECT count(*) FROM second_query;
SELECT * FROM r12_modify;
CREATE TABLE r12_raw_local (u int, v int);
CREATE TABLE r12_raw_first (user_id int, value_1 int);
INSERT INTO r12_raw_local SELECT g, g * 2 FROM generate_series(1, 10) g;
WITH rows_to_remove AS (SELECT u FROM r12_raw_local WHERE u > 0),
  removed_rows AS (DELETE FROM r12_raw_local WHERE u IN (SELECT * FROM rows_to_remove) RETURNING u, v)
INSERT INTO r12_raw_first (user_id, value_1)
WITH ultra_rows AS (
  WITH numbers AS (SELECT s FROM generate_series(1, 10) s),
    super_rows AS (SELECT u, v FROM removed_rows JOIN numbers ON (u = s))
  SELECT * FROM super_rows ORDER BY u LIMIT 5
)
SELECT u, v FROM ultra_rows;
SELECT * FROM r12_raw_first ORDER BY 1;
SELECT count(*) FROM r12_raw_local;
-- a column list, a frozen entry read by another SELECT entry and by the main statement
WITH a(x) AS (SELECT id FROM r12_anchor WHERE id < 3), b AS (SELECT x + 100 AS y FROM a),
  d AS (DELETE FROM r12_anchor WHERE id IN (SELECT x FROM a) RETURNING id)
SELECT (SELECT count(*) FROM d) AS deleted, (SELECT sum(y) FROM b) AS s, (SELECT count(*) FROM a) AS n;
SELECT * FROM r12_anchor ORDER BY 1;
-- an entry that reads a data-modifying entry's rows and the written table stays refused
-- (0A000 on gridpg only, so not compared here), as does a main statement that reads it

-- merge.sql:189, 195 (Citus): a MERGE whose WHEN MATCHED UPDATE sets the distribution column
-- to the value the row has (the constant ON pins it to, or the target's own column): 0A000
-- "the row would move to another node", though it stays where it is
CREATE TABLE r12_mt (customer_id int, order_count int);
CREATE TABLE r12_ms (customer_id int, n int);
INSERT INTO r12_mt VALUES (30000, 1), (30001, 1), (30002, 1);
INSERT INTO r12_ms VALUES (30000, 5), (30001, 6), (30003, 7);
MERGE INTO r12_mt t USING r12_ms s ON (t.customer_id = s.customer_id AND t.customer_id = 30000)
  WHEN MATCHED THEN UPDATE SET customer_id = 30000, order_count = s.n;
MERGE INTO r12_mt t USING r12_ms s ON (t.customer_id = s.customer_id)
  WHEN MATCHED THEN UPDATE SET customer_id = t.customer_id, order_count = t.order_count + 10;
SELECT * FROM r12_mt ORDER BY customer_id;
-- another value stays refused (0A000 on gridpg only, so not compared here)

-- cte_nested_modification.sql:15 and its 9 follow-ons (Citus): a data-modifying WITH entry
-- with a WITH of its own (0A000 "the WITH inside data-modifying entry"), whose inner
-- entry reads the table the main UPDATE writes (the entry runs first, as on PostgreSQL's
-- one snapshot it sees the rows from before that write)
CREATE TABLE r12_tt1 (id int, value_1 int);
CREATE TABLE r12_tt2 (id int, value_1 int);
INSERT INTO r12_tt1 VALUES (1, 2), (2, 3), (3, 4);
INSERT INTO r12_tt2 VALUES (3, 3), (4, 4), (5, 5);
BEGIN;
WITH cte_1 AS (
  WITH cte_2 AS (SELECT id AS cte2_id FROM r12_tt1 WHERE value_1 >= 2)
  DELETE FROM r12_tt2 USING cte_2 WHERE r12_tt2.id = cte_2.cte2_id RETURNING cte2_id - 1 AS id
)
UPDATE r12_tt1 SET value_1 = abs(2 + 3.5) FROM cte_1 WHERE cte_1.id = r12_tt1.id;
SELECT * FROM r12_tt1 ORDER BY id;
SELECT * FROM r12_tt2 ORDER BY id;
ROLLBACK;
WITH d AS (DELETE FROM r12_tt2 WHERE id IN (SELECT id FROM r12_tt1 WHERE value_1 < 4) RETURNING id)
UPDATE r12_tt1 SET value_1 = value_1 + 100 WHERE id IN (SELECT id FROM d) RETURNING id, value_1;
WITH u AS (UPDATE r12_tt2 SET value_1 = value_1 + (SELECT count(*) FROM r12_tt1) RETURNING id),
  i AS (INSERT INTO r12_tt1 SELECT id, 0 FROM u RETURNING *)
SELECT count(*) FROM i;
SELECT * FROM r12_tt1 ORDER BY id, value_1;
SELECT * FROM r12_tt2 ORDER BY id;
-- a main statement reading what an entry writes stays refused (0A000 on gridpg only)
