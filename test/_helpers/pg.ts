import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../lib/postgres/embedded-server.ts';

/**
 * Starts a throw-away embedded PostgreSQL for one test file. Call in `beforeAll`; the returned
 * `stop` goes in `afterAll` (it also removes the folder).
 */
export async function startTestPostgres(database = 'app', settings?: Readonly<Record<string, string>>): Promise<EmbeddedServer & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-pg-'));
  const server = await startEmbeddedPostgres({ dir, database, settings });
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
