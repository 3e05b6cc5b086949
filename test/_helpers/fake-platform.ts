import { CutoverError } from '../../lib/errors.ts';
import type { Phase, PhaseName } from '../../lib/engine/phase.ts';
import type {
  AssessReport,
  Platform,
  ReplicationStatus,
  RouterMetrics,
  RouterState,
  Side,
  SnapshotManifest,
  ValidationReport,
} from '../../lib/platform/roles.ts';

/**
 * An in-memory, stateful `Platform` for engine and CLI tests: a router with read weight, write
 * target and held writes; forward and reverse replication with positions; write fences; backups;
 * a validator whose answer the test sets. Every call is logged in `calls`; `snapshotState()`
 * gives a comparable picture for "dry-run changes nothing". Its own tests are in
 * test/engine/fake-platform.test.ts.
 */
export interface FakeReplicationState {
  phase: ReplicationStatus['phase'];
  lagMs: number | null;
  /** Source write position (a counter standing in for an LSN). */
  sourcePosition: number;
  /** Position applied on the target. */
  appliedPosition: number;
  starts: number;
}

export interface FakeState {
  router: { readWeightGreen: number; writeTarget: Side; writesHeld: boolean; heldCount: number };
  forward: FakeReplicationState;
  reverse: FakeReplicationState;
  refusingWrites: { blue: boolean; green: boolean };
  snapshots: SnapshotManifest[];
  sequencesSynced: number;
  tornDown: boolean;
}

export interface FakeOptions {
  /** Assess blockers reported. @default 0 */
  blockers?: number;
  /** The tables assess reports. @default - one table, public.t, 10 rows, selection not known */
  assessTables?: AssessReport['tables'];
  /** Validation answer. @default true */
  validationEqual?: boolean;
  /** Phase the forward replicator reaches on start. @default 'cdc' */
  startPhase?: ReplicationStatus['phase'];
  /** Lag reported while in CDC. @default 5 */
  lagMs?: number;
}

function replication(): FakeReplicationState {
  return { phase: 'not-started', lagMs: null, sourcePosition: 0, appliedPosition: 0, starts: 0 };
}

export class FakePlatform implements Platform {
  public readonly name = 'postgres' as const;
  public readonly calls: string[] = [];
  public readonly state: FakeState = {
    router: { readWeightGreen: 0, writeTarget: 'blue', writesHeld: false, heldCount: 0 },
    forward: replication(),
    reverse: replication(),
    refusingWrites: { blue: false, green: false },
    snapshots: [],
    sequencesSynced: 0,
    tornDown: false,
  };
  public options: Required<FakeOptions>;
  public closed = false;

  constructor(options: FakeOptions = {}) {
    this.options = { blockers: 0, validationEqual: true, startPhase: 'cdc', lagMs: 5, assessTables: [{ name: 'public.t', rows: 10, bytes: 100, primaryKey: ['id'] }], ...options };
  }

  /** A JSON picture of every piece of state (calls excluded: reads are allowed in a dry-run). */
  snapshotState(): string {
    return JSON.stringify(this.state);
  }

  /** Simulates `n` writes on the side that takes writes (advances that side's source position). */
  write(n = 1): void {
    const repl = this.state.router.writeTarget === 'blue' ? this.state.forward : this.state.reverse;
    repl.sourcePosition += n;
    if (repl.phase === 'cdc') repl.appliedPosition = repl.sourcePosition;
  }

  private log(call: string): void {
    this.calls.push(call);
  }

  readonly inspector = {
    checkConnectivity: async () => this.log('inspector.checkConnectivity'),
    assess: async (): Promise<AssessReport> => {
      this.log('inspector.assess');
      const findings = Array.from({ length: this.options.blockers }, (_, i) => ({
        id: `blocker-${i}`,
        severity: 'blocker' as const,
        count: 1,
        sampleKeys: [],
        message: 'a blocker',
        handling: 'none',
      }));
      return { ok: findings.length === 0, tables: this.options.assessTables, findings, settings: {} };
    },
  };

