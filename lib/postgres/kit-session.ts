/**
 * How the kit's own sessions print and read date-times, whatever the server's, database's or
 * role's defaults: TimeZone UTC and ISO dates. The kit's rule (docs/config-reference.md, "Time
 * zones") is that a zone-less date-time means UTC wherever a value crosses between a zone-less
 * and a zoned type — `timestamp` ↔ `timestamptz`, MySQL DATETIME → `timestamptz` — in the full
 * load, CDC, reverse replication and the validator alike (the validator's sessions pin the same,
 * lib/diff/comparison-pool.ts), as DMS does. In a session that followed the server's TimeZone, a
 * target in 'Asia/Shanghai' would store every such value 8 hours off and validation would call
 * correctly copied rows different. ISO: a value printed in 'SQL, DMY' and read in 'ISO, MDY' would
 * swap day and month.
 */
export const KIT_VALUE_SETTINGS = '-c TimeZone=UTC -c DateStyle=ISO';

/**
 * Connection `options` for the kit's own sessions. The write switch fences a side with
 * `ALTER DATABASE … SET default_transaction_read_only = on`, which every new session inherits;
 * the kit's replication, snapshot and sequence sessions must still write to a fenced side
 * (reverse replication applies into a fenced blue), so they opt out at connect time. Values as
 * KIT_VALUE_SETTINGS.
 */
export const KIT_SESSION_OPTIONS = `-c default_transaction_read_only=off ${KIT_VALUE_SETTINGS}`;
