/**
 * The write hold's sequence step (PostgresSequenceSync.syncSequences after prepare, as the switch
 * runs it) on two PostgreSQL servers: the demo's mapping (cainiao -> duoduo, 5 sequences) and
 * 50 tables with a serial key each. Prints, for each, the median and p90 of REPEAT calls and the
 * statements one call sends, against two baselines of this run on the same servers: opening and
 * closing the call's two sessions (the floor of the step) and one `select 1` round trip; with the
 * load average.
 * Run: node --import tsx bench/sequence-sync.ts (REPEAT=15)
 */
import os from 'node:os';
import pg from 'pg';
import { createCainiaoSchema } from '../lib/demo/cainiao-schema.ts';
import { createDuoduoSchema } from '../lib/demo/duoduo-schema.ts';
import { buildForwardMapping, buildReverseMapping } from '../lib/demo/mapping-files.ts';
import { silentOutput } from '../lib/output/output.ts';
import { openTogether } from '../lib/platform/open-together.ts';
import { openKitClient } from '../lib/postgres/kit-client.ts';
import { PostgresSequenceSync } from '../lib/replication/sequence-sync.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { IDENTITY_MAPPING, sql, testEnvironment } from '../test/replication/_env.ts';

const REPEAT = Number(process.env.REPEAT ?? 15);
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

async function timeSync(sync: PostgresSequenceSync): Promise<{ ms: number[]; statements: number; sequences: number }> {
  const sequences = (await sync.prepare(100)).length;
  const ms: number[] = [];
  let statements = 0;
  const original = pg.Client.prototype.query;
  for (let i = 0; i < REPEAT; i++) {
    let sent = 0;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      sent++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    const t0 = performance.now();
    try {
      await sync.syncSequences(100);
    } finally {
      pg.Client.prototype.query = original;
    }
    ms.push(performance.now() - t0);
    statements = sent;
  }
  return { ms, statements, sequences };
}

const [blue, green] = await Promise.all([startTestPostgres(), startTestPostgres()]);
try {
  await Promise.all([blue.createDatabase('demo_blue'), green.createDatabase('demo_green'), blue.createDatabase('many_blue'), green.createDatabase('many_green')]);
  const demo = { blue: blue.urlFor('demo_blue'), green: green.urlFor('demo_green') };
  for (const [url, create] of [[demo.blue, createCainiaoSchema], [demo.green, createDuoduoSchema]] as const) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await create(c);
    await c.end();
  }
  const many = { blue: blue.urlFor('many_blue'), green: green.urlFor('many_green') };
  const ddl = Array.from({ length: 50 }, (_, i) => `create table t${i} (id serial primary key, note text)`).join('; ');
  await Promise.all([sql(many.blue, ddl), sql(many.green, ddl)]);
  await sql(many.blue, Array.from({ length: 50 }, (_, i) => `insert into t${i} (note) select 'x' from generate_series(1, ${i + 1})`).join('; '));

  // the baseline: one round trip on an open session, as the hold's statements are
  const probe = new pg.Client({ connectionString: demo.green });
  await probe.connect();
  const trip: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await probe.query('select 1');
    trip.push(performance.now() - t0);
  }
  await probe.end();
  const roundTrip = quantile(trip, 0.5);
  const opens: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const [a, b] = await openTogether(openKitClient(demo.blue, 'cutover-sequences'), openKitClient(demo.green, 'cutover-sequences'));
    await Promise.all([a.end(), b.end()]);
    opens.push(performance.now() - t0);
  }
  const openBoth = quantile(opens, 0.5);
  const cases = [
    ['demo (cainiao -> duoduo)', new PostgresSequenceSync(testEnvironment(demo.blue, demo.green, {}, { forward: buildForwardMapping('postgres'), reverse: buildReverseMapping('postgres') }), silentOutput)],
    ['50 tables', new PostgresSequenceSync(testEnvironment(many.blue, many.green, {}, { forward: IDENTITY_MAPPING, reverse: IDENTITY_MAPPING }), silentOutput)],
  ] as const;
  console.log(`load average ${loadAverage()}; baselines: opening and closing both sessions median ${openBoth.toFixed(1)} ms, one select 1 round trip median ${roundTrip.toFixed(2)} ms`);
  for (const [name, sync] of cases) {
    const r = await timeSync(sync);
    const p50 = quantile(r.ms, 0.5);
    console.log(
      `${name}: ${r.sequences} sequence(s), ${r.statements} statement(s) per call; syncSequences median ${p50.toFixed(1)} ms, p90 ${quantile(r.ms, 0.9).toFixed(1)} ms ` +
        `= ${(p50 / openBoth).toFixed(2)} x opening the sessions, that + ${((p50 - openBoth) / roundTrip).toFixed(0)} round trips of select 1 (${REPEAT} calls)`,
    );
  }
  console.log(`load average ${loadAverage()}`);
} finally {
  await Promise.all([blue.dispose(), green.dispose()]);
}
