/*
Inheritance between tables gridpg distributed by itself (h-inherit19, inherit.sql:328,
368, 781, 913, 1080, 1106). `INHERITS (p1, p2)` of parents distributed unlike and
`ALTER TABLE child INHERIT parent` of a child distributed otherwise were refused (0A000,
"not distributed alike") where PostgreSQL takes them. Parents that gridpg placed and that
are in no other tree are now made alike first (like the first parent whose distribution
column they all have, else REPLICATION), and such a child takes its new parent's
placement; rows move. Reads through each parent then see the child's rows, also when
routed by the parent's distribution column. A HASH table with a self-referencing foreign
key becomes a parent too (inherit.sql:1173): its datanode copy's shards held clones of the
key, which the conversion to a plain table counted as keys of other tables (0A000).
`ALTER TABLE parent DROP COLUMN` of the distribution column (alter_table.sql:1224) left
the members' metadata naming the dropped column, and every later DROP ... CASCADE failed
(0A000); such members gridpg placed become ROUNDROBIN. `RENAME COLUMN` of the
distribution column (alter_table.sql:1196) left every table's metadata naming the old
column (an INSERT failed with 23514; a child column renamed to the old name would have
been taken for the distribution column).
*/
CREATE SCHEMA oracle_inh19p;
SET search_path = oracle_inh19p;
create table ac (a int constraint check_a check (a <> 0));
create table bc (b int constraint check_b check (b <> 0));
insert into ac values (1), (2), (3);
insert into bc values (4), (5);
create table cc (c int constraint check_c check (c <> 0)) inherits (ac, bc);
insert into cc values (7, 8, 9), (10, 11, 12);
select * from ac order by 1;
select * from bc order by 1;
select * from ac where a = 7;
select * from bc where b = 11;
alter table cc no inherit bc;
select * from bc order by 1;
update ac set a = a + 100 returning *;
select * from ac order by 1;
drop table cc;
drop table bc;
drop table ac;
CREATE TABLE inht1 (a int, b int);
CREATE TABLE inhs1 (b int, c int);
insert into inht1 values (1, 2), (3, 4);
insert into inhs1 values (2, 5), (6, 7);
CREATE TABLE inhts (d int) INHERITS (inht1, inhs1);
insert into inhts values (10, 20, 30, 40);
select * from inht1 order by 1;
select * from inhs1 order by 1;
select * from inhs1 where b = 20;
select * from inht1 where a = 10;
drop table inhts, inht1, inhs1;
create table inh_p1(f1 int not null);
create table inh_p2(f1 int not null);
create table inh_p3(f2 int);
create table inh_p4(f1 int not null, f3 text not null);
create table inh_multiparent() inherits(inh_p1, inh_p2, inh_p3, inh_p4);
insert into inh_multiparent values (1, 2, 'x');
insert into inh_p3 values (5);
select * from inh_p3 order by 1;
select * from inh_p1 where f1 = 1;
select * from inh_p4 where f3 = 'x';
drop table inh_p1, inh_p2, inh_p3, inh_p4 cascade;
create table inhpar(f1 int, f2 name);
create table inhcld(f2 name, f1 int);
insert into inhcld select x::text, x from generate_series(11,15) x;
alter table inhcld inherit inhpar;
insert into inhpar select x, x::text from generate_series(1,5) x;
insert into inhcld select x::text, x from generate_series(6,10) x;
select * from inhpar order by 1;
select * from inhpar where f1 = 12;
select tableoid::regclass, * from inhpar where f1 in (3, 8, 13) order by 2;
update inhpar set f1 = f1 * 2 where f1 > 12;
select tableoid::regclass, * from inhpar where f1 > 12 order by 2;
drop table inhpar cascade;
create table inh_nn1 (f1 int check(f1 > 5) primary key references inh_nn1, f2 int not null);
insert into inh_nn1 values (6, 1), (7, 2);
create table inh_nn2 () inherits (inh_nn1);
insert into inh_nn2 values (6, 1), (10, 2);
insert into inh_nn1 values (8, 1), (9, 2), (11, 3);
-- error
insert into inh_nn1 values (3, 1);
update inh_nn1 set f2 = f2 + 1 where f1 = 6;
select tableoid::regclass, * from inh_nn1 order by 2, 1;
drop table inh_nn1, inh_nn2;
create table p1 (f1 int, f2 int);
create table c1 (f1 int not null) inherits (p1);
insert into c1 values (1, 2), (3, 4);
insert into p1 values (5, 6);
alter table p1 drop column f1;
select f1, f2 from c1 order by 1;
alter table c1 drop column f1;
select * from p1 order by 1;
create table zz (x int);
drop table zz cascade;
insert into p1 values (7);
insert into c1 values (8);
select tableoid::regclass, * from p1 order by 2;
drop table p1 cascade;
create table pk1 (f1 int primary key, f2 int);
create table ck1 () inherits (pk1);
insert into ck1 values (1, 10);
alter table pk1 drop column f1;
select * from pk1;
drop table pk1 cascade;
create table rc (a int, b int);
insert into rc select g, g from generate_series(1, 20) g;
alter table rc rename column a to d;
insert into rc values (100, 100);
select * from rc where d = 100;
select count(*) from rc where d between 1 and 10;
drop table rc;
create table renameColumn (a int);
create table renameColumnChild (b int) inherits (renameColumn);
create table renameColumnAnother (c int) inherits (renameColumnChild);
insert into renameColumnAnother values (1, 2, 3), (4, 5, 6);
alter table renameColumn rename column a to d;
alter table renameColumnChild rename column b to a;
insert into renameColumnChild values (7, 8), (9, 10);
insert into renameColumnAnother values (11, 12, 13);
select * from renameColumn where d = 7;
select * from renameColumnChild where a = 12;
select * from renameColumnChild where d = 11;
select * from renameColumnChild order by 1;
create table zz (x int);
drop table zz cascade;
drop table renameColumn cascade;
RESET search_path;
