import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { CutoverError } from '../errors.ts';
import { createWhole } from './create-whole.ts';
import { currentOperator, isProvablyDead } from './operator.ts';

/** A mutex file is never held longer than one append; older than this it is abandoned. */
const ABANDONED_AFTER_MS = 30_000;

/**
 * A short cross-process mutex around one journal append, so that two processes appending at once
 * (an operator command and `status` noting a live read, say) still get gap-free sequence numbers.
 * Not the operator lock: that one is held for a whole command (file-lock-store.ts).
 */
export async function withAppendMutex<T>(mutexFile: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const me = currentOperator();
  const deadline = Date.now() + timeoutMs;
  const identity = JSON.stringify({ pid: me.pid, host: me.host, start: me.start });
  while (!createWhole(mutexFile, identity)) {
    if (abandoned(mutexFile)) {
      unlinkQuietly(mutexFile); // someone else may have removed it first
      continue;
    }
    if (Date.now() > deadline) {
      throw new CutoverError('LOCKED', `journal append mutex ${mutexFile} stayed held for ${timeoutMs} ms`, {
        fix: `if no cutover command is running, delete ${mutexFile}`,
      });
    }
    await delay(5 + Math.random() * 15);
  }
  try {
    return await fn();
  } finally {
    unlinkQuietly(mutexFile);
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function abandoned(mutexFile: string): boolean {
  try {
    const holder = JSON.parse(readFileSync(mutexFile, 'utf8')) as { pid: number; host: string; start?: string | null };
    if (isProvablyDead(holder)) return true;
  } catch {
    // not a holder's identity (a file left by an older kit, or damaged): judge by age
  }
  try {
    return Date.now() - statSync(mutexFile).mtimeMs > ABANDONED_AFTER_MS;
  } catch {
    return false;
  }
}
