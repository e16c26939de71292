/*
Rules (CREATE RULE) of distributed tables whose actions write or notify: an audit log
kept by `ON INSERT ... DO ALSO INSERT INTO log`, counters kept by an UPDATE rule,
archiving by a conditional DO INSTEAD on DELETE, redirection to another table. They were
refused with 0A000 at CREATE RULE (an action run on the datanode holding the row would
write the other table's local shards). The coordinator now applies them as PostgreSQL's
rewriter does (planner/rules.py): each action a statement of its own reading the values
NEW and OLD stand for, the original statement before (INSERT) or after (UPDATE, DELETE)
them, dropped by an unconditional INSTEAD rule and limited by a conditional one, the
command tag PostgreSQL gives.
*/
create table acct (id int primary key, owner text, balance numeric default 0, created text default 'dflt');
create table acct_log (id int, what text, amount numeric, at_owner text);
create table counters (k text primary key, n int);
insert into counters values ('ins', 0), ('upd', 0), ('del', 0);
create rule acct_ins as on insert to acct do also insert into acct_log values (new.id, 'ins', new.balance, new.created);
create rule acct_upd as on update to acct where old.balance <> new.balance do also (insert into acct_log values (new.id, 'upd', new.balance - old.balance, old.owner); update counters set n = n + 1 where k = 'upd');
create rule acct_del as on delete to acct do also insert into acct_log (id, what, amount) values (old.id, 'del', old.balance);
insert into acct values (1, 'ann', 10);
insert into acct (id, owner) values (2, 'bob'), (3, 'cy');
insert into acct select g, 'u' || g, g from generate_series(10, 14) g;
select * from acct_log order by id, what;
update acct set balance = balance + 5 where id in (1, 2, 10);
update acct set owner = 'ANN' where id = 1;
select * from acct_log where what = 'upd' order by id;
select * from counters order by k;
delete from acct where id >= 12;
select * from acct_log where what = 'del' order by id;
select count(*) from acct;
-- instead rules
create table archive (id int, owner text);
create rule acct_del_instead as on delete to acct where old.owner like 'u%' do instead insert into archive values (old.id, old.owner);
delete from acct where id in (10, 11, 2);
select id from acct order by id;
select * from archive order by id;
create table blocked (id int primary key, v text);
create rule blocked_ins as on insert to blocked do instead nothing;
insert into blocked values (1, 'x');
select count(*) from blocked;
create table redirect_src (id int primary key, v text);
create table redirect_dst (id int primary key, v text);
create rule redirect_r as on insert to redirect_src do instead insert into redirect_dst values (new.id, upper(new.v));
insert into redirect_src values (1, 'a'), (2, 'b');
select * from redirect_src;
select * from redirect_dst order by id;
create rule redirect_u as on update to redirect_src do instead update redirect_dst set v = new.v where id = old.id;
update redirect_src set v = 'z';
-- conditional instead on insert
create table small (id int primary key, v int);
create table big (id int primary key, v int);
create rule small_only as on insert to small where new.v >= 100 do instead insert into big values (new.id, new.v);
insert into small values (1, 5), (2, 500), (3, 50), (4, 1000);
select * from small order by id;
select * from big order by id;
-- notify rule
create rule acct_notify as on update to counters do also notify counters_changed;
update counters set n = 0 where k = 'ins';
drop rule acct_notify on counters;
drop rule if exists nosuch on counters;
alter rule acct_ins on acct rename to acct_ins2;
insert into acct values (50, 'zed', 1);
select * from acct_log where id = 50;
drop rule acct_ins2 on acct;
insert into acct values (51, 'zed', 1);
select count(*) from acct_log where id = 51;
select rulename from pg_rules where schemaname = 'p11' order by 1;
-- prepared statements over a ruled table
prepare ins(int, text, numeric) as insert into acct values ($1, $2, $3);
create rule acct_ins3 as on insert to acct do also insert into acct_log values (new.id, 'ins3', new.balance, new.owner);
execute ins(60, 'p', 6);
execute ins(61, 'q', 7);
select * from acct_log where id >= 60 order by id;
begin;
insert into acct values (70, 'tx', 1);
rollback;
select count(*) from acct_log where id = 70;
-- error
insert into acct values (1, 'dup', 1);
select count(*) from acct_log where id = 1 and what = 'ins3';

-- NEW of a serial column not given: its default drawn from the cluster's sequence (the GTM), after the original's, as PostgreSQL evaluates it again for the action
create table g (id int primary key, total int generated always as (id * 2) stored, v text, n serial);
create table glog (id int, v text, n int);
create rule g_ins as on insert to g do also insert into glog values (new.id, new.v, new.n);
insert into g values (1, default, 'a', 100);
insert into g (id, v) values (2, 'b');
insert into g values (3, default, 'c');
select * from glog order by id;
select * from g order by id;
