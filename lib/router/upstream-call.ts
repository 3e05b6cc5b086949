import http from 'node:http';

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

export function forwardableHeaders(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  }
  return out;
}

/** A client request, read in full: bodies are buffered so a write can wait in the hold and a read can be retried. */
export interface BufferedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly arrivedAt: number;
}

export type UpstreamOutcome =
  | { readonly kind: 'response'; readonly res: http.IncomingMessage; readonly startedAt: number }
  | { readonly kind: 'error'; readonly error: Error; readonly startedAt: number };

/**
 * Sends one buffered request to an upstream and resolves at the response head (or the transport
 * error), so the caller can still decide to retry before anything reaches the client.
 */
export function callUpstream(base: URL, agent: http.Agent, req: BufferedRequest, timeoutMs: number, via: string): Promise<UpstreamOutcome> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const headers = forwardableHeaders(req.headers);
    headers['content-length'] = String(req.body.length);
    headers['x-forwarded-by'] = via;
    let settled = false;
    const out = http.request(
      { protocol: base.protocol, hostname: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent },
      (res) => {
        settled = true;
        resolve({ kind: 'response', res, startedAt });
      },
    );
    out.setTimeout(timeoutMs, () => out.destroy(new Error(`upstream ${base.host} did not answer within ${timeoutMs} ms`)));
    out.on('error', (error) => {
      if (!settled) {
        settled = true;
        resolve({ kind: 'error', error, startedAt });
      }
    });
    out.end(req.body);
  });
}
