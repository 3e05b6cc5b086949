import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, selectEnvironment } from '../../config/load.ts';
import { CutoverError, type CutoverErrorCode } from '../../errors.ts';
import { loadTableMappings, readMappedCatalog, schemasToRead, sideScope } from '../../mappings/index.ts';
import { engineOfUrl } from '../../engines/engine-of-url.ts';
import { connectMysql } from '../../engines/mysql/mysql-connection.ts';
import { readMysqlCatalog } from '../../engines/mysql/mysql-catalog.ts';
import { openKitClient } from '../../postgres/kit-client.ts';
import { connectionError } from '../../assess/connection-errors.ts';
import type { Output } from '../../output/output.ts';
import { exported, importOptional } from '../../platform/optional-module.ts';
import type { GlobalOptions } from '../global-options.ts';
import { withoutSession, type CliRuntime } from '../runtime.ts';

interface CheckResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
  /** When not ok: MAPPING_INVALID or MAPPING_UNSUPPORTED. */
  readonly code?: string;
  readonly summary: unknown;
  readonly warnings?: readonly string[];
}

function mappingCode(code: string | undefined): CutoverErrorCode {
  return code === 'MAPPING_UNSUPPORTED' ? 'MAPPING_UNSUPPORTED' : 'MAPPING_INVALID';
}

type CheckMappingsFile = (file: string, catalog?: unknown, side?: 'source' | 'target') => Promise<CheckResult>;

/** `cutover mappings check FILE`: validates a DMS table-mapping file; prints what it selects and renames. */
export function registerMappings(program: Command, rt: CliRuntime): void {
  const mappings = program.command('mappings').description('AWS DMS table-mapping files (check)');
  mappings
    .command('check')
    .description('validate a DMS table-mapping JSON file and print what it selects, filters and renames')
    .argument('<file>', 'the table-mapping JSON file')
    .addHelpText(
      'after',
      '\nWith --env NAME the rules are also checked against that environment\'s database (the source for its forward file, the target for its reverse file): a rule naming a table or column that does not exist is an error.',
    )
    .action(
      withoutSession<Record<string, never>>(rt, async (out: Output, _o, globals, args) => {
        const file = path.resolve(rt.io.cwd, String(args[0]));
        const url = new URL('../../mappings/index.ts', import.meta.url);
        const check = exported<CheckMappingsFile>(await importOptional(url, 'the table-mapping engine'), 'checkMappingsFile', url);
        if (!existsSync(file)) {
          throw new CutoverError('USAGE', `mapping file not found: ${file}`, {
            received: String(args[0]),
            fix: 'give the path of an AWS DMS table-mapping JSON file, e.g. `npx cutover mappings check mappings/forward.json`',
          });
        }
        const catalog = globals.env ? await catalogFor(file, globals, rt) : undefined;
        const result = await check(file, catalog?.catalog, catalog?.side);
        if (!result.ok) {
          // the check said no (exit 1): each problem on stderr, the result (ok: false, problems) on stdout
          for (const p of result.problems) out.error('mappings', p);
          const human = typeof result.summary === 'string' ? result.summary : JSON.stringify(result.summary, null, 2);
          out.result(shown(result), `${human}\n${mappingCode(result.code)}: ${result.problems.length} problem(s) in ${file}`);
          return 1;
        }
        for (const w of result.warnings ?? []) out.warn('mappings', w);
        if (catalog) out.info('mappings', `checked against the ${catalog.side} catalog of environment "${globals.env}"`);
        else out.info('mappings', 'checked the rules alone; add --env NAME to check them against the database (typos in table and column names)');
        const human = typeof result.summary === 'string' ? result.summary : JSON.stringify(result.summary, null, 2);
        out.result(shown(result), `${human}\nok: ${file}`);
        return 0;
      }),
    );
}

/** The catalog a mapping file is read against: the target's for the env's reverse file, else the source's. */
async function catalogFor(file: string, globals: GlobalOptions, rt: CliRuntime): Promise<{ side: 'source' | 'target'; catalog: unknown }> {
  const config = await loadConfig({ file: globals.config, cwd: rt.io.cwd, env: rt.io.env });
  const env = selectEnvironment(config, globals.env);
  if (env.platform !== 'postgres') {
    throw new CutoverError('USAGE', `mappings check --env reads the catalog of a postgres environment; "${env.name}" is ${env.platform}`, {
      received: env.name,
      fix: 'check the file without --env, or name a postgres environment',
    });
  }
  const side = path.resolve(env.mappingFiles.reverse) === file ? 'target' : 'source';
  const url = side === 'target' ? env.target.url : env.source.url;
  if (engineOfUrl(url) === 'mysql') {
    // a MySQL-family side: its databases are the DMS schemas
    const doc = await loadTableMappings(file);
    const db = await connectMysql(url, side);
    try {
      return { side, catalog: await readMysqlCatalog(db, schemasToRead(doc, sideScope(env, side))) };
    } finally {
      await db.end().catch(() => {});
    }
  }
  const client = await openKitClient(url, 'cutover-mappings-check').catch((err: unknown) => {
    throw connectionError((err as CutoverError).details?.cause ?? err, side, url);
  });
  try {
    const doc = await loadTableMappings(file);
    return { side, catalog: (await readMappedCatalog(client, doc, sideScope(env, side))).catalog };
  } finally {
    await client.end().catch(() => {});
  }
}

/** The JSON result: ok, problems, code, summary, warnings (not the resolved tables). */
function shown(result: CheckResult): CheckResult {
  return { ok: result.ok, problems: result.problems, code: result.code, summary: result.summary, warnings: result.warnings ?? [] };
}
