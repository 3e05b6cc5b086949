import type http from 'node:http';
import type { ShadowSettings } from '../platform/roles.ts';
import { sendJson, type RouterCore } from './router-core.ts';
import { SHADOW_METHODS } from './shadow-mirror.ts';

/**
 * The router's admin API (JSON, loopback only), what the `postgres` platform's `TrafficRouter`
 * calls:
 *   GET  /state                      -> RouterState
 *   PUT  /weights {readWeightGreen}  -> RouterState
 *   POST /writes/hold {maxHoldMs?, drainMs?} -> RouterState & { inflightAtHold, drained } (returns once the writes in flight
 *                                    finished, or after drainMs: default the smaller of maxHoldMs and 5 s)
 *   PUT  /writes/target {side}       -> RouterState
 *   POST /writes/release             -> { released, holdMs: {p50,p99,max}, releasedBy }
 *   GET  /metrics                    -> RouterMetrics
 *   GET  /shadow                     -> ShadowFigures (shadow reads, lib/router/shadow-mirror.ts)
 *   PUT  /shadow {percent, noisePercent, timeoutMs, maxConcurrent} -> ShadowFigures (percent 0: off)
 *   GET  /shadow/samples?after=SEQ&limit=N -> { samples, figures }
 *   POST /shadow/recheck {method, path} -> { blue, green } (one read sent to both now)
 * A bad value answers 400 `{ error, message, received, allowed }`.
 */
export async function handleAdmin(core: RouterCore, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
  let body: Record<string, unknown> = {};
  try {
    body = await readJson(req);
  } catch {
    return sendJson(res, 400, { error: 'USAGE', message: 'request body is not JSON', allowed: 'a JSON object' });
  }
  switch (route) {
    case 'GET /state':
      return sendJson(res, 200, core.state());
    case 'GET /metrics':
      return sendJson(res, 200, core.metrics());
    case 'PUT /weights': {
      const w = body.readWeightGreen;
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100) {
        return sendJson(res, 400, { error: 'USAGE', message: 'readWeightGreen must be a number from 0 to 100', received: w ?? null, allowed: '0..100' });
      }
      core.setReadWeight(w);
      return sendJson(res, 200, core.state());
    }
    case 'POST /writes/hold': {
      const cap = body.maxHoldMs ?? core.maxHoldDefault;
      if (typeof cap !== 'number' || !Number.isInteger(cap) || cap <= 0) {
        return sendJson(res, 400, { error: 'USAGE', message: 'maxHoldMs must be a positive integer (ms)', received: cap, allowed: '1..' });
      }
      const drainMs = body.drainMs;
      if (drainMs !== undefined && (typeof drainMs !== 'number' || !Number.isInteger(drainMs) || drainMs < 0)) {
        return sendJson(res, 400, { error: 'USAGE', message: 'drainMs must be an integer >= 0 (ms)', received: drainMs, allowed: '0..' });
      }
      const drain = await core.holdWrites(cap, drainMs);
      return sendJson(res, 200, { ...core.state(), ...drain });
    }
    case 'PUT /writes/target': {
      const side = body.side;
      if (side !== 'blue' && side !== 'green') {
        return sendJson(res, 400, { error: 'USAGE', message: 'side must be "blue" or "green"', received: side ?? null, allowed: 'blue, green' });
      }
      core.setWriteTarget(side);
      return sendJson(res, 200, core.state());
    }
    case 'POST /writes/release':
      return sendJson(res, 200, core.releaseWrites());
    case 'GET /shadow':
      return sendJson(res, 200, core.shadow.figures());
    case 'PUT /shadow': {
      const problem = shadowSettingsProblem(body);
      if (problem) return sendJson(res, 400, { error: 'USAGE', ...problem });
      const off = body.percent === 0;
      return sendJson(res, 200, core.configureShadow(off ? null : (body as unknown as ShadowSettings)));
    }
    case 'GET /shadow/samples': {
      const q = new URL(req.url ?? '/', 'http://admin').searchParams;
      const after = Number(q.get('after') ?? 0);
      const limit = Number(q.get('limit') ?? 1000);
      if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 5000) {
        return sendJson(res, 400, { error: 'USAGE', message: 'after must be a whole number >= 0 and limit 1..5000', received: { after: q.get('after'), limit: q.get('limit') }, allowed: 'after=0.., limit=1..5000' });
      }
      return sendJson(res, 200, { samples: core.shadow.samples(after, limit), figures: core.shadow.figures() });
    }
    case 'POST /shadow/recheck': {
      const method = typeof body.method === 'string' ? body.method.toUpperCase() : null;
      if (!method || !SHADOW_METHODS.has(method) || typeof body.path !== 'string' || !body.path.startsWith('/')) {
        return sendJson(res, 400, { error: 'USAGE', message: 'a recheck is one GET or HEAD with a path starting with /', received: { method: body.method ?? null, path: body.path ?? null }, allowed: '{"method":"GET","path":"/orders/1"}' });
      }
      return sendJson(res, 200, await core.shadow.recheck(method, body.path, core.shadow.figures().settings?.timeoutMs ?? core.upstreamTimeoutMs));
    }
    default:
      return sendJson(res, 404, {
        error: 'USAGE',
        message: `no admin route ${route}`,
        allowed: 'GET /state, PUT /weights, POST /writes/hold, PUT /writes/target, POST /writes/release, GET /metrics, GET|PUT /shadow, GET /shadow/samples, POST /shadow/recheck',
      });
  }
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (!text) return resolve({});
      try {
        const v: unknown = JSON.parse(text);
        if (v && typeof v === 'object' && !Array.isArray(v)) resolve(v as Record<string, unknown>);
        else reject(new Error('not an object'));
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/** What is wrong with a PUT /shadow body, or null. `{percent: 0}` alone turns mirroring off. */
function shadowSettingsProblem(body: Record<string, unknown>): { message: string; received: unknown; allowed: string } | null {
  const pct = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;
  const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!pct(body.percent)) return { message: 'percent must be a number from 0 to 100', received: body.percent ?? null, allowed: '0..100 (0: off)' };
  if (body.percent === 0) return null;
  if (!pct(body.noisePercent)) return { message: 'noisePercent must be a number from 0 to 100', received: body.noisePercent ?? null, allowed: '0..100' };
  if (!positiveInt(body.timeoutMs)) return { message: 'timeoutMs must be a positive whole number of ms', received: body.timeoutMs ?? null, allowed: '1..' };
  if (!positiveInt(body.maxConcurrent)) return { message: 'maxConcurrent must be a positive whole number', received: body.maxConcurrent ?? null, allowed: '1..' };
  return null;
}
