import type pg from 'pg';
import type { ResolvedPostgresEnvironment } from '../config/load.ts';
import type { MappedTable } from '../mappings/types.ts';
import type { Finding } from '../platform/roles.ts';
import { planPublication, unpublishablePartitionsError, type PublishedTable } from '../postgres/publication-plan.ts';
import { qualified, quoteIdent } from '../postgres/sql-names.ts';
import { streamNames } from '../postgres/stream-names.ts';

/**
 * What the roles of the two URLs may do, against what the kit will ask of them, with the exact
 * statement that grants each missing privilege (run it as a superuser or the object's owner).
 *
 * Least privilege, as found on PostgreSQL 12, 15 and 18 (docs/config-reference.md):
 * - the read side (source; the target for reverse replication) needs the REPLICATION attribute
 *   and SELECT on the mapped tables. CREATE PUBLICATION needs CREATE on the database and
 *   ownership of every table, so a role that only reads them gets the publication from the
 *   tables' owner, made once with the statement printed here; the kit then uses it as it is.
 * - the apply side (target; the source for reverse replication) needs to write the mapped tables,
 *   CREATE on the database (the kit's `_cutover` schema), SET on `session_replication_role`
 *   (grantable from PostgreSQL 15, superuser before) and EXECUTE on the replication-origin
 *   functions (grantable from PostgreSQL 14, superuser before): the origins are what keeps the
 *   two directions from replicating each other's changes back.
 */
export async function privilegeFindings(
  source: pg.ClientBase,
  target: pg.ClientBase,
  env: ResolvedPostgresEnvironment,
  tables: readonly MappedTable[],
): Promise<Finding[]> {
  const [src, tgt] = await Promise.all([roleFacts(source), roleFacts(target)]);
  const findings: Finding[] = [];
  const sourceTables = uniqTables(tables.map((t) => t.source));
  const targetTables = uniqTables(tables.map((t) => t.target));
  // forward: read the source, apply to the target (blockers)
  findings.push(...readSide(src, 'source', 'blocker'));
  findings.push(...(await selectPrivileges(source, src, sourceTables)));
  findings.push(...(await sequencePrivileges(source, src, 'source-sequence-privilege', sourceTables, ['SELECT'], 'the snapshot reads their values', 'blocker')));
  findings.push(...(await publicationFindings(source, src, 'source', streamNames(env, 'forward').publication, tables.map((t) => ({ ...t.source, removedColumns: t.removedColumns })), 'blocker')));
  findings.push(...(await applySide(target, tgt, 'target', targetTables, 'blocker')));
  findings.push(...(await fencePrivileges(source, src, 'source', 'the write switch makes blue read-only', 'blocker')));
  if (env.pacing.enabled) findings.push(...(await monitorPrivilege(source, src)));
  findings.push(...(await fencePrivileges(target, tgt, 'target', 'a rollback after the write switch makes green read-only', 'warning')));
  // reverse (after the write switch): read the target, apply to the source (warnings until then)
  findings.push(...readSide(tgt, 'target', 'warning'));
  findings.push(...(await publicationFindings(target, tgt, 'target', streamNames(env, 'reverse').publication, tables.map((t) => t.target), 'warning')));
  // the source's missing schema USAGE is already a forward blocker: not repeated as a warning
  const forward = new Set(findings.map((x) => x.id));
  findings.push(...(await applySide(source, src, 'source', sourceTables, 'warning')).filter((x) => !forward.has(x.id)));
  return findings;
}

interface RoleFacts {
  readonly role: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  readonly major: number;
  readonly database: string;
}

async function roleFacts(client: pg.ClientBase): Promise<RoleFacts> {
  const { rows } = await client.query<{ role: string; su: boolean; repl: boolean; num: string; db: string }>(
    `select current_user as role, r.rolsuper as su, r.rolreplication as repl, current_setting('server_version_num') as num, current_database() as db
       from pg_roles r where r.rolname = current_user`,
  );
  const r = rows[0]!;
  return { role: r.role, superuser: r.su, replication: r.repl, major: Math.floor(Number(r.num) / 10000), database: r.db };
}

function finding(id: string, severity: Finding['severity'], message: string, statement: string): Finding {
  return { id, severity, count: 1, sampleKeys: [], message, handling: statement };
}

function purposeOf(side: 'source' | 'target', reading: boolean): string {
  return reading === (side === 'source') ? 'forward replication' : 'reverse replication (rollback after the write switch)';
}

