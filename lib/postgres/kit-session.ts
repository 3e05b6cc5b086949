/**
 * Connection `options` for the kit's own sessions. The write switch fences a side with
 * `ALTER DATABASE … SET default_transaction_read_only = on`, which every new session inherits;
 * the kit's replication, snapshot and sequence sessions must still write to a fenced side
 * (reverse replication applies into a fenced blue), so they opt out at connect time.
 */
export const KIT_SESSION_OPTIONS = '-c default_transaction_read_only=off';
