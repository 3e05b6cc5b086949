/**
 * The one output interface. Commands never write to stdout/stderr directly: they report through
 * an `Output`, which is a live TTY view, plain lines (CI, pipes) or JSON (`--json`).
 *
 * Plain-line grammar (stable, documented in runbooks/understanding-output.md):
 *   `<HH:MM:SS> <level> <topic>: <message>` with level one of `info|warn|error|ok|step|prog`.
 */
export type OutputLevel = 'info' | 'warn' | 'error' | 'ok' | 'step' | 'prog';

export interface ProgressUpdate {
  /** What is progressing, e.g. `full-load public.t_order`. */
  readonly topic: string;
  readonly done: number;
  readonly total?: number;
  /** Unit of `done`/`total`, e.g. `rows`. */
  readonly unit?: string;
  /** Free-form figures shown beside the bar: lag, weight, rows/s. */
  readonly figures?: Readonly<Record<string, string | number>>;
}

export interface Output {
  readonly mode: 'tty' | 'plain' | 'json';
  info(topic: string, message: string): void;
  ok(topic: string, message: string): void;
  warn(topic: string, message: string): void;
  error(topic: string, message: string): void;
  /** A step of a plan or procedure (used by `--dry-run`). */
  step(topic: string, message: string): void;
  /** Live progress. TTY: redraws a bar; plain: a line at most every `plainIntervalMs`. */
  progress(update: ProgressUpdate): void;
  /** Finishes any live view for `topic`. */
  done(topic: string): void;
  /**
   * The command's result object. JSON mode prints it as the only stdout document; the other
   * modes print `human` (when given) instead.
   */
  result(value: unknown, human?: string): void;
}

export interface OutputOptions {
  readonly mode?: 'tty' | 'plain' | 'json';
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  readonly clock?: () => Date;
  /** Minimum interval between plain progress lines per topic. @default 2000 */
  readonly plainIntervalMs?: number;
}

function hhmmss(d: Date): string {
  return d.toISOString().slice(11, 19);
}

function formatProgress(u: ProgressUpdate): string {
  const unit = u.unit ? ` ${u.unit}` : '';
  const of = u.total !== undefined ? `/${u.total}` : '';
  const pct = u.total ? ` (${Math.min(100, Math.floor((u.done / u.total) * 100))}%)` : '';
  const figs = u.figures
    ? ' ' +
      Object.entries(u.figures)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : '';
  return `${u.done}${of}${unit}${pct}${figs}`;
}

const brokenPipes = new WeakSet<NodeJS.WritableStream>();
const guardedStreams = new WeakSet<NodeJS.WritableStream>();

/**
 * A reader that went away (`cutover … | head`) is not an error: EPIPE on `stream` is swallowed
 * and later writes to it are dropped, so the command finishes its work (a phase is never cut off
 * between two steps because nobody reads its output) and exits with its own code, quietly.
 * Other stream errors are thrown as before.
 */
export function ignoreBrokenPipe(stream: NodeJS.WritableStream): void {
  if (guardedStreams.has(stream)) return;
  guardedStreams.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    brokenPipes.add(stream);
  });
}

/** Writes unless the reader of `stream` has gone away. */
function write(stream: NodeJS.WritableStream, text: string): void {
  if (brokenPipes.has(stream) || (stream as { destroyed?: boolean }).destroyed) return;
  try {
    stream.write(text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    brokenPipes.add(stream);
  }
}

/**
 * Plain lines (and, in `tty` mode, the same lines with progress redrawn in place).
 * In `json` mode human lines go to stderr so stdout holds exactly one JSON document.
 */
export class StreamOutput implements Output {
  public readonly mode: 'tty' | 'plain' | 'json';
  private readonly stdout: NodeJS.WritableStream;
  private readonly stderr: NodeJS.WritableStream;
  private readonly clock: () => Date;
  private readonly plainIntervalMs: number;
  private readonly lastProgressAt = new Map<string, number>();
  private liveLine = false;

  constructor(options: OutputOptions = {}) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.mode =
      options.mode ?? ((this.stdout as NodeJS.WriteStream).isTTY && !process.env.CI ? 'tty' : 'plain');
    this.clock = options.clock ?? (() => new Date());
    this.plainIntervalMs = options.plainIntervalMs ?? 2000;
    ignoreBrokenPipe(this.stdout);
    ignoreBrokenPipe(this.stderr);
  }

  private line(level: OutputLevel, topic: string, message: string): void {
    const text = `${hhmmss(this.clock())} ${level.padEnd(5)} ${topic}: ${message}\n`;
    const stream = this.mode === 'json' || level === 'error' || level === 'warn' ? this.stderr : this.stdout;
    this.clearLive();
    write(stream, text);
  }

  private clearLive(): void {
    if (this.liveLine && this.mode === 'tty') {
      write(this.stdout, '\r\x1b[2K');
      this.liveLine = false;
    }
  }

  info(topic: string, message: string): void {
    this.line('info', topic, message);
  }
  ok(topic: string, message: string): void {
    this.line('ok', topic, message);
  }
  warn(topic: string, message: string): void {
    this.line('warn', topic, message);
  }
  error(topic: string, message: string): void {
    this.line('error', topic, message);
  }
  step(topic: string, message: string): void {
    this.line('step', topic, message);
  }

  progress(update: ProgressUpdate): void {
    if (this.mode === 'tty') {
      write(this.stdout, `\r\x1b[2K${hhmmss(this.clock())} prog  ${update.topic}: ${formatProgress(update)}`);
      this.liveLine = true;
      return;
    }
    const now = this.clock().getTime();
    const last = this.lastProgressAt.get(update.topic);
    const finished = update.total !== undefined && update.done >= update.total;
    if (last !== undefined && now - last < this.plainIntervalMs && !finished) return;
    this.lastProgressAt.set(update.topic, now);
    this.line('prog', update.topic, formatProgress(update));
  }

  done(topic: string): void {
    this.lastProgressAt.delete(topic);
    this.clearLive();
  }

  result(value: unknown, human?: string): void {
    this.clearLive();
    if (this.mode === 'json') {
      write(this.stdout, JSON.stringify(value, null, 2) + '\n');
    } else if (human !== undefined) {
      write(this.stdout, human.endsWith('\n') ? human : human + '\n');
    }
  }
}

/** An output that records everything; for tests and for the rehearsal's live view. */
export class RecordingOutput implements Output {
  public readonly mode = 'plain' as const;
  public readonly lines: { level: OutputLevel; topic: string; message: string }[] = [];
  public readonly progressUpdates: ProgressUpdate[] = [];
  public readonly results: unknown[] = [];

  info(topic: string, message: string): void {
    this.lines.push({ level: 'info', topic, message });
  }
  ok(topic: string, message: string): void {
    this.lines.push({ level: 'ok', topic, message });
  }
  warn(topic: string, message: string): void {
    this.lines.push({ level: 'warn', topic, message });
  }
  error(topic: string, message: string): void {
    this.lines.push({ level: 'error', topic, message });
  }
  step(topic: string, message: string): void {
    this.lines.push({ level: 'step', topic, message });
  }
  progress(update: ProgressUpdate): void {
    this.progressUpdates.push(update);
  }
  done(): void {}
  result(value: unknown): void {
    this.results.push(value);
  }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.topic}: ${l.message}`).join('\n');
  }
}

/** Discards everything (library use with no user watching). */
export const silentOutput: Output = {
  mode: 'plain',
  info() {},
  ok() {},
  warn() {},
  error() {},
  step() {},
  progress() {},
  done() {},
  result() {},
};
