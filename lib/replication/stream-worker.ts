import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';
import type { Output } from '../output/output.ts';
import { MysqlReverseWorker } from './mysql-reverse-worker.ts';
import { ReplicationWorker, type WorkerOptions } from './replication-worker.ts';
import { streamNames, type Direction, type StreamNames } from './stream-names.ts';

/** One replication stream's worker, whatever engines it reads and writes. */
export interface StreamWorker {
  readonly names: StreamNames;
  /** Runs until `signal` aborts (status `stopped`) or a fatal error (status `failed`, rethrown). */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * The worker for a stream, by the engine it writes into: PostgreSQL → PostgreSQL (either
 * direction) is ReplicationWorker; reverse into a MySQL-family blue is MysqlReverseWorker (the same
 * pgoutput stream on green, applied through mysql2).
 */
export function createStreamWorker(env: ResolvedPostgresEnvironment, direction: Direction, options: WorkerOptions, out: Output): StreamWorker {
  const names = streamNames(env, direction, options.wave);
  if (engineOfUrl(names.writeUrl) === 'mysql') {
    if (direction !== 'reverse') {
      throw new CutoverError('NOT_SUPPORTED', 'the PostgreSQL change stream cannot feed a MySQL-family target in the forward direction', {
        fix: 'forward replication from a MySQL-family source reads its binlog (source.url mysql://…, target.url postgres://…)',
      });
    }
    return new MysqlReverseWorker(env, options, out);
  }
  return new ReplicationWorker(env, direction, options, out);
}
