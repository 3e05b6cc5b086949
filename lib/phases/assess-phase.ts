import type { Phase, PhaseContext, PhaseOutcome } from '../engine/phase.ts';
import type { AssessReport } from '../platform/roles.ts';
import { sourceLabel, targetLabel } from './endpoints.ts';
import { outcomeMemo } from './outcome-memo.ts';
import { kitSlots } from '../platform/kit-slots.ts';
import { slotRetentionFindings } from './slot-retention-findings.ts';

const reports = outcomeMemo<AssessReport>();

/** Pre-flight: connectivity, table facts and data-quality findings. Read-only; the gate is "no blockers". */
export const assessPhase: Phase = {
  name: 'assess',
  requires: [],
  command: 'cutover assess',
  mutates: false,
  async plan(ctx) {
    return [
      { action: 'inspector.checkConnectivity', target: `${sourceLabel(ctx.env)}, ${targetLabel(ctx.env)}` },
      { action: 'inspector.assess', target: sourceLabel(ctx.env), detail: 'tables, keys, sizes, data-quality checks (read-only)' },
    ];
  },
  async apply(ctx) {
    await ctx.platform.inspector.checkConnectivity();
    const report = await withSlotFindings(ctx, await ctx.platform.inspector.assess());
    reports.set(ctx, report);
    for (const f of report.findings) {
      const line = `${f.id}${f.table ? ` ${f.table}` : ''}: ${f.count ?? 'count unknown'} — ${f.message} (handling: ${f.handling})`;
      if (f.severity === 'blocker') ctx.out.error('assess', line);
      else if (f.severity === 'warning') ctx.out.warn('assess', line);
      else ctx.out.info('assess', line);
    }
    // the assessment ran; whether a blocker stops the cutover is the gate (verify)
    return { ...outcome(report), ok: true };
  },
  async verify(ctx) {
    return outcome(reports.get(ctx) ?? (await ctx.platform.inspector.assess()));
  },
  async rollback() {
    return { ok: true, summary: 'assess changes nothing: nothing to undo' };
  },
};

/** The kit's own slots left from an earlier run retain WAL on the source: say how much (and warn when it grows unread). */
async function withSlotFindings(ctx: PhaseContext, report: AssessReport): Promise<AssessReport> {
  try {
    const found = slotRetentionFindings(await kitSlots(ctx.platform), ctx.env);
    return found.length ? { ...report, findings: [...report.findings, ...found] } : report;
  } catch (err) {
    ctx.out.warn('assess', `the WAL retained by the kit's slots could not be read: ${(err as Error).message}`);
    return report;
  }
}

function outcome(report: AssessReport): PhaseOutcome {
  const blockers = report.findings.filter((f) => f.severity === 'blocker').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  // Size figures count what the mapping copies, not every table in the schemas read.
  const known = report.tables.some((t) => t.selected !== undefined);
  const copied = known ? report.tables.filter((t) => t.selected) : report.tables;
  const rows = copied.reduce((n, t) => n + t.rows, 0);
  const tables = known ? `${copied.length} selected table(s) of ${report.tables.length} read` : `${copied.length} table(s)`;
  return {
    ok: report.ok && blockers === 0,
    summary: `${tables}, about ${rows} row(s) (statistics); ${blockers} blocker(s), ${warnings} warning(s)${report.estimatedFullLoadSeconds !== undefined ? `; full load ≈ ${Math.ceil(report.estimatedFullLoadSeconds)} s` : ''}`,
    figures: { tables: copied.length, rows, blockers, warnings, estimatedFullLoadSeconds: report.estimatedFullLoadSeconds },
    result: report,
  };
}

export type { PhaseContext };
