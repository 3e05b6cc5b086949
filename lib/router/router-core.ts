import http from 'node:http';
import net from 'node:net';
import type { RouterMetrics, RouterState, ShadowAnswer, ShadowSettings, Side, WriteDrain } from '../platform/roles.ts';
import { ShadowMirror } from './shadow-mirror.ts';
import { upstreamAgent } from './upstream-agent.ts';
import { callUpstream, forwardableHeaders, type BufferedRequest, type UpstreamOutcome } from './upstream-call.ts';
import { UpstreamRecorder } from './upstream-recorder.ts';
import { WriteHold, type HoldFigures } from './write-hold.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/** Methods that only read and may be retried (RFC 9110 §9.2.2); everything else is a write. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface RouterCoreOptions {
  readonly blueUrl: string;
  readonly greenUrl: string;
  /** Cap of a write hold when the caller gives none. @default 15000 */
  readonly maxHoldMs?: number;
  /** An upstream that has not answered (or gone quiet) after this is a failure. @default 10000 */
  readonly upstreamTimeoutMs?: number;
  /** Request bodies above this are refused with 413. @default 10 MiB */
  readonly maxBodyBytes?: number;
  /** Source of randomness for the read split (tests pin it). @default Math.random */
  readonly random?: () => number;
  /** An idle connection to an upstream is closed after this (sooner if the upstream's Keep-Alive hint says so). 0: none, Node's default, which meets the app's own close. @default UPSTREAM_IDLE_MS (4 s) */
  readonly upstreamIdleMs?: number;
}

/** Response header naming the upstream that answered (the load generator and tests read it). */
export const UPSTREAM_HEADER = 'x-cutover-upstream';

/**
 * An app sets this header (value `1`) on a 503 when it knows the write did nothing: its database
 * refused the transaction (read-only: fenced) or the connection was lost before COMMIT was sent.
 * The router then retries the write (through the hold, to the write target current then), so a
 * write that met a fence, or a pooled session the fence was ending, never fails at the client.
 */
export const NOT_APPLIED_HEADER = 'x-cutover-not-applied';

/** Attempts of one write answered "not applied" before that answer goes to the client. */
const WRITE_ATTEMPTS = 4;
/** How often a write target that refused connections is tried again while writes are held for it. */
const TARGET_PROBE_MS = 200;
/** Pause before retrying a read on blue or a not-applied write (lets ended sessions leave the app's pool). */
const RETRY_PAUSE_MS = 100;

/**
 * The router's behaviour, without sockets of its own: read split by weight, writes to the
 * write target through the hold, green read failures retried once on blue, metrics. The HTTP
 * front and the admin API both drive one instance.
 */
export class RouterCore {
  private readWeightGreen = 0;
  private writeTarget: Side = 'blue';
  private inflightWrites = 0;
  private inflightDrained: (() => void)[] = [];
  private clientFailures = 0;
  /** The write target whose refused connections started the current hold (null: the runbook's, or none). */
  private autoHeldTarget: Side | null = null;
  private targetProbe: NodeJS.Timeout | null = null;
  private readonly hold = new WriteHold();
  private readonly upstreams: Record<Side, { url: URL; agent: http.Agent; recorder: UpstreamRecorder }>;
  private readonly defaultMaxHoldMs: number;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly random: () => number;
  /** Shadow reads (off until the shadow phase turns them on). */
  readonly shadow: ShadowMirror;

  constructor(options: RouterCoreOptions) {
    const upstream = (url: string) => ({
      url: new URL(url),
      agent: upstreamAgent({ maxSockets: 256, maxFreeSockets: 64, idleMs: options.upstreamIdleMs }),
      recorder: new UpstreamRecorder(),
    });
    this.upstreams = { blue: upstream(options.blueUrl), green: upstream(options.greenUrl) };
    this.defaultMaxHoldMs = options.maxHoldMs ?? 15_000;
    this.timeoutMs = options.upstreamTimeoutMs ?? 10_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
    this.random = options.random ?? Math.random;
    this.shadow = new ShadowMirror({ blue: this.upstreams.blue.url, green: this.upstreams.green.url }, this.random);
  }

  // ------------------------------------------------------------------ control (admin API)

  state(): RouterState {
    return { readWeightGreen: this.readWeightGreen, writeTarget: this.writeTarget, writesHeld: this.hold.held, heldCount: this.hold.waiting, writesRefused: this.hold.refusing };
  }

  setReadWeight(greenPercent: number): void {
    this.readWeightGreen = greenPercent;
  }

  setWriteTarget(side: Side): void {
    this.writeTarget = side;
  }

