import { afterAll, describe, expect, test } from 'vitest';
import { RecordingOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { canStartMajor, startTestPostgres, type TestMajor } from '../_helpers/pg.ts';
import { sql, testEnvironment, until } from './_env.ts';

const LIMIT_MS = 2500;

/**
 * The heartbeat must arrive on an idle source on every major: PostgreSQL 12 and 13 send the
 * heartbeat's empty transaction (pgoutput has no `messages` there), 14+ send its logical message
 * (15+ skip an empty transaction). Were it lost, an idle stream would read as stalled (as it did
 * on 15+ while the version probe misread `show server_version_num`).
 */
// 12: no logical messages in pgoutput (the empty transaction carries it); 17, the default: messages.
// The two majors run at once (they share no server): most of each test is the idle wait below.
describe.concurrent('heartbeat on an idle source', () => {
  for (const major of [12, 17] as TestMajor[]) {
    describe.skipIf(!canStartMajor(major))(`heartbeat through the slot on PostgreSQL ${major}`, () => {
      const cleanups: (() => Promise<void>)[] = [];
      afterAll(async () => {
        for (const c of cleanups.reverse()) await c().catch(() => {});
      });

      test('an idle source: the heartbeat keeps arriving, so the stream is cdc with a fresh heartbeat, never stalled', async () => {
        const [source, target] = await Promise.all([startTestPostgres('app', undefined, major), startTestPostgres('app', undefined, major)]);
        cleanups.push(source.dispose, target.dispose);
        await sql(source.url, "create table items (id int primary key, name text); insert into items values (1, 'a')");
        await sql(target.url, 'create table items (id int primary key, name text)');
        const env = testEnvironment(source.url, target.url);
        const out = new RecordingOutput();
        const replicator = new PostgresReplicator({ ...env, gates: { ...env.gates, maxHeartbeatAgeMs: LIMIT_MS } }, 'forward', out);
        cleanups.push(() => replicator.stop());
        await replicator.start({ foreground: true });
        await until(async () => (await replicator.status()).heartbeatAgeMs != null, 30_000, 'the heartbeat to be judged').catch(async (err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(await replicator.status())} ${JSON.stringify(out.lines)}`);
        });
        // idle for twice the limit: nothing but heartbeats reach the slot
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, LIMIT_MS / 2.5));
          const s = await replicator.status();
          expect(s.phase, s.error).toBe('cdc');
          expect(s.heartbeatAgeMs!).toBeLessThanOrEqual(LIMIT_MS);
        }
      }, 120_000);
    });
  }
});
