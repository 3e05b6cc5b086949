import { writesSwitchedToGreen } from '../engine/journal-history.ts';
import type { Phase, PhaseContext, PhaseOutcome } from '../engine/phase.ts';
import { CutoverError } from '../errors.ts';
import type { ValidationReport } from '../platform/roles.ts';
import { sourceLabel, targetLabel } from './endpoints.ts';
import { outcomeMemo } from './outcome-memo.ts';
import { firstDifference } from '../platform/reconciliation-difference.ts';

/** The report, plus how many repair statements `--repair` applied before it was taken. */
export type RepairedValidationReport = ValidationReport & { readonly repaired?: number };

const reports = outcomeMemo<RepairedValidationReport>();

/**
 * The data gate every traffic step trusts: a chunked hash diff of every mapped table. Apply runs
 * it (and writes or applies repairs when asked) and is ok when the comparison ran; verify, the
 * gate, is `report.equal`. The journal keeps the
 * summary and figures so `status` can show the last result and its age.
 *
 * `--repair` writes to the target, so it is a mutation (confirmation, lock); it makes green match
 * blue, so it is refused once writes are on green (it would delete rows green acknowledged).
 * After repairing it validates again and reports that result. `--table` is a partial check:
 * journaled with `figures.partial`, it never verifies the gate (journal-history.ts).
 */
export const validatePhase: Phase = {
  name: 'validate',
  requires: [],
  command: 'cutover validate',
  mutates: (o) => o.repair === true,
  refusal({ options: raw, history, commandLine }) {
    if (raw.repair !== true) return null;
    const switched = writesSwitchedToGreen(history);
    if (!switched) return null;
    return new CutoverError('PRECONDITION_FAILED', 'validate --repair is refused: writes have switched to green, and a repair makes green match blue, deleting or overwriting writes green has acknowledged since', {
      received: `write switch (${switched.action}) at ${switched.time}, no rollback since`,
      allowed: '--repair only while writes go to blue (before the switch, or after a rollback)',
      fix: `run \`${commandLine('cutover validate')}\` without --repair to see the differences (--repair-sql FILE writes the statements to review), and correct green by hand; or \`${commandLine('cutover rollback')}\` first`,
    });
  },
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
    const o = options(ctx);
    const first: RepairedValidationReport = comparedSomething(await ctx.platform.validator.validate({ ...o, signal: ctx.signal }));
    // each table's line and each reconciliation's come from the validator (it also serves the switch's check)
    let report = first;
    if (o.repair) {
      const applied = first.repaired ?? 0;
      if (applied > 0) {
        ctx.out.ok('validate', `repair: ${applied} statement(s) applied to ${targetLabel(ctx.env)}; validating again`);
        const after = comparedSomething(await ctx.platform.validator.validate({ tables: o.tables, signal: ctx.signal }));
        report = { ...after, repaired: applied };
      } else if (!first.equal) {
        ctx.out.warn('validate', 'repair: no statement was applied');
      }
    }
    reports.set(ctx, report);
    // apply succeeded when the comparison ran; whether the data is equal is the gate (verify)
    return { ...outcome(report, o.tables), ok: true };
  },
  async verify(ctx) {
    const o = options(ctx);
    return outcome(reports.get(ctx) ?? comparedSomething(await ctx.platform.validator.validate({ tables: o.tables, signal: ctx.signal })), o.tables);
  },
  async rollback() {
    return { ok: true, summary: 'validate changes nothing (repairs are replayed by replication): nothing to undo' };
  },
};

/**
 * A comparison of no table is an error, never "equal" (shared CONTRACTS.md): the validators refuse
 * a mapping that selects nothing, and this holds the line for any validator that does not.
 */
function comparedSomething<R extends ValidationReport>(report: R): R {
  if (report.tables.length) return report;
  throw new CutoverError('MAPPING_INVALID', 'validate compared no table: the forward mapping selects none', {
    received: '0 table(s) compared',
    fix: 'correct the forward mapping\'s selection rules (`cutover mappings check FILE --env NAME` shows what they select)',
  });
}

function options(ctx: PhaseContext): { tables?: string[]; repairSqlFile?: string; repair?: boolean } {
  const o = ctx.options;
  return {
    tables: Array.isArray(o.tables) && o.tables.length ? (o.tables as string[]) : undefined,
    repairSqlFile: typeof o.repairSqlFile === 'string' ? o.repairSqlFile : undefined,
    repair: o.repair === true,
  };
}

export function summarizeValidation(report: ValidationReport): { missing: number; extra: number; different: number; deadLetters: number; failedReconciliations: number } {
  return {
    missing: report.tables.reduce((n, t) => n + t.missing.length, 0),
    extra: report.tables.reduce((n, t) => n + t.extra.length, 0),
    different: report.tables.reduce((n, t) => n + t.different.length, 0),
    deadLetters: report.tables.reduce((n, t) => n + (t.deadLetter?.length ?? 0), 0),
    failedReconciliations: report.reconciliation.filter((r) => !r.equal && !r.inFlight).length,
  };
}


/** `tables`: the `--table` filter; a filtered run is partial and says so. */
function outcome(report: RepairedValidationReport, tables?: readonly string[]): PhaseOutcome {
  const s = summarizeValidation(report);
  const { deadLetters: _deadLetters, ...counts } = s;
  const partial = tables?.length ? `partial check of ${tables.join(', ')} (does not open the shift gate): ` : '';
  const repaired = report.repaired ? `after ${report.repaired} repair statement(s): ` : '';
  return {
    ok: report.equal,
    summary:
      partial +
      repaired +
      (report.equal
        ? `equal: ${report.tables.length} table(s), ${report.figures.rowsCompared} row(s) compared`
        : `differences: ${s.missing} missing, ${s.extra} extra, ${s.different} different${s.deadLetters ? `, ${s.deadLetters} dead letter(s) (source rows the target refused: _cutover.dead_letter)` : ''}${s.failedReconciliations ? `, ${s.failedReconciliations} reconciliation(s) failed` : ''}`),
    figures: {
      equal: report.equal,
      tables: report.tables.length,
      ...counts,
      ...(s.deadLetters ? { deadLetters: s.deadLetters } : {}),
      rowsCompared: report.figures.rowsCompared,
      mismatchedChunks: report.figures.mismatchedChunks,
      ...(partial ? { partial: true } : {}),
      ...(report.repaired ? { repaired: report.repaired } : {}),
      ...(report.pacing ? { pacing: report.pacing } : {}),
    },
    result: report,
  };
}

/** The first differing row of a reconciliation, short enough for one log line. */
