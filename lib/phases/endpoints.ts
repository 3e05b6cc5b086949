import { s3BackupLocation } from '../platform/backup-store.ts';
import type { ResolvedEnvironment } from '../config/load.ts';

/** How plans name the databases: host, port and database, never a password. */
export function sourceLabel(env: ResolvedEnvironment): string {
  if (env.platform === 'postgres') return `source ${redactUrl(env.source.url)}`;
  return `source ${env.source.engine} ${env.source.host}:${env.source.port}/${env.source.database}`;
}

export function targetLabel(env: ResolvedEnvironment): string {
  if (env.platform === 'postgres') return `target ${redactUrl(env.target.url)}`;
  return 'endpoint' in env.target ? `target ${env.target.endpoint}:${env.target.port}/${env.target.database}` : `target Aurora PostgreSQL (${env.target.database}, created by cdk deploy)`;
}

export function backupLabel(env: ResolvedEnvironment): string {
  if (env.platform === 'postgres') return env.backup.s3 ? s3BackupLocation(env.backup.s3) : `folder ${env.backupDir}`;
  return `backup bucket of ${env.name}`;
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
