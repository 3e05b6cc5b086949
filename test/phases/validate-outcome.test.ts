import { describe, expect, test } from 'vitest';
import type { PhaseContext } from '../../lib/engine/phase.ts';
import { CutoverError } from '../../lib/errors.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import type { Platform, TableDiff, ValidateOptions, ValidationReport } from '../../lib/platform/roles.ts';
import { validatePhase } from '../../lib/phases/validate-phase.ts';
import { MemoryJournal } from '../traffic/fakes/memory-journal.ts';
import { realClock } from '../traffic/fakes/phase-context.ts';
import { testEnvironment } from '../traffic/fakes/test-env.ts';

/**
 * The validation outcome, the data gate every traffic step trusts (issue 18's mutation pass):
 * a comparison of no table is an error, the counts in the summary are the sums over every table,
 * failed reconciliations are counted (in-flight ones are not), and a partial or repaired run says so.
 */
const env = testEnvironment();

function table(name: string, d: { missing?: number; extra?: number; different?: number } = {}): TableDiff {
  const keys = (n = 0) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));
  return {
    source: `public.${name}`,
    target: `public.${name}`,
    sourceRows: 10,
    targetRows: 10,
    missing: keys(d.missing),
    extra: keys(d.extra),
    different: keys(d.different),
    samples: [],
    inFlight: 0,
    deadLetter: [],
    chunks: { total: 1, mismatched: d.missing || d.extra || d.different ? 1 : 0 },
  };
}

