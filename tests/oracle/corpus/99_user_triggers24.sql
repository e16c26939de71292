/*
The triggers members write every day (h-trig24), on hash-distributed, REPLICATION (by
DISTRIBUTE BY REPLICATION and by two unique keys sharing no column), colocated and
non-colocated tables, compared with plain PostgreSQL: updated_at (BEFORE UPDATE setting
NEW.updated_at = now()), created_by / default filling (BEFORE INSERT), audit logs (AFTER
INSERT/UPDATE/DELETE writing TG_OP, to_jsonb(OLD), to_jsonb(NEW) into an audit table
distributed by its own key), soft delete (BEFORE DELETE ... UPDATE ... RETURN NULL), counter
caches (AFTER INSERT/DELETE on the parent's count, colocated and not), validation (RAISE
with a custom SQLSTATE), statement-level triggers with transition tables, WHEN, triggers on
a partitioned table, DISABLE / ENABLE TRIGGER, writes whose WHERE reads other tables,
multi-row writes with RETURNING, inside and outside blocks, ROLLBACK and savepoints.
Transaction times are compared as facts (`= now()`, count(DISTINCT ...)), never as values.
*/

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE FUNCTION fill_created() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_by := coalesce(NEW.created_by, current_user::text = session_user::text); NEW.created_at := coalesce(NEW.created_at, current_timestamp); NEW.status := coalesce(NEW.status, 'new'); RETURN NEW; END $$;

-- updated_at on a hash table
CREATE TABLE members (id int PRIMARY KEY, name text NOT NULL, status text, created_by bool, created_at timestamptz, updated_at timestamptz) DISTRIBUTE BY HASH (id);
CREATE TRIGGER users_fill BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION fill_created();
CREATE TRIGGER users_touch BEFORE UPDATE ON members FOR EACH ROW EXECUTE FUNCTION set_updated_at();
INSERT INTO members (id, name) SELECT g, 'user' || g FROM generate_series(1, 12) g;
INSERT INTO members (id, name, status) VALUES (13, 'thirteen', 'vip'), (14, 'fourteen', NULL) RETURNING id, status, created_by, updated_at IS NULL;
SELECT count(*), count(DISTINCT status), bool_and(created_by), bool_and(created_at IS NOT NULL), bool_and(updated_at IS NULL) FROM members;
BEGIN;
SELECT pg_sleep(0.05);
UPDATE members SET status = 'seen' WHERE id <= 10;
SELECT count(*), count(DISTINCT updated_at), bool_and(updated_at = now()) FROM members WHERE updated_at IS NOT NULL;
UPDATE members SET name = name || '!' WHERE id IN (11, 12) RETURNING id, name, status, updated_at = now() AS fresh;
INSERT INTO members (id, name) VALUES (15, 'fifteen');
SELECT id, created_at = now() AS same_instant FROM members WHERE id = 15;
COMMIT;
SELECT count(DISTINCT updated_at) FROM members;
BEGIN;
UPDATE members SET status = 'gone' WHERE id > 5;
ROLLBACK;
SELECT status, count(*) FROM members GROUP BY status ORDER BY status;

