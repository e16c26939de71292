-- A session's temp views and temp tables change between statements that read them: what
-- the coordinator learnt of them (the views' definitions, the tables' defaults) must follow.
CREATE TABLE base26 (id int PRIMARY KEY, v int);
INSERT INTO base26 SELECT i, i * 10 FROM generate_series(1, 20) i;
CREATE TEMP TABLE tt26 (id serial, name text);
INSERT INTO tt26 (name) VALUES ('a');
INSERT INTO tt26 (name) VALUES ('b');
SELECT * FROM tt26 ORDER BY id;
CREATE TEMP VIEW tv26 AS SELECT id, v FROM base26 WHERE id < 4;
SELECT * FROM tv26 ORDER BY id;
INSERT INTO tt26 (name) SELECT 'v' || v FROM tv26;
SELECT * FROM tt26 ORDER BY id;
DROP VIEW tv26;
CREATE TEMP VIEW tv26 AS SELECT id, v FROM base26 WHERE id > 18;
SELECT * FROM tv26 ORDER BY id;
INSERT INTO tt26 (name) SELECT 'w' || v FROM tv26;
ALTER TABLE tt26 ALTER COLUMN id SET DEFAULT 1000;
INSERT INTO tt26 (name) VALUES ('d');
SELECT * FROM tt26 ORDER BY id, name;
BEGIN;
CREATE TEMP VIEW tv26b AS SELECT count(*) AS n FROM base26;
SELECT * FROM tv26b;
ROLLBACK;
-- error
SELECT * FROM tv26b;
CREATE TEMP VIEW tv26b AS SELECT sum(v) AS s FROM base26;
SELECT * FROM tv26b;
CREATE OR REPLACE TEMP VIEW tv26b AS SELECT sum(v) AS s, count(*) AS n FROM base26;
SELECT * FROM tv26b;
DROP VIEW tv26, tv26b;
DROP TABLE tt26;
