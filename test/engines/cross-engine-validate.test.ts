import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CrossEngineValidator } from '../../lib/diff/cross-engine-validator.ts';
import { openDiffSide } from '../../lib/diff/diff-side.ts';
import { canonicalKeyText, durationOfCanonical, floatOfCanonical, type ValueDialect, type ValueForm } from '../../lib/diff/value-dialect.ts';
import { mariadbValueDialect, mysqlValueDialect } from '../../lib/engines/mysql/value-dialect.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { CutoverError } from '../../lib/errors.ts';
import { mariadbMissing, mariadbSkipReason, startTestMariadb, type TestMariadb } from '../_helpers/mariadb.ts';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { runCli } from '../cli/run-cli.ts';
import { crossEngineEnvironment, generate, loadMariadb, loadPostgres } from './legacy-mariadb-fixture.ts';

/** The next double above x (one ulp). */
function nextUp(x: number): number {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x);
  b.setBigUint64(0, b.getBigUint64(0) + 1n);
  return b.getFloat64(0);
}

function nextUpFloat32(x: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, x);
  b.setUint32(0, b.getUint32(0) + 1);
  return b.getFloat32(0);
}

const sortKeys = (keys: Record<string, unknown>[]) => keys.map((k) => JSON.stringify(k)).sort();

