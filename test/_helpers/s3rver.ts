import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import { S3RVER_CREDENTIALS, startLoopbackS3 } from '../../lib/rehearsal/loopback-s3.ts';

export interface TestS3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Stops the server, removes its folder and the credential variables. */
  close(): Promise<void>;
}

/**
 * The rehearsal's loopback S3-compatible server in a fresh temp folder, with `bucket` created;
 * its key pair is stubbed into the environment, where the SDK credential chain finds it.
 */
export async function startS3rver(bucket: string): Promise<TestS3Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-s3-'));
  useS3rverCredentials();
  const server = await startLoopbackS3(dir, bucket);
  return {
    endpoint: server.endpoint,
    async close() {
      vi.unstubAllEnvs();
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** s3rver accepts this key pair; the store finds it through the SDK credential chain (env vars). */
export function useS3rverCredentials(): void {
  vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_CREDENTIALS.secretAccessKey);
}
