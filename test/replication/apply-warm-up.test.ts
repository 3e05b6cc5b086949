import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChangeApplier, type ApplyTable } from '../../lib/replication/change-applier.ts';
import { warmUpApplyPath } from '../../lib/replication/apply-warm-up.ts';
import { applyTable } from '../_helpers/apply-table.ts';

function table(schema: string, name: string, columns: string[], filters: unknown[] = []): ApplyTable {
  return applyTable(schema, name, columns, { filters });
}

/** What the warm-up built: every batch's script and COPY data. */
function spyOnBuild(): { script: string; copies: Buffer[]; by: ChangeApplier }[] {
  const built: { script: string; copies: Buffer[]; by: ChangeApplier }[] = [];
  const original = ChangeApplier.prototype.build;
  vi.spyOn(ChangeApplier.prototype, 'build').mockImplementation(function (this: ChangeApplier, txns, replayUntil) {
    const batch = original.call(this, txns, replayUntil);
    built.push({ ...batch, by: this });
    return batch;
  });
  return built;
}

describe('the apply path warm-up', () => {
  afterEach(() => vi.restoreAllMocks());

  it('decodes synthetic server bytes and builds them into COPY batches of a pass-through table of the worker, sending nothing', async () => {
    const built = spyOnBuild();
    const filtered = table('public', 'skipped', ['id', 'x'], [{ column: 'x' }]);
    const orders = table('销售', 'Orders', ['Id', '客户', 'note']);
    const result = await warmUpApplyPath([filtered, orders], 3000);
    expect(result.rows).toBe(3000);
    expect(built).toHaveLength(3);
    const { script, copies } = built[0]!;
    // the worker's own pass-through table (not the filtered one), as COPY, with the batch's bookkeeping
    expect(script).toContain('copy "销售"."Orders" ("Id", "客户", "note") from stdin');
    expect(script).toMatch(/insert into _cutover\.changed_key_batch/);
    expect(script).toMatch(/;\ncommit;\n/);
    expect(copies).toHaveLength(1);
    const lines = copies[0]!.toString('utf8').split('\n');
    expect(lines).toHaveLength(1001); // 1,000 rows and the final newline
    expect(lines[0]!.split('\t')[0]).toBe('1');
    // values needing COPY escapes and NULLs came through the decoder and the encoder
    expect(lines.some((l) => l.includes('line\\tone\\\\two\\nthree'))).toBe(true);
    expect(lines.some((l) => l.split('\t').includes('\\N'))).toBe(true);
    expect(lines.some((l) => l.includes('客户 7'))).toBe(true);
  });

  it('builds on the applier CDC will use when it is given one, and sends nothing on its session', async () => {
    const built = spyOnBuild();
    const sent: unknown[] = [];
    const orders = table('public', 'orders', ['id', 'note']);
    const session = { query: (q: unknown) => sent.push(q) } as never;
    const live = new ChangeApplier(session, 'cutover_lab', 'forward', [orders]);
    await warmUpApplyPath([orders], 2000, undefined, live);
    expect(built.map((b) => b.by)).toEqual([live, live]);
    expect(built[0]!.script).toContain('copy "public"."orders" ("id", "note") from stdin');
    expect(sent).toEqual([]);
  });

  it('uses a table and an applier of its own when no table of the worker is pass-through', async () => {
    const built = spyOnBuild();
    const skipped = table('public', 'skipped', ['id', 'x'], [{ column: 'x' }]);
    const live = new ChangeApplier({ query: () => {} } as never, 'cutover_lab', 'forward', [skipped]);
    await warmUpApplyPath([skipped], 1000, undefined, live);
    expect(built[0]!.script).toContain('copy "warm_up"."orders"');
    expect(built[0]!.by).not.toBe(live);
  });

  it('decodes as many values for a wide table as for a narrow one, not as many rows', async () => {
    const built = spyOnBuild();
    const wide = table('public', 'wide', Array.from({ length: 60 }, (_, i) => `c${i}`));
    expect((await warmUpApplyPath([wide])).rows).toBe(1_000);
    expect(built).toHaveLength(1);
    expect(built[0]!.copies[0]!.toString('utf8').split('\n')[0]!.split('\t')).toHaveLength(60);
  });

  it('stops when the worker is stopped', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await warmUpApplyPath([], 12_000, controller.signal)).rows).toBe(0);
  });
});