  readonly snapshotter = {
    snapshot: async (): Promise<SnapshotManifest> => {
      this.log('snapshotter.snapshot');
      const m: SnapshotManifest = {
        id: `snap-${this.state.snapshots.length + 1}`,
        createdAt: new Date(0).toISOString(),
        toolVersion: 'test',
        position: String(this.state.forward.sourcePosition),
        tables: [{ name: 'public.t', rows: 10, file: 't.copy.gz', sha256: 'abc', bytes: 100 }],
      };
      this.state.snapshots.push(m);
      return m;
    },
    verify: async (id?: string) => {
      this.log(`snapshotter.verify ${id ?? 'latest'}`);
      const manifest = id ? this.state.snapshots.find((s) => s.id === id) : this.state.snapshots.at(-1);
      if (!manifest) return { ok: false, problems: ['no backup'], manifest: { id: id ?? 'none', createdAt: '', toolVersion: '', position: '', tables: [] } };
      return { ok: true, problems: [], manifest };
    },
    checkRestore: async (o: { id?: string; targetUrl: string }) => {
      if (!(o.id ? this.state.snapshots.some((s) => s.id === o.id) : this.state.snapshots.length)) {
        throw new CutoverError('PRECONDITION_FAILED', `no backup ${o.id ?? '(latest)'} in the fake store`, { fix: 'take one with snapshot()' });
      }
    },
    restore: async (o: { id?: string; targetUrl: string }) => {
      this.log(`snapshotter.restore ${o.id ?? 'latest'}`);
      return { ok: true, problems: [] };
    },
    list: async () => [...this.state.snapshots],
  };

  private replicator(direction: 'forward' | 'reverse') {
    const s = () => this.state[direction];
    const status = (): ReplicationStatus => ({
      phase: s().phase,
      direction,
      lagMs: s().lagMs,
      lagBytes: s().lagMs === null ? null : 0,
      appliedRowsPerSec: 0,
      tables: [{ source: 'public.t', target: 'public.t', rows: 10, totalRows: 10, state: s().phase === 'cdc' ? 'cdc' : 'pending' }],
      deadLetters: 0,
      appliedPosition: String(s().appliedPosition),
    });
    return {
      direction,
      start: async (o?: { wave?: string; fromPosition?: string }) => {
        this.log(`${direction}.start${o?.wave ? ` ${o.wave}` : ''}`);
        s().starts++;
        s().phase = direction === 'forward' ? this.options.startPhase : 'cdc';
        s().lagMs = s().phase === 'cdc' ? this.options.lagMs : null;
        if (s().phase === 'cdc') s().appliedPosition = s().sourcePosition;
        return status();
      },
      status: async () => {
        this.log(`${direction}.status`);
        return status();
      },
      stop: async () => {
        this.log(`${direction}.stop`);
        if (s().phase !== 'not-started') s().phase = 'stopped';
        s().lagMs = null;
      },
      sourcePosition: async () => String(s().sourcePosition),
      waitForPosition: async (position: string, _timeoutMs: number) => {
        this.log(`${direction}.waitForPosition ${position}`);
        if (s().phase !== 'cdc') return false;
        s().appliedPosition = Math.max(s().appliedPosition, Number(position));
        return true;
      },
      teardown: async () => {
        this.log(`${direction}.teardown`);
        this.state.tornDown = true;
      },
    };
  }

  readonly forward = this.replicator('forward');
  readonly reverse = this.replicator('reverse');

  readonly validator = {
    validate: async (): Promise<ValidationReport> => {
      this.log('validator.validate');
      const equal = this.options.validationEqual;
      const t = new Date(0).toISOString();
      return {
        equal,
        tables: [
          {
            source: 'public.t',
            target: 'public.t',
            sourceRows: 10,
            targetRows: equal ? 10 : 9,
            missing: equal ? [] : [{ id: 7 }],
            extra: [],
            different: [],
            samples: [],
            inFlight: 0,
            deadLetter: [],
            chunks: { total: 1, mismatched: equal ? 0 : 1 },
          },
        ],
        reconciliation: [],
        startedAt: t,
        finishedAt: t,
        figures: { rowsCompared: 10, rowsFetched: equal ? 0 : 10, chunks: 1, mismatchedChunks: equal ? 0 : 1 },
      };
    },
  };

