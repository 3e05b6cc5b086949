/**
 * `_cutover.changed_key_batch b` (the forward worker's record of the source keys it applied,
 * lib/replication/control-schema.ts) as one row per recorded change, in either form a batch row
 * may have: `u.key` (`text[]` text), `u.present` (the change left a row), `u.lsn` (its source
 * transaction's commit position), `u.n` (its place in the batch). The one decoding of the record,
 * beside the engine's other readers of the target: the frozen check (lib/diff/changed-rows.ts)
 * and the tests read through it. Positions by `width_bucket` over the numbers of the
 * transactions' first changes (a binary search, not a scan per change); no numbers: a
 * transaction per change.
 */
export const CHANGED_KEYS_UNNESTED = `_cutover.changed_key_batch b
  cross join lateral (
    select k.key, coalesce(k.present, get_bit(b.present_bits, k.n::integer - 1) = 1) as present,
           coalesce(k.lsn, b.txn_lsns[coalesce(width_bucket(k.n::integer, b.txn_starts), k.n::integer)]) as lsn, k.n
      from unnest(b.keys, b.present, b.lsns) with ordinality as k(key, present, lsn, n)) u`;
