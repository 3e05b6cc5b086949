import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import { CutoverError } from '../errors.ts';
import type { Output } from '../output/output.ts';
import type { KitCleaner, KitTrace } from '../platform/roles.ts';
import { formatBytes } from '../output/bytes.ts';
import { openKitClient, withoutPassword } from '../postgres/kit-client.ts';
import { CONTROL_SCHEMA } from './control-schema.ts';
import { dropPublication, dropSlot } from './replication-slot.ts';
import { quoteIdent } from './sql-names.ts';
import { isStreamOrigin, streamNames } from './stream-names.ts';

type SideName = KitTrace['side'];

/** LIKE patterns need `_` and `%` escaped to match themselves. */
function likeLiteral(s: string): string {
  return s.replace(/[\\_%]/g, (c) => `\\${c}`);
}

/**
 * The kit's objects in a `postgres` environment's two databases, found in the catalogs by the
 * names the kit gives them (stream-names.ts) — both directions, every configured wave, the
 * snapshot's temporary slots (`<slot>_snap_…`) and the full-load lanes' origins (`<origin>_l<n>`)
 * — and removed one by one for `cutover cancel`. The kit's control schema goes last; its dead
 * letters (changes the target rejected) are first written to a file under the state folder, so
 * cancel loses nothing it was keeping. The schema is refused when an object outside it depends
 * on it (a view, a foreign key, a trigger): `drop … cascade` would take the user's object too.
 */
export class PostgresKitCleaner implements KitCleaner {
  constructor(
    private readonly env: ResolvedPostgresEnvironment,
    private readonly out: Output,
    /** The sides that are PostgreSQL (a MySQL-family blue's traces are MysqlSourceKitCleaner's). @default both */
    private readonly sides: readonly SideName[] = ['source', 'target'],
  ) {}

  /**
   * Names of every stream of the environment (both directions, every wave), on the side where
   * the kit makes them: a direction's slot (and the snapshot's temporary `<slot>_snap_…`) on the
   * side it reads, its publication there too, its replication origins (`<origin>`, full-load
   * lanes `<origin>_l<n>`) on the side it writes. Origins and slots are cluster-wide catalogs, so
   * looking for each on its own side also keeps two databases of one server apart.
   */
  private names(side: SideName): { slots: string[]; slotPatterns: string[]; publications: string[]; origins: string[]; originPatterns: string[] } {
    const waves = [undefined, ...this.env.replication.waves.map((w) => w.name)];
    const readHere = side === 'source' ? 'forward' : 'reverse';
    const writeHere = side === 'source' ? 'reverse' : 'forward';
    const read = waves.map((w) => streamNames(this.env, readHere, w));
    const written = waves.map((w) => streamNames(this.env, writeHere, w));
    return {
      slots: read.map((s) => s.slot),
      slotPatterns: read.map((s) => `${likeLiteral(s.slot)}\\_snap\\_%`),
      publications: read.map((s) => s.publication),
      origins: written.map((s) => s.origin),
      originPatterns: written.map((s) => `${likeLiteral(s.origin)}\\_l%`),
    };
  }

  private url(side: SideName): string {
    return side === 'source' ? this.env.source.url : this.env.target.url;
  }

