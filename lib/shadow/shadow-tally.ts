import type { ShadowConfig } from '../config/common-schema.ts';
import type { ShadowAnswer, ShadowFigures, ShadowSample, ShadowSettings } from '../platform/roles.ts';
import { compareAnswers, rulesForRoute, type CompareRules } from './compare-answers.ts';
import { covers, generalPath, parsePathPattern, segmentsOf, type PathPattern } from './json-path.ts';
import { routeTemplate } from './route-template.ts';

/**
 * How a compared sample ends up: `equal`; `failed` (blue answered, green did not: no full answer
 * within `timeoutMs`, a transport error, or a 5xx where blue's status was below 500 — green's
 * failure, judged against `maxFailedPercent`; never excused by noise or a recheck, since a client
 * on green would have seen it); `accepted` (every difference declared in `shadow.accepted`,
 * counted apart with its reason); `noise` (every difference also seen between two calls to blue
 * on that route); `transient` (gone when both sides were asked again after `recheckAfterMs`:
 * replication lag); `mismatch` (the rest: judged against `maxMismatchPercent`).
 */
export type SampleClass = 'equal' | 'failed' | 'accepted' | 'noise' | 'transient' | 'mismatch';

/** How green failed a read blue answered. */
export type GreenFailureKind = 'timeout' | 'error' | '5xx';

/** Bodies in examples are cut to this many characters. */
const EXAMPLE_BODY_CHARS = 2000;

export interface ShadowExample {
  readonly at: string;
  /** e.g. `GET /orders/12` */
  readonly request: string;
  readonly class: SampleClass;
  readonly paths: readonly string[];
  readonly blue: { readonly status: number | null; readonly body: string };
  readonly green: { readonly status: number | null; readonly body: string; readonly error?: string };
  /** The differing paths when both sides were asked again (null: not asked, or no answer). */
  readonly recheckPaths: readonly string[] | null;
  readonly acceptedReason?: string;
}

export interface ShadowRouteFigures {
  readonly route: string;
  /** Requests compared (blue's answer against green's). */
  readonly samples: number;
  readonly equal: number;
  /** Differences beyond blue's noise, still there on the recheck, not accepted: what the gate judges. */
  readonly mismatches: number;
  /** mismatches / samples in percent; null when no sample. */
  readonly mismatchPercent: number | null;
  /** Reads blue answered and green failed (no answer in time, a transport error, a 5xx): judged against `maxFailedPercent`. */
  readonly failed: number;
  readonly failedKinds: Readonly<Record<GreenFailureKind, number>>;
  /** failed / samples in percent; null when no sample. */
  readonly failedPercent: number | null;
  /** Blue's own second calls (of `noiseSamples`) that failed the same way: the machine's share, shown beside green's (never subtracted). */
  readonly noiseFailed: number;
  /** Samples also sent to blue a second time, and how many of those two blue answers differed (of those where blue answered twice). */
  readonly noiseSamples: number;
  readonly noiseDiffs: number;
  readonly noisePercent: number | null;
  /** Paths that differed between two blue answers (indices as `[*]`): differences there are noise. */
  readonly noisyPaths: readonly string[];
  readonly noise: number;
  readonly transient: number;
  readonly accepted: number;
  readonly acceptedReasons: readonly { readonly reason: string; readonly count: number }[];
  /** Enough samples (`shadow.minSamples`) for its rate to be judged. */
  readonly judged: boolean;
  readonly examples: readonly ShadowExample[];
}

export interface ShadowGate {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  /** Why the run could not say (too few samples); null otherwise. */
  readonly unproven: string | null;
  readonly maxMismatchPercent: number;
  readonly maxFailedPercent: number;
  readonly minSamples: number;
}