function readSide(f: RoleFacts, side: 'source' | 'target', severity: Finding['severity']): Finding[] {
  if (f.superuser || f.replication) return [];
  return [
    finding(
      `${side}-replication-privilege`,
      severity,
      `${side} role ${f.role} has no REPLICATION attribute; ${purposeOf(side, true)} opens a replication connection and a slot with it`,
      `ALTER ROLE ${quoteIdent(f.role)} REPLICATION;  (on Amazon RDS/Aurora: GRANT rds_replication TO ${quoteIdent(f.role)};)`,
    ),
  ];
}

async function selectPrivileges(client: pg.ClientBase, f: RoleFacts, tables: readonly TableName[]): Promise<Finding[]> {
  if (f.superuser || !tables.length) return [];
  const missing = await lacking(client, tables, ['SELECT']);
  const schemas = await lackingSchemaUsage(client, tables);
  const out: Finding[] = [];
  if (schemas.length) {
    out.push(
      finding('source-schema-privilege', 'blocker', `source role ${f.role} has no USAGE on schema(s) ${schemas.join(', ')} of mapped tables`, `GRANT USAGE ON SCHEMA ${schemas.join(', ')} TO ${quoteIdent(f.role)};`),
    );
  }
  if (missing.length) {
    out.push(
      finding(
        'source-select-privilege',
        'blocker',
        `source role ${f.role} cannot read ${missing.length} mapped table(s): ${missing.join(', ')}; the full load and validate read them`,
        `GRANT SELECT ON ${missing.join(', ')} TO ${quoteIdent(f.role)};`,
      ),
    );
  }
  return out;
}

/**
 * The kit creates the publication when the role may (CREATE on the database and owner of every
 * table, or superuser); otherwise an existing publication that lists every mapped table (through
 * its root for a partitioned one: planPublication) is used as it is, and a missing or different
 * one is a blocker with the statement for the tables' owner. A partitioned table on PostgreSQL 12
 * cannot be published by anyone: a blocker of its own.
 */
async function publicationFindings(
  client: pg.ClientBase,
  f: RoleFacts,
  side: 'source' | 'target',
  name: string,
  // the reverse publication's tables come without the reverse mapping's removed columns: a
  // generated column on green then counts as published (at worst a statement with one option more)
  tables: readonly PublishedTable[],
  severity: Finding['severity'],
): Promise<Finding[]> {
  if (!tables.length) return [];
  const why = side === 'target' ? '; reverse replication (rollback after the write switch) reads green through it' : '';
  const plan = await planPublication(client, name, tables);
  if (plan.unpublishable.length) {
    const refusal = unpublishablePartitionsError(side, plan.unpublishable);
    return [finding(`${side}-partitioned-publication`, severity, refusal.message + why, refusal.details.fix ?? '')];
  }
  if (f.superuser || plan.ready) return []; // made by the owner beforehand: used as it is
  const wanted = uniq(tables.map((t) => `${t.schema}.${t.table}`));
  const { rows } = await client.query<{ ok: boolean }>(
    `select has_database_privilege(current_database(), 'CREATE')
            and coalesce(bool_and(pg_has_role(c.relowner, 'USAGE')), true) as ok
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname || '.' || c.relname = any($1::text[])`,
    [wanted],
  );
  if (rows[0]?.ok) return [];
  const statement = plan.statements.map((s) => `${s};`).join('  ');
  return [
    finding(
      `${side}-publication-privilege`,
      severity,
      (plan.exists
        ? `publication ${name} on the ${side} ${plan.absent.length ? `lacks ${plan.absent.join(', ')}` : plan.extra.length ? `also lists ${plan.extra.join(', ')}, which the mapping does not select` : `lacks WITH (${plan.missingOptions.join(', ')}) (a partitioned table's changes come under its partitions' names without the first, stored generated columns are not sent without the second)`}, and role ${f.role} may not change it (it needs to own every mapped table)`
        : `${side} role ${f.role} may not create publication ${name} (that needs CREATE on the database and ownership of every mapped table)`) + why,
      `as the owner of the tables (or a superuser), once: ${statement}  The kit then uses it as it is.`,
    ),
  ];
}

