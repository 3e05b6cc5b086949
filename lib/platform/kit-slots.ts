import { formatBytes } from '../output/bytes.ts';
import type { Platform, SlotRetention } from './roles.ts';

/** Both directions' slots of the kit with the WAL they retain (platforms without the report give none). */
export async function kitSlots(platform: Platform): Promise<SlotRetention[]> {
  const [forward, reverse] = await Promise.all([platform.forward.slots?.() ?? [], platform.reverse.slots?.() ?? []]);
  return [...forward, ...reverse];
}

/** `cutover_lab on the source: inactive, retains 201.3 MB of WAL (over replication.retainedWalWarnMb, 100.0 MB)`. */
export function describeSlot(s: SlotRetention): string {
  const retained = s.retainedBytes === null ? 'WAL retained unknown' : `retains ${formatBytes(s.retainedBytes)} of WAL`;
  const status = s.walStatus && s.walStatus !== 'reserved' ? `, wal_status ${s.walStatus}` : '';
  const over = s.walStatus === 'lost' ? ' (LOST: it can no longer stream)' : s.warn ? ` (over replication.retainedWalWarnMb, ${formatBytes(s.warnAboveBytes)})` : '';
  return `${s.slot} on the ${s.side}: ${s.active ? 'active' : 'inactive'}, ${retained}${status}${over}`;
}
