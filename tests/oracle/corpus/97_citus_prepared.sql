/*
Prepared statements from Citus's with_prepare.sql and with_modifying.sql (HammerDB's
new-order and delivery transactions), reduced to our own tables: parameters of the
user's own types, and array parameters unnested inside a PREPAREd data-modifying WITH.
Each EXECUTE here failed before (42P18, 0A000 "input of anonymous composite types",
42725 "function unnest(unknown) is not unique").
*/

CREATE TYPE cp_pair AS (x int, y int);
CREATE TYPE cp_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE cp_items (id int PRIMARY KEY, pair cp_pair, mood cp_mood) DISTRIBUTE BY HASH (id);
INSERT INTO cp_items VALUES (1, '(3,4)', 'ok'), (2, '(5,6)', 'happy'), (3, '(3,4)', 'sad');

-- a parameter of a composite type the statement never uses (with_prepare.sql:237)
PREPARE cp_unused(cp_pair, cp_pair) AS WITH a AS (SELECT * FROM cp_items WHERE pair = $1 AND id = 1 OFFSET 0) SELECT id, pair::text, mood::text FROM a;
EXECUTE cp_unused('(3,4)', '(2,3)');
EXECUTE cp_unused('(3,4)', '(2,3)');
-- composite and enum parameters compared with columns, routed and not
PREPARE cp_pairs(cp_pair) AS SELECT id FROM cp_items WHERE pair = $1 ORDER BY id;
EXECUTE cp_pairs('(3,4)');
EXECUTE cp_pairs('(5,6)');
PREPARE cp_routed(cp_mood, int) AS SELECT id, (pair).y FROM cp_items WHERE mood = $1 AND id = $2;
EXECUTE cp_routed('happy', 2);
EXECUTE cp_routed('ok', 2);
-- a bare parameter as an output column keeps its name (user types' OIDs differ: the
-- output column is an int)
PREPARE cp_bare(cp_mood, int) AS SELECT $2, id FROM cp_items WHERE mood >= $1 ORDER BY id;
EXECUTE cp_bare('ok', 7);
PREPARE cp_insert(int, cp_pair, cp_mood) AS INSERT INTO cp_items VALUES ($1, $2, $3) RETURNING id, pair::text, mood::text;
EXECUTE cp_insert(4, '(7,8)', 'sad');
SELECT id, pair::text, mood::text FROM cp_items ORDER BY id;
-- error
EXECUTE cp_insert(5, '(7,8)', 'angry');

-- HammerDB's stock update: arrays unnested in a data-modifying WITH (with_modifying.sql:438)
CREATE TABLE cp_stock (s_i_id numeric(6,0) NOT NULL, s_w_id numeric(4,0) NOT NULL, s_quantity numeric(6,0), s_dist_01 character(24), PRIMARY KEY (s_i_id, s_w_id)) DISTRIBUTE BY HASH (s_w_id);
INSERT INTO cp_stock VALUES (64833, 10, 3, 'test1'), (64834, 10, 3, 'test2'), (63867, 10, 3, 'test3');
PREPARE cp_su(INT[], SMALLINT[], SMALLINT[], NUMERIC(5,2)[], NUMERIC, NUMERIC, NUMERIC) AS
WITH stock_update AS (
    UPDATE cp_stock
    SET s_quantity = (CASE WHEN s_quantity < (item_stock.quantity + 10) THEN s_quantity + 91 ELSE s_quantity END) - item_stock.quantity
    FROM UNNEST($1, $2, $3, $4) AS item_stock (item_id, supply_wid, quantity, price)
    WHERE cp_stock.s_i_id = item_stock.item_id AND cp_stock.s_w_id = item_stock.supply_wid AND cp_stock.s_w_id = ANY ($2)
    RETURNING cp_stock.s_dist_01 AS s_dist, cp_stock.s_quantity, (item_stock.quantity + item_stock.price * (1 + $5 + $6) * (1 - $7)) amount
)
SELECT array_agg(s_dist), array_agg(s_quantity), array_agg(amount) FROM stock_update;
EXECUTE cp_su('{64833,63857,13941}', '{10,10,10}', '{8,2,2}', '{26.04,4.79,67.84}', 0.1800, 0.1100, 0.5000);
EXECUTE cp_su('{64833,63857,13941}', '{10,10,10}', '{8,2,2}', '{26.04,4.79,67.84}', 0.1800, 0.1100, 0.5000);
SELECT * FROM cp_stock ORDER BY s_i_id;
