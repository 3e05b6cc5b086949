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

  test('fails if blue refused some of green\'s changes (reverse dead letters since the switch): writes stay on green, nothing is claimed; --force moves them and says what is missing', async () => {
    // trial6: the reverse mapping wrote a column that is GENERATED ALWAYS on blue; every order line
    // green acknowledged became a dead letter on blue, and the rollback said "blue has every green
    // change since the switch" (exit 0): 102 acknowledged writes were then on green only
    const p = await afterSwitch(3);
    const at = '2030-01-01T00:00:00.000Z';
    const rec = (seq: number, action: string, result?: unknown) => ({ seq, time: at, operator: 'o', host: 'h', pid: 1, env: 'lab', phase: 'switch', action, status: 'ok' as const, result });
    // one dead letter was there before this switch (an earlier cycle's), two are new
    const history = [rec(1, 'reverse.start', { fromPosition: '0', phase: 'cdc', deadLetters: 1 }), rec(2, 'switch.flip')];
    p.reverse.statusExtra = () => ({ deadLetters: 3 });
    const ctx = { ...phaseContext(env, p), history };
    const outcome = await runRollback(ctx);
    expect(outcome.ok).toBe(false);
    expect(outcome.summary).toMatch(/^rollback stopped: blue refused 2 of green's changes since the switch \(reverse replication's dead letters\).*writes stay on green/);
    expect(p.fakeRouter!.writeTarget).toBe('green');

    // an earlier cycle's dead letters alone are not this switch's: the rollback goes through
    const q = await afterSwitch(1);
    q.reverse.statusExtra = () => ({ deadLetters: 1 });
    expect((await runRollback({ ...phaseContext(env, q), history })).ok).toBe(true);

    // --force: writes go back to blue, and the rollback says what blue lacks (exit 1)
    const forced = await runRollback({ ...phaseContext(env, p, { options: { force: true } }), history });
    expect(forced.ok).toBe(false);
    expect(p.fakeRouter!.writeTarget).toBe('blue');
    expect(forced.result).toMatchObject({ proof: false, refusedByBlue: 2 });
    expect(forced.summary).toMatch(/NOT COMPLETE: blue refused 2 of green's changes since the switch/);
  });
});
