import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureControlSchema } from '../../lib/replication/control-schema.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { runCli, tempConfig } from '../cli/run-cli.ts';
import { sql } from '../replication/_env.ts';

/**
 * A `_cutover` schema left on the target by a run under another role (a superuser's rehearsal,
 * then the least-privilege role of production) used to stop `assess` itself with
 * PERMISSION_DENIED whose fix was "run assess". assess now reports it as a blocker with the
 * statements that make the URL's role its owner, and those statements are enough.
 */
describe("assess: the kit's _cutover schema on the target belongs to another role", () => {
  let server: Awaited<ReturnType<typeof startTestPostgres>>;
  let cfg: ReturnType<typeof tempConfig>;
  let green = '';
  let writerUrl = '';

  beforeAll(async () => {
    server = await startTestPostgres();
    await sql(server.url, 'create database blue');
    await sql(server.url, 'create database green');
    const blue = server.urlFor('blue');
    green = server.urlFor('green');
    await sql(blue, 'create table orders (id int primary key, qty int not null); insert into orders values (1, 1)');
    await sql(green, `create table orders (id int primary key, qty int not null);
                      create role writer login password 'w-pw';
                      grant select, insert, update, delete, truncate on orders to writer;
                      grant create on database green to writer`);
    // the earlier run, as the superuser: its control schema stays behind
    const admin = new pg.Client({ connectionString: green });
    await admin.connect();
    try {
      await ensureControlSchema(admin);
    } finally {
      await admin.end();
    }
    const asWriter = new URL(green);
    asWriter.username = 'writer';
    asWriter.password = 'w-pw';
    writerUrl = asWriter.href;
    cfg = tempConfig({ least: { platform: 'postgres', source: { url: blue }, target: { url: writerUrl } } }, { mappings: 'identity' });
  }, 60_000);
  afterAll(async () => {
    cfg?.dispose();
    await server?.dispose();
  });

  test('fails if the target role cannot use it: a blocker naming its owner and the statements, never PERMISSION_DENIED from assess itself', async () => {
    const r = await runCli(['--config', cfg.file, '--env', 'least', '--json', 'assess']);
    expect(r.code, r.stderr).toBe(1);
    const findings = JSON.parse(r.stdout).verify.result.findings as { id: string; severity: string; message: string; handling: string }[];
    const [kit] = findings.filter((f) => f.id === 'target-kit-schema-privilege');
    expect(kit, JSON.stringify(findings.map((f) => f.id))).toMatchObject({ severity: 'blocker', message: expect.stringMatching(/_cutover.*owned by postgres.*writer/) });
    expect(kit!.handling).toContain('ALTER SCHEMA "_cutover" OWNER TO "writer";');
    expect(kit!.handling).toContain('ALTER TABLE "_cutover"."load_state" OWNER TO "writer";');

    // the statements it printed, run by the owner, are enough: the role then uses the schema as the kit does
    await sql(green, kit!.handling.slice(kit!.handling.indexOf('ALTER SCHEMA'), kit!.handling.lastIndexOf(';') + 1));
    const writer = new pg.Client({ connectionString: writerUrl });
    await writer.connect();
    try {
      await ensureControlSchema(writer);
      await writer.query(`insert into _cutover.dead_letter (slot, direction, source_table, target_table, change, error) values ('x', 'forward', 'a', 'b', '{}', 'e')`);
      await writer.query(`delete from _cutover.dead_letter where slot = 'x'`);
    } finally {
      await writer.end();
    }
    const again = await runCli(['--config', cfg.file, '--env', 'least', '--json', 'assess']);
    const after = JSON.parse(again.stdout).verify.result.findings as { id: string }[];
    expect(after.filter((f) => f.id === 'target-kit-schema-privilege')).toEqual([]);
  }, 60_000);
});
