import { CutoverError } from '../errors.ts';

/** The database engines a side can be (the first axis of docs/architecture.md). */
export type EngineName = 'postgres' | 'mysql';

/** URL schemes per engine: `mariadb://` is the MySQL family too (same protocol, same driver). */
const SCHEMES: Readonly<Record<string, EngineName>> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
};

/** A side's URL scheme is one of these (config validation). */
export const DATABASE_URL_PATTERN = /^(postgres(ql)?|mysql|mariadb):\/\//;

/** The engine a connection URL speaks, from its scheme alone. */
export function engineOfUrl(url: string): EngineName {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  const engine = scheme ? SCHEMES[scheme] : undefined;
  if (!engine) {
    throw new CutoverError('CONFIG_INVALID', `unknown database URL scheme ${scheme ?? '(none)'}`, {
      received: scheme ?? url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@'),
      allowed: 'postgres://, postgresql://, mysql://, mariadb://',
      fix: 'start the URL with the scheme of its engine, e.g. mysql://user:pw@127.0.0.1:3306/legacy_shop',
    });
  }
  return engine;
}
