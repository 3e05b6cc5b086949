/** Type families the normalized form treats specially; `type` is as `format_type()` prints it. */

export function isFloatType(type: string): boolean {
  return type === 'real' || type === 'double precision' || type === 'float4' || type === 'float8';
}

export function isNumericType(type: string): boolean {
  return type.startsWith('numeric') || type.startsWith('decimal');
}

export function isIntegerType(type: string): boolean {
  return type === 'smallint' || type === 'integer' || type === 'bigint' || type === 'int2' || type === 'int4' || type === 'int8';
}

/** Types whose ordering depends on a collation (a key range must be read in the same order on both sides). */
export function isCollatableType(type: string): boolean {
  return /^(text|character|character varying|varchar|bpchar|citext|name)\b/.test(type);
}
