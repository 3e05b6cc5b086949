import path from 'node:path';
import type { ResolvedAwsEnvironment, ResolvedPostgresEnvironment } from '../config/load.ts';

/**
 * The `postgres` view of an AWS environment whose blue and green are both PostgreSQL: the same
 * mappings, validation and gate settings, with URLs built from Secrets Manager credentials. It
 * lets the platform-neutral diff engine and inspector (lib/diff, lib/assess) run on AWS from a
 * host that can reach both endpoints.
 */
export function postgresViewOfAws(env: ResolvedAwsEnvironment, urls: { source: string; target: string }): ResolvedPostgresEnvironment {
  const slot = `cutover_${env.name.replace(/\W/g, '_')}`;
  return {
    platform: 'postgres',
    protected: env.protected,
    source: { url: urls.source },
    target: { url: urls.target },
    mappings: env.mappings,
    backup: {},
    apps: {},
    replication: { slotName: slot, publicationName: slot, parallelTables: 2, chunkRows: 50_000, batchSize: 500, waves: env.replication.waves, retainedWalWarnMb: 1024 },
    validation: env.validation,
    pacing: env.pacing,
    shift: env.shift,
    shadow: env.shadow,
    gates: env.gates,
    switch: env.switch,
    bake: env.bake,
    assess: { checks: [], keepTargetRows: [] },
    smoke: env.smoke,
    name: env.name,
    isProtected: env.isProtected,
    stateDir: env.stateDir,
    mappingFiles: env.mappingFiles,
    configFile: env.configFile,
    backupDir: path.join(env.stateDir, 'backups'),
  } as ResolvedPostgresEnvironment;
}