-- updated_at on REPLICATION tables: one declared so, one placed so by its two unique keys
CREATE TABLE plans (id int PRIMARY KEY, code text NOT NULL, price int, updated_at timestamptz) DISTRIBUTE BY REPLICATION;
CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE, plan_id int, credit int DEFAULT 0, updated_at timestamptz);
CREATE TRIGGER plans_touch BEFORE UPDATE ON plans FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION set_updated_at();
INSERT INTO plans VALUES (1, 'free', 0), (2, 'pro', 10), (3, 'team', 30);
INSERT INTO accounts (id, email, plan_id) SELECT g, 'a' || g || '@x', 1 + g % 3 FROM generate_series(1, 20) g;
UPDATE accounts SET credit = 5 WHERE id = 4;
UPDATE accounts SET credit = credit + 1 WHERE plan_id IN (SELECT id FROM plans WHERE price > 0);
UPDATE accounts SET credit = credit + 10 WHERE id IN (SELECT id FROM members WHERE status = 'seen') RETURNING id, credit, updated_at IS NOT NULL AS touched;
UPDATE accounts SET credit = credit + 100 WHERE EXISTS (SELECT 1 FROM members u WHERE u.id = accounts.id AND u.status IS DISTINCT FROM 'seen');
SELECT id, credit, updated_at IS NOT NULL AS touched FROM accounts ORDER BY id;
BEGIN;
UPDATE accounts SET credit = 0 WHERE plan_id = (SELECT id FROM plans WHERE code = 'team');
SELECT count(*), count(DISTINCT updated_at), bool_and(updated_at = now()) FROM accounts WHERE credit = 0;
UPDATE plans SET price = price + 1 WHERE id IN (SELECT plan_id FROM accounts WHERE credit > 100) RETURNING code, price, updated_at = now() AS fresh;
SAVEPOINT s1;
UPDATE accounts SET credit = -1 WHERE plan_id IN (SELECT id FROM plans);
ROLLBACK TO SAVEPOINT s1;
DELETE FROM accounts WHERE plan_id IN (SELECT id FROM plans WHERE code = 'free') RETURNING id;
COMMIT;
SELECT id, plan_id, credit FROM accounts ORDER BY id;
SELECT code, price, updated_at IS NOT NULL FROM plans ORDER BY id;
UPDATE accounts SET credit = credit * 2 FROM plans WHERE plans.id = accounts.plan_id AND plans.code = 'pro' RETURNING accounts.id, accounts.credit;
SELECT id, credit FROM accounts ORDER BY id;
-- upserts and INSERT ... SELECT into a REPLICATION table whose triggers read the transaction's time
BEGIN;
INSERT INTO accounts (id, email, plan_id) VALUES (2, 'a2@x', 3), (50, 'a50@x', 1) ON CONFLICT (id) DO UPDATE SET plan_id = excluded.plan_id RETURNING id, plan_id, updated_at = now() AS touched_now;
INSERT INTO accounts (id, email, plan_id) SELECT id + 60, code || '@y', id FROM plans RETURNING id, updated_at IS NULL AS untouched;
UPDATE accounts SET credit = credit + 1 WHERE id > 59 RETURNING id, credit, updated_at = now() AS touched_now;
COMMIT;
SELECT id, email, plan_id, credit FROM accounts WHERE id = 2 OR id >= 50 ORDER BY id;
SELECT count(DISTINCT updated_at) FROM accounts WHERE id > 59;

-- audit log: AFTER ROW writing TG_OP and to_jsonb(OLD/NEW) into a table distributed by its own key
CREATE TABLE audit_log (audit_id bigserial PRIMARY KEY, tbl text, op text, old_row jsonb, new_row jsonb) DISTRIBUTE BY HASH (audit_id);
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO audit_log (tbl, op, old_row) VALUES (TG_TABLE_NAME, TG_OP, to_jsonb(OLD)); RETURN OLD; ELSIF TG_OP = 'UPDATE' THEN INSERT INTO audit_log (tbl, op, old_row, new_row) VALUES (TG_TABLE_NAME, TG_OP, to_jsonb(OLD), to_jsonb(NEW)); ELSE INSERT INTO audit_log (tbl, op, new_row) VALUES (TG_TABLE_NAME, TG_OP, to_jsonb(NEW)); END IF; RETURN NEW; END $$;
CREATE TABLE purchases (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10, 2), state text DEFAULT 'open') DISTRIBUTE BY HASH (id);
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE OR DELETE ON purchases FOR EACH ROW EXECUTE FUNCTION audit();
CREATE TRIGGER plans_audit AFTER INSERT OR UPDATE OR DELETE ON plans FOR EACH ROW EXECUTE FUNCTION audit();
INSERT INTO purchases VALUES (1, 'ann', 10.50), (2, 'bob', 20), (3, 'cy', 30.25), (4, 'ann', 40);
UPDATE purchases SET amount = amount * 2 WHERE customer = 'ann' RETURNING id, amount;
DELETE FROM purchases WHERE id = 3 RETURNING *;
UPDATE purchases SET state = 'vip' WHERE customer IN (SELECT name FROM members WHERE status = 'vip');
UPDATE purchases SET state = 'paid' WHERE id IN (SELECT id FROM plans WHERE price > 5);
INSERT INTO plans VALUES (4, 'enterprise', 99);
UPDATE plans SET price = 100 WHERE code = 'enterprise';
DELETE FROM plans WHERE id = 4;
BEGIN;
INSERT INTO purchases VALUES (5, 'dan', 1);
DELETE FROM purchases WHERE customer = 'dan';
ROLLBACK;
SELECT tbl, op, old_row - 'updated_at' AS old_row, new_row - 'updated_at' AS new_row, (new_row ->> 'updated_at') IS NOT NULL AS touched FROM audit_log ORDER BY tbl, op, coalesce(new_row, old_row) ->> 'id', new_row ->> 'amount';
SELECT op, count(*) FROM audit_log WHERE tbl = 'purchases' GROUP BY op ORDER BY op;
SELECT count(*), count(DISTINCT audit_id) FROM audit_log;

