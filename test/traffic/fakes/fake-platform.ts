import { CutoverError } from '../../../lib/errors.ts';
import type {
  Platform,
  ReplicationStatus,
  Replicator,
  RouterMetrics,
  RouterState,
  SequenceDirection,
  SequenceSync,
  Side,
  TrafficRouter,
  ValidationReport,
  Validator,
  WriteFence,
} from '../../../lib/platform/roles.ts';

/**
 * An in-memory Platform for the traffic phases: two databases that count committed writes as
 * their position and refuse writes when fenced, replicators that copy positions between them,
 * a router state machine, and a log of every call in order. Behaviour knobs are public fields.
 */
export class FakeDatabase {
  position = 0;
  readOnly = false;
  reachable = true;
  /** Row changes this database received from replication. */
  appliedRows = 0;

  constructor(readonly side: Side) {}

  /** An application write; refused when fenced, like PostgreSQL's read-only transaction error. */
  write(): number {
    this.check();
    if (this.readOnly) throw new CutoverError('PRECONDITION_FAILED', `${this.side} refuses writes (read-only)`);
    return ++this.position;
  }

  check(): void {
    if (!this.reachable) throw new CutoverError('CONNECTION_FAILED', `${this.side}'s database is unreachable`);
  }
}

export class FakeReplicator implements Replicator {
  phase: ReplicationStatus['phase'] = 'cdc';
  lagMs: number | null = 5;
  /** `instant`: waitForPosition applies up to the position at once; `never`: it times out. */
  catchUp: 'instant' | 'never' = 'instant';
  appliedPosition = 0;
  /** More of the status, read at every status() (a worker's `reconnectingSince`, its status file's time). */
  statusExtra: () => Partial<ReplicationStatus> = () => ({});
  tornDown = false;
  startedFrom: string | undefined;

  constructor(
    readonly direction: 'forward' | 'reverse',
    private readonly from: FakeDatabase,
    private readonly to: FakeDatabase,
    private readonly log: string[],
  ) {}

  async start(options?: { fromPosition?: string }): Promise<ReplicationStatus> {
    this.log.push(`${this.direction}.start`);
    this.from.check();
    if (options?.fromPosition !== undefined) {
      this.startedFrom = options.fromPosition;
      this.appliedPosition = Math.max(this.appliedPosition, Number(options.fromPosition));
    }
    this.phase = 'cdc';
    this.tornDown = false;
    return this.status();
  }

  async status(): Promise<ReplicationStatus> {
    const running = this.phase === 'cdc';
    return {
      phase: this.phase,
      direction: this.direction,
      lagMs: running ? this.lagMs : null,
      lagBytes: running ? Math.max(0, this.from.position - this.appliedPosition) : null,
      appliedRowsPerSec: 0,
      tables: [{ source: 'public.t_order', target: 'public.t_order', rows: this.to.appliedRows, totalRows: null, state: 'cdc' }],
      deadLetters: 0,
      appliedPosition: String(this.appliedPosition),
      ...this.statusExtra(),
    };
  }

  async stop(): Promise<void> {
    this.log.push(`${this.direction}.stop`);
    if (this.phase === 'cdc' || this.phase === 'full-load') this.phase = 'stopped';
  }

  async sourcePosition(): Promise<string> {
    this.from.check();
    return String(this.from.position);
  }

  async waitForPosition(position: string, timeoutMs: number): Promise<boolean> {
    this.log.push(`${this.direction}.waitForPosition`);
    const target = Number(position);
    if (this.catchUp === 'never' || this.phase !== 'cdc') {
      await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 50)));
      return this.appliedPosition >= target;
    }
    this.to.check();
    if (target > this.appliedPosition) this.to.appliedRows += target - this.appliedPosition;
    this.appliedPosition = Math.max(this.appliedPosition, target);
    return true;
  }

  async teardown(): Promise<void> {
    this.log.push(`${this.direction}.teardown`);
    this.phase = 'stopped';
    this.tornDown = true;
  }
}

export class FakeFence implements WriteFence {
  constructor(private readonly dbs: Record<Side, FakeDatabase>, private readonly log: string[]) {}
  async refuseWrites(side: Side): Promise<void> {
    this.log.push(`fence.refuseWrites(${side})`);
    this.dbs[side].check();
    this.dbs[side].readOnly = true;
  }
  async allowWrites(side: Side): Promise<void> {
    this.log.push(`fence.allowWrites(${side})`);
    this.dbs[side].check();
    this.dbs[side].readOnly = false;
  }
  async isRefusingWrites(side: Side): Promise<boolean> {
    this.dbs[side].check();
    return this.dbs[side].readOnly;
  }
}

const zeroUpstream = { requests: 0, status2xx: 0, status4xx: 0, status5xx: 0, errors: 0, retriedOnBlue: 0, latencyBucketsMs: [1, 10, 100], latencyCounts: [0, 0, 0] };

/** The router as a state machine; held writes are a counter. */
export class FakeRouter implements TrafficRouter {
  readWeightGreen = 0;
  writeTarget: Side = 'blue';
  writesHeld = false;
  heldCount = 0;
  metricsSnapshot: RouterMetrics = {
    at: new Date().toISOString(),
    upstreams: { blue: zeroUpstream, green: zeroUpstream },
    held: { total: 0, current: 0, holdMsBuckets: [], holdMsCounts: [], maxHoldMs: 0 },
    clientFailures: 0,
  };

