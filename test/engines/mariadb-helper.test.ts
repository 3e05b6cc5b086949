import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';

describe.skipIf(mariadbMissing)(`throw-away MariaDB for tests ${mariadbSkipReason}`, () => {
  let db: TestMariadb;
  beforeAll(async () => {
    db = await startTestMariadb({ database: 'legacy_shop' });
  });
  afterAll(async () => db?.dispose());

  test('listens on loopback with the binary log in ROW format', async () => {
    const c = await db.connect();
    try {
      const [rows] = (await c.query(`SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@server_id AS id, @@bind_address AS bind`)) as unknown as [Record<string, unknown>[]];
      expect(rows[0]).toMatchObject({ log_bin: 1, fmt: 'ROW', id: 1, bind: '127.0.0.1' });
    } finally {
      await c.end();
    }
    expect(db.url).toMatch(/^mysql:\/\/root:.+@127\.0\.0\.1:\d+\/legacy_shop$/);
  });
});
