/**
 * A command line an operator can copy from a `fix:` or `next` line and run as is:
 * `npx cutover validate --config ../night.json --env night`. `--config` appears only when the
 * command was given one (the default config needs none).
 */
export function commandLine(command: string, env: string, configFile?: string, extra = ''): string {
  const config = configFile ? ` --config ${shellWord(configFile)}` : '';
  return `npx ${command}${extra}${config} --env ${env}`;
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
