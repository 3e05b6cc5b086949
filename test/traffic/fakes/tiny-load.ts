/**
 * A small open-loop load for phase tests: a request every `intervalMs` (reads, and one write in
 * `writeEvery`), not waiting for answers. Counts failures (non-2xx, resets) and which upstream
 * acknowledged each write.
 */
export interface TinyLoad {
  readonly failures: string[];
  readonly reads: { ok: number };
  readonly writes: { side: string; ms: number; endedAt: number }[];
  stop(): Promise<void>;
}

export function startTinyLoad(url: string, options: { intervalMs?: number; writeEvery?: number } = {}): TinyLoad {
  const failures: string[] = [];
  const reads = { ok: 0 };
  const writes: { side: string; ms: number; endedAt: number }[] = [];
  const inflight = new Set<Promise<void>>();
  let n = 0;
  const one = async (write: boolean) => {
    const t0 = performance.now();
    try {
      const res = await fetch(url + (write ? '/orders' : '/orders/1'), write ? { method: 'POST', body: JSON.stringify({ n }), headers: { 'content-type': 'application/json' } } : {});
      await res.arrayBuffer();
      if (res.status >= 300) failures.push(`${write ? 'POST' : 'GET'} ${res.status}`);
      else if (write) writes.push({ side: res.headers.get('x-cutover-upstream') ?? '?', ms: performance.now() - t0, endedAt: performance.now() });
      else reads.ok++;
    } catch (err) {
      failures.push(String(err));
    }
  };
  const timer = setInterval(() => {
    n++;
    const p = one(options.writeEvery !== undefined && n % options.writeEvery === 0);
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }, options.intervalMs ?? 5);
  return {
    failures,
    reads,
    writes,
    async stop() {
      clearInterval(timer);
      await Promise.all([...inflight]);
    },
  };
}
