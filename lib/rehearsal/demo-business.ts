import pg from 'pg';
import { checkLedger, fetchOrderFromDatabase } from '../demo/ledger.ts';
import { createDuoduoSchema } from '../demo/duoduo-schema.ts';
import { seedCainiao, type CainiaoDataSummary, type SeedProgress } from '../demo/generator.ts';
import { seedCainiaoMysql } from '../demo/seed-cainiao-mysql.ts';
import { MysqlOrderPool } from '../demo/mysql-order-pool.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import { connectMysql } from '../engines/mysql/mysql-connection.ts';
import { startLoad, type FailureRecord, type LoadCounters, type LoadRun } from '../demo/load-generator.ts';
import { startOrderApp, type OrderApp } from '../demo/order-app.ts';
import { spawnOrderApp, type OrderAppProcess } from '../demo/order-app-process.ts';
import type { Output } from '../output/output.ts';
import { ProgressRate } from '../output/progress-rate.ts';
import { startWeightedRouter, type RunningWeightedRouter } from '../router/weighted-router.ts';
import type { Side } from '../platform/roles.ts';
import type { RehearsalReport } from './report.ts';

export interface DemoBusinessOptions {
  /** The kit's account on cainiao (seeding); a `mysql://` URL seeds a MySQL-family cainiao. */
  readonly cainiaoUrl: string;
  /** The blue app's account. @default cainiaoUrl */
  readonly cainiaoAppUrl?: string;
  readonly duoduoUrl: string;
  readonly seed: number;
  readonly orders: number;
  readonly rate: number;
  readonly out: Output;
  /** Run the green app in its own process (a fault kills it with SIGKILL). @default false */
  readonly greenProcess?: boolean;
}

export interface LoadResult {
  readonly ledgerSize: number;
  readonly counters: LoadCounters;
  readonly requests: RehearsalReport['requests'];
  /** Every failed request (the first 20,000), for attributing failures to an injected fault. */
  readonly failureLog: readonly FailureRecord[];
}

export interface DemoBusiness {
  readonly summary: CainiaoDataSummary & { readonly loadMs: number };
  readonly blue: OrderApp;
  readonly green: OrderApp;
  /** The green app's process when `greenProcess` was asked for, else null. */
  readonly greenProcess: OrderAppProcess | null;
  readonly router: RunningWeightedRouter;
  readonly load: { start(): void; stop(): Promise<LoadResult> };
  /** Every acknowledged write looked up on one side's database, in its own schema. */
  checkLedger(side: Side): Promise<{ acknowledged: number; missing: number; mismatched: number; missingIds: string[]; mismatchedIds: string[] }>;
  stop(): Promise<void>;
}

/**
 * The demo business around the two servers: legacy data seeded into cainiao, the clean duoduo
 * schema, the blue and green apps, the weighted router in front of them and the load generator
 * aimed at the router. A rehearsal runs it in its own process (demo-business-main.ts, driven by
 * demo-systems.ts), so the kit's CPU work does not stall the business it moves.
 */
export async function startDemoBusiness(o: DemoBusinessOptions): Promise<DemoBusiness> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
  };
  try {
    const mysqlLegacy = engineOfUrl(o.cainiaoUrl) === 'mysql';
    const greenDb = await connect(o.duoduoUrl);
    o.out.info('rehearse', `seeding cainiao${mysqlLegacy ? ' (MariaDB)' : ''}: ${o.orders} legacy orders with dirty data (seed ${o.seed})`);
    const rate = new ProgressRate();
    const seedOptions = {
      seed: o.seed,
      orders: o.orders,
      replace: true,
      onProgress: (p: SeedProgress) => o.out.progress({ topic: 'seed cainiao', done: p.rows, total: p.totalRows, unit: 'rows', figures: { table: p.table, ...rate.figures(p.rows, p.totalRows) } }),
    };
    let summary: CainiaoDataSummary & { loadMs: number };
    if (mysqlLegacy) {
      const blueDb = await connectMysql(o.cainiaoUrl, 'source');
      summary = await seedCainiaoMysql(blueDb, seedOptions).finally(() => blueDb.end().catch(() => {}));
    } else {
      const blueDb = await connect(o.cainiaoUrl);
      summary = await seedCainiao(blueDb, seedOptions).finally(() => blueDb.end().catch(() => {}));
    }
    o.out.done('seed cainiao');
    await createDuoduoSchema(greenDb, { replace: true });
    await greenDb.end();
    o.out.ok(
      'rehearse',
      `cainiao seeded in ${summary.loadMs} ms: ${summary.counts.customers} customers, ${summary.counts.products} products, ${summary.counts.orders} orders, ${summary.counts.orderItems} items`,
    );

    const blue = await startOrderApp({ flavor: 'cainiao', databaseUrl: o.cainiaoAppUrl ?? o.cainiaoUrl });
    stops.push(() => blue.stop());
    const greenProcess = o.greenProcess ? await spawnOrderApp({ flavor: 'duoduo', databaseUrl: o.duoduoUrl }) : null;
    const green = greenProcess ?? (await startOrderApp({ flavor: 'duoduo', databaseUrl: o.duoduoUrl }));
    stops.push(() => green.stop());
    const router = await startWeightedRouter({ blueUrl: blue.url, greenUrl: green.url, maxHoldMs: 15_000 });
    stops.push(() => router.stop());
    o.out.ok('rehearse', `blue app ${blue.url}, green app ${green.url}, router ${router.url} (admin ${router.adminUrl})`);

    let run: LoadRun | null = null;
    return {
      summary,
      blue,
      green,
      greenProcess,
      router,
      load: {
        start() {
          run = startLoad({ baseUrl: router.url, rate: o.rate, ids: summary.ids, seed: o.seed + 1 });
        },
        async stop() {
          if (!run) throw new Error('load generator was not started');
          const counters = await run.stop();
          return {
            ledgerSize: run.ledger.entries().length,
            counters,
            requests: { total: counters.total, failed: counters.failed, reads: counters.reads, writes: counters.writes, failuresByReason: counters.failuresByReason, failures: counters.recentFailures, firstFailuresByReason: counters.firstFailuresByReason },
            failureLog: run.failureLog(),
          };
        },
      },
      async checkLedger(side) {
        if (!run) return { acknowledged: 0, missing: 0, mismatched: 0, missingIds: [], mismatchedIds: [] };
        // a fresh connection: the write fence ends older sessions of a fenced database
        const db = side === 'blue' && mysqlLegacy ? new MysqlOrderPool(o.cainiaoUrl, 1) : await connect(side === 'blue' ? o.cainiaoUrl : o.duoduoUrl);
        const r = await checkLedger(run.ledger, fetchOrderFromDatabase(db, side === 'blue' ? 'cainiao' : 'duoduo'), { concurrency: 1 }).finally(() => db.end());
        return {
          acknowledged: r.acknowledged,
          missing: r.missing.length,
          mismatched: r.mismatched.length,
          missingIds: r.missing.slice(0, 50).map(String),
          mismatchedIds: r.mismatched.slice(0, 50).map(String),
        };
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: 'cutover-rehearsal' });
  c.on('error', () => {}); // surfaced by the next query
  await c.connect();
  return c;
}
