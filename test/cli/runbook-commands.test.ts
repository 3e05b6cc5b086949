import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, test } from 'vitest';
import { buildProgram } from '../../lib/cli/program.ts';

const runbooks = fileURLToPath(new URL('../../runbooks/', import.meta.url));
const program = buildProgram({ io: { stdout: new PassThrough(), stderr: new PassThrough(), stdin: process.stdin, env: {}, cwd: '.' }, signal: new AbortController().signal, exitCode: 0, json: false });

/** Every `npx cutover …` quoted in the runbooks, with where it was found. */
function quotedCommands(): { where: string; command: string }[] {
  const found: { where: string; command: string }[] = [];
  for (const file of readdirSync(runbooks).filter((f) => f.endsWith('.md'))) {
    const lines = readFileSync(path.join(runbooks, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/`(npx cutover[^`]*)`/g)) found.push({ where: `${file}:${i + 1}`, command: m[1]! });
      if (/^\s*npx cutover /.test(line) && !line.includes('`')) found.push({ where: `${file}:${i + 1}`, command: line.trim() });
    });
  }
  return found;
}

/** Problems with one command line: unknown subcommand, unknown flag, missing flag value. */
function problemsOf(command: string): string[] {
  const tokens = command.split(/\s+/).slice(2); // drop `npx cutover`
  const problems: string[] = [];
  let cmd: Command = program;
  const chain: Command[] = [program];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.startsWith('--')) {
      const opt = chain.flatMap((c) => c.options).find((o) => o.long === t);
      if (!opt) problems.push(`unknown flag ${t} for "cutover ${chain.slice(1).map((c) => c.name()).join(' ')}"`);
      else if (opt.required || opt.optional) {
        if (opt.variadic) while (tokens[i + 1] && !tokens[i + 1]!.startsWith('--')) i++;
        else if (!tokens[++i] && opt.required) problems.push(`flag ${t} needs a value`);
      }
      continue;
    }
    const sub = cmd.commands.find((c) => c.name() === t);
    if (sub) {
      cmd = sub;
      chain.push(sub);
    } else if (cmd.commands.length > 0) {
      problems.push(`unknown command "${t}" under "cutover ${chain.slice(1).map((c) => c.name()).join(' ')}"`);
    }
  }
  if (cmd === program) problems.push('no command');
  if (cmd.commands.length > 0) problems.push(`"${cmd.name()}" needs a subcommand`);
  return problems;
}

describe('runbooks', () => {
  const commands = quotedCommands();

  test('quote commands at all (the extractor finds them)', () => {
    expect(commands.length).toBeGreaterThan(20);
  });

  test('every quoted `npx cutover …` command and flag exists in the CLI', () => {
    const bad = commands.flatMap(({ where, command }) => problemsOf(command).map((p) => `${where}: ${command}: ${p}`));
    expect(bad).toEqual([]);
  });

  test('fails if a command or flag does not exist (the check can fail)', () => {
    expect(problemsOf('npx cutover shift --to-percent 5')).toEqual(['unknown flag --to-percent for "cutover shift"']);
    expect(problemsOf('npx cutover replicate begin')[0]).toContain('unknown command "begin"');
  });
});
