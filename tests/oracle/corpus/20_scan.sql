/*
Filters, projections and expressions over full scans of distributed tables.
Exercises: planner strategy 2, pushdown of WHERE and target lists to every node with
results concatenated (no cross-node step), for HASH/MODULO/ROUNDROBIN tables; type
round-trips through the coordinator (int, bigint, smallint, numeric, text, varchar, bool,
date, timestamptz, interval, uuid, jsonb, arrays, float8), NULL semantics, LIKE/ILIKE,
CASE, casts, session settings forwarded to the datanodes (TimeZone, DateStyle,
IntervalStyle, extra_float_digits), and errors raised on the datanodes.
*/

-- projections and simple filters
SELECT id, name FROM users;
SELECT id, name, age FROM users WHERE age > 60;
SELECT id FROM users WHERE age >= 18 AND age < 20;
SELECT id FROM users WHERE age BETWEEN 30 AND 32;
SELECT id FROM users WHERE age NOT BETWEEN 20 AND 78;
SELECT id, age * 2 AS dbl, age + id AS s, -age AS neg FROM users WHERE id < 40;
SELECT id, age / 7, age % 7, age::numeric / 7 FROM users WHERE id < 60;
SELECT id, name || '-' || coalesce(city, 'none') AS label FROM users;
SELECT DISTINCT city FROM users;
SELECT id FROM users WHERE NOT active;
SELECT id FROM users WHERE active;
SELECT id FROM users WHERE active IS NOT TRUE;
SELECT id FROM users WHERE active IS UNKNOWN;
SELECT id FROM users WHERE active IS DISTINCT FROM true;
SELECT id, active IS NULL, active = true, NOT active FROM users;
SELECT id FROM users WHERE city <> 'oslo';
SELECT id FROM users WHERE city IN ('oslo', 'lima');
SELECT id FROM users WHERE city NOT IN ('oslo', 'lima');
SELECT id FROM users WHERE city NOT IN ('oslo', NULL);
SELECT id FROM users WHERE city = ANY ('{rome,cairo}'::text[]);
SELECT id FROM users WHERE id > 490 OR age = 18;

-- NULL handling
SELECT id FROM users WHERE age IS NULL;
SELECT id FROM users WHERE age IS NOT NULL AND score IS NULL;
SELECT id, coalesce(age, -1), nullif(age, 30), coalesce(city, note, 'x') FROM users;
SELECT id FROM users WHERE age = NULL;
SELECT count(*) FROM users WHERE city IS NULL;
SELECT id, age > 50 OR NULL, age > 50 AND NULL FROM users WHERE id < 30;
SELECT id, greatest(age, 40), least(age, 40) FROM users WHERE id <= 45;
SELECT order_id FROM orders WHERE qty IS NULL;
SELECT order_id, weight IS NULL FROM orders WHERE note IS NOT NULL AND user_id < 20;

-- CASE
SELECT id, CASE WHEN age < 30 THEN 'young' WHEN age < 60 THEN 'mid' WHEN age IS NULL THEN 'unknown' ELSE 'old' END FROM users;
SELECT id, CASE city WHEN 'oslo' THEN 1 WHEN 'paris' THEN 2 ELSE 0 END FROM users;
SELECT order_id, CASE WHEN amount > 2500 THEN amount * 0.9 ELSE amount END FROM orders WHERE user_id < 50;
SELECT id, CASE WHEN active THEN 'y' WHEN NOT active THEN 'n' END FROM users;

-- LIKE / ILIKE / regex / text functions
SELECT id FROM users WHERE name LIKE 'u1%';
SELECT id FROM users WHERE name LIKE 'u_5_';
SELECT id FROM users WHERE name NOT LIKE '%0%';
SELECT id, note FROM users WHERE note LIKE '%\%%';
SELECT id, note FROM users WHERE note LIKE '%\_%';
SELECT id, note FROM users WHERE note LIKE '%!%%' ESCAPE '!';
SELECT id, note FROM users WHERE note ILIKE '%case%';
SELECT id, note FROM users WHERE note ~ '^[A-Z]';
SELECT id, note FROM users WHERE note ~* 'world';
SELECT id, note FROM users WHERE note SIMILAR TO '%(fine|off)%';
SELECT id, email FROM users WHERE email LIKE '%@ex3.com';
SELECT id, upper(note), lower(note), length(note), trim(note), btrim(note, ' '), reverse(note) FROM users;
SELECT id, substr(email, 1, 5), position('@' IN email), split_part(email, '@', 2) FROM users;
SELECT id, replace(note, ' ', '_'), left(note, 3), right(note, 3), repeat(name, 2) FROM users WHERE id < 100;
SELECT id, lpad(name, 8, '*'), rpad(name, 8, '.'), initcap(note) FROM users WHERE id < 100;
SELECT id, note || NULL, concat(note, NULL, 'x'), concat_ws('/', name, city, note) FROM users WHERE id < 80;
SELECT id, format('%s is %s years', name, age) FROM users WHERE id < 50;
SELECT id, md5(name), quote_literal(note), quote_ident(name) FROM users WHERE id < 40;
SELECT id, regexp_replace(note, '[aeiou]', '*', 'g'), regexp_matches(email, '(\d+)@') FROM users WHERE id < 60;
SELECT id, note FROM users WHERE note = '';
SELECT id, note FROM users WHERE note = 'it''s fine';
SELECT id, note, length(note) FROM users WHERE note LIKE E'%\\\\%';
SELECT msg, count(*) FROM logs GROUP BY msg;
SELECT log_id FROM logs WHERE msg ILIKE 'user%' AND level = 'info';

