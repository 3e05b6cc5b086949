import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { FolderBackupStore } from '../../lib/backup/backup-store.ts';
import { LazyS3BackupStore, openBackupStore } from '../../lib/backup/open-backup-store.ts';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';
import { backupLabel } from '../../lib/phases/endpoints.ts';
import { thrownCutoverError as caught } from '../_helpers/cutover-error.ts';

const lab = {
  platform: 'postgres',
  source: { url: 'postgres://u@127.0.0.1:5432/legacy' },
  target: { url: 'postgres://u@127.0.0.1:5433/new' },
  mappings: { forward: 'forward.json', reverse: 'reverse.json' },
};

const withBackup = (backup: unknown) => selectEnvironment(parseConfig({ environments: { lab: { ...lab, backup } } }, '/etc/cutover/config.json'), 'lab') as ResolvedPostgresEnvironment;

const problemsOf = (backup: unknown) => {
  const err = caught(() => withBackup(backup));
  expect(err.code).toBe('CONFIG_INVALID');
  return err.details.problems?.join('\n') ?? '';
};

describe('backup store config', () => {
  test('backup.s3 takes endpoint, prefix and forcePathStyle, defaults the region, and selects the S3 store', () => {
    const env = withBackup({ s3: { endpoint: 'http://127.0.0.1:9000', bucket: 'cutover-backups', prefix: 'teams/lab/', forcePathStyle: true } });
    expect(env.backup.s3).toEqual({ endpoint: 'http://127.0.0.1:9000', bucket: 'cutover-backups', region: 'us-east-1', prefix: 'teams/lab/', forcePathStyle: true });
    const store = openBackupStore(env);
    expect(store).toBeInstanceOf(LazyS3BackupStore);
    expect(store.location).toBe('s3://cutover-backups/teams/lab at http://127.0.0.1:9000');
    expect(backupLabel(env)).toBe(store.location);
  });

  test('the S3 store loads the AWS SDK on its first use, not when opened (a folder store never loads it)', async () => {
    // the SDK's packages are CommonJS: node's require cache lists them once loaded (this file
    // runs in its own process and imports no S3 module statically)
    const sdkLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('@aws-sdk/client-s3'));
    expect(sdkLoaded()).toBe(false);
    const store = openBackupStore(withBackup({ s3: { bucket: 'acme-cutover', region: 'eu-west-1', prefix: 'lab' } }));
    expect(store.location).toBe('s3://acme-cutover/lab');
    openBackupStore(withBackup({ dir: 'backups' }));
    expect(sdkLoaded()).toBe(false);
    const s3 = await (store as LazyS3BackupStore).open();
    expect(s3.constructor.name).toBe('S3BackupStore');
    expect(s3.location).toBe(store.location);
    expect(sdkLoaded()).toBe(true);
  });

  test('an AWS bucket without an endpoint is named without one', () => {
    const env = withBackup({ s3: { bucket: 'acme-cutover', region: 'eu-west-1' } });
    expect(openBackupStore(env).location).toBe('s3://acme-cutover');
    expect(backupLabel(env)).toBe('s3://acme-cutover');
  });

  test('without backup.s3 the folder store is used, backup.dir resolved beside the config', () => {
    expect(openBackupStore(withBackup(undefined))).toEqual(new FolderBackupStore('/etc/cutover/.cutover/lab/backups'));
    const env = withBackup({ dir: 'backups' });
    expect(openBackupStore(env)).toBeInstanceOf(FolderBackupStore);
    expect(openBackupStore(env).location).toBe('/etc/cutover/backups');
    expect(backupLabel(env)).toBe('folder /etc/cutover/backups');
  });

  test('fails if both backup.dir and backup.s3 are set, naming both keys', () => {
    expect(problemsOf({ dir: 'backups', s3: { bucket: 'cutover-backups' } })).toMatch(
      /^environments\.lab\.backup: got .*; expected one backup store: set backup\.dir \(a folder\) or backup\.s3 \(a bucket\), not both$/m,
    );
  });

  test('fails if the prefix is absolute or has an empty or ".." segment', () => {
    for (const prefix of ['/cutover', 'a//b', 'a/../b', '']) {
      expect(problemsOf({ s3: { bucket: 'cutover-backups', prefix } })).toMatch(/^environments\.lab\.backup\.s3\.prefix: got .*; expected a key prefix like "cutover\/lab"/m);
    }
  });

  test('fails if credentials are put in backup.s3: they come from the AWS SDK chain only', () => {
    expect(problemsOf({ s3: { bucket: 'cutover-backups', accessKeyId: 'AKIA…', secretAccessKey: 'x' } })).toMatch(
      /environments\.lab\.backup\.s3: unknown field\(s\) "accessKeyId", "secretAccessKey"/,
    );
  });

  test('fails if the endpoint is not a URL or forcePathStyle not a boolean', () => {
    const problems = problemsOf({ s3: { bucket: 'cutover-backups', endpoint: '127.0.0.1:9000', forcePathStyle: 'yes' } });
    expect(problems).toMatch(/environments\.lab\.backup\.s3\.endpoint: got "127\.0\.0\.1:9000"/);
    expect(problems).toMatch(/environments\.lab\.backup\.s3\.forcePathStyle: got "yes"/);
  });
});
