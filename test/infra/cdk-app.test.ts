import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FORWARD_MAPPING_FILE, REVERSE_MAPPING_FILE, fixtureRawConfig } from './fixture-config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SYNTH_TIMEOUT_MS = 170_000;

/**
 * Runs bin/app.ts the way `cdk synth` does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR),
 * without the CLI's own start-up, against a JSON config in a scratch folder.
 */
function runApp(dir: string, context: Record<string, string>) {
  const outdir = path.join(dir, `out-${context.env ?? 'all'}`);
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'bin/app.ts')], {
    cwd: dir,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
    // tsx compiles the app and aws-cdk-lib loads before the synth: over a minute on a busy 2-core
    // machine (the tests' own timeout is SYNTH_TIMEOUT_MS + 10 s)
    timeout: SYNTH_TIMEOUT_MS,
  });
  return { status: r.status, stderr: r.stderr, outdir };
}

describe('bin/app.ts (the cdk app)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-cdk-app-'));
    copyFileSync(FORWARD_MAPPING_FILE, path.join(dir, 'forward.json'));
    copyFileSync(REVERSE_MAPPING_FILE, path.join(dir, 'reverse.json'));
    writeFileSync(path.join(dir, 'cutover.config.json'), JSON.stringify(fixtureRawConfig(), null, 2));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('synthesizes the four stacks of the selected environment from -c config=PATH', () => {
    const r = runApp(dir, { env: 'staging', config: 'cutover.config.json' });
    expect(r.stderr).not.toContain('Error');
    expect(r.status).toBe(0);
    const stageDir = path.join(r.outdir, 'assembly-staging');
    expect(existsSync(stageDir)).toBe(true);
    const templates = readdirSync(stageDir).filter((f) => f.endsWith('.template.json')).sort();
    expect(templates).toHaveLength(4);
    for (const part of ['Application', 'Backup', 'Foundation', 'Replication']) expect(templates.some((f) => f.startsWith(`staging${part}`))).toBe(true);
    const replication = templates.find((f) => f.includes('Replication'))!;
    expect(readFileSync(path.join(stageDir, replication), 'utf8')).toContain('full-load-and-cdc');
    // cdk-nag ran on the real app: one report per stack, with rules evaluated on real resources
    // (no report means bin/ -> buildCutoverApp no longer applies AwsSolutionsChecks)
    const reports = readdirSync(r.outdir).filter((f) => /^AwsSolutions-.*-NagReport\.csv$/.test(f)).sort();
    expect(reports).toHaveLength(4);
    const backup = readFileSync(path.join(r.outdir, reports.find((f) => f.includes('backup'))!), 'utf8');
    expect(backup).toMatch(/"AwsSolutions-S10","staging\/Backup\/BackupBucket\/[^"]*","Compliant"/);
  }, SYNTH_TIMEOUT_MS + 10_000);

  test('fails if -c env= is unknown: exit 2, ENV_UNKNOWN and the known environments on stderr', () => {
    const r = runApp(dir, { env: 'qa', config: 'cutover.config.json' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ENV_UNKNOWN');
    expect(r.stderr).toContain('staging, prod, byo, lab');
  }, SYNTH_TIMEOUT_MS + 10_000);
});
