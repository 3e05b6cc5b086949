import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql } from '../replication/_env.ts';
import { runCli, tempConfig } from './run-cli.ts';

/** `mappings check FILE --env NAME` reads the rules against that environment's catalog: a typo is an error there. */
describe('mappings check --env', () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  const rule = (id: string, table: string) => ({
    'rule-type': 'selection',
    'rule-id': id,
    'rule-name': `s${id}`,
    'object-locator': { 'schema-name': 'public', 'table-name': table },
    'rule-action': 'include',
  });
  const mappingFile = (name: string, tables: string[]) => {
    const file = path.join(cfg.dir, name);
    writeFileSync(file, JSON.stringify({ rules: tables.map((t, i) => rule(String(i + 1), t)) }));
    return file;
  };

  beforeAll(async () => {
    server = await startTestPostgres();
    await sql(server.url, 'create database blue');
    await sql(server.url, 'create database green');
    await sql(server.urlFor('blue'), 'create table t_order (order_id int primary key); create table t_customer (cust_id int primary key)');
    await sql(server.urlFor('green'), 'create table orders (id int primary key)');
    const env = { platform: 'postgres', source: { url: server.urlFor('blue') }, target: { url: server.urlFor('green') }, mappings: { forward: 'forward.json', reverse: 'reverse.json' } };
    cfg = tempConfig({ real: env });
  });
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('a selection rule naming no source table fails (exit 1) with the rule id and the closest name', async () => {
    const file = mappingFile('forward.json', ['t_customer', 't_orderz']);
    const alone = await runCli(['mappings', 'check', file]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout + alone.stderr).toContain('add --env NAME');
    const r = await runCli(['mappings', 'check', file, '--config', cfg.file, '--env', 'real']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/rule 2 .*public\.t_orderz.*did you mean public\.t_order\?/);
  });

  test("the env's reverse file is read against the target catalog", async () => {
    mappingFile('forward.json', ['t_customer', 't_order']);
    const reverse = mappingFile('reverse.json', ['orders']);
    const r = await runCli(['mappings', 'check', reverse, '--config', cfg.file, '--env', 'real']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('checked against the target catalog of environment "real"');
  });

  test('an unreachable database is a connection error (exit 2) naming the side', async () => {
    const file = mappingFile('forward.json', ['t_order']);
    const r = await runCli(['mappings', 'check', file, '--config', cfg.file, '--env', 'lab']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CONNECTION_FAILED: cannot connect to the source database at 127\.0\.0\.1:1/);
  });
});