export interface ShadowReport {
  readonly startedAt: string;
  /** How long it mirrored. */
  readonly seconds: number;
  readonly settings: ShadowSettings;
  /** Requests the router chose to mirror. */
  readonly sampled: number;
  /** Samples compared: blue's answer against green's answer or failure. */
  readonly compared: number;
  readonly dropped: ShadowFigures['dropped'];
  /** Shadow calls still in flight when the phase stopped waiting for them: not compared. */
  readonly unanswered: number;
  readonly routes: readonly ShadowRouteFigures[];
  /** Mismatch rate per route over time: one point per route and bucket (t: seconds since the start of the phase). */
  readonly overTime: { readonly bucketSeconds: number; readonly points: readonly { t: number; route: string; samples: number; mismatches: number; failed: number }[] };
  readonly gate: ShadowGate;
}

interface Accepted {
  readonly patterns: readonly PathPattern[];
  readonly status: boolean;
  readonly reason: string;
}

/** A sample whose answers differed, waiting for its classification. */
export interface Difference {
  readonly route: string;
  readonly sample: ShadowSample;
  /** ms since the start */
  readonly t: number;
  readonly paths: readonly string[];
  /** Set once both sides were asked again: the paths that still differed (null: no answer). */
  recheckPaths?: readonly string[] | null;
}

/** A read green failed. */
interface Failure {
  readonly sample: ShadowSample;
  readonly t: number;
  readonly kind: GreenFailureKind;
}

interface RouteState {
  readonly rules: CompareRules;
  readonly accepted: readonly Accepted[];
  readonly times: number[];
  readonly diffs: Difference[];
  readonly failures: Failure[];
  noiseSamples: number;
  noiseDiffs: number;
  noiseFailed: number;
  readonly noisy: Set<string>;
}

/**
 * The comparison of the shadow phase, off the router's path: per route template, each sample's
 * blue and green answers compared by the rules; blue against blue again (when the router sent
 * one) for the route's noise; every difference kept until the end, when it is classified
 * (`SampleClass`) against all the noise seen, its recheck and the accepted differences.
 */
export class ShadowTally {
  private readonly routes = new Map<string, RouteState>();
  private compared = 0;

  constructor(
    private readonly config: ShadowConfig,
    private readonly t0: number,
  ) {}

  /** Compares one sample; returns its difference when it needs a recheck (a difference not all accepted), else null. */
  add(sample: ShadowSample): Difference | null {
    const route = routeTemplate(sample.path, this.config.routes);
    const r = this.route(route);
    this.compared++;
    const t = Math.max(0, Date.parse(sample.at) - this.t0);
    r.times.push(t);
    if (sample.blueAgain) {
      r.noiseSamples++;
      if (failureOf(sample.blue, sample.blueAgain) !== null) r.noiseFailed++;
      else {
        const noise = compareAnswers(sample.blue, sample.blueAgain, r.rules);
        if (!noise.equal) {
          r.noiseDiffs++;
          for (const p of noise.paths) r.noisy.add(generalPath(p));
        }
      }
    }
    const failure = failureOf(sample.blue, sample.green);
    // a 5xx declared accepted (`(status)`) on purpose goes the accepted way; no answer never does
    if (failure !== null && !(failure === '5xx' && r.accepted.some((a) => a.status))) {
      r.failures.push({ sample, t, kind: failure });
      return null;
    }
    const d = compareAnswers(sample.blue, sample.green, r.rules);
    if (d.equal) return null;
    const diff: Difference = { route, sample, t, paths: d.paths };
    r.diffs.push(diff);
    return d.paths.every((p) => acceptedReason(r.accepted, p) !== null) ? null : diff;
  }

  /** The answers of both sides asked again for a difference (null: one of them did not answer). */
  rechecked(diff: Difference, again: { blue: ShadowAnswer; green: ShadowAnswer } | null): void {
    if (!again || again.blue.status === null || again.green.status === null) {
      diff.recheckPaths = null;
      return;
    }
    diff.recheckPaths = compareAnswers(again.blue, again.green, this.route(diff.route).rules).paths;
  }

  get samplesCompared(): number {
    return this.compared;
  }

