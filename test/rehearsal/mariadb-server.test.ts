import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CutoverError } from '../../lib/errors.ts';
import { connectMysql } from '../../lib/engines/mysql/mysql-connection.ts';
import { findMariadbBinaries, startMariadbServer, type MariadbServer } from '../../lib/rehearsal/mariadb-server.ts';
import { checkLegacy } from '../../lib/rehearsal/rehearse-options.ts';
import { copyMariadbTemplate, mariadbMissing, mariadbSkipReason } from '../_helpers/mariadb.ts';

test('no MariaDB/MySQL binaries: NOT_SUPPORTED (exit 2) naming the install command and --legacy-url', () => {
  let err: unknown;
  try {
    findMariadbBinaries(['/nonexistent-bin']);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CutoverError);
  expect((err as CutoverError).code).toBe('NOT_SUPPORTED');
  expect((err as CutoverError).exitCode).toBe(2);
  expect((err as CutoverError).details.fix).toContain('apt-get install mariadb-server');
  expect((err as CutoverError).details.fix).toContain('--legacy-url');
});

test('--legacy takes postgres or mariadb (mysql is the same family); --legacy-url needs a mysql:// URL and the MariaDB legacy', () => {
  expect(checkLegacy(undefined, undefined)).toBe('postgres');
  expect(checkLegacy('mariadb', undefined)).toBe('mariadb');
  expect(checkLegacy('mysql', undefined)).toBe('mariadb');
  expect(checkLegacy(undefined, 'mysql://u:p@127.0.0.1:3306/cainiao')).toBe('mariadb');
  expect(() => checkLegacy('oracle', undefined)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  expect(() => checkLegacy('postgres', 'mysql://u:p@127.0.0.1:3306/cainiao')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  expect(() => checkLegacy('mariadb', 'postgres://u:p@127.0.0.1/cainiao')).toThrow(expect.objectContaining({ code: 'USAGE' }));
});

describe.skipIf(mariadbMissing)(`the rehearsal's MariaDB server ${mariadbSkipReason}`, () => {
  let dir: string;
  let server: MariadbServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-mariadb-server-'));
    server = await startMariadbServer({ dir: path.join(dir, 'srv') });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs with a ROW binlog (FULL row image), a server id and utf8mb4 on 127.0.0.1, with a generated password; the app account has data privileges only', async () => {
    expect(server.url).toMatch(/^mysql:\/\/root:[\w-]{20,}@127\.0\.0\.1:\d+\/cainiao$/);
    const c = await connectMysql(server.url);
    try {
      const [[v]] = (await c.query(
        'SELECT @@log_bin AS log_bin, @@binlog_format AS format, @@binlog_row_image AS image, @@server_id AS id, @@character_set_server AS cs, @@bind_address AS bind',
      )) as unknown as [Record<string, unknown>[]];
      expect({ ...v, log_bin: Number(v!.log_bin) }).toMatchObject({ log_bin: 1, format: 'ROW', image: 'FULL', cs: 'utf8mb4', bind: '127.0.0.1' });
      expect(Number(v!.id)).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
    const app = await connectMysql(server.appUrl);
    try {
      await app.query('CREATE TABLE t (id INT PRIMARY KEY)').then(
        () => expect.fail('the app account may not create tables'),
        (err: { code?: string }) => expect(err.code).toBe('ER_TABLEACCESS_DENIED_ERROR'),
      );
      await expect(app.query('SET GLOBAL read_only = ON')).rejects.toMatchObject({ code: expect.stringMatching(/ACCESS_DENIED/) });
    } finally {
      await app.end();
    }
  });

  test('restart: down, then up on the same data and port', async () => {
    const c = await connectMysql(server.url);
    await c.query('CREATE TABLE kept (id INT PRIMARY KEY)');
    await c.end();
    await server.restart(200);
    const d = await connectMysql(server.url);
    try {
      const [rows] = (await d.query("SHOW TABLES LIKE 'kept'")) as unknown as [unknown[]];
      expect(rows).toHaveLength(1);
    } finally {
      await d.end();
    }
  }, 120_000);

  test('stop ends the server and removes its folder', async () => {
    // filled from the tests' bootstrapped folder: the server above already ran mariadb-install-db,
    // the launcher's default (up to 17 s on a busy disk), and stop does not depend on which filled it
    const other = await startMariadbServer({ dir: path.join(dir, 'other'), initDataDir: copyMariadbTemplate });
    expect(existsSync(path.join(dir, 'other', 'data'))).toBe(true);
    await other.stop();
    expect(existsSync(path.join(dir, 'other'))).toBe(false);
    await expect(connectMysql(other.url)).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  }, 120_000);
});
