import { readFileSync, rmSync } from 'node:fs';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';

/**
 * The environment a detached worker is started with, read from the file its replicator wrote. The
 * file holds both databases' URLs, passwords included: it is removed once read, so neither a
 * stopped worker nor `cancel` leaves credentials in the state folder (a restart writes a new one).
 */
export function readWorkerStartFile(file: string): ResolvedPostgresEnvironment {
  const env = JSON.parse(readFileSync(file, 'utf8')) as ResolvedPostgresEnvironment;
  rmSync(file, { force: true });
  return env;
}
