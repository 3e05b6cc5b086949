import type { ReplicationStatus } from '../platform/roles.ts';
import { lsnDistance } from './lsn.ts';
import type { WorkerStatusFile } from './status-file.ts';

/** How often a CDC worker emits its heartbeat on the source (a logical message in its own transaction). */
export const HEARTBEAT_EVERY_MS = 1000;

/** What the source says now about one stream (one query, read by `replicate status`, not by the worker). */
export interface SourceFacts {
  /** `pg_current_wal_lsn()`. */
  readonly currentLsn: string;
  /** The slot's `confirmed_flush_lsn`: what the worker applied on the target and confirmed. null: no such slot. */
  readonly confirmedLsn: string | null;
  /** The source's clock, ms since the epoch (heartbeat times are source commit times: no clock skew). */
  readonly nowMs: number;
}

/** What the target says about one stream: `_cutover.apply_state`, written in the same transaction as the changes. */
export interface TargetFacts {
  /** Source commit time of the newest transaction applied (a heartbeat at least every second). */
  readonly sourceCommitAtMs: number | null;
}

export interface StreamJudgement {
  readonly phase: ReplicationStatus['phase'];
  readonly lagMs: number | null;
  readonly lagBytes: number | null;
  /** Source-clock age of the newest heartbeat applied on the target; null when not measured. */
  readonly heartbeatAgeMs: number | null;
  readonly error?: string;
  /** 0 for a stream whose worker is not running (its file keeps the rate it last measured); absent otherwise: the file's. */
  readonly appliedRowsPerSec?: number;
}

export interface JudgeInput {
  readonly file: WorkerStatusFile;
  /** The worker process exists (and is not a zombie). */
  readonly alive: boolean;
  readonly source: SourceFacts | null;
  readonly target: TargetFacts | null;
  /** This machine's clock (the status file's times are the worker's, on this machine). */
  readonly localNowMs: number;
  /** `gates.maxHeartbeatAgeMs`. */
  readonly maxHeartbeatAgeMs: number;
}

/**
 * The workers rewrite their status file every 250 ms. Past this age the worker's own lag figure
 * is stale (a starved or frozen process): it no longer counts as it stands but grows with the
 * file's age, and the stream says so — long before the file is old enough to call it `stalled`.
 */
export const STATUS_FRESH_MS = 2000;

/**
 * Lag and liveness of one stream measured against the source, not taken from the worker's own
 * report: bytes = the source's current WAL position minus the slot's confirmed position; time =
 * age of the newest heartbeat the target has applied (the worker emits one on the source every
 * second and it travels through the slot like any change), less the heartbeat interval. A worker
 * that is running (per its status file) but whose heartbeat, or whose status file, is older than
 * `maxHeartbeatAgeMs` is `stalled`, whatever the process table says (SIGSTOP, a hung socket).
 * The worker's own figure counts only while its file is fresh (STATUS_FRESH_MS); when no
 * heartbeat measures the lag, a stale figure counts as its value plus the file's age.
 */
