import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { vi } from 'vitest';

export interface TestS3Server {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Stops the server, removes its folder and the credential variables. */
  close(): Promise<void>;
}

/**
 * An S3-compatible server (s3rver) on a free loopback port, in a fresh temp folder, with `bucket`
 * created. Its key pair is put in the environment, where the SDK credential chain finds it.
 */
export async function startS3rver(bucket: string): Promise<TestS3Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-test-s3-'));
  useS3rverCredentials();
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      vi.unstubAllEnvs();
      await server.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** s3rver accepts this key pair; the store finds it through the SDK credential chain (env vars). */
export function useS3rverCredentials(): void {
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
}