  private async withSide<T>(side: SideName, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = await openKitClient(this.url(side), 'cutover-cancel');
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => {});
    }
  }

  async inventory(): Promise<KitTrace[]> {
    const traces: KitTrace[] = [];
    for (const side of this.sides) traces.push(...(await this.withSide(side, (c) => this.sideInventory(c, side))));
    return traces;
  }

  private async sideInventory(c: pg.Client, side: SideName): Promise<KitTrace[]> {
    const n = this.names(side);
    const traces: KitTrace[] = [];
    const slots = await c.query<{ name: string; active: boolean; temporary: boolean; retained: string | null }>(
      `select slot_name::text as name, active, temporary,
              case when restart_lsn is null or pg_is_in_recovery() then null
                   else pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text end as retained
         from pg_replication_slots
        where database = current_database() and (slot_name = any($1::text[]) or slot_name like any($2::text[]))
        order by slot_name`,
      [n.slots, n.slotPatterns],
    );
    for (const s of slots.rows) {
      const bits = [s.active ? 'active' : 'inactive', ...(s.temporary ? ['temporary'] : []), ...(s.retained !== null ? [`retains ${formatBytes(Number(s.retained))} of WAL`] : [])];
      traces.push({ side, kind: 'slot', name: s.name, detail: bits.join(', ') });
    }
    const pubs = await c.query<{ name: string; tables: string }>(
      `select p.pubname::text as name, (select count(*) from pg_publication_rel r where r.prpubid = p.oid)::text as tables
         from pg_publication p where p.pubname = any($1::text[]) order by p.pubname`,
      [n.publications],
    );
    for (const p of pubs.rows) traces.push({ side, kind: 'publication', name: p.name, detail: `${p.tables} table(s)` });
    const origins = await c.query<{ name: string }>(
      `select roname::text as name from pg_replication_origin where roname = any($1::text[]) or roname like any($2::text[]) order by roname`,
      [n.origins, n.originPatterns],
    );
    // exactly the streams' origins (stream-names.ts): `<origin>_l` followed by digits, not any `_l…` name
    for (const o of origins.rows) if (n.origins.some((origin) => isStreamOrigin(origin, o.name))) traces.push({ side, kind: 'origin', name: o.name });
    const schema = await schemaContents(c);
    if (schema) traces.push({ side, kind: 'schema', name: CONTROL_SCHEMA, detail: schema });
    return traces;
  }

  async remove(t: KitTrace): Promise<string | null> {
    return this.withSide(t.side, async (c) => {
      switch (t.kind) {
        case 'slot':
          await dropSlot(c, t.name);
          return null;
        case 'publication':
          await dropPublication(c, t.name);
          return null;
        case 'origin':
          await dropOrigin(c, t.name);
          return null;
        case 'schema':
          return this.dropControlSchema(c, t.side);
        default:
          throw new CutoverError('INTERNAL', `the postgres cleaner does not remove ${t.kind} ${t.name}`);
      }
    });
  }

  /** Dead letters to a file first (nothing the kit kept is lost), then the schema and everything in it. */
  private async dropControlSchema(c: pg.Client, side: SideName): Promise<string | null> {
    const ns = await c.query<{ oid: number }>('select oid::int from pg_namespace where nspname = $1', [CONTROL_SCHEMA]);
    if (!ns.rowCount) return null;
    const outside = await externalDependents(c, ns.rows[0]!.oid);
    if (outside.length) {
      throw new CutoverError('PRECONDITION_FAILED', `schema ${CONTROL_SCHEMA} on the ${side} (${withoutPassword(this.url(side))}) is used by objects outside it: ${outside.join(', ')}`, {
        received: outside,
        fix: `drop or change those objects (they are not the kit's), then run cancel again; nothing else of ${CONTROL_SCHEMA} was dropped`,
      });
    }
    let kept: string | null = null;
    if ((await c.query(`select to_regclass('${CONTROL_SCHEMA}.dead_letter') is not null as x`)).rows[0].x) {
      const rows = await c.query<{ line: string }>(`select row_to_json(d)::text as line from ${CONTROL_SCHEMA}.dead_letter d order by id`);
      if (rows.rowCount) {
        const dir = path.join(this.env.stateDir, 'cancelled');
        mkdirSync(dir, { recursive: true });
        kept = path.join(dir, `${side}-dead-letters-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
        writeFileSync(kept, rows.rows.map((r) => r.line + '\n').join(''));
        this.out.info('cancel', `${rows.rowCount} dead letter(s) of the ${side} kept in ${kept}`);
      }
    }
    await c.query(`drop schema if exists ${CONTROL_SCHEMA} cascade`);
    return kept;
  }
}

/** What the control schema holds (tables with their rows, functions), or null when it does not exist. */
async function schemaContents(c: pg.ClientBase): Promise<string | null> {
  const ns = await c.query<{ oid: number }>('select oid::int from pg_namespace where nspname = $1', [CONTROL_SCHEMA]);
  if (!ns.rowCount) return null;
  const oid = ns.rows[0]!.oid;
  const rels = await c.query<{ name: string; kind: string }>(
    `select relname::text as name, relkind::text as kind from pg_class where relnamespace = $1 and relkind in ('r','p','v','m','f') order by relname`,
    [oid],
  );
  const procs = await c.query<{ name: string }>(`select proname::text as name from pg_proc where pronamespace = $1 order by proname`, [oid]);
  const parts: string[] = [];
  for (const r of rels.rows) {
    if (r.kind === 'r' || r.kind === 'p') {
      const n = (await c.query<{ n: string }>(`select count(*)::text as n from ${CONTROL_SCHEMA}.${quoteIdent(r.name)}`)).rows[0]!.n;
      parts.push(`table ${r.name} (${n} row(s))`);
    } else parts.push(`${r.kind === 'v' ? 'view' : 'relation'} ${r.name}`);
  }
  for (const p of procs.rows) parts.push(`function ${p.name}`);
  const outside = await externalDependents(c, oid);
  if (outside.length) parts.push(`USED FROM OUTSIDE by ${outside.join(', ')} (cancel will refuse to drop it)`);
  return parts.length ? parts.join(', ') : 'empty';
}

/** Objects outside the schema that depend on objects in it: views, foreign keys, triggers. */
async function externalDependents(c: pg.ClientBase, ns: number): Promise<string[]> {
  const { rows } = await c.query<{ what: string }>(
    `select distinct format('view %I.%I', vn.nspname, v.relname) as what
       from pg_depend d
       join pg_rewrite rw on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
       join pg_class v on v.oid = rw.ev_class join pg_namespace vn on vn.oid = v.relnamespace
       join pg_class t on d.refclassid = 'pg_class'::regclass and d.refobjid = t.oid
      where t.relnamespace = $1 and v.relnamespace <> $1
     union
     select format('foreign key %I on %I.%I', con.conname, n.nspname, cl.relname)
       from pg_constraint con join pg_class cl on cl.oid = con.conrelid join pg_namespace n on n.oid = cl.relnamespace
       join pg_class r on r.oid = con.confrelid
      where con.contype = 'f' and r.relnamespace = $1 and cl.relnamespace <> $1
     union
     select format('trigger %I on %I.%I', tg.tgname, n.nspname, cl.relname)
       from pg_trigger tg join pg_proc p on p.oid = tg.tgfoid join pg_class cl on cl.oid = tg.tgrelid join pg_namespace n on n.oid = cl.relnamespace
      where p.pronamespace = $1 and cl.relnamespace <> $1
     order by 1`,
    [ns],
  );
  return rows.map((r) => r.what);
}

/** Drops a replication origin; a stopped worker's backend may hold it for a moment, so retry briefly. */
async function dropOrigin(c: pg.ClientBase, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await c.query('select pg_replication_origin_drop(roname) from pg_replication_origin where roname = $1', [name]);
      return;
    } catch (err) {
      if (attempt >= 100 || !/active|in use/i.test((err as Error).message)) {
        throw new CutoverError('PRECONDITION_FAILED', `replication origin "${name}" could not be dropped: ${(err as Error).message}`, {
          fix: 'a replication worker still uses it: `cutover replicate stop` (and `--direction reverse`), then run cancel again',
          cause: err,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
