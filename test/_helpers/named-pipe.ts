import { execFileSync } from 'node:child_process';
import { constants, readFileSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Swaps `file` for a named pipe the test feeds, so a run reading it is provably mid-file when the
 * test acts (no timing): `feed` resolves once the reader opened the pipe and got the first half of
 * the bytes, and returns a function that sends the rest (the reader may be gone: EPIPE is fine).
 * `gone` settles when the run ends: if it ends before opening the pipe, `feed` fails instead of
 * waiting for ever on the open. `restore` puts the file back.
 */
export function replaceWithNamedPipe(file: string): { feed(gone: Promise<unknown>): Promise<() => Promise<void>>; restore(): void } {
  const bytes = readFileSync(file);
  renameSync(file, `${file}.kept`);
  execFileSync('mkfifo', [file]);
  return {
    async feed(gone) {
      const opening = open(file, 'w'); // resolves once the reader opened the pipe
      const first = await Promise.race([opening.then(() => 'opened' as const), gone.then(() => 'gone' as const, () => 'gone' as const)]);
      if (first === 'gone') {
        // nobody will read it: open the read end here so the pending open returns, then stop
        const reader = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
        await (await opening).close();
        await reader.close();
        throw new Error(`the run ended before it read ${file}`);
      }
      const fifo = await opening;
      await fifo.write(bytes.subarray(0, bytes.length >> 1));
      return async () => {
        await fifo.write(bytes.subarray(bytes.length >> 1)).catch(() => {});
        await fifo.close().catch(() => {});
      };
    },
    restore() {
      rmSync(file, { force: true });
      renameSync(`${file}.kept`, file);
    },
  };
}
