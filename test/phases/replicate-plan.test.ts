import { describe, expect, test } from 'vitest';
import type { PhaseContext } from '../../lib/engine/phase.ts';
import { RecordingOutput } from '../../lib/output/output.ts';
import { replicatePhase } from '../../lib/phases/replicate-phase.ts';
import { BinlogReplicator } from '../../lib/replication/binlog-replicator.ts';
import { testEnvironment } from '../replication/_env.ts';

/** `replicate start --dry-run` says how the data moves: for a MySQL source, binlog-aligned snapshots and CDC from the binlog. */
describe('replicate plan', () => {
  test('a MySQL-family source: full load in consistent snapshots aligned with a binlog position, then CDC from the binlog (no slot)', async () => {
    const env = testEnvironment('mysql://kit:pw@127.0.0.1:3306/cainiao', 'postgres://kit@127.0.0.1:5432/duoduo');
    const ctx = { env, options: {}, platform: { forward: new BinlogReplicator(env, new RecordingOutput()) } } as unknown as PhaseContext;
    const [start] = await replicatePhase.plan(ctx);
    expect(start!.detail).toMatch(/^full load in consistent-snapshot sessions aligned with a binlog position .*then CDC from the binlog/);
    expect(start!.detail).not.toMatch(/slot|snapshot position/);
  });

  test('a replicator that does not say how keeps the generic text', async () => {
    const env = testEnvironment('postgres://kit@127.0.0.1:5432/cainiao', 'postgres://kit@127.0.0.1:5433/duoduo');
    const ctx = { env, options: { wave: 'w1' }, platform: { forward: { direction: 'forward' } } } as unknown as PhaseContext;
    expect((await replicatePhase.plan(ctx))[0]!.detail).toMatch(/^wave w1: full load from the snapshot position, then CDC; mappings /);
  });
});
