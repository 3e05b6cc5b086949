import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

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
});
