/*
Data modification, each statement followed by a SELECT of the table's contents.
Exercises: INSERT routing (single and multi-row, rows of one statement spread over
shards, DEFAULT, serial/bigserial/identity values from GTM sequences, RETURNING), ON
CONFLICT DO NOTHING / DO UPDATE on the distribution key (unique constraints that contain
the distribution column hold cluster-wide), UPDATE/DELETE routed by `dist_col = const`
and over all shards with RETURNING and command-tag row counts, UPDATE ... FROM / DELETE
... USING with colocated and reference tables, updating the distribution column (the row
must move to its new shard), writes to MODULO, ROUNDROBIN and REPLICATION tables (all
replicas), TRUNCATE, INSERT ... SELECT (pushdown, redistribution, through the
coordinator), MERGE on one shard, constraint errors raised on the datanodes.
*/

CREATE TABLE kv (k int PRIMARY KEY, v text, n int DEFAULT 0, upd timestamptz DEFAULT '2024-01-01 00:00:00+00') DISTRIBUTE BY HASH (k);
CREATE TABLE kt (k text PRIMARY KEY, v int NOT NULL DEFAULT 7) DISTRIBUTE BY HASH (k);
CREATE TABLE kb (k bigint, v numeric(10,2), CONSTRAINT kb_pk PRIMARY KEY (k)) DISTRIBUTE BY HASH (k);
CREATE TABLE ser (id serial, grp int NOT NULL, label text DEFAULT 'none', made date DEFAULT '2024-02-02') DISTRIBUTE BY HASH (grp);
CREATE TABLE bser (id bigserial PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY, grp int NOT NULL, v text) DISTRIBUTE BY HASH (grp);
CREATE TABLE md (a int NOT NULL, b text) DISTRIBUTE BY MODULO (a);
CREATE TABLE rr (a int, b text) DISTRIBUTE BY ROUNDROBIN;
CREATE TABLE rep (code text PRIMARY KEY, label text, n int DEFAULT 1) DISTRIBUTE BY REPLICATION;
CREATE TABLE ord_copy (order_id int, user_id int, amount numeric(12,2), status varchar(12)) DISTRIBUTE BY HASH (user_id);
CREATE TABLE ord_by_status (status varchar(12), n bigint, total numeric) DISTRIBUTE BY HASH (status);

-- INSERT single row, multi-row, DEFAULT, RETURNING
INSERT INTO kv VALUES (1, 'one', 10);
SELECT * FROM kv;
INSERT INTO kv (k, v) VALUES (2, 'two');
SELECT * FROM kv ORDER BY k;
INSERT INTO kv VALUES (3, 'three', DEFAULT, DEFAULT), (4, NULL, 40, '2024-05-05 10:00:00+02'), (5, 'five', NULL, NULL);
SELECT * FROM kv ORDER BY k;
INSERT INTO kv (k, v, n) SELECT g, 'g' || g, g * 10 FROM (VALUES (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16), (17), (18), (19), (20)) t(g);
SELECT * FROM kv ORDER BY k;
INSERT INTO kv (k, v) VALUES (21, 'a'), (22, 'b'), (23, 'c') RETURNING k, v, n;
INSERT INTO kv (k) VALUES (24) RETURNING *;
INSERT INTO kv (k, v) VALUES (25, 'x'), (26, 'y') RETURNING k * 2 AS dbl, upper(v), n + 1;
-- error
INSERT INTO kv DEFAULT VALUES;
INSERT INTO kv (k, v) VALUES (-1, 'neg'), (0, 'zero'), (2147483647, 'max'), (-2147483648, 'min');
SELECT * FROM kv ORDER BY k;
SELECT count(*), sum(n), count(v) FROM kv;
-- error
INSERT INTO kv (k, v) VALUES (1, 'dup');
-- error
INSERT INTO kv (k, v) VALUES (100, 'ok'), (100, 'dup in same statement');
-- error
INSERT INTO kv (k, v) VALUES (NULL, 'null key');
-- error
INSERT INTO kv (k, v) VALUES ('abc', 'bad');
SELECT * FROM kv ORDER BY k;

