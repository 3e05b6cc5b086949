import type mysql from 'mysql2/promise';
import { CutoverError } from '../../errors.ts';
import { mysqlRows } from './mysql-connection.ts';
import { MYSQL_KIT_DATABASE } from './mysql-kit-schema.ts';

/**
 * Objects outside the kit's `_cutover` database that depend on it: foreign keys referencing its
 * tables, views and triggers naming it. `DROP DATABASE` would break them, so cancel refuses.
 */
export async function mysqlKitDependents(c: mysql.Connection): Promise<string[]> {
  const fks = await mysqlRows<{ s: string; t: string; n: string }>(
    c,
    `SELECT DISTINCT TABLE_SCHEMA AS s, TABLE_NAME AS t, CONSTRAINT_NAME AS n FROM information_schema.KEY_COLUMN_USAGE
      WHERE REFERENCED_TABLE_SCHEMA = ? AND TABLE_SCHEMA <> ? ORDER BY 1, 2, 3`,
    [MYSQL_KIT_DATABASE, MYSQL_KIT_DATABASE],
  );
  const views = await mysqlRows<{ s: string; t: string }>(
    c,
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.VIEWS WHERE TABLE_SCHEMA <> ? AND VIEW_DEFINITION LIKE ? ORDER BY 1, 2`,
    [MYSQL_KIT_DATABASE, `%${MYSQL_KIT_DATABASE}%`],
  );
  const triggers = await mysqlRows<{ s: string; t: string }>(
    c,
    `SELECT TRIGGER_SCHEMA AS s, TRIGGER_NAME AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA <> ? AND ACTION_STATEMENT LIKE ? ORDER BY 1, 2`,
    [MYSQL_KIT_DATABASE, `%${MYSQL_KIT_DATABASE}%`],
  );
  return [
    ...fks.map((f) => `foreign key ${f.n} on ${f.s}.${f.t}`),
    ...views.map((v) => `view ${v.s}.${v.t}`),
    ...triggers.map((t) => `trigger ${t.s}.${t.t}`),
  ];
}

/** The dead letters kept in `_cutover` as JSON lines (empty when there are none or no such table). */
export async function mysqlDeadLetterLines(c: mysql.Connection): Promise<string[]> {
  const [exists] = await mysqlRows<{ n: number | string }>(
    c,
    `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'dead_letter'`,
    [MYSQL_KIT_DATABASE],
  );
  if (!Number(exists?.n)) return [];
  const rows = await mysqlRows<Record<string, unknown>>(c, 'SELECT * FROM `_cutover`.dead_letter ORDER BY id');
  return rows.map((r) => JSON.stringify(r) + '\n');
}

/** Drops the kit's database; refused (nothing dropped) when something outside it depends on it. */
export async function dropMysqlKitDatabase(c: mysql.Connection, where: string): Promise<void> {
  const outside = await mysqlKitDependents(c);
  if (outside.length) {
    throw new CutoverError('PRECONDITION_FAILED', `database ${MYSQL_KIT_DATABASE} on ${where} is used by objects outside it: ${outside.join(', ')}`, {
      received: outside,
      fix: `drop or change those objects (they are not the kit's), then run cancel again; nothing of ${MYSQL_KIT_DATABASE} was dropped`,
    });
  }
  await c.query(`DROP DATABASE IF EXISTS \`${MYSQL_KIT_DATABASE}\``);
}
