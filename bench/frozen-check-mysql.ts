/**
 * The write switch's frozen check for a MariaDB source (cross-engine validator), timed as the hold
 * sees it, three ways on the same servers and the same changes:
 *   inside     validate({ frozen: true }): sessions, catalogs, mapping and dead letters read inside the hold (before 2026-12-06)
 *   prepared   prepareFrozen() before the hold, then only the prepared check's validate() inside it
 *   refreshed  refreshBaseline() before the hold (the rows changed so far compared live, the baseline moved),
 *              then CHANGES_AFTER more changes, then the prepared check inside the hold
 * Tables: orders (5,000 rows, integer key) and tags (a composite text key); CHANGES rows changed after
 * the full validation (about what a default-size rehearsal changes between its validate phase and the switch).
 * Prints the median of REPEAT runs of each and the ratios to `inside`, with the load average.
 * Needs Debian's mariadb-server. Run: node --import tsx bench/frozen-check-mysql.ts (CHANGES=4000 REPEAT=5 CHANGES_AFTER=300)
 */
import os from 'node:os';
import { CrossEngineValidator } from '../lib/diff/cross-engine-validator.ts';
import { silentOutput } from '../lib/output/output.ts';
import { BinlogReplicator } from '../lib/replication/binlog-replicator.ts';
import { startTestMariadb } from '../test/_helpers/mariadb.ts';
import { startTestPostgres } from '../test/_helpers/pg.ts';
import { sql, testEnvironment } from '../test/replication/_env.ts';

const CHANGES = Number(process.env.CHANGES ?? 4000);
const CHANGES_AFTER = Number(process.env.CHANGES_AFTER ?? 300);
const REPEAT = Number(process.env.REPEAT ?? 5);
const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MAPPING = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'all', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' }, 'rule-action': 'include' }] };

const [maria, target] = await Promise.all([startTestMariadb({ database: 'shop' }), startTestPostgres()]);
const replicator = { current: null as BinlogReplicator | null };
try {
  await maria.exec(`CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, status VARCHAR(10) NOT NULL, amount DECIMAL(10,2) NOT NULL, note VARCHAR(40)) CHARACTER SET utf8mb4;
    CREATE TABLE tags (owner VARCHAR(40), n INT, label VARCHAR(20), PRIMARY KEY (owner, n)) CHARACTER SET utf8mb4;
    INSERT INTO orders SELECT seq, 'PAID', seq + 0.5, CONCAT('备注 ', seq) FROM seq_1_to_5000;
    INSERT INTO tags SELECT CONCAT('客户 ', seq DIV 3), seq MOD 3, CONCAT('t', seq) FROM seq_1_to_3000;`);
  await sql(target.url, `create schema shop;
    create table shop.orders (id integer primary key, status varchar(10) not null, amount numeric(10,2) not null, note varchar(40));
    create table shop.tags (owner varchar(40), n integer, label varchar(20), primary key (owner, n));`);
  const env = testEnvironment(maria.url, target.url, { chunkRows: 1000, parallelTables: 2, batchSize: 200 }, { forward: MAPPING });
  const r = (replicator.current = new BinlogReplicator(env, silentOutput));
  const validator = new CrossEngineValidator(env, silentOutput, r);
  const caughtUp = async () => {
    if (!(await r.waitForPosition(await r.sourcePosition(), 120_000))) throw new Error('replication did not catch up');
  };
  await r.start({ foreground: true });
  await caughtUp();
  if (!(await validator.validate()).equal) throw new Error('the full validation differs');
  const change = async (n: number, round: number) => {
    const orders = Math.ceil((n * 3) / 4);
    await maria.exec(`UPDATE orders SET status = 'S${round % 100}' WHERE id <= ${orders}; UPDATE tags SET label = 'r${round}' WHERE n = 1 LIMIT ${n - orders}`);
    await caughtUp();
  };
  await change(CHANGES, 1);
  const loadBefore = loadAverage();
  const timed = async (f: () => Promise<{ equal: boolean; scope?: unknown }>) => {
    const t = performance.now();
    const report = await f();
    if (!report.equal) throw new Error(`not equal: ${JSON.stringify(report.scope)}`);
    return { ms: performance.now() - t, scope: report.scope as { changedRows?: number } };
  };
  const inside: number[] = [];
  const prepared: number[] = [];
  const prepareMs: number[] = [];
  let changedInside = 0;
  for (let i = 0; i < REPEAT; i++) {
    const a = await timed(() => validator.validate({ frozen: true }));
    inside.push(a.ms);
    changedInside = a.scope.changedRows ?? -1;
    const p0 = performance.now();
    const ready = await validator.prepareFrozen();
    prepareMs.push(performance.now() - p0);
    try {
      prepared.push((await timed(() => ready.validate())).ms);
    } finally {
      await ready.close();
    }
  }
  const refreshed: number[] = [];
  const refreshMs: number[] = [];
  let changedAfterRefresh = 0;
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    const refresh = await validator.refreshBaseline();
    if (!refresh.baselineRefreshed) throw new Error(`the baseline did not move: ${JSON.stringify(refresh.scope)}`);
    refreshMs.push(performance.now() - t0);
    await change(CHANGES_AFTER, 10 + i);
    const ready = await validator.prepareFrozen();
    try {
      const b = await timed(() => ready.validate());
      refreshed.push(b.ms);
      changedAfterRefresh = b.scope.changedRows ?? -1;
    } finally {
      await ready.close();
    }
  }
  const m = { inside: median(inside), prepared: median(prepared), refreshed: median(refreshed) };
  console.log(
    JSON.stringify(
      {
        changedRowsInside: changedInside,
        changedRowsAfterRefresh: changedAfterRefresh,
        medianMs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v)])),
        'prepared/inside': +(m.prepared / m.inside).toFixed(2),
        'refreshed/inside': +(m.refreshed / m.inside).toFixed(2),
        beforeTheHoldMs: { prepareFrozen: Math.round(median(prepareMs)), refreshBaseline: Math.round(median(refreshMs)) },
        allMs: { inside: inside.map(Math.round), prepared: prepared.map(Math.round), refreshed: refreshed.map(Math.round) },
        loadAverage: `${loadBefore} -> ${loadAverage()}`,
      },
      null,
      2,
    ),
  );
} finally {
  await replicator.current?.stop().catch(() => {});
  await replicator.current?.close();
  await Promise.all([maria.dispose(), target.dispose()]);
}
