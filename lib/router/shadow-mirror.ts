import http from 'node:http';
import type { ShadowAnswer, ShadowFigures, ShadowSample, ShadowSettings } from '../platform/roles.ts';
import { callUpstream, type BufferedRequest } from './upstream-call.ts';
import { upstreamAgent } from './upstream-agent.ts';

/** Marks a shadow call, so the app can suppress side effects (and the router never mirrors one again). */
export const SHADOW_HEADER = 'x-cutover-shadow';

/** Only these are mirrored: they read and are safe to repeat (RFC 9110 §9.2.1). Never PATCH, POST, PUT, DELETE. */
export const SHADOW_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Bodies above this are not compared (counted as `tooLarge`). */
const MAX_SHADOW_BODY_BYTES = 1024 * 1024;
/** Samples kept for the phase to read; older ones are overwritten (counted). */
const KEEP_SAMPLES = 5000;

type Dropped = { -readonly [K in keyof ShadowFigures['dropped']]: number };
type GreenFailed = { -readonly [K in keyof ShadowFigures['greenFailed']]: number };

/** A transport error before any answer on a kept-alive socket: the server may have closed it as it was reused (asked once more). */
const STALE_SOCKET = /ECONNRESET|socket hang up|EPIPE/;

/**
 * The router's shadow reads. The router asks `choose()` per read while every read goes to blue;
 * for a chosen one it keeps blue's answer as it streams to the client, and once the client has
 * it, `mirror()` sends the same request to green (and, for `noisePercent` of them, to blue a
 * second time) off the client's path, bounded by a timeout and a concurrency limit. What the kit
 * itself cannot send or keep (over the concurrency limit, too large, overwritten) is dropped and
 * counted; green not answering (a timeout, a transport error) is not a drop: the sample is kept
 * with green's failure, for the phase to judge as green's. Samples wait in a ring for the shadow
 * phase to read and compare (the router compares nothing itself).
 */
export class ShadowMirror {
  private settings: ShadowSettings | null = null;
  /** The settings a chosen read was chosen under: blue may answer it after mirroring is off. */
  private chosenWith: ShadowSettings | null = null;
  private inflight = 0;
  /** Chosen reads whose blue answer has not ended yet. */
  private awaitingBlue = 0;
  private sampled = 0;
  private completed = 0;
  private lastSeq = 0;
  private readonly dropped: Dropped = { concurrency: 0, tooLarge: 0, overwritten: 0, blueFailed: 0 };
  private readonly greenFailed: GreenFailed = { timeout: 0, error: 0 };
  private ring: ShadowSample[] = [];
  /** Newest seq handed to a reader: trimmed samples up to it were read, not lost. */
  private readUpTo = 0;
  /** Shadow calls have their own connections: they never wait for, or hold, a client's socket. */
  private readonly agents = { blue: upstreamAgent({ maxSockets: 64 }), green: upstreamAgent({ maxSockets: 64 }) };

  constructor(
    private readonly urls: { readonly blue: URL; readonly green: URL },
    private readonly random: () => number,
  ) {}

  configure(settings: ShadowSettings | null): ShadowFigures {
    this.settings = settings && settings.percent > 0 ? { ...settings } : null;
    if (this.settings) this.chosenWith = this.settings;
    return this.figures();
  }

  /** Whether to mirror this read (the caller has checked that every read goes to blue). */
  choose(req: BufferedRequest): boolean {
    const s = this.settings;
    if (!s || !SHADOW_METHODS.has(req.method) || req.headers[SHADOW_HEADER] !== undefined) return false;
    if (this.random() * 100 >= s.percent) return false;
    this.sampled++;
    this.awaitingBlue++;
    return true;
  }

  /** Blue failed a chosen read (the client got blue's retry, not mirrored): nothing to compare green with. */
  blueFailed(): void {
    this.awaitingBlue--;
    this.dropped.blueFailed++;
  }

  /** Blue's answer to a chosen read was too large to keep. */
  tooLarge(): void {
    this.awaitingBlue--;
    this.dropped.tooLarge++;
  }

  /** The largest blue body a chosen read keeps. */
  get maxBodyBytes(): number {
    return MAX_SHADOW_BODY_BYTES;
  }

  /** Sends the chosen read to green (and maybe blue again); the client already has blue's answer. */
  mirror(req: BufferedRequest, blue: ShadowAnswer): void {
    this.awaitingBlue--;
    // a read chosen while mirroring was on is mirrored even if blue answered it after "off"
    // (under load blue can take seconds): the phase waits for it rather than losing it
    const s = this.settings ?? this.chosenWith;
    if (!s) return;
    const noise = s.noisePercent > 0 && this.random() * 100 < s.noisePercent;
    const calls = noise ? 2 : 1;
    if (this.inflight + calls > s.maxConcurrent) {
      this.dropped.concurrency++;
      return;
    }
    this.inflight += calls;
    const at = new Date().toISOString();
    const green = this.call('green', req, s.timeoutMs).finally(() => this.inflight--);
    const again = noise ? this.call('blue', req, s.timeoutMs).finally(() => this.inflight--) : Promise.resolve(undefined);
    void Promise.all([green, again]).then(([g, b2]) => {
      // green's body over the limit: the kit cannot compare it (blue's was within it)
      if (g.failure === 'too large') {
        this.dropped.tooLarge++;
        return;
      }
      if (g.failure === 'timeout') this.greenFailed.timeout++;
      else if (g.failure === 'error') this.greenFailed.error++;
      this.completed++;
      this.keep({ seq: ++this.lastSeq, at, method: req.method, path: req.path, blue, green: g, ...(b2 ? { blueAgain: b2 } : {}) });
    });
  }

