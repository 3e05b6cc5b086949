import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PostgresInspector } from '../../lib/assess/postgres-inspector.ts';
import type { ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { RecordingOutput, silentOutput } from '../../lib/output/output.ts';
import { PostgresReplicator } from '../../lib/replication/postgres-replicator.ts';
import { startTestPostgres } from '../_helpers/pg.ts';
import { sql, testEnvironment } from './_env.ts';

/**
 * An UPDATE that does not touch a large value stored out of line (TOAST) reaches logical decoding
 * without that value. Where the mapping needs it — a selection filter on it, an expression mixing
 * it with other columns, a row the target lacks — the change must go to a dead letter with the fix,
 * never be guessed (a filter reading "no value" as NULL would delete the row on the target).
 */
const SCHEMA = `
  create table docs (id bigint primary key, kind text not null, body text);
  create table cards (id bigint primary key, kind text not null, body text);
  create table notes (id bigint primary key, body text, tag text);`;
const TARGET_SCHEMA = `
  create table docs (id bigint primary key, kind text not null, body text);
  create table cards (id bigint primary key, kind text not null, body text, label varchar(100));
  create table notes (id bigint primary key, body text, tag text, body_len int);`;
/** 128 kB of md5 text: incompressible enough to be stored out of line. */
const BIG = `(select string_agg(md5(g::text || random()::text), '') from generate_series(1, 4000) g)`;

const locator = (table: string) => ({ 'schema-name': 'public', 'table-name': table });
const addColumn = (id: string, table: string, value: string, expression: string, type: object) => ({
  'rule-type': 'transformation',
  'rule-id': id,
  'rule-name': `${table}.${value}`,
  'rule-target': 'column',
  'object-locator': locator(table),
  'rule-action': 'add-column',
  value,
  expression,
  'data-type': type,
});
const MAPPING = {
  rules: [
    {
      'rule-type': 'selection',
      'rule-id': '1',
      'rule-name': 'docs with a body',
      'object-locator': locator('docs'),
      'rule-action': 'include',
      filters: [{ 'filter-type': 'source', 'column-name': 'body', 'filter-conditions': [{ 'filter-operator': 'notnull' }] }],
    },
    { 'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'cards', 'object-locator': locator('cards'), 'rule-action': 'include' },
    { 'rule-type': 'selection', 'rule-id': '3', 'rule-name': 'notes', 'object-locator': locator('notes'), 'rule-action': 'include' },
    addColumn('4', 'cards', 'label', "$kind || ':' || length($body)", { type: 'string', length: 100 }),
    addColumn('5', 'notes', 'body_len', 'length($body)', { type: 'int4' }),
  ],
};

describe('UPDATEs that leave large values unsent', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  let replicator: PostgresReplicator;
  let env: ResolvedPostgresEnvironment;

  const caughtUp = async () => {
    expect(await replicator.waitForPosition(await replicator.sourcePosition(), 15_000)).toBe(true);
  };
  const deadLetters = async () =>
    (await sql(target.url, 'select source_key, error from _cutover.dead_letter order by id')).rows as { source_key: Record<string, string>; error: string }[];
  const row = async (query: string, id: number) => (await sql(target.url, query, [id])).rows[0] as Record<string, unknown> | undefined;
  const doc = (id: number) => row('select kind, length(body) as len from docs where id = $1', id);
  const card = (id: number) => row('select kind, length(body) as len, label from cards where id = $1', id);
  const note = (id: number) => row('select length(body) as len, tag, body_len from notes where id = $1', id);

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres(), startTestPostgres()]);
    await sql(source.url, SCHEMA);
    await sql(target.url, TARGET_SCHEMA);
    for (const table of ['docs', 'cards']) await sql(source.url, `insert into ${table} select g, 'draft', ${BIG} from generate_series(1, 2) g`);
    await sql(source.url, `insert into notes select g, ${BIG}, null from generate_series(1, 2) g`);
    env = testEnvironment(source.url, target.url, {}, { forward: MAPPING });
    replicator = new PostgresReplicator(env, 'forward', new RecordingOutput());
    await replicator.start({ foreground: true });
    await caughtUp();
  });
  afterAll(async () => {
    await replicator?.stop().catch(() => {});
    await Promise.all([source?.dispose(), target?.dispose()]);
  });

  test('assess warns about the columns such UPDATEs would leave out, and names the fix', async () => {
    const report = await new PostgresInspector(env, silentOutput).assess();
    const found = report.findings.filter((f) => f.id === 'filter-on-large-value');
    expect(found.map((f) => [f.table, f.sampleKeys]).sort()).toEqual([
      ['public.cards', [{ column: 'body' }, { column: 'kind' }]],
      ['public.docs', [{ column: 'body' }]],
    ]);
    expect(found[0]!.handling).toMatch(/REPLICA IDENTITY FULL/);
  });

  test('the full load applied the mapping, large values included', async () => {
    expect(await doc(1)).toEqual({ kind: 'draft', len: 128_000 });
    expect(await card(1)).toEqual({ kind: 'draft', len: 128_000, label: 'draft:128000' });
    expect(await note(1)).toEqual({ len: 128_000, tag: null, body_len: 128_000 });
  });

  test('a filter or a mixed expression over an unsent value: dead letter with the fix; the target row is kept as it was', async () => {
    await sql(source.url, "update docs set kind = 'final' where id = 1");
    await sql(source.url, "update cards set kind = 'final' where id = 1");
    await caughtUp();
    expect(await doc(1)).toEqual({ kind: 'draft', len: 128_000 });
    expect(await card(1)).toEqual({ kind: 'draft', len: 128_000, label: 'draft:128000' });
    const letters = await deadLetters();
    expect(letters.map((l) => l.source_key)).toEqual([{ id: '1' }, { id: '1' }]);
    expect(letters[0]!.error).toMatch(/selection filter on body cannot be decided/);
    expect(letters[1]!.error).toMatch(/expression column label depends on body/);
    for (const l of letters) expect(l.error).toMatch(/REPLICA IDENTITY FULL/);
    expect((await replicator.status()).deadLetters).toBe(2);
  });

  test('with REPLICA IDENTITY FULL the old row carries the value and the same UPDATEs apply', async () => {
    await sql(source.url, 'alter table docs replica identity full; alter table cards replica identity full');
    await sql(source.url, "update docs set kind = 'final' where id = 2");
    await sql(source.url, "update cards set kind = 'final' where id = 2");
    await caughtUp();
    expect(await doc(2)).toEqual({ kind: 'final', len: 128_000 });
    expect(await card(2)).toEqual({ kind: 'final', len: 128_000, label: 'final:128000' });
    expect(await deadLetters()).toHaveLength(2);
  });

  test('copied values and expressions over unsent values only are kept; a row the target lacks is a dead letter, not a row missing its value', async () => {
    await sql(target.url, 'delete from notes where id = 2');
    await sql(source.url, "update notes set tag = 'x' where id in (1, 2)");
    await caughtUp();
    expect(await note(1)).toEqual({ len: 128_000, tag: 'x', body_len: 128_000 });
    expect(await note(2)).toBeUndefined();
    const letters = await deadLetters();
    expect(letters).toHaveLength(3);
    expect(letters[2]!.source_key).toEqual({ id: '2' });
    expect(letters[2]!.error).toMatch(/target has no row for this UPDATE .*body/);
    expect((await replicator.status()).deadLetters).toBe(3);
  });
});
