import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../errors.ts';

export interface LoopbackS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

/** s3rver accepts this one key pair; callers put it where the SDK credential chain finds it. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * An S3-compatible server (s3rver) on a free loopback port, storing in `dir`, with `bucket`
 * created: backups then go through the same S3 client code as the AWS bucket. A throwaway store
 * for rehearsals and tests (s3rver is a development dependency).
 */
export async function startLoopbackS3(dir: string, bucket: string): Promise<LoopbackS3> {
  let S3rver: typeof import('s3rver').default;
  try {
    S3rver = (await import('s3rver')).default;
  } catch (err) {
    throw new CutoverError('PRECONDITION_FAILED', 'the S3-compatible server for --backup-store s3 (the s3rver package) is not installed', {
      fix: 'run `npm install` (it is a development dependency), or rehearse with the default folder store',
      cause: err,
    });
  }
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.resolve(dir), configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, bucket, stop: () => server.close() };
}
