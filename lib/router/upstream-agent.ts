import http from 'node:http';

/**
 * How long a keep-alive connection to an upstream may sit idle in the pool before the router
 * closes it itself. Below Node's own server default (`keepAliveTimeout` 5 s) and far below the
 * usual 30–75 s of apps and load balancers, so the router never hands a request to a connection
 * the app is closing at that moment (the app's FIN crossing the request: "socket hang up" /
 * ECONNRESET, and a write that may or may not have been applied).
 */
export const UPSTREAM_IDLE_MS = 4000;

export interface UpstreamAgentOptions {
  readonly maxSockets: number;
  readonly maxFreeSockets?: number;
  /** @default UPSTREAM_IDLE_MS */
  readonly idleMs?: number;
}

/**
 * A keep-alive agent whose idle connections close after `idleMs`, or sooner when the upstream
 * announces a shorter `Keep-Alive: timeout=N` (a second before it; N = 1 is never reused).
 * Node 20's agent honours that hint only when it has an idle timeout of its own to lower: with
 * none (the default) it kept connections forever and met the app's close (issue 12).
 */
export function upstreamAgent(options: UpstreamAgentOptions): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxFreeSockets, timeout: options.idleMs ?? UPSTREAM_IDLE_MS });
}
