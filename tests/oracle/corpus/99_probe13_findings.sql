/*
SQL as application developers write it, h-probe13: a SaaS schema's audit trigger and
functions writing colocated tables. A row trigger (or a distributed function) writing a
colocated table pinned to the row's key ran on the row's datanode; an INSERT there that left
a bigserial / identity column to its default drew from the datanode's copy of the
sequence: each node counted from 1 (duplicate ids, a later INSERT ... SELECT failed 23505).
Such code is now fired by the coordinator (the loopback fills the column from the GTM).
*/
CREATE TABLE p13_orders (tenant_id int, order_id bigserial, status text, PRIMARY KEY (tenant_id, order_id)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE p13_audit (id bigserial, tenant_id int NOT NULL, action text, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE p13_events (tenant_id int, id int GENERATED ALWAYS AS IDENTITY, what text, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);
CREATE FUNCTION p13_audit_orders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_audit (tenant_id, action) VALUES (NEW.tenant_id, lower('order.' || TG_OP)); INSERT INTO p13_events (tenant_id, what) VALUES (NEW.tenant_id, NEW.status); RETURN NEW; END $$;
CREATE TRIGGER p13_audit_orders AFTER INSERT OR UPDATE ON p13_orders FOR EACH ROW EXECUTE FUNCTION p13_audit_orders();
INSERT INTO p13_orders (tenant_id, status) VALUES (1, 'new');
INSERT INTO p13_orders (tenant_id, status) VALUES (2, 'new');
INSERT INTO p13_orders (tenant_id, status) VALUES (3, 'new'), (4, 'new');
\connect 2
INSERT INTO p13_orders (tenant_id, status) VALUES (5, 'new');
UPDATE p13_orders SET status = 'paid' WHERE tenant_id IN (1, 3);
SELECT tenant_id, id, action FROM p13_audit ORDER BY tenant_id, id;
SELECT tenant_id, id, what FROM p13_events ORDER BY tenant_id, id;
SELECT count(*), count(DISTINCT id) FROM p13_audit;
INSERT INTO p13_audit (tenant_id, action) SELECT g, 'bulk' FROM generate_series(1, 5) g;
SELECT count(*), count(DISTINCT id), max(id) FROM p13_audit;
-- a VALUES row leaving the column out, DEFAULT for it, UPDATE ... SET id = DEFAULT
CREATE FUNCTION p13_more() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_audit VALUES (DEFAULT, NEW.tenant_id, 'more'); UPDATE p13_audit SET id = DEFAULT WHERE tenant_id = NEW.tenant_id AND action = 'bulk'; RETURN NULL; END $$;
CREATE TRIGGER p13_more AFTER DELETE ON p13_orders FOR EACH ROW EXECUTE FUNCTION p13_more();
CREATE FUNCTION p13_more_del() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_audit VALUES (DEFAULT, OLD.tenant_id, 'more'); UPDATE p13_audit SET id = DEFAULT WHERE tenant_id = OLD.tenant_id AND action = 'bulk'; RETURN NULL; END $$;
DROP TRIGGER p13_more ON p13_orders;
CREATE TRIGGER p13_more AFTER DELETE ON p13_orders FOR EACH ROW EXECUTE FUNCTION p13_more_del();
DELETE FROM p13_orders WHERE tenant_id IN (2, 4);
SELECT count(*), count(DISTINCT id) FROM p13_audit;
SELECT tenant_id, action, count(*) FROM p13_audit GROUP BY 1, 2 ORDER BY 1, 2;
-- a function writing such a table is not delegated to the key's node
CREATE FUNCTION p13_log(k int, what text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_audit (tenant_id, action) VALUES (k, what); END $$;
SELECT p13_log(6, 'fn');
SELECT p13_log(7, 'fn');
SELECT count(*), count(DISTINCT id) FROM p13_audit;
-- a cleanup script: DELETE ... USING a temp table of keys, of a table whose audit trigger
-- the coordinator fires (was 0A000 "the statement names OLD or NEW in RETURNING WITH": the
-- statement came back through the guard with the firing's own RETURNING)
CREATE FUNCTION p13_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_audit (tenant_id, action) VALUES (OLD.tenant_id, 'order.delete ' || OLD.status); RETURN OLD; END $$;
CREATE TRIGGER p13_audit_delete AFTER DELETE ON p13_orders FOR EACH ROW EXECUTE FUNCTION p13_audit_delete();
INSERT INTO p13_orders (tenant_id, status) SELECT g % 3 + 1, 'stale' FROM generate_series(1, 9) g;
BEGIN;
CREATE TEMP TABLE p13_orders ON COMMIT DROP AS SELECT tenant_id, order_id FROM oracle_99_probe13_findings.p13_orders WHERE status = 'stale' AND tenant_id <> 2;
DELETE FROM oracle_99_probe13_findings.p13_orders o USING p13_orders t WHERE o.tenant_id = t.tenant_id AND o.order_id = t.order_id;
UPDATE oracle_99_probe13_findings.p13_orders o SET status = 'kept' FROM p13_orders t WHERE o.tenant_id = t.tenant_id + 1 AND o.status = 'stale';
COMMIT;
SELECT tenant_id, status, count(*) FROM p13_orders GROUP BY 1, 2 ORDER BY 1, 2;
SELECT tenant_id, action, count(*) FROM p13_audit GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*), count(DISTINCT id) FROM p13_audit;
-- SQL functions whose answer is an upsert's RETURNING (get-or-create, counters): was 0A000
CREATE TABLE p13_tags (tenant_id int, name text, id bigserial, hits int DEFAULT 1, PRIMARY KEY (tenant_id, name)) DISTRIBUTE BY HASH (tenant_id);
CREATE FUNCTION p13_tag(t int, n text) RETURNS bigint LANGUAGE sql AS $$ INSERT INTO p13_tags (tenant_id, name) VALUES (t, n) ON CONFLICT (tenant_id, name) DO UPDATE SET hits = p13_tags.hits + 1 RETURNING id $$;
CREATE FUNCTION p13_hit(t int, n text) RETURNS int LANGUAGE sql AS $$ SELECT 1; INSERT INTO p13_tags AS g (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO UPDATE SET hits = g.hits + 1 RETURNING g.hits * 10 $$;
CREATE FUNCTION p13_hits(t int) RETURNS SETOF text LANGUAGE sql AS $$ INSERT INTO p13_tags (tenant_id, name) VALUES (t, 'a'), (t, 'b') ON CONFLICT (tenant_id, name) DO UPDATE SET hits = p13_tags.hits + 1 RETURNING name || ':' || hits $$;
SELECT p13_tag(1, 'red');
SELECT p13_tag(1, 'red'), p13_tag(2, 'red');
SELECT p13_hit(1, 'red');
SELECT p13_hit(3, 'new');
SELECT * FROM p13_hits(1) ORDER BY 1;
SELECT * FROM p13_hits(1) ORDER BY 1;
SELECT p13_tag(g, 'blue') FROM generate_series(4, 6) g;
SELECT tenant_id, name, id, hits FROM p13_tags ORDER BY tenant_id, name;
BEGIN;
SELECT p13_tag(1, 'green');
ROLLBACK;
SELECT count(*) FROM p13_tags WHERE name = 'green';
-- an audit trigger storing txid_current() (to group a transaction's changes): pinned to the
-- row's node it stored each datanode's own transaction id (2 ids for one transaction)
CREATE TABLE p13_items (tenant_id int, id int, s text, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE p13_item_log (tenant_id int, id int, tx bigint, op text) DISTRIBUTE BY HASH (tenant_id);
CREATE FUNCTION p13_item_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_item_log VALUES (NEW.tenant_id, NEW.id, txid_current(), TG_OP); RETURN NEW; END $$;
CREATE TRIGGER p13_item_log AFTER INSERT OR UPDATE ON p13_items FOR EACH ROW EXECUTE FUNCTION p13_item_log();
BEGIN;
INSERT INTO p13_items VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c'), (4, 4, 'd'), (5, 5, 'e');
UPDATE p13_items SET s = s || '!' WHERE tenant_id IN (1, 2, 3, 4, 5);
COMMIT;
INSERT INTO p13_items VALUES (6, 6, 'f');
SELECT count(DISTINCT tx), count(*) FROM p13_item_log;
SELECT op, count(*) FROM p13_item_log WHERE tx = (SELECT min(tx) FROM p13_item_log) GROUP BY op ORDER BY op;
-- the same through the written table's default
CREATE TABLE p13_items2 (tenant_id int, id int, s text, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE p13_item_log2 (tenant_id int, id int, tx bigint DEFAULT txid_current()) DISTRIBUTE BY HASH (tenant_id);
CREATE FUNCTION p13_item_log2() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO p13_item_log2 (tenant_id, id) VALUES (NEW.tenant_id, NEW.id); RETURN NEW; END $$;
CREATE TRIGGER p13_item_log2 AFTER INSERT OR UPDATE ON p13_items2 FOR EACH ROW EXECUTE FUNCTION p13_item_log2();
BEGIN;
INSERT INTO p13_items2 VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c'), (4, 4, 'd'), (5, 5, 'e');
UPDATE p13_items2 SET s = s || '?' WHERE tenant_id IN (1, 2, 3, 4, 5);
COMMIT;
SELECT count(DISTINCT tx), count(*) FROM p13_item_log2;
