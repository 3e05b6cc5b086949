import { InvalidArgumentError, type Command } from 'commander';
import type { ReplicationStatus } from '../../platform/roles.ts';
import { positiveNumber, wholeNumber } from '../global-options.ts';
import { phaseExit } from '../phase-exit.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

type Direction = 'forward' | 'reverse';

function direction(value: string): Direction {
  if (value !== 'forward' && value !== 'reverse') throw new InvalidArgumentError(`expected forward or reverse, got "${value}"`);
  return value;
}

/** `cutover replicate start|status|wait|stop`. */
export function registerReplicate(program: Command, rt: CliRuntime): void {
  const replicate = program.command('replicate').description('forward replication: full load, then CDC (start | status | wait | stop)');

  replicate
    .command('start')
    .description('start (or resume) replication; returns once the worker is healthy')
    .option('--wave <name>', 'replicate only this wave of tables (replication.waves)')
    .option('--foreground', 'run the worker in this process instead of detached')
    .action(
      withSession<{ wave?: string; foreground?: boolean }>(rt, 'cutover replicate start', async (s, o) => {
        // bad input is refused before anything is confirmed, locked or journaled
        if (o.wave && s.env.platform === 'postgres') {
          const { unknownWave } = await import('../../replication/postgres-replicator.ts');
          const problem = unknownWave(s.env, o.wave);
          if (problem) throw problem;
        }
        return phaseExit(await s.engine.runPhase('replicate', { wave: o.wave, foreground: o.foreground === true }, { verify: false, lock: !o.foreground }), s.out);
      }),
    );

  replicate
    .command('status')
    .description('phase, lag and per-table progress (--json: the ReplicationStatus contract); exit 1 when failed or stalled')
    .option('--direction <d>', 'forward or reverse', direction, 'forward' as Direction)
    .action(
      withSession<{ direction: Direction }>(rt, 'cutover replicate status', async (s, o) => {
        const platform = await s.engine.platform();
        const status = await platform[o.direction].status();
        s.out.result(status, formatReplication(status));
        // a failed or stalled worker is a check that said no (scripts and monitors read the code)
        return status.phase === 'failed' || status.phase === 'stalled' ? 1 : 0;
      }),
    );

  replicate
    .command('wait')
    .description('block until the target has applied every source write acknowledged before the wait, with CDC lag under --max-lag-ms (the replicate gate)')
    .option('--max-lag-ms <n>', 'lag limit in ms (default: gates.maxLagMs)', wholeNumber(1))
    .option('--timeout-ms <n>', 'give up after this long (exit 1)', positiveNumber, 3_600_000)
    .action(
      withSession<{ maxLagMs?: number; timeoutMs: number }>(rt, 'cutover replicate wait', async (s, o) =>
        phaseExit(await s.engine.verifyPhase('replicate', { maxLagMs: o.maxLagMs ?? s.env.gates.maxLagMs, timeoutMs: o.timeoutMs }), s.out),
      ),
    );

  replicate
    .command('stop')
    .description('stop the replication worker (the slot and the target data are kept)')
    .option('--direction <d>', 'forward or reverse', direction, 'forward' as Direction)
    .action(
      withSession<{ direction: Direction }>(rt, 'cutover replicate stop', async (s, o) => {
        const done = await s.engine.runAction(
          { phase: 'replicate', action: `${o.direction}.stop`, mutates: true, plan: [{ action: `${o.direction}.stop`, target: `${o.direction} replication worker of ${s.env.name}` }] },
          async (ctx) => {
            const was = (await ctx.platform[o.direction].status().catch(() => null))?.phase ?? 'unknown';
            await ctx.platform[o.direction].stop();
            return { was };
          },
        );
        if (done) {
          const running = done.was === 'full-load' || done.was === 'cdc' || done.was === 'stalled' || done.was === 'unknown';
          s.out.result({ stopped: o.direction, was: done.was }, running ? `${o.direction} replication stopped` : `${o.direction} replication was not running (${done.was}): nothing to stop`);
        }
        return 0;
      }),
    );
}

export function formatReplication(s: ReplicationStatus): string {
  const lines = [
    `${s.direction} replication: ${s.phase}  lag ${s.lagMs ?? '?'} ms / ${s.lagBytes ?? '?'} bytes  ${s.heartbeatAgeMs != null ? `heartbeat ${s.heartbeatAgeMs} ms ago  ` : ''}${Math.round(s.appliedRowsPerSec)} rows/s  dead letters ${s.deadLetters}`,
  ];
  if (s.worker) lines.push(`worker pid ${s.worker.pid} on ${s.worker.host}, heartbeat ${s.worker.heartbeatAt}${s.worker.alive ? '' : ' (NOT ALIVE)'}`);
  const open = s.openTransaction;
  if (open) {
    lines.push(`applying a large source transaction (commit ${open.commitLsn}) as it arrives: ${open.changesApplied} of ${open.changesReceived} changes received${open.commitReceived ? ' (all)' : ' so far'} applied, committed with its source commit`);
  }
  if (s.error) lines.push(`error: ${s.error}`);
  if (s.unreplicatedColumns?.length) lines.push(`WARNING: source column(s) added during replication, NOT replicated: ${s.unreplicatedColumns.join(', ')} (add them to the target and the mapping, then replicate stop, replicate start and validate --repair)`);
  for (const t of s.tables) lines.push(`  ${t.source} -> ${t.target}  ${t.state}  ${t.rows}${t.totalRows !== null ? `/${t.totalRows}` : ''} rows${t.wave ? `  wave ${t.wave}` : ''}`);
  return lines.join('\n');
}
