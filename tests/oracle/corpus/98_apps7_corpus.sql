/*
apps7: SQL as application developers write it, run on gridpg and on plain PostgreSQL
(h-apps7, 2026-12-04): a multi-tenant SaaS (tenant_id everywhere, joins on tenant_id and
on other columns, ROLLUP/CUBE/GROUPING SETS, NOT IN with NULLs), an e-commerce shop
(identity keys, stock decrement with RETURNING, coupons, ON CONFLICT counters with
EXCLUDED, LATERAL top-N, keyset pagination, savepoints), a job queue (FOR UPDATE SKIP
LOCKED forms, advisory locks), a range-partitioned time series (date_trunc, date_bin,
generate_series gap filling, percentiles, FILTER, window frames with RANGE INTERVAL),
a social graph (WITH RECURSIVE ... CYCLE / SEARCH), audit triggers with
jsonb_build_object, JSONB documents (jsonpath, GIN), full-text search, arrays, modifying
CTE chains and upserts from SELECT across non-colocated tables, identity through two
coordinators, values equal but printed differently (numeric scales, intervals, -0,
enums' order, inet, bytea) in GROUP BY/DISTINCT/joins/keys, session TimeZone/DateStyle,
WITH TIES, empty inputs, partial-unique upserts, key moves, row security by a session
setting, statement triggers with transition tables, cascading foreign keys to colocated and
replicated tables, deferrable unique keys. Every statement here agreed with PostgreSQL when it was written.
*/

-- ---- saas_shop ----
CREATE TABLE tenants (id int PRIMARY KEY, name text NOT NULL, plan text NOT NULL DEFAULT 'free', created date NOT NULL) DISTRIBUTE BY REPLICATION;
CREATE TABLE accounts (tenant_id int NOT NULL, id bigint NOT NULL, email text NOT NULL, display_name text, manager_id bigint, region text, PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, email)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE projects (tenant_id int NOT NULL, id bigint NOT NULL, owner_id bigint NOT NULL, title text NOT NULL, budget numeric(12,2), archived boolean NOT NULL DEFAULT false, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE tasks (tenant_id int NOT NULL, id bigint NOT NULL, project_id bigint NOT NULL, assignee_id bigint, status text NOT NULL DEFAULT 'open', estimate int, due date, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);

INSERT INTO tenants VALUES (1, 'acme', 'pro', '2024-01-01'), (2, 'globex', 'free', '2024-02-01'), (3, 'initech', 'enterprise', '2024-03-01'), (4, 'empty co', 'free', '2024-04-01');
INSERT INTO accounts SELECT t, a, 'u' || a || '@t' || t || '.io', CASE WHEN a % 5 = 0 THEN NULL ELSE 'User ' || a END, CASE WHEN a > 1 THEN 1 END, (ARRAY['eu','us',NULL])[1 + a % 3] FROM generate_series(1, 3) t, generate_series(1, 12) a;
INSERT INTO projects SELECT t, p, 1 + (p * 7) % 12, 'Project ' || t || '-' || p, CASE WHEN p % 4 = 0 THEN NULL ELSE p * 1000.50 END, p % 6 = 0 FROM generate_series(1, 3) t, generate_series(1, 10) p;
INSERT INTO tasks SELECT t, k, 1 + k % 10, CASE WHEN k % 7 = 0 THEN NULL ELSE 1 + k % 12 END, (ARRAY['open','doing','done'])[1 + k % 3], CASE WHEN k % 5 = 0 THEN NULL ELSE k % 8 END, DATE '2025-01-01' + (k % 40) FROM generate_series(1, 3) t, generate_series(1, 60) k;
SELECT t.name, count(a.id) AS accounts FROM tenants t LEFT JOIN accounts a ON a.tenant_id = t.id GROUP BY t.name ORDER BY t.name;
SELECT p.tenant_id, p.title, count(k.id) AS n, sum(k.estimate) AS est FROM projects p LEFT JOIN tasks k ON k.tenant_id = p.tenant_id AND k.project_id = p.id WHERE p.tenant_id = 2 GROUP BY p.tenant_id, p.title ORDER BY n DESC, p.title;
-- join on a non-key column only (region across tenants)
SELECT a.region, count(*) FROM accounts a JOIN accounts b ON a.region = b.region AND a.tenant_id <> b.tenant_id GROUP BY a.region ORDER BY a.region NULLS FIRST;
SELECT a.tenant_id, a.email, m.email AS manager FROM accounts a LEFT JOIN accounts m ON m.tenant_id = a.tenant_id AND m.id = a.manager_id WHERE a.id IN (1, 2, 5) ORDER BY a.tenant_id, a.email;
-- join on manager without tenant (cross-tenant by mistake, as apps do)
SELECT count(*) FROM accounts a JOIN accounts m ON m.id = a.manager_id;
SELECT k.status, count(*) FILTER (WHERE k.assignee_id IS NULL) AS unassigned, count(*) AS total, round(avg(k.estimate), 3) AS avg_est FROM tasks k GROUP BY k.status ORDER BY k.status;
SELECT a.region, k.status, count(*) FROM tasks k JOIN accounts a ON a.tenant_id = k.tenant_id AND a.id = k.assignee_id GROUP BY ROLLUP (a.region, k.status) ORDER BY a.region NULLS LAST, k.status NULLS LAST;
SELECT tenant_id, status, count(*) FROM tasks GROUP BY CUBE (tenant_id, status) ORDER BY tenant_id NULLS LAST, status NULLS LAST;
SELECT tenant_id, assignee_id, count(*) FROM tasks GROUP BY GROUPING SETS ((tenant_id), (assignee_id), ()) ORDER BY 1 NULLS LAST, 2 NULLS LAST;
SELECT GROUPING(tenant_id, status) AS g, tenant_id, status, sum(estimate) FROM tasks GROUP BY ROLLUP (tenant_id, status) ORDER BY g, tenant_id NULLS LAST, status NULLS LAST;
-- NULL grouping across nodes
SELECT assignee_id, count(*) FROM tasks WHERE tenant_id IN (1, 3) GROUP BY assignee_id ORDER BY assignee_id NULLS FIRST;
SELECT a.display_name, count(*) FROM accounts a GROUP BY a.display_name HAVING count(*) > 2 ORDER BY 1 NULLS FIRST;
SELECT DISTINCT region FROM accounts ORDER BY region NULLS FIRST;
SELECT count(DISTINCT region), count(region), count(*) FROM accounts;
-- NOT IN with NULLs across nodes
SELECT count(*) FROM accounts WHERE id NOT IN (SELECT assignee_id FROM tasks WHERE tenant_id = 1);
SELECT count(*) FROM accounts WHERE id NOT IN (SELECT assignee_id FROM tasks WHERE assignee_id IS NOT NULL AND tenant_id = 1);
SELECT tenant_id, id FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM tasks k WHERE k.tenant_id = a.tenant_id AND k.assignee_id = a.id) ORDER BY 1, 2;
SELECT tenant_id, id FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM tasks k WHERE k.assignee_id = a.id AND k.status = 'doing' AND k.tenant_id = 2) ORDER BY 1, 2;
-- tenant deletion flow
BEGIN;
DELETE FROM tasks WHERE tenant_id = 3 AND project_id IN (SELECT id FROM projects WHERE tenant_id = 3 AND archived);
DELETE FROM tasks k USING projects p WHERE p.tenant_id = k.tenant_id AND p.id = k.project_id AND p.budget IS NULL RETURNING k.tenant_id, k.id, p.title;
SELECT tenant_id, count(*) FROM tasks GROUP BY tenant_id ORDER BY 1;
ROLLBACK;
SELECT count(*) FROM tasks;
-- bulk update from VALUES
UPDATE projects p SET budget = v.b, title = p.title || ' (' || v.tag || ')' FROM (VALUES (1, 1, 11.5, 'a'), (2, 3, NULL, 'b'), (3, 10, 99.99, 'c'), (9, 9, 1, 'none')) AS v(t, id, b, tag) WHERE p.tenant_id = v.t AND p.id = v.id RETURNING p.tenant_id, p.id, p.budget, p.title;
UPDATE tasks SET status = 'done', estimate = coalesce(estimate, 0) + 1 WHERE (tenant_id, id) IN ((1, 5), (2, 6), (3, 7), (3, 8)) RETURNING tenant_id, id, status, estimate * 2 AS doubled;
UPDATE accounts a SET region = m.region FROM accounts m WHERE m.tenant_id = a.tenant_id AND m.id = a.manager_id AND a.region IS NULL RETURNING a.tenant_id, a.id, a.region;
SELECT tenant_id, id, region FROM accounts ORDER BY tenant_id, id;
-- e-commerce
CREATE TABLE products (id int PRIMARY KEY, sku text UNIQUE NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL, stock int NOT NULL CHECK (stock >= 0), tags text[] NOT NULL DEFAULT '{}') DISTRIBUTE BY REPLICATION;
CREATE TABLE stock_levels (product_id int PRIMARY KEY, warehouse text NOT NULL DEFAULT 'main', on_hand int NOT NULL CHECK (on_hand >= 0), reserved int NOT NULL DEFAULT 0);
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text UNIQUE NOT NULL, name text);
CREATE TABLE shop_orders (id bigint GENERATED BY DEFAULT AS IDENTITY, customer_id bigint NOT NULL, status text NOT NULL DEFAULT 'cart', total numeric(12,2) NOT NULL DEFAULT 0, coupon text, placed date, PRIMARY KEY (customer_id, id)) DISTRIBUTE BY HASH (customer_id);
CREATE TABLE order_items (customer_id bigint NOT NULL, order_id bigint NOT NULL, line int NOT NULL, product_id int NOT NULL, qty int NOT NULL, unit_price numeric(10,2) NOT NULL, PRIMARY KEY (customer_id, order_id, line)) DISTRIBUTE BY HASH (customer_id);
CREATE TABLE coupons (code text PRIMARY KEY, pct int NOT NULL, uses int NOT NULL DEFAULT 0, max_uses int) DISTRIBUTE BY REPLICATION;
CREATE TABLE page_views (product_id int NOT NULL, day date NOT NULL, views bigint NOT NULL DEFAULT 1, last_ref text, PRIMARY KEY (product_id, day));
INSERT INTO products SELECT i, 'SKU-' || lpad(i::text, 4, '0'), 'Product ' || i, (i * 3.75)::numeric(10,2), 10 + i % 5, CASE WHEN i % 2 = 0 THEN ARRAY['even'] ELSE ARRAY['odd', 'x' || i % 3] END FROM generate_series(1, 20) i;
INSERT INTO stock_levels (product_id, on_hand) SELECT id, stock FROM products RETURNING product_id, on_hand, warehouse;
INSERT INTO customers (email, name) VALUES ('ann@x.io', 'Ann'), ('bob@x.io', 'Bob'), ('cid@x.io', NULL), ('dee@x.io', 'Dee') RETURNING id, email, upper(coalesce(name, '?')) AS shout;
-- error
INSERT INTO customers (id, email) VALUES (100, 'zed@x.io');
INSERT INTO customers (id, email) OVERRIDING SYSTEM VALUE VALUES (100, 'zed@x.io') RETURNING id;
INSERT INTO customers (email) VALUES ('eve@x.io') RETURNING id;
SELECT id, email FROM customers ORDER BY id;
INSERT INTO coupons VALUES ('TEN', 10, 0, 2), ('HALF', 50, 0, NULL), ('DEAD', 5, 3, 3);
INSERT INTO shop_orders (customer_id, status, placed) VALUES (1, 'placed', '2025-03-01'), (1, 'cart', NULL), (2, 'placed', '2025-03-02'), (3, 'placed', '2025-03-02'), (4, 'cancelled', '2025-03-03') RETURNING id, customer_id, status;
INSERT INTO order_items SELECT o.customer_id, o.id, g, 1 + (o.id * g) % 20, g, p.price FROM shop_orders o CROSS JOIN generate_series(1, 3) g JOIN products p ON p.id = 1 + (o.id * g) % 20;
SELECT customer_id, order_id, line, product_id, qty, unit_price FROM order_items ORDER BY customer_id, order_id, line;
UPDATE shop_orders o SET total = s.t FROM (SELECT customer_id, order_id, sum(qty * unit_price) AS t FROM order_items GROUP BY customer_id, order_id) s WHERE s.customer_id = o.customer_id AND s.order_id = o.id RETURNING o.id, o.total;
-- stock_levels decrement: succeeds, then fails on stock
UPDATE stock_levels SET on_hand = on_hand - 3 WHERE product_id = 4 AND on_hand >= 3 RETURNING product_id, on_hand, on_hand + 3 AS before;
UPDATE stock_levels SET on_hand = on_hand - 50 WHERE product_id = 4 AND on_hand >= 50 RETURNING product_id, on_hand;
UPDATE stock_levels i SET on_hand = i.on_hand - x.q FROM (SELECT product_id, sum(qty)::int AS q FROM order_items WHERE customer_id = 1 GROUP BY product_id) x WHERE x.product_id = i.product_id AND i.on_hand >= x.q RETURNING i.product_id, i.on_hand, x.q;
-- error
UPDATE stock_levels SET on_hand = on_hand - 100 WHERE product_id IN (1, 2);
SELECT product_id, on_hand FROM stock_levels ORDER BY product_id;
-- coupon redemption with a limit
UPDATE coupons SET uses = uses + 1 WHERE code = 'TEN' AND (max_uses IS NULL OR uses < max_uses) RETURNING code, uses, max_uses - uses AS left_over;
UPDATE coupons SET uses = uses + 1 WHERE code = 'DEAD' AND (max_uses IS NULL OR uses < max_uses) RETURNING code;
WITH c AS (UPDATE coupons SET uses = uses + 1 WHERE code = 'HALF' RETURNING code, pct) UPDATE shop_orders o SET coupon = c.code, total = round(o.total * (100 - c.pct) / 100, 2) FROM c WHERE o.customer_id = 2 AND o.status = 'placed' RETURNING o.id, o.coupon, o.total;
SELECT code, uses FROM coupons ORDER BY code;
-- counters with ON CONFLICT
INSERT INTO page_views (product_id, day, last_ref) VALUES (1, '2025-03-01', 'g'), (2, '2025-03-01', 'b') ON CONFLICT (product_id, day) DO UPDATE SET views = page_views.views + EXCLUDED.views, last_ref = EXCLUDED.last_ref RETURNING product_id, views, (xmax = 0) AS inserted;
INSERT INTO page_views (product_id, day, views, last_ref) VALUES (1, '2025-03-01', 5, 'h'), (3, '2025-03-01', 2, NULL) ON CONFLICT (product_id, day) DO UPDATE SET views = page_views.views + EXCLUDED.views, last_ref = coalesce(EXCLUDED.last_ref, page_views.last_ref) RETURNING product_id, views, last_ref;
INSERT INTO page_views (product_id, day, views) SELECT product_id, '2025-03-01', count(*) FROM order_items GROUP BY product_id ON CONFLICT (product_id, day) DO UPDATE SET views = page_views.views + EXCLUDED.views WHERE page_views.views < 100 RETURNING product_id, views;
INSERT INTO page_views (product_id, day) VALUES (1, '2025-03-01') ON CONFLICT DO NOTHING RETURNING product_id;
-- error
INSERT INTO page_views (product_id, day) VALUES (7, '2025-03-09'), (7, '2025-03-09') ON CONFLICT (product_id, day) DO UPDATE SET views = page_views.views + 1;
SELECT product_id, day, views, last_ref FROM page_views ORDER BY product_id, day;
INSERT INTO page_views (product_id, day, views) VALUES (10, '2025-03-02', 1) ON CONFLICT (product_id, day) DO UPDATE SET views = EXCLUDED.views * 10 RETURNING *;
-- reports
SELECT p.name, sum(oi.qty) AS units, sum(oi.qty * oi.unit_price) AS revenue FROM order_items oi JOIN products p ON p.id = oi.product_id JOIN shop_orders o ON o.customer_id = oi.customer_id AND o.id = oi.order_id WHERE o.status = 'placed' GROUP BY p.name ORDER BY revenue DESC, p.name LIMIT 5;
SELECT c.name, o.id, o.total, rank() OVER (ORDER BY o.total DESC) FROM shop_orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.total DESC, o.id;
SELECT t, count(*) FROM products, unnest(tags) t GROUP BY t ORDER BY t;
SELECT id, name FROM products WHERE 'x1' = ANY (tags) ORDER BY id;
SELECT id FROM products WHERE tags && ARRAY['x2', 'even'] AND price > 50 ORDER BY id;
SELECT customer_id, array_agg(product_id ORDER BY line DESC) AS prods, string_agg(qty::text, ',' ORDER BY line) AS q FROM order_items GROUP BY customer_id ORDER BY customer_id;
SELECT o.customer_id, o.id, x.product_id, x.qty FROM shop_orders o CROSS JOIN LATERAL (SELECT product_id, qty FROM order_items i WHERE i.customer_id = o.customer_id AND i.order_id = o.id ORDER BY qty DESC, product_id LIMIT 2) x ORDER BY 1, 2, 4 DESC, 3;
SELECT c.id, c.email, coalesce(s.n, 0) AS orders FROM customers c LEFT JOIN LATERAL (SELECT count(*) AS n FROM shop_orders o WHERE o.customer_id = c.id AND o.status <> 'cancelled') s ON true ORDER BY c.id;
SELECT DISTINCT ON (customer_id) customer_id, id, total FROM shop_orders ORDER BY customer_id, total DESC, id;
-- keyset pagination
SELECT customer_id, order_id, line FROM order_items WHERE (customer_id, order_id, line) > (1, 2, 1) ORDER BY customer_id, order_id, line LIMIT 4;
SELECT id, price FROM products WHERE (price, id) < (30.00, 8) ORDER BY price DESC, id DESC LIMIT 3;
-- cart checkout in one transaction with a savepoint
BEGIN;
UPDATE shop_orders SET status = 'placed', placed = '2025-03-05' WHERE customer_id = 1 AND status = 'cart' RETURNING id;
SAVEPOINT s1;
-- error
UPDATE stock_levels SET on_hand = on_hand - 1000 WHERE product_id = 3;
ROLLBACK TO SAVEPOINT s1;
UPDATE stock_levels SET on_hand = on_hand - 1 WHERE product_id = 3 RETURNING on_hand;
RELEASE SAVEPOINT s1;
COMMIT;
SELECT customer_id, id, status, placed FROM shop_orders ORDER BY customer_id, id;
SELECT product_id, on_hand FROM stock_levels WHERE product_id = 3;
-- delete with returning and a CTE chain
WITH gone AS (DELETE FROM shop_orders WHERE status = 'cancelled' RETURNING customer_id, id), items AS (DELETE FROM order_items i USING gone g WHERE i.customer_id = g.customer_id AND i.order_id = g.id RETURNING i.product_id, i.qty) SELECT count(*), sum(qty) FROM items;
SELECT count(*) FROM order_items;
WITH moved AS (UPDATE stock_levels SET reserved = reserved + 1 WHERE product_id <= 3 RETURNING product_id, reserved) INSERT INTO page_views (product_id, day, views) SELECT product_id, '2025-04-01', reserved FROM moved RETURNING product_id, views;
SELECT product_id, reserved FROM stock_levels WHERE reserved > 0 ORDER BY 1;

