// PostgreSQL quoting belongs to the engine (lib/postgres/sql-names.ts); kept here for the replicator's imports
export * from '../postgres/sql-names.ts';