  /** One read to both sides now (the shadow phase re-asks a difference after replication caught up). */
  async recheck(method: string, path: string, timeoutMs: number): Promise<{ blue: ShadowAnswer; green: ShadowAnswer }> {
    const req: BufferedRequest = { method, path, headers: {}, body: Buffer.alloc(0), arrivedAt: performance.now() };
    const [blue, green] = await Promise.all([this.call('blue', req, timeoutMs), this.call('green', req, timeoutMs)]);
    return { blue, green };
  }

  samples(after: number, limit: number): ShadowSample[] {
    const out: ShadowSample[] = [];
    for (const s of this.ring) {
      if (s.seq <= after) continue;
      out.push(s);
      if (out.length >= limit) break;
    }
    if (out.length) this.readUpTo = Math.max(this.readUpTo, out[out.length - 1]!.seq);
    return out;
  }

  figures(): ShadowFigures {
    return { settings: this.settings, sampled: this.sampled, completed: this.completed, inflight: this.inflight, awaitingBlue: this.awaitingBlue, dropped: { ...this.dropped }, greenFailed: { ...this.greenFailed }, lastSeq: this.lastSeq };
  }

  dispose(): void {
    this.settings = null;
    this.agents.blue.destroy();
    this.agents.green.destroy();
  }

  private keep(sample: ShadowSample): void {
    this.ring.push(sample);
    // trimmed in batches (a copy per sample past the limit would cost the router's loop)
    if (this.ring.length > KEEP_SAMPLES * 1.25) {
      const over = this.ring.length - KEEP_SAMPLES;
      this.dropped.overwritten += this.ring.slice(0, over).filter((x) => x.seq > this.readUpTo).length;
      this.ring = this.ring.slice(over);
    }
  }

  /**
   * A whole call (head and body) bounded by `timeoutMs`; never rejects. A transport error before
   * any answer on a kept-alive socket the server closed as it was reused is the kit's, not the
   * side's: the (idempotent) read is sent once more, within the same time limit.
   */
  private call(side: 'blue' | 'green', req: BufferedRequest, timeoutMs: number): Promise<ShadowAnswer> {
    const shadowReq: BufferedRequest = { ...req, headers: { ...req.headers, [SHADOW_HEADER]: '1' }, body: Buffer.alloc(0) };
    const started = performance.now();
    const ms = () => Math.round((performance.now() - started) * 100) / 100;
    return new Promise<ShadowAnswer>((resolve) => {
      let done = false;
      const finish = (a: ShadowAnswer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(a);
      };
      let response: http.IncomingMessage | null = null;
      const timer = setTimeout(() => {
        response?.destroy();
        finish({ status: null, body: '', failure: 'timeout', error: `did not answer within ${timeoutMs} ms`, ms: ms() });
      }, timeoutMs);
      const attempt = (retried: boolean): void => {
        const left = Math.max(1, timeoutMs - (performance.now() - started));
        void callUpstream(this.urls[side], this.agents[side], shadowReq, left, 'cutover-router-shadow').then((outcome) => {
          if (done) return outcome.kind === 'response' ? void outcome.res.destroy() : undefined;
          if (outcome.kind === 'error') {
            if (!retried && STALE_SOCKET.test(`${(outcome.error as NodeJS.ErrnoException).code ?? ''} ${outcome.error.message}`)) return attempt(true);
            const timedOut = /did not answer within/.test(outcome.error.message);
            return finish({ status: null, body: '', failure: timedOut ? 'timeout' : 'error', error: timedOut ? `did not answer within ${timeoutMs} ms` : outcome.error.message, ms: ms() });
          }
          response = outcome.res;
          const chunks: Buffer[] = [];
          let size = 0;
          outcome.res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_SHADOW_BODY_BYTES) {
              outcome.res.destroy();
              finish({ status: null, body: '', failure: 'too large', error: `body over ${MAX_SHADOW_BODY_BYTES} bytes`, ms: ms() });
            } else chunks.push(c);
          });
          outcome.res.on('end', () =>
            finish({ status: outcome.res.statusCode ?? null, body: Buffer.concat(chunks).toString('utf8'), contentType: String(outcome.res.headers['content-type'] ?? ''), ms: ms() }),
          );
          outcome.res.on('error', (err) => finish({ status: null, body: '', failure: 'error', error: err.message, ms: ms() }));
          outcome.res.on('aborted', () => finish({ status: null, body: '', failure: 'error', error: 'aborted', ms: ms() }));
        });
      };
      attempt(false);
    });
  }
}
