import type http from 'node:http';
import { sendJson, type RouterCore } from './router-core.ts';

/**
 * The router's admin API (JSON, loopback only), what the `postgres` platform's `TrafficRouter`
 * calls:
 *   GET  /state                      -> RouterState
 *   PUT  /weights {readWeightGreen}  -> RouterState
 *   POST /writes/hold {maxHoldMs?}   -> RouterState & { inflightAtHold, drained } (returns once in-flight writes finished)
 *   PUT  /writes/target {side}       -> RouterState
 *   POST /writes/release             -> { released, holdMs: {p50,p99,max}, releasedBy }
 *   GET  /metrics                    -> RouterMetrics
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
      const drain = await core.holdWrites(cap);
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
    default:
      return sendJson(res, 404, {
        error: 'USAGE',
        message: `no admin route ${route}`,
        allowed: 'GET /state, PUT /weights, POST /writes/hold, PUT /writes/target, POST /writes/release, GET /metrics',
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
