import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import pg from 'pg';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { AuroraSequenceSync } from '../../lib/aws/aurora-sequence-sync.ts';
import { AuroraWriteFence } from '../../lib/aws/aurora-write-fence.ts';
import { AwsDatabaseEndpoints } from '../../lib/aws/aws-database-endpoints.ts';
import type { SqlConnector, SqlRunner } from '../../lib/aws/sql-runner.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { ARNS, awsEnv, mocks, newClients, resetMocks } from './aws-fixtures.ts';

/** Plain-TCP pg for the embedded server (the production connector insists on TLS). */
const localPg: SqlConnector = async (e) => {
  const c = new pg.Client({ host: e.host, port: e.port, database: e.database, user: e.user, password: e.password });
  await c.connect();
  return { query: async (sql, params) => (await c.query(sql, params as unknown[])).rows, close: () => c.end() };
};

let server: Awaited<ReturnType<typeof startTestPostgres>>;

beforeAll(async () => {
  server = await startTestPostgres('app');
  await server.createDatabase('legacy');
});
afterAll(async () => {
  await server?.dispose();
});

function envOnServer() {
  return awsEnv({
    source: { engine: 'aurora-postgresql', host: '127.0.0.1', port: server.port, database: 'legacy', secretArn: ARNS.sourceSecret },
    target: { endpoint: '127.0.0.1', port: server.port, database: 'app', secretArn: ARNS.targetSecret },
  });
}

beforeEach(() => {
  resetMocks();
  mocks.secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: server.password }) });
});

describe('AuroraWriteFence (PostgreSQL family, real server)', () => {
  test('refuseWrites makes blue read-only and cuts open sessions; allowWrites undoes it', async () => {
    const admin = await connect(server.urlFor('legacy'));
    await admin.query('create table if not exists t (id int primary key)');
    await admin.end();
    const pooled = await connect(server.urlFor('legacy')); // an app session opened before the fence
    pooled.on('error', () => {});
    const fence = new AuroraWriteFence(envOnServer(), newClients(), new RecordingOutput(), { postgresConnector: localPg });

    await fence.refuseWrites('blue');
    expect(await fence.isRefusingWrites('blue')).toBe(true);
    expect(await fence.isRefusingWrites('green')).toBe(false);
    await expect(pooled.query('insert into t values (1)')).rejects.toThrow(); // terminated
    const late = await connect(server.urlFor('legacy'));
    await expect(late.query('insert into t values (2)')).rejects.toThrow(/read-only transaction/);
    await late.end().catch(() => {});

    await fence.allowWrites('blue');
    expect(await fence.isRefusingWrites('blue')).toBe(false);
    const after = await connect(server.urlFor('legacy'));
    await after.query('insert into t values (3)');
    await after.end();
    expect(mocks.secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: ARNS.sourceSecret });
  });

  test('sequence sync moves green sequences above blue + gap and never lowers them', async () => {
    for (const url of [server.urlFor('legacy'), server.urlFor('app')]) {
      const c = await connect(url);
      await c.query('create sequence if not exists order_id_seq');
      await c.end();
    }
    const blue = await connect(server.urlFor('legacy'));
    await blue.query(`select setval('order_id_seq', 500)`);
    await blue.end();
    const env = envOnServer();
    const endpoints = new AwsDatabaseEndpoints(env, newClients(), { postgres: localPg });
    const sync = new AuroraSequenceSync(endpoints, new RecordingOutput());
    expect(await sync.syncSequences(1000)).toEqual([{ name: 'public.order_id_seq', sourceValue: 500, targetValue: 1500 }]);
    expect(await sync.syncSequences(10)).toEqual([{ name: 'public.order_id_seq', sourceValue: 500, targetValue: 1500 }]);
  });
});

describe('AuroraWriteFence (MySQL family, injected runner)', () => {
  function recordingMysql(log: string[], opts: { denyReadOnly?: boolean } = {}): SqlConnector {
    return async () =>
      ({
        async query(sql: string, params?: readonly unknown[]) {
          log.push(params?.length ? `${sql.replace(/\s+/g, ' ').trim()} ${JSON.stringify(params)}` : sql.replace(/\s+/g, ' ').trim());
          if (opts.denyReadOnly && sql.startsWith('SET GLOBAL read_only')) {
            throw new Error('Access denied; you need (at least one of) the SUPER or SYSTEM_VARIABLES_ADMIN privilege(s)');
          }
          if (sql.includes('PROCESSLIST')) {
            return [
              { id: 11, user: 'app', command: 'Query' },
              { id: 12, user: 'app', command: 'Sleep' },
              { id: 13, user: 'dms_user', command: 'Binlog Dump' },
              { id: 14, user: 'replica', command: 'Binlog Dump GTID' },
              { id: 15, user: 'rdsadmin', command: 'Sleep' },
              { id: 16, user: 'event_scheduler', command: 'Daemon' },
            ];
          }
          if (sql.includes('@@GLOBAL.read_only')) return [{ ro: 1 }];
          return [];
        },
        async close() {},
      }) satisfies SqlRunner;
  }
  const mysqlEnv = () => awsEnv({ source: { ...awsEnv().source, engine: 'aurora-mysql', port: 3306 } });

  test('refuseWrites sets read_only and kills the applications\' sessions with rds_kill, not the binlog readers (DMS\'s CDC) nor RDS\'s agents', async () => {
    const log: string[] = [];
    const fence = new AuroraWriteFence(mysqlEnv(), newClients(), new RecordingOutput(), { mysqlConnector: recordingMysql(log) });
    await fence.refuseWrites('blue');
    expect(await fence.isRefusingWrites('blue')).toBe(true);
    expect(log[0]).toBe('SET GLOBAL read_only = ON');
    expect(log[1]).toMatch(/FROM information_schema.PROCESSLIST/);
    expect(log.filter((l) => l.startsWith('CALL mysql.rds_kill'))).toEqual(['CALL mysql.rds_kill(?) [11]', 'CALL mysql.rds_kill(?) [12]']);
  });

  test('fails if the master user may not set read_only, naming the parameter-group fix', async () => {
    const fence = new AuroraWriteFence(mysqlEnv(), newClients(), new RecordingOutput(), { mysqlConnector: recordingMysql([], { denyReadOnly: true }) });
    const err = await fence.refuseWrites('blue').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((err as { details: { fix: string } }).details.fix).toContain('parameter group');
  });

  test('without an injected runner it connects through mysql2: an unreachable blue is CONNECTION_FAILED, naming it', async () => {
    const err = await new AuroraWriteFence(mysqlEnv(), newClients(), new RecordingOutput()).refuseWrites('blue').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONNECTION_FAILED' });
    expect((err as Error).message).toContain('blue');
  });
});
