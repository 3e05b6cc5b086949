/**
 * The apply of small batches in isolation (what a live stream's lag is made of): the same
 * ChangeApplier on one target, batches of BENCH_TXNS single-row transactions (default 1) sent one
 * after the other, as named prepared statements in pipeline mode (what it does) and as one SQL
 * text per batch (what it did before, and still does for large batches), interleaved in rounds of
 * BENCH_ROUND batches so load changes hit both alike. Prints per-batch latency p50/p99 and the
 * target backend's CPU per batch, and the ratio text / prepared.
 *
 *   npx tsx bench/apply-small-batches.ts
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { silentOutput } from '../lib/output/output.ts';
import { mappingEngine, resolveMappedTables } from '../lib/mappings/mapped-tables.ts';
import { ChangeApplier, type ApplyTable } from '../lib/replication/change-applier.ts';
import type { SourceTransaction } from '../lib/replication/change-stream.ts';
import { ensureControlSchema } from '../lib/replication/control-schema.ts';
import { streamNames } from '../lib/replication/stream-names.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { testEnvironment } from '../test/replication/_env.ts';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 3000);
const ROUND = Number(process.env.BENCH_ROUND ?? 100);
const TXNS = Number(process.env.BENCH_TXNS ?? 1);
const TABLE = 'create table ev (id bigint primary key, payload text, src_at timestamptz not null)';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const server = await startTestPostgres('source');
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(TABLE);
  await admin.query('create database target');
  const target = new pg.Client({ connectionString: server.urlFor('target') });
  await target.connect();
  await target.query(TABLE);
  await ensureControlSchema(target);
  const env = testEnvironment(server.url, server.urlFor('target'));
  const names = streamNames(env, 'forward');
  const tables: ApplyTable[] = [];
  for (const table of await resolveMappedTables(admin, names.readScope, names.mappingFile, silentOutput)) tables.push({ table, transformer: await mappingEngine.createRowTransformer(table) });

  const variant = async (name: string, pipelined: boolean) => {
    const session = new pg.Client({ connectionString: server.urlFor('target') });
    await session.connect();
    // without the pipeline switch the applier sends each batch as one SQL text
    if (!pipelined) delete (session as unknown as { pipeline?: boolean }).pipeline;
    const applier = new ChangeApplier(session, `bench_${name}`, 'forward', tables);
    await applier.init();
    const { rows } = await session.query<{ pid: number }>('select pg_backend_pid() as pid');
    return { name, session, applier, pid: rows[0]!.pid, latencies: [] as number[], cpu: 0 };
  };
  const variants = [await variant('prepared', true), await variant('text', false)];
  let id = 0;
  let lsn = 0x100000;
  const batch = (): SourceTransaction[] =>
    Array.from({ length: TXNS }, () => {
      const commitLsn = `0/${(lsn += 0x40).toString(16).toUpperCase()}`;
      return { commitLsn, endLsn: `0/${(lsn + 8).toString(16).toUpperCase()}`, commitTime: new Date(), changes: [{ kind: 'insert', schema: 'public', table: 'ev', newRow: { id: String(++id), payload: `p ${id}`, src_at: new Date().toISOString() } }] };
    });
  for (let done = 0; done < BATCHES; done += ROUND) {
    for (const v of variants) {
      const cpu0 = cpuSeconds(v.pid);
      for (let i = 0; i < ROUND; i++) {
        const t0 = performance.now();
        const r = await v.applier.applyBatch(batch(), null);
        v.latencies.push(performance.now() - t0);
        if (r.deadLetters) throw new Error('dead letter');
      }
      v.cpu += cpuSeconds(v.pid) - cpu0;
    }
  }
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  process.stdout.write(`apply of ${BATCHES} batches of ${TXNS} single-row transaction(s) per variant, interleaved in rounds of ${ROUND}; load average ${load}\n`);
  for (const v of variants) {
    process.stdout.write(`${v.name.padEnd(9)} p50 ${pct(v.latencies, 50).toFixed(2)} ms  p99 ${pct(v.latencies, 99).toFixed(2)} ms  target backend CPU ${((v.cpu * 1e6) / BATCHES).toFixed(0)} µs/batch\n`);
  }
  const [p, t] = variants;
  process.stdout.write(`ratio text / prepared: p50 ${(pct(t!.latencies, 50) / pct(p!.latencies, 50)).toFixed(2)}, p99 ${(pct(t!.latencies, 99) / pct(p!.latencies, 99)).toFixed(2)}, backend CPU ${(t!.cpu / p!.cpu).toFixed(2)}\n`);
  for (const v of variants) await v.session.end();
  for (const tb of tables) tb.transformer.close();
  await target.end();
  await admin.end();
} finally {
  await server.dispose();
}
