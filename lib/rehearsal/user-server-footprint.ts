import type mysql from 'mysql2/promise';
import { CAINIAO_TABLES } from '../demo/cainiao-schema.ts';
import { mysqlRows } from '../engines/mysql/mysql-connection.ts';
import { dropMysqlKitDatabase } from '../engines/mysql/mysql-kit-removal.ts';
import { MYSQL_KIT_DATABASE } from '../engines/mysql/mysql-kit-schema.ts';
import { CutoverError } from '../errors.ts';

/**
 * What a rehearsal creates on a MySQL-family server the user runs (`--legacy-url`), taken away
 * again afterwards so the server is left as it was found: the cainiao demo tables in the URL's
 * database, the kit's `_cutover` database (reverse replication's position and dead letters), the
 * blue app's account, and `read_only` (the write switch sets it). The rehearsal never removes
 * anything that existed before it started: when one of those names is already taken it refuses
 * before creating anything (`claimUserServer`), and `releaseUserServer` drops exactly what it
 * created — run by the rehearsal's cleanup stack, so on success, on failure and on Ctrl-C alike
 * (a `kill -9` leaves them: the next rehearsal refuses and prints the statements that remove them).
 */
export interface UserServerClaim {
  readonly database: string;
  readonly appUser: string;
  /** `@@global.read_only` before the rehearsal. */
  readonly readOnly: boolean;
}

/** Refuses (USAGE, exit 2; nothing changed) when a name the rehearsal creates is taken on the server. */
export async function claimUserServer(c: mysql.Connection, database: string, appUser: string): Promise<UserServerClaim> {
  const tables = await mysqlRows<{ n: string }>(c, 'SELECT table_name AS n FROM information_schema.tables WHERE table_schema = ? AND table_name IN (?) ORDER BY 1', [database, [...CAINIAO_TABLES]]);
  const kitDb = await mysqlRows<{ n: string }>(c, 'SELECT schema_name AS n FROM information_schema.schemata WHERE schema_name = ?', [MYSQL_KIT_DATABASE]);
  const users = await mysqlRows<{ n: string }>(c, `SELECT CONCAT("'", user, "'@'", host, "'") AS n FROM mysql.user WHERE user = ?`, [appUser]);
  const taken = [
    ...tables.map((t) => ({ name: `table ${database}.${t.n}`, drop: `DROP TABLE \`${database}\`.\`${t.n}\`;` })),
    ...kitDb.map(() => ({ name: `database ${MYSQL_KIT_DATABASE}`, drop: `DROP DATABASE \`${MYSQL_KIT_DATABASE}\`;` })),
    ...users.map((u) => ({ name: `account ${u.n}`, drop: `DROP USER ${u.n};` })),
  ];
  if (taken.length) {
    throw new CutoverError('USAGE', `the --legacy-url server already has what a rehearsal creates there: ${taken.map((t) => `${t.name} already exists`).join(', ')}; a rehearsal removes what it creates, so it never uses a name that was taken before it started`, {
      received: taken.map((t) => t.name),
      allowed: `a database without the demo tables (${CAINIAO_TABLES.join(', ')}), no ${MYSQL_KIT_DATABASE} database, no ${appUser} account`,
      fix: `point --legacy-url at a server or database of its own; if these are a killed rehearsal's leftovers (and only then): ${taken.map((t) => t.drop).join(' ')}`,
    });
  }
  const [row] = await mysqlRows<{ ro: number | string }>(c, 'SELECT @@global.read_only AS ro');
  return { database, appUser, readOnly: Number(row?.ro) === 1 };
}

/** Drops what the rehearsal created (each step tried, the first failure reported) and puts `read_only` back. */
export async function releaseUserServer(c: mysql.Connection, claim: UserServerClaim): Promise<void> {
  const steps: [string, () => Promise<unknown>][] = [
    ['read_only', async () => {
      const [row] = await mysqlRows<{ ro: number | string }>(c, 'SELECT @@global.read_only AS ro');
      if ((Number(row?.ro) === 1) !== claim.readOnly) await c.query(`SET GLOBAL read_only = ${claim.readOnly ? 'ON' : 'OFF'}`);
    }],
    // FKs between the demo tables: one statement drops them in any order
    ['the demo tables', () => c.query(`DROP TABLE IF EXISTS ${CAINIAO_TABLES.map((t) => `\`${claim.database}\`.\`${t}\``).join(', ')}`)],
    [`database ${MYSQL_KIT_DATABASE}`, () => dropMysqlKitDatabase(c, 'the --legacy-url server')],
    [`account ${claim.appUser}`, () => c.query(`DROP USER IF EXISTS '${claim.appUser}'@'%'`)],
  ];
  let first: unknown = null;
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      first ??= new CutoverError('INTERNAL', `the rehearsal could not remove ${what} from the --legacy-url server: ${(err as Error).message}`, { fix: 'remove it by hand', cause: err });
    }
  }
  if (first) throw first;
}
