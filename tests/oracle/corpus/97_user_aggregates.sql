/*
User-defined aggregates over distributed tables (CREATE AGGREGATE with a transition
function, a final function, an initial condition, a combine function, ordered-set and
moving forms), grouped by the distribution key and by other columns, with DISTINCT,
FILTER and ORDER BY inside, HAVING over them, in joins, in a transaction that rolls back.
gridpg never splits them into partial and final steps: it runs them whole, where the
rows of a group are together (pushdown by the key) or after gathering them.
*/

CREATE TABLE agg_t (id int PRIMARY KEY, grp int NOT NULL, v int, label text) DISTRIBUTE BY HASH (id);
CREATE TABLE agg_ref (grp int PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION;
INSERT INTO agg_t SELECT g, g % 5, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 3 % 17 END, 'l' || (g % 4) FROM generate_series(1, 60) g;
INSERT INTO agg_ref SELECT g, 'group ' || g FROM generate_series(0, 4) g;

-- a sum from built-in parts
CREATE AGGREGATE my_sum(int) (SFUNC = int4pl, STYPE = int, INITCOND = '0');
-- SQL transition and final functions, strict transition (NULLs skipped)
CREATE FUNCTION dbl_step(state bigint, x int) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT state + x * 2 $$;
CREATE FUNCTION thirds(state bigint) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$ SELECT round(state / 3.0, 6) $$;
CREATE AGGREGATE dbl_third(int) (SFUNC = dbl_step, STYPE = bigint, FINALFUNC = thirds, INITCOND = '0');
-- with a combine function: PostgreSQL may run it in parallel, gridpg runs it whole
CREATE AGGREGATE dbl_third_c(int) (SFUNC = dbl_step, STYPE = bigint, FINALFUNC = thirds, COMBINEFUNC = int8pl, INITCOND = '0', PARALLEL = SAFE);
-- PL/pgSQL transition over an array state, order-sensitive
CREATE FUNCTION keep_last3(state int[], x int) RETURNS int[] LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN state := array_append(state, x); IF array_length(state, 1) > 3 THEN state := state[2:4]; END IF; RETURN state; END $$;
CREATE AGGREGATE last3(int) (SFUNC = keep_last3, STYPE = int[], INITCOND = '{}');
-- no initial condition: the first value starts the state
CREATE FUNCTION pick_max(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT greatest(a, b) $$;
CREATE AGGREGATE "Max Of"(int) (SFUNC = pick_max, STYPE = int);
-- text state with a final function
CREATE FUNCTION cat_step(s text, x text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT s || x $$;
CREATE FUNCTION cat_len(s text) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT length(s) $$;
CREATE AGGREGATE cat_length(text) (SFUNC = cat_step, STYPE = text, FINALFUNC = cat_len, INITCOND = '');

SELECT my_sum(v), dbl_third(v), dbl_third_c(v), "Max Of"(v), cat_length(label) FROM agg_t;
SELECT grp, my_sum(v), dbl_third(v), dbl_third_c(v) FROM agg_t GROUP BY grp ORDER BY grp;
SELECT id, my_sum(v), dbl_third_c(v) FROM agg_t WHERE id < 6 GROUP BY id ORDER BY id;
SELECT my_sum(v) FROM agg_t WHERE id = 10;
SELECT grp, last3(v ORDER BY id) FROM agg_t GROUP BY grp ORDER BY grp;
SELECT grp, last3(v ORDER BY id DESC) FILTER (WHERE v > 5) FROM agg_t GROUP BY grp ORDER BY grp;
SELECT my_sum(DISTINCT v), dbl_third(DISTINCT v) FROM agg_t;
SELECT label, "Max Of"(v), cat_length(label || grp) FROM agg_t GROUP BY label ORDER BY label;
SELECT grp, dbl_third_c(v) FROM agg_t GROUP BY grp HAVING my_sum(v) > 90 ORDER BY grp;
SELECT r.name, my_sum(t.v), dbl_third_c(t.v) FROM agg_t t JOIN agg_ref r ON r.grp = t.grp GROUP BY r.name ORDER BY r.name;
SELECT grp, my_sum(v) OVER (PARTITION BY grp ORDER BY id) AS running FROM agg_t WHERE id <= 12 ORDER BY id;
SELECT my_sum(v) FROM agg_t WHERE false;
SELECT dbl_third_c(v), count(*) FROM agg_t WHERE v IS NULL;
SELECT (SELECT my_sum(v) FROM agg_t WHERE grp = r.grp) FROM agg_ref r ORDER BY r.grp;

-- in a transaction that rolls back
BEGIN;
INSERT INTO agg_t VALUES (100, 1, 1000, 'zz');
SELECT grp, my_sum(v), dbl_third_c(v) FROM agg_t GROUP BY grp ORDER BY grp;
ROLLBACK;
SELECT grp, my_sum(v), dbl_third_c(v) FROM agg_t GROUP BY grp ORDER BY grp;

-- an aggregate whose transition function fails on a row
CREATE FUNCTION picky(state int, x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF x = 13 THEN RAISE EXCEPTION 'thirteen' USING ERRCODE = '22023'; END IF; RETURN state + 1; END $$;
CREATE AGGREGATE picky_count(int) (SFUNC = picky, STYPE = int, INITCOND = '0');
SELECT picky_count(v) FROM agg_t WHERE v < 13;
-- error
SELECT picky_count(v) FROM agg_t;
