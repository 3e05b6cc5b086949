create table customers (id int primary key, name text);
insert into customers select g, 'c' || g from generate_series(1, 20) g;
create table orders (id int primary key, customer_id int, total numeric(10,2));
insert into orders select g, g % 20 + 1, g from generate_series(1, 100) g;
