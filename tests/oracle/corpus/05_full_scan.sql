/*
Full-table reads of every table (every column, every type) right after loading.
Exercises: pushdown of a plain scan to all nodes and concatenation (HASH int/text/bigint,
MODULO, ROUNDROBIN), fast path on one replica for REPLICATION tables, type output of
every column type through the coordinator (relay of DataRow bytes).
*/
SELECT * FROM users;
SELECT * FROM orders;
SELECT * FROM events;
SELECT * FROM metrics;
SELECT * FROM inventory;
SELECT * FROM logs;
SELECT * FROM countries;
SELECT * FROM cities;
SELECT * FROM empty_t;
SELECT * FROM skewed;
SELECT * FROM users ORDER BY id;
SELECT * FROM orders ORDER BY order_id;
SELECT * FROM events ORDER BY ev_id;
SELECT * FROM metrics ORDER BY seq;
SELECT * FROM inventory ORDER BY inv_id;
SELECT * FROM logs ORDER BY log_id;
SELECT * FROM countries ORDER BY code;
SELECT * FROM skewed ORDER BY sk_id;
