import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ReusedKitSession } from '../../lib/postgres/reused-kit-session.ts';
import { startTestPostgres } from '../_helpers/pg.ts';

type Server = Awaited<ReturnType<typeof startTestPostgres>>;

/** The session a replicator's polled reads reuse (lib/postgres/reused-kit-session.ts). */
describe('ReusedKitSession', () => {
  let server: Server;
  let admin: pg.Client;
  beforeAll(async () => {
    server = await startTestPostgres('reused');
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  }, 120_000);
  afterAll(async () => {
    await admin?.end().catch(() => {});
    await server?.dispose();
  });

  const backend = async (s: ReusedKitSession) => (await s.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const sessionsNamed = async (name: string) =>
    (await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [name])).rows[0]!.n;

  test('successive queries run on one kit session, which writes through a fenced database and closes on close()', async () => {
    const s = new ReusedKitSession(server.url, 'cutover-test-reuse');
    try {
      const first = await backend(s);
      expect(await backend(s)).toBe(first);
      expect(await sessionsNamed('cutover-test-reuse')).toBe(1);
      await admin.query('alter database reused set default_transaction_read_only = on');
      try {
        // a kit session opts out of the fence at connect time, as openKitClient's do
        const fresh = new ReusedKitSession(server.url, 'cutover-test-reuse-fenced');
        expect((await fresh.query<{ v: string }>("select current_setting('default_transaction_read_only') as v")).rows[0]!.v).toBe('off');
        await fresh.close();
      } finally {
        await admin.query('alter database reused reset default_transaction_read_only');
      }
    } finally {
      await s.close();
    }
    // the server ends a closed session's backend asynchronously: wait (bounded) until it is gone
    for (let i = 0; i < 200 && (await sessionsNamed('cutover-test-reuse')) > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await sessionsNamed('cutover-test-reuse')).toBe(0);
  });

  test('a session the server ended is replaced: the next query answers on a new one, no error', async () => {
    const s = new ReusedKitSession(server.url, 'cutover-test-dropped');
    try {
      const first = await backend(s);
      await admin.query('select pg_terminate_backend($1)', [first]);
      // pg_terminate_backend only signals: wait until the session is really gone
      for (let i = 0; i < 200 && (await sessionsNamed('cutover-test-dropped')) > 0; i++) await new Promise((r) => setTimeout(r, 25));
      const second = await backend(s);
      expect(second).not.toBe(first);
      expect(await backend(s)).toBe(second);
    } finally {
      await s.close();
    }
  });

  test('fails if the query itself is wrong: the error of a new session is not retried', async () => {
    const s = new ReusedKitSession(server.url, 'cutover-test-error');
    try {
      await expect(s.query('select 1/0')).rejects.toThrow(/division by zero/);
      await backend(s); // reused from here on
      // on a reused session a failure is tried once more on a new one, which fails alike
      await expect(s.query('select * from no_such_table')).rejects.toThrow(/no_such_table/);
    } finally {
      await s.close();
    }
  });

  test('fails if the server cannot be reached: CONNECTION_FAILED, the password hidden', async () => {
    const url = new URL(server.url);
    url.port = '1';
    url.password = 'secret-pw';
    const s = new ReusedKitSession(url.toString(), 'cutover-test-unreachable');
    try {
      const err = await s.query('select 1').catch((e: unknown) => e as { code?: string; message: string });
      expect(err).toMatchObject({ code: 'CONNECTION_FAILED' });
      expect((err as Error).message).not.toContain('secret-pw');
    } finally {
      await s.close();
    }
  });
});
