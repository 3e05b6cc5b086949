import { describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment } from '../../lib/config/load.ts';
import { buildRehearsalConfig } from '../../lib/rehearsal/rehearsal-config.ts';

describe("the rehearsal's gates", () => {
  const input = {
    repoRoot: process.cwd(),
    dir: '/tmp/cutover-rehearsal-config-test',
    cainiaoUrl: 'postgres://kit@127.0.0.1:1/cainiao',
    duoduoUrl: 'postgres://kit@127.0.0.1:2/duoduo',
    routerAdminUrl: 'http://127.0.0.1:3',
    blueAppUrl: 'http://127.0.0.1:4',
    greenAppUrl: 'http://127.0.0.1:5',
    shiftBakeSeconds: 1,
    bakeSeconds: 1,
    smoke: { customerId: 1, productId: 1 },
  };
  const gatesOf = (extra: object) => {
    const raw = buildRehearsalConfig({ ...input, ...extra });
    return (selectEnvironment(parseConfig(raw, '/tmp/cutover-rehearsal-config-test/c.json'), 'rehearsal') as { gates: { maxP99RatioToBlue: number; minRequests: number } }).gates;
  };

  test('allow green 5x blue p99 unless the rehearsal is told otherwise, and pass the minimum requests through', () => {
    expect(gatesOf({})).toMatchObject({ maxP99RatioToBlue: 5, minRequests: 10, latencyFloorMs: 50 });
    expect(gatesOf({ maxP99RatioToBlue: 20, minRequests: 5 })).toMatchObject({ maxP99RatioToBlue: 20, minRequests: 5 });
  });
});
