import type { Finding } from '../platform/roles.ts';

/**
 * Column types replication cannot move faithfully. `unsupported`: logical decoding / DMS cannot
 * carry the value at all; `lossy`: it arrives changed or needs the same custom type on the target.
 */
const UNSUPPORTED: Record<string, string> = {
  oid: 'an oid points into this cluster (large objects, catalogs) and means nothing on the target',
  xid: 'a transaction id of this cluster',
  tid: 'a physical row address of this cluster',
  pg_lsn: 'a WAL position of this cluster',
  regclass: 'an object id of this cluster',
  regtype: 'an object id of this cluster',
  regproc: 'an object id of this cluster',
};

const LOSSY: { test: RegExp; why: string }[] = [
  { test: /^money$/, why: 'money is formatted by lc_monetary; AWS DMS moves it as numeric text' },
  { test: /^xml$/, why: 'AWS DMS moves xml as a LOB (limited LOB mode truncates)' },
  { test: /^(point|line|lseg|box|path|polygon|circle)$/, why: 'geometric types are not supported by AWS DMS' },
  { test: /^(tsvector|tsquery)$/, why: 'text-search types are not supported by AWS DMS; rebuild them on the target' },
  { test: /^bit( varying)?(\(\d+\))?$/, why: 'bit strings are moved as text by AWS DMS' },
  { test: /\[\]$/, why: 'arrays are moved as LOBs by AWS DMS (limited LOB mode truncates)' },
  { test: /^(int4range|int8range|numrange|tsrange|tstzrange|daterange)$/, why: 'range types are not supported by AWS DMS' },
];

export interface TypedColumn {
  readonly table: string;
  readonly column: string;
  readonly type: string;
  /** typtype: b base, e enum, d domain, c composite, r range. */
  readonly kind: string;
}

export function typeFindings(columns: readonly TypedColumn[]): Finding[] {
  const findings: Finding[] = [];
  for (const c of columns) {
    const where = `${c.table}.${c.column} (${c.type})`;
    const unsupported = UNSUPPORTED[c.type];
    if (unsupported) {
      findings.push({
        id: 'unsupported-type',
        severity: 'blocker',
        table: c.table,
        count: 1,
        sampleKeys: [],
        message: `${where}: ${unsupported}`,
        handling: 'remove the column in the mapping (remove-column) or convert it before the cutover',
      });
      continue;
    }
    const lossy = LOSSY.find((l) => l.test.test(c.type));
    const custom = c.kind === 'e' || c.kind === 'd' || c.kind === 'c';
    if (lossy || custom) {
      findings.push({
        id: 'lossy-type',
        severity: 'warning',
        table: c.table,
        count: 1,
        sampleKeys: [],
        message: `${where}: ${lossy ? lossy.why : 'a user-defined type must exist identically on the target; AWS DMS moves it as text'}`,
        handling: 'the local replicator moves it as text; check the target column type, or change-data-type in the mapping',
      });
    }
  }
  return findings;
}

const WIDENING: Record<string, readonly string[]> = {
  smallint: ['integer', 'bigint', 'numeric', 'double precision'],
  integer: ['bigint', 'numeric', 'double precision'],
  bigint: ['numeric'],
  real: ['double precision'],
  date: ['timestamp without time zone', 'timestamp with time zone'],
};

/** A mapped column whose target type can hold fewer values than its source type. */
export function narrowingChange(sourceType: string, targetType: string): boolean {
  if (sourceType === targetType) return false;
  if (WIDENING[sourceType]?.includes(targetType)) return false;
  const len = (t: string) => /^(character varying|varchar|character|char)\((\d+)\)$/.exec(t);
  const s = len(sourceType);
  const t = len(targetType);
  if (targetType === 'text' && (s || sourceType === 'character varying')) return false;
  if (s && t && Number(t[2]) >= Number(s[2])) return false;
  const num = (x: string) => /^numeric\((\d+),(\d+)\)$/.exec(x);
  const sn = num(sourceType);
  const tn = num(targetType);
  if (targetType === 'numeric' && (sn || sourceType === 'numeric')) return false;
  if (sn && tn && Number(tn[2]) >= Number(sn[2]) && Number(tn[1]) - Number(tn[2]) >= Number(sn[1]) - Number(sn[2])) return false;
  const ts = (x: string) => /^timestamp(\((\d)\))? (with|without) time zone$/.exec(x);
  const st = ts(sourceType);
  const tt = ts(targetType);
  if (st && tt && Number(tt[2] ?? 6) >= Number(st[2] ?? 6)) return false; // zone change is a reinterpretation, not a loss
  if (/^time(\(\d\))? without time zone$/.test(sourceType) && targetType === 'interval') return false; // a duration holds every time of day (and MySQL's TIME is one)
  return true;
}

/** The largest value of an integer type (`numeric(p,0)` too: DMS's BIGINT UNSIGNED), or null. */
function integerMax(type: string): bigint | null {
  if (type === 'smallint') return 32767n;
  if (type === 'integer') return 2147483647n;
  if (type === 'bigint') return 9223372036854775807n;
  const n = /^numeric\((\d+)(?:,\s*0)?\)$/.exec(type);
  return n ? 10n ** BigInt(n[1]!) - 1n : null;
}

function numericOf(type: string): { precision: number; scale: number } | null {
  const n = /^numeric\((\d+)(?:,\s*(\d+))?\)$/.exec(type);
  return n ? { precision: Number(n[1]), scale: Number(n[2] ?? 0) } : null;
}

function lengthOf(type: string): number | null {
  const n = /^(?:character varying|varchar|character|char)\((\d+)\)$/.exec(type);
  return n ? Number(n[1]) : null;
}

/**
 * Why a target column type cannot hold every value its source column's declared type allows, or
 * null. Only what is certain from the two types: a narrower integer, fewer integer digits or
 * decimals (numeric rounds silently, and validate compares in the target type, so it would not
 * see it), a shorter character length. A value refused there stops the full load, or sends a
 * change written during replication to the dead letters.
 */
export function cannotHold(sourceType: string, targetType: string): string | null {
  if (sourceType === targetType) return null;
  const sourceMax = integerMax(sourceType);
  const targetMax = integerMax(targetType);
  const targetNumeric = numericOf(targetType);
  if (sourceMax !== null) {
    const holds = targetMax ?? (targetNumeric ? 10n ** BigInt(targetNumeric.precision - targetNumeric.scale) - 1n : null);
    if (holds !== null && holds < sourceMax) return `${targetType} holds integers up to ${holds}, ${sourceType} up to ${sourceMax}`;
    return null;
  }
  const source = numericOf(sourceType);
  if (source && source.scale > 0) {
    if (targetMax !== null) return `${sourceType} has ${source.scale} decimal(s), ${targetType} none (a value with a fraction is refused)`;
    if (targetNumeric && targetNumeric.precision - targetNumeric.scale < source.precision - source.scale) {
      return `${targetType} holds ${targetNumeric.precision - targetNumeric.scale} integer digit(s), ${sourceType} ${source.precision - source.scale} (a larger value is refused)`;
    }
    if (targetNumeric && targetNumeric.scale < source.scale) return `${targetType} keeps ${targetNumeric.scale} decimal(s), ${sourceType} ${source.scale}: values are rounded silently`;
    return null;
  }
  const sourceLength = lengthOf(sourceType);
  const targetLength = lengthOf(targetType);
  if (sourceLength !== null && targetLength !== null && targetLength < sourceLength) {
    return `${targetType} holds ${targetLength} character(s), ${sourceType} ${sourceLength} (a longer value is refused)`;
  }
  return null;
}
