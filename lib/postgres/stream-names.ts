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
  /** Replication origin of the CDC apply session; full-load lanes use `loadLaneOrigin(origin, n)`. */
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
    origin: replicationOriginName(slot),
    statusFile: path.join(env.stateDir, `replication-${id}.json`),
    logFile: path.join(env.stateDir, `replication-${id}.log`),
    envFile: path.join(env.stateDir, `replication-${id}.env.json`),
    readUrl: forward ? env.source.url : env.target.url,
    readScope: sideScope(env, forward ? 'source' : 'target'),
    writeUrl: forward ? env.target.url : env.source.url,
    mappingFile: forward ? env.mappingFiles.forward : env.mappingFiles.reverse,
  };
}

/**
 * The replication origin a stream's apply session commits under (`pg_replication_origin_session_setup`).
 * Every transaction the kit applies carries it, so the stream of the other direction recognises
 * and skips it (no ping-pong). It is the slot's name: one origin per stream, as each can be held
 * by one session at a time.
 */
export function replicationOriginName(slot: string): string {
  return slot;
}

/** The origin of full-load lane `lane` of a stream (each lane is its own session). */
export function loadLaneOrigin(origin: string, lane: number): string {
  return `${origin}_l${lane}`;
}

/** True when `name` is the stream's CDC origin or one of its full-load lane origins. */
export function isStreamOrigin(origin: string, name: string): boolean {
  return name === origin || (name.startsWith(`${origin}_l`) && /^\d+$/.test(name.slice(origin.length + 2)));
}

/**
 * SQL condition (on `pg_replication_origin.roname`) matching a stream's origins, for dropping
 * them: `roname = $n or roname like $n+1`. Returns the text and its two parameters.
 */
export function streamOriginCondition(origin: string, firstParam = 1): { sql: string; params: [string, string] } {
  const like = origin.replace(/[\\%_]/g, (c) => `\\${c}`) + '\\_l%';
  return { sql: `(roname = $${firstParam} or roname like $${firstParam + 1})`, params: [origin, like] };
}

/** Every replication origin the kit may create for an environment, both directions and every wave. */
export function environmentOrigins(env: ResolvedPostgresEnvironment): { direction: Direction; origin: string }[] {
  const out: { direction: Direction; origin: string }[] = [];
  for (const direction of ['forward', 'reverse'] as const) {
    for (const wave of [undefined, ...env.replication.waves.map((w) => w.name)]) out.push({ direction, origin: streamNames(env, direction, wave).origin });
  }
  return out;
}

/**
 * Which transactions a stream reading in `direction` must skip: those the kit itself applied to
 * the database it reads, i.e. committed under an origin of the opposite direction (any wave, any
 * full-load lane). Transactions under any other origin (the database is itself a subscriber of
 * someone else's replication) are the user's data and are replicated.
 */
export function appliedByKit(env: ResolvedPostgresEnvironment, direction: Direction): (originName: string) => boolean {
  const opposite = environmentOrigins(env)
    .filter((o) => o.direction !== direction)
    .map((o) => o.origin);
  return (name) => opposite.some((origin) => isStreamOrigin(origin, name));
}
