import type { JournalRecord } from '../engine/journal-store.ts';
import type { ReplicationStatus } from '../platform/roles.ts';
import type { RehearsalFigures, TableFigures } from './rehearsal-figures.ts';

/** The switch's steps between holding writes and releasing them (journal action names). */
export const HOLD_STEPS = [
  'router.holdWrites',
  'fence.refuseWrites(blue)',
  'forward.sourcePosition',
  'forward.waitForPosition',
  'validator.validate(frozen)',
  'sequences.syncSequences',
  'switch.flip',
  'router.releaseWrites',
] as const;
const FROZEN_VALIDATE = 'validator.validate(frozen)';

export interface RunMeasurements {
  readonly orders: number;
  readonly parallelTables: number;
  /** Assess statistics of the source tables the mapping selects. */
  readonly tables: readonly { readonly name: string; readonly rows: number; readonly bytes: number }[];
  /** Forward replication's status while CDC still ran (after validate, before the switch). */
  readonly replication: ReplicationStatus | null;
  /** Forward replication's status when the replicate phase ended (its lag gate passed): apply's figures on the full load's backlog. */
  readonly replicationAtCatchUp?: ReplicationStatus | null;
  /** Wall time of the replicate phase (full load + catch-up + the gate). */
  readonly replicateSeconds: number | null;
  readonly validate: { readonly seconds: number; readonly rowsCompared: number } | null;
  readonly journal: readonly JournalRecord[];
  readonly now?: () => Date;
}

/**
 * The figures a rehearsal records for `cutover estimate`, from what it measured: assess sizes,
 * the worker's per-table load times and apply capacity, the validate phase, and the write
 * switch's journaled step durations.
 */
export function figuresFromRun(m: RunMeasurements): RehearsalFigures {
  const status = m.replication;
  const loadSeconds = new Map((status?.tables ?? []).map((t) => [t.source, t.loadSeconds ?? null]));
  const tables: TableFigures[] = m.tables.map((t) => ({ source: t.name, rows: t.rows, bytes: t.bytes, loadSeconds: loadSeconds.get(t.name) ?? null }));
  const fullLoadSeconds = status?.fullLoadSeconds ?? Math.max(0, ...tables.map((t) => t.loadSeconds ?? 0));
  const cap = status?.applyCapacity;
  const applyChangesPerSec = cap && cap.changes > 0 && cap.busyMs > 0 ? (cap.changes * 1000) / cap.busyMs : null;
  const writeChangesPerSec = cap && cap.cdcMs && cap.cdcMs > 0 ? (cap.changes * 1000) / cap.cdcMs : 0;
  const atCatchUp = m.replicationAtCatchUp?.applyCapacity;
  const catchUpApplyChangesPerSec = atCatchUp && atCatchUp.changes > 0 && atCatchUp.busyMs > 0 ? (atCatchUp.changes * 1000) / atCatchUp.busyMs : null;
  return {
    version: 1,
    recordedAt: (m.now ?? (() => new Date()))().toISOString(),
    orders: m.orders,
    parallelTables: m.parallelTables,
    tables,
    fullLoad: { seconds: fullLoadSeconds },
    cdc: {
      applyChangesPerSec,
      writeChangesPerSec,
      catchUpSeconds: m.replicateSeconds !== null && status?.fullLoadSeconds !== undefined ? Math.max(0, m.replicateSeconds - status.fullLoadSeconds) : null,
      ...(m.replicationAtCatchUp !== undefined ? { catchUpApplyChangesPerSec } : {}),
    },
    validate: m.validate ?? { seconds: 0, rowsCompared: 0 },
    hold: holdFromJournal(m.journal),
  };
}

/** Durations of the last write switch's held steps, and the hold from holding to release. */
export function holdFromJournal(journal: readonly JournalRecord[]): RehearsalFigures['hold'] {
  const switchRecords = journal.filter((r) => r.phase === 'switch');
  const lastHold = switchRecords.findLastIndex((r) => r.action === 'router.holdWrites' && r.status === 'started');
  if (lastHold < 0) return null;
  const after = switchRecords.slice(lastHold);
  const release = after.find((r) => r.action === 'router.releaseWrites' && r.status === 'ok');
  if (!release) return null;
  const partsMs: Record<string, number> = {};
  for (const step of HOLD_STEPS) {
    const ok = after.find((r) => r.action === step && r.status === 'ok');
    const ms = ok?.figures?.durationMs;
    if (typeof ms === 'number') partsMs[step] = ms;
  }
  const totalMs = Date.parse(release.time) - Date.parse(after[0]!.time);
  const reconciliationMs = after.find((r) => r.action === FROZEN_VALIDATE && r.status === 'ok')?.figures?.reconciliationMs;
  return { partsMs, frozenValidateMs: partsMs[FROZEN_VALIDATE] ?? 0, totalMs, ...(typeof reconciliationMs === 'number' ? { frozenReconciliationMs: reconciliationMs } : {}) };
}