describe.skipIf(mariadbMissing)(`validate: a MariaDB source against a PostgreSQL target through a DMS mapping ${mariadbSkipReason}`, () => {
  let maria: TestMariadb;
  let pgServer: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: pg.Client;
  const data = generate(300, 120);
  let dir: string;

  beforeAll(async () => {
    [maria, pgServer] = await Promise.all([startTestMariadb(), startTestPostgres('duoduo_db')]);
    target = await connect(pgServer.url);
    await Promise.all([loadMariadb(maria, data), loadPostgres(target, data)]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-xengine-'));
  });
  /** An environment in its own folder whose forward mapping selects legacy_shop.`table` alone, into duoduo. */
  const oneTableEnvironment = (folder: string, table: string) => {
    const envDir = path.join(dir, folder);
    const env = crossEngineEnvironment(envDir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 50, concurrency: 2 });
    writeFileSync(
      path.join(envDir, 'forward.json'),
      JSON.stringify({
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': table, 'object-locator': { 'schema-name': 'legacy_shop', 'table-name': table }, 'rule-action': 'include' },
          { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'schema', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'legacy_shop' }, 'rule-action': 'rename', value: 'duoduo' },
        ],
      }),
    );
    return env;
  };
  afterAll(async () => {
    await target?.end().catch(() => {});
    await Promise.all([maria?.dispose(), pgServer?.dispose()]);
  });

  test('both engines print the same canonical text for edge values: doubles bit for bit (MariaDB\'s read bits and the portable computed ones), timestamp fractions', async () => {
    const doubles = [1, -1, 0.1, 1 / 3, -2 / 3, 2, 4, 0.5, 1024, nextUp(1) , 2 - 2 ** -52, 4 - 2 ** -51, 1e300, -1e-300, 1.7976931348623157e308, 2.2250738585072014e-308,
      2.225073858507201e-308, 5e-324, -5e-324, 123456789.123, 2 ** 53, 2 ** 53 + 2, 0, 0.1 + 0.2, nextUp(0.1 + 0.2), 1e308, -1e308, 1e15, 1e16, 1e-5, 1e-4, 2 ** 63, 2 ** 64];
    const stamps = ['2024-01-01 00:00:00', '2024-01-01 00:00:00.100000', '2024-02-29 23:59:59.000001', '1999-12-31 12:34:56.120300', '1000-01-01 00:00:00.5'];
    const m = openDiffSide(maria.urlFor('legacy_shop'), 1, 'source');
    const p = openDiffSide(pgServer.url, 1, 'target');
    try {
      await m.warm(1);
      // the MariaDB side reads a double's bits (COLUMN_CREATE); MySQL's portable form must print the same
      expect(m.dialect).toBe(mariadbValueDialect);
      const hash = { mode: 'hash', floatDigits: null } as const;
      const float: ValueForm = { kind: 'float' };
      const ts: ValueForm = { kind: 'timestamp' };
      const mx = (v: string, native: string, form: ValueForm, d: ValueDialect = m.dialect) => m.rows(`SELECT ${d.canonical(v, native, form, hash)}`).then((r) => r[0]![0]);
      const px = (v: string, native: string, form: ValueForm) => p.rows(`SELECT ${p.dialect.canonical(v, native, form, hash)}`).then((r) => r[0]![0]);
      const texts = new Map<string, number>();
      for (const d of doubles) {
        const text = d.toPrecision(17);
        const [a, computed, b] = await Promise.all([mx(`CAST('${text}' AS DOUBLE)`, 'double', float), mx(`CAST('${text}' AS DOUBLE)`, 'double', float, mysqlValueDialect), px(`'${text}'::float8`, 'double precision', float)]);
        expect([d, a, computed]).toEqual([d, b, b]);
        expect(floatOfCanonical(a!)).toBe(d === 0 ? 0 : d);
        // two different doubles never share a text (d and nextUp(d) are both in the list)
        expect([d, texts.get(a!)]).toEqual([d, undefined]);
        texts.set(a!, d);
      }
      // the sum each server computes, not a literal; -0 prints as 0 (MySQL has no -0); NULL stays NULL
      for (const [mariaSql, pgSql, expected] of [['0.1e0 + 0.2e0', '0.1::float8 + 0.2::float8', '3fd3333333333334'], ['-0e0', "'-0'::float8", '0'], ['-(0e0)', '-(0::float8)', '0'], ['NULL + 0e0', 'NULL::float8', null]] as const) {
        const [a, computed, b] = await Promise.all([mx(mariaSql, 'double', float), mx(mariaSql, 'double', float, mysqlValueDialect), px(pgSql, 'double precision', float)]);
        expect([mariaSql, a, computed, b]).toEqual([mariaSql, expected, expected, expected]);
      }
      // 400 doubles from random bit patterns (every exponent range, both signs; no NaN/Infinity), in one statement per side
      const view = new DataView(new ArrayBuffer(8));
      const random: number[] = [];
      while (random.length < 400) {
        view.setUint32(0, (Math.random() * 2 ** 32) >>> 0);
        view.setUint32(4, (Math.random() * 2 ** 32) >>> 0);
        const d = view.getFloat64(0);
        if (Number.isFinite(d) && d !== 0) random.push(d);
      }
      const list = (cast: (t: string) => string) => random.map((d) => `SELECT ${random.indexOf(d)} AS i, ${cast(String(d))} AS v`).join(' UNION ALL ');
      const [ma, mc, pa] = await Promise.all([
        m.rows(`SELECT i, ${m.dialect.canonical('v', 'double', float, hash)} FROM (${list((t) => `CAST('${t}' AS DOUBLE)`)}) x ORDER BY i`),
        m.rows(`SELECT i, ${mysqlValueDialect.canonical('v', 'double', float, hash)} FROM (${list((t) => `CAST('${t}' AS DOUBLE)`)}) x ORDER BY i`),
        p.rows(`SELECT i, ${p.dialect.canonical('v', 'double precision', float, hash)} FROM (${list((t) => `'${t}'::float8`)}) x ORDER BY i`),
      ]);
      expect(ma.map((r) => r[1])).toEqual(pa.map((r) => r[1]));
      expect(mc.map((r) => r[1])).toEqual(pa.map((r) => r[1]));
      expect(ma.map((r) => floatOfCanonical(r[1]!))).toEqual(random);
      for (const t of stamps) {
        const [a, b] = await Promise.all([mx(`CAST('${t}' AS DATETIME(6))`, 'datetime(6)', ts), px(`'${t}'::timestamp(6)`, 'timestamp(6) without time zone', ts)]);
        expect([t, a]).toEqual([t, b]);
      }
      // a DATETIME without a fraction, a timestamptz target
      expect(await mx(`CAST('2024-05-06 07:08:09' AS DATETIME)`, 'datetime', ts)).toBe(await px(`'2024-05-06 07:08:09+00'::timestamptz`, 'timestamp with time zone', ts));
    } finally {
      await Promise.all([m.close(), p.close()]);
    }
  });

  test('independently loaded sides are equal: renames, a filter, an add-column, zero dates, tinyint(1), JSON, BLOB', async () => {
    const env = crossEngineEnvironment(dir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 50, concurrency: 2 });
    const report = await new CrossEngineValidator(env, new RecordingOutput()).validate();
    expect(report.tables.map((t) => [t.source, t.target, t.sourceRows, t.targetRows])).toEqual([
      ['legacy_shop.KUNDE', 'duoduo.customers', 300, 300],
      ['legacy_shop.KUNDE_ALT', 'duoduo.customers_archive', 300, 300],
      ['legacy_shop.order_line', 'duoduo.order_lines', data.lines.filter((l) => l.qty >= 1).length, data.lines.filter((l) => l.qty >= 1).length],
    ]);
    expect(report.tables.flatMap((t) => [...t.missing, ...t.extra, ...t.different])).toEqual([]);
    expect(report.equal).toBe(true);
    // a check that compared nothing must fail: every table was cut into several units
    expect(report.tables[0]!.chunks.total).toBeGreaterThanOrEqual(5);
    // tables without JSON or expression columns are compared by in-database hashes alone
    expect(report.tables[1]!.chunks).toMatchObject({ mismatched: 0 });
    expect(report.tables[1]!.chunks.total).toBeGreaterThanOrEqual(5);
    expect(report.tables[2]!.chunks).toEqual({ total: 1, mismatched: 0 });
  });

  test('a filter that selects none of a table\'s rows compared nothing: refused naming the table, never equal', async () => {
    const envDir = path.join(dir, 'filtered-to-nothing');
    const env = crossEngineEnvironment(envDir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 50, concurrency: 2 });
    const rule = (type: string, id: string, locator: Record<string, string>, more: Record<string, unknown>) => ({ 'rule-type': type, 'rule-id': id, 'rule-name': id, 'object-locator': locator, ...more });
    writeFileSync(
      path.join(envDir, 'forward.json'),
      JSON.stringify({
        rules: [
          rule('selection', '1', { 'schema-name': 'legacy_shop', 'table-name': 'order_line' }, {
            'rule-action': 'include',
            filters: [{ 'filter-type': 'source', 'column-name': 'qty', 'filter-conditions': [{ 'filter-operator': 'gte', value: '1000000' }] }],
          }),
          rule('transformation', '2', { 'schema-name': 'legacy_shop' }, { 'rule-target': 'schema', 'rule-action': 'rename', value: 'duoduo' }),
          rule('transformation', '3', { 'schema-name': 'legacy_shop', 'table-name': 'order_line' }, { 'rule-target': 'table', 'rule-action': 'rename', value: 'order_lines_none' }),
        ],
      }),
    );
    await target.query('create table duoduo.order_lines_none (like duoduo.order_lines including all)');
    try {
      const err = await new CrossEngineValidator(env, new RecordingOutput()).validate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CutoverError);
      expect((err as CutoverError).code).toBe('MAPPING_INVALID');
      expect((err as CutoverError).message).toContain('legacy_shop.order_line');
    } finally {
      await target.query('drop table duoduo.order_lines_none');
    }
  });

  test('BIT(n) columns equal the bytea DMS makes of them: every byte, leading zeros included (HEX() prints the number: b\'00000001\' read 1, not 01)', async () => {
    // found by hand: every BIT(8) value below 0x10 was "different" (source \\x1, target \\x01), so validate never passed
    const env = oneTableEnvironment('bit-columns', 'bit_probe');
    const values = [
      [1, "b'1'", "b'1'", "b'1'", "b'1'", '\\x01', '\\x0001', '\\x0001', '\\x0000000000000001'],
      [2, "b'10100000'", "b'111111111111'", "b'0000000011111111'", "b'1'", '\\xa0', '\\x0fff', '\\x00ff', '\\x0000000000000001'],
      [3, '0', '0', '0', '0', '\\x00', '\\x0000', '\\x0000', '\\x0000000000000000'],
      [4, "b'1111'", "b'100000000000'", "b'1000000000000000'", "b'1'", '\\x0f', '\\x0800', '\\x8000', '\\x0000000000000001'],
      [5, 'NULL', 'NULL', 'NULL', 'NULL', null, null, null, null],
    ] as const;
    await maria.exec(
      `CREATE TABLE bit_probe (id INT PRIMARY KEY, b8 BIT(8), b12 BIT(12), b16 BIT(16), b64 BIT(64));
       INSERT INTO bit_probe VALUES ${values.map((v) => `(${v.slice(0, 5).join(', ')})`).join(', ')}`,
      'legacy_shop',
    );
    // the bytea DMS makes of BIT(n > 1), with the bytes the kit's load writes (mysql2's Buffer of ceil(n/8) bytes)
    await target.query('create table duoduo.bit_probe (id int primary key, b8 bytea, b12 bytea, b16 bytea, b64 bytea)');
    try {
      for (const v of values) await target.query('insert into duoduo.bit_probe values ($1, $2::bytea, $3::bytea, $4::bytea, $5::bytea)', [v[0], v[5], v[6], v[7], v[8]]);
      const report = await new CrossEngineValidator(env, new RecordingOutput()).validate();
      expect(report.tables.map((t) => [t.source, t.sourceRows, t.targetRows, t.missing, t.extra, t.different])).toEqual([['legacy_shop.bit_probe', 5, 5, [], [], []]]);
      expect(report.equal).toBe(true);
      // and a real difference in one byte is still seen
      await target.query("update duoduo.bit_probe set b16 = '\\x0100'::bytea where id = 1");
      const differs = await new CrossEngineValidator(env, new RecordingOutput()).validate();
      expect(differs.tables[0]!.different).toEqual([{ id: 1 }]);
    } finally {
      await target.query('drop table duoduo.bit_probe');
      await maria.exec('DROP TABLE bit_probe', 'legacy_shop');
    }
  });

  test('TIME columns equal the interval columns they were loaded into: negative, beyond 24 h (±838:59:59), fractions of TIME(6); a 1 µs difference is seen', async () => {
    // found by trial4: every TIME value in an interval target column was "different", so validate never passed
    const env = oneTableEnvironment('time-interval', 'time_probe');
    const values = [
      [1, '09:30:00', '12:00:00.5'],
      [2, '-01:30:00', '-00:00:00.000001'],
      [3, '838:59:59', '838:59:59.000000'],
      [4, '-838:59:59', '-838:59:59.000000'],
      [5, '25:00:00', '-12:34:56.789012'],
      [6, '00:00:00', '00:00:00'],
      [7, '-00:00:01', '100:00:00.999999'],
      [8, null, null],
    ] as const;
    const lit = (v: string | null) => (v === null ? 'NULL' : `'${v}'`);
    await maria.exec(
      `CREATE TABLE time_probe (id INT PRIMARY KEY, t TIME, t6 TIME(6), in_day TIME(3));
       INSERT INTO time_probe VALUES ${values.map((v) => `(${v[0]}, ${lit(v[1])}, ${lit(v[2])}, '23:59:59.125')`).join(', ')}`,
      'legacy_shop',
    );
    await target.query('create table duoduo.time_probe (id int primary key, t interval, t6 interval, in_day interval)');
    try {
      // what the load writes: the text MySQL prints for the TIME (mysql2, binlog), read by PostgreSQL's interval input
      const c = await maria.connect('legacy_shop');
      const [printed] = (await c.query('SELECT id, CAST(t AS CHAR) AS t, CAST(t6 AS CHAR) AS t6, CAST(in_day AS CHAR) AS in_day FROM time_probe ORDER BY id').finally(() => c.end())) as unknown as [{ id: number; t: string | null; t6: string | null; in_day: string }[]];
      for (const r of printed) await target.query('insert into duoduo.time_probe values ($1, $2::interval, $3::interval, $4::interval)', [r.id, r.t, r.t6, r.in_day]);
      const report = await new CrossEngineValidator(env, new RecordingOutput()).validate();
      expect(report.tables.map((t) => [t.source, t.sourceRows, t.targetRows, t.missing, t.extra, t.different])).toEqual([['legacy_shop.time_probe', 8, 8, [], [], []]]);
      expect(report.equal).toBe(true);
      // a TIME key as the worker records it, and a sample as a person reads it
      expect(canonicalKeyText('-838:59:59', { kind: 'interval' })).toBe('-3020399000000');
      expect(canonicalKeyText('00:00:00.5', { kind: 'interval' })).toBe('500000');
      expect(durationOfCanonical('-3020399000000')).toBe('-838:59:59.000000');
      // the same duration spelt with days (what justify_hours makes of it) is the same value
      await target.query("update duoduo.time_probe set t = justify_hours(t) where id = 3");
      expect((await new CrossEngineValidator(env, new RecordingOutput()).validate()).equal).toBe(true);
      // one microsecond off, and a sign lost, are differences
      await target.query("update duoduo.time_probe set t6 = t6 + interval '1 microsecond' where id = 5");
      await target.query("update duoduo.time_probe set t = interval '00:00:01' where id = 7");
      const differs = await new CrossEngineValidator(env, new RecordingOutput()).validate();
      expect(sortKeys(differs.tables[0]!.different)).toEqual(sortKeys([{ id: 5 }, { id: 7 }]));
    } finally {
      await target.query('drop table duoduo.time_probe');
      await maria.exec('DROP TABLE time_probe', 'legacy_shop');
    }
  });

  test('after mutations on either side it names exactly the injected keys, by source key names', async () => {
    const c = await maria.connect('legacy_shop');
    try {
      await c.query(`UPDATE KUNDE SET Name = '陈弱 Jr' WHERE kunde_id = 15`); // a changed Chinese character
      await c.query(`UPDATE KUNDE_ALT SET Name = '陈弱 Jr' WHERE kunde_id = 15`);
      await c.query(`UPDATE order_line SET qty = 4 WHERE order_no = 'A-0005-x' AND line = 1`); // a filtered-out row now selected
    } finally {
      await c.end();
    }
    const byId = new Map(data.customers.map((r) => [r.id, r]));
    const q = (sql: string, params: unknown[] = []) => target.query(sql, params);
    await q(`UPDATE duoduo.customers SET email = NULL WHERE id = 6`); // value -> NULL
    await q(`UPDATE duoduo.customers SET email = 'x@y' WHERE id = 33`); // NULL -> value
    await q(`UPDATE duoduo.customers SET score = $1 WHERE id = 9`, [String(nextUp(byId.get(9)!.score))]); // one ulp (double)
    await q(`UPDATE duoduo.customers SET ratio = $1::real WHERE id = 27`, [String(nextUpFloat32(byId.get(27)!.ratio))]); // one ulp (float)
    await q(`UPDATE duoduo.customers SET created = created + interval '1 microsecond' WHERE id = 12`);
    await q(`UPDATE duoduo.customers SET note = note || ' ' WHERE id = 18`); // a trailing space
    await q(`UPDATE duoduo.customers SET origin = 'cainiao-0' WHERE id = 21`); // the add-column
    await q(`UPDATE duoduo.customers SET aktiv = NOT aktiv WHERE id = 30`); // tinyint(1) -> boolean
    await q(`UPDATE duoduo.customers SET balance = balance + 0.01 WHERE id = 36`);
    await q(`UPDATE duoduo.customers SET prefs = jsonb_set(prefs, '{n}', '0') WHERE id = 39`);
    await q(`UPDATE duoduo.customers SET avatar = '\\x00ff' WHERE id = 42`);
    await q(`UPDATE duoduo.customers SET birthday = '2000-01-01' WHERE id = 51`); // the source holds a zero date
    await q(`UPDATE duoduo.customers SET prefs = '{"n": 16, "lang": "zh", "theme": "light"}' WHERE id = 48`); // same JSON, other key order: equal
    await q(`UPDATE duoduo.customers_archive SET email = NULL WHERE kunde_id = 3`);
    await q(`UPDATE duoduo.customers_archive SET score = $1 WHERE kunde_id = 9`, [String(nextUp(byId.get(9)!.score))]);
    await q(`UPDATE duoduo.customers_archive SET ratio = $1::real WHERE kunde_id = 27`, [String(nextUpFloat32(byId.get(27)!.ratio))]);
    await q(`UPDATE duoduo.customers_archive SET created = created + interval '1 microsecond' WHERE kunde_id = 12`);
    await q(`UPDATE duoduo.customers_archive SET note = note || ' ' WHERE kunde_id = 18`);
    await q(`UPDATE duoduo.customers_archive SET aktiv = NOT aktiv WHERE kunde_id = 30`);
    await q(`UPDATE duoduo.customers_archive SET balance = balance + 0.01 WHERE kunde_id = 36`);
    await q(`UPDATE duoduo.customers_archive SET avatar = '\\x00ff' WHERE kunde_id = 42`);
    await q(`UPDATE duoduo.customers_archive SET birthday = '2000-01-01' WHERE kunde_id = 51`);
    await q(`DELETE FROM duoduo.customers WHERE id = 24`);
    await q(`INSERT INTO duoduo.customers (id, full_name, aktiv, balance, score, ratio, created, status, note) VALUES (100000, 'x', true, 0, 0, 0, now(), 'new', '')`);
    await q(`DELETE FROM duoduo.order_lines WHERE order_no = 'A-0001' AND line = 1`);
    await q(`INSERT INTO duoduo.order_lines VALUES ('a-0001', 1, 1, 1.000)`); // equal to 'A-0001' under a _ci collation
    await q(`UPDATE duoduo.order_lines SET price = price + 0.001 WHERE order_no = 'b-0002' AND line = 1`);

    // the CLI picks the cross-engine diff from the mysql:// URL; exit 1 on differences
    const cli = await runCli(['validate', '--json', '--config', path.join(dir, 'cutover.config.json'), '--env', 'lab']);
    expect(cli.code, cli.stderr).toBe(1);
    const json = JSON.parse(cli.stdout) as { equal: boolean; tables: { source: string; missing: unknown[] }[] };
    expect(json.equal).toBe(false);
    expect(json.tables.find((t) => t.source === 'legacy_shop.KUNDE')!.missing).toEqual([{ kunde_id: 24 }]);

    const repairFile = path.join(dir, 'repair.sql');
    const env = crossEngineEnvironment(dir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 50, concurrency: 2 });
    const printed = new RecordingOutput();
    const report = await new CrossEngineValidator(env, printed).validate({ repairSqlFile: repairFile });
    expect(report.equal).toBe(false);
    const [customers, archive, lines] = report.tables;
    // one line per table, in the PostgreSQL validator's words (runbooks/cutover.md step 5)
    expect(printed.lines.filter((l) => l.message.startsWith(`${customers!.source} -> `)).map((l) => `${l.level} ${l.message.replace(/^.*?: /, '')}`)).toEqual([
      `warn ${customers!.sourceRows} / ${customers!.targetRows} rows, missing 1, extra 1, different 13`,
    ]);
    // the same kinds of change, found by the in-database hashes (no JSON, no expression there)
    expect(sortKeys(archive!.different)).toEqual(sortKeys([3, 9, 12, 15, 18, 27, 30, 36, 42, 51].map((kunde_id) => ({ kunde_id }))));
    expect(archive!.missing).toEqual([]);
    expect(archive!.extra).toEqual([]);
    expect(sortKeys(customers!.different)).toEqual(sortKeys([6, 33, 9, 27, 12, 18, 21, 30, 36, 39, 42, 51, 15].map((kunde_id) => ({ kunde_id }))));
    expect(customers!.missing).toEqual([{ kunde_id: 24 }]);
    expect(customers!.extra).toEqual([{ kunde_id: 100000 }]);
    expect(sortKeys(lines!.missing)).toEqual(sortKeys([{ order_no: 'A-0001', line: 1 }, { order_no: 'A-0005-x', line: 1 }]));
    expect(lines!.extra).toEqual([{ order_no: 'a-0001', line: 1 }]);
    expect(lines!.different).toEqual([{ order_no: 'b-0002', line: 1 }]);
    expect(customers!.samples.find((s) => s.column === 'full_name')).toMatchObject({ key: { kunde_id: 15 }, source: '陈弱 Jr', target: '陈强 Jr' });

    // one big chunk: its differing rows are found by narrowing inside the databases, not by shipping the chunk
    const narrowed = await new CrossEngineValidator(crossEngineEnvironment(dir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 100_000 }), new RecordingOutput()).validate({
      tables: ['legacy_shop.KUNDE_ALT'],
    });
    expect(sortKeys(narrowed.tables[0]!.different)).toEqual(sortKeys(archive!.different));
    expect(narrowed.tables[0]!.chunks).toEqual({ total: 1, mismatched: 1 });
    expect(narrowed.figures.rowsFetched).toBeLessThan(300);
    // a composite text key: its one key-hash bucket is narrowed by key-hash groups the same way
    const lineRows = 2 * data.lines.filter((l) => l.qty >= 1).length;
    const textKeyed = await new CrossEngineValidator(crossEngineEnvironment(dir, maria.urlFor('legacy_shop'), pgServer.url, { chunkRows: 100_000 }), new RecordingOutput()).validate({
      tables: ['legacy_shop.order_line'],
    });
    expect([textKeyed.tables[0]!.missing, textKeyed.tables[0]!.extra, textKeyed.tables[0]!.different].map(sortKeys)).toEqual([lines!.missing, lines!.extra, lines!.different].map(sortKeys));
    expect(textKeyed.tables[0]!.chunks).toEqual({ total: 1, mismatched: 1 });
    expect(textKeyed.figures.rowsFetched).toBeLessThan(lineRows / 2);

    // the repair script, run on the target, makes the two sides equal
    await q(readFileSync(repairFile, 'utf8'));
    const again = await new CrossEngineValidator(env, new RecordingOutput()).validate();
    expect(again.tables.flatMap((t) => [...t.missing, ...t.extra, ...t.different])).toEqual([]);
    expect(again.equal).toBe(true);
  });
});