-- soft delete: BEFORE DELETE marks the row and skips the delete
CREATE TABLE docs (id int PRIMARY KEY, title text, deleted_at timestamptz) DISTRIBUTE BY HASH (id);
CREATE FUNCTION soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE docs SET deleted_at = now() WHERE id = OLD.id; RETURN NULL; END $$;
CREATE TRIGGER docs_soft BEFORE DELETE ON docs FOR EACH ROW EXECUTE FUNCTION soft_delete();
INSERT INTO docs SELECT g, 'doc' || g FROM generate_series(1, 8) g;
DELETE FROM docs WHERE id = 2;
DELETE FROM docs WHERE id > 6 RETURNING id;
BEGIN;
DELETE FROM docs WHERE id IN (SELECT id FROM purchases);
SELECT id, deleted_at = now() AS now_deleted FROM docs WHERE deleted_at IS NOT NULL ORDER BY id;
ROLLBACK;
SELECT id, title, deleted_at IS NOT NULL AS deleted FROM docs ORDER BY id;
SELECT count(*) FROM docs;

-- counter caches: colocated (comments by post_id -> posts by id) and not (posts -> authors by id)
CREATE TABLE authors (id int PRIMARY KEY, name text, post_count int NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE posts (id int PRIMARY KEY, author_id int NOT NULL, title text, comment_count int NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE comments (id int, post_id int NOT NULL, body text, PRIMARY KEY (post_id, id)) DISTRIBUTE BY HASH (post_id);
CREATE FUNCTION count_posts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN UPDATE authors SET post_count = post_count + 1 WHERE id = NEW.author_id; ELSE UPDATE authors SET post_count = post_count - 1 WHERE id = OLD.author_id; END IF; RETURN NULL; END $$;
CREATE FUNCTION count_comments() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN UPDATE posts SET comment_count = comment_count + 1 WHERE id = NEW.post_id; ELSE UPDATE posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id; END IF; RETURN NULL; END $$;
CREATE TRIGGER posts_count AFTER INSERT OR DELETE ON posts FOR EACH ROW EXECUTE FUNCTION count_posts();
CREATE TRIGGER comments_count AFTER INSERT OR DELETE ON comments FOR EACH ROW EXECUTE FUNCTION count_comments();
INSERT INTO authors (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');
INSERT INTO posts (id, author_id, title) SELECT g, 1 + g % 3, 'p' || g FROM generate_series(1, 10) g;
INSERT INTO comments SELECT g, 1 + g % 4, 'c' || g FROM generate_series(1, 25) g;
DELETE FROM comments WHERE id % 5 = 0 RETURNING post_id, id;
DELETE FROM posts WHERE id IN (SELECT post_id FROM comments GROUP BY post_id HAVING count(*) > 5) RETURNING id, author_id;
BEGIN;
INSERT INTO posts (id, author_id, title) VALUES (11, 3, 'p11'), (12, 3, 'p12');
INSERT INTO comments VALUES (100, 11, 'x'), (101, 11, 'y');
SELECT id, post_count FROM authors ORDER BY id;
ROLLBACK;
SELECT id, post_count FROM authors ORDER BY id;
SELECT id, author_id, comment_count FROM posts ORDER BY id;
SELECT a.id, a.post_count = (SELECT count(*) FROM posts p WHERE p.author_id = a.id) AS consistent FROM authors a ORDER BY a.id;

-- validation with a custom SQLSTATE
CREATE FUNCTION check_amount() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.amount < 0 THEN RAISE EXCEPTION 'amount % must not be negative', NEW.amount USING ERRCODE = 'U0001', HINT = 'fix it'; END IF; IF NEW.customer = '' THEN RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'empty customer'; END IF; RETURN NEW; END $$;
CREATE TRIGGER orders_check BEFORE INSERT OR UPDATE ON purchases FOR EACH ROW EXECUTE FUNCTION check_amount();
-- error
INSERT INTO purchases VALUES (20, 'eve', -1);
-- error
INSERT INTO purchases VALUES (21, '', 1), (22, 'fay', 2);
-- error
UPDATE purchases SET amount = -amount WHERE customer = 'bob';
BEGIN;
INSERT INTO purchases VALUES (23, 'gus', 5);
SAVEPOINT v;
-- error
UPDATE purchases SET amount = -5 WHERE id = 23;
ROLLBACK TO SAVEPOINT v;
UPDATE purchases SET amount = 6 WHERE id = 23 RETURNING id, amount;
COMMIT;
SELECT id, customer, amount, state FROM purchases ORDER BY id;

-- statement-level triggers with transition tables
CREATE TABLE batch_log (n bigserial PRIMARY KEY, tbl text, op text, rows_in int, total numeric) DISTRIBUTE BY HASH (n);
CREATE FUNCTION log_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO batch_log (tbl, op, rows_in, total) SELECT TG_TABLE_NAME, TG_OP, count(*), sum(amount) FROM new_rows; RETURN NULL; END $$;
CREATE FUNCTION log_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO batch_log (tbl, op, rows_in, total) SELECT TG_TABLE_NAME, TG_OP, count(*), sum(n.amount - o.amount) FROM new_rows n JOIN old_rows o USING (id); RETURN NULL; END $$;
CREATE FUNCTION log_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO batch_log (tbl, op, rows_in, total) SELECT TG_TABLE_NAME, TG_OP, count(*), sum(amount) FROM old_rows; RETURN NULL; END $$;
CREATE TRIGGER orders_ins_batch AFTER INSERT ON purchases REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_inserted();
CREATE TRIGGER orders_upd_batch AFTER UPDATE ON purchases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_changed();
CREATE TRIGGER orders_del_batch AFTER DELETE ON purchases REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION log_deleted();
INSERT INTO purchases SELECT g, 'bulk', g FROM generate_series(30, 39) g;
UPDATE purchases SET amount = amount + 1 WHERE customer = 'bulk' AND id < 35;
UPDATE purchases SET amount = amount + 1 WHERE id = -1;
DELETE FROM purchases WHERE customer = 'bulk' AND amount > 36 RETURNING id;
DELETE FROM purchases WHERE id IN (SELECT id FROM posts) RETURNING id, customer;
SELECT tbl, op, rows_in, total FROM batch_log ORDER BY n;

-- WHEN conditions
CREATE TABLE tickets (id int PRIMARY KEY, status text NOT NULL, changes int NOT NULL DEFAULT 0, closed_at timestamptz) DISTRIBUTE BY HASH (id);
CREATE FUNCTION bump_changes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.changes := NEW.changes + 1; IF NEW.status = 'closed' THEN NEW.closed_at := now(); END IF; RETURN NEW; END $$;
CREATE TRIGGER tickets_status BEFORE UPDATE ON tickets FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION bump_changes();
CREATE TRIGGER tickets_audit AFTER UPDATE ON tickets FOR EACH ROW WHEN (NEW.status = 'closed') EXECUTE FUNCTION audit();
INSERT INTO tickets (id, status) SELECT g, 'open' FROM generate_series(1, 6) g;
UPDATE tickets SET status = 'open';
UPDATE tickets SET status = 'working' WHERE id <= 4 RETURNING id, changes;
BEGIN;
UPDATE tickets SET status = 'closed' WHERE id IN (SELECT id FROM members WHERE id % 2 = 0) RETURNING id, status, changes, closed_at = now() AS closed_now;
COMMIT;
SELECT id, status, changes, closed_at IS NOT NULL FROM tickets ORDER BY id;
SELECT op, new_row ->> 'id' AS id FROM audit_log WHERE tbl = 'tickets' ORDER BY 2;

-- triggers on a partitioned table
CREATE TABLE happenings (id int, day date NOT NULL, kind text, note text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE happenings_jan PARTITION OF happenings FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
CREATE TABLE happenings_feb PARTITION OF happenings FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
CREATE FUNCTION note_kind() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := TG_TABLE_NAME || ':' || coalesce(NEW.kind, '?'); RETURN NEW; END $$;
CREATE TRIGGER happenings_note BEFORE INSERT OR UPDATE ON happenings FOR EACH ROW EXECUTE FUNCTION note_kind();
CREATE TRIGGER happenings_audit AFTER INSERT OR DELETE ON happenings FOR EACH ROW EXECUTE FUNCTION audit();
INSERT INTO happenings (id, day, kind) VALUES (1, '2024-01-05', 'a'), (2, '2024-02-07', 'b'), (3, '2024-01-20', NULL);
UPDATE happenings SET kind = 'z' WHERE id = 3 RETURNING id, note;
DELETE FROM happenings WHERE day >= '2024-02-01';
SELECT id, day, kind, note FROM happenings ORDER BY id;
SELECT tbl, op, coalesce(new_row, old_row) ->> 'note' AS note FROM audit_log WHERE tbl LIKE 'happenings%' ORDER BY 3, 2;

-- DISABLE / ENABLE TRIGGER
ALTER TABLE purchases DISABLE TRIGGER orders_check;
INSERT INTO purchases VALUES (40, 'neg', -3);
ALTER TABLE purchases DISABLE TRIGGER orders_audit;
UPDATE purchases SET amount = 3 WHERE id = 40;
ALTER TABLE purchases ENABLE TRIGGER orders_audit;
ALTER TABLE purchases ENABLE TRIGGER orders_check;
-- error
UPDATE purchases SET amount = -3 WHERE id = 40;
ALTER TABLE members DISABLE TRIGGER users_touch;
UPDATE members SET status = 'quiet' WHERE id = 1 RETURNING id, updated_at IS NULL AS untouched;
ALTER TABLE members ENABLE TRIGGER ALL;
ALTER TABLE accounts DISABLE TRIGGER USER;
UPDATE accounts SET credit = 7 WHERE id IN (SELECT author_id FROM posts) RETURNING id, credit;
ALTER TABLE accounts ENABLE TRIGGER USER;
SELECT op, old_row ->> 'id' AS old_id, new_row ->> 'id' AS new_id, new_row ->> 'amount' AS amount FROM audit_log WHERE tbl = 'purchases' ORDER BY 1, (coalesce(old_row, new_row) ->> 'id')::int, 4;

-- multi-row writes with RETURNING through the other coordinator
\connect 2
UPDATE members SET status = 'late' WHERE id IN (SELECT author_id FROM posts) RETURNING id, status, updated_at IS NOT NULL AS touched;
UPDATE accounts SET credit = credit + 1 WHERE id IN (SELECT id FROM members WHERE status = 'late') RETURNING id, credit;
DELETE FROM purchases WHERE customer IN (SELECT name FROM authors) RETURNING id, customer;
SELECT op, old_row ->> 'id' AS old_id FROM audit_log WHERE tbl = 'purchases' AND op = 'DELETE' ORDER BY (old_row ->> 'id')::int;
SELECT max(audit_id) - min(audit_id) + 1 = count(*) AS dense, count(DISTINCT audit_id) = count(*) AS distinct_ids FROM audit_log;
SELECT tbl, op, rows_in, total FROM batch_log ORDER BY n;
