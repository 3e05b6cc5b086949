import path from 'node:path';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { slotSafe } from '../config/load.ts';
import { sideScope, type SchemaScope } from '../mappings/mapped-schemas.ts';

export type Direction = 'forward' | 'reverse';

/**
 * Names of one replication stream (a direction, optionally one wave): slot, publication and
 * origin on the databases, files under the state folder. Reverse names end in `_rev`; a wave
 * adds `_<wave>` (each wave is its own slot, like its own task on DMS).
 */
export interface StreamNames {
  readonly id: string;
  readonly direction: Direction;
  readonly wave?: string;
  readonly slot: string;
  readonly publication: string;
  /** Replication origin of the CDC apply session; full-load lanes use `<origin>_l<n>`. */
  readonly origin: string;
  readonly statusFile: string;
  readonly logFile: string;
  /** The resolved environment handed to the detached worker (mode 0600: it holds URLs). */
  readonly envFile: string;
  /** Where changes come from and go to in this direction. */
  readonly readUrl: string;
  /** The schemas read for the mapping (an explicit `schemas` setting, else those the mapping names). */
  readonly readScope: SchemaScope;
  readonly writeUrl: string;
  readonly mappingFile: string;
}

export function streamNames(env: ResolvedPostgresEnvironment, direction: Direction, wave?: string): StreamNames {
  const suffix = (wave ? `_${slotSafe(wave)}` : '') + (direction === 'reverse' ? '_rev' : '');
  const slot = `${env.replication.slotName}${suffix}`;
  const id = `${direction}${wave ? '-' + wave : ''}`;
  const forward = direction === 'forward';
  return {
    id,
    direction,
    wave,
    slot,
    publication: `${env.replication.publicationName}${suffix}`,
    origin: slot,
    statusFile: path.join(env.stateDir, `replication-${id}.json`),
    logFile: path.join(env.stateDir, `replication-${id}.log`),
    envFile: path.join(env.stateDir, `replication-${id}.env.json`),
    readUrl: forward ? env.source.url : env.target.url,
    readScope: sideScope(env, forward ? 'source' : 'target'),
    writeUrl: forward ? env.target.url : env.source.url,
    mappingFile: forward ? env.mappingFiles.forward : env.mappingFiles.reverse,
  };
}
