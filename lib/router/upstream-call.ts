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
 * Times one request is sent on a kept-alive connection that turns out closed before a byte of it
 * was written. A close is caught before the write (see `sendOnce`), and the agent drops that
 * connection, so the next attempt takes another one or opens one; a few cover connections an app
 * closed together (a restart).
 */
const UNSENT_ATTEMPTS = 4;

/**
 * Sends one buffered request to an upstream and resolves at the response head (or the transport
 * error), so the caller can still decide to retry before anything reaches the client.
 *
 * A request whose kept-alive connection the upstream closed before any byte of the request was
 * written to it is sent again on another connection, whatever its method: the upstream cannot
 * have seen it. Nothing else is resent here: once a byte is written, a reset or a close without
 * an answer may come from an app that read the request, applied it and died, so a write may or may
 * not have been applied and only the caller may decide (it retries reads, never such writes).
 */
export async function callUpstream(base: URL, agent: http.Agent, req: BufferedRequest, timeoutMs: number, via: string): Promise<UpstreamOutcome> {
  const startedAt = performance.now();
  for (let attempt = 1; ; attempt++) {
    const sent = await sendOnce(base, agent, req, timeoutMs, via, startedAt);
    if (sent.kind === 'error' && sent.unsent && attempt < UNSENT_ATTEMPTS) continue;
    return sent.kind === 'error' ? { kind: 'error', error: sent.error, startedAt } : sent;
  }
}

type Attempt = Extract<UpstreamOutcome, { kind: 'response' }> | { readonly kind: 'error'; readonly error: Error; readonly startedAt: number; readonly unsent: boolean };

/**
 * One attempt. On a new connection the request is written at once. On a reused (kept-alive) one it
 * is written only after one poll of the event loop: an app closes an idle connection when its own
 * keep-alive timer says so, which can be the very moment the agent hands that connection to this
 * request, and its close (FIN or RST, already in our kernel) is then read before we write, instead
 * of crossing the request on the wire ("socket hang up": with the request written, nobody can tell
 * whether the app read it). Failing before the write is `unsent`: provably not received.
 */
function sendOnce(base: URL, agent: http.Agent, req: BufferedRequest, timeoutMs: number, via: string, startedAt: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const headers = forwardableHeaders(req.headers);
    headers['content-length'] = String(req.body.length);
    headers['x-forwarded-by'] = via;
    let settled = false;
    let reused = false;
    let written = false;
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
        resolve({ kind: 'error', error, startedAt, unsent: reused && !written });
      }
    });
    const write = () => {
      written = true;
      out.end(req.body);
    };
    out.once('socket', (socket) => {
      if (!out.reusedSocket) return write();
      reused = true;
      // the first immediate runs in this loop turn's check phase, the second after the next poll
      setImmediate(() =>
        setImmediate(() => {
          if (settled) return; // the close was read: 'socket hang up' / ECONNRESET, nothing written
          if (socket.destroyed || socket.readableEnded || !socket.writable) out.destroy(new Error(`upstream ${base.host} closed a kept-alive connection before the request was written`));
          else write();
        }),
      );
    });
  });
}
