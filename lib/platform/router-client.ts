import { CutoverError } from '../errors.ts';
import type { RouterMetrics, RouterState, ShadowAnswer, ShadowFigures, ShadowMirror, ShadowSample, ShadowSettings, Side, TrafficRouter, WriteDrain } from '../platform/roles.ts';

/** Admin calls answer fast; a hold waits for in-flight writes (at most 5 s), hence the margin. */
const ADMIN_TIMEOUT_MS = 30_000;

/** Calls that change nothing (GET) or set a value (PUT): sent again once if their connection broke. */
const REPEATABLE = new Set(['GET', 'PUT']);

/** A pooled connection the router closed as the call went out: the call can be sent again if it is repeatable. */
function connectionReset(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

/**
 * `TrafficRouter` over the local weighted router's admin API (see lib/router/admin-api.ts).
 * An unreachable router is CONNECTION_FAILED naming the URL; a refused value is USAGE with the
 * router's own explanation.
 */
export class RouterClient implements TrafficRouter, ShadowMirror {
  private readonly base: string;

  constructor(adminUrl: string) {
    this.base = adminUrl.replace(/\/+$/, '');
  }

  state(): Promise<RouterState> {
    return this.call<RouterState>('GET', '/state');
  }

  async setReadWeight(greenPercent: number): Promise<void> {
    await this.call('PUT', '/weights', { readWeightGreen: greenPercent });
  }

  async holdWrites(maxHoldMs: number, drainMs?: number): Promise<WriteDrain> {
    const r = await this.call<WriteDrain>('POST', '/writes/hold', drainMs === undefined ? { maxHoldMs } : { maxHoldMs, drainMs });
    return { inflightAtHold: r.inflightAtHold, drained: r.drained };
  }

  async setWriteTarget(side: Side): Promise<void> {
    await this.call('PUT', '/writes/target', { side });
  }

  releaseWrites(): Promise<{ released: number; holdMs: { p50: number; p99: number; max: number }; refused?: number }> {
    return this.call('POST', '/writes/release');
  }

  metrics(): Promise<RouterMetrics> {
    return this.call<RouterMetrics>('GET', '/metrics');
  }

  configureShadow(settings: ShadowSettings | null): Promise<ShadowFigures> {
    return this.call<ShadowFigures>('PUT', '/shadow', settings ?? { percent: 0 });
  }

  shadowFigures(): Promise<ShadowFigures> {
    return this.call<ShadowFigures>('GET', '/shadow');
  }

  shadowSamples(after: number, limit: number): Promise<{ samples: ShadowSample[]; figures: ShadowFigures }> {
    return this.call('GET', `/shadow/samples?after=${after}&limit=${limit}`);
  }

  recheck(request: { method: string; path: string }): Promise<{ blue: ShadowAnswer; green: ShadowAnswer }> {
    return this.call('POST', '/shadow/recheck', request);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = this.base + path;
    const send = () =>
      fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
      });
    let res: Response;
    try {
      // a keep-alive connection the router closed just as this call went out (a starved process
      // sends on it before it has read the close): a GET or PUT is sent once more, on a new one
      res = await send().catch((err: unknown) => (REPEATABLE.has(method) && connectionReset(err) ? send() : Promise.reject(err)));
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CutoverError('CONNECTION_FAILED', `router admin API at ${this.base} is not reachable (${method} ${path}: ${cause})`, {
        received: this.base,
        fix: 'start the router (`npm start` runs one for the rehearsal) or set router.adminUrl in the config to its admin URL',
        cause: err,
      });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new CutoverError('CONNECTION_FAILED', `${url} answered ${res.status} with something that is not JSON: ${text.slice(0, 80)}`, {
        received: this.base,
        fix: 'router.adminUrl must point at the router admin port, not at its traffic port or at an app',
      });
    }
    if (res.status === 404) {
      // not the kit's router admin API, or an older one without this endpoint (e.g. /shadow)
      throw new CutoverError('NOT_SUPPORTED', `router refused ${method} ${path}: no such endpoint (404) at ${this.base}`, {
        received: this.base,
        fix: "router.adminUrl must point at the kit's router admin port, and the router must be this kit's version",
      });
    }
    if (!res.ok) {
      const e = json as { message?: string; received?: unknown; allowed?: string };
      throw new CutoverError(res.status === 400 ? 'USAGE' : 'INTERNAL', `router refused ${method} ${path}: ${e.message ?? res.status}`, {
        received: e.received,
        allowed: e.allowed,
        fix: res.status === 404 ? 'router.adminUrl must point at the router admin port' : 'correct the value named above',
      });
    }
    return json as T;
  }
}
