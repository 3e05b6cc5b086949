import path from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../config/load.ts';
/**
 * A command line an operator can copy from a `fix:` or `next` line and run as is:
 * `npx cutover validate --config ../night.json --env night`. `--config` appears only when the
 * command was given one (the default config needs none).
 */
export function commandLine(command: string, env: string, configFile?: string, extra = ''): string {
  const config = configFile ? ` --config ${shellWord(configFile)}` : '';
  return `npx ${command}${extra}${config} --env ${env}`;
}

/**
 * The same for code that holds only the resolved environment (phases, steps): `--config` with the
 * config's absolute path unless it is the default `cutover.config.ts` of the current folder, so
 * the line reaches the same databases from wherever it is run.
 */
export function envCommandLine(env: { readonly name: string; readonly configFile: string }, command: string, extra = ''): string {
  const isDefault = env.configFile === path.resolve(DEFAULT_CONFIG_FILE);
  return commandLine(command, env.name, isDefault ? undefined : env.configFile, extra);
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
