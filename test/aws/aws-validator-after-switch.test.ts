import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { DescribeReplicationTasksCommand, DescribeTableStatisticsCommand } from '@aws-sdk/client-database-migration-service';
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createAwsPlatform } from '../../lib/aws/create-aws-platform.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { ARNS, awsEnv, mocks, newClients, resetMocks, ssmParameters } from './aws-fixtures.ts';

/**
 * The AWS validator after the write switch (f1264a3 tested the PostgreSQL path alone): the forward
 * DMS task is stopped, the reverse task streams green's writes to blue. A row that differs only
 * because the reverse task has not applied green's write yet is read again once the reverse task
 * proved (CloudWatch CDCLatencyTarget) that blue applied green's position, and is no difference;
 * a row blue alone changed still is. The control plane is mocked (SSM, Secrets Manager, DMS,
 * CloudWatch); blue and green are two databases of one real PostgreSQL server with TLS on (the
 * AWS URLs ask for it). The reverse task "applies" green's write while the validator waits for it.
 */
let server: Awaited<ReturnType<typeof startTestPostgres>>;
let certDir: string;
let blue: pg.Client;
let green: pg.Client;

/** A self-signed certificate the server can read (as root the server runs as the postgres user). */
function selfSignedCertificate(): { cert: string; key: string } {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'cutover-aws-tls-'));
  chmodSync(certDir, 0o755);
  const cert = path.join(certDir, 'server.crt');
  const key = path.join(certDir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-nodes', '-newkey', 'rsa:2048', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  chmodSync(key, 0o600);
  chmodSync(cert, 0o644);
  if (os.userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(key, uid, gid);
    chownSync(cert, uid, gid);
  }
  return { cert, key };
}

beforeAll(async () => {
  const tls = selfSignedCertificate();
  server = await startTestPostgres('app', { ssl: 'on', ssl_cert_file: tls.cert, ssl_key_file: tls.key });
  await server.createDatabase('legacy');
  [blue, green] = await Promise.all([connect(server.urlFor('legacy')), connect(server.url)]);
  for (const c of [blue, green]) {
    await c.query("create table items (id int primary key, name text not null); insert into items select g, 'item ' || g from generate_series(1, 200) g");
  }
}, 120_000);
afterAll(async () => {
  await Promise.all([blue?.end().catch(() => {}), green?.end().catch(() => {})]);
  await server?.dispose();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

beforeEach(() => {
  resetMocks(ssmParameters({ 'target-endpoint': `127.0.0.1:${server.port}` }));
  mocks.secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'postgres', password: server.password }) });
  const started = new Date(Date.now() - 3600_000);
  mocks.dms.on(DescribeReplicationTasksCommand).callsFake((input: { Filters?: { Values?: string[] }[] }) => {
    const arn = input.Filters?.[0]?.Values?.[0];
    // forward stopped at the switch; reverse running CDC since
    const task = arn === ARNS.forwardTask
      ? { ReplicationTaskArn: arn, Status: 'stopped', MigrationType: 'full-load-and-cdc', ReplicationTaskStartDate: started, StopReason: 'Stop Reason NORMAL' }
      : { ReplicationTaskArn: arn, Status: 'running', MigrationType: 'cdc', ReplicationTaskStartDate: started };
    return { ReplicationTasks: [task] };
  });
  mocks.dms.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [] });
});

function env(dir: string) {
  const forward = path.join(dir, 'forward.json');
  writeFileSync(forward, JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': 'public', 'table-name': '%' }, 'rule-action': 'include' }] }));
  return awsEnv({
    source: { engine: 'aurora-postgresql', host: '127.0.0.1', port: server.port, database: 'legacy', secretArn: ARNS.sourceSecret },
    target: { endpoint: '127.0.0.1', port: server.port, database: 'app', secretArn: ARNS.targetSecret },
    mappingFiles: { forward, reverse: forward },
    stateDir: path.join(dir, 'state'),
  } as never);
}

describe('AWS validator after the write switch (forward task stopped, reverse task streaming)', () => {
  test('a row only the reverse task\'s lag makes differ is read again once it proved blue applied green\'s position: no difference; a row blue alone changed is one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-aws-validate-'));
    // the AWS URLs verify the server's certificate against a CA when NODE_EXTRA_CA_CERTS is set
    // (the host may set it): this one is self-signed, so the test asks for TLS without verification
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    delete process.env.NODE_EXTRA_CA_CERTS;
    try {
      // a write on green (writes are there since the switch) the reverse task has not applied yet
      await green.query("update items set name = 'written on green' where id = 7");
      // written on blue alone: a real difference
      await blue.query("update items set name = 'changed on blue' where id = 9");
      const out = new RecordingOutput();
      const platform = await createAwsPlatform(env(dir), out, { clients: newClients() });
      // the reverse task applies green's write to blue while the validator waits for it (not before)
      let waiting = 0;
      let applied = false;
      const wait = platform.reverse.waitForPosition.bind(platform.reverse);
      vi.spyOn(platform.reverse, 'waitForPosition').mockImplementation(async (...args) => {
        waiting++;
        try {
          return await wait(...args);
        } finally {
          waiting--;
        }
      });
      mocks.cloudwatch.on(GetMetricDataCommand).callsFake(async () => {
        if (waiting > 0 && !applied) {
          applied = true;
          await blue.query("update items set name = 'written on green' where id = 7");
        }
        const at = [new Date(Date.now() + 60_000)];
        return { MetricDataResults: [{ Id: 'lag', Timestamps: at, Values: [0] }, { Id: 'sourceLag', Timestamps: at, Values: [0] }, { Id: 'applied', Timestamps: at, Values: [1] }] };
      });
      try {
        const report = await platform.validator.validate();
        expect(applied).toBe(true);
        const t = report.tables.find((x) => x.source === 'public.items')!;
        expect({ missing: t.missing, extra: t.extra, different: t.different }).toEqual({ missing: [], extra: [], different: [{ id: 9 }] });
        expect(report.equal).toBe(false);
        expect(out.lines.some((l) => /writes are on green/.test(l.message) && /reverse replication/.test(l.message))).toBe(true);
      } finally {
        await platform.close();
      }
    } finally {
      if (extraCa !== undefined) process.env.NODE_EXTRA_CA_CERTS = extraCa;
      rmSync(dir, { recursive: true, force: true });
      await blue.query("update items set name = 'item ' || id where id in (7, 9)");
      await green.query("update items set name = 'item ' || id where id in (7, 9)");
    }
  }, 60_000);
});
