/**
 * Product categories. cainiao stores a code (`cat_cd`); some codes were retired years ago but
 * products still carry them. duoduo stores a named category under a CHECK constraint; the forward
 * mapping remaps codes with a CASE and sends retired (and unknown) codes to OTHER, so no row is
 * rejected.
 */
export const CATEGORY_BY_CODE: Readonly<Record<string, string>> = {
  A01: 'DIGITAL', // 数码
  A02: 'APPLIANCE', // 家电
  B01: 'APPAREL', // 服装
  C01: 'FOOD', // 食品
  D01: 'BOOKS', // 图书
};

/** Codes no longer in the catalogue; products still carrying them are a data-quality finding. */
export const RETIRED_CATEGORY_CODES = ['X09', 'Z99'] as const;

export const DUODUO_CATEGORIES = [...Object.values(CATEGORY_BY_CODE), 'OTHER'] as const;

export function mapCategoryCode(code: string | null): string {
  return (code !== null && CATEGORY_BY_CODE[code]) || 'OTHER';
}

/** The same remapping as a CASE valid in SQLite and PostgreSQL over `column` (e.g. `$cat_cd`). */
export function categoryCaseSql(column: string): string {
  const whens = Object.entries(CATEGORY_BY_CODE)
    .map(([code, name]) => `WHEN '${code}' THEN '${name}'`)
    .join(' ');
  return `CASE ${column} ${whens} ELSE 'OTHER' END`;
}

/**
 * The reverse remapping (duoduo → cainiao, for reverse replication after the switch) as a CASE over
 * `column` (e.g. `$category`): each named category back to its code; OTHER (and anything else)
 * becomes the code `OTHER`, which the forward CASE sends back to OTHER. A retired code is not
 * recoverable from duoduo, so a product updated on green comes back with `OTHER` instead of it.
 */
export function categoryCodeCaseSql(column: string): string {
  const whens = Object.entries(CATEGORY_BY_CODE)
    .map(([code, name]) => `WHEN '${name}' THEN '${code}'`)
    .join(' ');
  return `CASE ${column} ${whens} ELSE '${OTHER_CATEGORY_CODE}' END`;
}

/** The cainiao code the reverse mapping gives a duoduo OTHER product (fits `cat_cd varchar(8)`). */
export const OTHER_CATEGORY_CODE = 'OTHER';
