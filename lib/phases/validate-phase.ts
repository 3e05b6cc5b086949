import type { Phase, PhaseContext, PhaseOutcome } from '../engine/phase.ts';
import type { ValidationReport } from '../platform/roles.ts';
import { sourceLabel, targetLabel } from './endpoints.ts';
import { outcomeMemo } from './outcome-memo.ts';

const reports = outcomeMemo<ValidationReport>();

/**
 * The data gate every traffic step trusts: a chunked hash diff of every mapped table. Apply runs
 * it (and writes or applies repairs when asked) and is ok when the comparison ran; verify, the
 * gate, is `report.equal`. The journal keeps the
 * summary and figures so `status` can show the last result and its age.
 */
export const validatePhase: Phase = {
  name: 'validate',
  requires: [],
  command: 'cutover validate',
  mutates: false,
  async plan(ctx) {
    const o = options(ctx);
    const steps = [
      { action: 'validator.validate', target: `${sourceLabel(ctx.env)} vs ${targetLabel(ctx.env)}`, detail: `${o.tables?.length ? `tables ${o.tables.join(', ')}` : 'every mapped table'}; read-only chunked hash compare` },
    ];
    if (o.repairSqlFile) steps.push({ action: 'write repair SQL', target: o.repairSqlFile, detail: 'statements that make the target match the source' });
    if (o.repair) steps.push({ action: 'apply repair', target: targetLabel(ctx.env), detail: 'through the replicator apply path' });
    return steps;
  },
  async apply(ctx) {
    const report = await ctx.platform.validator.validate({ ...options(ctx), signal: ctx.signal });
    reports.set(ctx, report);
    for (const t of report.tables) {
      const line = `${t.source} -> ${t.target}: source ${t.sourceRows}, target ${t.targetRows}, missing ${t.missing.length}, extra ${t.extra.length}, different ${t.different.length}${t.inFlight ? `, in flight ${t.inFlight}` : ''}`;
      if (t.missing.length || t.extra.length || t.different.length) ctx.out.warn('validate', line);
      else ctx.out.info('validate', line);
    }
    for (const r of report.reconciliation) {
      if (r.equal) continue;
      const what = r.inFlight ? 'differs while replication runs (in flight; the frozen validation at the switch decides)' : 'FAILED';
      ctx.out.warn('validate', `reconciliation ${r.name} ${what}: ${firstDifference(r.source, r.target)}`);
    }
    // apply succeeded when the comparison ran; whether the data is equal is the gate (verify)
    return { ...outcome(report), ok: true };
  },
  async verify(ctx) {
    return outcome(reports.get(ctx) ?? (await ctx.platform.validator.validate({ ...options(ctx), signal: ctx.signal })));
  },
  async rollback() {
    return { ok: true, summary: 'validate changes nothing (repairs are replayed by replication): nothing to undo' };
  },
};

function options(ctx: PhaseContext): { tables?: string[]; repairSqlFile?: string; repair?: boolean } {
  const o = ctx.options;
  return {
    tables: Array.isArray(o.tables) && o.tables.length ? (o.tables as string[]) : undefined,
    repairSqlFile: typeof o.repairSqlFile === 'string' ? o.repairSqlFile : undefined,
    repair: o.repair === true,
  };
}

export function summarizeValidation(report: ValidationReport): { missing: number; extra: number; different: number; failedReconciliations: number } {
  return {
    missing: report.tables.reduce((n, t) => n + t.missing.length, 0),
    extra: report.tables.reduce((n, t) => n + t.extra.length, 0),
    different: report.tables.reduce((n, t) => n + t.different.length, 0),
    failedReconciliations: report.reconciliation.filter((r) => !r.equal && !r.inFlight).length,
  };
}

function outcome(report: ValidationReport): PhaseOutcome {
  const s = summarizeValidation(report);
  return {
    ok: report.equal,
    summary: report.equal
      ? `equal: ${report.tables.length} table(s), ${report.figures.rowsCompared} row(s) compared`
      : `differences: ${s.missing} missing, ${s.extra} extra, ${s.different} different${s.failedReconciliations ? `, ${s.failedReconciliations} reconciliation(s) failed` : ''}`,
    figures: { equal: report.equal, tables: report.tables.length, ...s, rowsCompared: report.figures.rowsCompared, mismatchedChunks: report.figures.mismatchedChunks },
    result: report,
  };
}

/** The first differing row of a reconciliation, short enough for one log line. */
function firstDifference(source: unknown, target: unknown): string {
  const rows = (v: unknown) => (Array.isArray(v) ? v : [v]);
  const a = rows(source);
  const b = rows(target);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = JSON.stringify(a[i] ?? null);
    const y = JSON.stringify(b[i] ?? null);
    if (x !== y) return `row ${i + 1} of ${a.length}/${b.length}: source ${x.slice(0, 120)} vs target ${y.slice(0, 120)}`;
  }
  return `${a.length} source row(s) vs ${b.length} target row(s)`;
}
