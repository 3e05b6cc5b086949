import type { JournalRecord, NewJournalRecord } from './journal-store.ts';
import type { StepJournal } from './phase.ts';

type Append = (record: Pick<NewJournalRecord, 'phase' | 'action' | 'status'> & Partial<NewJournalRecord>) => Promise<JournalRecord>;

/**
 * The journal a phase sees: every `step()` becomes a started record and an ok/failed record, so a
 * re-run after kill -9 knows which steps finished (`completedSteps()`), and an auditor sees each
 * action of the write switch with its figures.
 */
export class PhaseStepJournal implements StepJournal {
  private readonly completed: string[];
  private okHere = 0;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly append: Append,
    private readonly phase: string,
    completedBefore: readonly string[] = [],
  ) {
    this.completed = [...completedBefore];
  }

  async step<T>(action: string, inputs: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    await this.flush();
    await this.append({ phase: this.phase, action, status: 'started', inputs });
    const startedAt = Date.now();
    try {
      const value = await fn();
      const figures = { durationMs: Date.now() - startedAt, ...figuresOf(value) };
      await this.append({ phase: this.phase, action, status: 'ok', inputs, figures, result: smallResult(value) });
      if (!this.completed.includes(action)) this.completed.push(action);
      this.okHere++;
      return value;
    } catch (err) {
      await this.append({ phase: this.phase, action, status: 'failed', inputs, result: errorResult(err), figures: { durationMs: Date.now() - startedAt } });
      throw err;
    }
  }

  completedSteps(): readonly string[] {
    return this.completed;
  }

  /** Steps recorded ok through this journal (this run only, resumed ones not counted). */
  stepsDoneHere(): number {
    return this.okHere;
  }

  note(action: string, figures: Record<string, unknown>): void {
    const next = this.pending.then(() => this.append({ phase: this.phase, action, status: 'info', figures }));
    this.pending = next.catch(() => undefined);
  }

  /** Waits for notes still being written (the engine calls it before it records the phase's end). */
  async flush(): Promise<void> {
    await this.pending;
  }
}

/** Numbers and short strings of a step's result become its journal figures. */
function figuresOf(value: unknown): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const figures: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 200)) figures[k] = v;
  }
  return figures;
}

/** Results are journaled whole only when small: the journal is for people and for resume. */
export function smallResult(value: unknown, limit = 4_000): unknown {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return undefined;
    return text.length <= limit ? value : { truncated: true, bytes: text.length };
  } catch {
    return { unserializable: true };
  }
}

export function errorResult(err: unknown): Record<string, unknown> {
  const e = err as { code?: unknown; message?: unknown };
  return { error: typeof e?.code === 'string' ? e.code : 'INTERNAL', message: typeof e?.message === 'string' ? e.message : String(err) };
}
