/*
MERGE whose source is colocated with its target (joined on both distribution columns):
the source a table, a subquery or a MATERIALIZED CTE reading it row by row; UPDATE,
DELETE, INSERT and DO NOTHING actions, NOT MATCHED BY SOURCE, RETURNING, inside a
transaction that rolls back. (Other MERGE sources over distributed tables are refused
with 0A000: tests/integration/test_code_paths_and_roles.py.)
*/

CREATE TABLE mtarget (id int PRIMARY KEY, v int, note text) DISTRIBUTE BY HASH (id);
CREATE TABLE msource (id int PRIMARY KEY, v int, flag bool) DISTRIBUTE BY HASH (id);
INSERT INTO mtarget SELECT g, g * 10, 'old' FROM generate_series(1, 30) g;
INSERT INTO msource SELECT g, g * 100, g % 3 = 0 FROM generate_series(20, 45) g;

MERGE INTO mtarget t USING msource s ON t.id = s.id WHEN MATCHED AND s.flag THEN DELETE WHEN MATCHED THEN UPDATE SET v = s.v, note = 'updated' WHEN NOT MATCHED THEN INSERT (id, v, note) VALUES (s.id, s.v, 'new');
SELECT count(*), sum(v), count(*) FILTER (WHERE note = 'new') FROM mtarget;
SELECT * FROM mtarget WHERE id BETWEEN 18 AND 33 ORDER BY id;

-- a MATERIALIZED CTE reading the source row by row, quoted names and a comment
WITH "Big" AS MATERIALIZED (SELECT id, v AS w FROM msource WHERE v > 3000 /* the big ones */) MERGE INTO mtarget AS t USING "Big" b ON b.id = t.id WHEN MATCHED THEN UPDATE SET v = b.w + 1 WHEN NOT MATCHED THEN DO NOTHING;
SELECT id, v FROM mtarget WHERE id > 29 ORDER BY id;

-- a subquery source, RETURNING
MERGE INTO mtarget t USING (SELECT id, v FROM msource WHERE id < 25) AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET note = 'sub' RETURNING merge_action(), t.id, t.note;
SELECT count(*) FROM mtarget WHERE note = 'sub';

-- in a transaction that rolls back; NOT MATCHED BY SOURCE
BEGIN;
MERGE INTO mtarget t USING msource s ON t.id = s.id WHEN NOT MATCHED BY SOURCE AND t.id < 5 THEN DELETE WHEN MATCHED THEN UPDATE SET v = 0;
SELECT count(*), sum(v) FROM mtarget;
ROLLBACK;
SELECT count(*), sum(v) FROM mtarget;

-- an error on one node undoes every node
-- error
MERGE INTO mtarget t USING msource s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = 1 / (s.id - 40);
SELECT count(*), sum(v) FROM mtarget;
