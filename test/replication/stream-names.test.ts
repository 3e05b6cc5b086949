import { describe, expect, test } from 'vitest';
import { appliedByKit, environmentOrigins, isStreamOrigin, streamNames, streamOriginCondition } from '../../lib/replication/stream-names.ts';
import { testEnvironment } from './_env.ts';

describe('replication origin names', () => {
  const env = testEnvironment('postgres://u@127.0.0.1:1/a', 'postgres://u@127.0.0.1:2/b', { waves: [{ name: 'w1', tables: ['public.a'] }] });

  test('a stream skips the origins of the other direction only, with their full-load lanes', () => {
    const forward = streamNames(env, 'forward').origin;
    const reverse = streamNames(env, 'reverse').origin;
    const wave = streamNames(env, 'forward', 'w1').origin;
    expect(forward).toBe('cutover_lab');
    expect(reverse).toBe('cutover_lab_rev');
    const forwardSkips = appliedByKit(env, 'forward');
    const reverseSkips = appliedByKit(env, 'reverse');
    expect(forwardSkips(reverse)).toBe(true);
    expect(forwardSkips(forward)).toBe(false);
    expect(reverseSkips(forward)).toBe(true);
    expect(reverseSkips(`${forward}_l3`)).toBe(true);
    expect(reverseSkips(wave)).toBe(true);
    expect(reverseSkips(`${wave}_l0`)).toBe(true);
    // another replication's origin on the same database is user data: replicated
    expect(reverseSkips('pg_16384')).toBe(false);
    expect(reverseSkips(`${forward}_later`)).toBe(false);
    expect(environmentOrigins(env).map((o) => o.origin)).toEqual(['cutover_lab', 'cutover_lab_w1', 'cutover_lab_rev', 'cutover_lab_w1_rev']);
  });

  test('lane origins are recognised by number only', () => {
    expect(isStreamOrigin('cutover_lab', 'cutover_lab_l12')).toBe(true);
    expect(isStreamOrigin('cutover_lab', 'cutover_lab_l')).toBe(false);
    expect(isStreamOrigin('cutover_lab', 'cutover_lab_lx')).toBe(false);
  });

  test('the drop condition escapes LIKE wildcards in the origin name', () => {
    expect(streamOriginCondition('cutover_lab', 2)).toEqual({ sql: '(roname = $2 or roname like $3)', params: ['cutover_lab', 'cutover\\_lab\\_l%'] });
  });
});
