import pg from 'pg';
import type { ReplicationStatus, Replicator } from '../../lib/platform/roles.ts';

/** One committed source change, as the target must apply it. */
interface Change {
  readonly seq: number;
  readonly committedAt: number;
  readonly sql: string;
  readonly values: unknown[];
}

/**
 * A small stand-in for CDC in tests: `write()` runs a statement on the SOURCE and queues what the
 * target must do; a background loop applies queued changes to the TARGET in commit order once
 * they are `delayMs` old. Positions are a counter: a change takes its number before it runs, so a
 * source read that sees a change was followed by `sourcePosition()` >= its number (the same
 * promise a WAL position gives), and `waitForPosition(p)` resolves once every change <= p applied.
 */
export class StandInReplicator implements Replicator {
  private readonly source: pg.Client;
  private readonly target: pg.Client;
  private readonly queue: Change[] = [];
  private assigned = 0;
  private applied = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Applied changes (figures for the test). */
  appliedChanges = 0;

  constructor(
    sourceUrl: string,
    targetUrl: string,
    private readonly delayMs: number,
    /** `reverse`: its "source" is green (writes after the switch) and its "target" blue. */
    readonly direction: 'forward' | 'reverse' = 'forward',
  ) {
    this.source = new pg.Client({ connectionString: sourceUrl });
    this.target = new pg.Client({ connectionString: targetUrl });
  }

  async open(): Promise<void> {
    await Promise.all([this.source.connect(), this.target.connect()]);
  }

  /**
   * Runs `sql` on the source (one statement, its own transaction, `RETURNING *` of the source
   * table) and queues `apply(row)` (target SQL and values) for every returned row.
   */
  async write(sql: string, values: unknown[], apply: (row: Record<string, unknown>) => { sql: string; values: unknown[] }): Promise<void> {
    const seq = ++this.assigned;
    const { rows } = await this.source.query(sql, values);
    const now = Date.now();
    const changes = rows.map((r) => apply(r as Record<string, unknown>));
    if (!changes.length) this.queue.push({ seq, committedAt: now, sql: 'SELECT 1', values: [] });
    changes.forEach((c, i) => this.queue.push({ seq: i === changes.length - 1 ? seq : seq - 0.5, committedAt: now, ...c }));
  }

  async start(): Promise<ReplicationStatus> {
    if (!this.running) {
      this.running = true;
      this.loop = this.applyLoop();
    }
    return this.status();
  }

  private async applyLoop(): Promise<void> {
    while (this.running || this.queue.length) {
      const next = this.queue[0];
      if (!next || (this.running && Date.now() - next.committedAt < this.delayMs)) {
        await sleep(2);
        continue;
      }
      this.queue.shift();
      await this.target.query(next.sql, next.values);
      this.applied = Math.max(this.applied, next.seq);
      this.appliedChanges++;
    }
  }

  async status(): Promise<ReplicationStatus> {
    return { phase: this.running ? 'cdc' : 'stopped', direction: this.direction, lagMs: this.delayMs, lagBytes: 0, appliedRowsPerSec: 0, tables: [], deadLetters: 0 };
  }

  /** Applies everything still queued, then stops. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  async sourcePosition(): Promise<string> {
    return String(this.assigned);
  }

  /** Polls every 25 ms, as the real replicator polls its status files: the target moves on meanwhile. */
  async waitForPosition(position: string, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.applied < Number(position)) {
      if (Date.now() > until) return false;
      await sleep(25);
    }
    return true;
  }

  async teardown(): Promise<void> {
    await this.stop();
    await Promise.all([this.source.end().catch(() => {}), this.target.end().catch(() => {})]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
