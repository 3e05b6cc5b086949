import { describe, expect, test } from 'vitest';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { thrownCutoverError as caught } from '../_helpers/cutover-error.ts';

const lab = (replication: Record<string, unknown> = {}) => ({
  environments: {
    lab: {
      platform: 'postgres',
      source: { url: 'postgres://u@127.0.0.1:5432/legacy' },
      target: { url: 'postgres://u@127.0.0.1:5433/new' },
      mappings: { forward: 'forward.json', reverse: 'reverse.json' },
      replication,
    },
  },
});
const load = (replication?: Record<string, unknown>) => selectEnvironment(parseConfig(lab(replication), '/x/c.json'), 'lab') as ResolvedPostgresEnvironment;

describe('replication.reverseExempt', () => {
  test('defaults to none: every forward target must be reverse-replicated', () => {
    expect(load().replication.reverseExempt).toBeUndefined();
  });

  test('reads green tables with the reason nothing writes them after the switch', () => {
    const reverseExempt = [{ table: 'public.audit_log', reason: 'append-only on blue; green never writes it' }];
    expect(load({ reverseExempt }).replication.reverseExempt).toEqual(reverseExempt);
  });

  test('fails if an entry has no schema, no reason or an unknown key (CONFIG_INVALID naming the field)', () => {
    for (const entry of [{ table: 'audit_log', reason: 'r' }, { table: 'public.audit_log', reason: '  ' }, { table: 'public.audit_log', reason: 'r', why: 'x' }]) {
      const err = caught(() => load({ reverseExempt: [entry] }));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.details.problems?.join('\n')).toContain('reverseExempt');
    }
  });
});
