/**
 * Task settings of the two DMS tasks, as pure data (AWS DMS task-settings JSON). Kept beside each
 * other so the differences between forward and reverse are visible at a glance.
 */

const LOGGING = {
  EnableLogging: true,
  LogComponents: [
    { Id: 'SOURCE_UNLOAD', Severity: 'LOGGER_SEVERITY_DEFAULT' },
    { Id: 'SOURCE_CAPTURE', Severity: 'LOGGER_SEVERITY_DEFAULT' },
    { Id: 'TARGET_LOAD', Severity: 'LOGGER_SEVERITY_DEFAULT' },
    { Id: 'TARGET_APPLY', Severity: 'LOGGER_SEVERITY_DEFAULT' },
    { Id: 'TASK_MANAGER', Severity: 'LOGGER_SEVERITY_DEFAULT' },
    { Id: 'VALIDATOR_EXT', Severity: 'LOGGER_SEVERITY_DEFAULT' },
  ],
};

/** Truncating a LOB or a value silently is data loss: stop the task instead and let a person decide. */
const ERROR_BEHAVIOR = {
  DataErrorPolicy: 'STOP_TASK',
  DataTruncationErrorPolicy: 'STOP_TASK',
  DataErrorEscalationPolicy: 'STOP_TASK',
  TableErrorPolicy: 'STOP_TASK',
  ApplyErrorDeletePolicy: 'STOP_TASK',
  ApplyErrorInsertPolicy: 'STOP_TASK',
  ApplyErrorUpdatePolicy: 'STOP_TASK',
  FailOnNoTablesCaptured: true,
  FailOnTransactionConsistencyBreached: true,
  RecoverableErrorCount: 10,
  RecoverableErrorInterval: 5,
};

/**
 * LOBs are replicated in limited mode (fast) with `DataTruncationErrorPolicy: STOP_TASK`, so a
 * LOB bigger than `LobMaxSize` stops the task rather than arriving truncated.
 */
const LOB_HANDLING = { SupportLobs: true, FullLobMode: false, LimitedSizeLobMode: true, LobMaxSize: 1024, InlineLobMaxSize: 0 };

const VALIDATION = {
  EnableValidation: true,
  ValidationMode: 'ROW_LEVEL',
  ThreadCount: 5,
  FailureMaxCount: 10_000,
  TableFailureMaxCount: 1_000,
  HandleCollationDiff: true,
  RecordFailureDelayLimitInMinutes: 0,
};

/** Forward (blue -> green): full load of every selected table in parallel, then batched CDC. */
export function forwardTaskSettings(): Record<string, unknown> {
  return {
    TargetMetadata: { ...LOB_HANDLING, BatchApplyEnabled: true, ParallelLoadThreads: 0, TaskRecoveryTableEnabled: true },
    FullLoadSettings: {
      // Green's schema comes from the new app's migrations; a restarted full load must not
      // duplicate rows, so tables are truncated, never dropped.
      TargetTablePrepMode: 'TRUNCATE_BEFORE_LOAD',
      MaxFullLoadSubTasks: 8,
      CommitRate: 10_000,
      CreatePkAfterFullLoad: false,
      StopTaskCachedChangesApplied: false,
      StopTaskCachedChangesNotApplied: false,
    },
    ChangeProcessingTuning: {
      BatchApplyPreserveTransaction: true,
      BatchApplyTimeoutMin: 1,
      BatchApplyTimeoutMax: 30,
      BatchApplyMemoryLimit: 500,
      BatchSplitSize: 0,
      CommitTimeout: 1,
      MemoryLimitTotal: 1024,
    },
    ErrorBehavior: ERROR_BEHAVIOR,
    ValidationSettings: VALIDATION,
    Logging: LOGGING,
  };
}

/**
 * Reverse (green -> blue) after the write switch: changes only, applied transaction by
 * transaction (low volume; blue's triggers and constraints see the same order green saw).
 * `DO_NOTHING`: the reverse task must never truncate or recreate a legacy table.
 */
export function reverseTaskSettings(): Record<string, unknown> {
  return {
    TargetMetadata: { ...LOB_HANDLING, BatchApplyEnabled: false, TaskRecoveryTableEnabled: true },
    FullLoadSettings: { TargetTablePrepMode: 'DO_NOTHING' },
    ChangeProcessingTuning: { CommitTimeout: 1, MemoryLimitTotal: 1024 },
    ErrorBehavior: ERROR_BEHAVIOR,
    ValidationSettings: VALIDATION,
    Logging: LOGGING,
  };
}
