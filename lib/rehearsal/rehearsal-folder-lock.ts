import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CutoverError } from '../errors.ts';
import { processAlive } from '../replication/status-file.ts';

/**
 * One rehearsal per working folder: a second `npm start` would delete the state and rewrite the
 * config (new ports and passwords) under a kept rehearsal that is still serving. The pid file is
 * created exclusively; a file whose process is gone is taken over.
 */
export function lockRehearsalFolder(dir: string): () => void {
  const file = path.join(dir, 'rehearsal.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        if (holder(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holder(file);
    if (pid !== null && pid !== process.pid && processAlive(pid)) {
      throw new CutoverError('LOCKED', `another rehearsal (pid ${pid}) is using ${dir}`, {
        received: dir,
        fix: `stop it first (Ctrl-C in its terminal, or kill -INT ${pid}), or give this one its own folder: CUTOVER_REHEARSAL_DIR=/some/other/dir npm start`,
      });
    }
    rmSync(file, { force: true }); // its process is gone
  }
  throw new CutoverError('LOCKED', `could not take ${file}`, { received: file, fix: 'remove the file if no rehearsal is running, then re-run' });
}

function holder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

