import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../../config/load.ts';
import { loadTableMappings } from '../../mappings/index.ts';
import { resolveSelected, schemasToRead, sideScope } from '../../mappings/mapped-schemas.ts';
import type { Output } from '../../output/output.ts';
import type { SequenceDirection, SequenceSync } from '../../platform/roles.ts';
import { openKitClient } from '../../postgres/kit-client.ts';
import { readMysqlCatalog } from './mysql-catalog.ts';
import { connectMysql, mysqlRows } from './mysql-connection.ts';

type SequenceMove = { name: string; sourceValue: number; targetValue: number };

const q = (n: string) => '`' + n.replace(/`/g, '``') + '`';
const pq = (n: string) => '"' + n.replace(/"/g, '""') + '"';

/**
 * Sequences between a MySQL-family blue (AUTO_INCREMENT) and a PostgreSQL green (sequences and
 * identities), through the forward mapping's table and column names. AWS DMS migrates neither.
 *
 * `forward` (the write switch): every green sequence owned by a mapped column moves to at least
 * max(the blue table's AUTO_INCREMENT, max(id) + 1, green's own max(id) + 1) + gap.
 * `reverse` (the rollback): blue's AUTO_INCREMENT moves to at least max(green's sequence value,
 * green's max(id)) + 1 + gap with `ALTER TABLE … AUTO_INCREMENT`.
 *
 * Neither ever lowers: PostgreSQL sequences are compared before setval, and InnoDB would lower
 * AUTO_INCREMENT to max(id)+1 if asked, so the current value is read first — on MySQL 8 with
 * `information_schema_stats_expiry = 0`, since INFORMATION_SCHEMA.TABLES caches AUTO_INCREMENT
 * (24 h by default). Running either twice changes nothing.
 */
export class CrossEngineSequenceSync implements SequenceSync {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
  ) {}

  async syncSequences(gap: number, direction: SequenceDirection = 'forward'): Promise<SequenceMove[]> {
    const blue = await connectMysql(this.env.source.url, 'source');
    let green: pg.Client | undefined;
    try {
      green = await openKitClient(this.env.target.url, 'cutover-sequences');
      // MySQL 8 caches INFORMATION_SCHEMA.TABLES.AUTO_INCREMENT; MariaDB has no such variable
      await blue.query('SET SESSION information_schema_stats_expiry = 0').catch(() => {});
      const doc = await loadTableMappings(this.env.mappingFiles.forward);
      const schemas = schemasToRead(doc, sideScope(this.env, 'source'));
      const catalog = await readMysqlCatalog(blue, schemas);
      const tables = resolveSelected(doc, catalog, schemas, 'source').tables;
      const results: SequenceMove[] = [];
      for (const t of tables) {
        const greenTable = `${pq(t.target.schema)}.${pq(t.target.table)}`;
        const blueTable = `${q(t.source.schema)}.${q(t.source.table)}`;
        for (const column of t.columns) {
          if (column.kind !== 'copy') continue;
          const { rows: seqRows } = await green.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [greenTable, column.target]);
          const sequence = seqRows[0]?.seq;
          if (!sequence) continue;
          const [ai] = await mysqlRows<{ ai: string | number | null; extra: string }>(
            blue,
            `SELECT t.AUTO_INCREMENT AS ai, c.EXTRA AS extra FROM information_schema.TABLES t
               JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
              WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ? AND c.COLUMN_NAME = ?`,
            [t.source.schema, t.source.table, column.source],
          );
          const autoIncrement = /auto_increment/i.test(ai?.extra ?? '') && ai?.ai != null ? Number(ai.ai) : null;
          const [bm] = await mysqlRows<{ m: string | number | null }>(blue, `SELECT MAX(${q(column.source)}) AS m FROM ${blueTable}`);
          const blueMax = Number(bm?.m ?? 0);
          const { rows: gm } = await green.query<{ m: string | null; last: string | null; called: boolean | null }>(
            `SELECT (SELECT max(${pq(column.target)})::text FROM ${greenTable}) AS m, s.last_value::text AS last, s.is_called AS called
               FROM pg_sequences ps JOIN LATERAL (SELECT last_value, is_called FROM ${sequence}) s ON true
              WHERE (quote_ident(ps.schemaname) || '.' || quote_ident(ps.sequencename))::regclass = $1::regclass`,
            [sequence],
          );
          const greenMax = Number(gm[0]?.m ?? 0);
          const greenSeq = gm[0]?.called ? Number(gm[0]?.last ?? 0) : Number(gm[0]?.last ?? 1) - 1;
          if (direction === 'forward') {
            // blue's next id is max(AUTO_INCREMENT, max+1): green's next one starts above it
            const blueNext = Math.max(autoIncrement ?? 0, blueMax + 1);
            const floor = Math.max(blueNext, greenMax + 1) + gap;
            const { rows } = await green.query<{ v: string }>(
              `SELECT CASE WHEN s.is_called AND s.last_value >= $2 THEN s.last_value ELSE setval($1::regclass, GREATEST($2::bigint, s.last_value)) END::text AS v FROM ${sequence} s`,
              [sequence, floor],
            );
            const targetValue = Number(rows[0]!.v);
            results.push({ name: sequence, sourceValue: blueNext - 1, targetValue });
            this.out.ok('sequences', `${sequence}: blue next ${blueNext}, green now ${targetValue}`);
          } else {
            if (autoIncrement === null) continue;
            const greenHigh = Math.max(greenSeq, greenMax);
            const floor = greenHigh + 1 + gap;
            if (autoIncrement < floor) await blue.query(`ALTER TABLE ${blueTable} AUTO_INCREMENT = ${Math.trunc(floor)}`);
            const [now] = await mysqlRows<{ ai: string | number }>(blue, 'SELECT AUTO_INCREMENT AS ai FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [t.source.schema, t.source.table]);
            const targetValue = Number(now?.ai ?? autoIncrement);
            results.push({ name: `${t.source.schema}.${t.source.table}.${column.source} AUTO_INCREMENT`, sourceValue: greenHigh, targetValue });
            this.out.ok('sequences', `${t.source.schema}.${t.source.table}: green handed out ${greenHigh}, blue AUTO_INCREMENT now ${targetValue}`);
          }
        }
      }
      return results;
    } finally {
      await blue.end().catch(() => {});
      await green?.end().catch(() => {});
    }
  }
}
