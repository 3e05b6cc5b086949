import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CrossEngineValidator } from '../../lib/diff/cross-engine-validator.ts';
import { RecordingOutput, type ProgressUpdate } from '../../lib/output/output.ts';
import type { Replicator } from '../../lib/platform/roles.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { crossEngineEnvironment, generate, loadMariadb, loadPostgres } from './legacy-mariadb-fixture.ts';

/** Aborts the validation once `after` units are compared (a kill mid-validation, without a process). */
class AbortingOutput extends RecordingOutput {
  readonly controller = new AbortController();
  constructor(private readonly after: number) {
    super();
  }
  override progress(update: ProgressUpdate): void {
    super.progress(update);
    if (update.topic === 'validate' && (update.done ?? 0) >= this.after) this.controller.abort();
  }
}

const ARCHIVE = ['legacy_shop.KUNDE_ALT'];

describe.skipIf(mariadbMissing)(`cross-engine validate: resume, --repair, dead letters (MariaDB -> PostgreSQL) ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let pgServer: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: pg.Client;
  const data = generate(300, 30);
  let dir: string;
  const env = () => crossEngineEnvironment(dir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 50, concurrency: 1 });

  beforeAll(async () => {
    [maria, pgServer] = await Promise.all([startTestMariadb(), startTestPostgres('duoduo_db')]);
    target = await connect(pgServer.url);
    await Promise.all([loadMariadb(maria, data), loadPostgres(target, data)]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-xengine-resume-'));
  });
  afterAll(async () => {
    await target?.end().catch(() => {});
    await Promise.all([maria?.dispose(), pgServer?.dispose()]);
  });

  test('a validation killed mid-way resumes: the units it compared are taken from the run log, only the rest are compared', async () => {
    const killed = new AbortingOutput(2);
    await expect(new CrossEngineValidator(env(), killed).validate({ tables: ARCHIVE, signal: killed.controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    // after the kill: one row changes in the first unit (already compared) and one in the last (not yet)
    await target.query(`UPDATE duoduo.customers_archive SET note = 'changed after the kill' WHERE kunde_id IN (3, 900)`);
    const resumed = await new CrossEngineValidator(env(), new RecordingOutput()).validate({ tables: ARCHIVE });
    expect(resumed.figures.resumedChunks).toBe(2);
    expect(resumed.figures.chunks).toBeGreaterThanOrEqual(6);
    // the resumed run did not compare the first unit again, so it cannot see the change there
    expect(resumed.tables[0]!.different).toEqual([{ kunde_id: 900 }]);
    expect(resumed.tables[0]!.sourceRows).toBe(300);
    // that run finished: the next one starts over and sees both
    const fresh = await new CrossEngineValidator(env(), new RecordingOutput()).validate({ tables: ARCHIVE });
    expect(fresh.figures.resumedChunks).toBe(0);
    expect(fresh.tables[0]!.different).toEqual([{ kunde_id: 3 }, { kunde_id: 900 }]);
  });

  test('--repair makes the target match the source; a validation afterwards says equal', async () => {
    await target.query(`DELETE FROM duoduo.customers_archive WHERE kunde_id = 60`);
    await target.query(`UPDATE duoduo.customers_archive SET score = score * 2, created = created + interval '1 second' WHERE kunde_id = 66`);
    await target.query(`INSERT INTO duoduo.customers_archive (kunde_id, "Name", aktiv, balance, score, ratio, created, status, note) VALUES (99999, 'extra', true, 0, 0, 0, now(), 'new', '')`);
    const out = new RecordingOutput();
    const repaired = await new CrossEngineValidator(env(), out).validate({ tables: ARCHIVE, repair: true });
    expect(repaired.equal).toBe(false); // the report of the run that found the differences
    // 3 and 900 (previous test), 60 missing, 66 different, 99999 extra
    expect(repaired.repaired).toBe(5);
    const after = await new CrossEngineValidator(env(), new RecordingOutput()).validate({ tables: ARCHIVE });
    expect(after.tables[0]!.sourceRows).toBe(300);
    expect(after.equal).toBe(true);
    const { rows } = await target.query(`SELECT kunde_id, score, to_char(created, 'YYYY-MM-DD HH24:MI:SS.US') AS created FROM duoduo.customers_archive WHERE kunde_id IN (60, 66, 99999) ORDER BY 1`);
    const byId = new Map(data.customers.map((c) => [c.id, c]));
    expect(rows).toEqual([60, 66].map((id) => ({ kunde_id: String(id), score: byId.get(id)!.score, created: byId.get(id)!.created })));
  });

  test('a row the target refuses to take goes to the dead letters with the reason; the next validation reports it there, not as missing', async () => {
    const c = await maria.connect('legacy_shop');
    try {
      await c.query(`UPDATE KUNDE_ALT SET note = 'forbidden on green' WHERE kunde_id = 30`);
    } finally {
      await c.end();
    }
    await target.query(`ALTER TABLE duoduo.customers_archive ADD CONSTRAINT no_forbidden_notes CHECK (note <> 'forbidden on green') NOT VALID`);
    await target.query(`DELETE FROM duoduo.customers_archive WHERE kunde_id IN (30, 33)`);
    const out = new RecordingOutput();
    const first = await new CrossEngineValidator(env(), out).validate({ tables: ARCHIVE, repair: true });
    expect(first.tables[0]!.missing).toEqual([{ kunde_id: 30 }, { kunde_id: 33 }]);
    expect(first.repaired).toBe(1); // 33 went in; 30 was refused, and the rest of the repair still applied
    const { rows: letters } = await target.query(`SELECT slot, source_table, target_table, source_key, error FROM _cutover.dead_letter`);
    expect(letters).toEqual([
      { slot: 'validate-repair', source_table: 'legacy_shop.KUNDE_ALT', target_table: 'duoduo.customers_archive', source_key: { kunde_id: 30 }, error: expect.stringMatching(/no_forbidden_notes/) },
    ]);
    expect(out.text()).toMatch(/rejected by the target.*no_forbidden_notes/);
    const again = await new CrossEngineValidator(env(), new RecordingOutput()).validate({ tables: ARCHIVE });
    expect(again.tables[0]!.missing).toEqual([]);
    expect(again.tables[0]!.deadLetter).toEqual([{ kunde_id: 30 }]);
    expect(again.tables[0]!.different).toEqual([]);
  });

  test('while replication runs, a composite text-keyed difference that replication then applies is dropped; one that persists is kept', async () => {
    await target.query(`UPDATE duoduo.order_lines SET price = price + 1 WHERE order_no = 'b-0002' AND line = 1`);
    await target.query(`DELETE FROM duoduo.order_lines WHERE order_no = 'A-0001' AND line = 1`);
    let waited = 0;
    // replication "catches up" with the price change while the validator waits for it
    const replicator = {
      status: async () => ({ phase: 'cdc' }),
      sourcePosition: async () => 'mysql-bin.000001:4',
      waitForPosition: async () => {
        waited++;
        await target.query(`UPDATE duoduo.order_lines SET price = price - 1 WHERE order_no = 'b-0002' AND line = 1`);
        return true;
      },
    } as unknown as Replicator;
    const report = await new CrossEngineValidator(env(), new RecordingOutput(), replicator).validate({ tables: ['legacy_shop.order_line'] });
    expect(waited).toBe(1);
    expect(report.tables[0]!.different).toEqual([]);
    expect(report.tables[0]!.missing).toEqual([{ order_no: 'A-0001', line: 1 }]);
  });

  test('after the write switch (forward stopped, reverse streaming): a row green changed that blue has once reverse replication caught up is no difference; one blue alone changed is', async () => {
    // the previous test's leftover, put back: this one starts from equal lines
    const a1 = data.lines.find((l) => l.orderNo === 'A-0001' && l.line === 1)!;
    await target.query('INSERT INTO duoduo.order_lines VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [a1.orderNo, a1.line, a1.qty, a1.price]);
    // a write on green (writes are there since the switch) that reverse replication has not carried to blue yet
    await target.query(`UPDATE duoduo.order_lines SET qty = qty + 5 WHERE order_no = 'b-0004' AND line = 2`);
    // written on blue alone (not through reverse replication): a real difference
    const c = await maria.connect('legacy_shop');
    try {
      await c.query(`UPDATE order_line SET price = price + 2 WHERE order_no = 'A-0007' AND line = 2`);
    } finally {
      await c.end();
    }
    let waited = 0;
    let carried = false;
    const forward = { status: async () => ({ phase: 'stopped' }) } as unknown as Replicator;
    // reverse replication streams, and carries green's write to blue while the validator waits for it
    const reverse = {
      direction: 'reverse',
      status: async () => ({ phase: 'cdc' }),
      sourcePosition: async () => '0/16B3748',
      waitForPosition: async () => {
        waited++;
        if (!carried) {
          carried = true;
          const blue = await maria.connect('legacy_shop');
          try {
            await blue.query(`UPDATE order_line SET qty = qty + 5 WHERE order_no = 'b-0004' AND line = 2`);
          } finally {
            await blue.end();
          }
        }
        return true;
      },
    } as unknown as Replicator;
    const out = new RecordingOutput();
    const report = await new CrossEngineValidator(env(), out, forward, reverse).validate({ tables: ['legacy_shop.order_line'] });
    expect(waited).toBeGreaterThanOrEqual(1);
    expect(carried).toBe(true);
    const t = report.tables[0]!;
    expect({ missing: t.missing, extra: t.extra, different: t.different }).toEqual({ missing: [], extra: [], different: [{ order_no: 'A-0007', line: 2 }] });
    expect(report.equal).toBe(false);
    expect(out.lines.some((l) => /writes are on green/.test(l.message) && /reverse replication/.test(l.message))).toBe(true);
  });
});
