/*
Differences the h-regress22 replay of PostgreSQL 18's merge, generated_stored,
generated_virtual and constraints files showed (2026-12-06), each in its smallest form.
*/

-- generated_stored.sql:775-784: a rule that writes, reading NEW of a generated column.
-- INSERT not giving the column was refused (0A000); an UPDATE that changes the columns
-- the generated one reads logged the old generated value as NEW, silently. PostgreSQL 18
-- gives the rule the value the row will have.
create table rg22_item (id int, qty int, total int generated always as (qty * 3) stored,
  half int generated always as (qty / 2) virtual, note text);
create table rg22_trail (op text, id int, old_total int, new_total int, new_half int);
create rule rg22_item_ins as on insert to rg22_item
  do also insert into rg22_trail values ('ins', new.id, null, new.total, new.half);
create rule rg22_item_upd as on update to rg22_item
  do also insert into rg22_trail values ('upd', new.id, old.total, new.total, new.half);
insert into rg22_item (id, qty) values (1, 4), (2, 10);
insert into rg22_item values (3, 7, default, default, 'x');
insert into rg22_item (id, qty) select g, g * 2 from generate_series(4, 5) g;
update rg22_item set qty = qty + 1 where id = 1;
update rg22_item set note = 'seen' where id = 2;
update rg22_item set qty = (select max(total) from rg22_item) where id = 3;
select * from rg22_trail order by op, id, new_total;
select * from rg22_item order by id;
-- a rule condition on NEW of a generated column
create table rg22_cap (id int, n int, big int generated always as (n * 10) stored);
create table rg22_cap_log (id int, big int);
insert into rg22_cap (id, n) values (1, 5), (2, 50);
create rule rg22_cap_upd as on update to rg22_cap where new.big > 100
  do also insert into rg22_cap_log values (new.id, new.big);
update rg22_cap set n = n + 1;
select * from rg22_cap_log order by id;
drop table rg22_item, rg22_trail, rg22_cap, rg22_cap_log;

-- merge.sql:1786: MERGE whose ON equates the target's distribution column with the
-- source's by IS NOT DISTINCT FROM and sets the column to that value: the row stays
-- where it is (refused before, 0A000, "the row would move to another node")
create table rg22_m_src (k int, v text);
create table rg22_m_tgt (k int, v text);
insert into rg22_m_src values (1, 'one'), (null, 'nothing'), (7, 'seven');
insert into rg22_m_tgt values (null, 'old null'), (1, 'old one'), (3, 'three');
merge into rg22_m_tgt t using rg22_m_src s on t.k is not distinct from s.k
  when matched then update set k = s.k, v = s.v
  when not matched by source then delete
  returning merge_action(), s.*, t.*;
select * from rg22_m_tgt order by k nulls first;
drop table rg22_m_src, rg22_m_tgt;

-- generated_stored.sql:342: a CHECK over the whole row added by ALTER TABLE to a table
-- gridpg placed by default failed (42703 from the datanodes, whose shards cannot carry
-- it), and the rows it should refuse were then stored, silently; the table now gives up
-- its shards, as CREATE TABLE with such a CHECK does
create table rg22_whole (a int, b int generated always as (a * 2) stored);
insert into rg22_whole values (3);
alter table rg22_whole add constraint rg22_whole_check check (rg22_whole is not null);
insert into rg22_whole values (4);
-- error
insert into rg22_whole values (null);
select * from rg22_whole order by a;
create table rg22_whole_bad (a int, b text);
insert into rg22_whole_bad values (1, null), (2, 'x');
-- error
alter table rg22_whole_bad add constraint rg22_bad_check check (rg22_whole_bad is not null);
insert into rg22_whole_bad values (3, null);
create table rg22_whole_key (id int primary key, v text);
insert into rg22_whole_key values (1, 'a');
alter table rg22_whole_key add check (rg22_whole_key is not null);
-- error
insert into rg22_whole_key values (2, null);
-- error
insert into rg22_whole_key values (1, 'dup');
select * from rg22_whole_key order by id;
drop table rg22_whole, rg22_whole_bad, rg22_whole_key;

