import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { describe, expect, test } from 'vitest';
import { holdOwnerGone, thisProcessAsOwner } from '../../lib/postgres/changed-key-retention.ts';

/** Whether the process holding the record of changed keys is gone (see changed-key-retention.ts). */
describe('holdOwnerGone', () => {
  test('a live owner on this host holds; an exited one, or its pid reused by a later process, does not', () => {
    const me = thisProcessAsOwner();
    expect(me).toMatchObject({ host: os.hostname(), pid: process.pid });
    expect(holdOwnerGone(me)).toBe(false);
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    expect(holdOwnerGone({ host: os.hostname(), pid: exited, start: null })).toBe(true);
    if (me.start !== null) expect(holdOwnerGone({ ...me, start: `${me.start}0` })).toBe(true);
  });

  test('an owner on another host cannot be seen from here: its hold is kept', () => {
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    expect(holdOwnerGone({ host: `not-${os.hostname()}`, pid: exited, start: null })).toBe(false);
  });
});
