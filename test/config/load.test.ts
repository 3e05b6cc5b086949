import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { minMaxHoldMsFor } from '../../lib/config/common-schema.ts';
import { engineOfUrl } from '../../lib/engines/engine-of-url.ts';
import { thrownCutoverError as caught } from '../_helpers/cutover-error.ts';

const lab = {
  platform: 'postgres',
  source: { url: 'postgres://u@127.0.0.1:5432/legacy' },
  target: { url: 'postgres://u@127.0.0.1:5433/new' },
  mappings: { forward: 'forward.json', reverse: 'maps/reverse.json' },
};

describe('config loading', () => {
  test('the contract JSON shape of a postgres environment loads with documented defaults', () => {
    const cfg = parseConfig({ environments: { lab } }, '/etc/cutover/config.json');
    const env = selectEnvironment(cfg, 'lab') as ResolvedPostgresEnvironment;
    expect(env.platform).toBe('postgres');
    expect(env.mappingFiles).toEqual({ forward: '/etc/cutover/forward.json', reverse: '/etc/cutover/maps/reverse.json' });
    expect(env.stateDir).toBe('/etc/cutover/.cutover/lab');
    expect(env.backupDir).toBe('/etc/cutover/.cutover/lab/backups');
    expect(env.shift.steps).toEqual([1, 10, 50, 100]);
    expect(env.switch.catchUpTimeoutMs).toBe(10_000);
    expect(env.replication.slotName).toBe('cutover_lab');
    // no default schema list: the kit reads the schemas the mapping names (lib/mappings/mapped-schemas.ts)
    expect(env.source.schemas).toBeUndefined();
    expect(env.target.schemas).toBeUndefined();
    expect(env.isProtected).toBe(false);
  });

  test('fails if an explicit schemas list is empty', () => {
    const err = caught(() => parseConfig({ environments: { lab: { ...lab, source: { ...lab.source, schemas: [] } } } }, '/x/c.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.problems?.join()).toContain('environments.lab.source.schemas');
  });

  test('fails if a database URL lacks its user, host or database (the driver would fill them in silently)', () => {
    const err = caught(() =>
      parseConfig({ environments: { lab: { ...lab, source: { url: 'postgres://' }, target: { url: 'postgres://u:hunter2@127.0.0.1:5433' } } } }, '/x/c.json'),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    const problems = err.details.problems!.join('\n');
    expect(problems).toMatch(/environments\.lab\.source\.url: got "postgres:\/\/"; expected a complete URL — this one has no user, host, database/);
    expect(problems).toMatch(/environments\.lab\.target\.url: .*has no database/);
    expect(err.describe()).not.toContain('hunter2');
    // a socket folder is a host; user and database given
    expect(() => parseConfig({ environments: { lab: { ...lab, source: { url: 'postgres://u@/legacy?host=/var/run/postgresql' } } } }, '/x/c.json')).not.toThrow();
  });

  test('prod is protected by default, and an explicit flag wins', () => {
    const cfg = parseConfig({ environments: { prod: lab, staging: { ...lab, protected: true } } }, '/x/c.json');
    expect(selectEnvironment(cfg, 'prod').isProtected).toBe(true);
    expect(selectEnvironment(cfg, 'staging').isProtected).toBe(true);
  });

  test('${VAR} references are expanded from the environment', () => {
    const cfg = parseConfig(
      { environments: { lab: { ...lab, source: { url: 'postgres://u:${LAB_PW}@127.0.0.1:5432/legacy' } } } },
      '/x/c.json',
      { LAB_PW: 's3cret' },
    );
    expect((selectEnvironment(cfg, 'lab') as ResolvedPostgresEnvironment).source.url).toBe('postgres://u:s3cret@127.0.0.1:5432/legacy');
  });

  test('fails if a ${VAR} is not set, naming the field and the variable', () => {
    const err = caught(() =>
      parseConfig({ environments: { lab: { ...lab, target: { url: 'postgres://u:${NOPE_PW}@h/db' } } } }, '/x/c.json', {}),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.problems?.join('\n')).toMatch(/environments\.lab\.target\.url: environment variable \$\{NOPE_PW\} is not set/);
  });

  test('fails if fields are invalid: one problem per field with its path, the value and what is expected', () => {
    const err = caught(() =>
      parseConfig(
        {
          environments: {
            lab: { ...lab, source: { url: 'oracle://x' }, shift: { steps: [50, 10] }, gates: { maxErrorRatio: 2 }, colour: 'blue' },
          },
        },
        '/x/c.json',
      ),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.exitCode).toBe(2);
    const text = err.details.problems!.join('\n');
    expect(text).toMatch(/environments\.lab\.source\.url: got "oracle:\/\/x"; expected a postgres:\/\/, postgresql:\/\/, mysql:\/\/ or mariadb:\/\/ URL/);
    expect(text).toMatch(/environments\.lab\.gates\.maxErrorRatio: got 2/);
    expect(text).toMatch(/unknown field\(s\) "colour"/);
    expect(err.details.problems!.length).toBeGreaterThanOrEqual(3);
  });

  test('each side\'s engine comes from its URL scheme: a MySQL-family source with a PostgreSQL target loads', () => {
    for (const url of ['mysql://u:pw@127.0.0.1:3306/legacy_shop', 'mariadb://u@127.0.0.1:3307/legacy_shop']) {
      const cfg = parseConfig({ environments: { lab: { ...lab, source: { url } } } }, '/x/c.json');
      const env = selectEnvironment(cfg, 'lab') as ResolvedPostgresEnvironment;
      expect(engineOfUrl(env.source.url)).toBe('mysql');
      expect(engineOfUrl(env.target.url)).toBe('postgres');
    }
    expect(engineOfUrl('postgresql://h/db')).toBe('postgres');
    const err = caught(() => engineOfUrl('sqlserver://u:hunter2@h/db'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.describe()).not.toContain('hunter2');
    expect(err.details.allowed).toContain('mariadb://');
  });

  test('platform "local" is another name for "postgres"; the old name keeps working', () => {
    const cfg = parseConfig({ environments: { a: { ...lab, platform: 'local' }, b: lab } }, '/x/c.json');
    expect(selectEnvironment(cfg, 'a').platform).toBe('postgres');
    expect(selectEnvironment(cfg, 'b').platform).toBe('postgres');
    expect((selectEnvironment(cfg, 'a') as ResolvedPostgresEnvironment).replication.slotName).toBe('cutover_a');
  });

  test('fails if the platform is unknown', () => {
    const err = caught(() => parseConfig({ environments: { lab: { ...lab, platform: 'oracle' } } }, '/x/c.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.problems!.join('\n')).toMatch(/environments\.lab\.platform: got "oracle"; expected platform must be "postgres" \(or its alias "local"\) or "aws"/);
  });

  test('fails if the password appears in an error: it is masked', () => {
    const err = caught(() =>
      parseConfig({ environments: { lab: { ...lab, source: { url: 'postgres://u:hunter2@h/db', bogus: 1 }, target: { url: 'http://u:hunter2@h' } } } }, '/x/c.json'),
    );
    expect(err.describe()).not.toContain('hunter2');
  });

  test('fails if a password inside an object value appears in an error: nested URLs and secret keys are masked', () => {
    // a check across fields prints its whole object: here `backup` with both stores, one's endpoint holding a password
    const backup = { dir: 'b', s3: { bucket: 'bucket', endpoint: 'http://u:hunter2@h:9000', sessionToken: 'hunter2' } };
    const err = caught(() => parseConfig({ environments: { lab: { ...lab, backup }, Lab: { ...lab, source: { url: 'postgres://u:hunter2@h/db' } } } }, '/x/c.json'));
    expect(err.details.problems!.join('\n')).toContain('environments.lab.backup: got');
    expect(err.describe()).not.toContain('hunter2');
    expect(err.describe()).toContain('u:***@h');
  });

  test('fails if a URL missing its scheme shows its password in the error: masked too', () => {
    const err = caught(() => parseConfig({ environments: { lab: { ...lab, source: { url: 'reader:hunter2@127.0.0.1:5432/legacy' }, target: { url: 'postgres:/w:hunter2@h/db' } } } }, '/x/c.json'));
    expect(err.details.problems!.join('\n')).toContain('environments.lab.source.url: got "reader:***@127.0.0.1:5432/legacy"');
    expect(err.describe()).not.toContain('hunter2');
  });

  test('fails if an environment name is not lower-case letters, digits and dashes: the error names it and what is allowed', () => {
    const err = caught(() => parseConfig({ environments: { Lab: lab } }, '/x/c.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.problems!.join('\n')).toMatch(/environments: key "Lab" is not allowed; expected an environment name is lower-case letters, digits and dashes/);
  });

  test('fails if the environment is unknown, listing the known ones', () => {
    const cfg = parseConfig({ environments: { lab, staging: lab } }, '/x/c.json');
    const err = caught(() => selectEnvironment(cfg, 'prdo'));
    expect(err.code).toBe('ENV_UNKNOWN');
    expect(err.details.allowed).toBe('lab, staging');
  });

  test('loads .json and .ts files; paths are relative to the config file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-config-'));
    writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ environments: { lab } }));
    writeFileSync(
      path.join(dir, 'c.ts'),
      `export default { environments: { lab: ${JSON.stringify(lab)} } };\n`,
    );
    for (const f of ['c.json', 'c.ts']) {
      const cfg = await loadConfig({ file: f, cwd: dir });
      expect(selectEnvironment(cfg, 'lab').mappingFiles.forward).toBe(path.join(dir, 'forward.json'));
    }
  });

  test('fails if the file is missing or is not JSON', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-config-'));
    await expect(loadConfig({ file: 'nope.json', cwd: dir })).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND' });
    writeFileSync(path.join(dir, 'bad.json'), '{ "environments": { ,');
    await expect(loadConfig({ file: 'bad.json', cwd: dir })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('switch timing', () => {
  test('fails if maxHoldMs is not larger than catchUpTimeoutMs', () => {
    const err = caught(() => parseConfig({ environments: { lab: { ...lab, switch: { catchUpTimeoutMs: 20_000, maxHoldMs: 15_000 } } } }, '/x/c.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.details.problems!.join('\n')).toMatch(/environments\.lab\.switch\.maxHoldMs: .*larger than switch\.catchUpTimeoutMs/);
  });

  test("fails if the hold's budget (cap less the undo reserve) is smaller than catchUpTimeoutMs, naming both and the fix", () => {
    // 11 s cap: 2.2 s kept to undo, 8.8 s for the steps inside the hold, less than the 10 s catch-up
    const err = caught(() => parseConfig({ environments: { lab: { ...lab, switch: { catchUpTimeoutMs: 10_000, maxHoldMs: 11_000 } } } }, '/x/c.json'));
    expect(err.code).toBe('CONFIG_INVALID');
    const text = err.details.problems!.join('\n');
    expect(text).toMatch(/environments\.lab\.switch\.maxHoldMs: got 11000; expected .*at least switch\.catchUpTimeoutMs 10000 ms, but switch\.maxHoldMs 11000 ms leaves them 8800 ms .*2200 ms kept to undo/);
    expect(text).toMatch(/fix: set switch\.maxHoldMs to at least 12500, or switch\.catchUpTimeoutMs to at most 8800/);
    // the fix it names is accepted, one less is not; the reserve's 1 s floor and 10 s ceiling too
    const accepts = (catchUpTimeoutMs: number, maxHoldMs: number) => {
      try {
        parseConfig({ environments: { lab: { ...lab, switch: { catchUpTimeoutMs, maxHoldMs } } } }, '/x/c.json');
        return true;
      } catch {
        return false;
      }
    };
    expect([accepts(10_000, 12_500), accepts(10_000, 12_499), accepts(10_000, 8800 + 2200)]).toEqual([true, false, false]);
    expect([accepts(2000, 3000), accepts(2000, 2999)]).toEqual([true, false]);
    expect([accepts(180_000, 190_000), accepts(180_000, 189_999), accepts(180_000, 240_000)]).toEqual([true, false, true]);
    expect([minMaxHoldMsFor(2000), minMaxHoldMsFor(10_000), minMaxHoldMsFor(180_000)]).toEqual([3000, 12_500, 190_000]);
  });
});