  /** Samples whose answers differed so far (before classification). */
  get differences(): number {
    let n = 0;
    for (const r of this.routes.values()) n += r.diffs.length;
    return n;
  }

  /** Reads green failed so far. */
  get failures(): number {
    let n = 0;
    for (const r of this.routes.values()) n += r.failures.length;
    return n;
  }

  /** Classification so far of one difference (noise learnt later may still change it). */
  classify(diff: Difference): { class: SampleClass; acceptedReason?: string } {
    const r = this.route(diff.route);
    const open = diff.paths.filter((p) => acceptedReason(r.accepted, p) === null);
    if (!open.length) return { class: 'accepted', acceptedReason: acceptedReason(r.accepted, diff.paths[0]!) ?? undefined };
    const beyond = open.filter((p) => !r.noisy.has(generalPath(p)));
    if (!beyond.length) return { class: 'noise' };
    if (diff.recheckPaths) {
      const still = diff.recheckPaths.filter((p) => acceptedReason(r.accepted, p) === null && !r.noisy.has(generalPath(p)));
      if (!still.length) return { class: 'transient' };
    }
    return { class: 'mismatch' };
  }

  report(figures: Pick<ShadowFigures, 'sampled' | 'dropped'> & { unanswered?: number }, settings: ShadowSettings, seconds: number): ShadowReport {
    const bucketSeconds = Math.max(1, Math.ceil(seconds / 20));
    const points: { t: number; route: string; samples: number; mismatches: number; failed: number }[] = [];
    const routes = [...this.routes.entries()]
      .sort((a, b) => b[1].times.length - a[1].times.length)
      .map(([route, r]) => {
        const counts: Record<SampleClass, number> = { equal: 0, failed: r.failures.length, accepted: 0, noise: 0, transient: 0, mismatch: 0 };
        const failedKinds: Record<GreenFailureKind, number> = { timeout: 0, error: 0, '5xx': 0 };
        const reasons = new Map<string, number>();
        const buckets = new Map<number, { samples: number; mismatches: number; failed: number }>();
        const bucket = (t: number) => {
          const k = Math.floor(t / 1000 / bucketSeconds);
          let b = buckets.get(k);
          if (!b) buckets.set(k, (b = { samples: 0, mismatches: 0, failed: 0 }));
          return b;
        };
        for (const t of r.times) bucket(t).samples++;
        const examples: (ShadowExample & { rank: number })[] = [];
        for (const d of r.diffs) {
          const c = this.classify(d);
          counts[c.class]++;
          if (c.class === 'mismatch') bucket(d.t).mismatches++;
          if (c.acceptedReason) reasons.set(c.acceptedReason, (reasons.get(c.acceptedReason) ?? 0) + 1);
          examples.push({ ...example(d, c.class, c.acceptedReason), rank: RANK[c.class] });
        }
        for (const f of r.failures) {
          failedKinds[f.kind]++;
          bucket(f.t).failed++;
          examples.push({ ...failureExample(f), rank: RANK.failed });
        }
        for (const [k, b] of [...buckets.entries()].sort((a, b) => a[0] - b[0])) points.push({ t: k * bucketSeconds, route, samples: b.samples, mismatches: b.mismatches, failed: b.failed });
        const samples = r.times.length;
        counts.equal = samples - r.diffs.length - r.failures.length;
        const kept = pickExamples(examples, this.config.examples);
        return {
          route,
          samples,
          equal: counts.equal,
          mismatches: counts.mismatch,
          mismatchPercent: samples ? round2((counts.mismatch / samples) * 100) : null,
          failed: counts.failed,
          failedKinds,
          failedPercent: samples ? round2((counts.failed / samples) * 100) : null,
          noiseFailed: r.noiseFailed,
          noiseSamples: r.noiseSamples,
          noiseDiffs: r.noiseDiffs,
          noisePercent: r.noiseSamples > r.noiseFailed ? round2((r.noiseDiffs / (r.noiseSamples - r.noiseFailed)) * 100) : null,
          noisyPaths: [...r.noisy].sort(),
          noise: counts.noise,
          transient: counts.transient,
          accepted: counts.accepted,
          acceptedReasons: [...reasons].map(([reason, count]) => ({ reason, count })),
          judged: samples >= this.config.minSamples,
          examples: kept,
        } satisfies ShadowRouteFigures;
      });
    return {
      startedAt: new Date(this.t0).toISOString(),
      seconds: round2(seconds),
      settings,
      sampled: figures.sampled,
      compared: this.compared,
      dropped: figures.dropped,
      unanswered: figures.unanswered ?? 0,
      routes,
      overTime: { bucketSeconds, points },
      gate: judgeShadow(routes, this.compared, seconds, this.config),
    };
  }

