import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CrossEngineValidator } from '../../lib/diff/cross-engine-validator.ts';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { negativeTimeCarried } from '../../lib/engines/mysql/binlog-reader.ts';
import { BinlogReplicator } from '../../lib/replication/binlog-replicator.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, testEnvironment } from './_env.ts';

/**
 * MySQL TIME is a duration (-838:59:59.999999 … 838:59:59.999999), so a target may hold it as an
 * `interval`. Through the full load and the binlog, every value arrives as the same duration and
 * validate calls the sides equal (it called every whole-second TIME(6) and every plain TIME
 * "different" before: their texts differ, `12:00:00.500000` against `12:00:00.5`).
 */
const VALUES: readonly (readonly [number, string | null, string | null])[] = [
  [1, '09:30:00', '12:00:00.5'],
  [2, '-01:30:00', '-00:00:00.000001'],
  [3, '838:59:59', '838:59:59.999999'],
  [4, '-838:59:59', '-838:59:59.999999'],
  [5, '25:00:00', '-12:34:56.789012'],
  [6, '00:00:00', '00:00:00'],
  [7, '-01:00:00', '-00:01:00.000000'],
  [8, '-100:00:00', '-838:00:00.000000'],
  [9, null, null],
];
/** PostgreSQL's own output of those durations. */
const AS_INTERVAL = [
  ['09:30:00', '12:00:00.5'],
  ['-01:30:00', '-00:00:00.000001'],
  ['838:59:59', '838:59:59.999999'],
  ['-838:59:59', '-838:59:59.999999'],
  ['25:00:00', '-12:34:56.789012'],
  ['00:00:00', '00:00:00'],
  ['-01:00:00', '-00:01:00'],
  ['-100:00:00', '-838:00:00'],
  [null, null],
];

describe.skipIf(mariadbMissing)(`TIME into interval through the kit's full load and binlog ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: BinlogReplicator;
  let env: ResolvedPostgresEnvironment;
  const lit = (v: string | null) => (v === null ? 'NULL' : `'${v}'`);
  const rows = (offset: number) => VALUES.map(([id, t, t6]) => `(${id + offset}, ${lit(t)}, ${lit(t6)})`).join(', ');
  const held = async (where: string) => (await sql(target.url, `select t::text as t, t6::text as t6 from legacy.times where ${where} order by id`)).rows.map((r) => [r.t, r.t6]);

  beforeAll(async () => {
    [maria, target] = await Promise.all([startTestMariadb({ database: 'legacy' }), startTestPostgres()]);
    await maria.exec(`CREATE TABLE times (id INT PRIMARY KEY, t TIME, t6 TIME(6)); INSERT INTO times VALUES ${rows(0)}`);
    await sql(target.url, 'create schema legacy; create table legacy.times (id integer primary key, t interval, t6 interval)');
    env = testEnvironment(maria.url, target.url, { chunkRows: 1000, batchSize: 100 }, { forward: { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'legacy', 'table-name': '%' }, 'rule-action': 'include' }] } });
    replicator = new BinlogReplicator(env, new RecordingOutput());
  }, 180_000);
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await replicator?.close();
    await Promise.all([maria?.dispose(), target?.dispose()]);
  });

  test('full load and CDC (inserts, an update across the sign) hold the same durations, and validate says equal', async () => {
    await replicator.start();
    await maria.exec(`INSERT INTO times VALUES ${rows(100)}; UPDATE times SET t = '-00:00:01', t6 = '100:00:00.000001' WHERE id = 106`);
    expect(await replicator.waitForPosition(await replicator.sourcePosition(), 60_000)).toBe(true);
    expect(await held('id < 100')).toEqual(AS_INTERVAL);
    expect(await held('id > 100')).toEqual(AS_INTERVAL.map((r, i) => (i === 5 ? ['-00:00:01', '100:00:00.000001'] : r)));
    const report = await new CrossEngineValidator(env, new RecordingOutput()).validate();
    expect(report.tables.map((t) => [t.source, t.sourceRows, t.targetRows, t.missing, t.extra, t.different])).toEqual([['legacy.times', 18, 18, [], [], []]]);
    expect(report.equal).toBe(true);
  }, 120_000);

  test("a negative TIME the binlog decoder left without its carry (`-01:29:64`; the old decimal TIME's `-00:99:100`) is the value it stands for; others pass as they are", () => {
    expect(negativeTimeCarried('-01:29:64')).toBe('-01:30:00');
    expect(negativeTimeCarried('-00:63:64')).toBe('-01:00:00');
    expect(negativeTimeCarried('-01:29:100')).toBe('-01:30:00');
    expect(negativeTimeCarried('-00:99:100')).toBe('-01:00:00');
    expect(negativeTimeCarried('-837:63:64')).toBe('-838:00:00');
    for (const ok of ['-01:30:00', '-00:00:00.000001', '838:59:59', '-838:59:59.999999', '12:00:00']) expect(negativeTimeCarried(ok)).toBe(ok);
  });
});