-- merge.sql:651-835: MERGE into a distributed table with statement-level triggers was
-- refused (0A000: they would fire once per datanode); the coordinator fires them, with the
-- AFTER ROW ones, as for INSERT, UPDATE and DELETE: BEFORE STATEMENT triggers of each
-- action kind the WHEN clauses name (INSERT, UPDATE, DELETE), rows or not, AFTER ROW
-- triggers by the action each row took, AFTER STATEMENT ones in the reverse order
create table rg22_acct (id int, bal int);
create table rg22_feed (id int, delta int);
create table rg22_note (seq serial, what text);
insert into rg22_acct values (1, 10), (2, 20), (3, 30);
insert into rg22_feed values (2, 5), (3, 50), (4, 40);
create function rg22_noted() returns trigger language plpgsql as $$ begin insert into rg22_note (what) values (format('%s %s %s %s', tg_when, tg_op, tg_level, case when tg_level = 'ROW' then coalesce(new::text, '') || '/' || coalesce(old::text, '') end)); return null; end $$;
create trigger rg22_bs_i before insert on rg22_acct for each statement execute function rg22_noted();
create trigger rg22_bs_u before update on rg22_acct for each statement execute function rg22_noted();
create trigger rg22_bs_d before delete on rg22_acct for each statement execute function rg22_noted();
create trigger rg22_as_i after insert on rg22_acct for each statement execute function rg22_noted();
create trigger rg22_as_u after update on rg22_acct for each statement execute function rg22_noted();
create trigger rg22_as_d after delete on rg22_acct for each statement execute function rg22_noted();
create trigger rg22_ar_i after insert on rg22_acct for each row execute function rg22_noted();
create trigger rg22_ar_u after update on rg22_acct for each row execute function rg22_noted();
create trigger rg22_ar_d after delete on rg22_acct for each row execute function rg22_noted();
merge into rg22_acct a using rg22_feed f on a.id = f.id
  when matched and a.bal > f.delta then update set bal = a.bal - f.delta
  when matched then delete
  when not matched then insert values (f.id, f.delta);
select * from rg22_acct order by id;
select what from rg22_note where what like '%STATEMENT%' order by seq;
select what from rg22_note where what like '%ROW%' order by what;
begin;
merge into rg22_acct a using (select 9 as id, 90 as delta) f on a.id = f.id
  when not matched then insert values (f.id, f.delta)
  when matched then update set bal = 0
  returning merge_action(), old.bal, new.bal, a.*;
merge into rg22_acct a using rg22_feed f on a.id = f.id
  when matched then update set bal = a.bal + 1
  returning merge_action(), a.id, a.bal;
rollback;
merge into rg22_acct a using rg22_feed f on a.id = f.id
  when matched then do nothing;
select what from rg22_note where what like '%STATEMENT%' order by seq;
select what from rg22_note where what like '%ROW%' order by what;
select * from rg22_acct order by id;
drop table rg22_acct, rg22_feed, rg22_note;
drop function rg22_noted();

-- merge.sql:1682, 1696: a MERGE into an inheritance parent whose BEFORE INSERT row
-- trigger sends each new row to a child with `INSERT INTO child VALUES (NEW.*)` was
-- refused (0A000: the INSERT "does not give the distribution argument"): NEW.* is the
-- trigger table's columns in order, so it gives NEW.<distribution column>, and the
-- trigger runs on the row's datanode like one naming the columns
create table rg22_meas (city int not null, day date not null, temp int);
create table rg22_meas_old (check (day < date '2020-01-01')) inherits (rg22_meas);
create table rg22_meas_new (check (day >= date '2020-01-01')) inherits (rg22_meas);
create function rg22_route() returns trigger language plpgsql as $$ begin if new.day < date '2020-01-01' then insert into rg22_meas_old values (new.*); else insert into rg22_meas_new (city, day, temp) values (new.*); end if; return null; end $$;
create trigger rg22_route_ins before insert on rg22_meas for each row execute function rg22_route();
insert into rg22_meas values (1, '2019-05-01', 10), (2, '2021-01-01', 20);
create table rg22_meas_in (city int, day date, temp int);
insert into rg22_meas_in values (1, '2019-05-01', 15), (3, '2019-06-01', 30), (4, '2022-02-02', 40), (2, '2021-01-01', null);
merge into rg22_meas m using rg22_meas_in n on m.city = n.city and m.day = n.day
  when matched and n.temp is null then delete
  when matched then update set temp = n.temp
  when not matched then insert (city, day, temp) values (n.city, n.day, n.temp);
select * from only rg22_meas order by city;
select * from rg22_meas_old order by city;
select * from rg22_meas_new order by city;
drop table rg22_meas, rg22_meas_in cascade;
drop function rg22_route();
