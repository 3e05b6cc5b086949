import type { Command } from 'commander';
import type { ValidationReport } from '../../platform/roles.ts';
import { withSession, type CliRuntime } from '../runtime.ts';

interface ValidateOptions {
  readonly repairSql?: string;
  readonly repair?: boolean;
  readonly table?: string[];
}

/** `cutover validate`: exit 0 equal, 1 differences, 2 error; `--json` prints the ValidationReport contract. */
export function registerValidate(program: Command, rt: CliRuntime): void {
  program
    .command('validate')
    .description('compare every mapped table (chunked hash diff); exit 0 equal, 1 differences, 2 error')
    .option('--repair-sql <file>', 'write the statements that make the target match the source to FILE')
    .option('--repair', 'apply those statements through the replicator apply path')
    .option('--table <name...>', 'only these source tables (schema.table)')
    .action(
      withSession<ValidateOptions>(rt, 'cutover validate', async (s, o) => {
        const run = await s.engine.runPhase('validate', { repairSqlFile: o.repairSql, repair: o.repair === true, tables: o.table });
        if (run.dryRun) return run.ok ? 0 : 1;
        const report = run.apply?.result as ValidationReport | undefined;
        if (report) s.out.result(report, `validate: ${run.ok ? 'EQUAL' : 'DIFFERENCES'} — ${(run.verify ?? run.apply)!.summary}`);
        return run.ok ? 0 : 1;
      }),
    );
}
