import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { PostgresValidator } from '../../lib/diff/postgres-validator.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { seededRandom } from './legacy-fixture.ts';
import { startServerPair, type ServerPair } from './server-pair.ts';
import { StandInReplicator } from './stand-in-replicator.ts';
import { renameTable, testEnvironment } from './validation-env.ts';

/**
 * Validation while replication applies a live load, as in the rehearsal: orders inserted and their
 * status updated, a few hot inventory rows decremented by every order. A stand-in replicator copies
 * each source change to the target DELAY_MS later; validation must report no false difference
 * while it runs, and still report a real difference on a cold row exactly.
 */
const DELAY_MS = 40;
const INVENTORY = 2000;
const ORDERS = 3000;
/** Hot inventory rows: every order decrements one of them. */
const HOT = [700, 1999];
/** The hottest row: decremented by every write of the load (every few milliseconds). */
const HOTTEST = 1000;

let servers: ServerPair;
let source: pg.Client;
let target: pg.Client;
let dir: string;
let env: ResolvedPostgresEnvironment;

const DDL = (inventory: string, orders: string) => `
  create table ${inventory} (id int primary key, warehouse int not null, units int not null, updated_at timestamptz not null);
  create table ${orders} (id bigint primary key, day date not null, status text not null, amount numeric(10,2) not null, item int not null);`;

const RECONCILIATION = [
  { name: 'inventory units per warehouse', source: 'select warehouse, sum(units) from t_inventory group by 1 order by 1', target: 'select warehouse, sum(units) from inventory group by 1 order by 1' },
  { name: 'orders by day and status', source: 'select day, status, count(*), sum(amount) from t_order group by 1, 2 order by 1, 2', target: 'select day, status, count(*), sum(amount) from orders group by 1, 2 order by 1, 2' },
];

beforeAll(async () => {
  servers = await startServerPair('cutover-live-validate');
  ({ source, target, dir } = servers);
  await source.query(DDL('t_inventory', 't_order'));
  await target.query(DDL('inventory', 'orders'));
  const select = (id: string, table: string) => ({ 'rule-type': 'selection', 'rule-id': id, 'rule-name': `s${id}`, 'object-locator': { 'schema-name': 'public', 'table-name': table }, 'rule-action': 'include' });
  env = testEnvironment({
    dir,
    sourceUrl: servers.sourceServer.url,
    targetUrl: servers.targetServer.url,
    forward: { rules: [select('1', 't_inventory'), select('2', 't_order'), renameTable('3', 't_inventory', 'inventory'), renameTable('4', 't_order', 'orders')] },
    validation: { chunkRows: 400, concurrency: 2, reconciliation: RECONCILIATION },
  });
}, 30_000);

afterAll(async () => {
  await servers?.dispose();
});

/** Same data on both sides (as after a full load). */
beforeEach(async () => {
  const fill = (inventory: string, orders: string) => `
    truncate ${inventory}, ${orders};
    insert into ${inventory} select g, g % 5, 1000000, timestamptz '2024-01-01 00:00:00+00' from generate_series(1, ${INVENTORY}) g;
    insert into ${orders} select g, date '2024-03-01' + (g % 7), case when g % 3 = 0 then 'SHIPPED' else 'PAID' end, (g % 97) + 0.5, 1 + g % ${INVENTORY} from generate_series(1, ${ORDERS}) g;`;
  await Promise.all([source.query(fill('t_inventory', 't_order')), target.query(fill('inventory', 'orders'))]);
  await target.query('drop schema if exists _cutover cascade');
});

/** The demo's load: an order inserted (its item's row decremented) or an order's status updated. */
class LiveLoad {
  private running = true;
  private readonly done: Promise<void>;
  writes = 0;

