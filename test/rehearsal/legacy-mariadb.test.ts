import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mariadbMissing, mariadbSkipReason } from '../_helpers/mariadb.ts';
import { brief, SHADOW, phase, runSmallRehearsal } from './run-rehearsal.ts';

/**
 * `npm start -- --legacy mariadb` at a small size: cainiao on this machine's MariaDB (started by
 * the rehearsal itself), the binlog replicator forward, PostgreSQL → MariaDB in reverse. Skipped
 * with the reason where no MariaDB binary exists (CI installs it: .ci/run).
 */
describe.skipIf(mariadbMissing)(`rehearsal with a MariaDB legacy (--legacy mariadb) ${mariadbSkipReason}`, () => {
  let r: Awaited<ReturnType<typeof runSmallRehearsal>>;
  beforeAll(async () => {
    r = await runSmallRehearsal(null, 'folder', { legacy: 'mariadb', orders: 200, rate: 40, shiftSteps: [50, 100], ...SHADOW });
  }, 300_000);
  afterAll(() => r?.cleanup());

  test('every phase runs and passes under live load, from MariaDB to PostgreSQL', () => {
    expect(r.report.phases.slice(0, 9).map((p) => [p.name, p.outcome, p.outcome === 'ok' ? '' : p.summary])).toEqual(
      ['assess', 'snapshot', 'replicate', 'validate', 'shadow', 'shift', 'switch', 'bake', 'finalize'].map((name) => [name, 'ok', '']),
    );
    expect(phase(r.report, 'snapshot').summary).toMatch(/at binlog\.\d+:\d+/);
    expect(r.report.options.legacy).toBe('mariadb');
    expect(r.code, brief(r)).toBe(0);
  });

  test('no client request failed, every acknowledged write is on green with its content, validation equal', () => {
    expect(r.report.requests.total).toBeGreaterThan(50);
    expect(r.report.requests.failed, brief(r)).toBe(0);
    expect(r.report.ledger).toMatchObject({ checkedOn: 'green', missing: 0, mismatched: 0 });
    expect(r.report.ledger.acknowledged).toBeGreaterThan(5);
    expect(r.report.validation.equal).toBe(true);
    expect(r.report.validation.tables.map((t) => t.source).sort()).toEqual(['cainiao.t_customer', 'cainiao.t_inventory', 'cainiao.t_order', 'cainiao.t_order_item', 'cainiao.t_product']);
    expect(r.report.switch.writePauseMs.p50).not.toBeNull();
  });

  test('inside the write hold the frozen validation compares only the rows changed since the validate phase (the binlog worker records their keys)', () => {
    expect(r.out.text()).toMatch(/frozen validation: \d+ row\(s\) changed in \d+ table\(s\) since the full validation that started at binlog\.\d+:\d+/);
    expect(r.out.text()).not.toMatch(/the frozen validation compares every row/);
  });
});
