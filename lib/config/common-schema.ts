import { z } from 'zod';

/**
 * Settings shared by every platform. Every field has a default, documented here and in the
 * README's config reference.
 */

/** Read-shift steps, in percent of reads sent to green. @default [1, 10, 50, 100], 30 s bake each */
export const shiftSchema = z
  .object({
    steps: z.array(z.number().int().min(1).max(100)).min(1).default([1, 10, 50, 100]),
    bakeSeconds: z.number().min(0).default(30),
  })
  .strict()
  .refine((s) => s.steps.every((v, i) => i === 0 || v > s.steps[i - 1]!), {
    message: 'shift.steps must be strictly increasing, e.g. [1, 10, 50, 100]',
  });

export const DEFAULT_MAX_HEARTBEAT_AGE_MS = 30_000;

/** `gates.maxHeartbeatAgeMs` or its default. */
export function maxHeartbeatAgeMs(gates: { readonly maxHeartbeatAgeMs?: number }): number {
  return gates.maxHeartbeatAgeMs ?? DEFAULT_MAX_HEARTBEAT_AGE_MS;
}

/** Thresholds of the health gates evaluated before and during traffic moves. */
export const gatesSchema = z
  .object({
    /** Green 5xx / green requests above which reads go back to blue. @default 0.01 */
    maxErrorRatio: z.number().min(0).max(1).default(0.01),
    /** Green p99 latency / blue p99 latency above which reads go back. @default 3 */
    maxP99RatioToBlue: z.number().positive().default(3),
    /**
     * Latency at or below which green is never judged against blue, and below which blue's counts as
     * this much: the router's buckets are coarse and a ratio of small latencies (10 ms vs 100 ms) is not
     * a reason to roll back. Raise it where such differences are noise (a small or shared machine).
     * @default 10 (P99_FLOOR_MS)
     */
    latencyFloorMs: z.number().int().positive().optional(),
    /** Replication lag above which no traffic moves (equal passes: shift, bake, switch, replicate wait). @default 1000 */
    maxLagMs: z.number().int().positive().default(1000),
    /**
     * A replication worker whose newest heartbeat (applied on the target; on AWS, DMS's newest
     * latency datapoint) is older than this is `stalled`: it fails `replicate wait` and every gate,
     * whatever the process table says. @default 30000 (DEFAULT_MAX_HEARTBEAT_AGE_MS)
     */
    maxHeartbeatAgeMs: z.number().int().positive().optional(),
    /** A passing validation older than this no longer opens the shift gate. @default 3600 */
    maxValidationAgeSeconds: z.number().int().positive().default(3600),
    /**
     * Green requests a window needs before its error ratio and p99 are judged; a shift step or
     * the bake whose green requests stay below it is "not proven" and fails (0: no proof needed,
     * a warning is printed when a step saw no green request). @default 20
     */
    minRequests: z.number().int().min(0).default(20),
    /**
     * A shift step or the bake still below `minRequests` green requests when its time is up keeps
     * baking up to this many seconds more, then fails its gate as not proven.
     * @default - the step's own bake time, and at least 120 s
     */
    minRequestsWaitSeconds: z.number().min(0).optional(),
  })
  .strict();

/**
 * Time the write switch keeps back from the router's hold cap (`switch.maxHoldMs`) to undo itself:
 * lift blue's fence, writes back to blue, release. The steps inside the hold stop (and undo) when
 * less than this is left, so a live operator never lets the cap run out: after it the router
 * answers the held writes 503. A fifth of the cap, at least 1 s and at most 10 s.
 */
export function undoReserveMs(maxHoldMs: number): number {
  return Math.min(10_000, Math.max(1_000, Math.round(maxHoldMs / 5)));
}

/** What the switch's steps inside the hold may spend: the cap less the undo reserve. */
export function holdBudgetMs(maxHoldMs: number): number {
  return maxHoldMs - undoReserveMs(maxHoldMs);
}

/** The smallest `switch.maxHoldMs` whose hold budget lets the catch-up use its whole timeout. */
export function minMaxHoldMsFor(catchUpTimeoutMs: number): number {
  // the reserve is at least 1 s, so no smaller cap will do; the budget never shrinks as the cap grows
  let cap = catchUpTimeoutMs + 1_000;
  while (holdBudgetMs(cap) < catchUpTimeoutMs) cap++;
  return cap;
}