INSERT INTO kt VALUES ('alpha', 1), ('beta', 2), ('gamma', DEFAULT);
INSERT INTO kt (k) VALUES ('delta'), ('') RETURNING k, v;
SELECT * FROM kt ORDER BY k;
INSERT INTO kb VALUES (9223372036854775807, 1.5), (-9223372036854775808, -2.25), (0, 0), (4294967296, 3) RETURNING *;
SELECT * FROM kb ORDER BY k;

-- serial / bigserial / identity
INSERT INTO ser (grp) VALUES (1);
INSERT INTO ser (grp, label) VALUES (2, 'b'), (3, 'c'), (1, 'a2') RETURNING id, grp, label, made;
INSERT INTO ser (id, grp) VALUES (DEFAULT, 4) RETURNING id;
INSERT INTO ser (grp, label, made) VALUES (5, DEFAULT, DEFAULT), (6, 'x', '2025-01-01') RETURNING *;
SELECT * FROM ser ORDER BY id;
INSERT INTO bser (v) VALUES ('a'), ('b'), ('c') RETURNING id, v;
INSERT INTO bser (v) VALUES ('d') RETURNING id;
SELECT * FROM bser ORDER BY id;
SELECT * FROM bser WHERE id = 2;
INSERT INTO ident (grp, v) VALUES (1, 'a'), (2, 'b'), (3, 'c') RETURNING id, grp;
SELECT * FROM ident ORDER BY id;
-- error
INSERT INTO ident (id, grp, v) VALUES (100, 1, 'explicit');
INSERT INTO ident (id, grp, v) OVERRIDING SYSTEM VALUE VALUES (100, 1, 'explicit') RETURNING *;
SELECT * FROM ident ORDER BY id;

-- ON CONFLICT on the distribution key
INSERT INTO kv (k, v) VALUES (1, 'again') ON CONFLICT DO NOTHING;
SELECT * FROM kv WHERE k = 1;
INSERT INTO kv (k, v) VALUES (1, 'again'), (30, 'new') ON CONFLICT (k) DO NOTHING RETURNING k, v;
SELECT * FROM kv ORDER BY k;
INSERT INTO kv (k, v, n) VALUES (2, 'two-upd', 5) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, n = kv.n + EXCLUDED.n RETURNING *;
INSERT INTO kv (k, v, n) VALUES (3, 'x', 1), (4, 'y', 2), (31, 'z', 3), (32, NULL, 4) ON CONFLICT (k) DO UPDATE SET v = coalesce(EXCLUDED.v, kv.v) || '!', n = coalesce(kv.n, 0) + EXCLUDED.n RETURNING k, v, n;
SELECT * FROM kv ORDER BY k;
INSERT INTO kv (k, v) VALUES (5, 'cond') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v WHERE kv.n IS NOT NULL RETURNING k, v;
INSERT INTO kv (k, v) VALUES (6, 'cond') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v WHERE kv.n > 0 RETURNING k, v;
INSERT INTO kv AS t (k, v) VALUES (7, 'alias') ON CONFLICT ON CONSTRAINT kv_pkey DO UPDATE SET v = t.v || '+' || EXCLUDED.v;
SELECT * FROM kv ORDER BY k;
INSERT INTO kt VALUES ('alpha', 100), ('omega', 9) ON CONFLICT (k) DO UPDATE SET v = kt.v + EXCLUDED.v RETURNING *;
SELECT * FROM kt ORDER BY k;
INSERT INTO kb VALUES (0, 9.99) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v * 2 RETURNING *;
SELECT * FROM kb ORDER BY k;
-- error
INSERT INTO kv (k, v) VALUES (8, 'a'), (8, 'b') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;
SELECT * FROM kv ORDER BY k;