  private route(route: string): RouteState {
    let r = this.routes.get(route);
    if (!r) {
      const accepted = this.config.accepted
        .filter((a) => a.route === route)
        .map((a) => ({ patterns: a.paths.filter((p) => p !== '(status)').map(parsePathPattern), status: a.paths.includes('(status)') || a.paths.includes('$'), reason: a.reason }));
      r = { rules: rulesForRoute(this.config.compare, route), accepted, times: [], diffs: [], failures: [], noiseSamples: 0, noiseDiffs: 0, noiseFailed: 0, noisy: new Set() };
      this.routes.set(route, r);
    }
    return r;
  }
}

const RANK: Record<SampleClass, number> = { mismatch: 0, failed: 1, transient: 2, noise: 3, accepted: 4, equal: 5 };

/**
 * How `other` failed a read `blue` answered, or null: no answer (`failure`: timeout, transport
 * error), or a 5xx where blue's status was below 500. A body too large never reaches here (the
 * router drops it: the kit's limit, not the side's doing).
 */
export function failureOf(blue: ShadowAnswer, other: ShadowAnswer): GreenFailureKind | null {
  if (other.status === null) return other.failure === 'timeout' ? 'timeout' : 'error';
  if (other.status >= 500 && blue.status !== null && blue.status < 500) return '5xx';
  return null;
}

/**
 * At most `n` examples, the worst first (mismatches, failures, then transient, noise, accepted),
 * but one of each class seen before a second of any: a route with many mismatches still shows
 * its failures.
 */
function pickExamples<T extends { rank: number }>(examples: T[], n: number): Omit<T, 'rank'>[] {
  const sorted = [...examples].sort((a, b) => a.rank - b.rank);
  const firsts = sorted.filter((e, i) => i === 0 || sorted[i - 1]!.rank !== e.rank);
  const rest = sorted.filter((e) => !firsts.includes(e));
  return [...firsts, ...rest]
    .slice(0, n)
    .sort((a, b) => a.rank - b.rank)
    .map(({ rank: _, ...e }) => e);
}

function failureExample(f: Failure): ShadowExample {
  const b = f.sample.blue;
  const g = f.sample.green;
  return {
    at: f.sample.at,
    request: `${f.sample.method} ${f.sample.path}`,
    class: 'failed',
    paths: [g.status === null ? '(no answer)' : '(status)'],
    blue: { status: b.status, body: cutBody(b.body) },
    green: { status: g.status, body: cutBody(g.body), ...(g.status === null ? { error: g.error ?? 'no answer' } : {}) },
    recheckPaths: null,
  };
}

function cutBody(body: string): string {
  return body.length > EXAMPLE_BODY_CHARS ? body.slice(0, EXAMPLE_BODY_CHARS) + '…' : body;
}

function acceptedReason(accepted: readonly Accepted[], path: string): string | null {
  for (const a of accepted) {
    if (path === '(status)' ? a.status : a.patterns.some((p) => covers(p, segmentsOf(path)))) return a.reason;
  }
  return null;
}

