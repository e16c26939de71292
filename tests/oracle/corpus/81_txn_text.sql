/*
Transaction control written as ORMs and people write it: comments before and after the
keyword, END / ABORT / AND NO CHAIN / AND CHAIN spellings, ROLLBACK TO SAVEPOINT, each
ending (or recovering) an aborted transaction as PostgreSQL does.
Exercises: sql.parse.transaction_control (recognised by the parse tree, not the text).
*/

CREATE TABLE tt (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
INSERT INTO tt VALUES (1, 'a'), (2, 'b'), (3, 'c');

BEGIN;
INSERT INTO tt VALUES (4, 'd');
-- error
SELECT 1 / 0;
-- error
SELECT * FROM tt;
/* app:web controller:orders */ rollback;
SELECT * FROM tt ORDER BY id;

BEGIN;
UPDATE tt SET v = 'x' WHERE id = 1;
-- error
INSERT INTO tt VALUES (1, 'dup');
/* c */ -- and a line comment
ROLLBACK;
SELECT * FROM tt ORDER BY id;

BEGIN;
UPDATE tt SET v = 'y' WHERE id = 2;
-- error
SELECT nope FROM tt;
commit /* x */;
SELECT * FROM tt ORDER BY id;

BEGIN;
DELETE FROM tt WHERE id = 3;
-- error
SELECT 1 / 0;
/* end it */ END;
SELECT * FROM tt ORDER BY id;

BEGIN;
DELETE FROM tt WHERE id = 2;
-- error
SELECT 1 / 0;
/**/ ABORT;
SELECT * FROM tt ORDER BY id;

BEGIN;
DELETE FROM tt WHERE id = 1;
-- error
SELECT 1 / 0;
/* x */ ROLLBACK AND NO CHAIN;
SELECT * FROM tt ORDER BY id;

BEGIN;
INSERT INTO tt VALUES (5, 'e');
SAVEPOINT s1;
INSERT INTO tt VALUES (6, 'f');
-- error
SELECT 1 / 0;
/* back */ ROLLBACK TO SAVEPOINT s1;
INSERT INTO tt VALUES (7, 'g');
SELECT * FROM tt ORDER BY id;
/* a /* nested */ comment */ COMMIT;
SELECT * FROM tt ORDER BY id;

BEGIN;
INSERT INTO tt VALUES (8, 'h');
-- error
SELECT 1 / 0;
/* c */ ROLLBACK AND CHAIN;
INSERT INTO tt VALUES (9, 'i');
COMMIT;
SELECT * FROM tt ORDER BY id;

/* c */ BEGIN;
/* c */ SAVEPOINT "Odd Name";
INSERT INTO tt VALUES (10, 'j');
/* c */ RELEASE SAVEPOINT "Odd Name";
/* c */ COMMIT;
SELECT * FROM tt ORDER BY id;
