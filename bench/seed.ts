/**
 * Seeding benchmark: the demo generator streamed into COPY (`seedCainiao`) at 100,000 and
 * 1,000,000 orders (or the sizes given), each in its own process so its peak RSS is its own,
 * against the limit: the same rows' COPY text written to /dev/null (generation alone). Prints
 * rows/s, the ratio seeding / generation and the peak RSS per size, with the load average.
 *
 *   npx tsx bench/seed.ts                 (100000 and 1000000 orders)
 *   npx tsx bench/seed.ts 100000 5000000
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { DEFAULT_DIRTY_RATES, seedCainiao } from '../lib/demo/generator.ts';
import { CainiaoRows } from '../lib/demo/cainiao-rows.ts';
import { connect, startTestPostgres } from '../test/_helpers/pg.ts';

interface ChildResult {
  readonly orders: number;
  readonly rows: number;
  readonly ms: number;
  readonly maxRssKb: number;
}

async function child(mode: 'seed' | 'generate', orders: number): Promise<ChildResult> {
  if (mode === 'generate') {
    const started = performance.now();
    const rows = new CainiaoRows({ seed: 42, orders, customers: Math.round(orders * 0.4), products: Math.max(20, Math.round(orders * 0.06)), rates: DEFAULT_DIRTY_RATES });
    let n = 0;
    for (const table of [rows.customers(), rows.products(), rows.inventory(), rows.orders(), rows.items()]) for (const _ of table) n++;
    return { orders, rows: n, ms: performance.now() - started, maxRssKb: process.resourceUsage().maxRSS };
  }
  const server = await startTestPostgres('bench', { max_wal_size: '4GB' });
  try {
    const c = await connect(server.url);
    try {
      let last = 0;
      const summary = await seedCainiao(c, {
        seed: 42,
        orders,
        onProgress: (p) => {
          if (performance.now() - last < 5000) return;
          last = performance.now();
          process.stderr.write(`  ${p.table}: ${p.rows}/${p.totalRows} rows\n`);
        },
      });
      const c2 = summary.counts;
      return { orders, rows: c2.customers + c2.products + c2.inventory + c2.orders + c2.orderItems, ms: summary.loadMs, maxRssKb: process.resourceUsage().maxRSS };
    } finally {
      await c.end();
    }
  } finally {
    await server.dispose();
  }
}

if (process.argv[2] === '--child') {
  const r = await child(process.argv[3] as 'seed' | 'generate', Number(process.argv[4]));
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  const sizes = process.argv.slice(2).map(Number);
  const run = (mode: string, orders: number): ChildResult => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', mode, String(orders)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench child ${mode} ${orders} failed (exit ${r.status})`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
  };
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cpus)`);
  for (const orders of sizes.length ? sizes : [100_000, 1_000_000]) {
    const gen = run('generate', orders);
    const seed = run('seed', orders);
    const mb = (kb: number) => `${Math.round(kb / 1024)} MB`;
    console.log(
      `${orders} orders, ${seed.rows} rows: seeded in ${(seed.ms / 1000).toFixed(1)} s (${Math.round(seed.rows / (seed.ms / 1000))} rows/s, peak RSS ${mb(seed.maxRssKb)}); ` +
        `generation alone ${(gen.ms / 1000).toFixed(1)} s (peak RSS ${mb(gen.maxRssKb)}); seeding / generation = ${(seed.ms / gen.ms).toFixed(2)}`,
    );
  }
  console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