  constructor(private readonly replicator: StandInReplicator) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    const rnd = seededRandom(11);
    let nextOrder = ORDERS + 1;
    const upsertInventory = (r: Record<string, unknown>) => ({
      sql: `insert into inventory values ($1, $2, $3, $4) on conflict (id) do update set warehouse = excluded.warehouse, units = excluded.units, updated_at = excluded.updated_at`,
      values: [r.id, r.warehouse, r.units, r.updated_at],
    });
    const upsertOrder = (r: Record<string, unknown>) => ({
      sql: `insert into orders values ($1, $2, $3, $4, $5) on conflict (id) do update set day = excluded.day, status = excluded.status, amount = excluded.amount, item = excluded.item`,
      values: [r.id, r.day, r.status, r.amount, r.item],
    });
    while (this.running) {
      const hot = HOT[Math.floor(rnd() * HOT.length)]!;
      if (rnd() < 0.5) {
        const id = nextOrder++;
        await this.replicator.write(`insert into t_order values ($1, date '2024-03-08', 'PAID', 12.5, $2) returning id, to_char(day, 'YYYY-MM-DD') as day, status, amount, item`, [id, hot], upsertOrder);
        await this.replicator.write(`update t_inventory set units = units - 1, updated_at = clock_timestamp() where id = $1 returning id, warehouse, units, updated_at::text as updated_at`, [hot], upsertInventory);
      } else {
        const id = ORDERS - Math.floor(rnd() * 50);
        await this.replicator.write(
          `update t_order set status = case status when 'PAID' then 'SHIPPED' else 'PAID' end where id = $1 returning id, to_char(day, 'YYYY-MM-DD') as day, status, amount, item`,
          [id],
          upsertOrder,
        );
        await this.replicator.write(`update t_inventory set units = units - 1, updated_at = clock_timestamp() where id = $1 returning id, warehouse, units, updated_at::text as updated_at`, [hot], upsertInventory);
      }
      await this.replicator.write(`update t_inventory set units = units - 1, updated_at = clock_timestamp() where id = $1 returning id, warehouse, units, updated_at::text as updated_at`, [HOTTEST], upsertInventory);
      this.writes += 3;
      // about the rehearsal's rate (~200 requests/s, each one or two writes)
      await new Promise((r) => setTimeout(r, 4));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

let replicator: StandInReplicator;
let load: LiveLoad;

async function startLoad(): Promise<void> {
  replicator = new StandInReplicator(servers.sourceServer.url, servers.targetServer.url, DELAY_MS);
  await replicator.open();
  await replicator.start();
  load = new LiveLoad(replicator);
  // let the target fall DELAY_MS behind a running load
  await new Promise((r) => setTimeout(r, 150));
}

afterEach(async () => {
  await load?.stop();
  await replicator?.teardown();
});

describe('validation while replication applies a live load', () => {
  test('reports no false difference on hot rows and new orders, and the in-flight rows are counted', async () => {
    await startLoad();
    const out = new RecordingOutput();
    const report = await new PostgresValidator(env, out, replicator).validate();
    const writes = load.writes;
    await load.stop();
    expect(writes).toBeGreaterThan(50);
    for (const t of report.tables) expect({ t: t.source, m: t.missing, e: t.extra, d: t.different }).toEqual({ t: t.source, m: [], e: [], d: [] });
    // the first check saw the lag (new orders, hot rows) and the re-check resolved it
    expect(report.tables.reduce((n, t) => n + t.inFlight, 0)).toBeGreaterThan(0);
    expect(report.figures.recheckedChunks).toBeGreaterThan(0);
    expect(report.reconciliation.map((r) => r.name)).toEqual(RECONCILIATION.map((r) => r.name));
    expect(report.reconciliation.every((r) => r.equal || r.inFlight)).toBe(true);
    expect(report.equal).toBe(true);
  }, 40_000);

  test('still reports a real difference on a cold row exactly, next to hot rows in flight', async () => {
    await startLoad();
    // written on the target only (not through replication): these persist
    await target.query(`update inventory set units = units + 7 where id = 1234`);
    await target.query(`delete from orders where id = 42`);
    await target.query(`insert into orders values (99999999, '2024-03-01', 'PAID', 1, 1)`);
    const report = await new PostgresValidator(env, new RecordingOutput(), replicator).validate();
    await load.stop();
    const inventory = report.tables.find((t) => t.source === 'public.t_inventory')!;
    const orders = report.tables.find((t) => t.source === 'public.t_order')!;
    expect({ m: inventory.missing, e: inventory.extra, d: inventory.different }).toEqual({ m: [], e: [], d: [{ id: 1234 }] });
    expect({ m: orders.missing, e: orders.extra, d: orders.different }).toEqual({ m: [{ id: 42 }], e: [{ id: 99999999 }], d: [] });
    expect(inventory.samples).toEqual([expect.objectContaining({ key: { id: 1234 }, column: 'units' })]);
    expect(report.equal).toBe(false);
  }, 40_000);

  test('a reconciliation difference while replication runs is in flight; with frozen: true it fails', async () => {
    await startLoad();
    // a business difference the row diff does not look at (only inventory is compared below)
    await target.query(`update orders set amount = amount + 1 where id = 10`);
    const out = new RecordingOutput();
    const live = await new PostgresValidator(env, out, replicator, { recheckRounds: 2 }).validate({ tables: ['public.t_inventory'] });
    const byName = (r: typeof live, name: string) => r.reconciliation.find((x) => x.name === name)!;
    expect(byName(live, 'orders by day and status')).toMatchObject({ equal: false, inFlight: true });
    expect(live.tables[0]!.different).toEqual([]);
    expect(live.equal).toBe(true);
    expect(out.lines.some((l) => l.level === 'warn' && l.message.includes('orders by day and status') && l.message.includes('in flight'))).toBe(true);
    // the write switch: source frozen, replication drained
    await load.stop();
    await replicator.stop();
    const frozen = await new PostgresValidator(env, new RecordingOutput(), replicator).validate({ tables: ['public.t_inventory'], frozen: true });
    expect(byName(frozen, 'orders by day and status')).toMatchObject({ equal: false });
    expect(byName(frozen, 'orders by day and status').inFlight).toBeUndefined();
    expect(byName(frozen, 'inventory units per warehouse').equal).toBe(true);
    expect(frozen.tables[0]!.different).toEqual([]);
    expect(frozen.equal).toBe(false);
  }, 40_000);
});

/**
 * After the write switch the business writes to green and reverse replication carries each change
 * to blue some milliseconds later (found by trial4: `validate` then compared the two sides at no
 * common point, the forward replicator being stopped — a plain EQUAL, or a difference that was only
 * the reverse stream's lag). It compares as the forward path does, with the roles turned: a row
 * that differs is read on green, the reverse stream waited for until blue applied green's position,
 * then blue is read again.
 */
describe('validation after the write switch, while reverse replication carries green\'s writes to blue', () => {
  let reverse: StandInReplicator;
  let running = true;
  let writes = 0;
  let writing: Promise<void> = Promise.resolve();

  async function startGreenLoad(): Promise<void> {
    reverse = new StandInReplicator(servers.targetServer.url, servers.sourceServer.url, DELAY_MS, 'reverse');
    await reverse.open();
    await reverse.start();
    running = true;
    writes = 0;
    const rnd = seededRandom(23);
    writing = (async () => {
      let nextOrder = ORDERS + 1;
      while (running) {
        const hot = HOT[Math.floor(rnd() * HOT.length)]!;
        await reverse.write(`insert into orders values ($1, date '2024-03-08', 'PAID', 12.5, $2) returning id, to_char(day, 'YYYY-MM-DD') as day, status, amount, item`, [nextOrder++, hot], (r) => ({
          sql: 'insert into t_order values ($1, $2, $3, $4, $5) on conflict (id) do update set day = excluded.day, status = excluded.status, amount = excluded.amount, item = excluded.item',
          values: [r.id, r.day, r.status, r.amount, r.item],
        }));
        for (const id of [hot, HOTTEST]) {
          await reverse.write('update inventory set units = units - 1, updated_at = clock_timestamp() where id = $1 returning id, warehouse, units, updated_at::text as updated_at', [id], (r) => ({
            sql: 'update t_inventory set warehouse = $2, units = $3, updated_at = $4 where id = $1',
            values: [r.id, r.warehouse, r.units, r.updated_at],
          }));
        }
        writes += 3;
        await new Promise((r) => setTimeout(r, 4));
      }
    })();
    // let blue fall DELAY_MS behind the running load
    await new Promise((r) => setTimeout(r, 150));
  }

  afterEach(async () => {
    running = false;
    await writing;
    await reverse?.teardown();
  });

  /** The forward replicator after the switch: stopped (drained at the switch). */
  const stoppedForward = () => new StandInReplicator(servers.sourceServer.url, servers.targetServer.url, 0);

  test('reports no difference that is only the reverse stream\'s lag, counting the rows in flight', async () => {
    await startGreenLoad();
    const out = new RecordingOutput();
    const report = await new PostgresValidator(env, out, stoppedForward(), { reverse }).validate();
    running = false;
    await writing;
    expect(writes).toBeGreaterThan(50);
    for (const t of report.tables) expect({ t: t.source, m: t.missing, e: t.extra, d: t.different }).toEqual({ t: t.source, m: [], e: [], d: [] });
    expect(report.tables.reduce((n, t) => n + t.inFlight, 0)).toBeGreaterThan(0);
    expect(report.reconciliation.every((r) => r.equal || r.inFlight)).toBe(true);
    expect(report.equal).toBe(true);
    // and it says which way it compared
    expect(out.lines.some((l) => /writes are on green/.test(l.message) && /reverse replication/.test(l.message))).toBe(true);
  }, 40_000);

  test('still reports a real difference on blue exactly, next to rows in flight', async () => {
    await startGreenLoad();
    // written on blue only (not through the reverse stream): these persist
    await source.query('update t_inventory set units = units + 7 where id = 1234');
    await source.query('delete from t_order where id = 42');
    const report = await new PostgresValidator(env, new RecordingOutput(), stoppedForward(), { reverse }).validate();
    running = false;
    await writing;
    const inventory = report.tables.find((t) => t.source === 'public.t_inventory')!;
    const orders = report.tables.find((t) => t.source === 'public.t_order')!;
    expect({ m: inventory.missing, e: inventory.extra, d: inventory.different }).toEqual({ m: [], e: [], d: [{ id: 1234 }] });
    expect({ m: orders.missing, e: orders.extra, d: orders.different }).toEqual({ m: [], e: [{ id: 42 }], d: [] });
    expect(report.equal).toBe(false);
  }, 40_000);
});