/**
 * The write switch. `maxHoldMs` must exceed `catchUpTimeoutMs`: the router lets held writes go
 * by itself after `maxHoldMs`, and they must not reach a blue that is still read-only. And the
 * hold's budget (the cap less the undo reserve, see undoReserveMs) must leave the catch-up its
 * whole timeout: a smaller one would undo the switch before `catchUpTimeoutMs` ran out.
 */
export function switchSchemaWith(defaults: { catchUpTimeoutMs: number; maxHoldMs: number }) {
  return z
    .object({
      /** Give up waiting for the target to apply blue's last position after this; undo. @default 10000 (aws: 180000, DMS publishes latency once a minute) */
      catchUpTimeoutMs: z.number().int().positive().default(defaults.catchUpTimeoutMs),
      /** The router never holds a write longer than this. @default 15000 (aws: 240000) */
      maxHoldMs: z.number().int().positive().default(defaults.maxHoldMs),
      /** Added to source sequence values when target sequences are moved past them. @default 1000 */
      sequenceGap: z.number().int().min(1).default(1000),
    })
    .strict()
    .superRefine((s, ctx) => {
      if (s.maxHoldMs <= s.catchUpTimeoutMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxHoldMs'],
          message: 'switch.maxHoldMs must be larger than switch.catchUpTimeoutMs (held writes must never be let go to a read-only blue)',
        });
        return;
      }
      const budget = holdBudgetMs(s.maxHoldMs);
      if (budget >= s.catchUpTimeoutMs) return;
      ctx.addIssue({
        code: 'custom',
        path: ['maxHoldMs'],
        message:
          `a cap that leaves the switch's steps at least switch.catchUpTimeoutMs ${s.catchUpTimeoutMs} ms, but switch.maxHoldMs ${s.maxHoldMs} ms leaves them ` +
          `${budget} ms of the write hold (the cap less ${undoReserveMs(s.maxHoldMs)} ms kept to undo: a fifth of it, 1-10 s), so the catch-up could never use its whole timeout; ` +
          `fix: set switch.maxHoldMs to at least ${minMaxHoldMsFor(s.catchUpTimeoutMs)}, or switch.catchUpTimeoutMs to at most ${budget}`,
      });
    });
}

export const switchSchema = switchSchemaWith({ catchUpTimeoutMs: 10_000, maxHoldMs: 15_000 });

/** Bake before finalize. @default 60 s with gates green */
export const bakeSchema = z.object({ seconds: z.number().min(0).default(60) }).strict();

/** A business invariant (对账): one query per side, evaluated at the same replication point. */
export const reconciliationSchema = z
  .object({
    name: z.string().min(1),
    source: z.string().min(1),
    target: z.string().min(1),
  })
  .strict();

export const validationSchema = z
  .object({
    /** Rows per primary-key range chunk. @default 10000 */
    chunkRows: z.number().int().positive().default(10_000),
    /** Chunks hashed at once per side. @default 4 */
    concurrency: z.number().int().positive().default(4),
    /** Relative tolerance for float columns; 0 compares exactly. @default 0 */
    floatTolerance: z.number().min(0).default(0),
    /** @default [] */
    reconciliation: z.array(reconciliationSchema).default([]),
  })
  .strict();

/**
 * Pacing of the kit's reads on the source (snapshot, full load, validate) against blue's own
 * health, the way gh-ost's throttler does (lib/throttle/source-throttler.ts): before each chunk
 * the reads wait while blue is under stress, and after it they rest a share of its time.
 */