-- UPDATE routed
UPDATE kv SET v = 'ONE' WHERE k = 1;
SELECT * FROM kv WHERE k = 1;
UPDATE kv SET n = n + 1 WHERE k = 2 RETURNING k, n;
UPDATE kv SET n = 0 WHERE k = 9999;
UPDATE kv SET v = v || '?', upd = '2024-12-31 23:59:59+00' WHERE k IN (3, 4, 5) RETURNING *;
SELECT * FROM kv ORDER BY k;
UPDATE kt SET v = v * 10 WHERE k = 'beta' RETURNING *;
SELECT * FROM kt ORDER BY k;
-- UPDATE over all shards
UPDATE kv SET n = coalesce(n, 0) * 2 WHERE n IS NULL OR n > 100;
SELECT * FROM kv ORDER BY k;
UPDATE kv SET v = upper(v) WHERE v LIKE 'g%' RETURNING k, v;
UPDATE kv SET n = -n RETURNING k, n;
SELECT * FROM kv ORDER BY k;
UPDATE kv SET v = DEFAULT, n = DEFAULT WHERE k > 20 AND k < 25 RETURNING *;
SELECT * FROM kv ORDER BY k;
UPDATE kv SET n = n WHERE false;
-- error
UPDATE kv SET n = 1 / (k - k) WHERE k > 10;
SELECT * FROM kv ORDER BY k;
-- UPDATE the distribution column: the row moves
UPDATE kv SET k = k + 1000 WHERE k IN (1, 2, 3) RETURNING k, v;
SELECT * FROM kv ORDER BY k;
SELECT * FROM kv WHERE k = 1001;
SELECT * FROM kv WHERE k = 1;
UPDATE kv SET k = -k WHERE k BETWEEN 10 AND 15 RETURNING k;
SELECT k, v FROM kv ORDER BY k;
-- error
UPDATE kv SET k = 5 WHERE k = 4;
UPDATE kt SET k = k || '2' WHERE k IN ('alpha', 'gamma') RETURNING *;
SELECT * FROM kt ORDER BY k;
SELECT * FROM kt WHERE k = 'alpha2';
UPDATE ser SET grp = grp + 10 WHERE grp < 3 RETURNING id, grp;
SELECT * FROM ser ORDER BY id;
SELECT * FROM ser WHERE grp = 11;

-- DELETE routed and over all shards
DELETE FROM kv WHERE k = 4;
SELECT * FROM kv ORDER BY k;
DELETE FROM kv WHERE k = 4;
DELETE FROM kv WHERE k IN (5, 6, 7) RETURNING *;
DELETE FROM kv WHERE v IS NULL RETURNING k;
SELECT * FROM kv ORDER BY k;
DELETE FROM kv WHERE n < -100 RETURNING k, n;
SELECT * FROM kv ORDER BY k;
DELETE FROM kt WHERE v > 50 RETURNING k;
SELECT * FROM kt ORDER BY k;
DELETE FROM kb RETURNING k;
SELECT count(*) FROM kb;

-- MODULO, ROUNDROBIN, REPLICATION writes
INSERT INTO md VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (-6, 'neg'), (0, 'zero');
SELECT * FROM md ORDER BY a;
UPDATE md SET b = b || b WHERE a % 2 = 0 RETURNING *;
UPDATE md SET a = a + 100 WHERE a = 1 RETURNING *;
DELETE FROM md WHERE a = 3;
SELECT * FROM md ORDER BY a;
SELECT * FROM md WHERE a = 101;
INSERT INTO rr VALUES (1, 'x'), (2, 'y'), (3, 'z'), (1, 'x'), (NULL, NULL) RETURNING *;
SELECT * FROM rr;
UPDATE rr SET b = 'w' WHERE a = 1;
SELECT * FROM rr;
DELETE FROM rr WHERE a IS NULL RETURNING *;
SELECT a, b, count(*) FROM rr GROUP BY a, b;
INSERT INTO rep VALUES ('a', 'A', DEFAULT), ('b', 'B', DEFAULT), ('c', NULL, 5) RETURNING *;
SELECT * FROM rep ORDER BY code;
UPDATE rep SET n = n + 1 WHERE code <> 'b' RETURNING *;
INSERT INTO rep VALUES ('a', 'A2') ON CONFLICT (code) DO UPDATE SET label = EXCLUDED.label;
DELETE FROM rep WHERE code = 'c';
SELECT * FROM rep ORDER BY code;
SELECT u.id, r.label FROM users u JOIN rep r ON r.code = substr(u.name, 1, 1) WHERE u.id < 3;
-- error
INSERT INTO rep VALUES ('a', 'dup');
SELECT * FROM rep ORDER BY code;

