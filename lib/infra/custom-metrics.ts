/**
 * Custom metrics the runbook publishes and the dashboard and alarms read. Names are a contract
 * between `lib/infra` (readers) and the AWS platform of the runbook (writer).
 */
export const CUTOVER_METRICS_NAMESPACE = 'Cutover';

/** Every custom metric carries this dimension with the environment name. */
export const ENVIRONMENT_DIMENSION = 'Environment';

export const CUTOVER_METRIC_NAMES = {
  /** Percent of reads weighted to green by the read rule (0..100), published after every shift. */
  greenReadWeight: 'GreenReadWeightPercent',
  /** 1 when writes go to green, 0 when they go to blue. */
  writesOnGreen: 'WritesOnGreen',
  /** Rows missing + extra + different found by the last validation (0 is equal). */
  validationDifferences: 'ValidationDifferences',
  /** 1 when the last validation was equal, 0 otherwise. */
  validationEqual: 'ValidationEqual',
} as const;
