import type { Output } from '../output/output.ts';
import { CutoverError } from '../errors.ts';
import type { SequenceSync } from '../platform/roles.ts';
import type { AwsDatabaseEndpoints } from './aws-database-endpoints.ts';

/**
 * `SequenceSync` for PostgreSQL-family blue and green, over the same connections as the fence:
 * every green sequence whose `schema.name` also exists on blue is moved to blue's value + gap
 * (never lowered: `greatest` with its own value). Sequences only on one side are reported, not
 * guessed (renamed tables keep their sequence name only if the mapping does).
 */
export class AuroraSequenceSync implements SequenceSync {
  constructor(
    private readonly endpoints: AwsDatabaseEndpoints,
    private readonly out: Output,
  ) {}

  async syncSequences(gap: number): Promise<{ name: string; sourceValue: number; targetValue: number }[]> {
    if (this.endpoints.family('blue') !== 'postgres') {
      throw new CutoverError('NOT_SUPPORTED', 'sequence sync from a MySQL-family blue is not implemented (AUTO_INCREMENT has no sequence objects)', {
        fix: 'set green identities by hand: select setval(...) above max(id) + gap for each table, then re-run `cutover switch`',
      });
    }
    const list = `select quote_ident(schemaname) || '.' || quote_ident(sequencename) as name, coalesce(last_value, start_value)::text as value from pg_sequences`;
    const blue = await this.endpoints.connect('blue');
    let sourceValues: Map<string, number>;
    try {
      sourceValues = new Map((await blue.query(list)).map((r) => [String(r.name), Number(r.value)]));
    } finally {
      await blue.close();
    }
    const green = await this.endpoints.connect('green');
    const moved: { name: string; sourceValue: number; targetValue: number }[] = [];
    try {
      for (const r of await green.query(list)) {
        const name = String(r.name);
        const sourceValue = sourceValues.get(name);
        if (sourceValue === undefined) {
          this.out.info('sequences', `${name} exists on green only: left as is`);
          continue;
        }
        const rows = await green.query('select setval($1::regclass, greatest($2::bigint, $3::bigint))::text as value', [name, sourceValue + gap, Number(r.value)]);
        moved.push({ name, sourceValue, targetValue: Number(rows[0]?.value) });
      }
    } finally {
      await green.close();
    }
    this.out.ok('sequences', `${moved.length} green sequence(s) above blue + ${gap}`);
    return moved;
  }
}