-- UPDATE ... FROM / DELETE ... USING
UPDATE orders o SET note = 'vip order' FROM users u WHERE u.id = o.user_id AND u.tags @> '{vip}' AND o.amount > 4000;
SELECT order_id, note FROM orders WHERE note = 'vip order';
UPDATE orders o SET status = 'local' FROM cities c, users u WHERE u.id = o.user_id AND c.city = u.city AND c.country_code = 'no' AND o.qty = 1 RETURNING o.order_id, o.status;
SELECT status, count(*) FROM orders GROUP BY status;
DELETE FROM orders o USING users u WHERE u.id = o.user_id AND u.age = 18 RETURNING o.order_id;
SELECT count(*), sum(amount) FROM orders;
DELETE FROM orders WHERE user_id NOT IN (SELECT id FROM users) RETURNING order_id, user_id;
SELECT count(*) FROM orders;
DELETE FROM logs l USING users u WHERE u.id = l.user_id AND u.city = 'cairo';
SELECT count(*) FROM logs;
UPDATE inventory i SET stock = 0 FROM skewed s WHERE s.k = i.item_id AND s.v = 99 RETURNING i.inv_id;
SELECT inv_id, stock FROM inventory ORDER BY inv_id;
UPDATE users SET score = score + 1 WHERE id IN (SELECT user_id FROM orders WHERE status = 'local');
SELECT id, score FROM users ORDER BY id;
UPDATE users SET age = age + 1 WHERE city = 'oslo' RETURNING id, age;
SELECT id, age FROM users ORDER BY id;
UPDATE orders SET user_id = user_id + 1 WHERE order_id <= 20 RETURNING order_id, user_id;
SELECT * FROM orders ORDER BY order_id;
SELECT o.order_id, u.id FROM orders o JOIN users u ON u.id = o.user_id WHERE o.order_id <= 20;
UPDATE events SET device = 'moved' WHERE ev_id % 50 = 0 RETURNING ev_id, device;
SELECT device, count(*) FROM events GROUP BY device;
SELECT ev_id FROM events WHERE device = 'moved';
UPDATE metrics SET big_id = big_id / 2 WHERE seq <= 30;
SELECT seq, big_id FROM metrics ORDER BY seq;
SELECT count(*) FROM metrics WHERE big_id = 0;

-- INSERT ... SELECT
INSERT INTO ord_copy SELECT order_id, user_id, amount, status FROM orders WHERE status = 'paid';
SELECT count(*), sum(amount) FROM ord_copy;
INSERT INTO ord_copy (order_id, user_id, amount, status) SELECT order_id, user_id, amount, status FROM orders WHERE user_id = 1 RETURNING order_id;
SELECT * FROM ord_copy ORDER BY order_id, user_id;
INSERT INTO ord_copy SELECT log_id, user_id, dur_ms, level FROM logs WHERE user_id IS NOT NULL AND log_id < 200;
SELECT count(*), count(DISTINCT user_id) FROM ord_copy;
INSERT INTO ord_by_status SELECT status, count(*), sum(amount) FROM orders GROUP BY status;
SELECT * FROM ord_by_status;
INSERT INTO ord_by_status SELECT level, count(*), NULL FROM logs GROUP BY level RETURNING *;
SELECT * FROM ord_by_status;
INSERT INTO kv (k, v, n) SELECT id, name, age FROM users WHERE id > 490 ON CONFLICT (k) DO UPDATE SET n = EXCLUDED.n;
SELECT * FROM kv ORDER BY k;
INSERT INTO kt (k, v) SELECT device, count(*) FROM events GROUP BY device ON CONFLICT DO NOTHING;
SELECT * FROM kt ORDER BY k;
INSERT INTO md SELECT item_id, warehouse FROM inventory WHERE inv_id < 20;
SELECT * FROM md ORDER BY a, b;
INSERT INTO rep SELECT code, cname FROM countries ON CONFLICT DO NOTHING;
SELECT * FROM rep ORDER BY code;
INSERT INTO ser (grp, label) SELECT k, s FROM skewed WHERE sk_id <= 10 RETURNING grp, label;
SELECT grp, label, count(*) FROM ser GROUP BY grp, label;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ser;
INSERT INTO empty_t SELECT id, age, name, score, 0.5 FROM users WHERE id < 6;
SELECT * FROM empty_t ORDER BY id;

