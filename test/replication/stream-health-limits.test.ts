import { describe, expect, test } from 'vitest';
import type { WorkerStatusFile } from '../../lib/replication/status-file.ts';
import { HEARTBEAT_EVERY_MS, judgeStream, STATUS_FRESH_MS, type JudgeInput } from '../../lib/replication/stream-health.ts';

/**
 * judgeStream at its limits, from the mutation pass (issue 18): the status file's age limit is
 * inclusive like the heartbeat's, heartbeats are judged from exactly one limit after CDC began
 * (before that, only one applied in this CDC session),
 * bytes are measured only where a slot position means something, and a stalled or stopped
 * stream reports exactly what it knows.
 */
const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();
const LIMIT = 30_000;

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
    maxHeartbeatAgeMs: LIMIT,
    ...over,
  };
}

const worker = (msAgo: number, pid = 4242) => ({ pid, host: 'h', heartbeatAt: iso(msAgo), alive: true });

describe('judgeStream at its limits', () => {
  test('a status file exactly STATUS_FRESH_MS old is fresh (its own lag counts); one ms older, its lag grows with its age and it says so', () => {
    expect(judgeStream(input({ file: file({ lagMs: 70, worker: worker(STATUS_FRESH_MS) }), target: null }))).toEqual({ phase: 'cdc', lagMs: 70, lagBytes: 0x800, heartbeatAgeMs: null });
    const stale = judgeStream(input({ file: file({ lagMs: 70, worker: worker(STATUS_FRESH_MS + 1) }), target: null }));
    expect(stale).toMatchObject({ phase: 'cdc', lagMs: 70 + STATUS_FRESH_MS + 1, heartbeatAgeMs: null });
    expect(stale.error).toBe(
      `the worker's status is ${STATUS_FRESH_MS + 1} ms old (it rewrites it every 250 ms; stale after ${STATUS_FRESH_MS} ms) and no heartbeat measures the lag on the source: its lag 70 ms counts as ${70 + STATUS_FRESH_MS + 1} ms (starved or frozen? see replicate status)`,
    );
  });

  test('a status file exactly at the heartbeat limit is stale, not stalled; one ms older is stalled', () => {
    const atLimit = judgeStream(input({ file: file({ lagMs: 70, worker: worker(LIMIT) }), target: null }));
    expect(atLimit).toMatchObject({ phase: 'cdc', lagMs: 70 + LIMIT, heartbeatAgeMs: null });
    const over = judgeStream(input({ file: file({ lagMs: 70, worker: worker(LIMIT + 1) }), target: null }));
    expect(over.phase).toBe('stalled');
    expect(over.lagMs).toBe(70 + LIMIT + 1);
    expect(over.error).toBe(
      `stalled: worker 4242 has not written its status for ${LIMIT + 1} ms (limit ${LIMIT} ms, gates.maxHeartbeatAgeMs); the worker is frozen or cut off: see replicate status, then replicate stop and replicate start`,
    );
  });

  test('fails if the status file has no worker record: stalled, never fresh', () => {
    const j = judgeStream(input({ file: file({ worker: undefined }), target: null }));
    expect(j.phase).toBe('stalled');
    expect(j.error).toMatch(/^stalled: worker \? has not written its status/);
  });

  test('both a frozen file and an old heartbeat are named, and the larger lag is reported', () => {
    const j = judgeStream(input({ file: file({ lagMs: 10, worker: worker(40_000) }), target: { sourceCommitAtMs: NOW - 90_000 } }));
    expect(j.phase).toBe('stalled');
    expect(j.heartbeatAgeMs).toBe(90_000);
    expect(j.lagMs).toBe(89_000);
    expect(j.error).toMatch(/status for 40000 ms .*; the newest heartbeat applied on the target is 90000 ms old/);
  });

  test('heartbeats are judged from exactly one limit after CDC began, with the worker\'s own interval', () => {
    const judged = judgeStream(input({ file: file({ cdcSince: iso(LIMIT), heartbeat: { everyMs: 2000 } }), target: { sourceCommitAtMs: NOW - 5000 } }));
    expect(judged.heartbeatAgeMs).toBe(5000);
    expect(judged.lagMs).toBe(3000);
    // within the first limit: only a commit from this CDC session (younger than it) is measured
    const early = judgeStream(input({ file: file({ cdcSince: iso(5000) }), target: { sourceCommitAtMs: NOW - 5001 } }));
    expect(early.heartbeatAgeMs).toBeNull();
    const earlyFromThisSession = judgeStream(input({ file: file({ cdcSince: iso(5000) }), target: { sourceCommitAtMs: NOW - 5000 } }));
    expect(earlyFromThisSession).toMatchObject({ heartbeatAgeMs: 5000, lagMs: 4000 });
    // a worker that does not say its interval: the default
    const defaulted = judgeStream(input({ file: file({ heartbeat: {} as WorkerStatusFile['heartbeat'] }), target: { sourceCommitAtMs: NOW - 5000 } }));
    expect(defaulted.lagMs).toBe(5000 - HEARTBEAT_EVERY_MS);
  });

  test('fails to measure heartbeats of a worker that emits none, or before CDC', () => {
    expect(judgeStream(input({ file: file({ heartbeat: undefined }), target: { sourceCommitAtMs: NOW - 3_600_000 } }))).toMatchObject({ phase: 'cdc', heartbeatAgeMs: null });
    expect(judgeStream(input({ file: file({ cdcSince: undefined }), target: { sourceCommitAtMs: NOW - 3_600_000 } }))).toMatchObject({ phase: 'cdc', heartbeatAgeMs: null });
    const load = judgeStream(input({ file: file({ phase: 'full-load' }), target: { sourceCommitAtMs: NOW - 3_600_000 } }));
    expect(load).toEqual({ phase: 'full-load', lagMs: null, lagBytes: null, heartbeatAgeMs: null });
  });

  test('a heartbeat newer than the source clock is 0 ms old, and the lag never negative', () => {
    const j = judgeStream(input({ target: { sourceCommitAtMs: NOW + 2000 } }));
    expect(j).toMatchObject({ phase: 'cdc', heartbeatAgeMs: 0, lagMs: 0 });
  });

  test('lag in bytes: measured in CDC and when stopped, not during the full load or without source facts', () => {
    expect(judgeStream(input({ file: file({ phase: 'stopped', lagMs: 5 }) }))).toEqual({ phase: 'stopped', lagMs: 5, lagBytes: 0x800, heartbeatAgeMs: null, appliedRowsPerSec: 0 });
    expect(judgeStream(input({ file: file({ phase: 'full-load' }) })).lagBytes).toBeNull();
    expect(judgeStream(input({ source: null })).lagBytes).toBeNull();
    expect(judgeStream(input({ file: file({ appliedPosition: undefined }), source: { currentLsn: '0/1800', confirmedLsn: null, nowMs: NOW } })).lagBytes).toBeNull();
  });

  test('a gone worker is failed with its pid and the fix, whatever its lag said', () => {
    expect(judgeStream(input({ alive: false, file: file({ lagMs: 5 }) }))).toEqual({
      phase: 'failed',
      lagMs: null,
      lagBytes: 0x800,
      heartbeatAgeMs: null,
      appliedRowsPerSec: 0,
      error: 'worker 4242 is gone (killed?): run replicate start to resume',
    });
    // a status file without a worker record is judged, not a crash
    expect(judgeStream(input({ alive: false, file: file({ worker: undefined }) }))).toMatchObject({ phase: 'failed', error: expect.stringMatching(/is gone \(killed\?\)/) });
    // a stopped worker's process is expected to be gone
    expect(judgeStream(input({ alive: false, file: file({ phase: 'stopped' }) })).phase).toBe('stopped');
  });

  test('a running stream keeps the worker\'s own error (e.g. rows dead-lettered) when not stalled', () => {
    expect(judgeStream(input({ file: file({ error: '2 rows dead-lettered' }) }))).toMatchObject({ phase: 'cdc', error: '2 rows dead-lettered' });
    expect(judgeStream(input())).not.toHaveProperty('error');
    expect(judgeStream(input({ file: file({ phase: 'stopped' }) }))).not.toHaveProperty('error');
  });
});