function example(d: Difference, cls: SampleClass, acceptedReason?: string): ShadowExample {
  const cut = (a: ShadowAnswer) => ({ status: a.status, body: cutBody(a.body) });
  return {
    at: d.sample.at,
    request: `${d.sample.method} ${d.sample.path}`,
    class: cls,
    paths: d.paths,
    blue: cut(d.sample.blue),
    green: cut(d.sample.green),
    recheckPaths: d.recheckPaths ?? null,
    ...(acceptedReason ? { acceptedReason } : {}),
  };
}

/**
 * The shadow gate: too few samples compared, or no route with enough to judge, is "not proven"
 * (a comparison of nothing never passes); a judged route (at least `minSamples` samples) whose
 * mismatch rate is above `maxMismatchPercent`, or whose rate of reads green failed (no answer in
 * time, a transport error, a 5xx where blue answered) is above `maxFailedPercent`, is red. Routes
 * with fewer samples are reported, not judged. Drops of the kit's own (over the concurrency
 * limit, too large, overwritten) are no sample: they only make "not proven" likelier.
 */
export function judgeShadow(routes: readonly ShadowRouteFigures[], compared: number, seconds: number, config: Pick<ShadowConfig, 'minSamples' | 'maxMismatchPercent' | 'maxFailedPercent'>): ShadowGate {
  const reasons: string[] = [];
  let unproven: string | null = null;
  if (compared < Math.max(1, config.minSamples)) {
    unproven = `not proven: only ${compared} sample(s) compared in ${Math.round(seconds)} s (minimum ${config.minSamples}, shadow.minSamples): send GET traffic through the router, raise shadow.percent or shadow.seconds`;
  } else if (!routes.some((r) => r.judged)) {
    // enough samples in all, but spread so thin that no route's rate was judged: nothing was proven
    unproven = `not proven: ${compared} sample(s) compared in ${Math.round(seconds)} s, but no route reached ${config.minSamples} (shadow.minSamples), so no route's mismatch rate was judged: raise shadow.percent or shadow.seconds, or group paths with shadow.routes`;
  }
  for (const r of routes) {
    if (!r.judged) continue;
    if (r.failedPercent !== null && r.failedPercent > config.maxFailedPercent) {
      const e = r.examples.find((x) => x.class === 'failed');
      const kinds = (Object.entries(r.failedKinds) as [GreenFailureKind, number][]).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${FAILURE_WORDS[k]}`);
      const machine = r.noiseFailed ? `; blue's own second call failed ${r.noiseFailed} of ${r.noiseSamples} (a starved machine fails both)` : '';
      reasons.push(
        `${r.route}: green failed ${r.failedPercent} % of ${r.samples} reads blue answered (${kinds.join(', ')}), above the limit ${config.maxFailedPercent} % (shadow.maxFailedPercent)${e ? ` — e.g. ${describeFailure(e)}` : ''}${machine}`,
      );
    }
    if (r.mismatchPercent !== null && r.mismatchPercent > config.maxMismatchPercent) {
      const e = r.examples.find((x) => x.class === 'mismatch');
      reasons.push(
        `${r.route}: ${r.mismatchPercent} % of ${r.samples} samples differ (${r.mismatches}) beyond blue's own noise, above the limit ${config.maxMismatchPercent} %${e ? ` — e.g. ${e.request} differs at ${e.paths.slice(0, 3).join(', ')}` : ''}`,
      );
    }
  }
  return { ok: reasons.length === 0 && unproven === null, reasons, unproven, maxMismatchPercent: config.maxMismatchPercent, maxFailedPercent: config.maxFailedPercent, minSamples: config.minSamples };
}

const FAILURE_WORDS: Record<GreenFailureKind, string> = { timeout: 'timed out', error: 'transport error(s)', '5xx': '5xx' };

/** One failed read in words: `GET /orders/3: green did not answer within 2000 ms (blue 200)`. */
export function describeFailure(e: ShadowExample): string {
  const green = e.green.status === null ? (e.green.error ?? 'no answer') : `answered ${e.green.status}`;
  return `${e.request}: green ${green.startsWith('did not') || green.startsWith('answered') ? green : `failed: ${green}`} (blue ${e.blue.status})`;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
