/*
Interview and practice SQL (LeetCode "SQL 50" and hard problems, DataLemur, course
exercises) as users write it for PostgreSQL, over small tables of our own placed three
ways: HASH on a column that is not the key the problem joins on, ROUNDROBIN and
REPLICATION (h-corpus27, 2026-12-07; bench/user_corpus.py practice/leetcode/exercises
replayed ~17,000 statements of them without a wrong answer). The shapes that a distributed
plan must not break: self-joins on a shifted key (id = id - 1, date = date + 1), a
correlated row IN with ORDER BY/LIMIT inside, running and RANGE windows, NULLs in NOT IN,
DELETE USING a self-join, a PL/pgSQL function reading a table called per row.
*/
CREATE SCHEMA oracle_h27;
CREATE TABLE oracle_h27.employee (id int, name text, salary int, departmentid int, managerid int) DISTRIBUTE BY HASH (departmentid);
CREATE TABLE oracle_h27.department (id int, name text) DISTRIBUTE BY ROUNDROBIN;
CREATE TABLE oracle_h27.logs (id int, num int) DISTRIBUTE BY HASH (num);
CREATE TABLE oracle_h27.weather (id int, recorddate date, temperature int) DISTRIBUTE BY HASH (temperature);
CREATE TABLE oracle_h27.queue (person_id int, person_name text, weight int, turn int) DISTRIBUTE BY REPLICATION;
CREATE TABLE oracle_h27.customer (customer_id int, name text, visited_on date, amount int) DISTRIBUTE BY HASH (customer_id);
CREATE TABLE oracle_h27.person (id int, email text) DISTRIBUTE BY HASH (email);
CREATE TABLE oracle_h27.products (product_id int, new_price int, change_date date) DISTRIBUTE BY HASH (new_price);
INSERT INTO oracle_h27.employee VALUES (1, 'joe', 85000, 1, NULL), (2, 'henry', 80000, 2, 1), (3, 'sam', 60000, 2, 1), (4, 'max', 90000, 1, 2), (5, 'janet', 69000, 1, 4), (6, 'randy', 85000, 1, 4), (7, 'will', 70000, 1, 4), (8, 'ann', 55000, NULL, 4), (9, 'bea', 99000, 3, NULL), (10, 'cy', 61000, 2, 9);
INSERT INTO oracle_h27.department VALUES (1, 'it'), (2, 'sales'), (3, 'ops'), (4, 'empty');
INSERT INTO oracle_h27.logs VALUES (1, 1), (2, 1), (3, 1), (4, 2), (5, 1), (6, 2), (7, 2), (8, 2), (9, 3), (10, NULL), (11, 3), (12, 3), (13, 3);
INSERT INTO oracle_h27.weather VALUES (1, '2015-01-01', 10), (2, '2015-01-02', 25), (3, '2015-01-03', 20), (4, '2015-01-04', 30), (5, '2015-01-06', 35), (6, '2015-01-07', NULL), (7, '2015-01-08', 5);
INSERT INTO oracle_h27.queue VALUES (5, 'alice', 250, 1), (4, 'bob', 175, 5), (3, 'alex', 350, 2), (6, 'john', 400, 3), (1, 'winston', 500, 6), (2, 'marie', 200, 4);
INSERT INTO oracle_h27.customer VALUES (1, 'jhon', '2019-01-01', 100), (2, 'daniel', '2019-01-02', 110), (3, 'jade', '2019-01-03', 120), (4, 'khaled', '2019-01-04', 130), (5, 'winston', '2019-01-05', 110), (6, 'elvis', '2019-01-06', 140), (7, 'anna', '2019-01-07', 150), (8, 'maria', '2019-01-08', 80), (9, 'jaze', '2019-01-09', 110), (1, 'jhon', '2019-01-10', 130), (3, 'jade', '2019-01-10', 150);
INSERT INTO oracle_h27.person VALUES (1, 'john@example.com'), (2, 'bob@example.com'), (3, 'john@example.com'), (4, NULL), (5, 'bob@example.com'), (6, NULL), (7, 'amy@example.com');
INSERT INTO oracle_h27.products VALUES (1, 20, '2019-08-14'), (2, 50, '2019-08-14'), (1, 30, '2019-08-15'), (1, 35, '2019-08-16'), (2, 65, '2019-08-17'), (3, 20, '2019-08-18');
-- 176 second highest salary, NULL when there is none
SELECT (SELECT DISTINCT salary FROM oracle_h27.employee ORDER BY salary DESC OFFSET 1 LIMIT 1) AS secondhighestsalary;
SELECT max(salary) AS secondhighestsalary FROM oracle_h27.employee WHERE salary < (SELECT max(salary) FROM oracle_h27.employee);
SELECT (SELECT DISTINCT salary FROM oracle_h27.employee WHERE departmentid = 3 ORDER BY salary DESC OFFSET 1 LIMIT 1) AS none_there;
-- 177 Nth highest salary, a PL/pgSQL function reading the table, called per row of another
CREATE FUNCTION oracle_h27.nthhighestsalary(n int) RETURNS TABLE (salary int) LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY (SELECT DISTINCT e.salary FROM oracle_h27.employee e ORDER BY e.salary DESC LIMIT 1 OFFSET (n - 1)); END $$;
SELECT * FROM oracle_h27.nthhighestsalary(3);
SELECT d.id, (SELECT s.salary FROM oracle_h27.nthhighestsalary(d.id) s) FROM oracle_h27.department d ORDER BY d.id;
-- 180 consecutive numbers: self-joins on id - 1
SELECT DISTINCT l1.num AS consecutivenums FROM oracle_h27.logs l1, oracle_h27.logs l2, oracle_h27.logs l3 WHERE l1.id = l2.id - 1 AND l2.id = l3.id - 1 AND l1.num = l2.num AND l2.num = l3.num;
SELECT DISTINCT num FROM (SELECT num, lead(num) OVER (ORDER BY id) AS n1, lead(num, 2) OVER (ORDER BY id) AS n2 FROM oracle_h27.logs) s WHERE num = n1 AND num = n2;
-- 181 earning more than their managers
SELECT e.name AS employee FROM oracle_h27.employee e JOIN oracle_h27.employee m ON e.managerid = m.id WHERE e.salary > m.salary;
-- 184 / 185 department highest and top three salaries; a correlated row IN with LIMIT
SELECT d.name AS department, e.name AS employee, e.salary FROM oracle_h27.employee e JOIN oracle_h27.department d ON e.departmentid = d.id WHERE (e.departmentid, e.salary) IN (SELECT departmentid, max(salary) FROM oracle_h27.employee GROUP BY departmentid);
SELECT d.name AS department, e.name AS employee, e.salary FROM oracle_h27.employee AS e LEFT JOIN oracle_h27.department AS d ON e.departmentid = d.id WHERE (e.departmentid, e.salary) IN (SELECT e2.departmentid, e2.salary FROM oracle_h27.employee AS e2 WHERE e2.departmentid = d.id GROUP BY e2.departmentid, e2.salary ORDER BY e2.salary DESC LIMIT 3);
SELECT department, employee, salary FROM (SELECT d.name AS department, e.name AS employee, e.salary, dense_rank() OVER (PARTITION BY d.id ORDER BY e.salary DESC) AS r FROM oracle_h27.employee e JOIN oracle_h27.department d ON d.id = e.departmentid) s WHERE r <= 3;
SELECT d.name, count(e.id), coalesce(sum(e.salary), 0) FROM oracle_h27.department d LEFT JOIN oracle_h27.employee e ON e.departmentid = d.id GROUP BY d.name ORDER BY d.name;
-- 197 rising temperature: a self-join on date + 1 over a table hashed by another column
SELECT w1.id FROM oracle_h27.weather AS w1 JOIN oracle_h27.weather AS w2 ON w1.recorddate = w2.recorddate + interval '1 day' AND w1.temperature > w2.temperature;
SELECT w1.id FROM oracle_h27.weather w1, oracle_h27.weather w2 WHERE w1.recorddate - w2.recorddate = 1 AND w1.temperature > w2.temperature;
SELECT id FROM (SELECT id, recorddate, temperature, lag(temperature) OVER (ORDER BY recorddate) AS prev, lag(recorddate) OVER (ORDER BY recorddate) AS prevd FROM oracle_h27.weather) s WHERE temperature > prev AND recorddate = prevd + 1;
-- 196 delete duplicate emails: DELETE USING a self-join on the distribution column, and by NOT IN
BEGIN;
DELETE FROM oracle_h27.person p1 USING oracle_h27.person p2 WHERE p1.email = p2.email AND p1.id > p2.id;
SELECT * FROM oracle_h27.person ORDER BY id;
ROLLBACK;
BEGIN;
DELETE FROM oracle_h27.person WHERE id NOT IN (SELECT min(id) FROM oracle_h27.person GROUP BY email);
SELECT * FROM oracle_h27.person ORDER BY id;
ROLLBACK;
-- NOT IN over a column with NULLs is never true
SELECT count(*) FROM oracle_h27.employee WHERE id NOT IN (SELECT managerid FROM oracle_h27.employee);
SELECT count(*) FROM oracle_h27.employee e WHERE NOT EXISTS (SELECT 1 FROM oracle_h27.employee m WHERE m.managerid = e.id);
-- 1164 product price at a given date: correlated ORDER BY ... LIMIT 1 under COALESCE
SELECT DISTINCT p.product_id, coalesce((SELECT p1.new_price FROM oracle_h27.products p1 WHERE p1.change_date <= '2019-08-16' AND p1.product_id = p.product_id ORDER BY p1.change_date DESC LIMIT 1), 10) AS price FROM oracle_h27.products p ORDER BY 1;
SELECT DISTINCT ON (product_id) product_id, CASE WHEN change_date <= '2019-08-16' THEN new_price ELSE 10 END AS price FROM oracle_h27.products ORDER BY product_id, change_date <= '2019-08-16' DESC, change_date DESC;
-- 1204 last person to fit in the bus: a running SUM over a replicated table
SELECT person_name FROM (SELECT person_name, turn, sum(weight) OVER (ORDER BY turn) AS total FROM oracle_h27.queue) s WHERE total <= 1000 ORDER BY turn DESC LIMIT 1;
SELECT q.person_name FROM oracle_h27.queue q JOIN oracle_h27.queue q2 ON q.turn >= q2.turn GROUP BY q.turn, q.person_name HAVING sum(q2.weight) <= 1000 ORDER BY sum(q2.weight) DESC LIMIT 1;
-- 1321 restaurant growth: a RANGE window over dates after a GROUP BY
SELECT visited_on, amount, round(average_amount, 2) AS average_amount FROM (SELECT visited_on, sum(sum(amount)) OVER w AS amount, avg(sum(amount)) OVER w AS average_amount, count(*) OVER w AS n FROM oracle_h27.customer GROUP BY visited_on WINDOW w AS (ORDER BY visited_on RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW)) s WHERE visited_on >= (SELECT min(visited_on) FROM oracle_h27.customer) + 6 ORDER BY visited_on;
-- DataLemur: histogram, percentages with FILTER, a median
SELECT n AS purchases, count(*) AS customers FROM (SELECT customer_id, count(*) AS n FROM oracle_h27.customer GROUP BY customer_id) s GROUP BY n ORDER BY n;
SELECT round(100.0 * count(*) FILTER (WHERE amount > 110) / count(*), 2) AS pct, percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median FROM oracle_h27.customer;
SELECT to_char(visited_on, 'YYYY-MM') AS month, count(DISTINCT customer_id), sum(amount) FILTER (WHERE amount >= 120) FROM oracle_h27.customer GROUP BY 1 ORDER BY 1;
/*
An uncorrelated sub-select over distributed tables runs first as a plan of its own
(planner/subplans.py); PostgreSQL evaluates it (an InitPlan) only when a row first needs
its value. Over no rows, in a CASE branch not taken, behind a false AND, its error
(22012, 21000) is never raised: a sub-select whose value fails to compute now lets the
statement run again by an exchange or the coordinator finish, where PostgreSQL itself
decides (executor/multi._exchange_or_finish, SubplanValueFailed). Found by probing the
corpus's shapes (h-corpus27).
*/
CREATE TABLE oracle_h27.zero (x int) DISTRIBUTE BY HASH (x);
CREATE TABLE oracle_h27.nothing (a int) DISTRIBUTE BY HASH (a);
INSERT INTO oracle_h27.zero VALUES (0);
SELECT * FROM oracle_h27.nothing WHERE a < (SELECT 1/x FROM oracle_h27.zero);
SELECT id, CASE WHEN salary > 1000000 THEN (SELECT 1/x FROM oracle_h27.zero) END AS c FROM oracle_h27.employee ORDER BY id;
SELECT count(*) FROM oracle_h27.employee WHERE salary > 1000000 AND salary < (SELECT 1/x FROM oracle_h27.zero);
SELECT id, coalesce(salary, (SELECT 1/x FROM oracle_h27.zero)) AS s FROM oracle_h27.employee ORDER BY id;
SELECT d.name FROM oracle_h27.department d WHERE d.id > 10 AND d.id < (SELECT x FROM oracle_h27.employee e, oracle_h27.zero z WHERE e.id > 0);
-- error
SELECT id FROM oracle_h27.employee WHERE salary < (SELECT 1/x FROM oracle_h27.zero);
-- error
SELECT id FROM oracle_h27.employee WHERE salary < (SELECT x FROM oracle_h27.employee e, oracle_h27.zero z WHERE e.id > 0);
