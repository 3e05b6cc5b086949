import http from 'node:http';
import type net from 'node:net';

/**
 * How long a keep-alive connection to an upstream may sit idle in the pool before the router
 * closes it itself. Below Node's own server default (`keepAliveTimeout` 5 s) and far below the
 * usual 30–75 s of apps and load balancers, so the router never hands a request to a connection
 * the app is closing at that moment (the app's FIN crossing the request: "socket hang up" /
 * ECONNRESET, and a write that may or may not have been applied).
 */
export const UPSTREAM_IDLE_MS = 4000;

/**
 * An idle connection the upstream closed after less than this is not taken as its keep-alive
 * limit: no server closes idle connections that fast as a policy; an app restarting closes all of
 * its connections at once, however long they were idle.
 */
const SHORTEST_LEARNED_CLOSE_MS = 500;

export interface UpstreamAgentOptions {
  readonly maxSockets: number;
  readonly maxFreeSockets?: number;
  /** @default UPSTREAM_IDLE_MS */
  readonly idleMs?: number;
}

/**
 * A keep-alive agent whose idle connections close after `idleMs`, or sooner when the upstream
 * announces a shorter `Keep-Alive: timeout=N` (a second before it; N = 1 is never reused), or
 * closed an idle connection itself sooner (see `ClosingFirstAgent`).
 * Node 20's agent honours that hint only when it has an idle timeout of its own to lower: with
 * none (the default) it kept connections forever and met the app's close (issue 12).
 */
export function upstreamAgent(options: UpstreamAgentOptions): http.Agent {
  return new ClosingFirstAgent({ keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxFreeSockets, timeout: options.idleMs ?? UPSTREAM_IDLE_MS });
}

/**
 * Learns when an upstream closes idle connections that it does not announce (no Keep-Alive hint,
 * e.g. gunicorn's 2 s, or a proxy's), and from then on closes its own idle connections to it after
 * half that time: the first such close may cross a request (a write then fails, as it may have
 * been applied), the next ones do not happen. Half, not a little less: the idle time is measured
 * when this process reads the close, late by however long it was starved then.
 */
class ClosingFirstAgent extends http.Agent {
  /** The shortest idle time after which the upstream was seen closing a pooled connection. */
  private upstreamClosesAfterMs: number | null = null;
  /** Pooled connections and since when they are idle. */
  private readonly idleSince = new WeakMap<net.Socket, number>();
  private readonly watched = new WeakSet<net.Socket>();

  override keepSocketAlive(socket: net.Socket): boolean {
    // typed as returning void in @types/node; Node's agent uses its result: false destroys the socket
    const kept = super.keepSocketAlive(socket) as unknown as boolean;
    if (!kept) return kept;
    this.idleSince.set(socket, performance.now());
    if (!this.watched.has(socket)) {
      this.watched.add(socket);
      socket.on('end', () => this.closedByUpstream(socket));
    }
    const limit = this.learnedIdleMs();
    if (limit !== null && (socket.timeout === undefined || socket.timeout === 0 || socket.timeout > limit)) socket.setTimeout(limit);
    return kept;
  }

  override reuseSocket(socket: net.Socket, req: http.ClientRequest): void {
    this.idleSince.delete(socket);
    super.reuseSocket(socket, req);
  }

  private closedByUpstream(socket: net.Socket): void {
    const since = this.idleSince.get(socket);
    if (since === undefined) return; // it was carrying a request: not an idle close
    const idleMs = performance.now() - since;
    if (idleMs < SHORTEST_LEARNED_CLOSE_MS) return;
    this.upstreamClosesAfterMs = Math.min(this.upstreamClosesAfterMs ?? Infinity, idleMs);
  }

  private learnedIdleMs(): number | null {
    return this.upstreamClosesAfterMs === null ? null : Math.floor(this.upstreamClosesAfterMs / 2);
  }
}
