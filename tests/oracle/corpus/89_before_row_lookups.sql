/*
BEFORE ROW INSERT triggers that read or write other distributed tables: the list-price
lookup that fills NEW.price, an existence check that RAISEs, a stock counter decremented
in another table, a WHEN condition, a trigger returning NULL to skip a row, a datanode-local
trigger in between (name order), with an AFTER ROW audit trigger, inside transactions that
commit and roll back. The coordinator makes the new rows (defaults from the GTM through the
loopback), fires the BEFORE ROW triggers' twins on each, and stores what they return
(executor/triggers._fire_before_rows). Before, refused with 0A000 (a BEFORE ROW trigger
fired on the row's datanode, which holds neither products nor stock).
*/

CREATE TABLE products (sku text PRIMARY KEY, price numeric(8, 2) NOT NULL, "in stock" int NOT NULL) DISTRIBUTE BY HASH (sku);
CREATE TABLE "Order Items" (id serial PRIMARY KEY, sku text NOT NULL, qty int NOT NULL, price numeric(8, 2) NOT NULL, note text) DISTRIBUTE BY HASH (id);
CREATE TABLE item_audit (item int, sku text, price numeric(8, 2)) DISTRIBUTE BY HASH (sku);
INSERT INTO products VALUES ('apple', 1.25, 10), ('pear', 2.00, 1), ('fig''s', 3.10, 5), ('gift', 0, 5);

CREATE FUNCTION fill_price() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT p.price INTO NEW.price FROM products p WHERE p.sku = NEW.sku;  -- look up the list price
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown product %', NEW.sku USING ERRCODE = 'foreign_key_violation';  -- 23503
  END IF;  -- a missing product is an error
  RETURN NEW;  -- store the row with its price
END $$;
CREATE FUNCTION "take stock"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE left_over int;  -- what remains after this order
BEGIN
  UPDATE products SET "in stock" = "in stock" - NEW.qty WHERE sku = NEW.sku RETURNING "in stock" INTO left_over;  -- reserve
  IF left_over < 0 THEN
    RAISE EXCEPTION 'only % of % left', left_over + NEW.qty, NEW.sku USING ERRCODE = 'check_violation';  -- 23514
  END IF;  -- not enough stock
  RETURN NEW;  -- keep the row
END $$;
CREATE FUNCTION skip_gifts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION tidy_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := lower(coalesce(NEW.note, TG_ARGV[0])); RETURN NEW; END $$;
CREATE FUNCTION audit_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO item_audit VALUES (NEW.id, NEW.sku, NEW.price); RETURN NULL; END $$;
-- name order: "a fill price", "b take stock", "c tidy", "d skip gifts"
CREATE TRIGGER "a fill price" BEFORE INSERT ON "Order Items" FOR EACH ROW EXECUTE FUNCTION fill_price();
CREATE TRIGGER "b take stock" BEFORE INSERT ON "Order Items" FOR EACH ROW WHEN (NEW.qty > 0) EXECUTE FUNCTION "take stock"();
CREATE TRIGGER "c tidy" BEFORE INSERT ON "Order Items" FOR EACH ROW EXECUTE FUNCTION tidy_note('NO NOTE');
CREATE TRIGGER "d skip gifts" BEFORE INSERT ON "Order Items" FOR EACH ROW WHEN (NEW.price = 0) EXECUTE FUNCTION skip_gifts();
CREATE TRIGGER audit AFTER INSERT ON "Order Items" FOR EACH ROW EXECUTE FUNCTION audit_item();

INSERT INTO "Order Items" (sku, qty) VALUES ('apple', 3), ('fig''s', 1);
SELECT * FROM "Order Items" ORDER BY id;
SELECT * FROM products ORDER BY sku;
-- error
INSERT INTO "Order Items" (sku, qty) VALUES ('kiwi', 1);
-- error
INSERT INTO "Order Items" (sku, qty) VALUES ('pear', 2);
SELECT * FROM products ORDER BY sku;
INSERT INTO "Order Items" AS oi (sku, qty, note) VALUES ('pear', 1, 'Rush'), ('gift', 1, 'FREE') RETURNING oi.id, oi.price * qty AS "line total", note;
INSERT INTO "Order Items" (sku, qty) VALUES ('apple', 0);
INSERT INTO "Order Items" (id, sku, qty, price) VALUES (DEFAULT, 'apple', 1, 99);
SELECT * FROM "Order Items" ORDER BY id;
SELECT * FROM item_audit ORDER BY item;

-- a transaction that rolls back undoes the rows and the stock taken
BEGIN;
INSERT INTO "Order Items" (sku, qty) VALUES ('apple', 2);
SELECT sku, "in stock" FROM products WHERE sku = 'apple';
SAVEPOINT s1;
-- error
INSERT INTO "Order Items" (sku, qty) VALUES ('apple', 1), ('nope', 1);
ROLLBACK TO SAVEPOINT s1;
SELECT sku, "in stock" FROM products WHERE sku = 'apple';
INSERT INTO "Order Items" (sku, qty) VALUES ('fig''s', 4) RETURNING price, note;
ROLLBACK;
SELECT * FROM products ORDER BY sku;
SELECT count(*) FROM "Order Items";

-- a transaction that commits
BEGIN;
INSERT INTO "Order Items" (sku, qty, note) VALUES ('fig''s', 2, 'Gift Wrap');
UPDATE products SET price = 3.50 WHERE sku = 'fig''s';
INSERT INTO "Order Items" (sku, qty) VALUES ('fig''s', 1);
COMMIT;
SELECT * FROM "Order Items" ORDER BY id;
SELECT * FROM products ORDER BY sku;
SELECT * FROM item_audit ORDER BY item;

\connect 2
INSERT INTO "Order Items" (sku, qty) VALUES ('apple', 1);
SELECT sku, qty, price, note FROM "Order Items" ORDER BY id DESC LIMIT 1;
SELECT * FROM products ORDER BY sku;
