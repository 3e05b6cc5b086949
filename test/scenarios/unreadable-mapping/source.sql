create table customers (id int primary key, name text);
insert into customers select g, 'c' || g from generate_series(1, 20) g;
