import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, selectEnvironment, type ResolvedPostgresEnvironment } from '../../lib/config/load.ts';

/** A resolved `postgres` environment over two test servers, its mapping files written to `dir`. */
export function testEnvironment(options: {
  readonly dir: string;
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly forward: unknown;
  readonly validation?: Record<string, unknown>;
  readonly checks?: unknown[];
}): ResolvedPostgresEnvironment {
  mkdirSync(options.dir, { recursive: true });
  writeFileSync(path.join(options.dir, 'forward.json'), JSON.stringify(options.forward, null, 2));
  writeFileSync(path.join(options.dir, 'reverse.json'), JSON.stringify({ rules: [selectAll('1')] }, null, 2));
  const raw = {
    environments: {
      lab: {
        platform: 'postgres',
        source: { url: options.sourceUrl },
        target: { url: options.targetUrl },
        mappings: { forward: 'forward.json', reverse: 'reverse.json' },
        stateDir: 'state',
        validation: options.validation ?? {},
        assess: { checks: options.checks ?? [] },
      },
    },
  };
  const env = selectEnvironment(parseConfig(raw, path.join(options.dir, 'cutover.config.json')), 'lab');
  if (env.platform !== 'postgres') throw new Error('unreachable');
  return env;
}

export function selectAll(id: string, schema = 'public'): Record<string, unknown> {
  return { 'rule-type': 'selection', 'rule-id': id, 'rule-name': `select-${id}`, 'object-locator': { 'schema-name': schema, 'table-name': '%' }, 'rule-action': 'include' };
}

export function renameTable(id: string, table: string, to: string): Record<string, unknown> {
  return { 'rule-type': 'transformation', 'rule-id': id, 'rule-name': `rename-${id}`, 'rule-target': 'table', 'object-locator': { 'schema-name': 'public', 'table-name': table }, 'rule-action': 'rename', value: to };
}

export function renameColumn(id: string, table: string, column: string, to: string): Record<string, unknown> {
  return {
    'rule-type': 'transformation', 'rule-id': id, 'rule-name': `rename-${id}`, 'rule-target': 'column',
    'object-locator': { 'schema-name': 'public', 'table-name': table, 'column-name': column }, 'rule-action': 'rename', value: to,
  };
}

export function removeColumn(id: string, table: string, column: string): Record<string, unknown> {
  return {
    'rule-type': 'transformation', 'rule-id': id, 'rule-name': `remove-${id}`, 'rule-target': 'column',
    'object-locator': { 'schema-name': 'public', 'table-name': table, 'column-name': column }, 'rule-action': 'remove-column',
  };
}
