// the slot / publication / origin names are the PostgreSQL engine's change-stream names
// (lib/postgres/stream-names.ts, which assess reads too); kept here for the replicator's imports
export * from '../postgres/stream-names.ts';