-- MERGE on one shard
MERGE INTO kv t USING (SELECT 1001 AS k, 'merged' AS v) s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v);
MERGE INTO kv t USING (SELECT 4242 AS k, 'merged-new' AS v) s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v);
SELECT * FROM kv WHERE k IN (1001, 4242);

-- TRUNCATE
TRUNCATE ord_copy;
SELECT count(*) FROM ord_copy;
TRUNCATE md, rr;
SELECT count(*) FROM md;
SELECT count(*) FROM rr;
TRUNCATE rep;
SELECT * FROM rep;
TRUNCATE empty_t;
SELECT * FROM empty_t;
INSERT INTO md VALUES (7, 'after truncate');
SELECT * FROM md;
TRUNCATE ser RESTART IDENTITY;
INSERT INTO ser (grp) VALUES (1), (2) RETURNING id, grp;
SELECT * FROM ser ORDER BY id;
DELETE FROM kv;
SELECT count(*) FROM kv;

-- CREATE TABLE AS: IF NOT EXISTS on an existing table is a notice; storage options kept
CREATE TABLE ctas_big AS SELECT id, age FROM users WHERE id <= 20;
CREATE TABLE IF NOT EXISTS ctas_big AS SELECT id FROM users;
SELECT count(*) FROM ctas_big;
CREATE TABLE ctas_opts WITH (fillfactor = 70, autovacuum_enabled = off) AS SELECT id FROM users WHERE id < 5;
SELECT reloptions FROM pg_class WHERE oid = 'ctas_opts'::regclass;
-- error
CREATE TABLE ctas_bad WITH ("Fillfactor" = 10) AS SELECT 1 AS a;
-- error
CREATE TABLE ctas_big AS SELECT 1 AS a;

-- materialized views over no distributed table live on every server, as views do
CREATE MATERIALIZED VIEW mv_const AS SELECT g AS n, g * g AS sq FROM generate_series(1, 5) g;
SELECT * FROM mv_const ORDER BY n;
CREATE MATERIALIZED VIEW mv_later AS SELECT 42 AS answer WITH NO DATA;
-- error
SELECT * FROM mv_later;
REFRESH MATERIALIZED VIEW mv_later;
SELECT * FROM mv_later;
REFRESH MATERIALIZED VIEW mv_const;
DROP MATERIALIZED VIEW mv_const, mv_later;

-- Writes through automatically updatable views over a distributed table run on its
-- datanodes (the views exist there): conditions, renamed columns, RETURNING, CHECK OPTION.
CREATE VIEW dml_active_users AS SELECT id AS user_id, name, score, city FROM users WHERE active;
UPDATE dml_active_users SET score = score + 1 WHERE user_id < 40 RETURNING user_id, score;
SELECT id, score FROM users WHERE id < 40 ORDER BY id;
DELETE FROM dml_active_users WHERE user_id BETWEEN 40 AND 45 RETURNING user_id;
SELECT count(*) FROM users;
CREATE VIEW dml_low_score AS SELECT * FROM users WHERE score < 50 WITH CHECK OPTION;
-- error
UPDATE dml_low_score SET score = 500 WHERE score < 50;
BEGIN;
UPDATE dml_active_users SET city = 'nowhere' WHERE user_id < 100;
SELECT count(*) FROM users WHERE city = 'nowhere';
ROLLBACK;
SELECT count(*) FROM users WHERE city = 'nowhere';
UPDATE dml_low_score SET score = score + 1 WHERE city = 'oslo' RETURNING id, score;
DROP VIEW dml_low_score;
DROP VIEW dml_active_users;
-- error
CREATE TABLE dml_ctas_names (a, b, c, d) AS SELECT id, name FROM users;
CREATE TABLE dml_ctas_names (a) AS SELECT id, name, score FROM users WHERE id < 5;
SELECT * FROM dml_ctas_names ORDER BY a;
DROP TABLE dml_ctas_names;
