/**
 * SQL condition on a `pg_stat_activity` row: a user's session — a client backend, never a
 * walsender or a server process. A role that is neither a superuser nor a member of
 * pg_read_all_stats sees other roles' rows with pid, user, database and application name only
 * (backend_type, backend_start, state are null): such a row with a user that is not a walsender
 * (pg_stat_replication lists those by pid) is a user's session too. The write fences end these;
 * a filter on `backend_type = 'client backend'` alone ended none of another role's sessions.
 */
export const USER_SESSION_SQL = `(backend_type = 'client backend'
  OR backend_type IS NULL AND usesysid IS NOT NULL AND pid NOT IN (SELECT pid FROM pg_stat_replication WHERE pid IS NOT NULL))`;
