import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, startTestPostgres } from '../_helpers/pg.ts';
import { runCli } from '../cli/run-cli.ts';

/**
 * Scenario folders (gh-ost `localtests/` style): each `test/scenarios/<case>/` holds
 * `source.sql` and `target.sql` (run on fresh databases of one server pair), `forward.json` and
 * `reverse.json` (DMS table mappings), `config.json` (environments; each gets the case's URLs and
 * mapping files unless it sets them) and `expected.json`: steps run in order, each either SQL on
 * a side or a `cutover` command with its expected exit code and output.
 */
interface Step {
  readonly name: string;
  /** SQL to run on one side before the next step. */
  readonly sql?: { readonly side: 'source' | 'target'; readonly query: string };
  /** `cutover` arguments (the runner adds --config). */
  readonly run?: readonly string[];
  readonly exit?: number;
  /** Text that must (or must not) appear in stdout + stderr. */
  readonly includes?: readonly string[];
  readonly excludes?: readonly string[];
  /** stdout parsed as JSON must match this (vitest toMatchObject: arrays match exactly in length). */
  readonly json?: unknown;
}

const root = path.dirname(new URL(import.meta.url).pathname);
const cases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, 'expected.json')))
  .map((d) => d.name);

describe('scenarios', () => {
  let source: Awaited<ReturnType<typeof startTestPostgres>>;
  let target: Awaited<ReturnType<typeof startTestPostgres>>;
  const dirs: string[] = [];

  beforeAll(async () => {
    [source, target] = await Promise.all([startTestPostgres('postgres'), startTestPostgres('postgres')]);
  });
  afterAll(async () => {
    await Promise.all([source?.dispose(), target?.dispose()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test.each(cases)('%s', async (name) => {
    const folder = path.join(root, name);
    const db = `scenario_${name.replace(/\W/g, '_')}`;
    const urls = { source: '', target: '' };
    for (const [side, server] of [['source', source], ['target', target]] as const) {
      const admin = await connect(server.url);
      await admin.query(`create database ${db}`);
      await admin.end();
      urls[side] = server.urlFor(db);
      const c = await connect(urls[side]);
      await c.query(readFileSync(path.join(folder, `${side}.sql`), 'utf8'));
      await c.end();
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), `cutover-scenario-${name}-`));
    dirs.push(dir);
    for (const f of ['forward.json', 'reverse.json']) writeFileSync(path.join(dir, f), readFileSync(path.join(folder, f)));
    const environments = JSON.parse(readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    for (const env of Object.values(environments)) {
      env.platform ??= 'postgres' as never;
      env.source = { url: urls.source, ...env.source };
      env.target = { url: urls.target, ...env.target };
      env.mappings ??= { forward: 'forward.json', reverse: 'reverse.json' };
    }
    const config = path.join(dir, 'cutover.config.json');
    writeFileSync(config, JSON.stringify({ environments }, null, 2));

    const { steps } = JSON.parse(readFileSync(path.join(folder, 'expected.json'), 'utf8')) as { steps: Step[] };
    for (const step of steps) {
      if (step.sql) {
        const c = await connect(urls[step.sql.side]);
        await c.query(step.sql.query);
        await c.end();
        continue;
      }
      const r = await runCli([...step.run!, '--config', config], { cwd: dir });
      const text = r.stdout + r.stderr;
      const why = `${name} / ${step.name}: cutover ${step.run!.join(' ')}\n${text}`;
      if (step.exit !== undefined) expect(r.code, why).toBe(step.exit);
      for (const s of step.includes ?? []) expect(text, why).toContain(s);
      for (const s of step.excludes ?? []) expect(text, why).not.toContain(s);
      if (step.json !== undefined) expect(JSON.parse(r.stdout), why).toMatchObject(step.json as object);
    }
  });
});
