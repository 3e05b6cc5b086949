import type { Phase, PhaseContext, PhaseOutcome } from '../engine/phase.ts';
import type { SnapshotManifest } from '../platform/roles.ts';
import { backupLabel, sourceLabel } from './endpoints.ts';
import { outcomeMemo } from './outcome-memo.ts';

const manifests = outcomeMemo<SnapshotManifest>();

/**
 * A consistent backup of the source. Apply takes it and checks the manifest is complete; verify
 * is the restore-verification gate: the backup is re-read and checked against its manifest
 * (counts and sha256) before anything downstream may trust it.
 */
export const snapshotPhase: Phase = {
  name: 'snapshot',
  requires: ['assess'],
  command: 'cutover snapshot',
  mutates: true,
  async plan(ctx) {
    // partial backups a killed snapshot left: the run removes those whose snapshot is provably gone
    const partials = (await ctx.platform.snapshotter.partials?.().catch(() => [])) ?? [];
    const gone = partials.filter((p) => p.ownerGone).map((p) => p.id);
    const kept = partials.filter((p) => !p.ownerGone).map((p) => p.id);
    return [
      ...(gone.length ? [{ action: 'backupStore.remove', target: backupLabel(ctx.env), detail: `partial backup(s) whose snapshot is no longer running: ${gone.join(', ')}` }] : []),
      ...(kept.length ? [{ action: 'backupStore.keep', target: backupLabel(ctx.env), detail: `partial backup(s) whose snapshot may still run (left alone, not usable): ${kept.join(', ')}` }] : []),
      { action: 'snapshotter.snapshot', target: `${sourceLabel(ctx.env)} -> ${backupLabel(ctx.env)}`, detail: 'one consistent snapshot of every selected table, with a manifest' },
      { action: 'snapshotter.verify', target: backupLabel(ctx.env), detail: 're-read every file; row counts and sha256 against the manifest' },
    ];
  },
  async apply(ctx) {
    // resumed after the snapshot itself finished: use it rather than taking another
    const resumed = ctx.journal.completedSteps().includes('snapshotter.snapshot') ? (await ctx.platform.snapshotter.list()).at(-1) : undefined;
    const manifest: SnapshotManifest =
      resumed ??
      (await ctx.journal.step('snapshotter.snapshot', {}, async () => {
        ctx.platform.throttler?.reset();
        const m = await ctx.platform.snapshotter.snapshot({ signal: ctx.signal });
        return { id: m.id, position: m.position, tables: m.tables.length, rows: m.tables.reduce((n, t) => n + t.rows, 0), manifest: m };
      })).manifest;
    manifests.set(ctx, manifest);
    const problems = manifestProblems(manifest, ctx.platform.name);
    const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
    return {
      ok: problems.length === 0,
      summary: problems.length ? `manifest of ${manifest.id} is incomplete: ${problems.join('; ')}` : `snapshot ${manifest.id} at ${manifest.position}: ${manifest.tables.length} table(s), ${rows} row(s)`,
      figures: {
        id: manifest.id,
        position: manifest.position,
        tables: manifest.tables.length,
        rows,
        bytes: manifest.tables.reduce((n, t) => n + t.bytes, 0),
        ...(!resumed && ctx.platform.throttler ? { pacing: ctx.platform.throttler.figures() } : {}),
      },
      result: manifest,
    };
  },
  async verify(ctx) {
    const id = manifests.get(ctx)?.id;
    const check = await ctx.platform.snapshotter.verify(id, { signal: ctx.signal });
    return {
      ok: check.ok,
      summary: check.ok ? `backup ${check.manifest.id} re-read: every count and checksum matches its manifest` : `backup ${check.manifest.id} does not match its manifest: ${check.problems.join('; ')}`,
      figures: { id: check.manifest.id, problems: check.problems.length },
      result: check,
    } satisfies PhaseOutcome;
  },
  async rollback() {
    return { ok: true, summary: 'backups are kept: nothing to undo' };
  },
};

function manifestProblems(m: SnapshotManifest, platform: 'postgres' | 'aws'): string[] {
  const problems: string[] = [];
  if (!m.id) problems.push('no id');
  if (!m.position) problems.push('no consistent position');
  // an RDS snapshot has no per-table files; a logical export must have some
  if (platform === 'postgres' && m.tables.length === 0) problems.push('no tables');
  for (const t of m.tables) if (!t.sha256 || !t.file) problems.push(`${t.name} has no file or checksum`);
  return problems;
}

export type { PhaseContext };
