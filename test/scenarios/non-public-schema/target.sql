-- the mapping renames schema legacy to app
create schema app;
create table app."Orders订单" (id int primary key, "客户" text not null, total numeric(10,2));
insert into app."Orders订单" select g, '顾客' || g, g * 2.5 from generate_series(1, 300) g;
create table app.items (item_no int primary key, name text);
insert into app.items select g, 'item ' || g from generate_series(1, 50) g;
