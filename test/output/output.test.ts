import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { StreamOutput } from '../../lib/output/output.ts';
import { CutoverError, exitCodeFor } from '../../lib/errors.ts';

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { stdout, stderr, text: () => ({ out, err }) };
}

describe('StreamOutput', () => {
  test('plain lines follow the documented grammar `HH:MM:SS level topic: message`', () => {
    const c = capture();
    const o = new StreamOutput({ mode: 'plain', stdout: c.stdout, stderr: c.stderr, clock: () => new Date('2026-01-02T03:04:05Z') });
    o.info('shift', 'reads at 10%');
    o.warn('gate', 'green p99 high');
    expect(c.text().out).toBe('03:04:05 info  shift: reads at 10%\n');
    expect(c.text().err).toBe('03:04:05 warn  gate: green p99 high\n');
  });

  test('json mode keeps stdout to exactly one JSON document', () => {
    const c = capture();
    const o = new StreamOutput({ mode: 'json', stdout: c.stdout, stderr: c.stderr });
    o.info('validate', 'hashing chunks');
    o.progress({ topic: 'validate', done: 5, total: 10, unit: 'chunks' });
    o.result({ equal: true, tables: [] }, 'equal');
    expect(JSON.parse(c.text().out)).toEqual({ equal: true, tables: [] });
    expect(c.text().err).toMatch(/hashing chunks/);
  });

  test('plain progress is throttled per topic but always prints completion', () => {
    const c = capture();
    let now = 0;
    const o = new StreamOutput({ mode: 'plain', stdout: c.stdout, stderr: c.stderr, clock: () => new Date(now), plainIntervalMs: 1000 });
    for (let i = 1; i <= 9; i++) {
      now += 100;
      o.progress({ topic: 'full-load', done: i, total: 10, unit: 'rows', figures: { lag: '5ms' } });
    }
    o.progress({ topic: 'full-load', done: 10, total: 10, unit: 'rows' });
    const lines = c.text().out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/prog  full-load: 1\/10 rows \(10%\) lag=5ms/);
    expect(lines[1]).toMatch(/10\/10 rows \(100%\)/);
  });

  test('CutoverError describes what, received, allowed and fix; gate codes exit 1, INTERNAL 3, others 2', () => {
    const e = new CutoverError('ENV_UNKNOWN', 'unknown environment "prdo"', { received: 'prdo', allowed: 'staging, prod', fix: 'use --env prod' });
    expect(e.describe()).toBe('ENV_UNKNOWN: unknown environment "prdo"\n  received: "prdo"\n  allowed:  staging, prod\n  fix:      use --env prod');
    expect(e.exitCode).toBe(2);
    expect(new CutoverError('GATE_FAILED', 'lag too high').exitCode).toBe(1);
    expect(new CutoverError('INTERNAL', 'a bug').exitCode).toBe(3);
    expect(exitCodeFor(new RangeError('Invalid array length'))).toBe(3);
  });
});