export const pacingSchema = z
  .object({
    /** false: the reads never wait (a quiet source, or a maintenance window). @default true */
    enabled: z.boolean().default(true),
    /**
     * Reads wait while the blue app's p99 over the last `windowMs` (the router's metrics) is above
     * this. Set it to about 3 times blue's normal p99. @default 1000
     */
    maxBlueP99Ms: z.number().positive().default(1000),
    /**
     * Reads wait while more sessions than this run a statement on the source, the kit's own not
     * counted (the kit's role needs `pg_monitor` to see other roles' sessions). @default 16
     */
    maxActiveSessions: z.number().int().positive().default(16),
    /** Reads wait while a `select 1` on the source takes longer than this. @default - not judged */
    maxProbeMs: z.number().positive().optional(),
    /** After each chunk the reads rest this many times the chunk's own time (gh-ost's nice-ratio; 1 = half the time reading). @default 0 */
    niceRatio: z.number().min(0).max(100).default(0),
    /**
     * Longest pause: after one this long the reads run unpaused for as long again before they may
     * wait anew, so under lasting stress a phase takes at most about twice its time (each such
     * pause is printed and counted). @default 30000
     */
    maxPauseMs: z.number().int().positive().default(30_000),
    /** The window of the blue p99. @default 3000 */
    windowMs: z.number().int().min(500).default(3000),
    /**
     * Target time of one chunk read on the source (pt-table-checksum's --chunk-time): the rows of
     * each full-load and validation chunk adapt so a chunk takes about this long, from the rows/s of
     * the table's last chunks (smoothed), within `minChunkRows`..`maxChunkRows`; the snapshot's
     * COPY stream is paced in slices of this time. 0: fixed chunks (`replication.chunkRows`,
     * `validation.chunkRows`). Only while `enabled`. @default 500
     */
    chunkTargetMs: z.number().int().min(0).max(60_000).default(500),
    /** Fewest rows of an adapted chunk, and the first chunk's size (start small). @default 1000 */
    minChunkRows: z.number().int().positive().default(1000),
    /** Most rows of an adapted chunk. @default 100000 */
    maxChunkRows: z.number().int().positive().default(100_000),
  })
  .strict()
  .refine((p) => p.minChunkRows <= p.maxChunkRows, {
    message: 'pacing.minChunkRows must not be above pacing.maxChunkRows (e.g. minChunkRows 1000, maxChunkRows 100000)',
    path: ['minChunkRows'],
  });

export type PacingConfig = z.output<typeof pacingSchema>;

/** One HTTP call of a smoke flow run against green before any traffic moves. */
export const smokeStepSchema = z
  .object({
    name: z.string().min(1),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    /** Path; `{name}` is replaced by a value captured by an earlier step. */
    path: z.string().startsWith('/'),
    body: z.unknown().optional(),
    expectStatus: z.number().int().default(200),
    /** JSON paths (dot form) whose values must equal these. @default {} */
    expectBody: z.record(z.string(), z.unknown()).default({}),
    /** Values to capture from the response body, name -> dot path. @default {} */
    capture: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const waveSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a wave name is lower-case letters, digits and dashes'),
    /** `schema.table` names of the source (as selected by the forward mapping). */
    tables: z.array(z.string().min(1)).min(1),
  })
  .strict();

/**
 * A table the forward mapping fills on green that the reverse mapping deliberately does not bring
 * back to blue. Only for a table nothing writes on green after the write switch: any change made
 * to it there is lost on rollback. `assess` reports every other uncovered table as a blocker.
 */
export const reverseExemptionSchema = z
  .object({
    /** The green (forward target) table, `schema.table`, e.g. `public.audit_log`. */
    table: z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'a schema-qualified green table, e.g. public.audit_log'),
    /** Why nothing writes it on green after the switch (printed by assess). */
    reason: z.string().trim().min(1),
  })
  .strict();

export type ShiftConfig = z.output<typeof shiftSchema>;
export type GatesConfig = z.output<typeof gatesSchema>;
export type SwitchConfig = z.output<typeof switchSchema>;
export type ValidationConfig = z.output<typeof validationSchema>;
export type SmokeStep = z.output<typeof smokeStepSchema>;
export type Wave = z.output<typeof waveSchema>;

/**
 * A data-quality check run by `assess` on the source: `sql` returns one row per finding, whose
 * columns are the sample key (e.g. `select cust_id from t_customer where email !~ '@'`).
 */
export const qualityCheckSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    description: z.string().min(1),
    /** Table the finding is about, `schema.table`. */
    table: z.string().optional(),
    sql: z.string().min(1),
    severity: z.enum(['blocker', 'warning', 'info']).default('warning'),
    /** What the mapping or the kit does about it (printed next to the count). */
    handling: z.string().default('reported only'),
  })
  .strict();

export const assessSchema = z
  .object({
    /** @default [] */
    checks: z.array(qualityCheckSchema).default([]),
    /**
     * Target tables (`schema.table`) whose existing rows are kept on purpose: `assess` reports them
     * as info instead of blocking (a full load into a table with rows stops at the first duplicate key).
     * @default [] - every mapped target table must be empty before the full load
     */
    keepTargetRows: z.array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'a target table as schema.table')).default([]),
  })
  .strict();

export type QualityCheck = z.output<typeof qualityCheckSchema>;