-- varchar
SELECT order_id, status, length(status), status::text || '!' FROM orders WHERE user_id < 30;
SELECT order_id FROM orders WHERE status = 'shipped' AND user_id > 400;
SELECT id, email::varchar(10) FROM users WHERE id < 20;
SELECT code, count(*) FROM events GROUP BY code;

-- numeric
SELECT id, score, score * 2, score / 3, round(score, 1), trunc(score), ceil(score), floor(score) FROM users;
SELECT id, score::int, score::text, score::float8 FROM users WHERE id < 100;
SELECT order_id, amount, amount * qty, amount / NULLIF(qty, 0), abs(amount - 2500) FROM orders WHERE user_id < 25;
SELECT seq, m_num, m_num * 1000, round(m_num, 2), sign(m_num), m_num::numeric(10,1) FROM metrics;
SELECT seq, m_num % 7, div(m_num, 3), mod(m_int, 5), power(m_small::numeric, 2) FROM metrics WHERE seq < 100;
SELECT 1.0 / 3, 10::numeric / 4, 2::numeric ^ 0.5, sqrt(2::numeric), exp(1::numeric), ln(10::numeric);
SELECT id FROM users WHERE score > 500.5 AND score <= 700;
SELECT order_id FROM orders WHERE amount = 1234.50 OR amount < 5;

-- bigint / smallint
SELECT seq, big_id, big_id / 2, big_id % 1000, big_id::numeric * 10 FROM metrics;
SELECT seq, m_small, m_small::int * m_small, m_small::int + 32767 FROM metrics WHERE seq < 200;
SELECT seq FROM metrics WHERE big_id > 0 AND big_id < 4000000000000000000;
SELECT seq FROM metrics WHERE big_id < -2147483648;
SELECT ev_id, ev_id * 2, ev_id - 1000000000000 FROM events WHERE device = 'd09' OR ev_id % 97 = 0;
-- error
SELECT big_id * 10 FROM metrics WHERE big_id = 9223372036854775807;
-- error
SELECT m_small * 1000::smallint FROM metrics;

-- float8
SELECT order_id, weight, weight * 2, round(weight::numeric, 2), weight::int FROM orders;
SELECT ev_id, val, abs(val), val / 3, sqrt(abs(val)), val::numeric(10,2) FROM events;
SELECT seq, ratio, ratio > 0.5, floor(ratio * 10) FROM metrics;
SELECT order_id FROM orders WHERE weight > 49.5;
SELECT 'NaN'::float8, 'Infinity'::float8, '-Infinity'::float8, 0.1::float8 + 0.2::float8;

-- bool
SELECT seq, m_bool, NOT m_bool, m_bool AND true, m_bool OR false, m_bool::int FROM metrics;
SELECT seq FROM metrics WHERE m_bool IS FALSE;
SELECT coastal, count(*) FROM cities GROUP BY coastal;

-- date
SELECT id, signup, signup + 30, signup - date '2020-01-01', extract(year FROM signup), date_part('dow', signup) FROM users;
SELECT id FROM users WHERE signup >= '2023-01-01' AND signup < '2023-02-01';
SELECT id, to_char(signup, 'YYYY-MM-DD Dy'), date_trunc('month', signup) FROM users WHERE id < 60;
SELECT seq, day, day + interval '1 month', make_date(2021, 2, 28) - day FROM metrics WHERE seq < 80;
SELECT restock, inv_id FROM inventory WHERE restock IS NOT NULL AND restock < '2020-06-01';
SELECT DISTINCT extract(year FROM signup) FROM users;

-- timestamptz
SELECT id, last_login FROM users;
SELECT id, last_login + interval '1 day', date_trunc('hour', last_login), last_login::date FROM users;
SELECT id, extract(epoch FROM last_login), to_char(last_login, 'YYYY-MM-DD HH24:MI:SS TZ') FROM users WHERE id < 100;
SELECT id FROM users WHERE last_login > '2024-06-01 00:00:00+00' AND last_login < '2024-07-01 12:00:00+02';
SELECT id, last_login AT TIME ZONE 'UTC', last_login AT TIME ZONE 'Asia/Tokyo' FROM users WHERE id < 50;
SELECT ev_id, ts, ts - timestamptz '2024-01-01 00:00:00+00', date_trunc('day', ts) FROM events;
SELECT order_id, created FROM orders WHERE created BETWEEN '2024-03-01' AND '2024-03-02';
SELECT ev_id, age(ts, timestamptz '2024-01-01 00:00:00+00') FROM events WHERE ev_id % 11 = 0;
SET TimeZone TO 'America/New_York';
SELECT id, last_login, last_login::date, date_trunc('day', last_login) FROM users WHERE id < 100;
SELECT ev_id, ts::text FROM events WHERE device = 'd01';
SET TimeZone TO 'UTC';
SET DateStyle TO 'German';
SELECT id, signup, last_login FROM users WHERE id < 30;
SET DateStyle TO 'ISO, MDY';

