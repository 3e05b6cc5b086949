create table orders (id int primary key, total numeric(10,2));
insert into orders select g, g from generate_series(1, 10) g;
