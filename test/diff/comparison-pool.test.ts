import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openComparisonPool, queryText, warmPool } from '../../lib/diff/comparison-pool.ts';
import { reconcile } from '../../lib/diff/reconciliation.ts';
import { startTestPostgres } from '../_helpers/pg.ts';

type Server = Awaited<ReturnType<typeof startTestPostgres>>;
let server: Server;

beforeAll(async () => {
  server = await startTestPostgres('pool');
}, 30_000);

afterAll(async () => {
  await server?.dispose();
});

describe('comparison pool', () => {
  test('a session runs the engine without parallel workers, and a reconciliation query with the server setting', async () => {
    const pool = openComparisonPool(server.url, 2);
    try {
      const check = { name: 'workers', source: 'show max_parallel_workers_per_gather', target: 'show max_parallel_workers_per_gather' };
      const [result] = await reconcile([check], pool, pool);
      expect(result!.source).toEqual([['2']]);
      expect(await queryText(pool, 'show max_parallel_workers_per_gather')).toEqual([['0']]);
      expect(await queryText(pool, 'show TimeZone')).toEqual([['UTC']]);
    } finally {
      await pool.end();
    }
  });

  test('warmPool returns with the first session and opens the others in the background', async () => {
    const pool = openComparisonPool(server.url, 4);
    try {
      await warmPool(pool, 4);
      expect(pool.totalCount).toBe(4);
      for (let i = 0; i < 500 && pool.idleCount < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(pool.idleCount).toBe(4);
    } finally {
      await pool.end();
    }
  });

  test('fails if the password is wrong, with the driver error', async () => {
    const pool = openComparisonPool(server.url.replace(encodeURIComponent(server.password), 'wrong'), 2);
    try {
      const err = await warmPool(pool, 2).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('28P01');
    } finally {
      await pool.end();
    }
  });
});
