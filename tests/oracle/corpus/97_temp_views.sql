/*
Temporary views over distributed tables (executor/temp_views.py): CREATE TEMP VIEW is made
on the session's catalog connection; a statement reading one has it replaced by its
definition (view column names kept, nested temp views, joins with distributed and temp
tables, a MERGE source); writes through one fail on both sides.
*/

CREATE TABLE tv_items (id int PRIMARY KEY, grp int, price numeric) DISTRIBUTE BY HASH (id);
CREATE TABLE tv_groups (grp int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
INSERT INTO tv_items SELECT g, g % 5, g * 1.25 FROM generate_series(1, 60) g;
INSERT INTO tv_groups SELECT g, 'group ' || g FROM generate_series(0, 4) g;

CREATE TEMP VIEW cheap (item, grp, cost) AS SELECT id, grp, price FROM tv_items WHERE price < 40;
SELECT count(*), sum(cost) FROM cheap;
SELECT item, cost FROM cheap WHERE grp = 2 ORDER BY item;
SELECT g.label, count(*), sum(c.cost) FROM cheap c JOIN tv_groups g USING (grp) GROUP BY g.label ORDER BY g.label;

-- a temp view over a temp view, with an aggregate
CREATE TEMP VIEW cheap_by_grp AS SELECT grp, count(*) AS n, max(cost) AS top FROM cheap GROUP BY grp;
SELECT * FROM cheap_by_grp ORDER BY grp;

-- joined with a temp table and a distributed table
CREATE TEMP TABLE wanted (grp int);
INSERT INTO wanted VALUES (1), (3);
SELECT w.grp, v.n, (SELECT count(*) FROM tv_items i WHERE i.grp = w.grp) AS all_items FROM wanted w JOIN cheap_by_grp v ON v.grp = w.grp ORDER BY w.grp;

-- a source of MERGE
MERGE INTO tv_items t USING cheap c ON t.id = c.item WHEN MATCHED AND c.grp = 0 THEN UPDATE SET price = c.cost + 100;
SELECT count(*), sum(price) FROM tv_items;
SELECT count(*), sum(cost) FROM cheap;

-- a write through a view PostgreSQL cannot update: its error (gridpg refuses writes through the others)
-- error
DELETE FROM cheap_by_grp;
SELECT count(*) FROM tv_items;

-- user code that cannot read the session's temp views runs beside them (every call of
-- user code was refused while such a view existed): an immutable SQL function, one over
-- the distributed table itself, nested calls, a function over the view's rows in the query
CREATE FUNCTION tv_plus1(i numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT i + 1 $$;
CREATE FUNCTION tv_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tv_items $$;
CREATE FUNCTION tv_outer() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN tv_count() + 1; END $$;
SELECT tv_plus1(1), tv_count(), tv_outer();
SELECT tv_plus1(cost) FROM cheap ORDER BY 1 LIMIT 3;
SELECT upper('x'), tv_plus1(n) FROM cheap_by_grp ORDER BY grp LIMIT 1;

-- rangefuncs.sql: a temp view over a SQL function that reads a distributed table (the view
-- names no table): it was answered on the catalog server, whose copy is empty (0 rows)
CREATE FUNCTION tv_items_of(int) RETURNS SETOF tv_items LANGUAGE sql AS $$ SELECT * FROM tv_items WHERE grp = $1 ORDER BY id $$;
CREATE TEMP VIEW tv_first_of (n, id, grp, price, ord) AS SELECT * FROM (VALUES (1), (2)) v(n) JOIN tv_items_of(3) WITH ORDINALITY AS z(id, grp, price, ord) ON (n = ord);
SELECT * FROM tv_first_of ORDER BY n;
CREATE TEMP VIEW tv_costly_of AS SELECT id FROM tv_items_of(4) z WHERE price > 50;
SELECT * FROM tv_costly_of ORDER BY id;
SELECT count(*) FROM tv_costly_of, cheap WHERE cheap.item = tv_costly_of.id - 40;
-- a temp view over a function that reads temp tables only stays on the catalog server
-- (inlined, the definition PostgreSQL prints for ROWS FROM ... WITH ORDINALITY reads as an
-- ambiguous "ordinality": 42702)
CREATE TEMP TABLE tv_people (name text, n int);
INSERT INTO tv_people VALUES ('a', 1), ('b', 2);
CREATE FUNCTION tv_people_all() RETURNS SETOF tv_people LANGUAGE sql STABLE AS $$ SELECT * FROM tv_people ORDER BY name $$;
CREATE TEMP VIEW tv_people_view AS SELECT * FROM ROWS FROM (tv_people_all(), generate_series(10, 11)) WITH ORDINALITY;
SELECT * FROM tv_people_view ORDER BY ordinality;