-- ---- queue_ts ----
CREATE TABLE jobs (id bigserial PRIMARY KEY, queue text NOT NULL, payload jsonb NOT NULL DEFAULT '{}', priority int NOT NULL DEFAULT 0, state text NOT NULL DEFAULT 'ready', attempts int NOT NULL DEFAULT 0, run_at timestamp NOT NULL, locked_by text);
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, id) WHERE state = 'ready';
INSERT INTO jobs (queue, payload, priority, run_at) SELECT (ARRAY['mail','img','billing'])[1 + i % 3], jsonb_build_object('n', i, 'to', 'user' || i || '@x.io'), i % 4, TIMESTAMP '2025-01-01 00:00' + i * INTERVAL '1 minute' FROM generate_series(1, 30) i RETURNING id, queue;
SELECT id, queue, priority FROM jobs WHERE state = 'ready' AND queue = 'mail' ORDER BY priority DESC, id LIMIT 3 FOR UPDATE SKIP LOCKED;
UPDATE jobs SET state = 'running', locked_by = 'w1', attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE state = 'ready' AND queue = 'img' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, queue, state, attempts, payload->>'to' AS recipient;
UPDATE jobs SET state = 'running', locked_by = 'w2' WHERE id IN (SELECT id FROM jobs WHERE state = 'ready' AND run_at <= TIMESTAMP '2025-01-01 00:10' ORDER BY run_at, id LIMIT 4 FOR UPDATE SKIP LOCKED) RETURNING id, locked_by;
WITH next AS (SELECT id FROM jobs WHERE state = 'ready' ORDER BY priority DESC, run_at, id LIMIT 2 FOR UPDATE SKIP LOCKED) UPDATE jobs j SET state = 'running', locked_by = 'w3' FROM next WHERE j.id = next.id RETURNING j.id, j.priority;
SELECT state, locked_by, count(*), min(id), max(id) FROM jobs GROUP BY state, locked_by ORDER BY state, locked_by NULLS FIRST;
DELETE FROM jobs WHERE id = (SELECT id FROM jobs WHERE state = 'running' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, payload;
DELETE FROM jobs WHERE state = 'running' AND locked_by = 'w2' RETURNING id, queue, payload->'n' AS n;
UPDATE jobs SET state = CASE WHEN attempts >= 1 THEN 'failed' ELSE 'ready' END, locked_by = NULL WHERE locked_by IS NOT NULL RETURNING id, state;
SELECT id, queue, state FROM jobs ORDER BY id LIMIT 8;
SELECT queue, count(*) FILTER (WHERE state = 'ready') AS ready, count(*) FILTER (WHERE state = 'failed') AS failed FROM jobs GROUP BY queue ORDER BY queue;
BEGIN;
SELECT id FROM jobs WHERE queue = 'billing' ORDER BY id LIMIT 2 FOR UPDATE;
SELECT id FROM jobs WHERE queue = 'billing' ORDER BY id LIMIT 2 FOR NO KEY UPDATE SKIP LOCKED;
SELECT j.id FROM jobs j WHERE j.queue = 'mail' ORDER BY j.id LIMIT 1 FOR SHARE OF j;
COMMIT;
INSERT INTO jobs (queue, run_at) VALUES ('mail', '2025-02-01') RETURNING id, state, attempts, payload;
SELECT count(*), count(DISTINCT id), max(id) - min(id) + 1 AS span FROM jobs;
-- advisory locks
SELECT pg_try_advisory_lock(42), pg_try_advisory_lock(42);
SELECT pg_advisory_unlock(42), pg_advisory_unlock(42), pg_advisory_unlock(42);
BEGIN;
SELECT pg_try_advisory_xact_lock(7, 8);
-- (an advisory lock function over a table's rows is refused since h-session29:
-- tests/integration/test_session_sql29.py)
COMMIT;
-- time series, range partitioned
CREATE TABLE readings (device_id int NOT NULL, ts timestamp NOT NULL, temp numeric(6,2), hum double precision, tags jsonb) PARTITION BY RANGE (ts);
CREATE TABLE readings_2025_01 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
CREATE TABLE readings_2025_02 PARTITION OF readings FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
CREATE TABLE readings_default PARTITION OF readings DEFAULT;
INSERT INTO readings SELECT d, TIMESTAMP '2025-01-30 20:00' + (i * INTERVAL '37 minutes'), round((20 + d + (i % 11) * 0.5)::numeric, 2), (40 + (i * d) % 17)::float8, CASE WHEN i % 9 = 0 THEN '{"alert": true}'::jsonb END FROM generate_series(1, 4) d, generate_series(0, 200) i WHERE NOT (d = 3 AND i BETWEEN 40 AND 70);
SELECT tableoid::regclass AS part, count(*) FROM readings GROUP BY 1 ORDER BY 1;
SELECT date_trunc('day', ts) AS day, device_id, count(*), min(temp), max(temp), round(avg(temp), 3) FROM readings GROUP BY 1, 2 ORDER BY 1, 2;
SELECT date_trunc('hour', ts) AS h, round(avg(temp), 2) AS t FROM readings WHERE device_id = 2 AND ts >= '2025-02-01 00:00' AND ts < '2025-02-01 08:00' GROUP BY 1 ORDER BY 1;
-- gap filling with generate_series and a LEFT JOIN
SELECT g.h, r.device_id IS NULL AS gap, coalesce(r.n, 0) AS n FROM generate_series(TIMESTAMP '2025-01-31 12:00', TIMESTAMP '2025-02-01 12:00', INTERVAL '2 hours') g(h) LEFT JOIN (SELECT date_trunc('hour', ts) - (extract(hour FROM ts)::int % 2) * INTERVAL '1 hour' AS b, device_id, count(*) AS n FROM readings WHERE device_id = 3 GROUP BY 1, 2) r ON r.b = g.h ORDER BY g.h;
-- time_bucket-like arithmetic (15 minute buckets from an origin)
SELECT TIMESTAMP '2025-01-01' + floor(extract(epoch FROM ts - TIMESTAMP '2025-01-01') / 900) * INTERVAL '15 minutes' AS bucket, count(*), sum(temp) FROM readings WHERE ts < '2025-01-31 02:00' GROUP BY 1 ORDER BY 1;
SELECT date_bin('30 minutes', ts, TIMESTAMP '2025-01-01') AS b, device_id, max(hum) FROM readings WHERE ts BETWEEN '2025-02-02' AND '2025-02-02 03:00' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT device_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY temp) AS median, percentile_disc(0.9) WITHIN GROUP (ORDER BY temp) AS p90, percentile_cont(ARRAY[0.25, 0.75]) WITHIN GROUP (ORDER BY hum) AS q FROM readings GROUP BY device_id ORDER BY device_id;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY hum), mode() WITHIN GROUP (ORDER BY device_id) FROM readings;
SELECT device_id, count(*) FILTER (WHERE tags @> '{"alert": true}') AS alerts, count(*) FILTER (WHERE temp > 25) AS hot, avg(hum) FILTER (WHERE temp > 25) AS hum_hot FROM readings GROUP BY device_id ORDER BY 1;
SELECT device_id, stddev_samp(temp)::numeric(10,4) AS sd, var_pop(hum)::numeric(12,4) AS vp, corr(temp, hum)::numeric(10,6) AS c, regr_slope(hum, temp)::numeric(10,6) AS slope FROM readings GROUP BY device_id ORDER BY 1;
-- windows over time
SELECT device_id, ts, temp, temp - lag(temp) OVER w AS delta, lead(ts) OVER w - ts AS gap_to_next FROM readings WHERE device_id = 3 AND ts BETWEEN '2025-01-31 18:00' AND '2025-02-01 20:00' WINDOW w AS (PARTITION BY device_id ORDER BY ts) ORDER BY ts;
SELECT device_id, ts, round(avg(temp) OVER (PARTITION BY device_id ORDER BY ts RANGE BETWEEN INTERVAL '2 hours' PRECEDING AND CURRENT ROW), 3) AS mov FROM readings WHERE ts < '2025-01-31 04:00' ORDER BY device_id, ts;
SELECT device_id, ts, sum(temp) OVER (PARTITION BY device_id ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s3, count(*) OVER (PARTITION BY device_id) AS total FROM readings WHERE ts < '2025-01-30 23:00' ORDER BY device_id, ts;
SELECT ts, temp, ntile(4) OVER (ORDER BY temp, ts) AS quartile, cume_dist() OVER (ORDER BY temp) AS cd, percent_rank() OVER (ORDER BY temp) AS pr FROM readings WHERE device_id = 1 AND ts < '2025-01-31 06:00' ORDER BY ts;
SELECT device_id, ts, temp FROM (SELECT device_id, ts, temp, row_number() OVER (PARTITION BY device_id ORDER BY temp DESC, ts) AS rn FROM readings) x WHERE rn <= 2 ORDER BY device_id, rn;
SELECT ts, sum(temp) OVER (ORDER BY ts) AS running, first_value(temp) OVER (ORDER BY ts ROWS UNBOUNDED PRECEDING) AS f, last_value(temp) OVER (ORDER BY ts ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS l, nth_value(temp, 2) OVER (ORDER BY ts) AS second FROM readings WHERE device_id = 4 AND ts < '2025-01-31 01:00' ORDER BY ts;
SELECT device_id, date_trunc('day', ts)::date AS d, sum(count(*)) OVER (PARTITION BY device_id ORDER BY date_trunc('day', ts)) AS cum FROM readings GROUP BY device_id, date_trunc('day', ts) ORDER BY 1, 2;
-- gaps and islands (device 3's missing window)
SELECT device_id, min(ts) AS from_ts, max(ts) AS to_ts, count(*) FROM (SELECT device_id, ts, ts - row_number() OVER (PARTITION BY device_id ORDER BY ts) * INTERVAL '37 minutes' AS grp FROM readings) s GROUP BY device_id, grp ORDER BY device_id, from_ts;
-- retention: delete an old partition's rows with RETURNING, then recount
DELETE FROM readings WHERE ts < '2025-01-30 23:00' RETURNING device_id, ts, temp;
UPDATE readings SET temp = temp + 100 WHERE ts >= '2025-03-01' AND device_id = 1 RETURNING tableoid::regclass, device_id, ts, temp;
SELECT count(*), sum(temp) FROM readings;
-- moving a row between partitions by UPDATE
UPDATE readings SET ts = ts + INTERVAL '40 days' WHERE device_id = 4 AND ts = (SELECT min(ts) FROM readings WHERE device_id = 4) RETURNING tableoid::regclass, ts;
SELECT tableoid::regclass AS part, device_id, count(*) FROM readings GROUP BY 1, 2 ORDER BY 1, 2;
-- a distributed events table with a timestamp key (default distribution)
CREATE TABLE clicks (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL, user_ref int, url text, ms int);
INSERT INTO clicks (at, user_ref, url, ms) SELECT TIMESTAMPTZ '2025-05-01 00:00+00' + i * INTERVAL '7 minutes', CASE WHEN i % 6 = 0 THEN NULL ELSE i % 9 END, '/p/' || (i % 5), (i * 37) % 1000 FROM generate_series(1, 400) i;
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM clicks;
SELECT url, count(*), percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95, max(ms) FROM clicks GROUP BY url ORDER BY url;
SELECT user_ref, count(*), min(at), max(at) FROM clicks GROUP BY user_ref ORDER BY user_ref NULLS FIRST;
SELECT date_trunc('hour', at) AS h, count(*) FROM clicks GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5;
SELECT user_ref, url, count(*) FROM clicks WHERE user_ref IS NULL OR user_ref < 2 GROUP BY GROUPING SETS ((user_ref), (user_ref, url)) ORDER BY 1 NULLS FIRST, 2 NULLS FIRST;
-- sessionization: new session after 30 minutes idle
SELECT user_ref, count(*) AS sessions FROM (SELECT user_ref, CASE WHEN at - lag(at) OVER (PARTITION BY user_ref ORDER BY at) > INTERVAL '30 minutes' THEN 1 ELSE 0 END AS new_s FROM clicks WHERE user_ref IS NOT NULL) s WHERE new_s = 1 GROUP BY user_ref ORDER BY 1;
SELECT g.d::date, count(c.id) FROM generate_series(TIMESTAMPTZ '2025-04-30 00:00+00', TIMESTAMPTZ '2025-05-04 00:00+00', INTERVAL '1 day') g(d) LEFT JOIN clicks c ON c.at >= g.d AND c.at < g.d + INTERVAL '1 day' GROUP BY g.d ORDER BY g.d;
SELECT id, at FROM clicks ORDER BY at DESC, id DESC LIMIT 3 OFFSET 2;
SELECT id, at FROM clicks WHERE (at, id) < ('2025-05-02 00:00+00', 200) ORDER BY at DESC, id DESC LIMIT 3;

-- ---- graph_docs ----
CREATE TABLE people (id int PRIMARY KEY, handle text NOT NULL, joined date NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE follows (src int NOT NULL, dst int NOT NULL, since date NOT NULL, PRIMARY KEY (src, dst)) DISTRIBUTE BY HASH (src);
INSERT INTO people SELECT i, 'p' || i, DATE '2024-01-01' + i FROM generate_series(1, 25) i;
INSERT INTO follows SELECT i, 1 + (i * 3) % 25, DATE '2024-06-01' + i FROM generate_series(1, 25) i WHERE i <> 1 + (i * 3) % 25;
INSERT INTO follows SELECT i, 1 + (i + 5) % 25, DATE '2024-07-01' + i FROM generate_series(1, 25) i WHERE i % 2 = 0 ON CONFLICT DO NOTHING;
SELECT count(*) FROM follows;
WITH RECURSIVE reach(id, depth) AS (SELECT 1, 0 UNION SELECT f.dst, r.depth + 1 FROM reach r JOIN follows f ON f.src = r.id WHERE r.depth < 3) SELECT id, min(depth) FROM reach GROUP BY id ORDER BY 2, 1;
WITH RECURSIVE path(src, dst, hops, trail) AS (SELECT src, dst, 1, ARRAY[src, dst] FROM follows WHERE src = 2 UNION ALL SELECT p.src, f.dst, p.hops + 1, p.trail || f.dst FROM path p JOIN follows f ON f.src = p.dst WHERE NOT f.dst = ANY (p.trail) AND p.hops < 4) SELECT dst, min(hops), count(*) FROM path GROUP BY dst ORDER BY dst;
WITH RECURSIVE g(id, hops) AS (SELECT 5, 0 UNION ALL SELECT f.dst, g.hops + 1 FROM g JOIN follows f ON f.src = g.id) CYCLE id SET is_cycle USING path SELECT id, hops, is_cycle FROM g WHERE is_cycle OR hops <= 2 ORDER BY hops, id, is_cycle LIMIT 20;
WITH RECURSIVE g(id, hops) AS (SELECT 5, 0 UNION ALL SELECT f.dst, g.hops + 1 FROM g JOIN follows f ON f.src = g.id WHERE g.hops < 3) SEARCH BREADTH FIRST BY id SET ord SELECT id, hops FROM g ORDER BY ord;
-- mutual follows (self join on non-key dst)
SELECT a.src, a.dst FROM follows a JOIN follows b ON a.src = b.dst AND a.dst = b.src WHERE a.src < a.dst ORDER BY 1, 2;
-- followers count via the non-distribution column
SELECT p.handle, count(f.src) AS followers FROM people p LEFT JOIN follows f ON f.dst = p.id GROUP BY p.handle ORDER BY followers DESC, p.handle LIMIT 6;
-- friends of friends not yet followed
SELECT f2.dst AS suggestion, count(*) AS via FROM follows f1 JOIN follows f2 ON f2.src = f1.dst WHERE f1.src = 4 AND f2.dst <> 4 AND NOT EXISTS (SELECT 1 FROM follows x WHERE x.src = 4 AND x.dst = f2.dst) GROUP BY f2.dst ORDER BY via DESC, suggestion;
-- org chart on a replicated table
CREATE TABLE staff (id int PRIMARY KEY, boss int REFERENCES staff(id), name text NOT NULL) DISTRIBUTE BY REPLICATION;
INSERT INTO staff VALUES (1, NULL, 'ceo'), (2, 1, 'cto'), (3, 1, 'cfo'), (4, 2, 'dev1'), (5, 2, 'dev2'), (6, 4, 'intern');
WITH RECURSIVE chain AS (SELECT id, boss, name, name::text AS path, 1 AS lvl FROM staff WHERE boss IS NULL UNION ALL SELECT s.id, s.boss, s.name, c.path || ' > ' || s.name, c.lvl + 1 FROM staff s JOIN chain c ON s.boss = c.id) SELECT path, lvl FROM chain ORDER BY path;
-- audit log through triggers and jsonb_build_object
CREATE TABLE audit_log (id bigserial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL, row_key text, diff jsonb);
CREATE TABLE documents (id int PRIMARY KEY, owner int NOT NULL, title text NOT NULL, body jsonb NOT NULL, version int NOT NULL DEFAULT 1);
CREATE FUNCTION audit_docs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO audit_log (tbl, op, row_key, diff) VALUES (TG_TABLE_NAME, TG_OP, OLD.id::text, jsonb_build_object('old_title', OLD.title))
    ; RETURN OLD
    ; END IF
  ; INSERT INTO audit_log (tbl, op, row_key, diff) VALUES (TG_TABLE_NAME, TG_OP, NEW.id::text, jsonb_build_object('title', NEW.title, 'version', NEW.version, 'was', CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD.title) END))
  ; RETURN NEW
  ; END
$$;
CREATE TRIGGER documents_audit AFTER INSERT OR UPDATE OR DELETE ON documents FOR EACH ROW EXECUTE FUNCTION audit_docs();
CREATE FUNCTION bump_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.version := OLD.version + 1 ; RETURN NEW ; END $$;
CREATE TRIGGER documents_bump BEFORE UPDATE ON documents FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body) EXECUTE FUNCTION bump_version();
INSERT INTO documents (id, owner, title, body) VALUES
 (1, 10, 'Invoice A', '{"type": "invoice", "total": 120.5, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}], "customer": {"name": "Ann", "vip": true}, "tags": ["paid", "eu"]}'),
 (2, 10, 'Invoice B', '{"type": "invoice", "total": 80, "lines": [{"sku": "a", "qty": 5}], "customer": {"name": "Bob", "vip": false}, "tags": ["due"]}'),
 (3, 11, 'Note', '{"type": "note", "text": "remember the milk", "tags": []}'),
 (4, 12, 'Invoice C', '{"type": "invoice", "total": null, "lines": [], "customer": {"name": "Cid"}}'),
 (5, 12, 'Config', '{"type": "config", "settings": {"theme": "dark", "limits": {"max": 10}}}') RETURNING id, version;
UPDATE documents SET body = jsonb_set(body, '{customer,vip}', 'true') WHERE body->>'type' = 'invoice' AND NOT coalesce((body#>>'{customer,vip}')::boolean, false) RETURNING id, version, body->'customer' AS c;
UPDATE documents SET title = title || '!' WHERE id = 3 RETURNING id, version, title;
UPDATE documents SET body = body || '{"archived": true}' WHERE owner = 12 RETURNING id, version;
DELETE FROM documents WHERE id = 5 RETURNING id, title;
SELECT tbl, op, row_key, diff FROM audit_log ORDER BY row_key, diff->>'version', op;
SELECT count(*), count(DISTINCT id) FROM audit_log;
CREATE INDEX documents_body_gin ON documents USING gin (body jsonb_path_ops);
SELECT id, title FROM documents WHERE body @> '{"type": "invoice"}' ORDER BY id;
SELECT id FROM documents WHERE body @> '{"customer": {"vip": true}}' ORDER BY id;
SELECT id, body->'customer'->>'name' AS name, (body->>'total')::numeric AS total FROM documents WHERE body ? 'customer' ORDER BY total DESC NULLS LAST, id;
SELECT id, jsonb_path_query(body, '$.lines[*] ? (@.qty > 1)') AS big FROM documents ORDER BY id, big;
SELECT id, jsonb_path_query_array(body, '$.lines[*].sku') AS skus, jsonb_path_exists(body, '$.tags[*] ? (@ == "paid")') AS paid FROM documents ORDER BY id;
SELECT id FROM documents WHERE body @? '$.lines[*] ? (@.sku == "a")' ORDER BY id;
SELECT d.id, l->>'sku' AS sku, (l->>'qty')::int AS qty FROM documents d, jsonb_array_elements(d.body->'lines') l ORDER BY 1, 2;
SELECT l->>'sku' AS sku, sum((l->>'qty')::int) FROM documents d CROSS JOIN LATERAL jsonb_array_elements(d.body->'lines') l GROUP BY 1 ORDER BY 1;
SELECT owner, jsonb_agg(jsonb_build_object('id', id, 'title', title) ORDER BY id) AS docs, jsonb_object_agg(id, version ORDER BY id) AS versions FROM documents GROUP BY owner ORDER BY owner;
SELECT jsonb_agg(title ORDER BY title DESC) FROM documents;
SELECT key, count(*) FROM documents, jsonb_object_keys(body) key GROUP BY key ORDER BY key;
SELECT id, jsonb_typeof(body->'total') AS t, body->'tags'->0 AS first_tag, jsonb_array_length(coalesce(body->'tags', '[]')) AS ntags FROM documents ORDER BY id;
SELECT id, body - 'lines' - 'customer' AS slim FROM documents WHERE id <= 2 ORDER BY id;
SELECT to_jsonb(d) - 'body' AS row FROM documents d ORDER BY id;
SELECT row_to_json(x) FROM (SELECT id, title FROM documents ORDER BY id LIMIT 2) x;
SELECT json_build_object('n', count(*), 'owners', json_agg(DISTINCT owner)) FROM documents;
SELECT id, t.* FROM documents, jsonb_to_record(body->'customer') AS t(name text, vip boolean) ORDER BY id;
SELECT id FROM documents WHERE body->'tags' ?| ARRAY['eu', 'due'] ORDER BY id;
SELECT id FROM documents WHERE (body->'customer') ?& ARRAY['name', 'vip'] ORDER BY id;
-- full-text search
CREATE TABLE articles (id int PRIMARY KEY, title text NOT NULL, body text NOT NULL, lang regconfig NOT NULL DEFAULT 'english', tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')) STORED);
CREATE INDEX articles_tsv ON articles USING gin (tsv);
INSERT INTO articles (id, title, body) VALUES (1, 'Scaling PostgreSQL', 'Sharding and replication for large databases'), (2, 'Cooking with rice', 'Rice cookers and the perfect fried rice'), (3, 'Distributed databases', 'Two-phase commit, shards and global transactions in distributed systems'), (4, 'The database cookbook', 'Recipes for indexes, queries and replication'), (5, 'Gardening', 'Tomatoes need sun');
SELECT id, title FROM articles WHERE tsv @@ to_tsquery('english', 'database & replication') ORDER BY id;
SELECT id, ts_rank(tsv, q) AS r FROM articles, websearch_to_tsquery('english', 'distributed database -cooking') q WHERE tsv @@ q ORDER BY r DESC, id;
SELECT id, ts_rank_cd(tsv, plainto_tsquery('english', 'shards')) AS r FROM articles WHERE tsv @@ plainto_tsquery('english', 'shards') ORDER BY r DESC, id;
SELECT id, ts_headline('english', body, to_tsquery('english', 'rice'), 'StartSel=<, StopSel=>') FROM articles WHERE to_tsvector('english', body) @@ to_tsquery('english', 'rice') ORDER BY id;
SELECT id FROM articles WHERE to_tsvector('simple', title) @@ to_tsquery('simple', 'data:*') ORDER BY id;
SELECT word, ndoc FROM ts_stat('SELECT tsv FROM articles') ORDER BY ndoc DESC, word LIMIT 5;
-- arrays
CREATE TABLE posts (id int PRIMARY KEY, author int NOT NULL, tags text[] NOT NULL DEFAULT '{}', scores int[], mentions int[]) DISTRIBUTE BY HASH (id);
INSERT INTO posts SELECT i, 1 + i % 5, (ARRAY['{sql,pg}', '{py,sql}', '{go,k8s}', '{pg,k8s}'])[1 + i % 4]::text[], ARRAY[i % 3, i % 7, NULL], CASE WHEN i % 4 = 0 THEN NULL ELSE ARRAY[1 + (i + 1) % 25, 1 + (i + 2) % 25] END FROM generate_series(1, 40) i;
SELECT id, tags FROM posts WHERE id <= 4 ORDER BY id;
SELECT t, count(*) FROM posts, unnest(tags) t GROUP BY t ORDER BY count(*) DESC, t;
SELECT id, t, o FROM posts, unnest(tags) WITH ORDINALITY AS u(t, o) WHERE id IN (1, 2) ORDER BY id, o;
SELECT author, array_agg(DISTINCT t ORDER BY t) FROM posts, unnest(tags) t GROUP BY author ORDER BY author;
SELECT author, array_agg(id ORDER BY id DESC) FILTER (WHERE 'pg' = ANY (tags)) AS pg_posts FROM posts GROUP BY author ORDER BY author;
SELECT count(*) FROM posts WHERE 'k8s' = ANY (tags) AND 3 = ANY (mentions);
SELECT count(*) FROM posts WHERE NOT (2 = ANY (mentions));
SELECT count(*) FROM posts WHERE 2 <> ALL (mentions);
SELECT id FROM posts WHERE id = ANY (ARRAY[3, 7, NULL, 11]) ORDER BY id;
SELECT id FROM posts WHERE id = ANY ('{5,6}'::int[]) OR tags @> '{go}' ORDER BY id;
SELECT p.id, pe.handle FROM posts p JOIN people pe ON pe.id = ANY (p.mentions) WHERE p.id < 6 ORDER BY 1, 2;
SELECT pe.handle, count(*) FROM people pe JOIN posts p ON pe.id = ANY (p.mentions) GROUP BY pe.handle ORDER BY 2 DESC, 1 LIMIT 5;
SELECT id, array_length(scores, 1), cardinality(mentions), array_position(tags, 'sql'), array_remove(scores, NULL) FROM posts WHERE id <= 5 ORDER BY id;
SELECT author, sum(s) FROM posts, unnest(scores) s GROUP BY author ORDER BY 1;
UPDATE posts SET tags = array_append(tags, 'hot') WHERE id % 10 = 0 RETURNING id, tags;
UPDATE posts SET tags = array_remove(tags, 'k8s') WHERE 'k8s' = ANY (tags) AND author = 3 RETURNING id, tags;
SELECT x, count(*) FROM (SELECT unnest(ARRAY[author, id % 3]) AS x FROM posts) s GROUP BY x ORDER BY x;

-- ---- shapes ----
CREATE TABLE wallets (user_id int PRIMARY KEY, balance numeric(12,2) NOT NULL DEFAULT 0 CHECK (balance >= 0), currency char(3) NOT NULL DEFAULT 'EUR');
CREATE TABLE ledger (id bigint GENERATED ALWAYS AS IDENTITY, user_id int NOT NULL, amount numeric(12,2) NOT NULL, memo text, ref uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (user_id, id)) DISTRIBUTE BY HASH (user_id);
CREATE TABLE transfers (id serial, from_user int NOT NULL, to_user int NOT NULL, amount numeric(12,2) NOT NULL, state text NOT NULL DEFAULT 'pending') DISTRIBUTE BY HASH (id);
INSERT INTO wallets (user_id, balance) SELECT i, i * 10 FROM generate_series(1, 10) i;
INSERT INTO transfers (from_user, to_user, amount) VALUES (1, 2, 5), (3, 1, 30), (2, 9, 100), (10, 4, 99.99), (5, 5, 1), (7, 8, 0.01) RETURNING id, from_user, to_user;
-- apply all pending transfers that are covered (non-colocated: transfers by id, wallets by user)
-- (a data-modifying WITH reading the table another entry writes is a documented refusal: the app's fallback)
BEGIN;
CREATE TEMP TABLE ok ON COMMIT DROP AS SELECT t.id, t.from_user, t.to_user, t.amount FROM transfers t JOIN wallets w ON w.user_id = t.from_user WHERE t.state = 'pending' AND w.balance >= t.amount AND t.from_user <> t.to_user;
UPDATE wallets w SET balance = w.balance - ok.amount FROM ok WHERE w.user_id = ok.from_user RETURNING w.user_id, ok.id, w.balance;
UPDATE wallets w SET balance = w.balance + ok.amount FROM ok WHERE w.user_id = ok.to_user RETURNING w.user_id, ok.id, w.balance;
UPDATE transfers t SET state = 'done' FROM ok WHERE t.id = ok.id RETURNING t.id, t.amount;
COMMIT;
SELECT user_id, balance FROM wallets ORDER BY user_id;
SELECT id, state FROM transfers ORDER BY id;
INSERT INTO ledger (user_id, amount, memo) SELECT from_user, -amount, 'transfer ' || id FROM transfers WHERE state = 'done' UNION ALL SELECT to_user, amount, 'transfer ' || id FROM transfers WHERE state = 'done' RETURNING user_id, amount, memo;
SELECT user_id, sum(amount), count(*), count(DISTINCT ref) FROM ledger GROUP BY user_id ORDER BY 1;
SELECT count(*), count(DISTINCT id) FROM ledger;
\connect 2
INSERT INTO ledger (user_id, amount, memo) VALUES (1, 1, 'c2'), (2, 2, 'c2') RETURNING user_id, amount;
INSERT INTO transfers (from_user, to_user, amount) VALUES (4, 5, 1) RETURNING from_user;
SELECT count(*), count(DISTINCT id) FROM ledger;
SELECT count(*), count(DISTINCT id) FROM transfers;
\connect 1
INSERT INTO ledger (user_id, amount, memo) VALUES (3, 3, 'c1') RETURNING memo;
SELECT count(*), count(DISTINCT id) FROM ledger;
SELECT memo, count(*) FROM ledger GROUP BY memo ORDER BY memo;
-- upsert from SELECT with aggregation and EXCLUDED
CREATE TABLE daily_totals (user_id int NOT NULL, day date NOT NULL, total numeric(14,2) NOT NULL, n int NOT NULL, PRIMARY KEY (user_id, day)) DISTRIBUTE BY HASH (user_id);
INSERT INTO daily_totals SELECT user_id, DATE '2025-01-01', sum(amount), count(*) FROM ledger GROUP BY user_id ON CONFLICT (user_id, day) DO UPDATE SET total = daily_totals.total + EXCLUDED.total, n = daily_totals.n + EXCLUDED.n RETURNING user_id, total, n;
INSERT INTO daily_totals SELECT user_id, DATE '2025-01-01', sum(amount), count(*) FROM ledger GROUP BY user_id ON CONFLICT (user_id, day) DO UPDATE SET total = daily_totals.total + EXCLUDED.total, n = daily_totals.n + EXCLUDED.n RETURNING user_id, total, n;
INSERT INTO daily_totals (user_id, day, total, n) SELECT w.user_id, DATE '2025-01-02', w.balance, 0 FROM wallets w WHERE w.balance > 50 ON CONFLICT (user_id, day) DO NOTHING RETURNING user_id;
INSERT INTO daily_totals (user_id, day, total, n) VALUES (1, '2025-01-02', 1, 1), (2, '2025-01-02', 2, 2), (11, '2025-01-02', 3, 3) ON CONFLICT (user_id, day) DO UPDATE SET n = EXCLUDED.n + 100 WHERE daily_totals.total < 90 RETURNING user_id, n;
SELECT user_id, day, total, n FROM daily_totals ORDER BY user_id, day;
-- upsert into a table keyed differently from the source (non-colocated INSERT ... SELECT)
CREATE TABLE user_stats (user_id int PRIMARY KEY, transfers_out int NOT NULL DEFAULT 0, last_amount numeric(12,2));
INSERT INTO user_stats (user_id, transfers_out, last_amount) SELECT from_user, count(*), max(amount) FROM transfers GROUP BY from_user ON CONFLICT (user_id) DO UPDATE SET transfers_out = user_stats.transfers_out + EXCLUDED.transfers_out RETURNING user_id, transfers_out, last_amount;
INSERT INTO user_stats (user_id, transfers_out, last_amount) SELECT from_user, count(*), max(amount) FROM transfers GROUP BY from_user ON CONFLICT (user_id) DO UPDATE SET transfers_out = user_stats.transfers_out + EXCLUDED.transfers_out, last_amount = EXCLUDED.last_amount RETURNING user_id, transfers_out;
SELECT * FROM user_stats ORDER BY user_id;
-- INSERT ... SELECT with ORDER BY LIMIT from a distributed table
CREATE TABLE top_wallets (rank_no int, user_id int, balance numeric(12,2)) DISTRIBUTE BY ROUNDROBIN;
INSERT INTO top_wallets SELECT row_number() OVER (ORDER BY balance DESC, user_id), user_id, balance FROM wallets ORDER BY balance DESC, user_id LIMIT 3;
INSERT INTO top_wallets (user_id, balance) SELECT user_id, balance FROM wallets WHERE balance < 20 ORDER BY balance LIMIT 2 RETURNING user_id, balance;
SELECT * FROM top_wallets ORDER BY rank_no NULLS LAST, user_id;
-- DELETE USING a non-colocated table, UPDATE with correlated subqueries
DELETE FROM ledger l USING transfers t WHERE l.memo = 'transfer ' || t.id AND t.amount < 1 RETURNING l.user_id, l.amount, t.id;
UPDATE wallets w SET balance = balance + (SELECT coalesce(sum(amount), 0) FROM ledger l WHERE l.user_id = w.user_id AND l.memo LIKE 'c%') WHERE user_id IN (SELECT user_id FROM ledger WHERE memo LIKE 'c%') RETURNING user_id, balance;
UPDATE transfers SET amount = amount * 2 WHERE from_user IN (SELECT user_id FROM wallets WHERE balance > 60) RETURNING id, amount;
UPDATE transfers t SET state = 'flagged' WHERE EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = t.to_user AND w.balance > 100) RETURNING t.id, t.state;
DELETE FROM wallets WHERE user_id NOT IN (SELECT from_user FROM transfers UNION SELECT to_user FROM transfers) RETURNING user_id;
SELECT user_id, balance FROM wallets ORDER BY user_id;
-- writable CTE feeding an INSERT into another table, with a scalar result
WITH closed AS (DELETE FROM transfers WHERE state = 'flagged' RETURNING id, from_user, amount), logged AS (INSERT INTO ledger (user_id, amount, memo) SELECT from_user, amount, 'refund ' || id FROM closed RETURNING user_id, amount) SELECT (SELECT count(*) FROM closed) AS closed, (SELECT coalesce(sum(amount), 0) FROM logged) AS refunded;
SELECT count(*) FROM transfers;
SELECT memo, user_id, amount FROM ledger WHERE memo LIKE 'refund%' ORDER BY memo;
-- ORDER BY + LIMIT with NULLs and ties across nodes
CREATE TABLE scores (player text NOT NULL, game int NOT NULL, pts int, at_ms bigint NOT NULL) DISTRIBUTE BY HASH (player);
INSERT INTO scores SELECT 'pl' || (i % 13), i % 4, CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 37) % 50 END, 1000000 + i FROM generate_series(1, 300) i;
SELECT player, pts FROM scores ORDER BY pts DESC NULLS LAST, at_ms LIMIT 5;
SELECT player, pts FROM scores ORDER BY pts DESC, at_ms LIMIT 5;
SELECT player, pts FROM scores ORDER BY pts NULLS FIRST, at_ms DESC LIMIT 4 OFFSET 20;
SELECT player, max(pts) AS best FROM scores GROUP BY player ORDER BY best DESC NULLS LAST, player LIMIT 3;
SELECT game, player, sum(pts) FROM scores GROUP BY game, player ORDER BY sum(pts) DESC NULLS FIRST, game, player LIMIT 6;
SELECT DISTINCT ON (game) game, player, pts FROM scores ORDER BY game, pts DESC NULLS LAST, at_ms;
SELECT DISTINCT ON (player) player, game, pts FROM scores WHERE pts IS NOT NULL ORDER BY player, pts, at_ms DESC;
SELECT game, player, pts, rank() OVER (PARTITION BY game ORDER BY pts DESC NULLS LAST) AS rk, dense_rank() OVER (ORDER BY pts DESC) AS drk FROM scores WHERE at_ms % 17 = 0 ORDER BY game, rk, player, at_ms;
SELECT player, game, pts FROM scores s1 WHERE pts = (SELECT max(pts) FROM scores s2 WHERE s2.game = s1.game) ORDER BY game, player, at_ms;
SELECT g.game, t.player, t.pts FROM (SELECT DISTINCT game FROM scores) g CROSS JOIN LATERAL (SELECT player, pts FROM scores s WHERE s.game = g.game AND pts IS NOT NULL ORDER BY pts DESC, at_ms LIMIT 2) t ORDER BY g.game, t.pts DESC, t.player;
SELECT count(*) FILTER (WHERE pts IS NULL), avg(pts)::numeric(10,4), sum(pts) FILTER (WHERE game = 1), array_agg(DISTINCT game ORDER BY game) FROM scores;
SELECT player, string_agg(DISTINCT game::text, '|' ORDER BY game::text) FROM scores GROUP BY player ORDER BY player;
SELECT player FROM scores GROUP BY player HAVING bool_and(pts IS NOT NULL) ORDER BY 1;
SELECT player, every(pts > 5), bool_or(pts = 0), bit_or(game) FROM scores GROUP BY player ORDER BY 1;
SELECT a.player, b.player, count(*) FROM scores a JOIN scores b ON a.game = b.game AND a.pts = b.pts AND a.player < b.player WHERE a.at_ms < 1000060 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 5;
SELECT s.player, s.pts, w.balance FROM scores s LEFT JOIN wallets w ON w.user_id = s.pts WHERE s.at_ms < 1000015 ORDER BY s.at_ms;
SELECT s.pts, count(*) FROM scores s FULL JOIN wallets w ON w.user_id = s.pts GROUP BY s.pts ORDER BY 1 NULLS FIRST LIMIT 5;
SELECT w.user_id, count(s.player) FROM wallets w LEFT JOIN scores s ON s.pts = w.user_id GROUP BY w.user_id ORDER BY 1;
SELECT x.k, count(*) FROM (SELECT pts % 5 AS k FROM scores) x GROUP BY x.k ORDER BY x.k NULLS FIRST;
SELECT player FROM scores INTERSECT SELECT 'pl' || user_id FROM wallets ORDER BY 1;
SELECT pts FROM scores WHERE game = 0 EXCEPT SELECT pts FROM scores WHERE game = 1 ORDER BY 1 NULLS FIRST;
SELECT pts FROM scores WHERE game = 0 EXCEPT ALL SELECT pts FROM scores WHERE game = 1 ORDER BY 1 NULLS FIRST LIMIT 5;
(SELECT player, pts FROM scores WHERE game = 2 ORDER BY pts DESC NULLS LAST, at_ms LIMIT 2) UNION ALL (SELECT player, pts FROM scores WHERE game = 3 ORDER BY pts NULLS FIRST, at_ms LIMIT 2);

-- ---- values ----
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic');
CREATE TABLE vals (id int PRIMARY KEY, m mood, n numeric, iv interval, f float8, j jsonb, t text, ts timestamptz, b bytea, arr int[], ip inet) DISTRIBUTE BY HASH (id);
INSERT INTO vals VALUES
 (1, 'happy', 1.0, '1 day', 0.0, '{"a": 1}', 'apple', '2025-01-01 00:00+00', '\x00', '{1,2}', '10.0.0.1'),
 (2, 'sad', 1.00, '24 hours', -0.0, '{"a": 1.0}', 'Apple', '2025-01-01 01:00+01', '\x0001', '{1,2,0}', '10.0.0.1/32'),
 (3, 'ecstatic', 1, '1440 minutes', 'NaN', '{"a": 1.00}', 'banana', '2024-12-31 23:00-01', '\xff', '{1}', '192.168.1.0/24'),
 (4, 'ok', 2.50, '1 mon', 'Infinity', '[1, 2]', 'Banana', '2025-01-01 00:00+00', '\x', '{}', '::1'),
 (5, NULL, 2.5, '30 days', '-Infinity', 'null', 'éclair', NULL, NULL, NULL, NULL),
 (6, 'happy', NULL, '720:00:00', 1e-300, '"x"', '_under', '2025-06-01 12:00+00', '\x7f', '{2}', '10.0.0.2'),
 (7, 'sad', -0.0, '-1 day', 3, '{"b": [1, {"c": 2}]}', 'Zeta', '2025-01-01 00:00:00.000001+00', '\x80', '{1,NULL}', '10.0.0.10'),
 (8, 'ok', 0.00, '0', 2, '{}', '', '1970-01-01 00:00+00', '\x00', '{NULL}', '10.0.0.9'),
 (9, 'ecstatic', 100, '1 year', 1, 'true', 'zeta', 'infinity', '\x0000', '{10}', '2001:db8::1'),
 (10, 'sad', 1e2, '12 mons', 1.5, '1', 'apple ', '-infinity', '\x01', '{9,9}', '10.0.0.1');
SELECT m::text AS mood_name, count(*) FROM vals GROUP BY m ORDER BY m NULLS FIRST;
SELECT id, m::text AS mood_name FROM vals ORDER BY m DESC NULLS LAST, id LIMIT 4;
SELECT max(m)::text, min(m)::text FROM vals;
SELECT id FROM vals WHERE m > 'ok' ORDER BY id;
SELECT round(n, 2) AS n2, count(*) FROM vals GROUP BY n ORDER BY n NULLS FIRST;
SELECT DISTINCT round(n, 3) FROM vals ORDER BY 1 NULLS LAST;
SELECT count(DISTINCT n), count(DISTINCT iv), count(DISTINCT f), count(DISTINCT j), count(DISTINCT ts), count(DISTINCT ip) FROM vals;
SELECT justify_interval(iv), count(*) FROM vals GROUP BY iv ORDER BY iv;
SELECT id, iv FROM vals ORDER BY iv, id LIMIT 6;
SELECT DISTINCT justify_interval(iv) FROM vals ORDER BY 1;
SELECT abs(f), count(*) FROM vals GROUP BY f ORDER BY f NULLS FIRST;
SELECT id, f FROM vals ORDER BY f DESC, id LIMIT 4;
SELECT j, count(*) FROM vals WHERE id > 3 GROUP BY j ORDER BY j;
SELECT id, j FROM vals ORDER BY j, id LIMIT 5;
SELECT ts, count(*) FROM vals GROUP BY ts ORDER BY ts NULLS FIRST;
SELECT id, ts FROM vals ORDER BY ts DESC NULLS LAST, id LIMIT 5;
SELECT id, t FROM vals ORDER BY t, id;
SELECT id, t FROM vals ORDER BY t DESC LIMIT 5;
SELECT id, t FROM vals ORDER BY t COLLATE "C", id LIMIT 5;
SELECT id, t FROM vals ORDER BY lower(t), id LIMIT 6;
SELECT min(t), max(t), min(t COLLATE "C"), max(t COLLATE "C") FROM vals;
SELECT t FROM vals WHERE t > 'Apple' ORDER BY t;
SELECT id, b FROM vals ORDER BY b NULLS FIRST, id LIMIT 5;
SELECT b, count(*) FROM vals GROUP BY b ORDER BY b NULLS FIRST;
SELECT id, arr FROM vals ORDER BY arr NULLS FIRST, id;
SELECT arr, count(*) FROM vals GROUP BY arr ORDER BY arr;
SELECT id, ip FROM vals ORDER BY ip NULLS LAST, id;
SELECT ip, count(*) FROM vals GROUP BY ip ORDER BY ip NULLS FIRST;
SELECT network(ip), count(*) FROM vals WHERE ip << '10.0.0.0/8' OR ip <<= '10.0.0.1/32' GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM (SELECT n FROM vals UNION SELECT 1.000) u;
SELECT count(*) FROM (SELECT iv FROM vals WHERE id < 4 UNION SELECT INTERVAL '86400 seconds') u;
SELECT justify_interval(iv) FROM (SELECT iv FROM vals WHERE id < 6 INTERSECT SELECT iv FROM vals WHERE id >= 3) x ORDER BY 1;
SELECT j FROM vals EXCEPT SELECT '{"a": 1}'::jsonb ORDER BY 1;
SELECT a.id, b.id FROM vals a JOIN vals b ON a.n = b.n AND a.id < b.id ORDER BY 1, 2;
SELECT a.id, b.id FROM vals a JOIN vals b ON a.iv = b.iv AND a.id < b.id ORDER BY 1, 2;
SELECT a.id, b.id FROM vals a JOIN vals b ON a.f = b.f AND a.id < b.id ORDER BY 1, 2;
SELECT a.id, b.id FROM vals a JOIN vals b ON a.ts = b.ts AND a.id < b.id ORDER BY 1, 2;
SELECT sum(n), avg(n), sum(iv), avg(iv), max(iv), min(iv) FROM vals;
SELECT sum(f), avg(f), max(f), min(f) FROM vals WHERE f <> 'NaN' AND abs(f) <> 'Infinity';
SELECT max(f), min(f), sum(f) FROM vals;
SELECT m::text AS mood_name, sum(n), max(iv), string_agg(t, ',' ORDER BY t) FROM vals GROUP BY m ORDER BY m NULLS LAST;
SELECT m::text AS mood_name, array_agg(id ORDER BY iv, id) FROM vals GROUP BY m ORDER BY m;
SELECT justify_interval(iv), array_agg(id ORDER BY id) FROM vals GROUP BY iv ORDER BY iv;
SELECT round(n, 2), array_agg(id ORDER BY id) FROM vals GROUP BY n ORDER BY n NULLS LAST;
SELECT abs(f), array_agg(id ORDER BY id) FROM vals GROUP BY f ORDER BY f;
SELECT j #>> '{}' AS jt, array_agg(id ORDER BY id) FROM vals WHERE id > 3 GROUP BY j ORDER BY j;
SELECT DISTINCT ON (iv) justify_interval(iv), id FROM vals ORDER BY iv, id;
SELECT DISTINCT ON (n) round(n, 2), id FROM vals ORDER BY n, id DESC;
SELECT id, rank() OVER (ORDER BY iv), dense_rank() OVER (ORDER BY n) FROM vals ORDER BY id;
SELECT count(*) FROM vals WHERE n IN (SELECT n FROM vals WHERE id = 1);
SELECT count(*) FROM vals WHERE iv IN (SELECT iv FROM vals WHERE id = 1);
SELECT id FROM vals WHERE iv = '1 day' ORDER BY id;
SELECT id FROM vals WHERE n = 1 ORDER BY id;
SELECT id FROM vals WHERE f = 0 ORDER BY id;
-- with the key itself: numeric and interval distribution columns
CREATE TABLE nkeys (k numeric PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
INSERT INTO nkeys VALUES (1.0, 'a'), (2.50, 'b'), (100, 'c'), (-0.0, 'z');
-- error
INSERT INTO nkeys VALUES (1.00, 'dup');
-- error
INSERT INTO nkeys VALUES (0, 'dup');
INSERT INTO nkeys VALUES (2.5, 'upd') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v RETURNING k, v;
SELECT k, v FROM nkeys WHERE k = 1 ORDER BY k;
SELECT k, v FROM nkeys WHERE k = 1.000;
SELECT k, v FROM nkeys WHERE k = 1e2;
SELECT k, v FROM nkeys WHERE k IN (0, 2.5000) ORDER BY k;
UPDATE nkeys SET v = 'x' WHERE k = 100.0 RETURNING k, v;
DELETE FROM nkeys WHERE k = 0.000 RETURNING k;
SELECT k, v FROM nkeys ORDER BY k;
CREATE TABLE ikeys (k interval PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
INSERT INTO ikeys VALUES ('1 day', 'd'), ('1 mon', 'm');
-- error
INSERT INTO ikeys VALUES ('24 hours', 'dup');
-- error
INSERT INTO ikeys VALUES ('30 days', 'dup');
SELECT k, v FROM ikeys WHERE k = '24 hours';
SELECT k, v FROM ikeys WHERE k = '720 hours';
UPDATE ikeys SET v = 'h' WHERE k = '1440 minutes' RETURNING k, v;
INSERT INTO ikeys VALUES ('86400 seconds', 's') ON CONFLICT (k) DO UPDATE SET v = ikeys.v || EXCLUDED.v RETURNING k, v;
SELECT k, v FROM ikeys ORDER BY k;
CREATE TABLE tkeys (k timestamptz PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
INSERT INTO tkeys VALUES ('2025-01-01 00:00+00', 'a'), ('2025-01-01 05:00+00', 'b');
SELECT v FROM tkeys WHERE k = '2025-01-01 01:00+01';
SELECT v FROM tkeys WHERE k = '2025-01-01 00:00:00 America/New_York';
-- error
INSERT INTO tkeys VALUES ('2025-01-01 02:00+02', 'dup');
SELECT v FROM tkeys WHERE k = '2025-01-01'::date;
SELECT v FROM tkeys WHERE k = '2025-01-01 00:00'::timestamp;
SET TimeZone TO 'Asia/Kolkata';
SELECT v, k FROM tkeys WHERE k = '2025-01-01 05:30'::timestamp;
SELECT v FROM tkeys WHERE k = '2025-01-01 05:30';
SELECT v FROM tkeys WHERE k = '2025-01-01'::date;
INSERT INTO tkeys VALUES ('2025-01-01 05:30', 'kolkata-dup') ON CONFLICT (k) DO UPDATE SET v = tkeys.v || '+' RETURNING k, v;
SELECT date_trunc('day', k), count(*) FROM tkeys GROUP BY 1 ORDER BY 1;
SELECT k::date, k::time, to_char(k, 'YYYY-MM-DD HH24:MI TZ') FROM tkeys ORDER BY tkeys.k;
SELECT date_trunc('day', ts) AS d, count(*) FROM vals WHERE ts IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT date_trunc('day', ts, 'America/Los_Angeles') AS d, count(*) FROM vals WHERE ts IS NOT NULL GROUP BY 1 ORDER BY 1;
SELECT ts::date AS d, count(*) FROM vals GROUP BY 1 ORDER BY 1 NULLS FIRST;
SELECT extract(hour FROM ts) AS h, count(*) FROM vals GROUP BY 1 ORDER BY 1 NULLS FIRST;
SELECT id, ts AT TIME ZONE 'UTC' AS utc, ts::text FROM vals ORDER BY id;
SELECT id FROM vals WHERE ts < '2025-01-01' ORDER BY id;
SELECT id FROM vals WHERE ts::date = '2025-01-01' ORDER BY id;
RESET TimeZone;
SET DateStyle TO 'German, DMY';
SELECT id, ts, ts::date FROM vals WHERE id < 4 ORDER BY id;
SELECT id FROM vals WHERE ts::date = '01.01.2025' ORDER BY id;
SELECT v FROM tkeys WHERE k = '01.01.2025 05:00 UTC';
RESET DateStyle;
SET IntervalStyle TO 'iso_8601';
SELECT id, iv FROM vals ORDER BY iv, id LIMIT 4;
SELECT max(iv), sum(iv) FROM vals;
RESET IntervalStyle;
SET extra_float_digits TO 0;
SELECT id, f, f / 3 FROM vals WHERE f BETWEEN 1 AND 3 ORDER BY id;
RESET extra_float_digits;
SET lc_monetary TO 'C';
SELECT sum(n)::money FROM vals;
RESET lc_monetary;

-- ---- edges ----
CREATE TABLE items (id int PRIMARY KEY, cat text, price numeric(8,2), qty int, deleted_at date, owner_id int) DISTRIBUTE BY HASH (id);
INSERT INTO items SELECT i, (ARRAY['a','b','c',NULL])[1 + i % 4], (i % 7) * 1.5, i % 5, CASE WHEN i % 9 = 0 THEN DATE '2025-01-01' END, i % 6 FROM generate_series(1, 60) i;
SELECT id, price FROM items ORDER BY price DESC FETCH FIRST 3 ROWS WITH TIES;
SELECT cat, price FROM items ORDER BY price FETCH FIRST 2 ROWS WITH TIES;
SELECT id, qty FROM items WHERE cat = 'b' ORDER BY qty OFFSET 3 ROWS FETCH NEXT 4 ROWS WITH TIES;
SELECT id FROM items ORDER BY id OFFSET 55;
SELECT id FROM items ORDER BY id LIMIT ALL OFFSET 57;
SELECT id FROM items ORDER BY id LIMIT NULL OFFSET 58;
SELECT id FROM items ORDER BY id LIMIT 0;
SELECT count(*) FROM items LIMIT 0;
SELECT id FROM items ORDER BY id DESC LIMIT 2 OFFSET 0;
SELECT id FROM items ORDER BY id OFFSET 100;
SELECT cat, count(*) FROM items GROUP BY cat ORDER BY count(*) DESC, cat NULLS FIRST LIMIT 2 OFFSET 1;
SELECT DISTINCT cat FROM items ORDER BY cat NULLS FIRST LIMIT 2;
SELECT DISTINCT qty FROM items ORDER BY qty DESC LIMIT 2 OFFSET 1;
-- empty inputs
SELECT sum(price), count(*), max(id), avg(qty), array_agg(id), string_agg(cat, ','), bool_and(qty > 0), jsonb_agg(id) FROM items WHERE id < 0;
SELECT cat, sum(price) FROM items WHERE id < 0 GROUP BY cat;
SELECT count(*) FROM items WHERE id < 0 HAVING count(*) = 0;
SELECT 1 AS one FROM items HAVING count(*) > 1;
SELECT sum(price) FROM items WHERE false GROUP BY ();
SELECT cat, count(*) FROM items WHERE id < 0 GROUP BY ROLLUP (cat);
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY price) FROM items WHERE id < 0;
SELECT max(id) FROM items WHERE cat = 'zzz';
SELECT coalesce(max(id), 0) + 1 AS next_id FROM items WHERE owner_id = 99;
-- scalar subquery errors and NULL semantics
-- error
SELECT (SELECT id FROM items WHERE cat = 'a') AS x;
-- error
SELECT id, (SELECT id FROM items i2 WHERE i2.owner_id = i.owner_id) FROM items i WHERE id = 1;
SELECT id, (SELECT max(id) FROM items i2 WHERE i2.owner_id = i.owner_id AND i2.id < i.id) AS prev_same_owner FROM items i WHERE id <= 8 ORDER BY id;
SELECT id FROM items WHERE owner_id = (SELECT owner_id FROM items WHERE id = 7) ORDER BY id;
SELECT id FROM items WHERE owner_id = (SELECT owner_id FROM items WHERE id = 700) ORDER BY id;
SELECT count(*) FROM items WHERE cat = ANY (SELECT cat FROM items WHERE qty = 0);
SELECT count(*) FROM items WHERE cat <> ALL (SELECT cat FROM items WHERE qty = 0);
SELECT count(*) FROM items WHERE cat NOT IN (SELECT cat FROM items WHERE qty = 1 AND cat IS NOT NULL);
SELECT count(*) FROM items WHERE (cat, qty) IN (SELECT cat, qty FROM items WHERE id < 10);
SELECT count(*) FROM items WHERE (cat, qty) NOT IN (SELECT cat, qty FROM items WHERE id < 10);
SELECT id FROM items WHERE price > (SELECT avg(price) FROM items) AND qty = (SELECT max(qty) FROM items) ORDER BY id;
SELECT id, price, price - avg(price) OVER () AS diff FROM items WHERE id <= 5 ORDER BY id;
SELECT owner_id, count(*) FILTER (WHERE deleted_at IS NULL) AS live FROM items GROUP BY owner_id HAVING count(*) FILTER (WHERE deleted_at IS NOT NULL) > 0 ORDER BY 1;
SELECT EXISTS (SELECT 1 FROM items WHERE qty = 4 AND cat IS NULL), EXISTS (SELECT 1 FROM items WHERE id = -1);
SELECT id FROM items i WHERE EXISTS (SELECT 1 FROM items j WHERE j.owner_id = i.owner_id AND j.id <> i.id AND j.price = i.price) ORDER BY id LIMIT 5;
-- partial unique index upsert, ON CONFLICT ON CONSTRAINT
CREATE TABLE memberships (org_id int NOT NULL, user_id int NOT NULL, role text NOT NULL DEFAULT 'member', deleted_at date, hits int NOT NULL DEFAULT 0, CONSTRAINT memberships_pk UNIQUE (org_id, user_id, role)) DISTRIBUTE BY HASH (org_id);
CREATE UNIQUE INDEX memberships_live ON memberships (org_id, user_id) WHERE deleted_at IS NULL;
INSERT INTO memberships (org_id, user_id, role) VALUES (1, 1, 'owner'), (1, 2, 'member'), (2, 1, 'member');
INSERT INTO memberships (org_id, user_id, role) VALUES (1, 2, 'admin') ON CONFLICT (org_id, user_id) WHERE deleted_at IS NULL DO UPDATE SET role = EXCLUDED.role, hits = memberships.hits + 1 RETURNING org_id, user_id, role, hits;
UPDATE memberships SET deleted_at = '2025-01-01' WHERE org_id = 1 AND user_id = 1 RETURNING role;
INSERT INTO memberships (org_id, user_id, role) VALUES (1, 1, 'member') ON CONFLICT (org_id, user_id) WHERE deleted_at IS NULL DO NOTHING RETURNING org_id, user_id, role;
INSERT INTO memberships (org_id, user_id, role) VALUES (1, 1, 'member') ON CONFLICT ON CONSTRAINT memberships_pk DO UPDATE SET hits = memberships.hits + 10 RETURNING hits;
INSERT INTO memberships (org_id, user_id, role) VALUES (2, 1, 'member'), (3, 3, 'x') ON CONFLICT ON CONSTRAINT memberships_pk DO UPDATE SET hits = memberships.hits + 10 RETURNING org_id, hits;
SELECT org_id, user_id, role, deleted_at, hits FROM memberships ORDER BY org_id, user_id, role;
-- moving rows between nodes by updating the key
UPDATE memberships SET org_id = org_id + 10 WHERE user_id = 1 RETURNING org_id, user_id, role, hits;
SELECT org_id, user_id, role FROM memberships ORDER BY 1, 2, 3;
UPDATE items SET id = id + 1000, qty = qty + 1 WHERE id IN (1, 2, 3) RETURNING id, qty;
-- error
UPDATE items SET id = 5 WHERE id = 4;
SELECT count(*), sum(id) FROM items;
-- window frames
SELECT id, qty, sum(qty) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) AS nb, count(*) OVER (ORDER BY qty GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) AS g FROM items WHERE id BETWEEN 10 AND 20 ORDER BY id;
SELECT id, price, sum(price) OVER (ORDER BY price RANGE BETWEEN 1.5 PRECEDING AND 1.5 FOLLOWING) AS near, max(id) OVER (ORDER BY price RANGE UNBOUNDED PRECEDING EXCLUDE TIES) AS m FROM items WHERE id BETWEEN 20 AND 32 ORDER BY price, id;
SELECT cat, id, lag(id, 2, -1) OVER (PARTITION BY cat ORDER BY id) AS lg, ntile(3) OVER (PARTITION BY cat ORDER BY id) AS nt FROM items WHERE id < 30 ORDER BY cat NULLS FIRST, id;
SELECT owner_id, sum(qty), sum(sum(qty)) OVER (ORDER BY owner_id ROWS UNBOUNDED PRECEDING) AS running, round(100.0 * sum(qty) / sum(sum(qty)) OVER (), 2) AS pct FROM items GROUP BY owner_id ORDER BY owner_id;
SELECT id, row_number() OVER w, rank() OVER w FROM items WHERE id < 20 WINDOW w AS (PARTITION BY qty ORDER BY price DESC, id) ORDER BY id;
SELECT cat, qty, count(*), count(*) OVER (PARTITION BY cat) AS kinds FROM items GROUP BY cat, qty ORDER BY cat NULLS LAST, qty;
SELECT * FROM (SELECT id, cat, price, rank() OVER (PARTITION BY cat ORDER BY price DESC) AS r FROM items) x WHERE r = 1 ORDER BY cat NULLS LAST, id;
-- quoted identifiers, mixed case
CREATE TABLE "UserPrefs" ("UserId" int PRIMARY KEY, "Theme" text, "Weird Col" int, "select" int) DISTRIBUTE BY HASH ("UserId");
INSERT INTO "UserPrefs" VALUES (1, 'dark', 10, 1), (2, 'light', 20, 2), (3, NULL, NULL, 3) RETURNING "UserId", "Theme";
SELECT "UserId", "Weird Col" + "select" AS s FROM "UserPrefs" ORDER BY "Weird Col" DESC NULLS LAST;
UPDATE "UserPrefs" p SET "Theme" = coalesce(p."Theme", 'system') RETURNING p."UserId", p."Theme";
SELECT "Theme", count(*) FROM "UserPrefs" GROUP BY "Theme" ORDER BY 1;
INSERT INTO "UserPrefs" ("UserId", "Theme") VALUES (2, 'blue') ON CONFLICT ("UserId") DO UPDATE SET "Theme" = EXCLUDED."Theme" RETURNING *;

-- ---- rls ----
CREATE TABLE notes (tenant_id int NOT NULL DEFAULT current_setting('app.tenant')::int, id bigint GENERATED BY DEFAULT AS IDENTITY, body text, PRIMARY KEY (tenant_id, id)) DISTRIBUTE BY HASH (tenant_id);
CREATE TABLE tags8 (tenant_id int NOT NULL DEFAULT current_setting('app.tenant')::int, note_id bigint NOT NULL, tag text NOT NULL) DISTRIBUTE BY HASH (tenant_id);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE tags8 ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_iso ON notes USING (tenant_id = current_setting('app.tenant', true)::int) WITH CHECK (tenant_id = current_setting('app.tenant', true)::int);
CREATE POLICY tenant_iso ON tags8 USING (tenant_id = nullif(current_setting('app.tenant', true), '')::int);
DROP ROLE IF EXISTS apps7_app;
CREATE ROLE apps7_app;
GRANT USAGE ON SCHEMA oracle_98_apps7_corpus TO apps7_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON notes, tags8 TO apps7_app;
SET app.tenant = '1';
INSERT INTO notes (body) VALUES ('t1 a'), ('t1 b') RETURNING tenant_id, body;
SET app.tenant = '2';
INSERT INTO notes (body) VALUES ('t2 a') RETURNING tenant_id, body;
INSERT INTO tags8 (note_id, tag) SELECT id, 'x' FROM notes RETURNING tenant_id, tag;
SELECT tenant_id, body FROM notes ORDER BY tenant_id, body;
SET ROLE apps7_app;
SELECT tenant_id, body FROM notes ORDER BY body;
SELECT count(*) FROM notes;
SELECT n.body, t.tag FROM notes n JOIN tags8 t ON t.tenant_id = n.tenant_id AND t.note_id = n.id ORDER BY 1;
SELECT count(*) FROM tags8;
SET app.tenant = '1';
SELECT tenant_id, body FROM notes ORDER BY body;
SELECT count(*) FROM tags8;
UPDATE notes SET body = body || '!' RETURNING tenant_id, body;
-- error
INSERT INTO notes (tenant_id, body) VALUES (2, 'sneaky');
INSERT INTO notes (body) VALUES ('t1 c') RETURNING tenant_id, body;
DELETE FROM notes WHERE body LIKE '%b!' RETURNING tenant_id, body;
BEGIN;
SELECT set_config('app.tenant', '2', true);
SELECT tenant_id, body FROM notes ORDER BY body;
UPDATE notes SET body = upper(body) RETURNING tenant_id, body;
COMMIT;
SELECT current_setting('app.tenant');
SELECT tenant_id, body FROM notes ORDER BY body;
SET app.tenant = '';
SELECT count(*) FROM tags8;
RESET app.tenant;
SELECT count(*) FROM tags8;
RESET ROLE;
SELECT tenant_id, body FROM notes ORDER BY tenant_id, body;
SET app.tenant = '3';
PREPARE ins8(text) AS INSERT INTO notes (body) VALUES ($1) RETURNING tenant_id, body;
EXECUTE ins8('t3 prepared');
SET app.tenant = '4';
EXECUTE ins8('t4 prepared');
DEALLOCATE ins8;
SELECT tenant_id, body FROM notes ORDER BY tenant_id, body;
-- a view for the app that filters by the setting
CREATE VIEW my_notes AS SELECT id, body FROM notes WHERE tenant_id = current_setting('app.tenant')::int;
SET app.tenant = '1';
SELECT body FROM my_notes ORDER BY body;
SET app.tenant = '4';
SELECT body FROM my_notes ORDER BY body;
RESET app.tenant;

-- ---- more: transition tables, cascades, deferrable keys ----
CREATE TABLE orgs9 (id int PRIMARY KEY, name text NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE members9 (org_id int NOT NULL REFERENCES orgs9 (id) ON DELETE CASCADE, uid int NOT NULL, role text, PRIMARY KEY (org_id, uid)) DISTRIBUTE BY HASH (org_id);
CREATE TABLE plans9 (code text PRIMARY KEY, seats int NOT NULL) DISTRIBUTE BY REPLICATION;
CREATE TABLE subs9 (org_id int NOT NULL, plan text NOT NULL REFERENCES plans9 (code) ON UPDATE CASCADE, seats int, PRIMARY KEY (org_id)) DISTRIBUTE BY HASH (org_id);
CREATE TABLE changes9 (id bigserial, tbl text, op text, n int, keys text) DISTRIBUTE BY ROUNDROBIN;
CREATE FUNCTION log_members9() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO changes9 (tbl, op, n, keys) SELECT TG_TABLE_NAME, TG_OP, count(*), string_agg(org_id || ':' || uid, ',' ORDER BY org_id, uid) FROM old_rows
    ; ELSE
    INSERT INTO changes9 (tbl, op, n, keys) SELECT TG_TABLE_NAME, TG_OP, count(*), string_agg(org_id || ':' || uid, ',' ORDER BY org_id, uid) FROM new_rows
    ; END IF
  ; RETURN NULL
  ; END
$$;
CREATE TRIGGER members9_ins AFTER INSERT ON members9 REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION log_members9();
INSERT INTO orgs9 SELECT i, 'org' || i FROM generate_series(1, 6) i;
INSERT INTO plans9 VALUES ('free', 1), ('team', 10);
INSERT INTO members9 SELECT o, u, CASE WHEN u = 1 THEN 'owner' ELSE 'member' END FROM generate_series(1, 6) o, generate_series(1, 3) u;
INSERT INTO subs9 SELECT id, CASE WHEN id % 2 = 0 THEN 'team' ELSE 'free' END, id FROM orgs9;
-- error
INSERT INTO subs9 VALUES (7, 'gold', 1);
-- error
INSERT INTO members9 VALUES (99, 1, 'x');
DELETE FROM orgs9 WHERE id IN (2, 5) RETURNING id;
SELECT org_id, count(*) FROM members9 GROUP BY org_id ORDER BY 1;
UPDATE plans9 SET code = 'pro' WHERE code = 'team' RETURNING code;
SELECT org_id, plan FROM subs9 ORDER BY org_id;
DELETE FROM members9 WHERE role = 'member' AND org_id < 4;
SELECT tbl, op, n, keys FROM changes9 ORDER BY op, n, keys;
-- error
DELETE FROM plans9 WHERE code = 'free';
BEGIN;
ALTER TABLE subs9 ADD CONSTRAINT seats_pos CHECK (seats > 0) NOT VALID;
-- error
UPDATE subs9 SET seats = 0 WHERE org_id = 1;
ROLLBACK;
CREATE TABLE pairs9 (a int PRIMARY KEY, b int UNIQUE DEFERRABLE INITIALLY DEFERRED) DISTRIBUTE BY REPLICATION;
INSERT INTO pairs9 VALUES (1, 1), (2, 2);
BEGIN;
UPDATE pairs9 SET b = 2 WHERE a = 1;
UPDATE pairs9 SET b = 1 WHERE a = 2;
COMMIT;
SELECT a, b FROM pairs9 ORDER BY a;
BEGIN;
UPDATE pairs9 SET b = 5;
-- error
COMMIT;
SELECT a, b FROM pairs9 ORDER BY a;
ALTER TABLE members9 ADD COLUMN joined date NOT NULL DEFAULT '2025-01-01';
ALTER TABLE members9 ADD COLUMN score int GENERATED ALWAYS AS (uid * 10) STORED;
INSERT INTO members9 (org_id, uid, role) VALUES (1, 7, 'member') RETURNING org_id, uid, joined, score;
SELECT org_id, uid, role, joined, score FROM members9 ORDER BY org_id, uid;
SELECT o.name, count(m.uid) AS n, max(m.score) FROM orgs9 o LEFT JOIN members9 m ON m.org_id = o.id GROUP BY o.name ORDER BY o.name;

-- ---- a cascade whose child trigger writes colocated rows of the row's key (runs on the datanodes) ----
CREATE TABLE orgs11 (id int PRIMARY KEY) DISTRIBUTE BY HASH (id);
CREATE TABLE members11 (org_id int NOT NULL REFERENCES orgs11 (id) ON DELETE CASCADE, uid int NOT NULL, PRIMARY KEY (org_id, uid)) DISTRIBUTE BY HASH (org_id);
CREATE TABLE stats11 (org_id int PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY HASH (org_id);
CREATE FUNCTION m11_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE stats11 SET n = n - 1 WHERE org_id = OLD.org_id ; RETURN OLD ; END $$;
CREATE TRIGGER m11_c AFTER DELETE ON members11 FOR EACH ROW EXECUTE FUNCTION m11_count();
INSERT INTO orgs11 SELECT g FROM generate_series(1, 6) g;
INSERT INTO stats11 SELECT g, 2 FROM generate_series(1, 6) g;
INSERT INTO members11 SELECT o, u FROM generate_series(1, 6) o, generate_series(1, 2) u;
DELETE FROM members11 WHERE uid = 1 AND org_id < 3;
DELETE FROM orgs11 WHERE id IN (2, 3, 4);
SELECT org_id, n FROM stats11 ORDER BY org_id;
