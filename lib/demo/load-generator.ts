import http from 'node:http';
import { isCanonicalOrder, type CanonicalOrder } from './canonical-order.ts';
import { Ledger } from './ledger.ts';
import { SeededRandom } from './seeded-random.ts';
import { CutoverError } from '../errors.ts';
import { upstreamAgent } from '../router/upstream-agent.ts';

/**
 * Open-loop load against a base URL (the router): requests start at `rate` per second whether
 * or not earlier ones have finished, so a stall shows up as latency and failures, not as a
 * politely slower client. Writes follow an order's life (place → pay → ship), one write per order
 * at a time, so the ledger's last state for an order is well defined. Reads only touch rows that
 * exist on both systems (seeded orders, customers, products), so replication lag on green can
 * never turn a read into a 404.
 */
export interface LoadOptions {
  readonly baseUrl: string;
  /** Requests started per second. @default 200 */
  readonly rate?: number;
  /** Fraction of requests that are writes. @default 0.3 */
  readonly writeRatio?: number;
  /** Ids that exist on both systems (from `seedCainiao`'s summary). */
  readonly ids: { readonly customers: readonly number[]; readonly activeProducts: readonly number[]; readonly readableOrders: readonly number[] };
  /** @default 7 */
  readonly seed?: number;
  /** A request without an answer after this is a failure (`timeout`). Longer than the router's write hold cap. @default 30000 */
  readonly timeoutMs?: number;
  /** Requests in flight beyond this are not started and count as `client-overload` failures. @default 2000 */
  readonly maxInFlight?: number;
  /**
   * At most one `GET /reconciliation` (a whole-table report, seconds long on a million orders) in
   * flight and at most one per this many ms: a finance report, not a customer click. @default 10000
   */
  readonly reconciliationEveryMs?: number;
  /** The first this-many failures of each reason are kept (`firstFailuresByReason`). @default 20 */
  readonly firstFailuresPerReason?: number;
}

export interface SecondSample {
  /** Second since the start. */
  readonly t: number;
  readonly requests: number;
  readonly failed: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface FailureRecord {
  /** When the failure was seen (epoch ms). */
  readonly at: number;
  /** When the request was sent (epoch ms). */
  readonly startedAt?: number;
  readonly method: string;
  readonly path: string;
  readonly reason: string;
  readonly status: number | null;
  /** Which app answered (the router's `x-cutover-upstream` header), when one did. */
  readonly upstream?: string;
  /** The answer's `error` field (e.g. `UNAVAILABLE`), when it had one. */
  readonly error?: string;
  /** The answer's `message` field, cut to 160 characters, when it had one. */
  readonly message?: string;
}

export interface LoadCounters {
  readonly startedAt: number;
  readonly elapsedMs: number;
  /** Requests that finished (answered or failed). */
  readonly total: number;
  readonly failed: number;
  readonly reads: number;
  readonly writes: number;
  readonly inFlight: number;
  readonly acknowledgedWrites: number;
  readonly byStatusClass: Record<'2xx' | '3xx' | '4xx' | '5xx', number>;
  /** `http-503`, `timeout`, `reset`, `refused`, `client-overload`, `error:<code>` … */
  readonly failuresByReason: Record<string, number>;
  /** The last 100 failures, newest last. */
  readonly recentFailures: readonly FailureRecord[];
  /**
   * The first failures of each reason (at most `firstFailuresPerReason`), oldest first: where a
   * burst began, however many came after it (`failuresByReason` has the counts).
   */
  readonly firstFailuresByReason: Readonly<Record<string, readonly FailureRecord[]>>;
  readonly perSecond: readonly SecondSample[];
}

export interface LoadRun {
  readonly ledger: Ledger;
  /** Every failure so far (at most the first 20,000), oldest first: for attributing failures to a fault. */
  failureLog(): readonly FailureRecord[];
  counters(): LoadCounters;
  /** Stops starting requests, waits for those in flight, returns the final counters. */
  stop(): Promise<LoadCounters>;
}

type Step = 'pay' | 'ship';
const NEXT_AFTER: Record<Step, string> = { pay: 'PAID', ship: 'SHIPPED' };

function percentileOf(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function failureReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.message === 'timeout') return 'timeout';
  if (e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || /socket hang up/i.test(e?.message ?? '')) return 'reset';
  if (e?.code === 'ECONNREFUSED') return 'refused';
  return `error:${e?.code ?? 'unknown'}`;
}

/** The highest request rate one load generator drives (requests/s). */
export const MAX_LOAD_RATE = 20_000;

