import type { DmsDataType } from './rule-types.ts';

/**
 * DMS data types (the `data-type.type` of add-column / change-data-type) and the PostgreSQL type
 * the local replicator creates for each — the same choice DMS makes for a PostgreSQL target.
 */
export const DMS_DATA_TYPES = [
  'string',
  'wstring',
  'boolean',
  'int1',
  'int2',
  'int4',
  'int8',
  'uint1',
  'uint2',
  'uint4',
  'uint8',
  'numeric',
  'real4',
  'real8',
  'date',
  'time',
  'datetime',
  'bytes',
  'blob',
  'clob',
  'nclob',
] as const;

/** Returns the PostgreSQL type, or a problem text. */
export function postgresTypeFor(dt: DmsDataType): { type: string } | { problem: string } {
  const len = dt.length;
  const p = dt.precision;
  const s = dt.scale;
  switch (dt.type) {
    case 'string':
    case 'wstring':
      return { type: len !== undefined && len > 0 ? `character varying(${len})` : 'text' };
    case 'boolean':
      return { type: 'boolean' };
    case 'int1':
    case 'int2':
    case 'uint1':
      return { type: 'smallint' };
    case 'int4':
    case 'uint2':
      return { type: 'integer' };
    case 'int8':
    case 'uint4':
      return { type: 'bigint' };
    case 'uint8':
      return { type: 'numeric(20,0)' };
    case 'numeric':
      if (p === undefined) return { type: 'numeric' };
      if (p < 1 || p > 1000) return { problem: `data-type.precision ${p} is out of range — expected 1..1000` };
      return { type: s !== undefined ? `numeric(${p},${s})` : `numeric(${p})` };
    case 'real4':
      return { type: 'real' };
    case 'real8':
      return { type: 'double precision' };
    case 'date':
      return { type: 'date' };
    case 'time':
      return { type: p !== undefined && p >= 0 && p <= 6 ? `time(${p}) without time zone` : 'time without time zone' };
    case 'datetime':
      return { type: p !== undefined && p >= 0 && p <= 6 ? `timestamp(${p}) without time zone` : 'timestamp without time zone' };
    case 'bytes':
    case 'blob':
      return { type: 'bytea' };
    case 'clob':
    case 'nclob':
      return { type: 'text' };
    default:
      return { problem: `data-type.type ${JSON.stringify(dt.type)} is not supported — expected one of ${DMS_DATA_TYPES.join(', ')}` };
  }
}
