import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Creates `file` holding `text`, or returns false when it exists. The text is written (and
 * synced) to a file of its own first and then linked into place, so `file` is never seen empty:
 * created with `open('wx')` and then written, a lock's holder killed in between left a file that
 * named nobody (the journal append mutex and the operator lock both did).
 */
export function createWhole(file: string, text: string): boolean {
  const pending = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.pending`;
  const fd = openSync(pending, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(pending, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    try {
      unlinkSync(pending);
    } catch {
      // already gone
    }
  }
}
