/*
ORDER BY an output name that two output columns carry (the lead's probe, 2026-12-04):
over several nodes the sorted merge renamed the repeated column in its scratch table, so
`SELECT u, u::text ... ORDER BY u` answered where PostgreSQL says 42702 "ORDER BY "u" is
ambiguous", and `SELECT a AS x, b AS x ... ORDER BY x` failed with 42703 "column "x" does
not exist". The same column twice, or a qualified sort key, sorts as PostgreSQL does.
*/
CREATE TABLE ob_people (id int PRIMARY KEY, name text, u uuid);
INSERT INTO ob_people VALUES (1, 'ann', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), (2, 'bob', NULL), (3, 'cy', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'), (4, 'dee', 'c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13');
-- error
SELECT id, u, u::text FROM ob_people WHERE u IS NOT NULL ORDER BY u;
-- error
SELECT id, u AS x, u::text AS x FROM ob_people ORDER BY x;
-- error
SELECT id, name AS n, 'k' AS n FROM ob_people ORDER BY n;
-- error
SELECT p.id, q.id FROM ob_people p JOIN ob_people q ON q.id = p.id + 1 ORDER BY id;
-- error
SELECT id, lower(name) AS k, upper(name) AS k FROM ob_people ORDER BY k;
SELECT id, id FROM ob_people ORDER BY id;
SELECT ob_people.id, id FROM ob_people ORDER BY id;
SELECT p.id, q.id FROM ob_people p JOIN ob_people q ON q.id = p.id + 1 ORDER BY p.id;
SELECT p.id AS a, q.id AS a FROM ob_people p JOIN ob_people q ON q.id = p.id + 1 ORDER BY 1;
SELECT name, name FROM ob_people ORDER BY name LIMIT 2;
SELECT *, id FROM ob_people ORDER BY id;
