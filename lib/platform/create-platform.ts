import type { ResolvedEnvironment, ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError, asCutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import { exported, importOptional } from './optional-module.ts';
import type { Inspector, KitCleaner, Throttler, Platform, Replicator, SequenceSync, ShadowMirror, Snapshotter, TrafficRouter, Validator, WriteFence } from './roles.ts';
import { unavailableRole } from './unavailable-role.ts';
import { engineOfUrl } from '../engines/engine-of-url.ts';

type Ctor<A extends unknown[], T> = new (...args: A) => T;

/**
 * The platform of an environment: `postgres` (local roles under lib/replication, lib/backup,
 * lib/diff, lib/assess, lib/router, lib/traffic) or `aws` (lib/aws/create-aws-platform.ts).
 * Modules are imported lazily: a role that is missing from this build, or not configured (no
 * router), answers NOT_SUPPORTED when used instead of breaking every command. Constructing the
 * platform connects to nothing; roles connect on first use.
 */
export async function createPlatform(env: ResolvedEnvironment, out: Output): Promise<Platform> {
  if (env.platform === 'aws') {
    const url = new URL('../aws/create-aws-platform.ts', import.meta.url);
    const mod = await importOptional(url, 'the aws platform');
    const create = exported<(env: ResolvedEnvironment, out: Output) => Platform | Promise<Platform>>(mod, 'createAwsPlatform', url);
    return await create(env, out);
  }
  return createPostgresPlatform(env, out);
}

async function createPostgresPlatform(env: ResolvedPostgresEnvironment, out: Output): Promise<Platform> {
  const made: object[] = [];
  const role = async <T extends object>(file: string, exportName: string, what: string, make: (ctor: Ctor<never[], T>) => T, fields: Record<string, unknown> = {}): Promise<T> => {
    try {
      const url = new URL(file, import.meta.url);
      const ctor = exported<Ctor<never[], T>>(await importOptional(url, what), exportName, url);
      const instance = make(ctor);
      made.push(instance);
      return instance;
    } catch (err) {
      return unavailableRole<T>(asCutoverError(err), fields);
    }
  };
  // a MySQL-family source (mysql:// or mariadb://): the engine-neutral roles, and a clear refusal
  // for the local control plane's PostgreSQL-only pieces (the worker reads PostgreSQL's WAL)
  if (engineOfUrl(env.source.url) === 'mysql') return mysqlSourcePlatform(env, out, role, made);
  // one throttler paces the snapshot's and the validation's reads on blue (the worker has its own)
  const throttler = await role<Throttler>('../replication/open-source-throttler.ts', 'SourceThrottlerRole', 'pacing (the throttler)', (C) => new (C as AnyCtor<Throttler>)(env, out));
  const [inspector, snapshotter, forward, reverse, fence, sequences] = await Promise.all([
    role<Inspector>('../assess/postgres-inspector.ts', 'PostgresInspector', 'assess (the inspector)', (C) => new (C as AnyCtor<Inspector>)(env, out)),
    role<Snapshotter>('../backup/postgres-snapshotter.ts', 'PostgresSnapshotter', 'snapshot', (C) => new (C as AnyCtor<Snapshotter>)(env, out, undefined, throttler)),
    role<Replicator>('../replication/postgres-replicator.ts', 'PostgresReplicator', 'replication', (C) => new (C as AnyCtor<Replicator>)(env, 'forward', out), { direction: 'forward' }),
    role<Replicator>('../replication/postgres-replicator.ts', 'PostgresReplicator', 'reverse replication', (C) => new (C as AnyCtor<Replicator>)(env, 'reverse', out), { direction: 'reverse' }),
    role<WriteFence>('../traffic/postgres-write-fence.ts', 'PostgresWriteFence', 'the write fence', (C) => new (C as AnyCtor<WriteFence>)(env)),
    role<SequenceSync>('../replication/sequence-sync.ts', 'PostgresSequenceSync', 'sequence sync', (C) => new (C as AnyCtor<SequenceSync>)(env, out)),
  ]);
  // given both streams: rows that differ while one of them moves them are re-checked at an aligned position
  const validator = await role<Validator>('../diff/postgres-validator.ts', 'PostgresValidator', 'validate', (C) => new (C as AnyCtor<Validator>)(env, out, forward, { throttler, reverse }));
  const cleaner = await role<KitCleaner>('../replication/kit-cleaner.ts', 'PostgresKitCleaner', 'cancel (the kit cleaner)', (C) => new (C as AnyCtor<KitCleaner>)(env, out));
  return assemble(env, role, made, { inspector, snapshotter, forward, reverse, validator, fence, sequences, cleaner, throttler });
}

type RoleLoader = <T extends object>(file: string, exportName: string, what: string, make: (ctor: Ctor<never[], T>) => T, fields?: Record<string, unknown>) => Promise<T>;
type AnyCtor<T> = new (...args: unknown[]) => T;

async function mysqlSourcePlatform(env: ResolvedPostgresEnvironment, out: Output, role: RoleLoader, made: object[]): Promise<Platform> {
  // forward: the kit's binlog replicator (full load aligned with a binlog position, then CDC)
  const forward = await role<Replicator>('../replication/binlog-replicator.ts', 'BinlogReplicator', 'replication (binlog)', (C) => new (C as AnyCtor<Replicator>)(env, out), { direction: 'forward' });
  // green's pgoutput stream applied into blue through mysql2 (lib/replication/mysql-reverse-worker.ts)
  const reverse = await role<Replicator>('../replication/postgres-replicator.ts', 'PostgresReplicator', 'reverse replication (into MySQL)', (C) => new (C as AnyCtor<Replicator>)(env, 'reverse', out), { direction: 'reverse' });
  const [inspector, validator, fence, sequences, snapshotter] = await Promise.all([
    role<Inspector>('../engines/mysql/mysql-inspector.ts', 'MysqlInspector', 'assess (the MySQL inspector)', (C) => new (C as AnyCtor<Inspector>)(env, out)),
    // given both streams: rows and reconciliations that differ while one of them moves them are re-checked at an aligned position
    role<Validator>('../diff/cross-engine-validator.ts', 'CrossEngineValidator', 'validate (cross-engine)', (C) => new (C as AnyCtor<Validator>)(env, out, forward, reverse)),
    role<WriteFence>('../engines/mysql/mysql-write-fence.ts', 'MysqlWriteFence', 'the MySQL write fence', (C) => new (C as AnyCtor<WriteFence>)(env)),
    role<SequenceSync>('../engines/mysql/cross-engine-sequence-sync.ts', 'CrossEngineSequenceSync', 'sequence sync (AUTO_INCREMENT)', (C) => new (C as AnyCtor<SequenceSync>)(env, out)),
    role<Snapshotter>('../backup/mysql-snapshotter.ts', 'MysqlSnapshotter', 'snapshot (MySQL logical export)', (C) => new (C as AnyCtor<Snapshotter>)(env, out)),
  ]);
  // blue's `_cutover` database and green's slots, publications, origins and `_cutover` schema
  const cleaner = await role<KitCleaner>('../replication/mysql-kit-cleaner.ts', 'MysqlSourceKitCleaner', 'cancel (the kit cleaner)', (C) => new (C as AnyCtor<KitCleaner>)(env, out));
  return assemble(env, role, made, { inspector, snapshotter, forward, reverse, validator, fence, sequences, cleaner });
}

async function assemble(
  env: ResolvedPostgresEnvironment,
  role: RoleLoader,
  made: object[],
  roles: Omit<Platform, 'name' | 'router' | 'close' | 'cleaner'> & { cleaner: KitCleaner },
): Promise<Platform> {
  const { inspector, snapshotter, forward, reverse, validator, fence, sequences, cleaner, throttler } = roles;
  const router = env.router
    ? await role<TrafficRouter>('./router-client.ts', 'RouterClient', 'the router client', (C) => new (C as AnyCtor<TrafficRouter>)(env.router!.adminUrl))
    : unavailableRole<TrafficRouter>(
        new CutoverError('NOT_SUPPORTED', `environment ${env.name} has no router configured, so traffic cannot be read or moved`, {
          fix: `set environments.${env.name}.router.adminUrl in ${env.configFile} (the rehearsal starts one)`,
        }),
      );
  return {
    name: 'postgres',
    inspector,
    snapshotter,
    forward,
    reverse,
    validator,
    router,
    // the kit's router mirrors reads (lib/router/shadow-mirror.ts); its client is both roles
    ...(env.router ? { shadow: router as unknown as ShadowMirror } : {}),
    fence,
    sequences,
    cleaner,
    ...(throttler ? { throttler } : {}),
    async close() {
      // each role owns its connections; close those that say how
      await Promise.all(
        made.map(async (r) => {
          const closable = r as { close?: () => Promise<void>; end?: () => Promise<void> };
          if (typeof closable.close === 'function') await closable.close().catch(() => {});
          else if (typeof closable.end === 'function') await closable.end().catch(() => {});
        }),
      );
    },
  };
}
