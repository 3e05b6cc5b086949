import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import { connectMysql } from '../engines/mysql/mysql-connection.ts';
import { dropMysqlKitDatabase, mysqlDeadLetterLines, mysqlKitDependents } from '../engines/mysql/mysql-kit-removal.ts';
import { describeMysqlKitSchema, MYSQL_KIT_DATABASE } from '../engines/mysql/mysql-kit-schema.ts';
import type { Output } from '../output/output.ts';
import type { KitCleaner, KitTrace } from '../platform/roles.ts';
import { withoutPassword } from '../postgres/kit-client.ts';
import { PostgresKitCleaner } from './kit-cleaner.ts';

/**
 * `cutover cancel` for a MySQL-family blue and a PostgreSQL green. On blue the kit keeps one
 * thing: its `_cutover` database (reverse replication's applied position and dead letters); it
 * creates no account (the reverse replication writes with the account of `source.url`, which the
 * user made) and reads the binlog without objects of its own. On green everything is the
 * PostgreSQL cleaner's: the reverse slot and publication, the forward apply's replication
 * origins and its `_cutover` schema. Dead letters are written to a file under the state folder
 * before a database or schema holding them is dropped.
 */
export class MysqlSourceKitCleaner implements KitCleaner {
  private readonly green: PostgresKitCleaner;

  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
  ) {
    this.green = new PostgresKitCleaner(env, out, ['target']);
  }

  async inventory(): Promise<KitTrace[]> {
    const blue = await this.withBlue(async (c) => {
      const detail = await describeMysqlKitSchema(c);
      if (detail === null) return [];
      const outside = await mysqlKitDependents(c);
      const used = outside.length ? `; USED FROM OUTSIDE by ${outside.join(', ')} (cancel will refuse to drop it)` : '';
      return [{ side: 'source', kind: 'schema', name: MYSQL_KIT_DATABASE, detail: `database: ${detail}${used}` } satisfies KitTrace];
    });
    return [...blue, ...(await this.green.inventory())];
  }

  async remove(t: KitTrace): Promise<string | null> {
    if (t.side === 'target') return this.green.remove(t);
    if (t.kind !== 'schema' || t.name !== MYSQL_KIT_DATABASE) throw new CutoverError('INTERNAL', `the MySQL cleaner does not remove ${t.kind} ${t.name} on blue`);
    return this.withBlue(async (c) => {
      const lines = await mysqlDeadLetterLines(c);
      let kept: string | null = null;
      if (lines.length) {
        const dir = path.join(this.env.stateDir, 'cancelled');
        mkdirSync(dir, { recursive: true });
        kept = path.join(dir, `source-dead-letters-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
        writeFileSync(kept, lines.join(''));
        this.out.info('cancel', `${lines.length} dead letter(s) of blue kept in ${kept}`);
      }
      await dropMysqlKitDatabase(c, `the source (${withoutPassword(this.env.source.url)})`);
      return kept;
    });
  }

  private async withBlue<T>(fn: (c: Awaited<ReturnType<typeof connectMysql>>) => Promise<T>): Promise<T> {
    const c = await connectMysql(this.env.source.url, 'source');
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }
}
