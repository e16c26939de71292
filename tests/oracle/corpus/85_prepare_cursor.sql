/*
SQL-level prepared statements and cursors over distributed tables, in one session.
Exercises: PREPARE with declared and inferred parameter types, EXECUTE routed by a bound
parameter (HASH int/text/bigint, MODULO), multi-node aggregates and joins through EXECUTE,
INSERT/UPDATE/DELETE ... RETURNING prepared and executed inside transactions that roll
back and commit, argument expressions evaluated once with PostgreSQL's coercion, errors
(26000, 42P05, 42601, 42804, 25P02), DEALLOCATE, CREATE TABLE AS EXECUTE, and DECLARE /
FETCH / MOVE / CLOSE of cursors whose query reads distributed tables.
*/

PREPARE user_by_id(int) AS SELECT id, name, age, score FROM users WHERE id = $1;
EXECUTE user_by_id(17);
EXECUTE user_by_id(17 + 1);
EXECUTE user_by_id('19');
EXECUTE user_by_id(NULL);
PREPARE ev_by_device AS SELECT ev_id, kind FROM events WHERE device = $1 ORDER BY ev_id;
EXECUTE ev_by_device('d03');
PREPARE metric(bigint) AS SELECT seq, m_int FROM metrics WHERE big_id = $1 ORDER BY seq;
EXECUTE metric(-9223372036854775808);
EXECUTE metric(2147483648);
PREPARE stock(int) AS SELECT inv_id, stock FROM inventory WHERE item_id = $1 ORDER BY inv_id;
EXECUTE stock(7);
PREPARE by_city(text, int) AS SELECT city, count(*), sum(score), min(age) FROM users WHERE city = $1 AND age > $2 GROUP BY city;
EXECUTE by_city('oslo', 20);
PREPARE user_orders(int) AS SELECT u.name, count(o.order_id), sum(o.amount) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id < $1 GROUP BY u.name ORDER BY u.name;
EXECUTE user_orders(30);
PREPARE top_logs(int) AS SELECT log_id, level FROM logs ORDER BY log_id LIMIT $1;
EXECUTE top_logs(5);
PREPARE country(text) AS SELECT cname, region FROM countries WHERE code = $1;
EXECUTE country('no');

-- writes
PREPARE add_user(int, text) AS INSERT INTO users (id, name, age) VALUES ($1, $2, 33) RETURNING id, name, age;
PREPARE older(int) AS UPDATE users SET age = age + 1 WHERE id = $1 RETURNING id, age;
PREPARE drop_user(int) AS DELETE FROM users WHERE id = $1 RETURNING id, name;
PREPARE add_log(int) AS INSERT INTO logs (log_id, level, msg) VALUES ($1, 'info', 'prepared') RETURNING log_id;
PREPARE add_country(text) AS INSERT INTO countries VALUES ($1, 'prepared land', 'nowhere', 1) RETURNING code;
BEGIN;
EXECUTE add_user(900001, 'temp');
EXECUTE older(900001);
EXECUTE add_log(900002);
EXECUTE add_country('zz');
SELECT count(*) FROM users WHERE id >= 900000;
ROLLBACK;
EXECUTE user_by_id(900001);
SELECT count(*) FROM logs WHERE log_id = 900002;
SELECT count(*) FROM countries WHERE code = 'zz';
BEGIN;
EXECUTE add_user(900003, 'kept');
EXECUTE older(900003);
EXECUTE add_log(900004);
EXECUTE add_country('zy');
COMMIT;
EXECUTE user_by_id(900003);
SELECT log_id, level, msg FROM logs WHERE log_id = 900004;
SELECT * FROM countries WHERE code = 'zy';
EXECUTE drop_user(900003);
EXECUTE user_by_id(900003);

-- errors
-- error
EXECUTE no_such_statement(1);
-- error
PREPARE user_by_id(int) AS SELECT 1;
-- error
EXECUTE user_by_id(1, 2);
-- error
EXECUTE user_by_id('x'::text);
-- error
EXECUTE user_by_id('not a number');
BEGIN;
-- error
EXECUTE no_such_statement;
-- error
EXECUTE user_by_id(1);
ROLLBACK;
DEALLOCATE user_by_id;
-- error
DEALLOCATE user_by_id;
-- error
EXECUTE user_by_id(17);

-- CREATE TABLE AS EXECUTE
PREPARE rich(numeric) AS SELECT id, name, score FROM users WHERE score > $1;
CREATE TABLE rich_users AS EXECUTE rich(90);
SELECT * FROM rich_users;
DROP TABLE rich_users;

-- cursors
BEGIN;
DECLARE cu CURSOR FOR SELECT id, name FROM users WHERE id < 40 ORDER BY id;
FETCH 3 FROM cu;
FETCH NEXT FROM cu;
MOVE FORWARD 5 IN cu;
FETCH 2 FROM cu;
CLOSE cu;
DECLARE agg SCROLL CURSOR FOR SELECT city, count(*) AS n FROM users GROUP BY city ORDER BY city;
FETCH LAST FROM agg;
FETCH ABSOLUTE 2 FROM agg;
FETCH BACKWARD 1 FROM agg;
COMMIT;
DEALLOCATE ALL;
