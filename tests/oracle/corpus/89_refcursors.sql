/*
Functions returning refcursors over distributed tables (the JDBC / Npgsql "REF CURSOR"
pattern): the cursor is opened inside the function on the catalog server, over the
loopback's shadows, and fetched by the client afterwards. postgres_fdw declares its
remote cursor at the first fetch, so the client's FETCH runs as an armed call
(executor/run.py `_catalog`); it failed with 0A000 "the gridpg loopback's function call
has ended".
*/

CREATE TABLE rc_a (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE rc_b (id int PRIMARY KEY, a_id int, w int) DISTRIBUTE BY HASH (id);
INSERT INTO rc_a SELECT g, 'v' || g FROM generate_series(1, 10) g;
INSERT INTO rc_b SELECT g, g % 10 + 1, g FROM generate_series(1, 30) g;
CREATE FUNCTION rc_two(c1 refcursor, c2 refcursor) RETURNS SETOF refcursor LANGUAGE plpgsql AS $$ BEGIN OPEN c1 FOR SELECT * FROM rc_a WHERE id <= 3 ORDER BY id; RETURN NEXT c1; OPEN c2 FOR SELECT a.v, sum(b.w) FROM rc_a a JOIN rc_b b ON b.a_id = a.id GROUP BY a.v ORDER BY a.v; RETURN NEXT c2; END $$;
CREATE FUNCTION rc_page(cur refcursor) RETURNS refcursor LANGUAGE plpgsql AS $$ BEGIN OPEN cur FOR SELECT id, v FROM rc_a ORDER BY id; RETURN cur; END $$;

BEGIN;
SELECT * FROM rc_two('x', 'y');
FETCH ALL FROM y;
FETCH 2 FROM x;
MOVE 1 IN x;
FETCH ALL FROM x;
CLOSE x;
SELECT rc_page('pc');
FETCH 3 FROM pc;
FETCH NEXT FROM pc;
CLOSE pc;
COMMIT;

-- fetched, then written: the cursor's rows were read before the write
BEGIN;
SELECT rc_page('pd');
FETCH 1 FROM pd;
UPDATE rc_a SET v = 'changed' WHERE id = 2;
FETCH 2 FROM pd;
ROLLBACK;
-- error
FETCH 1 FROM pd;
SELECT * FROM rc_a ORDER BY id;