  constructor(private readonly log: string[]) {}

  async state(): Promise<RouterState> {
    return { readWeightGreen: this.readWeightGreen, writeTarget: this.writeTarget, writesHeld: this.writesHeld, heldCount: this.heldCount };
  }
  async setReadWeight(p: number): Promise<void> {
    this.log.push(`router.setReadWeight(${p})`);
    this.readWeightGreen = p;
  }
  async holdWrites(): Promise<{ inflightAtHold: number; drained: boolean }> {
    this.log.push('router.holdWrites');
    this.writesHeld = true;
    return { inflightAtHold: 0, drained: true }; // no traffic: nothing in flight
  }
  async setWriteTarget(side: Side): Promise<void> {
    this.log.push(`router.setWriteTarget(${side})`);
    this.writeTarget = side;
  }
  async releaseWrites(): Promise<{ released: number; holdMs: { p50: number; p99: number; max: number } }> {
    this.log.push('router.releaseWrites');
    const released = this.writesHeld ? this.heldCount : 0;
    this.writesHeld = false;
    this.heldCount = 0;
    return { released, holdMs: { p50: released ? 40 : 0, p99: released ? 90 : 0, max: released ? 95 : 0 } };
  }
  async metrics(): Promise<RouterMetrics> {
    return { ...this.metricsSnapshot, at: new Date().toISOString() };
  }
}

export class FakeValidator implements Validator {
  equal = true;
  calls = 0;
  constructor(private readonly log: string[]) {}
  async validate(): Promise<ValidationReport> {
    this.log.push('validator.validate');
    this.calls++;
    const now = new Date().toISOString();
    return {
      equal: this.equal,
      tables: [{ source: 'public.t_order', target: 'public.orders', sourceRows: 1, targetRows: 1, missing: [], extra: [], different: this.equal ? [] : [{ id: 1 }], samples: [], inFlight: 0, deadLetter: [], chunks: { total: 1, mismatched: this.equal ? 0 : 1 } }],
      reconciliation: [],
      startedAt: now,
      finishedAt: now,
      figures: { rowsCompared: 1, rowsFetched: 2, chunks: 1, mismatchedChunks: this.equal ? 0 : 1 },
    };
  }
}

/**
 * Sequences as one number per database: `forward` moves green's above blue's position + gap,
 * `reverse` blue's above green's; never lowered. `failReverse` makes the rollback's call fail.
 */
export class FakeSequences implements SequenceSync {
  readonly value: Record<Side, number> = { blue: 0, green: 0 };
  failReverse: string | null = null;

  constructor(private readonly blue: FakeDatabase, private readonly green: FakeDatabase, private readonly log: string[]) {}

  async syncSequences(gap: number, direction: SequenceDirection = 'forward'): Promise<{ name: string; sourceValue: number; targetValue: number }[]> {
    this.log.push(direction === 'forward' ? 'sequences.syncSequences' : 'sequences.syncSequences(reverse)');
    const [from, to] = direction === 'forward' ? [this.blue, this.green] : [this.green, this.blue];
    from.check();
    to.check();
    if (direction === 'reverse' && this.failReverse) throw new CutoverError('PRECONDITION_FAILED', this.failReverse);
    const sourceValue = Math.max(from.position, this.value[from.side]);
    this.value[to.side] = Math.max(this.value[to.side], sourceValue + gap);
    return [{ name: 'public.orders_id_seq', sourceValue, targetValue: this.value[to.side] }];
  }
}

export interface FakePlatform extends Platform {
  readonly log: string[];
  readonly blue: FakeDatabase;
  readonly green: FakeDatabase;
  readonly forward: FakeReplicator;
  readonly reverse: FakeReplicator;
  readonly validator: FakeValidator;
  readonly fence: FakeFence;
  readonly sequences: FakeSequences;
}

/** A fake platform; pass a real `RouterClient` as `router` to drive the real weighted router. */
export function fakePlatform(options: { router?: TrafficRouter } = {}): FakePlatform & { fakeRouter: FakeRouter | null } {
  const log: string[] = [];
  const blue = new FakeDatabase('blue');
  const green = new FakeDatabase('green');
  const fakeRouter = options.router ? null : new FakeRouter(log);
  const reverse = new FakeReplicator('reverse', green, blue, log);
  reverse.phase = 'not-started';
  const sequences = new FakeSequences(blue, green, log);
  return {
    name: 'postgres',
    log,
    blue,
    green,
    fakeRouter,
    router: options.router ?? fakeRouter!,
    forward: new FakeReplicator('forward', blue, green, log),
    reverse,
    validator: new FakeValidator(log),
    fence: new FakeFence({ blue, green }, log),
    sequences,
    inspector: { checkConnectivity: async () => {}, assess: async () => ({ ok: true, tables: [], findings: [], settings: {} }) },
    snapshotter: {
      snapshot: async () => {
        throw new CutoverError('NOT_SUPPORTED', 'fake');
      },
      verify: async () => {
        throw new CutoverError('NOT_SUPPORTED', 'fake');
      },
      checkRestore: async () => {
        throw new CutoverError('NOT_SUPPORTED', 'fake');
      },
      restore: async () => ({ ok: false, problems: ['fake'] }),
      list: async () => [],
    },
    close: async () => {},
  };
}