export function judgeStream(input: JudgeInput): StreamJudgement {
  const { file, source, target, localNowMs, maxHeartbeatAgeMs } = input;
  const running = file.phase === 'full-load' || file.phase === 'cdc';
  const confirmed = source?.confirmedLsn ?? file.appliedPosition ?? null;
  const lagBytes = source && confirmed && (file.phase === 'cdc' || file.phase === 'stopped') ? lsnDistance(confirmed, source.currentLsn) : null;
  if (running && !input.alive) {
    return { phase: 'failed', lagMs: null, lagBytes, heartbeatAgeMs: null, appliedRowsPerSec: 0, error: `worker ${file.worker?.pid} is gone (killed?): run replicate start to resume` };
  }
  if (!running) return { phase: file.phase, lagMs: file.lagMs, lagBytes, heartbeatAgeMs: null, appliedRowsPerSec: 0, ...(file.error ? { error: file.error } : {}) };

  const fileAgeMs = file.worker ? Math.max(0, localNowMs - Date.parse(file.worker.heartbeatAt)) : Infinity;
  const streamingForMs = file.cdcSince ? Math.max(0, localNowMs - Date.parse(file.cdcSince)) : 0;
  // heartbeats are measured only in CDC and when the worker can emit them
  const newestAppliedAgeMs =
    file.phase === 'cdc' && file.heartbeat !== undefined && file.heartbeat.error === undefined && source && target?.sourceCommitAtMs != null
      ? Math.max(0, Math.round(source.nowMs - target.sourceCommitAtMs))
      : null;
  // in the first limit after CDC began, the newest applied commit may predate a restart: it counts
  // only when it is from this CDC session (younger than the session; durations, so no clock skew)
  const heartbeatAgeMs =
    newestAppliedAgeMs !== null && (streamingForMs >= maxHeartbeatAgeMs || newestAppliedAgeMs <= streamingForMs) ? newestAppliedAgeMs : null;

  const problems: string[] = [];
  if (fileAgeMs > maxHeartbeatAgeMs) {
    problems.push(`worker ${file.worker?.pid ?? '?'} has not written its status for ${Math.round(fileAgeMs)} ms (limit ${maxHeartbeatAgeMs} ms, gates.maxHeartbeatAgeMs)`);
  }
  // A worker draining a backlog (after a restart, an outage, a large transaction) applies no new
  // heartbeat until it reaches the ones behind the backlog: while it keeps applying changes, an old
  // heartbeat is lag, not a stall. A cut-off stream applies nothing, and is stalled.
  const appliedAgeMs = file.appliedAt ? Math.max(0, localNowMs - Date.parse(file.appliedAt)) : Infinity;
  const catchingUp = fileAgeMs <= maxHeartbeatAgeMs && appliedAgeMs <= maxHeartbeatAgeMs;
  if (heartbeatAgeMs !== null && heartbeatAgeMs > maxHeartbeatAgeMs && !catchingUp) {
    const applied = appliedAgeMs === Infinity ? 'the worker has applied nothing since it started' : `the worker last applied changes ${Math.round(appliedAgeMs)} ms ago`;
    problems.push(`the newest heartbeat applied on the target is ${heartbeatAgeMs} ms old (limit ${maxHeartbeatAgeMs} ms, gates.maxHeartbeatAgeMs) and ${applied}`);
  }

  let lagMs: number | null = null;
  let staleNote: string | null = null;
  if (file.phase === 'cdc') {
    const freshFile = fileAgeMs <= Math.min(STATUS_FRESH_MS, maxHeartbeatAgeMs);
    // the worker's own figure (oldest change received and not applied) holds only while it is fresh
    const own = freshFile ? file.lagMs : null;
    const fromHeartbeat = heartbeatAgeMs === null ? null : Math.max(0, heartbeatAgeMs - (file.heartbeat?.everyMs ?? HEARTBEAT_EVERY_MS));
    // nothing from the source measures it: a stale figure grows with the file's age (the changes
    // since then are not known to be applied)
    const aged = own === null && fromHeartbeat === null && file.lagMs !== null ? file.lagMs + Math.round(fileAgeMs) : null;
    if (aged !== null && problems.length === 0) {
      staleNote = `the worker's status is ${Math.round(fileAgeMs)} ms old (it rewrites it every 250 ms; stale after ${Math.min(STATUS_FRESH_MS, maxHeartbeatAgeMs)} ms) and no heartbeat measures the lag on the source: its lag ${file.lagMs} ms counts as ${aged} ms (starved or frozen? see replicate status)`;
    }
    const candidates = [own, fromHeartbeat, aged].filter((x): x is number => x !== null);
    lagMs = candidates.length ? Math.max(...candidates) : null;
  }
  if (problems.length) {
    // a worker still writing its status is alive: while it applies one large source transaction no
    // heartbeat behind it reaches the target, and a restart would apply that transaction again
    const advice =
      fileAgeMs > maxHeartbeatAgeMs
        ? 'the worker is frozen or cut off: see replicate status, then replicate stop and replicate start'
        : file.openTransaction
          ? `worker ${file.worker?.pid ?? '?'} is running and applying a large source transaction as it arrives (${file.openTransaction.changesApplied} of ${file.openTransaction.changesReceived} changes received applied; no heartbeat reaches the target behind it; a restart would apply it again from its start): look again in a minute`
          : `worker ${file.worker?.pid ?? '?'} is running (its status is ${Math.round(fileAgeMs)} ms old): it may be applying one large source transaction (no heartbeat reaches the target behind it; a restart would apply it again from its start), or its stream is cut off: look again in a minute, and if it is still stalled, replicate stop and replicate start`;
    return { phase: 'stalled', lagMs, lagBytes, heartbeatAgeMs, error: `stalled: ${problems.join('; ')}; ${advice}` };
  }
  const error = [file.error, staleNote].filter((x): x is string => !!x).join('; ');
  return { phase: file.phase, lagMs, lagBytes, heartbeatAgeMs, ...(error ? { error } : {}) };
}
