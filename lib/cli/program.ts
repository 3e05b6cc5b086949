import { Command, Option } from 'commander';
import { registerAssess } from './commands/assess.ts';
import { registerBackup } from './commands/backup.ts';
import { registerBake } from './commands/bake.ts';
import { registerEstimate } from './commands/estimate.ts';
import { registerCancel } from './commands/cancel.ts';
import { registerFinalize } from './commands/finalize.ts';
import { registerMappings } from './commands/mappings.ts';
import { registerRehearse } from './commands/rehearse.ts';
import { registerReplicate } from './commands/replicate.ts';
import { registerRestore } from './commands/restore.ts';
import { registerRollback } from './commands/rollback.ts';
import { registerRun } from './commands/run.ts';
import { registerShadow } from './commands/shadow.ts';
import { registerShift } from './commands/shift.ts';
import { registerSnapshot } from './commands/snapshot.ts';
import { registerStatus } from './commands/status.ts';
import { registerSwitch } from './commands/switch.ts';
import { registerUnlock } from './commands/unlock.ts';
import { registerValidate } from './commands/validate.ts';
import { TOOL_VERSION } from '../tool-version.ts';
import type { CliRuntime } from './runtime.ts';

/**
 * The `cutover` command tree. Building it has no side effects, so tests (the runbook check) can
 * inspect every command and flag.
 */
export function buildProgram(rt: CliRuntime): Command {
  const program = new Command('cutover')
    .description('move a live system from blue (legacy) to green (new) without losing a write; see runbooks/')
    .option('--env <name>', 'environment from the config (optional when the config has only one)')
    .option('--config <path>', 'config file, .ts or .json (default: cutover.config.ts)')
    .option('--json', 'print the result as one JSON document on stdout; progress goes to stderr')
    .option('--dry-run', 'print the plan (what would be called, against what) and change nothing')
    .option('--yes', 'skip typed confirmations (protected environment name, the "go" at the write switch)')
    .addOption(new Option('--force-unlock', 'take the operator lock from a holder that is not running (warns)'))
    .version(TOOL_VERSION, '-V, --version', 'print the cutover-kit version')
    // every subcommand's --help lists --env, --config, --json, --dry-run, --yes too
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => rt.io.stdout.write(s),
      // with --json, main prints the usage error as the one JSON error document instead
      writeErr: (s) => {
        if (!rt.json) rt.io.stderr.write(s);
      },
    });
  registerAssess(program, rt);
  registerSnapshot(program, rt);
  registerRestore(program, rt);
  registerBackup(program, rt);
  registerReplicate(program, rt);
  registerValidate(program, rt);
  registerShadow(program, rt);
  registerShift(program, rt);
  registerSwitch(program, rt);
  registerBake(program, rt);
  registerFinalize(program, rt);
  registerRollback(program, rt);
  registerEstimate(program, rt);
  registerCancel(program, rt);
  registerStatus(program, rt);
  registerRun(program, rt);
  registerRehearse(program, rt);
  registerMappings(program, rt);
  registerUnlock(program, rt);
  return program;
}

/** Every command path, e.g. `['replicate', 'start']`, for help checks. */
export function commandPaths(program: Command, prefix: string[] = []): string[][] {
  return program.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}
