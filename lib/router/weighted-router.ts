import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CutoverError } from '../errors.ts';
import { handleAdmin } from './admin-api.ts';
import { RouterCore, sendJson, type RouterCoreOptions } from './router-core.ts';

export interface WeightedRouterOptions extends RouterCoreOptions {
  /** Traffic port on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Admin API port on 127.0.0.1. @default a free port */
  readonly adminPort?: number;
}

export interface RunningWeightedRouter {
  /** Where clients send traffic, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The admin API (`RouterClient` talks to it), `http://127.0.0.1:<adminPort>`. */
  readonly adminUrl: string;
  /** Closes both servers and every upstream connection; held writes are let go first. */
  stop(): Promise<void>;
}

/**
 * Starts the local weighted router: a `node:http` reverse proxy on 127.0.0.1 in front of the
 * blue and green apps, with keep-alive connections to both, plus its admin API on a second
 * loopback port. See `RouterCore` for the routing rules and `admin-api.ts` for the API.
 */
export async function startWeightedRouter(options: WeightedRouterOptions): Promise<RunningWeightedRouter> {
  for (const [name, url] of [['blueUrl', options.blueUrl], ['greenUrl', options.greenUrl]] as const) {
    if (!/^http:\/\//.test(url ?? '')) {
      throw new CutoverError('USAGE', `router ${name} must be an http:// URL`, { received: url, allowed: 'http://host:port', fix: `pass the ${name === 'blueUrl' ? 'blue' : 'green'} app's base URL` });
    }
  }
  const core = new RouterCore(options);
  const traffic = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    core.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: String(err) });
      else res.destroy();
    });
  });
  // the kit's client closes an idle connection after 4 s (undici's default): far inside this, so a
  // starved kit never sends a call on a connection the router is closing (Node's 5 s default left 1 s)
  const admin = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handleAdmin(core, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: String(err) });
    });
  });
  try {
    await listen(traffic, options.port ?? 0);
    await listen(admin, options.adminPort ?? 0);
  } catch (err) {
    traffic.close();
    admin.close();
    core.dispose();
    throw new CutoverError('CONNECTION_FAILED', `router could not listen on 127.0.0.1: ${(err as Error).message}`, {
      received: { port: options.port, adminPort: options.adminPort },
      fix: 'choose free ports or leave them out to get free ones',
      cause: err,
    });
  }
  const portOf = (s: http.Server) => (s.address() as AddressInfo).port;
  let stopped = false;
  return {
    url: `http://127.0.0.1:${portOf(traffic)}`,
    adminUrl: `http://127.0.0.1:${portOf(admin)}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      core.dispose();
      await Promise.all([close(traffic), close(admin)]);
    },
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
