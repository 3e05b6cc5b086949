import type { StepJournal } from '../../../lib/engine/phase.ts';

/** Thrown by a journal that has been "killed": nothing runs after it, as after kill -9. */
export class SimulatedKill extends Error {
  constructor(at: string) {
    super(`simulated kill -9 at ${at}`);
  }
}

export interface JournalEntry {
  readonly action: string;
  readonly status: 'started' | 'ok' | 'failed' | 'info';
  readonly inputs?: Record<string, unknown>;
  readonly result?: unknown;
}

/**
 * An in-memory StepJournal for phase tests (the engine writes the real one). `killBefore(action)`
 * stops the process before that step starts; `killAfterEffect(action)` lets the step's side
 * effect happen and dies before its ok record. Once killed, every later step throws without
 * running. `revive()` is the operator starting the command again with the same journal.
 */
export class MemoryJournal implements StepJournal {
  readonly entries: JournalEntry[] = [];
  private killed: string | null = null;
  private killPoint: { action: string; when: 'before' | 'after-effect'; occurrence: number } | null = null;
  private seen = new Map<string, number>();

  killBefore(action: string, occurrence = 1): this {
    this.killPoint = { action, when: 'before', occurrence };
    return this;
  }

  killAfterEffect(action: string, occurrence = 1): this {
    this.killPoint = { action, when: 'after-effect', occurrence };
    return this;
  }

  get wasKilled(): boolean {
    return this.killed !== null;
  }

  revive(): this {
    this.killed = null;
    this.killPoint = null;
    return this;
  }

  async step<T>(action: string, inputs: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    if (this.killed) throw new SimulatedKill(this.killed);
    const n = (this.seen.get(action) ?? 0) + 1;
    this.seen.set(action, n);
    const hit = this.killPoint && this.killPoint.action === action && this.killPoint.occurrence === n ? this.killPoint.when : null;
    if (hit === 'before') {
      this.killed = `before ${action}`;
      throw new SimulatedKill(this.killed);
    }
    this.entries.push({ action, status: 'started', inputs });
    try {
      const result = await fn();
      if (hit === 'after-effect') {
        this.killed = `after ${action} took effect`;
        throw new SimulatedKill(this.killed);
      }
      this.entries.push({ action, status: 'ok', result });
      return result;
    } catch (err) {
      if (!(err instanceof SimulatedKill)) this.entries.push({ action, status: 'failed', result: String(err) });
      throw err;
    }
  }

  completedSteps(): readonly string[] {
    return this.entries.filter((e) => e.status === 'ok').map((e) => e.action);
  }

  note(action: string, figures: Record<string, unknown>): void {
    if (this.killed) return;
    this.entries.push({ action, status: 'info', result: figures });
  }

  notes(action: string): unknown[] {
    return this.entries.filter((e) => e.status === 'info' && e.action === action).map((e) => e.result);
  }
}