  readonly router = {
    state: async (): Promise<RouterState> => {
      this.log('router.state');
      return { ...this.state.router };
    },
    setReadWeight: async (greenPercent: number) => {
      this.log(`router.setReadWeight ${greenPercent}`);
      this.state.router.readWeightGreen = greenPercent;
    },
    holdWrites: async (maxHoldMs: number) => {
      this.log(`router.holdWrites ${maxHoldMs}`);
      this.state.router.writesHeld = true;
      return { inflightAtHold: 0, drained: true }; // no traffic: nothing in flight
    },
    setWriteTarget: async (side: Side) => {
      this.log(`router.setWriteTarget ${side}`);
      this.state.router.writeTarget = side;
    },
    releaseWrites: async () => {
      this.log('router.releaseWrites');
      const released = this.state.router.heldCount;
      this.state.router.writesHeld = false;
      this.state.router.heldCount = 0;
      return { released, holdMs: { p50: 0, p99: 0, max: 0 } };
    },
    metrics: async (): Promise<RouterMetrics> => {
      const up = { requests: 0, status2xx: 0, status4xx: 0, status5xx: 0, errors: 0, retriedOnBlue: 0, latencyBucketsMs: [], latencyCounts: [] };
      return { at: new Date(0).toISOString(), upstreams: { blue: up, green: up }, held: { total: 0, current: 0, holdMsBuckets: [], holdMsCounts: [], maxHoldMs: 0 }, clientFailures: 0 };
    },
  };

  readonly fence = {
    refuseWrites: async (side: Side) => {
      this.log(`fence.refuseWrites ${side}`);
      this.state.refusingWrites[side] = true;
    },
    allowWrites: async (side: Side) => {
      this.log(`fence.allowWrites ${side}`);
      this.state.refusingWrites[side] = false;
    },
    isRefusingWrites: async (side: Side) => this.state.refusingWrites[side],
  };

  readonly sequences = {
    syncSequences: async (gap: number) => {
      this.log(`sequences.sync ${gap}`);
      this.state.sequencesSynced++;
      return [{ name: 'public.t_id_seq', sourceValue: 10, targetValue: 10 + gap }];
    },
  };

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Minimal traffic phases over the fake router, so engine tests can walk the whole state machine
 * without the real gates (lib/traffic/ has those and its own tests).
 */
export function fakeTrafficPhases(): Record<'shadow' | 'shift' | 'switch' | 'bake' | 'finalize', Phase> {
  const simple = (name: PhaseName, requires: PhaseName[], apply: Phase['apply'], mutates = true): Phase => ({
    name,
    requires,
    command: `cutover ${name}`,
    mutates,
    plan: async (ctx) => [{ action: `${name}.apply`, target: `router of ${ctx.env.name}` }],
    apply,
    verify: async () => ({ ok: true, summary: `${name} verified` }),
    rollback: async () => ({ ok: true, summary: 'undone' }),
  });
  return {
    shadow: simple('shadow', ['validate'], async () => ({ ok: true, summary: 'green answers like blue', figures: { compared: 20 } })),
    shift: simple('shift', ['validate'], async (ctx) => {
      const to = typeof ctx.options.to === 'number' ? ctx.options.to : 100;
      await ctx.journal.step('router.setReadWeight', { to }, () => ctx.platform.router.setReadWeight(to));
      return { ok: true, summary: `reads ${to}% green`, figures: { readWeightGreen: to } };
    }),
    switch: simple('switch', ['shift'], async (ctx) => {
      const r = ctx.platform.router;
      await ctx.journal.step('switch.hold', {}, () => r.holdWrites(1000));
      await ctx.journal.step('switch.fence', {}, () => ctx.platform.fence.refuseWrites('blue'));
      await ctx.journal.step('switch.flip', {}, () => r.setWriteTarget('green'));
      await ctx.journal.step('switch.release', {}, () => r.releaseWrites());
      return { ok: true, summary: 'writes on green' };
    }),
    bake: simple('bake', ['switch'], async () => ({ ok: true, summary: 'baked' }), false),
    finalize: simple('finalize', ['bake'], async (ctx) => {
      await ctx.journal.step('reverse.teardown', {}, () => ctx.platform.reverse.teardown());
      return { ok: true, summary: 'complete' };
    }),
  };
}

/** A rollback over the fake: reads and writes back to blue. */
export const fakeRollback = {
  async plan(): Promise<{ action: string; target: string }[]> {
    return [
      { action: 'router.setReadWeight 0', target: 'router' },
      { action: 'router.setWriteTarget blue', target: 'router' },
    ];
  },
  async run(ctx: Parameters<Phase['apply']>[0]) {
    await ctx.journal.step('router.setReadWeight', { to: 0 }, () => ctx.platform.router.setReadWeight(0));
    await ctx.journal.step('router.setWriteTarget', { side: 'blue' }, () => ctx.platform.router.setWriteTarget('blue'));
    await ctx.platform.fence.allowWrites('blue');
    return { ok: true, summary: 'everyone on blue' };
  },
};
