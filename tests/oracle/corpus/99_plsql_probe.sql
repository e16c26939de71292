/*
PL/pgSQL over tables with gridpg's default distribution, in the patterns of PostgreSQL's
documentation (chapter 43): bound and scroll cursors, FOR loops over queries, RETURN NEXT /
RETURN QUERY [EXECUTE ... USING], an EXCEPTION block undoing writes to distributed tables,
GET DIAGNOSTICS ROW_COUNT, FOUND after writes, dynamic EXECUTE ... USING, INTO STRICT,
%ROWTYPE and row-type variables (fields assigned: pglast's reading took `s.f` of a
%ROWTYPE variable for an unknown variable, 0A000), a procedure committing and rolling back
in a loop, statement triggers with transition tables. (WHERE CURRENT OF in code is
refused with 0A000, PostgreSQL's own error for a foreign table.)
*/

CREATE TABLE acc (id int PRIMARY KEY, owner text, bal numeric(12, 2));
CREATE TABLE hist (hid serial, acc_id int, delta numeric(12, 2), note text);
INSERT INTO acc SELECT g, 'o' || (g % 4), g * 10 FROM generate_series(1, 20) g;

CREATE FUNCTION total_by_cursor(lo int) RETURNS numeric LANGUAGE plpgsql AS $$ DECLARE c CURSOR (x int) FOR SELECT bal FROM acc WHERE id >= x ORDER BY id; r record; s numeric := 0; n int := 0; BEGIN OPEN c(lo); LOOP FETCH c INTO r; EXIT WHEN NOT FOUND; s := s + r.bal; n := n + 1; END LOOP; CLOSE c; RETURN s * 1000 + n; END $$;
SELECT total_by_cursor(5);

CREATE FUNCTION scroll_probe() RETURNS text LANGUAGE plpgsql AS $$ DECLARE c SCROLL CURSOR FOR SELECT id FROM acc ORDER BY id; a int; b int; d int; BEGIN OPEN c; FETCH LAST FROM c INTO a; FETCH PRIOR FROM c INTO b; FETCH ABSOLUTE 3 FROM c INTO d; MOVE RELATIVE 2 FROM c; FETCH c INTO a; CLOSE c; RETURN a || ',' || b || ',' || d; END $$;
SELECT scroll_probe();

CREATE FUNCTION owners_sum() RETURNS TABLE (owner text, total numeric) LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN FOR r IN SELECT a.owner, sum(a.bal) AS s FROM acc a GROUP BY a.owner ORDER BY a.owner LOOP owner := r.owner; total := r.s; RETURN NEXT; END LOOP; RETURN QUERY SELECT 'all'::text, sum(bal) FROM acc; END $$;
SELECT * FROM owners_sum();

CREATE FUNCTION transfer(a int, b int, amt numeric) RETURNS text LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN UPDATE acc SET bal = bal - amt WHERE id = a; GET DIAGNOSTICS n = ROW_COUNT; IF n = 0 THEN RETURN 'no source'; END IF; BEGIN UPDATE acc SET bal = bal + amt WHERE id = b; IF NOT FOUND THEN RAISE EXCEPTION 'no target %', b; END IF; INSERT INTO hist (acc_id, delta, note) VALUES (a, -amt, 'out'), (b, amt, 'in'); IF (SELECT bal FROM acc WHERE id = a) < 0 THEN RAISE EXCEPTION 'overdraft'; END IF; EXCEPTION WHEN raise_exception THEN UPDATE acc SET bal = bal + amt WHERE id = a; INSERT INTO hist (acc_id, delta, note) VALUES (a, 0, SQLERRM); RETURN 'rolled back: ' || SQLERRM; END; RETURN 'ok'; END $$;
SELECT transfer(1, 2, 5);
SELECT transfer(3, 99, 5);
SELECT transfer(4, 5, 1000);
SELECT transfer(98, 5, 1);
SELECT * FROM acc WHERE id <= 5 ORDER BY id;
SELECT acc_id, delta, note FROM hist ORDER BY hid;

