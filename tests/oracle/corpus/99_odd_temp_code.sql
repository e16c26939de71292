/*
Temporary objects made by server-side code, and the session's temp sequences and
routines (h-odd pass, issue 12):
- `CREATE TEMP TABLE t AS SELECT ... FROM <distributed table>` inside a PL/pgSQL function
  filled the temp table from the catalog server's empty copy (0 rows, silently): the
  guard did not count a CREATE TABLE AS query's tables as the code's, so the call ran
  unarmed.
- a DO block or a function creating temp tables ran on a pooled catalog connection: the
  next statement of the session did not find the table (42P01), the next session that
  took the connection did; and a temp table made by code over a distributed table's name
  did not shadow it for the session's later statements.
- `currval('temp_seq')` / `lastval()` after a temp table's `DEFAULT nextval('temp_seq')`
  filled rows gave the value of the session's last explicit nextval() (1 for 3).
- `CREATE FUNCTION pg_temp.f()` failed at PREPARE (0A000), `DROP FUNCTION pg_temp.f()`
  with 3F000 from the other servers.
- a temp table's trigger writing a distributed table (an audit log), its DEFAULT or
  CHECK calling a function that reads one, a BEFORE trigger checking a limit kept in
  one: the routine guard did not know the temp table's trigger, default or check (temp
  DDL moves no catalog epoch), so the code ran unarmed against the catalog server's empty
  copies: audit rows lost, NULL defaults, checks not enforced, silently. UPDATE and
  DELETE of such a temp table were refused (0A000).
- `SELECT id, note_of(id) FROM <distributed>` where note_of reads a temp table: the
  statement ran on the datanodes, where the function found no such table (42P01); the
  same for `pg_temp.f(col)` and `::pg_temp.type` (3F000).
- `CREATE TYPE pg_temp.t` (enum, composite, range), `CREATE DOMAIN pg_temp.d`, their
  ALTER and DROP, and `COMMENT ON` a temp table, column or type: 0A000 at PREPARE, or
  42P01/3F000 from the other servers.
*/
CREATE TABLE stock (wh_id int, sku text, qty int, PRIMARY KEY (sku, wh_id));
INSERT INTO stock VALUES (1, 'A1', 3), (2, 'A1', 2), (1, 'B2', 500), (2, 'C3', 20), (3, 'D4', 1), (3, 'E5', 0);
CREATE TABLE items (sku text PRIMARY KEY, name text);
INSERT INTO items VALUES ('A1', 'anvil'), ('B2', 'bolt'), ('C3', 'chain');
CREATE FUNCTION stocked_count(min_qty int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; -- rows kept
BEGIN
  DROP TABLE IF EXISTS pg_temp.stocked; -- from an earlier call
  CREATE TEMP TABLE stocked AS SELECT sku, sum(qty) AS q FROM stock WHERE qty >= min_qty GROUP BY sku; -- a distributed table
  SELECT count(*) INTO n FROM stocked; -- the temp table
  RETURN n; -- done
END $$;
SELECT stocked_count(2);
SELECT sku, q FROM stocked ORDER BY sku;
SELECT stocked_count(100);
SELECT sku, q FROM stocked ORDER BY sku;
SELECT s.sku, i.name, s.q FROM stocked s JOIN items i USING (sku) ORDER BY 1;
DO $$ BEGIN CREATE TEMP TABLE low AS SELECT * FROM stock WHERE qty < 3; END $$;
SELECT sku, wh_id, qty FROM low ORDER BY sku, wh_id;
CREATE FUNCTION shadow_items() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TEMP TABLE IF NOT EXISTS items (sku text, name text); INSERT INTO items VALUES ('T1', 'temp'); END $$;
SELECT shadow_items();
SELECT sku, name FROM items ORDER BY sku;
SELECT shadow_items();
SELECT count(*) FROM items;
SELECT count(*) FROM oracle_99_odd_temp_code.items;
DROP TABLE pg_temp.items;
SELECT count(*) FROM items;
CREATE TEMP SEQUENCE ticket_no START 100;
SELECT nextval('ticket_no');
CREATE TEMP TABLE tickets (n int DEFAULT nextval('ticket_no'), sku text);
INSERT INTO tickets (sku) SELECT sku FROM items ORDER BY sku;
SELECT n, sku FROM tickets ORDER BY n;
SELECT currval('ticket_no'), lastval();
SELECT n, sku FROM tickets WHERE n = currval('ticket_no');
CREATE FUNCTION pg_temp.twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT x * 2 $$;
SELECT pg_temp.twice(21);
SELECT sku, pg_temp.twice(qty) FROM low ORDER BY sku, wh_id;
ALTER FUNCTION pg_temp.twice(int) RENAME TO double_it;
SELECT pg_temp.double_it(5);
DROP FUNCTION pg_temp.double_it(int);
-- error
SELECT pg_temp.double_it(5);
CREATE TABLE audit (id serial PRIMARY KEY, what text, n int);
CREATE TABLE limits (k text PRIMARY KEY, maxv int);
INSERT INTO limits VALUES ('qty', 10);
CREATE FUNCTION log_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (what, n) VALUES (TG_OP || ' ' || TG_TABLE_NAME, coalesce(NEW.q, OLD.q)); RETURN coalesce(NEW, OLD); END $$;
CREATE TEMP TABLE scratch (id int, q int);
CREATE TRIGGER scratch_log AFTER INSERT OR UPDATE OR DELETE ON scratch FOR EACH ROW EXECUTE FUNCTION log_row();
INSERT INTO scratch VALUES (1, 1), (2, 2);
UPDATE scratch SET q = q + 10 WHERE id = 2;
DELETE FROM scratch WHERE id = 1;
SELECT what, n FROM audit ORDER BY id;
CREATE FUNCTION max_qty() RETURNS int LANGUAGE sql STABLE AS $$ SELECT maxv FROM limits WHERE k = 'qty' $$;
CREATE TEMP TABLE lines (q int DEFAULT max_qty(), note text);
INSERT INTO lines (note) VALUES ('default');
SELECT q, note FROM lines;
CREATE FUNCTION q_ok(v int) RETURNS bool LANGUAGE sql STABLE AS $$ SELECT v <= (SELECT maxv FROM limits WHERE k = 'qty') $$;
CREATE TEMP TABLE checked (q int CHECK (q_ok(q)));
INSERT INTO checked VALUES (5);
-- error
INSERT INTO checked VALUES (50);
SELECT q FROM checked;
CREATE FUNCTION over_limit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.q > (SELECT maxv FROM limits WHERE k = 'qty') THEN RAISE EXCEPTION 'too big: %', NEW.q; END IF; RETURN NEW; END $$;
CREATE TEMP TABLE guarded (q int);
CREATE TRIGGER guarded_check BEFORE INSERT ON guarded FOR EACH ROW EXECUTE FUNCTION over_limit();
INSERT INTO guarded VALUES (3);
-- error
INSERT INTO guarded VALUES (30);
SELECT q FROM guarded;
SELECT count(*) FROM audit;
BEGIN;
CREATE TEMP TABLE made_in_block (id int, q int);
CREATE TRIGGER made_in_block_log AFTER INSERT ON made_in_block FOR EACH ROW EXECUTE FUNCTION log_row();
INSERT INTO made_in_block VALUES (1, 7);
SELECT what, n FROM audit WHERE n = 7;
COMMIT;
INSERT INTO made_in_block VALUES (2, 8);
BEGIN;
CREATE TEMP TABLE rolled_back (id int, q int);
CREATE TRIGGER rolled_back_log AFTER INSERT ON rolled_back FOR EACH ROW EXECUTE FUNCTION log_row();
INSERT INTO rolled_back VALUES (1, 9);
ROLLBACK;
SELECT what, n FROM audit WHERE n > 6 ORDER BY id;
CREATE SEQUENCE order_numbers;
SELECT nextval('order_numbers');
CREATE TEMP TABLE draft_orders (no int DEFAULT nextval('order_numbers'), note text);
INSERT INTO draft_orders VALUES (5, 'given');
INSERT INTO draft_orders (no, note) SELECT 6, 'selected';
UPDATE draft_orders SET note = upper(note);
SELECT no, note FROM draft_orders ORDER BY no;
CREATE TEMP TABLE item_notes (sku text, note text);
INSERT INTO item_notes VALUES ('A1', 'heavy'), ('C3', 'long');
CREATE FUNCTION note_of(k text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT note FROM item_notes WHERE sku = k $$;
CREATE FUNCTION note_of_pl(k text) RETURNS text LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN (SELECT note FROM item_notes WHERE sku = k); END $$;
SELECT sku, wh_id, note_of(sku), note_of_pl(sku) FROM stock ORDER BY sku, wh_id;
SELECT sku, sum(qty) FROM stock WHERE note_of(sku) IS NOT NULL GROUP BY sku ORDER BY sku;
CREATE TYPE pg_temp.mood AS ENUM ('sad', 'happy');
CREATE TEMP TABLE feelings (m pg_temp.mood);
INSERT INTO feelings VALUES ('happy'), ('sad');
ALTER TYPE pg_temp.mood ADD VALUE 'meh' BEFORE 'happy';
INSERT INTO feelings VALUES ('meh');
SELECT m::text FROM feelings ORDER BY m;
CREATE TYPE pg_temp.pair AS (a int, b int);
SELECT ((1, 2)::pg_temp.pair)::text;
CREATE DOMAIN pg_temp.pos AS int CHECK (VALUE > 0);
SELECT 5::pg_temp.pos;
-- error
SELECT (-5)::pg_temp.pos;
COMMENT ON TABLE feelings IS 'how we feel';
COMMENT ON COLUMN feelings.m IS 'mood';
COMMENT ON TYPE pg_temp.mood IS 'moods';
SELECT obj_description('feelings'::regclass), col_description('feelings'::regclass, 1);
DROP TABLE feelings;
DROP TYPE pg_temp.mood;
DROP DOMAIN pg_temp.pos;
SELECT to_regtype('pg_temp.mood') IS NULL;
CREATE FUNCTION pg_temp.doubled(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$;
SELECT sku, pg_temp.doubled(qty) FROM stock ORDER BY sku, wh_id;
SELECT sum(pg_temp.doubled(qty)) FROM stock;
CREATE TYPE pg_temp.stocked_pair AS (a text, b int);
SELECT (ROW(sku, qty)::pg_temp.stocked_pair)::text FROM stock WHERE qty > 2 ORDER BY 1;