/**
 * The kit's `_cutover` schema already on this database, owned (with any of its tables) by a role
 * this one is not a member of: left by a run of the kit under another role (a superuser's
 * rehearsal, then production's least-privilege role). The kit creates and alters its tables with
 * `if not exists`, which needs their ownership, so the fix is to hand them over, not a GRANT.
 */
async function kitSchemaOwnership(client: pg.ClientBase, f: RoleFacts, side: 'source' | 'target', purpose: string, severity: Finding['severity']): Promise<Finding[]> {
  const { rows } = await client.query<{ kind: string; name: string; owner: string }>(
    `select 'schema' as kind, n.nspname as name, pg_get_userbyid(n.nspowner) as owner
       from pg_namespace n where n.nspname = '_cutover' and not pg_has_role(current_user, n.nspowner, 'USAGE')
     union all
     select 'table', c.relname, pg_get_userbyid(c.relowner)
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = '_cutover' and c.relkind in ('r', 'p') and not pg_has_role(current_user, c.relowner, 'USAGE')
     order by 1, 2`,
  );
  if (!rows.length) return [];
  const role = quoteIdent(f.role);
  const owners = [...new Set(rows.map((r) => r.owner))].sort();
  const statements = rows.map((r) => (r.kind === 'schema' ? `ALTER SCHEMA ${quoteIdent(r.name)} OWNER TO ${role};` : `ALTER TABLE ${qualified('_cutover', r.name)} OWNER TO ${role};`));
  return [
    finding(
      `${side}-kit-schema-privilege`,
      severity,
      `the kit's _cutover schema on the ${side} (${rows.length - (rows[0]!.kind === 'schema' ? 1 : 0)} table(s) of another role) is owned by ${owners.join(', ')}, not by ${side} role ${f.role}: left by a run of the kit under that role? ${purpose} keeps its positions and dead letters there`,
      `as ${owners.join(' / ')} (or a superuser): ${statements.join(' ')}  Or, if no run of the kit uses it any more, \`cutover cancel\` with that role's URL drops it.`,
    ),
  ];
}

