import { describe, expect, test } from 'vitest';
import type { WorkerStatusFile } from '../../lib/replication/status-file.ts';
import { judgeStream, type JudgeInput } from '../../lib/replication/stream-health.ts';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();

function file(over: Partial<WorkerStatusFile> = {}): WorkerStatusFile {
  return {
    stream: 'forward',
    slot: 'cutover_lab',
    startedAt: iso(600_000),
    phase: 'cdc',
    direction: 'forward',
    lagMs: 0,
    lagBytes: null,
    appliedRowsPerSec: 0,
    tables: [],
    deadLetters: 0,
    worker: { pid: 4242, host: 'h', heartbeatAt: iso(100), alive: true },
    appliedPosition: '0/1000',
    cdcSince: iso(300_000),
    liveSince: iso(300_000),
    heartbeat: { everyMs: 1000 },
    ...over,
  };
}

function input(over: Partial<JudgeInput> = {}): JudgeInput {
  return {
    file: file(),
    alive: true,
    source: { currentLsn: '0/1800', confirmedLsn: '0/1000', nowMs: NOW },
    target: { sourceCommitAtMs: NOW - 400 },
    localNowMs: NOW,
    maxHeartbeatAgeMs: 30_000,
    ...over,
  };
}

describe('judgeStream: lag and liveness measured against the source', () => {
  test('lag in bytes is the source position minus the slot\'s confirmed position', () => {
    expect(judgeStream(input()).lagBytes).toBe(0x800);
  });

  test('falls back to the applied position of the file when the slot is not found', () => {
    expect(judgeStream(input({ source: { currentLsn: '0/1800', confirmedLsn: null, nowMs: NOW } })).lagBytes).toBe(0x800);
  });

  test('a healthy stream: fresh heartbeat, lag is the worker\'s own figure or the heartbeat less its interval', () => {
    const j = judgeStream(input({ file: file({ lagMs: 120 }), target: { sourceCommitAtMs: NOW - 1500 } }));
    expect(j.phase).toBe('cdc');
    expect(j.heartbeatAgeMs).toBe(1500);
    expect(j.lagMs).toBe(500); // 1500 - 1000 beats the worker's 120
    expect(judgeStream(input({ file: file({ lagMs: 700 }) })).lagMs).toBe(700);
  });

  test('a worker that reports lag 0 but whose heartbeat is old has a lag and is stalled', () => {
    const j = judgeStream(input({ target: { sourceCommitAtMs: NOW - 45_000 } }));
    expect(j.phase).toBe('stalled');
    expect(j.lagMs).toBe(44_000);
    expect(j.error).toMatch(/heartbeat applied on the target is 45000 ms old \(limit 30000 ms/);
  });

  test('a running worker (fresh status) whose heartbeat is old is stalled, but not called frozen: it may be applying one large transaction, which a restart would apply again', () => {
    const j = judgeStream(input({ target: { sourceCommitAtMs: NOW - 45_000 } }));
    expect(j.phase).toBe('stalled');
    expect(j.error).not.toMatch(/frozen/);
    expect(j.error).toMatch(/worker 4242 is running \(its status is 100 ms old\).*one large source transaction.*a restart would apply it again/);
    // a frozen file is still called frozen
    const frozen = judgeStream(input({ file: file({ worker: { pid: 4242, host: 'h', heartbeatAt: iso(40_000), alive: true } }), target: { sourceCommitAtMs: NOW - 45_000 } }));
    expect(frozen.error).toMatch(/frozen or cut off/);
  });

  test('a worker draining a backlog (it applied changes within the limit) whose newest heartbeat is old is catching up: cdc with that lag, not stalled; once it applies nothing for longer than the limit, stalled', () => {
    // after a restart or an outage the heartbeats behind the backlog are reached last: `replicate
    // wait` gave up on such a worker at once ("stalled … worker is running") while it caught up
    const old = { target: { sourceCommitAtMs: NOW - 45_000 } };
    const draining = judgeStream(input({ ...old, file: file({ appliedAt: iso(200) }) }));
    expect(draining.phase).toBe('cdc');
    expect(draining.lagMs).toBe(44_000);
    expect(draining.error).toBeUndefined();
    expect(judgeStream(input({ ...old, file: file({ appliedAt: iso(30_000) }) })).phase).toBe('cdc');
    const stopped = judgeStream(input({ ...old, file: file({ appliedAt: iso(30_001) }) }));
    expect(stopped.phase).toBe('stalled');
    expect(stopped.error).toMatch(/45000 ms old \(limit 30000 ms, gates\.maxHeartbeatAgeMs\) and the worker last applied changes 30001 ms ago/);
    expect(judgeStream(input(old)).error).toMatch(/and the worker has applied nothing since it started/);
    // a frozen file is stalled whatever it says it applied
    const frozen = judgeStream(input({ ...old, file: file({ appliedAt: iso(100), worker: { pid: 4242, host: 'h', heartbeatAt: iso(40_000), alive: true } }) }));
    expect(frozen.phase).toBe('stalled');
  });

  test('heartbeat exactly at the limit is not stalled; one ms over is', () => {
    expect(judgeStream(input({ target: { sourceCommitAtMs: NOW - 30_000 } })).phase).toBe('cdc');
    expect(judgeStream(input({ target: { sourceCommitAtMs: NOW - 30_001 } })).phase).toBe('stalled');
  });

  test('a frozen status file (SIGSTOP) is stalled even without source facts, and its lag grows with its age', () => {
    const j = judgeStream(input({ file: file({ lagMs: 50, worker: { pid: 4242, host: 'h', heartbeatAt: iso(40_000), alive: true } }), source: null, target: null }));
    expect(j.phase).toBe('stalled');
    expect(j.lagMs).toBe(40_050);
    expect(j.error).toMatch(/has not written its status for 40000 ms/);
  });

  test('a frozen status file during full load is stalled too', () => {
    const j = judgeStream(input({ file: file({ phase: 'full-load', cdcSince: undefined, worker: { pid: 1, host: 'h', heartbeatAt: iso(31_000), alive: true } }) }));
    expect(j.phase).toBe('stalled');
    expect(j.lagMs).toBeNull();
  });

  test('a starved worker (issue 18): its frozen lag 0 does not pass; the source\'s heartbeat measures it, else its figure grows with the file\'s age', () => {
    const starved = file({ lagMs: 0, worker: { pid: 4242, host: 'h', heartbeatAt: iso(5000), alive: true } });
    // heartbeats measure it from the source: the newest one applied is 6 s old
    expect(judgeStream(input({ file: starved, target: { sourceCommitAtMs: NOW - 6000 } }))).toMatchObject({ phase: 'cdc', lagMs: 5000, heartbeatAgeMs: 6000 });
    // no heartbeat (the source refuses it): the 5 s old figure counts as 5 s, and the stream says why
    const j = judgeStream(input({ file: { ...starved, heartbeat: { everyMs: 1000, error: 'permission denied' } } }));
    expect(j).toMatchObject({ phase: 'cdc', lagMs: 5000, heartbeatAgeMs: null });
    expect(j.error).toMatch(/status is 5000 ms old .* its lag 0 ms counts as 5000 ms/);
  });

  test('a running worker whose process is gone is failed', () => {
    const j = judgeStream(input({ alive: false }));
    expect(j.phase).toBe('failed');
    expect(j.error).toMatch(/worker 4242 is gone/);
  });

  test('heartbeats are not judged in the first limit after CDC began (the newest commit may predate a restart)', () => {
    const j = judgeStream(input({ file: file({ cdcSince: iso(5000) }), target: { sourceCommitAtMs: NOW - 3_600_000 } }));
    expect(j.phase).toBe('cdc');
    expect(j.heartbeatAgeMs).toBeNull();
    expect(j.lagMs).toBe(0);
  });

  test('a source that refuses the heartbeat: no heartbeat age, the fresh file\'s figure is the lag', () => {
    const j = judgeStream(input({ file: file({ lagMs: 30, heartbeat: { everyMs: 1000, error: 'permission denied' } }), target: { sourceCommitAtMs: NOW - 3_600_000 } }));
    expect(j.phase).toBe('cdc');
    expect(j.heartbeatAgeMs).toBeNull();
    expect(j.lagMs).toBe(30);
  });

  test('a stopped or failed stream keeps its own phase and error', () => {
    expect(judgeStream(input({ file: file({ phase: 'stopped' }) })).phase).toBe('stopped');
    const failed = judgeStream(input({ file: file({ phase: 'failed', error: 'duplicate key' }) }));
    expect(failed).toMatchObject({ phase: 'failed', error: 'duplicate key' });
  });

  test('a stream whose worker is not running applies nothing: its file\'s last rate is not shown (replicate status after a stop said "1 rows/s")', () => {
    expect(judgeStream(input({ file: file({ phase: 'stopped', appliedRowsPerSec: 840 }) })).appliedRowsPerSec).toBe(0);
    expect(judgeStream(input({ file: file({ phase: 'failed', appliedRowsPerSec: 840 }) })).appliedRowsPerSec).toBe(0);
    expect(judgeStream(input({ alive: false, file: file({ appliedRowsPerSec: 840 }) })).appliedRowsPerSec).toBe(0);
    // a running one keeps the file's figure (the judgement leaves it out)
    expect(judgeStream(input({ file: file({ appliedRowsPerSec: 840 }) })).appliedRowsPerSec).toBeUndefined();
  });

  test('unknown lag when nothing measures it', () => {
    expect(judgeStream(input({ file: file({ lagMs: null }), target: null })).lagMs).toBeNull();
  });
});
