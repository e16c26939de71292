/*
INSERT ... ON CONFLICT ... RETURNING as a row source of PL/pgSQL over distributed tables:
RETURN QUERY and FOR ... IN ... LOOP (sql/plpgsql_upsert.py, mode 'rows' of
gridpg.loopback_run). The statement runs on the coordinator; its rows come back as text
and are assigned as PL/pgSQL assigns them: to the function's OUT parameters (kept and given
back after), to a variable of its result type, to the loop's variables, a row-typed
variable, or, for RETURNING *, a record with the table's column names and types. Before,
each failed with 42P10 from the loopback's foreign tables.
*/

CREATE TABLE rs_kv (k int PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
CREATE TYPE rs_pair AS (a int, b text[]);
CREATE TABLE rs_wide (id int PRIMARY KEY, "Odd Name" text, p rs_pair, arr int[], ts timestamptz, n numeric(8, 2)) DISTRIBUTE BY HASH (id);
INSERT INTO rs_kv VALUES (1, 'a'), (2, 'b');

CREATE FUNCTION rs_up(k0 int, v0 text) RETURNS SETOF rs_kv LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY INSERT INTO rs_kv VALUES (k0, v0) ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING *; IF NOT FOUND THEN RAISE EXCEPTION 'not found'; END IF; END $$;
SELECT * FROM rs_up(1, 'x');
SELECT * FROM rs_up(3, 'c');

-- OUT parameters keep their values across the RETURN QUERY
CREATE FUNCTION rs_up2(k0 int, v0 text) RETURNS TABLE (kk int, "V" text, ins bool) LANGUAGE plpgsql AS $$ BEGIN kk := -1; "V" := 'kept'; ins := NULL; RETURN QUERY INSERT INTO rs_kv AS t VALUES (k0, v0) ON CONFLICT (k) DO UPDATE SET v = t.v || excluded.v RETURNING t.k, t.v, (xmax = 0); RETURN NEXT; END $$;
SELECT * FROM rs_up2(2, 'y') ORDER BY kk;
SELECT * FROM rs_up2(4, 'd') ORDER BY kk;

CREATE FUNCTION rs_up3(k0 int) RETURNS SETOF int LANGUAGE plpgsql AS $$ DECLARE a int; b text; one rs_kv; BEGIN FOR a, b IN INSERT INTO rs_kv VALUES (k0, 'f') ON CONFLICT (k) DO UPDATE SET v = rs_kv.v || '!' RETURNING k * 10, v LOOP RETURN NEXT a + length(b); END LOOP; FOR one IN INSERT INTO rs_kv VALUES (k0 + 100, 'g') ON CONFLICT (k) DO NOTHING RETURNING * LOOP RETURN NEXT one.k; END LOOP; RETURN QUERY INSERT INTO rs_kv VALUES (k0 + 200, 'h') ON CONFLICT (k) DO NOTHING RETURNING k; END $$;
SELECT * FROM rs_up3(1);
SELECT * FROM rs_up3(1);

-- a record loop variable over RETURNING *: the table's names and types
CREATE FUNCTION rs_up4(i int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE r record; acc text := ''; BEGIN FOR r IN INSERT INTO rs_wide AS w VALUES (i, 'x"y', row(1, '{a,"b c"}')::rs_pair, '{1,NULL,3}', '2020-01-01 10:00+00', 1.5) ON CONFLICT (id) DO UPDATE SET n = w.n + 1 RETURNING * LOOP acc := acc || (r.id + 1) || '|' || r."Odd Name" || '|' || (r.p).b[2] || '|' || coalesce(r.arr[2]::text, 'null') || '|' || r.n * 2 || '|' || extract(year FROM r.ts) || '|' || (r.n > 10); END LOOP; RETURN acc; END $$;
SELECT rs_up4(1);
SELECT rs_up4(1);
SELECT rs_up4(12);

-- in a block that rolls back, and in one that commits
BEGIN;
SELECT * FROM rs_up(60, 'rolled');
SELECT * FROM rs_kv WHERE k = 60;
ROLLBACK;
BEGIN;
SELECT * FROM rs_up(61, 'kept');
COMMIT;
SELECT * FROM rs_kv ORDER BY k;
SELECT id, "Odd Name", p::text, arr, ts, n FROM rs_wide ORDER BY id;

-- a record loop variable over a list of the target's columns: their names and types
CREATE FUNCTION rs_up5(k0 int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN FOR r IN INSERT INTO rs_kv AS t VALUES (k0, 'r') ON CONFLICT (k) DO UPDATE SET v = t.v || '+' RETURNING t.k AS key, v LOOP RETURN (r.key + 1)::text || ' ' || r.v; END LOOP; RETURN 'none'; END $$;
SELECT rs_up5(1), rs_up5(70);

-- the same function and table names in another schema, off the search path (a schema
-- per tenant): the call reaches this schema's function (it was refused: "by a name no
-- other routine has"), and RETURNING * takes the tables' columns (both tables' were
-- counted: mismatched array dimensions; tables of one name with other columns are
-- refused, 0A000, unless the code names the schema)
CREATE SCHEMA rs_other;
CREATE TABLE rs_other.rs_kv (k int PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
CREATE FUNCTION rs_other.rs_up(k0 int, v0 text) RETURNS SETOF rs_other.rs_kv LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY INSERT INTO rs_other.rs_kv VALUES (k0, v0) ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING *; END $$;
SELECT * FROM rs_up(80, 'here');
SELECT * FROM rs_other.rs_up(80, 'there');
SELECT * FROM rs_kv WHERE k = 80;
SELECT * FROM rs_other.rs_kv;
DROP SCHEMA rs_other CASCADE;
