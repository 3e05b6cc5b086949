import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { connect, startTestPostgres } from '../_helpers/pg.ts';

type Server = Awaited<ReturnType<typeof startTestPostgres>>;

/** A legacy (source) and a new (target) server for one test file, a client on each and a scratch folder. */
export interface ServerPair {
  readonly sourceServer: Server;
  readonly targetServer: Server;
  readonly source: pg.Client;
  readonly target: pg.Client;
  readonly dir: string;
  /** Ends the clients, stops the servers and removes the folder (for `afterAll`). */
  dispose(): Promise<void>;
}

/** Starts both servers at once; `folder` names the scratch folder (in the system temp folder). */
export async function startServerPair(folder: string): Promise<ServerPair> {
  const [sourceServer, targetServer] = await Promise.all([startTestPostgres('legacy'), startTestPostgres('new')]);
  const [source, target] = await Promise.all([connect(sourceServer.url), connect(targetServer.url)]);
  const dir = mkdtempSync(path.join(os.tmpdir(), `${folder}-`));
  return {
    sourceServer,
    targetServer,
    source,
    target,
    dir,
    async dispose() {
      await Promise.all([source.end().catch(() => {}), target.end().catch(() => {})]);
      await Promise.all([sourceServer.dispose(), targetServer.dispose()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
