import path from 'node:path';
import type { Command } from 'commander';
import type { Output } from '../../output/output.ts';
import { exported, importOptional } from '../../platform/optional-module.ts';
import { withoutSession, type CliRuntime } from '../runtime.ts';

interface CheckResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly summary: unknown;
}

type CheckMappingsFile = (file: string, catalog?: unknown) => Promise<CheckResult>;

/** `cutover mappings check FILE`: validates a DMS table-mapping file; prints what it selects and renames. */
export function registerMappings(program: Command, rt: CliRuntime): void {
  const mappings = program.command('mappings').description('AWS DMS table-mapping files (check)');
  mappings
    .command('check')
    .description('validate a DMS table-mapping JSON file and print what it selects, filters and renames')
    .argument('<file>', 'the table-mapping JSON file')
    .action(
      withoutSession<Record<string, never>>(rt, async (out: Output, _o, _g, args) => {
        const file = path.resolve(rt.io.cwd, String(args[0]));
        const url = new URL('../../mappings/index.ts', import.meta.url);
        const check = exported<CheckMappingsFile>(await importOptional(url, 'the table-mapping engine'), 'checkMappingsFile', url);
        const result = await check(file);
        for (const p of result.problems) out.error('mappings', p);
        const human = typeof result.summary === 'string' ? result.summary : JSON.stringify(result.summary, null, 2);
        out.result(result, `${human}\n${result.ok ? `ok: ${file}` : `${result.problems.length} problem(s) in ${file}`}`);
        return result.ok ? 0 : 1;
      }),
    );
}
