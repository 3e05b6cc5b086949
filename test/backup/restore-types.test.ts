import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresSnapshotter } from '../../lib/backup/postgres-snapshotter.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, tableDigest, testEnvironment } from '../replication/_env.ts';

/**
 * A backup is restorable into an EMPTY database (runbooks/cutover.md step 3) also when its tables
 * use the source's own types. trial6: a table with an enum column (`legacy.acct_status`) was
 * snapshotted and verified, and `restore` into an empty database failed with INTERNAL (exit 3):
 * type "legacy.acct_status" does not exist — the backup's DDL named the type without creating it.
 */
const SCHEMA = `
  create schema legacy;
  create type legacy.acct_status as enum ('ACTIVE', 'SUSPENDED', 'it''s closed');
  create domain legacy.email as text collate "C" check (value like '%@%') not null;
  create domain legacy.positive_money as numeric(12,2) default 0 check (value >= 0);
  create domain legacy.status_domain as legacy.acct_status;
  create table legacy.accounts (
    id int primary key,
    status legacy.acct_status not null default 'ACTIVE',
    history legacy.acct_status[],
    email legacy.email,
    balance legacy.positive_money,
    tier legacy.status_domain
  );
  create table legacy.audit (id int primary key, last legacy.acct_status);
  insert into legacy.accounts values
    (1, 'ACTIVE', '{ACTIVE,SUSPENDED}', 'a@x', 1.5, 'SUSPENDED'),
    (2, 'it''s closed', '{}', 'b@x', 0, null),
    (3, 'SUSPENDED', null, 'c@x', null, 'it''s closed');
  insert into legacy.audit values (1, 'SUSPENDED'), (2, null);`;

const SELECT_LEGACY = {
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'legacy', 'object-locator': { 'schema-name': 'legacy', 'table-name': '%' }, 'rule-action': 'include' }],
};

describe('restore: the source\'s own types', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;

  beforeAll(async () => {
    source = await startTestPostgres();
    await sql(source.url, SCHEMA);
  });
  afterAll(async () => {
    await source?.dispose();
  });

  test('restores enums, enum arrays and domains (over a base type or an enum) into an empty database, with their labels and checks', async () => {
    const env = testEnvironment(source.url, source.url, {}, { forward: SELECT_LEGACY, reverse: SELECT_LEGACY });
    const snapshotter = new PostgresSnapshotter(env, new RecordingOutput());
    const manifest = await snapshotter.snapshot();
    await source.createDatabase('restored_types');
    const restoredUrl = source.urlFor('restored_types');
    expect(await snapshotter.restore({ id: manifest.id, targetUrl: restoredUrl })).toEqual({ ok: true, problems: [] });
    for (const t of ['legacy.accounts', 'legacy.audit']) expect(await tableDigest(restoredUrl, t)).toEqual(await tableDigest(source.url, t));
    const labels = await sql(restoredUrl, "select array_agg(enumlabel::text order by enumsortorder) as l from pg_enum where enumtypid = 'legacy.acct_status'::regtype");
    expect(labels.rows[0].l).toEqual(['ACTIVE', 'SUSPENDED', "it's closed"]);
    await expect(sql(restoredUrl, "insert into legacy.accounts (id, email) values (9, 'no-at')")).rejects.toThrow(/check constraint/);
    await expect(sql(restoredUrl, "insert into legacy.accounts (id, email, balance) values (9, 'd@x', -1)")).rejects.toThrow(/check constraint/);
    const defaults = await sql(restoredUrl, "insert into legacy.accounts (id, email) values (10, 'e@x') returning status::text, balance::text");
    expect(defaults.rows[0]).toEqual({ status: 'ACTIVE', balance: '0.00' });
  });

  test('fails if a table uses a type the backup does not carry (a composite): PRECONDITION_FAILED naming table and type, the database left empty', async () => {
    await sql(source.url, `create schema other; create type other.point2 as (x int, y int);
      create table other.shapes (id int primary key, at other.point2); insert into other.shapes values (1, row(1, 2));`);
    const select = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'other', 'object-locator': { 'schema-name': 'other', 'table-name': '%' }, 'rule-action': 'include' }] };
    const env = testEnvironment(source.url, source.url, {}, { forward: select, reverse: select }, 'shapes');
    const snapshotter = new PostgresSnapshotter(env, new RecordingOutput());
    const manifest = await snapshotter.snapshot();
    await source.createDatabase('restored_shapes');
    const restoredUrl = source.urlFor('restored_shapes');
    const err = await snapshotter.restore({ id: manifest.id, targetUrl: restoredUrl }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((err as Error).message).toMatch(/could not create other\.shapes in .*: type "other\.point2" does not exist; nothing was restored$/);
    expect((await sql(restoredUrl, "select count(*)::int as n from pg_namespace where nspname = 'other'")).rows[0].n).toBe(0);
  });
});
