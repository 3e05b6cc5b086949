import type { ResolvedEnvironment } from '../config/load.ts';
import type { Output } from '../output/output.ts';
import { exported, importOptional } from '../platform/optional-module.ts';
import { FileJournalStore } from './file-journal-store.ts';
import { FileLockStore } from './file-lock-store.ts';
import type { JournalStore, LockStore } from './journal-store.ts';

export interface StateStores {
  readonly journal: JournalStore;
  readonly lock: LockStore;
  /** Releases SDK clients (aws). */
  close(): void;
}

/**
 * Where an environment's journal and operator lock live: files under `stateDir` for `postgres`,
 * objects in the backup bucket for `aws` (lib/aws/s3-journal-store.ts, s3-lock-store.ts, written
 * with conditional requests). Creating them touches nothing; the first append or lock does.
 */
export async function createStateStores(env: ResolvedEnvironment, out: Output): Promise<StateStores> {
  if (env.platform === 'postgres') {
    return { journal: FileJournalStore.inStateDir(env.stateDir), lock: FileLockStore.inStateDir(env.stateDir), close() {} };
  }
  const clientsUrl = new URL('../aws/aws-clients.ts', import.meta.url);
  const journalUrl = new URL('../aws/s3-journal-store.ts', import.meta.url);
  const lockUrl = new URL('../aws/s3-lock-store.ts', import.meta.url);
  const awsClients = await importOptional(clientsUrl, 'the AWS clients');
  const createAwsClients = exported<(region: string) => unknown>(awsClients, 'createAwsClients', clientsUrl);
  const destroyAwsClients = exported<(c: unknown) => void>(awsClients, 'destroyAwsClients', clientsUrl);
  type StoreCtor<T> = new (env: ResolvedEnvironment, clients: unknown, out: Output) => T;
  const S3JournalStore = exported<StoreCtor<JournalStore>>(await importOptional(journalUrl, 'the S3 journal'), 'S3JournalStore', journalUrl);
  const S3LockStore = exported<StoreCtor<LockStore>>(await importOptional(lockUrl, 'the S3 lock'), 'S3LockStore', lockUrl);
  const clients = createAwsClients(env.region);
  return { journal: new S3JournalStore(env, clients, out), lock: new S3LockStore(env, clients, out), close: () => destroyAwsClients(clients) };
}
