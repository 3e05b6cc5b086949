-- the forward mapping renames schema public to shop, which nobody created on the target
create table public.orders (id int primary key, note text);
insert into public.orders select g, 'order ' || g from generate_series(1, 20) g;
analyze;
