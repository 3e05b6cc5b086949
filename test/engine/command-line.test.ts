import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { commandLine, envCommandLine } from '../../lib/engine/command-line.ts';

describe('command lines in fix and next lines', () => {
  test('--config appears when the command was given one, quoted for the shell', () => {
    expect(commandLine('cutover status', 's4', '../night shift.json')).toBe("npx cutover status --config '../night shift.json' --env s4");
    expect(commandLine('cutover status', 's4')).toBe('npx cutover status --env s4');
  });

  test('from the environment alone: --config unless it is the default file of the current folder', () => {
    expect(envCommandLine({ name: 's4', configFile: '/srv/cut/night.json' }, 'cutover rollback', ' --force')).toBe('npx cutover rollback --force --config /srv/cut/night.json --env s4');
    expect(envCommandLine({ name: 's4', configFile: path.resolve('cutover.config.ts') }, 'cutover replicate start')).toBe('npx cutover replicate start --env s4');
  });
});
