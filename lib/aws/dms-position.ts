import { CutoverError } from '../errors.ts';

/**
 * Positions on the AWS platform are DMS *date positions*: `YYYY-MM-DDTHH:MM:SS`, UTC, second
 * precision. Why a time and not the task's `RecoveryCheckpoint`: the checkpoint is an opaque,
 * engine-specific string that can only be fed back to DMS, never compared; a date is accepted
 * verbatim by DMS as `CdcStartPosition` (reverse replication starts from it) and as
 * `CdcStopPosition` (`server_time:<date>`), and it can be compared with CloudWatch's
 * `CDCLatencyTarget` to decide that the target has applied everything committed before it.
 */

/** The DMS date form of `at`, rounded UP to the next whole second (never before a commit). */
export function formatDmsPosition(at: Date): string {
  const ms = Math.ceil(at.getTime() / 1000) * 1000;
  return new Date(ms).toISOString().slice(0, 19);
}

/** Parses `2024-05-01T10:00:00`, with optional `server_time:`/`commit_time:` prefix or zone. */
export function parseDmsPosition(position: string): Date {
  const bare = position.replace(/^(server_time|commit_time):/, '');
  const m = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(bare);
  const date = m ? new Date(m[2] ? bare : `${bare}Z`) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new CutoverError('NOT_SUPPORTED', 'the AWS platform waits for DMS date positions only', {
      received: position,
      allowed: 'YYYY-MM-DDTHH:MM:SS (UTC), optionally prefixed server_time: — as returned by sourcePosition()',
      fix: 'pass the position returned by the replicator’s sourcePosition(), not an LSN or checkpoint',
    });
  }
  return date;
}