async function applySide(
  client: pg.ClientBase,
  f: RoleFacts,
  side: 'source' | 'target',
  tables: readonly TableName[],
  severity: Finding['severity'],
): Promise<Finding[]> {
  if (f.superuser) return [];
  const purpose = purposeOf(side, false);
  const role = quoteIdent(f.role);
  const out: Finding[] = [];
  const schemas = await lackingSchemaUsage(client, tables);
  if (schemas.length) {
    out.push(
      finding(
        `${side}-schema-privilege`,
        severity,
        `${side} role ${f.role} has no USAGE on schema(s) ${schemas.join(', ')} of mapped tables; ${purpose} applies rows to them`,
        `GRANT USAGE ON SCHEMA ${schemas.join(', ')} TO ${role};`,
      ),
    );
  }
  const missing = await lacking(client, tables, ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']);
  if (missing.length) {
    out.push(
      finding(
        `${side}-write-privilege`,
        severity,
        `${side} role ${f.role} cannot write ${missing.length} mapped table(s): ${missing.join(', ')}; ${purpose} applies rows to them`,
        `GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ${missing.join(', ')} TO ${role};  (or make ${role} their owner)`,
      ),
    );
  }
  out.push(
    ...(await sequencePrivileges(client, f, `${side}-sequence-write-privilege`, tables, ['SELECT', 'UPDATE'], `${purpose === 'forward replication' ? 'the write switch' : 'a rollback after the write switch'} moves them above the other side's values`, severity)),
  );
  const { rows } = await client.query<{ create: boolean; schema: boolean }>(
    `select has_database_privilege(current_database(), 'CREATE') as create,
            coalesce((select has_schema_privilege(n.oid, 'CREATE') from pg_namespace n where nspname = '_cutover'), false) as schema`,
  );
  if (!rows[0]!.create && !rows[0]!.schema) {
    out.push(
      finding(
        `${side}-create-privilege`,
        severity,
        `${side} role ${f.role} may not create the kit's _cutover schema (load state, positions, dead letters) for ${purpose}`,
        `GRANT CREATE ON DATABASE ${quoteIdent(f.database)} TO ${role};`,
      ),
    );
  }
  out.push(...(await kitSchemaOwnership(client, f, side, purpose, severity)));
  const replicaRole = f.major >= 15 ? await has(client, `has_parameter_privilege('session_replication_role', 'SET')`) : false;
  if (!replicaRole) {
    out.push(
      finding(
        `${side}-replica-role-privilege`,
        severity,
        `${side} role ${f.role} may not SET session_replication_role on PostgreSQL ${f.major}; ${purpose} applies rows with it (foreign keys and triggers do not fire on replicated rows, as with DMS)`,
        f.major >= 15
          ? `GRANT SET ON PARAMETER session_replication_role TO ${role};`
          : `before PostgreSQL 15 only a superuser may: ALTER ROLE ${role} SUPERUSER;  (on Amazon RDS/Aurora: GRANT rds_superuser TO ${role};)`,
      ),
    );
  }
  const origins =
    f.major >= 14
      ? await has(
          client,
          `has_function_privilege('pg_replication_origin_create(text)', 'EXECUTE') and has_function_privilege('pg_replication_origin_session_setup(text)', 'EXECUTE')
           and has_function_privilege('pg_replication_origin_drop(text)', 'EXECUTE')`,
        )
      : false;
  if (!origins) {
    out.push(
      finding(
        `${side}-origin-privilege`,
        severity,
        `${side} role ${f.role} may not use replication origins on PostgreSQL ${f.major}; ${purpose} commits under one so the other direction does not replicate the kit's own changes back`,
        f.major >= 14
          ? `GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text), pg_replication_origin_drop(text) TO ${role};`
          : `before PostgreSQL 14 only a superuser may: ALTER ROLE ${role} SUPERUSER;  (on Amazon RDS/Aurora: GRANT rds_superuser TO ${role};)`,
      ),
    );
  }
  return out;
}

/**
 * The sequences (serial or identity) owned by columns of `tables` that the role may not use with
 * every one of `privileges`: the snapshot reads the source's (SELECT), the write switch and the
 * rollback move the written side's above the other's (SELECT, UPDATE: `setval`). A GRANT on a
 * table does not cover its sequences.
 */
async function sequencePrivileges(
  client: pg.ClientBase,
  f: RoleFacts,
  id: string,
  tables: readonly TableName[],
  privileges: readonly ('SELECT' | 'UPDATE')[],
  why: string,
  severity: Finding['severity'],
): Promise<Finding[]> {
  if (f.superuser || !tables.length) return [];
  const { rows } = await client.query<{ seq: string }>(
    `select distinct quote_ident(sn.nspname) || '.' || quote_ident(s.relname) as seq
       from unnest($1::text[], $2::text[]) as q(nsp, tab)
       join pg_namespace n on n.nspname = q.nsp
       join pg_class t on t.relnamespace = n.oid and t.relname = q.tab
       join pg_depend d on d.refclassid = 'pg_class'::regclass and d.refobjid = t.oid and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')
       join pg_class s on s.oid = d.objid and s.relkind = 'S'
       join pg_namespace sn on sn.oid = s.relnamespace
      -- CASE: the planner may test the condition on a row the join to a sequence has not yet filtered (it errs on a non-sequence)
      where not (case when s.relkind = 'S' then ${privileges.map((p) => `has_sequence_privilege(s.oid, '${p}')`).join(' and ')} else true end)
      order by 1`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  if (!rows.length) return [];
  const list = rows.map((r) => r.seq);
  return [
    finding(
      id,
      severity,
      `${id.split('-')[0]} role ${f.role} lacks ${privileges.join(', ')} on ${list.length} sequence(s) of mapped tables: ${list.join(', ')}; ${why}`,
      `GRANT ${privileges.join(', ')} ON SEQUENCE ${list.join(', ')} TO ${quoteIdent(f.role)};`,
    ),
  ];
}

/**
 * The write fence (lib/traffic/postgres-write-fence.ts) runs `ALTER DATABASE … SET
 * default_transaction_read_only` (the database's owner) and ends the apps' older sessions with
 * `pg_terminate_backend` (pg_signal_backend, for sessions of other roles).
 */
async function fencePrivileges(client: pg.ClientBase, f: RoleFacts, side: 'source' | 'target', why: string, severity: Finding['severity']): Promise<Finding[]> {
  if (f.superuser) return [];
  const { rows } = await client.query<{ owner: boolean; signal: boolean }>(
    `select pg_has_role(d.datdba, 'USAGE') as owner, pg_has_role('pg_signal_backend', 'USAGE') as signal
       from pg_database d where d.datname = current_database()`,
  );
  const role = quoteIdent(f.role);
  const owner = rows[0]?.owner === true;
  const signal = rows[0]?.signal === true;
  if (owner && signal) return [];
  const lacks = [
    ...(owner ? [] : [`does not own database ${f.database} (ALTER DATABASE … SET default_transaction_read_only)`]),
    ...(signal ? [] : ["may not end other roles' sessions (pg_signal_backend)"]),
  ];
  const statements = [...(owner ? [] : [`ALTER DATABASE ${quoteIdent(f.database)} OWNER TO ${role};`]), ...(signal ? [] : [`GRANT pg_signal_backend TO ${role};`])];
  return [finding(`${side}-fence-privilege`, severity, `${side} role ${f.role} ${lacks.join(' and ')}; ${why} (the write fence)`, statements.join('  '))];
}

/**
 * Pacing (on by default) counts the source's active sessions, which a role sees only for itself
 * without pg_read_all_stats (part of pg_monitor): the snapshot, full load and validate then read
 * at full speed beside a busy blue without knowing it, and say so only in their progress output.
 */
async function monitorPrivilege(client: pg.ClientBase, f: RoleFacts): Promise<Finding[]> {
  if (f.superuser || (await has(client, `exists (select 1 from pg_roles where rolname = 'pg_read_all_stats' and pg_has_role(current_user, oid, 'member'))`))) return [];
  return [
    finding(
      'source-monitor-privilege',
      'warning',
      `source role ${f.role} sees only its own sessions (no pg_read_all_stats): pacing (pacing.maxActiveSessions) cannot count the application's active sessions on blue, so the snapshot, full load and validate do not slow down for them`,
      `GRANT pg_monitor TO ${quoteIdent(f.role)};  (or pacing.enabled: false when blue is quiet)`,
    ),
  ];
}

async function has(client: pg.ClientBase, condition: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`select (${condition}) as ok`);
  return rows[0]!.ok === true;
}

type TableName = { readonly schema: string; readonly table: string };

function uniqTables(tables: readonly TableName[]): TableName[] {
  const seen = new Map<string, TableName>();
  for (const t of tables) seen.set(qualified(t.schema, t.table), t);
  return [...seen.values()];
}

/**
 * Facts about the tables, read through the catalogs by OID: a name lookup would itself fail
 * without USAGE on the schema. `name` is the quoted `schema.table` for statements.
 */
async function tableFacts(
  client: pg.ClientBase,
  tables: readonly TableName[],
  privileges: readonly string[],
): Promise<{ name: string; exists: boolean; schemaUsage: boolean; schema: string; missing: boolean }[]> {
  const { rows } = await client.query<{ i: number; oid: string | null; nspname: string | null; usage: boolean | null; missing: boolean | null }>(
    `select i, c.oid::text as oid, n.nspname, has_schema_privilege(n.oid, 'USAGE') as usage,
            ${privileges.length ? `not (${privileges.map((_, k) => `has_table_privilege(c.oid, $${k + 2})`).join(' and ')})` : 'false'} as missing
       from unnest($1::text[], $${privileges.length + 2}::text[]) with ordinality as q(schema, name, i)
       left join pg_namespace n on n.nspname = q.schema
       left join pg_class c on c.relnamespace = n.oid and c.relname = q.name
      order by i`,
    [tables.map((t) => t.schema), ...privileges, tables.map((t) => t.table)],
  );
  return rows.map((r, i) => ({ name: qualified(tables[i]!.schema, tables[i]!.table), exists: r.oid !== null, schemaUsage: r.usage !== false, schema: r.nspname ?? '', missing: r.missing === true }));
}

/** Tables (quoted names, existing ones only) on which the current role lacks any of `privileges`. */
async function lacking(client: pg.ClientBase, tables: readonly TableName[], privileges: readonly string[]): Promise<string[]> {
  if (!tables.length) return [];
  return (await tableFacts(client, tables, privileges)).filter((t) => t.exists && t.missing).map((t) => t.name);
}

/** Schemas (quoted) of the given tables on which the current role has no USAGE. */
async function lackingSchemaUsage(client: pg.ClientBase, tables: readonly TableName[]): Promise<string[]> {
  return uniq((await tableFacts(client, tables, [])).filter((t) => t.exists && !t.schemaUsage).map((t) => quoteIdent(t.schema)));
}

function uniq(values: readonly string[]): string[] {
  return [...new Set(values)];
}
