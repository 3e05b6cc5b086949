import pg from 'pg';
import { CutoverError } from '../errors.ts';
import { KIT_SESSION_OPTIONS } from './kit-session.ts';

/** The URL without its password, for messages. */
export function withoutPassword(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/**
 * A connected session of the kit's own: named `cutover-…` (the write fence never ends those),
 * writing through a fenced side (KIT_SESSION_OPTIONS), and never crashing the process when the
 * server drops it (the next query reports it). A refused connection is CONNECTION_FAILED with
 * the URL, password hidden.
 */
export async function openKitClient(url: string, applicationName: `cutover-${string}`): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName, options: KIT_SESSION_OPTIONS });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new CutoverError('CONNECTION_FAILED', `cannot connect to ${withoutPassword(url)}: ${(err as Error).message}`, {
      fix: 'check the URL, that the server runs, and the credentials',
      cause: err,
    });
  }
  return client;
}
