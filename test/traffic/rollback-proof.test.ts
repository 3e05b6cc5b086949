import { describe, expect, test } from 'vitest';
import { runRollback, type RollbackLedger } from '../../lib/traffic/rollback.ts';
import { switchPhase } from '../../lib/traffic/switch-phase.ts';
import { fakePlatform } from './fakes/fake-platform.ts';
import { phaseContext } from './fakes/phase-context.ts';
import { testEnvironment } from './fakes/test-env.ts';

/**
 * The rollback's proof (blue has green's changes) from the mutation pass (issue 18): positions
 * that cannot be ordered (DMS checkpoints) fall back to the replicator's "caught up" only when it
 * reports an applied position; the ledger is journaled and printed; the summary claims no more
 * than the journal shows.
 */
const env = testEnvironment({ switch: { catchUpTimeoutMs: 200, maxHoldMs: 5000, sequenceGap: 100 } });

async function afterSwitch(greenWrites: number) {
  const p = fakePlatform();
  p.fakeRouter!.readWeightGreen = 100;
  p.blue.write();
  expect((await switchPhase.apply(phaseContext(env, p))).ok).toBe(true);
  for (let i = 0; i < greenWrites; i++) p.green.write();
  p.log.length = 0;
  return p;
}

/** Reverse replication reporting DMS-style checkpoints: opaque strings the kit cannot order. */
function withCheckpoints(p: Awaited<ReturnType<typeof afterSwitch>>, applied: string | undefined) {
  const status = p.reverse.status.bind(p.reverse);
  const wait = p.reverse.waitForPosition.bind(p.reverse);
  p.reverse.sourcePosition = async () => 'checkpoint:green-final';
  p.reverse.waitForPosition = async (_position: string, timeoutMs: number) => wait(String(p.green.position), timeoutMs);
  p.reverse.status = async () => {
    const { appliedPosition: _numeric, ...rest } = await status();
    return applied === undefined ? rest : { ...rest, appliedPosition: applied };
  };
}

describe('rollback proof', () => {
  test('positions that cannot be ordered: the replicator\'s "caught up" with an applied position proves the drain', async () => {
    const p = await afterSwitch(3);
    withCheckpoints(p, 'checkpoint:blue-applied');
    const ctx = phaseContext(env, p);
    const outcome = await runRollback(ctx);
    expect(outcome.ok).toBe(true);
    const ledger = outcome.result as RollbackLedger;
    expect(ledger).toMatchObject({ proof: true, greenLastPosition: 'checkpoint:green-final', reverseAppliedPosition: 'checkpoint:blue-applied', greenEraRowsTotal: 3 });
    // a proven rollback's summary carries no caveat, and claims only what the journal shows
    expect(outcome.summary).toBe(
      "back on blue: reads and writes; reverse replication applied green's changes up to checkpoint:green-final (the journal does not show where it started, so changes from before its start are not proven); forward replication resumed (CDC)",
    );
    expect(ctx.journal.notes('rollback.ledger')).toEqual([ledger]);
    expect(ctx.out.lines).toContainEqual({
      level: 'ok',
      topic: 'rollback',
      message: "ledger: 3 green-era row change(s) applied to blue; reverse applied checkpoint:blue-applied >= green's last checkpoint:green-final: true",
    });
  });

  test('fails if positions cannot be ordered and no applied position is reported: "caught up" alone proves nothing', async () => {
    const p = await afterSwitch(2);
    withCheckpoints(p, undefined);
    const ctx = phaseContext(env, p);
    const outcome = await runRollback(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.result).toMatchObject({ proof: false, reverseAppliedPosition: null });
    expect(outcome.summary).toMatch(/NOT PROVEN: reverse replication reports no applied position/);
    expect(ctx.journal.notes('rollback.ledger')).toEqual([outcome.result]);
    expect(ctx.out.lines).toContainEqual({
      level: 'ok',
      topic: 'rollback',
      message: "ledger: 2 green-era row change(s) applied to blue; reverse applied (n/a) >= green's last checkpoint:green-final: false",
    });
  });
});
