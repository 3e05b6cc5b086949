-- no schema shop here: the target was never migrated
create table public.unrelated (id int primary key);
