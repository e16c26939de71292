/*
Trigger functions the coordinator fires that run dynamic SQL (lead, session 20). The
generic audit trigger that builds its INSERT from TG_TABLE_NAME, and PostgreSQL's
truncate.sql trigger counting its table with EXECUTE, fire on the coordinator as the
static ones do: their SQL text finds the loopback's shadows of the session's schemas by
the armed search path. Before, every write to such a table was refused (0A000 "it runs
dynamic SQL that gridpg cannot check").
*/

CREATE TABLE d20_items (id int PRIMARY KEY, name text, price numeric);
CREATE TABLE d20_items_audit (at_id bigserial PRIMARY KEY, op text, id int, name text, price numeric);
CREATE FUNCTION d20_audit_by_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF tg_op = 'DELETE' THEN
    EXECUTE 'INSERT INTO ' || quote_ident(tg_table_name || '_audit') || ' (op, id, name, price) '
            'SELECT $1, ($2).id, ($2).name, ($2).price' USING tg_op, old
  ; ELSE
    EXECUTE format('INSERT INTO %I (op, id, name, price) VALUES ($1, $2.id, $2.name, $2.price)',
                   tg_table_name || '_audit') USING tg_op, new
  ; END IF
  ; RETURN NULL
; END $$;
CREATE TRIGGER d20_items_audit_t AFTER INSERT OR UPDATE OR DELETE ON d20_items
  FOR EACH ROW EXECUTE FUNCTION d20_audit_by_name();
INSERT INTO d20_items SELECT g, 'item' || g, g * 1.5 FROM generate_series(1, 5) g;
UPDATE d20_items SET price = price + 1 WHERE id <= 2;
DELETE FROM d20_items WHERE id = 5;
SELECT op, id, name, price FROM d20_items_audit ORDER BY at_id;
BEGIN;
INSERT INTO d20_items VALUES (6, 'six', 6);
SELECT count(*) FROM d20_items_audit;
ROLLBACK;
SELECT count(*) FROM d20_items_audit;

-- statement-level TRUNCATE triggers counting the table by dynamic SQL (truncate.sql)
CREATE TABLE d20_trunc_log (tgop text, tgwhen text, tgtable name, rowcount bigint);
CREATE FUNCTION d20_trunctrigger() RETURNS trigger AS $$
DECLARE c bigint; BEGIN
  EXECUTE 'SELECT count(*) FROM ' || quote_ident(tg_table_name) INTO c
  ; INSERT INTO d20_trunc_log VALUES (TG_OP, TG_WHEN, tg_table_name, c)
  ; RETURN NULL
; END $$ LANGUAGE plpgsql;
CREATE TRIGGER d20_tb BEFORE TRUNCATE ON d20_items FOR EACH STATEMENT EXECUTE PROCEDURE d20_trunctrigger();
CREATE TRIGGER d20_ta AFTER TRUNCATE ON d20_items FOR EACH STATEMENT EXECUTE PROCEDURE d20_trunctrigger();
TRUNCATE d20_items;
SELECT * FROM d20_trunc_log ORDER BY tgwhen DESC;
SELECT count(*) FROM d20_items;

-- an AFTER statement trigger summing the table into another one
CREATE TABLE d20_totals (tbl text PRIMARY KEY, n bigint, total numeric);
CREATE FUNCTION d20_refresh_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM d20_totals WHERE tbl = tg_table_name
  ; EXECUTE format('INSERT INTO d20_totals SELECT %L, count(*), sum(price) FROM %I', tg_table_name, tg_table_name)
  ; RETURN NULL
; END $$;
CREATE TRIGGER d20_sum AFTER INSERT OR UPDATE OR DELETE ON d20_items
  FOR EACH STATEMENT EXECUTE FUNCTION d20_refresh_total();
INSERT INTO d20_items SELECT g, 'again' || g, g FROM generate_series(10, 19) g;
DELETE FROM d20_items WHERE id > 17;
SELECT * FROM d20_totals;
SELECT op, count(*) FROM d20_items_audit GROUP BY op ORDER BY op;