/** Comparison rules of shadow reads for one route template (or every route). */
export const shadowCompareRuleSchema = z
  .object({
    /** Route template the rule applies to, e.g. `/orders/:id`. @default - every route */
    route: z.string().startsWith('/').optional(),
    /** JSON paths left out of the comparison (generated ids, timestamps), e.g. `$.createdAt`, `$.items[*].id`, `$..updatedAt`. @default [] */
    ignore: z.array(z.string().startsWith('$')).default([]),
    /** JSON paths of arrays compared as sets (order ignored), e.g. `$.orders`. @default [] */
    unordered: z.array(z.string().startsWith('$')).default([]),
    /** Two numbers closer than this are equal (absolute). @default 0 */
    numericTolerance: z.number().min(0).default(0),
  })
  .strict();

/** A known, accepted difference between blue and green: counted apart (never silently ignored), with its reason. */
export const shadowAcceptedSchema = z
  .object({
    /** Route template, e.g. `/customers/:id/orders`. */
    route: z.string().startsWith('/'),
    /** JSON paths where the difference is accepted; `(status)` accepts a different HTTP status. @default ['$'] - the whole answer */
    paths: z.array(z.string().regex(/^(\$.*|\(status\))$/, 'a JSON path such as $.orders[*].status, or (status)')).min(1).default(['$']),
    /** Why it is accepted (printed with the count, journaled, in the report). */
    reason: z.string().trim().min(1),
  })
  .strict();

/**
 * Shadow reads before the first read shift: the router mirrors a share of GET/HEAD to green while
 * every read goes to blue, and the phase compares the answers per route. See runbooks/cutover.md.
 */
export const shadowSchema = z
  .object({
    /** How long the phase mirrors and compares. @default 60 */
    seconds: z.number().min(1).default(60),
    /** Percent of GET/HEAD requests mirrored to green. @default 10 */
    percent: z.number().gt(0).max(100).default(10),
    /** Percent of mirrored requests also sent to blue a second time (blue-vs-blue noise). @default 20 */
    noisePercent: z.number().min(0).max(100).default(20),
    /** A shadow call to green not answered in full within this is a failure of green (judged by `maxFailedPercent`). @default 2000 */
    timeoutMs: z.number().int().positive().default(2000),
    /** Shadow calls in flight at once; a read over it is not mirrored (counted). @default 32 */
    maxConcurrent: z.number().int().positive().default(32),
    /** A difference is asked again (both sides) after this, so replication lag is not taken for a mismatch. @default 1000 */
    recheckAfterMs: z.number().int().min(0).default(1000),
    /** A route whose mismatches (beyond blue's own noise, after the recheck) exceed this blocks the shift. @default 1 */
    maxMismatchPercent: z.number().min(0).max(100).default(1),
    /**
     * A route where green failed more than this percent of the mirrored reads blue answered (no
     * full answer within `timeoutMs`, a transport error, a 5xx) blocks the shift. Never excused by
     * blue's noise or a recheck: a client on green would have seen it. @default 1
     */
    maxFailedPercent: z.number().min(0).max(100).default(1),
    /** Compared samples the phase needs in all (fewer: the gate fails, not proven); also the samples a route needs before its rate is judged. @default 20 */
    minSamples: z.number().int().min(1).default(20),
    /** Example differences kept per route. @default 3 */
    examples: z.number().int().min(0).max(50).default(3),
    /** Route templates, e.g. `/orders/:id`. @default [] - numeric and uuid path segments become `:id` */
    routes: z.array(z.string().startsWith('/')).default([]),
    /** Comparison rules. @default [] - status and the whole JSON body compared exactly */
    compare: z.array(shadowCompareRuleSchema).default([]),
    /** Known differences, each with its reason: counted apart. @default [] */
    accepted: z.array(shadowAcceptedSchema).default([]),
    /**
     * Skip the phase, with the reason journaled and printed (e.g. an ALB-only setup with no router
     * that can mirror). @default - not skipped: where nothing can mirror, the phase says "not available" and fails
     */
    skip: z.object({ reason: z.string().trim().min(1) }).strict().optional(),
  })
  .strict();

export type ShadowConfig = z.output<typeof shadowSchema>;
export type ShadowCompareRule = z.output<typeof shadowCompareRuleSchema>;
export type ShadowAccepted = z.output<typeof shadowAcceptedSchema>;
