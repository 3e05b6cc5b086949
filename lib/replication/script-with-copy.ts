import type pg from 'pg';

/** What one statement of a script returned: its command tag's row count, and its rows (text values) if any. */
export interface StatementResult {
  readonly command: string;
  readonly rowCount: number | null;
  readonly rows: Record<string, string | null>[];
}

/** The parts of node-postgres's connection a submittable query uses. */
interface Connection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/**
 * Runs SQL statements that include `COPY … FROM STDIN` as one simple-protocol query, with each
 * COPY's data sent right behind the query text — one round trip for the lot.
 *
 * pg-copy-streams sends a COPY's query, waits for the server's CopyInResponse, then sends the
 * data; the statements around it needed queries of their own. A batch of new rows was three
 * round trips (begin + COPY, its data, the bookkeeping and commit), and each one waited for the
 * target backend to be scheduled on a busy machine. The server reads a multi-statement query's
 * COPY data from the same stream, in order, as each COPY starts. Should a statement fail before
 * its COPY starts, the server skips the rest of the query and ignores the CopyData and CopyDone
 * that follow (the protocol says to accept and ignore them outside COPY): the query's error is
 * the outcome, as with any failed script.
 */
export function runScriptWithCopy(client: pg.ClientBase, text: string, copies: readonly Buffer[]): Promise<StatementResult[]> {
  return new Promise((resolve, reject) => {
    client.query(new ScriptWithCopy(text, copies, resolve, reject) as unknown as pg.QueryConfig);
  });
}

class ScriptWithCopy {
  private readonly results: StatementResult[] = [];
  private fields: string[] = [];
  private rows: Record<string, string | null>[] = [];
  private failed: Error | null = null;

  constructor(
    private readonly text: string,
    private readonly copies: readonly Buffer[],
    private readonly resolve: (results: StatementResult[]) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  submit(connection: Connection): void {
    connection.query(this.text);
    for (const data of this.copies) {
      if (data.length) connection.sendCopyFromChunk(data);
      connection.endCopyFrom();
    }
  }

  /** node-postgres may wrap this (its query_timeout); defining it lets it find it. */
  callback(): void {}

  handleRowDescription(msg: { fields: { name: string }[] }): void {
    this.fields = msg.fields.map((f) => f.name);
    this.rows = [];
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    const row: Record<string, string | null> = {};
    for (let i = 0; i < this.fields.length; i++) row[this.fields[i]!] = msg.fields[i] ?? null;
    this.rows.push(row);
  }

  handleCommandComplete(msg: { text: string }): void {
    // `INSERT 0 5`, `COPY 5000`, `SELECT 1`, `COMMIT`: the count is the last number, if any
    const count = /(\d+)$/.exec(msg.text)?.[1];
    this.results.push({ command: msg.text.split(' ')[0]!, rowCount: count === undefined ? null : Number(count), rows: this.rows });
    this.fields = [];
    this.rows = [];
  }

  handleEmptyQuery(): void {}

  /** The data went with the query (see submit). */
  handleCopyInResponse(): void {}

  handleCopyData(): void {}

  handlePortalSuspended(): void {}

  handleError(err: Error): void {
    // node-postgres drops the query as active on an error: ReadyForQuery will not reach it
    if (this.failed) return;
    this.failed = err;
    this.reject(err);
  }

  handleReadyForQuery(): void {
    if (!this.failed) this.resolve(this.results);
  }
}