-- interval
SELECT ev_id, dur, dur * 2, dur / 3, -dur, extract(epoch FROM dur), justify_hours(dur) FROM events;
SELECT ev_id FROM events WHERE dur > interval '2 days 12 hours';
SELECT ev_id, ts + dur FROM events WHERE dur IS NOT NULL AND device = 'd03';
SET IntervalStyle TO 'iso_8601';
SELECT ev_id, dur FROM events WHERE device = 'd02';
SET IntervalStyle TO 'postgres';

-- uuid
SELECT id, uid FROM users;
SELECT id, uid::text, upper(uid::text) FROM users WHERE id < 25;
SELECT id FROM users WHERE uid > 'f0000000-0000-0000-0000-000000000000';
SELECT id FROM users WHERE uid = (SELECT uid FROM users WHERE id = 123);

-- jsonb
SELECT id, profile FROM users;
SELECT id, profile -> 'pref', profile ->> 'lvl', profile #> '{pref,color}', profile #>> '{langs,0}' FROM users;
SELECT id FROM users WHERE profile @> '{"vip": true}';
SELECT id FROM users WHERE profile ? 'langs' AND jsonb_array_length(profile -> 'langs') = 2;
SELECT id, (profile ->> 'lvl')::int + 1 FROM users WHERE (profile ->> 'lvl')::int >= 4;
SELECT id, jsonb_typeof(profile -> 'langs'), profile - 'langs', profile || '{"x": 1}' FROM users WHERE id < 50;
SELECT ev_id, payload -> 'items', payload ->> 'k', payload @> '{"ok": true}' FROM events;
SELECT ev_id FROM events WHERE payload -> 'items' @> '[3]';
SELECT ev_id, jsonb_path_query_array(payload, '$.items[*] ? (@ > 5)') FROM events WHERE device = 'd04';
SELECT id, jsonb_build_object('id', id, 'name', name, 'city', city) FROM users WHERE id < 40;
SELECT id, to_jsonb(tags), jsonb_strip_nulls(jsonb_build_object('a', age, 'b', city)) FROM users WHERE id < 60;
SELECT id, profile::text FROM users WHERE id BETWEEN 100 AND 130;

-- arrays
SELECT id, tags FROM users;
SELECT id, tags[1], array_length(tags, 1), cardinality(tags), array_to_string(tags, ',') FROM users;
SELECT id FROM users WHERE 'vip' = ANY (tags);
SELECT id FROM users WHERE tags @> '{a,b}';
SELECT id FROM users WHERE tags && '{c,new}';
SELECT id FROM users WHERE tags = '{}';
SELECT id, tags || 'z'::text, array_append(tags, 'q'), array_remove(tags, 'a') FROM users WHERE id < 70;
SELECT ev_id, flags, flags[2], array_position(flags, true) FROM events;
SELECT id, ARRAY[id, age], ARRAY[city, note] FROM users WHERE id < 30;
SELECT id, unnest(tags) FROM users WHERE id < 100;
SELECT id, string_to_array(email, '@') FROM users WHERE id < 35;

-- casts
SELECT id, id::text, id::bigint, id::numeric(6,2), id::float8, id::bool FROM users WHERE id < 10;
SELECT '42'::int, '3.14'::numeric, 'true'::bool, '2024-02-29'::date, '1 day'::interval, '[1,2]'::jsonb;
SELECT CAST(age AS text), CAST(score AS int), CAST(signup AS timestamptz) FROM users WHERE id < 40;
SELECT id, score::varchar, last_login::text FROM users WHERE id < 40;
-- error
SELECT name::int FROM users;
-- error
SELECT 'x'::date;
-- error
SELECT id / 0 FROM users WHERE id = 5;
-- error
SELECT 1 / (age - age) FROM users;
-- error
SELECT no_such_column FROM users;
-- error
SELECT * FROM no_such_table;
-- error
SELECT (profile ->> 'pref')::int FROM users;

-- other tables
SELECT inv_id, item_id, warehouse, stock, price, stock * price FROM inventory;
SELECT inv_id FROM inventory WHERE stock = 0 OR stock IS NULL;
SELECT log_id, user_id, level, at, dur_ms FROM logs WHERE level IN ('warn', 'error');
SELECT sk_id, k, v FROM skewed WHERE v > 95;
SELECT * FROM empty_t WHERE val > 0;
SELECT id, val * 2 FROM empty_t;
SELECT 1 AS one, 'two' AS two, NULL::int AS three;
SELECT id FROM users WHERE false;
SELECT id FROM users WHERE true AND id < 5;