  /**
   * Starts holding new writes, then waits (at most `drainMs`) for writes already on their way
   * to finish, so that fencing the old side does not cut one off. Returns how many were in flight
   * and whether they all finished in time (the write switch undoes rather than fence over them).
   */
  async holdWrites(maxHoldMs = this.defaultMaxHoldMs, drainMs = Math.min(maxHoldMs, 5000)): Promise<WriteDrain> {
    this.stopTargetProbe(); // the runbook owns this hold now, whoever started it
    this.hold.hold(maxHoldMs);
    const inflightAtHold = this.inflightWrites;
    if (inflightAtHold === 0) return { inflightAtHold, drained: true };
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), drainMs);
      this.inflightDrained.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    return { inflightAtHold, drained };
  }

  releaseWrites(): HoldFigures {
    this.stopTargetProbe();
    return this.hold.release('admin');
  }

  get maxHoldDefault(): number {
    return this.defaultMaxHoldMs;
  }

  metrics(): RouterMetrics {
    return {
      at: new Date().toISOString(),
      upstreams: { blue: this.upstreams.blue.recorder.snapshot(), green: this.upstreams.green.recorder.snapshot() },
      held: this.hold.metrics(),
      clientFailures: this.clientFailures,
    };
  }

  configureShadow(settings: ShadowSettings | null) {
    return this.shadow.configure(settings);
  }

  get upstreamTimeoutMs(): number {
    return this.timeoutMs;
  }

  dispose(): void {
    this.shadow.dispose();
    this.stopTargetProbe();
    this.hold.dispose();
    for (const u of Object.values(this.upstreams)) u.agent.destroy();
  }

  // ------------------------------------------------------------------ traffic

  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const buffered = await this.readRequest(req, res);
    if (!buffered) return;
    if (READ_METHODS.has(buffered.method)) return this.routeRead(buffered, res);
    return this.routeWrite(buffered, res);
  }

  /**
   * A read goes to green with the read weight, else to blue. A failed read (5xx or transport
   * error) is retried once on blue: green's at once, blue's after a short pause. Blue's own
   * retry matters during a rollback: reads are on blue while lifting blue's write fence ends the
   * blue app's pooled sessions, and a read handed one of those fails once (HTTP 503) although
   * blue is healthy. Reads are safe to repeat (RFC 9110 §9.2.2).
   */
  private async routeRead(req: BufferedRequest, res: http.ServerResponse): Promise<void> {
    // the weight is read per request, so a change applies to the very next one
    const toGreen = this.readWeightGreen > 0 && this.random() * 100 < this.readWeightGreen;
    const side: Side = toGreen ? 'green' : 'blue';
    // shadow reads only while every read goes to blue: green's answer is compared, never served
    const mirrored = this.readWeightGreen === 0 && this.shadow.choose(req);
    const first = await this.send(side, req);
    if (!failed(first)) return this.relay(first, side, res, mirrored ? (blue) => this.shadow.mirror(req, blue) : undefined);
    // the failure is counted in that upstream's metrics; the client gets blue's (next) answer
    if (mirrored) this.shadow.blueFailed();
    this.discard(first, side);
    this.upstreams[side].recorder.retried();
    if (side === 'blue') await sleep(RETRY_PAUSE_MS);
    return this.relay(await this.send('blue', req), 'blue', res);
  }

  /**
   * A write waits in the hold (if one is on), then goes to the write target current at that
   * moment. An answer "503 + not applied" (NOT_APPLIED_HEADER: the app's database refused the
   * write, e.g. fenced) is retried, through the hold again, up to WRITE_ATTEMPTS times: a write
   * that reached the old side after its fence goes where writes go once the hold is released.
   */
  private async routeWrite(req: BufferedRequest, res: http.ServerResponse): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if ((await this.hold.enter()) === 'refused') return this.refuseHeldWrite(res);
      // the target is read after the hold: held writes go where writes go at release time
      const side = this.writeTarget;
      this.inflightWrites++;
      let again = false;
      try {
        const outcome = await this.send(side, req);
        if (refusedConnection(outcome)) {
          // the write never reached the app (nothing listens): hold writes until it is back, or
          // the runbook acts, or the cap answers them 503 — instead of failing each one now
          this.discard(outcome, side);
          this.holdWhileTargetDown(side);
          again = true;
        } else if (attempt < WRITE_ATTEMPTS && notApplied(outcome)) {
          this.discard(outcome, side);
          this.upstreams[side].recorder.retried();
          again = true;
        } else {
          await this.relay(outcome, side, res);
        }
      } finally {
        this.writeFinished();
      }
      if (!again) return;
      if (!this.hold.held) await sleep(RETRY_PAUSE_MS);
    }
  }

  /** The answer to a write the hold refused after its cap: nothing was written, retry later. */
  private refuseHeldWrite(res: http.ServerResponse): void {
    this.clientFailures++;
    const retryAfter = 1;
    const body = JSON.stringify({
      error: 'WRITES_PAUSED',
      message: 'writes are paused: the cutover held them and its hold cap ran out before the runbook released them; nothing was written, retry',
      retryAfterSeconds: retryAfter,
    });
    res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'retry-after': String(retryAfter) });
    res.end(body);
  }

  /**
   * The write target refuses connections (its app is down): writes are held, as in a runbook
   * hold with the default cap, and released by themselves when the target accepts connections
   * again. A runbook hold or release takes over (a rollback flips and releases them to blue).
   */
  private holdWhileTargetDown(side: Side): void {
    if (this.hold.held) return; // already held (by the runbook, or by an earlier refused write)
    this.hold.hold(this.defaultMaxHoldMs);
    this.autoHeldTarget = side;
    const probe = () => {
      const u = this.upstreams[side].url;
      const socket = net.connect({ host: u.hostname, port: Number(u.port) || 80 });
      socket.once('connect', () => {
        socket.destroy();
        if (this.autoHeldTarget !== side || this.hold.refusing) return;
        this.stopTargetProbe();
        this.hold.release('target-back');
      });
      socket.once('error', () => socket.destroy());
    };
    this.targetProbe = setInterval(probe, TARGET_PROBE_MS);
    this.targetProbe.unref();
  }

  private stopTargetProbe(): void {
    if (this.targetProbe) clearInterval(this.targetProbe);
    this.targetProbe = null;
    this.autoHeldTarget = null;
  }

  private writeFinished(): void {
    this.inflightWrites--;
    if (this.inflightWrites === 0) {
      const waiting = this.inflightDrained;
      this.inflightDrained = [];
      for (const done of waiting) done();
    }
  }

  /** Counts an upstream answer the client will not see (a retry follows) and drops its body. */
  private discard(outcome: UpstreamOutcome, side: Side): void {
    const recorder = this.upstreams[side].recorder;
    if (outcome.kind === 'response') {
      recorder.answered(outcome.res.statusCode!, performance.now() - outcome.startedAt);
      outcome.res.resume();
    } else {
      recorder.failed(performance.now() - outcome.startedAt);
    }
  }

  private send(side: Side, req: BufferedRequest): Promise<UpstreamOutcome> {
    const u = this.upstreams[side];
    return callUpstream(u.url, u.agent, req, this.timeoutMs, 'cutover-router');
  }

  /**
   * Streams an upstream answer to the client; counts the upstream's outcome and any client
   * failure. With `keep`, the body is also kept as it streams (a shadow read) and handed to
   * `keep` once the client has had all of it.
   */
  private relay(outcome: UpstreamOutcome, side: Side, res: http.ServerResponse, keep?: (answer: ShadowAnswer) => void): Promise<void> {
    const recorder = this.upstreams[side].recorder;
    if (outcome.kind === 'error') {
      recorder.failed(performance.now() - outcome.startedAt);
      this.clientFailures++;
      sendJson(res, 502, { error: 'UPSTREAM_FAILED', upstream: side, message: outcome.error.message });
      return Promise.resolve();
    }
    const up = outcome.res;
    const status = up.statusCode ?? 502;
    if (status >= 500) this.clientFailures++;
    res.writeHead(status, { ...forwardableHeaders(up.headers), [UPSTREAM_HEADER]: side });
    let kept: Buffer[] | null = keep ? [] : null;
    let keptBytes = 0;
    if (kept) {
      up.on('data', (c: Buffer) => {
        if (!kept) return;
        keptBytes += c.length;
        if (keptBytes > this.shadow.maxBodyBytes) {
          kept = null;
          this.shadow.tooLarge();
        } else kept.push(c);
      });
    }
    return new Promise((resolve) => {
      let finished = false;
      const finish = (ok: boolean) => {
        if (finished) return;
        finished = true;
        const ms = performance.now() - outcome.startedAt;
        if (ok) {
          recorder.answered(status, ms);
          if (keep && kept) {
            // this runs before the pipe ends the client's response (listener order): joining and
            // decoding blue's body, and the shadow call, wait until the client has its answer
            const chunks = kept;
            setImmediate(() => keep({ status, body: Buffer.concat(chunks).toString('utf8'), contentType: String(up.headers['content-type'] ?? ''), ms: Math.round(ms * 100) / 100 }));
          }
        } else {
          recorder.failed(ms);
          if (status < 500) this.clientFailures++;
          // a chosen read whose blue answer broke off: nothing to compare green with
          if (keep && kept) this.shadow.blueFailed();
          res.destroy();
        }
        resolve();
      };
      up.on('end', () => finish(true));
      up.on('error', () => finish(false));
      up.on('aborted', () => finish(false));
      up.on('close', () => finish(up.complete));
      up.pipe(res);
    });
  }

  private readRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<BufferedRequest | null> {
    const arrivedAt = performance.now();
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= this.maxBodyBytes) chunks.push(c);
      });
      req.on('end', () => {
        if (size > this.maxBodyBytes) {
          sendJson(res, 413, { error: 'BODY_TOO_LARGE', received: size, allowed: `at most ${this.maxBodyBytes} bytes` });
          resolve(null);
          return;
        }
        resolve({ method: (req.method ?? 'GET').toUpperCase(), path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks), arrivedAt });
      });
      req.on('error', () => resolve(null));
    });
  }
}

function failed(outcome: UpstreamOutcome): boolean {
  return outcome.kind === 'error' || outcome.res.statusCode! >= 500;
}

/** Nothing listened at the upstream: the request was not delivered, so it can be sent again. */
function refusedConnection(outcome: UpstreamOutcome): boolean {
  return outcome.kind === 'error' && (outcome.error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
}

function notApplied(outcome: UpstreamOutcome): boolean {
  return outcome.kind === 'response' && outcome.res.statusCode === 503 && outcome.res.headers[NOT_APPLIED_HEADER] === '1';
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
