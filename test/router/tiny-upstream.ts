import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TinyUpstream {
  readonly url: string;
  readonly name: string;
  /** Requests seen, in arrival order. */
  readonly received: { method: string; path: string; body: string; headers: http.IncomingHttpHeaders }[];
  /** Requests read and not answered yet (a delayed write is in flight until its answer is sent). */
  readonly inFlight: number;
  /** `ok` answers 200; `500` answers 500; `reset` destroys the socket. */
  mode: 'ok' | '500' | 'reset';
  /** Delay before answering writes (to keep a write in flight). */
  writeDelayMs: number;
  /** Delay before answering reads (a slow shadow side). */
  readDelayMs: number;
  /** Only reads whose path this accepts are delayed (null: every read). */
  readDelayOnly: ((path: string) => boolean) | null;
  /**
   * The next this-many requests are answered 503 UNAVAILABLE with `Retry-After: 1`, as the demo
   * app answers when its database refuses writes or its pooled session was just ended.
   */
  unavailableNext: number;
  /** Those 503s on writes carry `x-cutover-not-applied: 1` (the write did nothing). */
  unavailableNotApplied: boolean;
  stop(): Promise<void>;
}

/** A small app stand-in: answers `{ side, method, path, body }` and records what it saw. */
export async function startTinyUpstream(name: string): Promise<TinyUpstream> {
  const state: Omit<TinyUpstream, 'url' | 'stop' | 'inFlight'> & { inFlight: number } = { name, received: [], inFlight: 0, mode: 'ok', writeDelayMs: 0, readDelayMs: 0, readDelayOnly: null, unavailableNext: 0, unavailableNotApplied: false };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.received.push({ method: req.method!, path: req.url!, body, headers: req.headers });
      if (state.mode === 'reset') return req.socket.destroy();
      state.inFlight++;
      const answer = () => {
        state.inFlight--;
        if (state.unavailableNext > 0) {
          state.unavailableNext--;
          const headers: Record<string, string> = { 'content-type': 'application/json', 'retry-after': '1' };
          if (state.unavailableNotApplied && req.method !== 'GET') headers['x-cutover-not-applied'] = '1';
          res.writeHead(503, headers);
          res.end(JSON.stringify({ side: name, error: 'UNAVAILABLE' }));
          return;
        }
        const status = state.mode === '500' ? 500 : 200;
        const text = JSON.stringify({ side: name, method: req.method, path: req.url, body });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      };
      if (req.method !== 'GET' && state.writeDelayMs > 0) setTimeout(answer, state.writeDelayMs);
      else if (req.method === 'GET' && state.readDelayMs > 0 && (state.readDelayOnly?.(req.url!) ?? true)) setTimeout(answer, state.readDelayMs);
      else answer();
    });
  });
  return Object.assign(state, await listenOnLoopback(server)) as TinyUpstream;
}

/** Starts an HTTP server on a free loopback port: its URL, and a stop that also ends kept-alive connections. */
export async function listenOnLoopback(server: http.Server): Promise<{ url: string; stop(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