CREATE FUNCTION strict_probe(i int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE o text; BEGIN SELECT owner INTO STRICT o FROM acc WHERE id = i; RETURN o; END $$;
SELECT strict_probe(3);
-- error
SELECT strict_probe(300);
CREATE FUNCTION strict_many() RETURNS text LANGUAGE plpgsql AS $$ DECLARE o text; BEGIN SELECT owner INTO STRICT o FROM acc WHERE id < 5; RETURN o; END $$;
-- error
SELECT strict_many();

CREATE FUNCTION dyn_probe(col text, v int) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN EXECUTE format('SELECT count(*) FROM acc WHERE %I > $1', col) INTO n USING v; EXECUTE 'UPDATE acc SET bal = bal + $1 WHERE id = $2' USING 1, v; RETURN n; END $$;
SELECT dyn_probe('id', 15);
SELECT bal FROM acc WHERE id = 15;

CREATE FUNCTION found_probe() RETURNS text LANGUAGE plpgsql AS $$ DECLARE out text := ''; n int; BEGIN DELETE FROM acc WHERE id = 1000; out := out || FOUND::text; UPDATE acc SET bal = bal WHERE id < 4; GET DIAGNOSTICS n = ROW_COUNT; out := out || ',' || FOUND::text || n; PERFORM 1 FROM acc WHERE id = 7; out := out || ',' || FOUND::text; INSERT INTO acc VALUES (21, 'o1', 0); out := out || ',' || FOUND::text; RETURN out; END $$;
SELECT found_probe();

CREATE FUNCTION rowvar_probe(i int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE r acc; s acc%ROWTYPE; BEGIN SELECT * INTO r FROM acc WHERE id = i; s := r; s.bal := s.bal * 2; s.id := s.id + 100; INSERT INTO acc SELECT s.*; RETURN r::text || ' ' || s::text; END $$;
SELECT rowvar_probe(6);
SELECT * FROM acc WHERE id = 106;

CREATE PROCEDURE batch_commit(n int) LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1..n LOOP INSERT INTO hist (acc_id, delta, note) VALUES (i, i, 'batch'); IF i % 2 = 0 THEN COMMIT; ELSE ROLLBACK; END IF; END LOOP; END $$;
CALL batch_commit(6);
SELECT acc_id, note FROM hist WHERE note = 'batch' ORDER BY acc_id;

CREATE TABLE tt (id int, v int);
CREATE TABLE tt_sum (op text, n bigint, s bigint);
CREATE FUNCTION tt_trans() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO tt_sum SELECT TG_OP, count(*), sum(v) FROM old_rows; ELSE INSERT INTO tt_sum SELECT TG_OP, count(*), sum(v) FROM new_rows; END IF; RETURN NULL; END $$;
CREATE TRIGGER tt_ins AFTER INSERT ON tt REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_trans();
CREATE TRIGGER tt_upd AFTER UPDATE ON tt REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_trans();
CREATE TRIGGER tt_del AFTER DELETE ON tt REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_trans();
INSERT INTO tt SELECT g, g FROM generate_series(1, 10) g;
UPDATE tt SET v = v * 2 WHERE id > 5;
DELETE FROM tt WHERE id <= 3;
SELECT * FROM tt_sum ORDER BY op;

CREATE FUNCTION fn_sql_setof(o text) RETURNS SETOF acc LANGUAGE sql STABLE AS $$ SELECT * FROM acc WHERE owner = o ORDER BY id $$;
SELECT * FROM fn_sql_setof('o2');
SELECT count(*) FROM fn_sql_setof('o3') f JOIN acc a USING (id);

CREATE FUNCTION loop_update() RETURNS int LANGUAGE plpgsql AS $$ DECLARE r record; k int := 0; BEGIN FOR r IN SELECT id FROM acc WHERE id BETWEEN 10 AND 14 ORDER BY id LOOP UPDATE acc SET bal = bal + k WHERE id = r.id; k := k + 1; END LOOP; RETURN k; END $$;
SELECT loop_update();
SELECT id, bal FROM acc WHERE id BETWEEN 10 AND 14 ORDER BY id;

DO $$ DECLARE v_count int; BEGIN SELECT count(*) INTO v_count FROM acc; IF v_count > 0 THEN UPDATE acc SET owner = upper(owner) WHERE id = 2; END IF; RAISE NOTICE 'n=%', v_count; END $$;
SELECT owner FROM acc WHERE id = 2;

CREATE FUNCTION ret_query_exec(t text) RETURNS SETOF int LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE format('SELECT id FROM %I WHERE id < $1 ORDER BY id', t) USING 4; END $$;
SELECT * FROM ret_query_exec('acc');