function report(tables: TableDiff[], reconciliation: ValidationReport['reconciliation'] = []): ValidationReport {
  const equal = tables.every((t) => !t.missing.length && !t.extra.length && !t.different.length) && reconciliation.every((r) => r.equal || r.inFlight);
  return { equal, tables, reconciliation, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', figures: { rowsCompared: 20, rowsFetched: 40, chunks: 2, mismatchedChunks: equal ? 0 : 1 } };
}

function context(result: ValidationReport | ((o: ValidateOptions) => ValidationReport), options: Record<string, unknown> = {}) {
  const calls: ValidateOptions[] = [];
  const validator = {
    validate: async (o: ValidateOptions = {}) => {
      calls.push(o);
      return typeof result === 'function' ? result(o) : result;
    },
  };
  const ctx: PhaseContext = {
    env,
    platform: { validator } as unknown as Platform,
    out: new RecordingOutput(),
    journal: new MemoryJournal(),
    clock: realClock,
    signal: new AbortController().signal,
    options,
  };
  return { ctx, calls };
}

describe('validation outcome', () => {
  test('fails if the validator compared no table: an error (MAPPING_INVALID), never "equal"', async () => {
    const empty = report([]);
    expect(empty.equal).toBe(true); // what a validator that selected nothing would claim
    for (const run of [validatePhase.apply, validatePhase.verify]) {
      const { ctx } = context(empty);
      const err = await run(ctx).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CutoverError);
      expect((err as CutoverError).code).toBe('MAPPING_INVALID');
      expect((err as CutoverError).message).toBe('validate compared no table: the forward mapping selects none');
      expect((err as CutoverError).details).toEqual({
        received: '0 table(s) compared',
        fix: "correct the forward mapping's selection rules (`cutover mappings check FILE --env NAME` shows what they select)",
      });
      expect((err as CutoverError).exitCode).toBe(2);
    }
  });

  test('fails with the sums over every table and the failed reconciliations; in-flight ones are not failures', async () => {
    const r = report(
      [table('t_order', { missing: 2, extra: 1, different: 1 }), table('t_customer', { missing: 1, different: 2 })],
      [
        { name: 'order totals', equal: true, source: 1, target: 1 },
        { name: 'open orders', equal: false, source: 5, target: 4, inFlight: true },
        { name: 'paid sum', equal: false, source: 10, target: 9 },
        { name: 'shipped count', equal: false, source: 3, target: 2, inFlight: false },
      ],
    );
    const { ctx } = context(r);
    const verdict = await validatePhase.verify(ctx);
    expect(verdict.ok).toBe(false);
    expect(verdict.summary).toBe('differences: 3 missing, 1 extra, 3 different, 2 reconciliation(s) failed');
    expect(verdict.figures).toEqual({ equal: false, tables: 2, missing: 3, extra: 1, different: 3, failedReconciliations: 2, rowsCompared: 20, mismatchedChunks: 1 });
  });

  test('differences without a failed reconciliation name no reconciliation', async () => {
    const { ctx } = context(report([table('t_order', { extra: 2 })], [{ name: 'open orders', equal: false, source: 5, target: 4, inFlight: true }]));
    const verdict = await validatePhase.verify(ctx);
    expect(verdict.ok).toBe(false);
    expect(verdict.summary).toBe('differences: 0 missing, 2 extra, 0 different');
    expect(verdict.figures).toMatchObject({ failedReconciliations: 0 });
  });

  test('equal: passes, with the tables and rows compared, and no partial or repair mark', async () => {
    const { ctx, calls } = context(report([table('t_order'), table('t_customer')]));
    const applied = await validatePhase.apply(ctx);
    expect(applied.ok).toBe(true);
    const verdict = await validatePhase.verify(ctx);
    expect(verdict.ok).toBe(true);
    expect(verdict.summary).toBe('equal: 2 table(s), 20 row(s) compared');
    expect(verdict.figures).toEqual({ equal: true, tables: 2, missing: 0, extra: 0, different: 0, failedReconciliations: 0, rowsCompared: 20, mismatchedChunks: 0 });
    // verify judges the report apply took: the validator ran once
    expect(calls).toHaveLength(1);
  });

  test('a --table run is partial and says so; an empty --table list is every table', async () => {
    const partial = context(report([table('t_order'), table('t_customer')]), { tables: ['public.t_order', 'public.t_customer'] });
    const verdict = await validatePhase.verify(partial.ctx);
    expect(verdict.summary).toBe('partial check of public.t_order, public.t_customer (does not open the shift gate): equal: 2 table(s), 20 row(s) compared');
    expect(verdict.figures).toMatchObject({ partial: true });
    expect(partial.calls[0]!.tables).toEqual(['public.t_order', 'public.t_customer']);

    const all = context(report([table('t_order')]), { tables: [] });
    const whole = await validatePhase.verify(all.ctx);
    expect(whole.summary).toBe('equal: 1 table(s), 20 row(s) compared');
    expect(whole.figures).not.toHaveProperty('partial');
    expect(all.calls[0]!.tables).toBeUndefined();
  });

  test('--repair-sql passes its file to the validator only when it is a file name', async () => {
    const withFile = context(report([table('t_order')]), { repairSqlFile: 'repair.sql' });
    await validatePhase.apply(withFile.ctx);
    expect(withFile.calls[0]!.repairSqlFile).toBe('repair.sql');
    expect((await validatePhase.plan(withFile.ctx)).map((s) => s.action)).toEqual(['validator.validate', 'write repair SQL']);

    const flag = context(report([table('t_order')]), { repairSqlFile: true });
    await validatePhase.apply(flag.ctx);
    expect(flag.calls[0]!.repairSqlFile).toBeUndefined();
    expect((await validatePhase.plan(flag.ctx)).map((s) => s.action)).toEqual(['validator.validate']);
  });

  test('after a repair the verdict is the second validation\'s, marked with the statements applied', async () => {
    const { ctx, calls } = context((o) => (o.repair ? { ...report([table('t_order', { missing: 2 })]), repaired: 2 } as ValidationReport : report([table('t_order')])), { repair: true });
    await validatePhase.apply(ctx);
    const verdict = await validatePhase.verify(ctx);
    expect(calls).toHaveLength(2);
    expect(verdict.ok).toBe(true);
    expect(verdict.summary).toBe('after 2 repair statement(s): equal: 1 table(s), 20 row(s) compared');
    expect(verdict.figures).toMatchObject({ repaired: 2 });
    // without a repair there is no repair mark
    const plain = context(report([table('t_order')]));
    expect((await validatePhase.verify(plain.ctx)).figures).not.toHaveProperty('repaired');
  });
});
