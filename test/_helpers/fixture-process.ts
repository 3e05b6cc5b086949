import { workerCommand } from '../../lib/replication/worker-bundle.ts';

/**
 * node's arguments, up to the fixture's own, that run a TypeScript test fixture in a child
 * process: its esbuild bundle, cached by the content of every source it includes, as the
 * replication workers are started (lib/replication/worker-bundle.ts). `--import tsx` compiled the
 * fixture's whole import graph in every child: 1.3-1.5 CPU-s a start on this 2-core machine against
 * about 0.4 for the bundle. The child runs the same code as a real separate process; when bundling
 * fails it is started with tsx, as before.
 */
export async function fixtureNodeArgs(fixture: string): Promise<string[]> {
  return [...(await workerCommand(fixture)).nodeArgs];
}
