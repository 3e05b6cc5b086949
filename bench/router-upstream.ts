import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tiny app for router benchmarks: answers a small JSON naming itself; writes optionally slow. */
export async function startBenchUpstream(name: string, writeDelayMs = 0): Promise<{ url: string; stop(): Promise<void> }> {
  const body = JSON.stringify({ side: name, ok: true });
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (req.method !== 'GET' && writeDelayMs > 0) setTimeout(answer, writeDelayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** One request over a keep-alive agent; resolves with the answering side and the time taken. */
export function timedRequest(agent: http.Agent, url: string, method = 'GET', payload?: string): Promise<{ ms: number; status: number; side: string | null; startedAt: number }> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - startedAt, status: res.statusCode ?? 0, side: (res.headers['x-cutover-upstream'] as string | undefined) ?? null, startedAt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * q) - 1))]!;
}

export const round3 = (v: number) => Math.round(v * 1000) / 1000;
