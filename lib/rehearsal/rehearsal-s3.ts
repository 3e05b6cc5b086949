import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../errors.ts';

export interface RehearsalS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

const BUCKET = 'cutover-rehearsal';

/**
 * An S3-compatible server (s3rver) on a free loopback port, storing in `dir`, so the rehearsal's
 * backups go through the same S3 client code as the AWS bucket. s3rver accepts one fixed key
 * pair; it is put in this process's environment (inherited by the replication worker), where the
 * SDK credential chain finds it. Loopback only, and a throwaway store.
 */
export async function startRehearsalS3(dir: string): Promise<RehearsalS3> {
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
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.resolve(dir), configureBuckets: [{ name: BUCKET, configs: [] }] });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, bucket: BUCKET, stop: () => server.close() };
}
