import { describeSlot } from '../platform/kit-slots.ts';
import type { Finding, SlotRetention } from '../platform/roles.ts';
import { envCommandLine } from '../engine/command-line.ts';

/** One assess finding per slot of the kit: a warning when it fills the disk unread (or is lost), info otherwise. */
export function slotRetentionFindings(slots: readonly SlotRetention[], env: { readonly name: string; readonly configFile: string }): Finding[] {
  return slots.map((s) => ({
    id: 'kit-slot-wal',
    severity: s.warn ? ('warning' as const) : ('info' as const),
    count: 1,
    sampleKeys: [],
    message: `replication slot ${describeSlot(s)}`,
    handling: s.active
      ? 'read by a running worker: it is released as the worker confirms changes'
      : `nothing reads it, so the ${s.side} keeps every WAL segment from its position on: start replication (\`${envCommandLine(env, 'cutover replicate start')}\`), or if the cutover is called off drop it with \`${envCommandLine(env, 'cutover cancel')}\``,
  }));
}
