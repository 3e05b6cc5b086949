-- the legacy tables live in schema "legacy", one with capitals and Chinese characters in its name
create schema legacy;
create table legacy."Orders订单" (id int primary key, "客户" text not null, total numeric(10,2));
insert into legacy."Orders订单" select g, '顾客' || g, g * 2.5 from generate_series(1, 300) g;
create table legacy.items (item_no int primary key, name text);
insert into legacy.items select g, 'item ' || g from generate_series(1, 50) g;
-- a public table the mapping does not select
create table public.unrelated (id int primary key);
insert into public.unrelated select generate_series(1, 10);
analyze;