export function startLoad(options: LoadOptions): LoadRun {
  const rate = options.rate ?? 200;
  const writeRatio = options.writeRatio ?? 0.3;
  const reconciliationEveryMs = options.reconciliationEveryMs ?? 10_000;
  let reconciling = false;
  let lastReconciliation = -Infinity;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxInFlight = options.maxInFlight ?? 2000;
  const { customers, activeProducts, readableOrders } = options.ids;
  const problems: string[] = [];
  if (!(rate > 0 && rate <= MAX_LOAD_RATE)) problems.push(`rate must be between 1 and ${MAX_LOAD_RATE} requests/s, got ${rate}`);
  if (!(writeRatio >= 0 && writeRatio <= 1)) problems.push(`writeRatio must be between 0 and 1, got ${writeRatio}`);
  if (!customers.length || !activeProducts.length || !readableOrders.length) problems.push('ids.customers, ids.activeProducts and ids.readableOrders must not be empty');
  if (problems.length) throw new CutoverError('USAGE', 'invalid load generator options', { problems, fix: 'pass the ids from seedCainiao(...).ids and a positive rate' });

  const base = new URL(options.baseUrl);
  // idle connections close before the router's own keep-alive close can meet a request (upstream-agent.ts)
  const agent = upstreamAgent({ maxSockets: 512 });
  const rng = new SeededRandom(options.seed ?? 7);
  const ledger = new Ledger();
  const ready: { id: number; next: Step }[] = [];
  const startedAt = Date.now();
  const t0 = performance.now();
  const c = {
    total: 0,
    failed: 0,
    reads: 0,
    writes: 0,
    inFlight: 0,
    byStatusClass: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } as Record<'2xx' | '3xx' | '4xx' | '5xx', number>,
    failuresByReason: {} as Record<string, number>,
  };
  const recentFailures: FailureRecord[] = [];
  const firstFailuresByReason: Record<string, FailureRecord[]> = {};
  const firstPerReason = options.firstFailuresPerReason ?? 20;
  const seconds: { requests: number; failed: number; latencies: number[] }[] = [];
  const pending = new Set<Promise<void>>();

  const bucket = (ms: number) => {
    const s = Math.floor(ms / 1000);
    while (seconds.length <= s) seconds.push({ requests: 0, failed: 0, latencies: [] });
    return seconds[s]!;
  };

  const failureLog: FailureRecord[] = [];
  const fail = (method: string, path: string, reason: string, status: number | null, answer?: { upstream?: string; json?: unknown; startedAt?: number }) => {
    c.failed++;
    c.failuresByReason[reason] = (c.failuresByReason[reason] ?? 0) + 1;
    const error = (answer?.json as { error?: unknown } | null)?.error;
    const message = (answer?.json as { message?: unknown } | null)?.message;
    const record: FailureRecord = {
      at: Date.now(),
      ...(answer?.startedAt ? { startedAt: Math.round(answer.startedAt) } : {}),
      method,
      path,
      reason,
      status,
      ...(answer?.upstream ? { upstream: answer.upstream } : {}),
      ...(typeof error === 'string' ? { error } : {}),
      ...(typeof message === 'string' ? { message: message.slice(0, 160) } : {}),
    };
    recentFailures.push(record);
    if (recentFailures.length > 100) recentFailures.shift();
    const first = (firstFailuresByReason[reason] ??= []);
    if (first.length < firstPerReason) first.push(record);
    if (failureLog.length < 20_000) failureLog.push(record);
  };

  /** One HTTP exchange; resolves with status and parsed JSON body, or rejects with a network error / 'timeout'. */
  const exchange = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; json: unknown; upstream?: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path,
          agent,
          headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            clearTimeout(timer);
            let json: unknown = null;
            try {
              json = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
            } catch {
              json = null;
            }
            const upstream = res.headers['x-cutover-upstream'];
            resolve({ status: res.statusCode ?? 0, json, ...(typeof upstream === 'string' ? { upstream } : {}) });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });

  /** Runs one request and accounts for it; `onAnswer` sees 2xx answers, `onNoAnswer` network failures. */
  const issue = (
    kind: 'read' | 'write',
    method: string,
    path: string,
    body: unknown,
    onAnswer?: (status: number, json: unknown) => void,
    onNoAnswer?: () => void,
  ) => {
    if (c.inFlight >= maxInFlight) {
      c.total++;
      if (kind === 'read') c.reads++;
      else c.writes++;
      fail(method, path, 'client-overload', null);
      onAnswer?.(0, null);
      return;
    }
    c.inFlight++;
    const started = performance.now();
    const sentAt = Date.now();
    const p = exchange(method, path, body).then(
      ({ status, json, upstream }) => {
        const b = bucket(performance.now() - t0);
        b.requests++;
        b.latencies.push(performance.now() - started);
        const cls = `${Math.floor(status / 100)}xx` as '2xx';
        if (cls in c.byStatusClass) c.byStatusClass[cls]++;
        if (status < 200 || status >= 300) {
          b.failed++;
          fail(method, path, `http-${status}`, status, { upstream, json, startedAt: sentAt });
        }
        onAnswer?.(status, json);
      },
      (err: unknown) => {
        const b = bucket(performance.now() - t0);
        b.requests++;
        b.failed++;
        fail(method, path, failureReason(err), null, { startedAt: sentAt });
        onNoAnswer?.();
      },
    );
    const tracked = p.finally(() => {
      c.inFlight--;
      c.total++;
      if (kind === 'read') c.reads++;
      else c.writes++;
      pending.delete(tracked);
    });
    pending.add(tracked);
  };

  const acknowledge = (json: unknown): CanonicalOrder | null => (isCanonicalOrder(json) ? ledger.record(json).order : null);

  const placeOrder = () => {
    const lines = rng.sample(activeProducts, rng.int(1, 3)).map((productId) => ({ productId, quantity: rng.int(1, 2) }));
    issue('write', 'POST', '/orders', { customerId: rng.pick(customers), items: lines }, (status, json) => {
      if (status >= 200 && status < 300) {
        const order = acknowledge(json);
        if (order) ready.push({ id: order.id, next: 'pay' });
      }
    });
  };

  const advanceOrder = (o: { id: number; next: Step }) => {
    issue(
      'write',
      'POST',
      `/orders/${o.id}/${o.next}`,
      undefined,
      (status, json) => {
        if (status >= 200 && status < 300) {
          acknowledge(json);
          if (o.next === 'pay') ready.push({ id: o.id, next: 'ship' });
        } else if (status === 502 || status === 504) {
          // a gateway lost the app's answer (timeout, reset): the write may have committed
          ledger.markUnanswered(o.id, NEXT_AFTER[o.next]);
        } else if (status !== 404 && status !== 409) {
          ready.push(o); // refused before doing anything (5xx, overload): try again later
        }
      },
      () => ledger.markUnanswered(o.id, NEXT_AFTER[o.next]),
    );
  };

  const read = () => {
    const r = rng.next();
    if (r < 0.5) issue('read', 'GET', `/orders/${rng.pick(readableOrders)}`, undefined);
    else if (r < 0.7) issue('read', 'GET', `/customers/${rng.pick(customers)}/orders`, undefined);
    else if (r < 0.99) issue('read', 'GET', `/inventory/${rng.pick(activeProducts)}`, undefined);
    else if (!reconciling && performance.now() - lastReconciliation >= reconciliationEveryMs) {
      reconciling = true;
      lastReconciliation = performance.now();
      issue('read', 'GET', '/reconciliation', undefined, () => (reconciling = false), () => (reconciling = false));
    } else issue('read', 'GET', `/inventory/${rng.pick(activeProducts)}`, undefined);
  };

  let started = 0;
  const tick = () => {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    while (started < due) {
      started++;
      if (rng.next() >= writeRatio) read();
      else if (ready.length && rng.next() < 0.6) advanceOrder(ready.shift()!);
      else placeOrder();
    }
  };
  const timer = setInterval(tick, 5);

  const counters = (): LoadCounters => ({
    startedAt,
    elapsedMs: Math.round(performance.now() - t0),
    total: c.total,
    failed: c.failed,
    reads: c.reads,
    writes: c.writes,
    inFlight: c.inFlight,
    acknowledgedWrites: ledger.entries().reduce((s, e) => s + e.writes, 0),
    byStatusClass: { ...c.byStatusClass },
    failuresByReason: { ...c.failuresByReason },
    recentFailures: [...recentFailures],
    firstFailuresByReason: Object.fromEntries(Object.entries(firstFailuresByReason).map(([reason, list]) => [reason, [...list]])),
    perSecond: seconds.map((s, t) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
      return { t, requests: s.requests, failed: s.failed, p50Ms: round(percentileOf(sorted, 50)), p99Ms: round(percentileOf(sorted, 99)) };
    }),
  });

  let stopping: Promise<LoadCounters> | null = null;
  return {
    ledger,
    failureLog: () => failureLog,
    counters,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        while (pending.size) await Promise.allSettled([...pending]);
        agent.destroy();
        return counters();
      })();
      return stopping;
    },
  };
}
