import type { ReplicationTask, StartReplicationTaskTypeValue, TableStatistics } from '@aws-sdk/client-database-migration-service';
import { CutoverError } from '../errors.ts';
import type { ReplicationStatus, ReplicationTableStatus } from '../platform/roles.ts';

/**
 * Pure mappings between DMS task/table states and the kit's replication contract. Kept apart
 * from the SDK calls so the rules (which start type, which phase) read in one place.
 */

/** DMS statuses in which the task is doing (or about to do) work. */
export const ACTIVE_TASK_STATUSES = new Set(['running', 'starting', 'resuming']);
/** Statuses from which `StartReplicationTask` is accepted. */
export const STARTABLE_TASK_STATUSES = new Set(['ready', 'stopped', 'failed']);

export function hasEverRun(task: ReplicationTask): boolean {
  return Boolean(task.ReplicationTaskStartDate ?? task.ReplicationTaskStats?.StartDate ?? task.ReplicationTaskStats?.FreshStartDate);
}

export interface StartChoice {
  readonly type: StartReplicationTaskTypeValue;
  readonly cdcStartPosition?: string;
  readonly why: string;
}

/**
 * Which `StartReplicationTaskType`:
 * - `reload-target` when asked (`--reload`) and the task has run before (a never-run task
 *   simply starts: there is nothing to reload);
 * - reverse with a captured position: `start-replication` from `CdcStartPosition`, always — the
 *   position captured by the write switch is authoritative over any older checkpoint;
 * - `start-replication` the first time;
 * - `resume-processing` after a stop or a failure (DMS continues from its recovery checkpoint,
 *   no reload, no gap).
 */
export function chooseStartType(
  task: ReplicationTask,
  direction: 'forward' | 'reverse',
  options: { reload?: boolean; fromPosition?: string },
): StartChoice {
  const ran = hasEverRun(task);
  if (options.reload && ran) return { type: 'reload-target', why: 'reload requested' };
  if (options.fromPosition) {
    return { type: 'start-replication', cdcStartPosition: options.fromPosition, why: `CDC from ${options.fromPosition}` };
  }
  if (!ran) {
    if (direction === 'reverse') {
      throw new CutoverError('PRECONDITION_FAILED', 'the reverse task has never run and no start position was given', {
        fix: 'reverse replication is started by `cutover switch` from the position it captures; run `cutover switch`',
      });
    }
    return { type: 'start-replication', why: 'first start' };
  }
  return { type: 'resume-processing', why: `resume after ${task.Status}` };
}

export function phaseOfTask(task: ReplicationTask): ReplicationStatus['phase'] {
  const status = task.Status ?? '';
  if (status === 'failed' || (status === 'stopped' && /FATAL_ERROR/.test(task.StopReason ?? ''))) return 'failed';
  if (status === 'stopped' || status === 'stopping') return hasEverRun(task) ? 'stopped' : 'not-started';
  if (!ACTIVE_TASK_STATUSES.has(status)) return 'not-started';
  if (task.MigrationType === 'cdc') return 'cdc';
  if (task.MigrationType === 'full-load') return 'full-load';
  const stats = task.ReplicationTaskStats;
  const loading = (stats?.TablesLoading ?? 0) + (stats?.TablesQueued ?? 0) > 0;
  return (stats?.FullLoadProgressPercent ?? 0) < 100 || loading ? 'full-load' : 'cdc';
}

/** DMS validation figures of one table, shown beside the kit's own diff (issue 6). */
export interface DmsValidationStats {
  /** `ValidationState` verbatim: `Validated`, `Mismatched records`, `Not enabled`, … */
  readonly state: string;
  readonly pendingRecords: number;
  readonly failedRecords: number;
  readonly suspendedRecords: number;
}

export interface DmsTableStatus extends ReplicationTableStatus {
  /** `TableState` verbatim, e.g. `Table completed`. */
  readonly dmsState: string;
  readonly dmsValidation: DmsValidationStats;
  /** Rows DMS could not load (kept by DMS in `awsdms_apply_exceptions` on the target). */
  readonly errorRows: number;
}

export function tableStateOf(dmsState: string, phase: ReplicationStatus['phase']): ReplicationTableStatus['state'] {
  switch (dmsState) {
    case 'Before load':
      return 'pending';
    case 'Full load':
    case 'Table is being reloaded':
      return 'loading';
    case 'Table completed':
      return phase === 'cdc' ? 'cdc' : 'loaded';
    case 'Table error':
    case 'Table cancelled':
    case 'Table does not exist':
      return 'failed';
    default:
      return 'pending';
  }
}

/**
 * One DMS table statistic in the contract shape. DMS reports the source schema/table; the target
 * name is given by `targetName` (the mapping engine, when the platform has it) else the same.
 * `rows` = full-load rows + CDC inserts − CDC deletes; `totalRows` is unknown to DMS (null).
 */
export function tableStatusOf(
  stat: TableStatistics,
  phase: ReplicationStatus['phase'],
  targetName: (source: string) => string = (s) => s,
): DmsTableStatus {
  const source = `${stat.SchemaName ?? ''}.${stat.TableName ?? ''}`;
  const dmsState = stat.TableState ?? '';
  return {
    source,
    target: targetName(source),
    rows: Math.max(0, (stat.FullLoadRows ?? 0) + (stat.Inserts ?? 0) - (stat.Deletes ?? 0)),
    totalRows: null,
    state: tableStateOf(dmsState, phase),
    dmsState,
    dmsValidation: {
      state: stat.ValidationState ?? 'Not enabled',
      pendingRecords: stat.ValidationPendingRecords ?? 0,
      failedRecords: stat.ValidationFailedRecords ?? 0,
      suspendedRecords: stat.ValidationSuspendedRecords ?? 0,
    },
    errorRows: stat.FullLoadErrorRows ?? 0,
  };
}

/** `arn:aws:dms:eu-west-1:123:task:ABCD` -> `ABCD` (CloudWatch's `ReplicationTaskIdentifier`). */
export function taskResourceId(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf(':') + 1);
}
